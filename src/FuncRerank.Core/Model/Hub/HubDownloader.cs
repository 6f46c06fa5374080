using System.Text.Json;
using FuncRerank.Model.Store;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FuncRerank.Model.Hub;

/// <summary>
/// Fetches a model from the Hugging Face Hub by id (<c>Qwen/Qwen3-Reranker-0.6B</c>) into a huggingface_hub-style
/// cache and returns its snapshot directory, a checkpoint directory <see cref="ModelStore"/> reads like any other.
/// Only the files a reranker needs are fetched. A complete snapshot is served without touching the network, so a
/// restart works offline; an interrupted download resumes where it stopped.
/// </summary>
public sealed class HubDownloader
{
    // Redirects are followed by HubHttp, which decides per hop whether the token may go along; pooled connections are
    // renewed now and then so a long-lived process notices DNS changes.
    private static readonly HttpClient SharedClient = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    private static readonly string[] RequiredFiles = ["config.json", "tokenizer.json"];
    private static readonly string[] OptionalFiles = ["tokenizer_config.json", "generation_config.json"];

    private readonly HubOptions _options;
    private readonly HubHttp _http;
    private readonly HubFileTransfer _transfer;
    private readonly ILogger _logger;

    /// <param name="httpClient">Must not follow redirects itself (<c>AllowAutoRedirect = false</c>); a shared one by default.</param>
    public HubDownloader(HubOptions options, HttpClient? httpClient = null, ILogger? logger = null)
    {
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        _http = new HubHttp(httpClient ?? SharedClient, options, _logger);
        _transfer = new HubFileTransfer(_http);
    }

    /// <summary>Checks a model id before any work is done; the message says what a valid one looks like.</summary>
    /// <exception cref="ArgumentException">Not <c>owner/name</c> made of safe characters.</exception>
    public static void ValidateModelId(string modelId) => HubModelId.Parse(modelId);

    /// <returns>The snapshot directory: config.json, tokenizer files and the safetensors weights of the revision's commit.</returns>
    /// <exception cref="ArgumentException">A malformed model id or revision.</exception>
    /// <exception cref="HubDownloadException">The Hub refused, the network failed after retries, or a file arrived damaged.</exception>
    public async Task<string> DownloadAsync(string modelId, IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        var id = HubModelId.Parse(modelId);
        var revision = ValidRevision(_options.Revision);
        var cache = new HubRepoCache(_options.CacheDirectory, id);
        if (!_options.Refresh && cache.CachedCommit(revision) is { } cachedCommit && IsCompleteCheckpoint(cache.SnapshotDirectory(cachedCommit)))
        {
            _logger.LogInformation("Using {Model} {Revision} ({Commit}) from the cache in {Directory}", id, revision, cachedCommit, cache.Root);
            return cache.SnapshotDirectory(cachedCommit);
        }

        var (commit, repositoryFiles) = await _http.WithRetriesAsync(() => GetRevisionAsync(id, revision, ct), ct);
        cache.WriteRef(revision, commit);
        var snapshot = cache.SnapshotDirectory(commit);
        _logger.LogInformation("Fetching {Model} {Revision} ({Commit}) into {Directory}", id, revision, commit, snapshot);
        var weights = repositoryFiles.Contains(SafetensorsCheckpoint.IndexFileName) ? SafetensorsCheckpoint.IndexFileName
            : repositoryFiles.Contains(SafetensorsCheckpoint.SingleFileName) ? SafetensorsCheckpoint.SingleFileName
            : null;
        var missing = RequiredFiles.Where(f => !repositoryFiles.Contains(f)).ToList();
        if (weights is null)
            missing.Add($"{SafetensorsCheckpoint.SingleFileName} or {SafetensorsCheckpoint.IndexFileName}");
        if (missing.Count > 0)
            throw new HubDownloadException($"{id} {revision} is not a checkpoint FuncRerank can serve: it has no {string.Join(", ", missing)}");

        // The optional files go first: the snapshot counts as complete once the required ones are there, so nothing may follow them.
        foreach (var file in OptionalFiles.Where(repositoryFiles.Contains).Concat(RequiredFiles).Append(weights!))
            await FetchAsync(id, cache, commit, file, progress, ct);
        if (weights == SafetensorsCheckpoint.IndexFileName)
        {
            foreach (var shard in SafetensorsCheckpoint.ShardNames(Path.Combine(snapshot, weights)))
            {
                if (!repositoryFiles.Contains(shard))
                    throw new HubDownloadException($"{id} {revision}: {weights} names {shard}, which the repository does not have");
                await FetchAsync(id, cache, commit, shard, progress, ct);
            }
        }

        return snapshot;
    }

