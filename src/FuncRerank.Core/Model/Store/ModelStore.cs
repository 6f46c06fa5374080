using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FuncRerank.Model.Building;
using Microsoft.Extensions.Logging;

namespace FuncRerank.Model.Store;

/// <summary>
/// Turns what the user points at into a directory holding a built ONNX model. A built directory (it has
/// <c>reranker.json</c> and <c>model.onnx</c>) is served as is; a Hugging Face checkpoint is built once into the cache,
/// under a key made of its files' SHA-256 hashes, the dtype and the builder version, so a restart does not rebuild.
/// </summary>
public sealed class ModelStore(string cacheRoot, ILogger logger)
{
    private const string HashMemoFileName = "file-hashes.json";

    public string CacheRoot { get; } = cacheRoot;

    /// <summary><c>$FUNCRERANK_CACHE</c>, else <c>$XDG_CACHE_HOME/funcrerank</c>, else <c>~/.cache/funcrerank</c>.</summary>
    public static string DefaultCacheRoot()
    {
        var explicitRoot = Environment.GetEnvironmentVariable("FUNCRERANK_CACHE");
        if (!string.IsNullOrEmpty(explicitRoot))
            return explicitRoot;
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        return Path.Combine(string.IsNullOrEmpty(xdg)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache")
            : xdg, "funcrerank");
    }

    public string Resolve(string modelDirectory, ModelPrecision precision, RerankerTokenIds tokenIds, IProgress<BuildProgress>? progress = null)
    {
        if (!Directory.Exists(modelDirectory))
            throw new ModelFormatException($"{modelDirectory}: no such model directory");
        if (RerankerManifest.Exists(modelDirectory))
            return modelDirectory;
        if (!File.Exists(Path.Combine(modelDirectory, "config.json")))
            throw new ModelFormatException(
                $"{modelDirectory}: neither a Hugging Face checkpoint (config.json) nor a built model ({RerankerManifest.FileName} + {RerankerManifest.GraphFileName})");

        var hashes = HashSourceFiles(modelDirectory);
        var target = Path.Combine(CacheRoot, "built", CacheKey(hashes, precision));
        if (RerankerManifest.Exists(target))
        {
            logger.LogInformation("Using the model built earlier in {Directory}", target);
            return target;
        }

        BuildInto(modelDirectory, target, hashes, precision, tokenIds, progress);
        return target;
    }

    /// <summary>Builds a checkpoint into <paramref name="target"/> (which must not hold a model yet), outside the cache.</summary>
    public void Build(string modelDirectory, string target, ModelPrecision precision, RerankerTokenIds tokenIds, IProgress<BuildProgress>? progress = null) =>
        BuildInto(modelDirectory, target, HashSourceFiles(modelDirectory), precision, tokenIds, progress);

    /// <summary>Builds beside the target and renames at the end, so a crash or a concurrent start never sees half a model.</summary>
    private void BuildInto(string modelDirectory, string target, Dictionary<string, string> hashes, ModelPrecision precision,
        RerankerTokenIds tokenIds, IProgress<BuildProgress>? progress)
    {
        var partial = $"{Path.TrimEndingDirectorySeparator(Path.GetFullPath(target))}.partial-{Environment.ProcessId}-{Guid.NewGuid():N}";
        logger.LogInformation("Building {Dtype} ONNX model from {Source} into {Target}", precision.ToName(), modelDirectory, target);
        try
        {
            Qwen3OnnxBuilder.Build(modelDirectory, partial, precision, tokenIds, hashes, progress);
            if (Directory.Exists(target) && !Directory.EnumerateFileSystemEntries(target).Any())
                Directory.Delete(target);
            try
            {
                Directory.Move(partial, target);
            }
            catch (IOException) when (RerankerManifest.Exists(target))
            {
                // Another process finished the same build first; theirs is identical.
            }
        }
        finally
        {
            if (Directory.Exists(partial))
                Directory.Delete(partial, recursive: true);
        }
    }

    private static string CacheKey(IReadOnlyDictionary<string, string> hashes, ModelPrecision precision)
    {
        var text = new StringBuilder($"{Qwen3OnnxBuilder.Version}\n{precision.ToName()}\n");
        foreach (var (name, hash) in hashes.OrderBy(p => p.Key, StringComparer.Ordinal))
            text.Append(name).Append(' ').Append(hash).Append('\n');
        return $"{precision.ToName()}-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..24]}";
    }

    /// <summary>
    /// SHA-256 of every file the build reads. Hashing 16 GB takes a while, so results are remembered per
    /// (path, size, modification time), and a Hugging Face cache symlink to <c>blobs/&lt;sha256&gt;</c> is taken at its word.
    /// </summary>
    private Dictionary<string, string> HashSourceFiles(string modelDirectory)
    {
        var files = new List<string> { "config.json", "tokenizer.json" };
        files.AddRange(SafetensorsCheckpoint.SourceFiles(modelDirectory).Select(Path.GetFileName)!);
        var memoPath = Path.Combine(CacheRoot, HashMemoFileName);
        var memo = ReadMemo(memoPath);
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        var memoChanged = false;
        foreach (var name in files.Distinct())
        {
            var path = Path.GetFullPath(Path.Combine(modelDirectory, name));
            var info = new FileInfo(path);
            if (!info.Exists)
                throw new ModelFormatException($"{modelDirectory}: {name} is missing");
            // A symlink's own size and time say nothing about the content (Hugging Face snapshots link into blobs/).
            var content = info.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? info;
            var stamp = $"{content.Length}:{content.LastWriteTimeUtc.Ticks}";
            if (HubBlobHash(info) is { } blobHash)
                hashes[name] = blobHash;
            else if (memo.TryGetValue(path, out var entry) && entry.Stamp == stamp)
                hashes[name] = entry.Sha256;
            else
            {
                logger.LogInformation("Hashing {File} ({Bytes:N0} bytes)", path, content.Length);
                using var stream = File.OpenRead(path);
                hashes[name] = Convert.ToHexStringLower(SHA256.HashData(stream));
                memo[path] = new HashMemoEntry(stamp, hashes[name]);
                memoChanged = true;
            }
        }

        if (memoChanged)
        {
            Directory.CreateDirectory(CacheRoot);
            var temporary = $"{memoPath}.{Guid.NewGuid():N}";
            File.WriteAllText(temporary, JsonSerializer.Serialize(memo));
            File.Move(temporary, memoPath, overwrite: true);
        }

        return hashes;
    }

    private static string? HubBlobHash(FileInfo file)
    {
        var target = file.LinkTarget;
        if (target is null)
            return null;
        var blobName = Path.GetFileName(target);
        return blobName.Length == 64 && blobName.All(char.IsAsciiHexDigitLower) ? blobName : null;
    }

    private static Dictionary<string, HashMemoEntry> ReadMemo(string path)
    {
        try
        {
            return File.Exists(path)
                ? JsonSerializer.Deserialize<Dictionary<string, HashMemoEntry>>(File.ReadAllText(path)) ?? []
                : [];
        }
        catch (JsonException)
        {
            return []; // A damaged memo only costs a rehash.
        }
    }

    private sealed record HashMemoEntry(string Stamp, string Sha256);
}
