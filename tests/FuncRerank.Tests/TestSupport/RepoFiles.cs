using System.Text.Json;
using FuncRerank.Tokenization;

namespace FuncRerank.Tests.TestSupport;

/// <summary>Finds the repository root (the folder holding FuncRerank.sln) and reads fixtures from it.</summary>
internal static class RepoFiles
{
    private static readonly Lazy<string> Root = new(FindRoot);

    private static readonly Lazy<Qwen3Tokenizer> SharedTokenizer = new(
        () => Qwen3Tokenizer.Load(TokenizerJsonPath), LazyThreadSafetyMode.ExecutionAndPublication);

    public static string RepoRoot => Root.Value;

    public static string TokenizerJsonPath => Path.Combine(RepoRoot, "models", "tokenizer.json");

    public static string TokenizerFixtureDirectory => Path.Combine(RepoRoot, "tests", "fixtures", "tokenizer");

    /// <summary>The real Qwen3 tokenizer, loaded once for all tests (loading takes about a second).</summary>
    public static Qwen3Tokenizer Tokenizer => SharedTokenizer.Value;

    public static string TokenizerFixture(string fileName) => Path.Combine(TokenizerFixtureDirectory, fileName);

    public static string Fixtures => Path.Combine(RepoRoot, "tests", "fixtures");

    /// <summary>
    /// The tiny checkpoints that <c>tests/fixtures/models/make_checkpoints.py</c> writes. They are generated, not committed,
    /// so a missing one is a failure with the command that makes it, never a skip.
    /// </summary>
    public static string Checkpoint(string name)
    {
        var directory = Path.Combine(Fixtures, "models", "generated", name);
        if (!File.Exists(Path.Combine(directory, "reference.json")))
            throw new InvalidOperationException(
                $"{directory} is missing: run `/usr/bin/python3 tests/fixtures/models/make_checkpoints.py` (tests/run-tests.sh does it)");
        return directory;
    }

    /// <summary>A private copy of a (flat) model directory, for tests that damage or change files.</summary>
    public static string CopyToTemporaryDirectory(string source)
    {
        var copy = NewTemporaryDirectory();
        foreach (var file in Directory.GetFiles(source))
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        return copy;
    }

    /// <summary>A new directory under this test run's own root, which is deleted when the test process exits.</summary>
    public static string NewTemporaryDirectory()
    {
        var path = Path.Combine(RunRoot.Value, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    // Tests build models, copy checkpoints and start servers with caches: about 2 GB a run. Each run gets run-<pid>
    // and removes it on exit; the test host is often ended without a clean exit, so the next run also removes every
    // run-<pid> whose process is gone.
    private static readonly Lazy<string> RunRoot = new(() =>
    {
        var parent = Path.Combine(Path.GetTempPath(), "funcrerank-tests");
        Directory.CreateDirectory(parent);
        foreach (var stale in Directory.GetDirectories(parent))
        {
            var name = Path.GetFileName(stale);
            var abandoned = name.StartsWith("run-", StringComparison.Ordinal) && int.TryParse(name[4..], out var pid)
                ? !IsRunning(pid)
                : Directory.GetLastWriteTimeUtc(stale) < DateTime.UtcNow.AddHours(-1);
            if (abandoned)
                TryDelete(stale);
        }

        var root = Path.Combine(parent, $"run-{Environment.ProcessId}");
        Directory.CreateDirectory(root);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(root);
        return root;
    });

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Another run's file still open, or already gone: the next run tries again.
        }
    }

    /// <summary>Each non-empty line of a JSON Lines file, parsed. Fails if the file is missing.</summary>
    public static IReadOnlyList<JsonElement> ReadJsonLines(string path)
    {
        Assert.True(File.Exists(path), $"Fixture file not found: {path}");
        var records = new List<JsonElement>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            if (line.Length == 0)
            {
                continue;
            }

            try
            {
                using JsonDocument doc = JsonDocument.Parse(line);
                records.Add(doc.RootElement.Clone());
            }
            catch (JsonException ex)
            {
                Assert.Fail($"{path}:{lineNumber}: invalid JSON: {ex.Message}");
            }
        }

        Assert.NotEmpty(records);
        return records;
    }

    public static int[] IntArray(JsonElement element) => element.EnumerateArray().Select(e => e.GetInt32()).ToArray();

    public static string[] StringArray(JsonElement element) => element.EnumerateArray().Select(e => e.GetString()!).ToArray();

    /// <summary>Escapes a string for a readable failure message (non-ASCII and controls as \uXXXX).</summary>
    public static string Escape(string text, int maxLength = 120)
    {
        var sb = new System.Text.StringBuilder();
        foreach (char c in text)
        {
            if (sb.Length >= maxLength)
            {
                sb.Append('…');
                break;
            }

            if (c is >= ' ' and < '\u007F')
            {
                sb.Append(c);
            }
            else
            {
                sb.Append($"\\u{(int)c:X4}");
            }
        }

        return sb.ToString();
    }

    private static string FindRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FuncRerank.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"FuncRerank.sln not found above {AppContext.BaseDirectory}");
    }
}
