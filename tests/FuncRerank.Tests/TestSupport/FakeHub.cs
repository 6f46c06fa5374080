using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FuncRerank.Tests.TestSupport;

/// <summary>
/// The Hugging Face Hub on 127.0.0.1, answering as the real one does: the revision API with the commit and file list,
/// <c>resolve</c> URLs that serve small files with their git ETag and redirect LFS files (<c>*.safetensors</c>,
/// <c>tokenizer.json</c>) to a CDN with <c>X-Linked-Etag</c> / <c>X-Linked-Size</c>. The CDN is a second server on its
/// own port, so a test sees which requests carried the token. Every request is recorded, and the knobs below
/// reproduce what goes wrong in the field.
/// </summary>
internal sealed class FakeHub : IAsyncDisposable
{
    private readonly Dictionary<string, byte[]> _files;
    private readonly Dictionary<string, string> _lfsFileBySha256;
    private readonly WebApplication _hub;
    private readonly WebApplication _cdn;
    private readonly ConcurrentDictionary<string, long> _bytesServed = new();
    private int _failuresLeft;
    private (string File, long AfterBytes, bool Stall)? _interruption;
    private bool _disposed;

    private FakeHub(string modelId, Dictionary<string, byte[]> files, WebApplication hub, WebApplication cdn)
    {
        ModelId = modelId;
        _files = files;
        _lfsFileBySha256 = files.Keys.Where(IsLfs).ToDictionary(f => Sha256(files[f]), f => f);
        _hub = hub;
        _cdn = cdn;
        hub.Run(ServeHubAsync);
        cdn.Run(ServeCdnAsync);
    }

    public sealed record Request(string Server, string Method, string Path, string? Authorization, string? Range);

    public string ModelId { get; }

    public string Endpoint => _hub.Urls.Single();

    public string Commit { get; set; } = "0123456789abcdef0123456789abcdef01234567";

    public ConcurrentQueue<Request> Requests { get; } = new();

    /// <summary>When set, the Hub answers 401 unless this bearer token comes along (a gated model).</summary>
    public string? RequiredToken { get; set; }

    /// <summary>The CDN answers every ranged request with the whole file and 200, as some proxies do.</summary>
    public bool IgnoreRange { get; set; }

    /// <summary>Files whose CDN bytes arrive with one byte flipped (same length).</summary>
    public HashSet<string> CorruptFiles { get; } = [];

