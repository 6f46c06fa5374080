using FuncRerank.Model.Store;

namespace FuncRerank.Model.Hub;

/// <summary>
/// One model's folder in a huggingface_hub cache: <c>blobs/{etag}</c> holds each file once, <c>snapshots/{commit}/</c>
/// names them as the repository does (relative symlinks into <c>blobs</c>), <c>refs/{revision}</c> holds the commit a
/// branch or tag pointed at. Keeping that layout lets huggingface_hub and FuncRerank share a cache, and lets
/// <see cref="ModelStore"/> take an LFS file's SHA-256 from its blob name instead of hashing gigabytes.
/// </summary>
internal sealed class HubRepoCache(string cacheDirectory, HubModelId id)
{
    public string Root { get; } = Path.Combine(cacheDirectory, id.CacheFolderName);

    public string BlobPath(string etag) => Path.Combine(Root, "blobs", etag);

    public string SnapshotDirectory(string commit) => Path.Combine(Root, "snapshots", commit);

    /// <summary>The commit a revision resolves to without asking the Hub: itself when it is a commit hash, else its ref file.</summary>
    public string? CachedCommit(string revision)
    {
        if (IsCommitHash(revision))
            return revision;
        var refPath = RefPath(revision);
        if (!File.Exists(refPath))
            return null;
        var commit = File.ReadAllText(refPath).Trim();
        return IsCommitHash(commit) ? commit : null;
    }

    public void WriteRef(string revision, string commit)
    {
        if (revision == commit)
            return;
        var refPath = RefPath(revision);
        Directory.CreateDirectory(Path.GetDirectoryName(refPath)!);
        var temporary = $"{refPath}.{Guid.NewGuid():N}.tmp";
        File.WriteAllText(temporary, commit);
        File.Move(temporary, refPath, overwrite: true);
    }

    /// <summary>
    /// Puts a verified blob into the snapshot under the repository's file name, replacing whatever was there in one
    /// rename. Where symlinks are not allowed (Windows without developer mode, some network shares) the snapshot gets a copy.
    /// </summary>
    public void LinkIntoSnapshot(string commit, string file, string blob)
    {
        var target = Path.Combine(SnapshotDirectory(commit), file);
        var directory = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(directory);
        var temporary = $"{target}.{Guid.NewGuid():N}.tmp";
        try
        {
            try
            {
                File.CreateSymbolicLink(temporary, Path.GetRelativePath(directory, blob));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                File.Copy(blob, temporary);
            }

            File.Move(temporary, target, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    public static bool IsCommitHash(string text) => text.Length == 40 && text.All(char.IsAsciiHexDigitLower);

    private string RefPath(string revision) => Path.Combine([Root, "refs", .. revision.Split('/')]);
}
