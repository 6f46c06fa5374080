namespace FuncRerank.Tests.TestSupport;

/// <summary>
/// Temporary directories for tests that copy or build models (tens of MB each): one build cache shared by every
/// test that serves an undamaged checkpoint, and private copies that are deleted when the test is done.
/// </summary>
internal sealed class ScratchDirectory : IDisposable
{
    private static readonly Lazy<string> SharedCache = new(RepoFiles.NewTemporaryDirectory);

    private ScratchDirectory(string path) => Path = path;

    /// <summary>
    /// A build cache for undamaged checkpoints, shared for the whole run: a build is keyed by its source files' hashes and
    /// published by an atomic rename, so servers started at the same time may share it and only the first one builds.
    /// </summary>
    public static string SharedBuildCache => SharedCache.Value;

    public string Path { get; }

    /// <summary>A new empty directory, deleted on dispose.</summary>
    public static ScratchDirectory Create() => new(RepoFiles.NewTemporaryDirectory());

    /// <summary>A private copy of a flat model directory, to damage; deleted on dispose.</summary>
    public static ScratchDirectory CopyOf(string source) => new(RepoFiles.CopyToTemporaryDirectory(source));

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Still in use by a process that has not quite exited; the temporary folder's owner cleans up later.
        }
    }
}
