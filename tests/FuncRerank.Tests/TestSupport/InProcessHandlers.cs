using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using FuncRerank.Api.Endpoints;
using FuncRerank.Api.Hosting;
using FuncRerank.Api.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FuncRerank.Tests.TestSupport;

/// <summary>
/// The shared handlers called in-process, as a host calls them, with a <see cref="DefaultHttpContext"/> and a real
/// reranker on a tiny checkpoint (loaded once per prompt length for all tests).
/// </summary>
internal static class InProcessHandlers
{
    public const string Checkpoint = "tiny-f32-tied";
    public const string Key = "in-process-test-key";

    private static readonly ConcurrentDictionary<int, Lazy<Qwen3Reranker>> Rerankers = new();

    public static Qwen3Reranker Reranker(int maxLength = FuncRerank.Prompting.RerankPrompt.DefaultMaxLength) =>
        Rerankers.GetOrAdd(maxLength, length => new Lazy<Qwen3Reranker>(() => Qwen3Reranker.Load(RepoFiles.Checkpoint(Checkpoint),
            new RerankerOptions { CacheRoot = ScratchDirectory.SharedBuildCache, MaxLength = length }, NullLogger.Instance))).Value;

    /// <summary>Handlers over a ready reranker, with the settings' defaults changed by <paramref name="configure"/>.</summary>
    public static RerankHandlers Create(Action<RerankerSettings>? configure = null, int maxLength = FuncRerank.Prompting.RerankPrompt.DefaultMaxLength,
        ILogger<RerankHandlers>? logger = null)
    {
        var settings = new RerankerSettings { ModelPath = RepoFiles.Checkpoint(Checkpoint), ApiKeys = Key, MaxLength = maxLength };
        configure?.Invoke(settings);
        var state = new RerankerState();
        state.SetReady(Reranker(maxLength));
        return new RerankHandlers(state, new ApiKeyAuthenticator([Key]), Options.Create(settings), logger ?? NullLogger<RerankHandlers>.Instance);
    }

    public sealed record Reply(int Status, string Text, IHeaderDictionary Headers)
    {
        public JsonNode? Json => Text.Length == 0 ? null : JsonNode.Parse(Text);
    }

    public static Task<Reply> Send(Func<HttpContext, Task> endpoint, string body) => Send(endpoint, new MemoryStream(Encoding.UTF8.GetBytes(body)));

    public static Task<Reply> Send(Func<HttpContext, Task> endpoint, byte[] body) => Send(endpoint, new MemoryStream(body));

    /// <summary>Calls one endpoint (<c>handlers.Rerank</c> and the like) with the key and the body stream given.</summary>
    public static async Task<Reply> Send(Func<HttpContext, Task> endpoint, Stream body)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.Path = "/v1/rerank";
        context.Request.ContentType = "application/json";
        context.Request.Body = body;
        context.Request.Headers.Authorization = $"Bearer {Key}";
        var response = new MemoryStream();
        context.Response.Body = response;
        await endpoint(context);
        return new Reply(context.Response.StatusCode, Encoding.UTF8.GetString(response.ToArray()), context.Response.Headers);
    }
}