    /// <summary>Everything <see cref="ModelStore"/> needs is there: config, tokenizer and every weight file.</summary>
    private static bool IsCompleteCheckpoint(string directory)
    {
        if (!RequiredFiles.All(f => File.Exists(Path.Combine(directory, f))))
            return false;
        var index = Path.Combine(directory, SafetensorsCheckpoint.IndexFileName);
        return File.Exists(index)
            ? SafetensorsCheckpoint.ShardNames(index).All(shard => File.Exists(Path.Combine(directory, shard)))
            : File.Exists(Path.Combine(directory, SafetensorsCheckpoint.SingleFileName));
    }

    private async Task<(string Commit, HashSet<string> Files)> GetRevisionAsync(HubModelId id, string revision, CancellationToken ct)
    {
        var (response, uri) = await _http.SendAsync(HttpMethod.Get, _http.ApiUri(id, revision), 0, stopAtOtherOrigin: false, ct);
        using (response)
        {
            _http.EnsureSuccess(response, uri, id, $"no such model or revision '{revision}'");
            using var document = await _http.ReadJsonAsync(response, uri, ct);
            var root = document.RootElement;
            var commit = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("sha", out var sha) && sha.ValueKind == JsonValueKind.String
                ? sha.GetString()!
                : "";
            if (!HubRepoCache.IsCommitHash(commit))
                throw new HubDownloadException($"{HubHttp.Describe(uri)}: the answer has no commit hash (\"sha\")");
            if (!root.TryGetProperty("siblings", out var siblings) || siblings.ValueKind != JsonValueKind.Array)
                throw new HubDownloadException($"{HubHttp.Describe(uri)}: the answer has no file list (\"siblings\")");
            var files = siblings.EnumerateArray()
                .Select(s => s.ValueKind == JsonValueKind.Object && s.TryGetProperty("rfilename", out var name) && name.ValueKind == JsonValueKind.String
                    ? name.GetString()
                    : null)
                .OfType<string>()
                .ToHashSet(StringComparer.Ordinal);
            return (commit, files);
        }
    }

    private async Task FetchAsync(HubModelId id, HubRepoCache cache, string commit, string file, IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        if (File.Exists(Path.Combine(cache.SnapshotDirectory(commit), file)))
            return;
        // Metadata is asked again on every attempt: a CDN URL is signed and may have expired by then.
        await _http.WithRetriesAsync(async () =>
        {
            var metadata = await _transfer.GetMetadataAsync(id, commit, file, ct);
            var blob = cache.BlobPath(metadata.Etag);
            if (!File.Exists(blob))
                await _transfer.DownloadAsync(id, metadata, blob, progress, ct);
            cache.LinkIntoSnapshot(commit, file, blob);
        }, ct);
    }

    private static string ValidRevision(string revision) =>
        revision.Length is > 0 and <= 256
        && revision.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/')
        && revision.Split('/').All(step => step.Length > 0 && step is not ("." or ".."))
            ? revision
            : throw new ArgumentException($"'{revision}' is not a revision: expected a branch, tag or commit hash (letters, digits, '-', '_', '.', '/')");
}