    public static async Task<FakeHub> StartAsync(string modelId, string directory)
    {
        var files = Directory.GetFiles(directory).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);
        var fake = new FakeHub(modelId, files, CreateServer(), CreateServer());
        await fake._hub.StartAsync();
        await fake._cdn.StartAsync();
        return fake;
    }

    public static bool IsLfs(string file) => file.EndsWith(".safetensors", StringComparison.Ordinal) || file == "tokenizer.json";

    /// <summary>The blob name huggingface_hub gives a file: SHA-256 for LFS files, the git blob SHA-1 otherwise.</summary>
    public string Etag(string file) => IsLfs(file) ? Sha256(_files[file]) : GitBlobSha1(_files[file]);

    public long BytesServed(string file) => _bytesServed.GetValueOrDefault(file);

    /// <summary>The next <paramref name="count"/> requests to the Hub get 503.</summary>
    public void FailNextRequests(int count) => _failuresLeft = count;

    /// <summary>The next CDN download of <paramref name="file"/> stops after some bytes: the connection drops, or goes silent.</summary>
    public void InterruptOnce(string file, long afterBytes, bool stall = false) => _interruption = (file, afterBytes, stall);

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        await _hub.DisposeAsync();
        await _cdn.DisposeAsync();
    }

    private static WebApplication CreateServer()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        return builder.Build();
    }

    private async Task ServeHubAsync(HttpContext context)
    {
        Record("hub", context);
        var response = context.Response;
        if (Interlocked.Decrement(ref _failuresLeft) >= 0)
        {
            response.StatusCode = 503;
            return;
        }

        var path = context.Request.Path.Value!;
        var prefix = $"/{ModelId}/resolve/";
        var apiPrefix = $"/api/models/{ModelId}/revision/";
        if (!path.StartsWith(prefix, StringComparison.Ordinal) && !path.StartsWith(apiPrefix, StringComparison.Ordinal))
        {
            await ErrorAsync(response, 404, "RepoNotFound", "Repository not found");
            return;
        }

        if (RequiredToken is { } token && context.Request.Headers.Authorization != $"Bearer {token}")
        {
            await ErrorAsync(response, 401, "GatedRepo", "Access to this model is restricted");
            return;
        }

        if (path.StartsWith(apiPrefix, StringComparison.Ordinal))
        {
            if (!IsKnownRevision(path[apiPrefix.Length..]))
            {
                await ErrorAsync(response, 404, "RevisionNotFound", "Invalid rev id");
                return;
            }

            response.ContentType = "application/json";
            await response.WriteAsync(JsonSerializer.Serialize(new
            {
                id = ModelId,
                sha = Commit,
                siblings = _files.Keys.Order(StringComparer.Ordinal).Select(f => new { rfilename = f }),
            }));
            return;
        }

        var revisionAndFile = path[prefix.Length..].Split('/', 2);
        if (revisionAndFile.Length != 2 || !IsKnownRevision(revisionAndFile[0]) || !_files.TryGetValue(revisionAndFile[1], out var content))
        {
            await ErrorAsync(response, 404, "EntryNotFound", "Entry not found");
            return;
        }

        var file = revisionAndFile[1];
        response.Headers["X-Repo-Commit"] = Commit;
        if (IsLfs(file))
        {
            response.StatusCode = 302;
            response.Headers.Location = $"{_cdn.Urls.Single()}/repos/{Sha256(content)}?X-Amz-Signature=fake";
            response.Headers.ETag = $"\"{GitBlobSha1(content)}\""; // the pointer file's, as on the Hub
            response.Headers["X-Linked-Etag"] = $"\"{Sha256(content)}\"";
            response.Headers["X-Linked-Size"] = content.Length.ToString();
            return;
        }

        response.Headers.ETag = $"\"{GitBlobSha1(content)}\"";
        await ServeBytesAsync(context, file, content, honourRange: true);
    }

    private async Task ServeCdnAsync(HttpContext context)
    {
        Record("cdn", context);
        var path = context.Request.Path.Value!;
        if (!path.StartsWith("/repos/", StringComparison.Ordinal) || !_lfsFileBySha256.TryGetValue(path["/repos/".Length..], out var file))
        {
            context.Response.StatusCode = 404;
            return;
        }

        var content = _files[file];
        if (CorruptFiles.Contains(file))
        {
            content = (byte[])content.Clone();
            content[content.Length / 2] ^= 0xff;
        }

        await ServeBytesAsync(context, file, content, honourRange: !IgnoreRange);
    }

    private async Task ServeBytesAsync(HttpContext context, string file, byte[] content, bool honourRange)
    {
        var response = context.Response;
        long start = 0;
        var range = context.Request.Headers.Range.ToString();
        if (honourRange && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            start = long.Parse(range["bytes=".Length..^1]);
            if (start >= content.Length)
            {
                response.StatusCode = 416;
                response.Headers.ContentRange = $"bytes */{content.Length}";
                return;
            }

            response.StatusCode = 206;
            response.Headers.ContentRange = $"bytes {start}-{content.Length - 1}/{content.Length}";
        }

        response.Headers.AcceptRanges = "bytes";
        response.ContentLength = content.Length - start;
        if (HttpMethods.IsHead(context.Request.Method))
            return;

        var limit = content.Length;
        var interruption = _interruption;
        if (interruption is { } cut && cut.File == file)
        {
            _interruption = null;
            limit = (int)Math.Min(content.Length, start + cut.AfterBytes);
        }

        for (var offset = (int)start; offset < limit; offset += 64 * 1024)
        {
            var count = Math.Min(64 * 1024, limit - offset);
            await response.Body.WriteAsync(content.AsMemory(offset, count));
            _bytesServed.AddOrUpdate(file, count, (_, served) => served + count);
        }

        if (limit == content.Length)
            return;
        await response.Body.FlushAsync();
        if (interruption!.Value.Stall)
            await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted).ContinueWith(_ => { });
        context.Abort();
    }

    private bool IsKnownRevision(string revision) => revision == "main" || revision == Commit;

    private void Record(string server, HttpContext context)
    {
        var headers = context.Request.Headers;
        Requests.Enqueue(new Request(server, context.Request.Method, context.Request.Path.Value!,
            headers.Authorization.Count > 0 ? headers.Authorization.ToString() : null,
            headers.Range.Count > 0 ? headers.Range.ToString() : null));
    }

    private static async Task ErrorAsync(HttpResponse response, int status, string code, string message)
    {
        response.StatusCode = status;
        response.Headers["X-Error-Code"] = code;
        response.Headers["X-Error-Message"] = message;
        await response.WriteAsJsonAsync(new { error = message });
    }

    private static string Sha256(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    private static string GitBlobSha1(byte[] content) =>
        Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {content.Length}\0"), .. content]));
}
