using System.Reflection;
using System.Text.Json;
using FuncRerank.Api.Contract;
using FuncRerank.Api.Hosting;
using FuncRerank.Api.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FuncRerank.Api.Endpoints;

/// <summary>
/// Every endpoint, for every host: body → contract parser → prompts → the shared batch queue → reply. Hosts only route
/// requests here; the key check, the model gate, the deadline, body limits and error replies are the
/// <see cref="RequestPipeline"/>'s, which every endpoint goes through.
/// </summary>
public sealed class RerankHandlers(RerankerState state, ApiKeyAuthenticator keys, IOptions<RerankerSettings> options, ILogger<RerankHandlers> logger)
{
    private static readonly DateTimeOffset StartedAt = DateTimeOffset.UtcNow;

    private readonly RerankerSettings _settings = options.Value;
    private readonly RerankLimits _limits = new() { MaxDocuments = options.Value.MaxDocuments, MaxQueryTokens = options.Value.MaxQueryTokens };
    private readonly RequestPipeline _pipeline = new(state, keys, options.Value, logger);

    private string ModelName => _settings.EffectiveModelName;

    public Task Rerank(HttpContext context) => _pipeline.ServeAsync(context, async (reranker, cancellationToken) =>
    {
        using var body = await _pipeline.ReadJsonBodyAsync(context, cancellationToken);
        var request = RerankRequestParser.Parse(body.RootElement, LimitsFor(reranker), cancellationToken);
        var field = request.Dialect == RerankDialect.Tei ? "texts" : "documents";
        var scored = await PairScoring.ScoreAsync(reranker, request.Documents.Select(d => (request.Query, d.Text)).ToArray(), request.Scoring,
            i => $"{field}[{i}]", new RequestTokenBudget(_settings.MaxRequestTokens, field), cancellationToken);
        RequestPipeline.SetTimingHeaders(context, scored);
        return writer => RerankResponseWriter.Write(writer, request, scored.Scores, ModelName, ApiReplies.RequestId(context));
    });

    public Task Score(HttpContext context) => _pipeline.ServeAsync(context, async (reranker, cancellationToken) =>
    {
        using var body = await _pipeline.ReadJsonBodyAsync(context, cancellationToken);
        var request = ScoreRequestParser.Parse(body.RootElement, LimitsFor(reranker), cancellationToken);
        var scored = await PairScoring.ScoreAsync(reranker, request.Pairs.Select(p => (p.Query, p.Document)).ToArray(), request.Scoring,
            i => $"text_2[{i}]", new RequestTokenBudget(_settings.MaxRequestTokens, "text_2"), cancellationToken);
        RequestPipeline.SetTimingHeaders(context, scored);
        return writer => ScoreResponseWriter.Write(writer, request, scored.Scores, ModelName, ApiReplies.RequestId(context), DateTimeOffset.UtcNow);
    });

    public Task Tokenize(HttpContext context) => _pipeline.ServeAsync(context, async (reranker, cancellationToken) =>
    {
        using var body = await _pipeline.ReadJsonBodyAsync(context, cancellationToken);
        var request = TokenizeRequestParser.Parse(body.RootElement, LimitsFor(reranker));
        var tokenizer = reranker.Tokenizer;
        var ids = request.Inputs.Select(input => tokenizer.EncodeToIds(input, int.MaxValue, cancellationToken)).ToArray();
        new RequestTokenBudget(_settings.MaxRequestTokens, "inputs").Check(ids.Sum(i => (long)i.Length), "the inputs");
        var tokens = ids
            .Select(inputIds => (IReadOnlyList<SimpleToken>)inputIds
                .Select(id => new SimpleToken(id, tokenizer.Decode([id]), tokenizer.AddedTokens.Values.Contains(id)))
                .ToArray())
            .ToArray();
        return writer => TokenizeResponseWriter.Write(writer, tokens);
    });

    public Task Info(HttpContext context) => _pipeline.ServeAsync(context, (reranker, _) =>
    {
        var info = new ServerInfo(
            ModelId: _settings.ModelIdentity,
            ServedModelName: ModelName,
            ModelDtype: reranker.Manifest.Dtype == "fp16" ? "float16" : "float32",
            MaxInputLength: reranker.Prompt.MaxLength,
            MaxBatchTokens: reranker.Batching.MaxBatchTokens,
            MaxClientBatchSize: _limits.MaxDocuments,
            MaxQueuedTokens: _settings.MaxQueuedTokens,
            MaxRequestBytes: _settings.MaxRequestBytes,
            AutoTruncate: true,
            TokenizationWorkers: 1,
            Version: Version,
            ExecutionProvider: reranker.ExecutionProviderName,
            Gpu: state.Gpu?.Describe());
        return Task.FromResult<Action<Utf8JsonWriter>>(writer => InfoResponseWriter.Write(writer, info));
    });

    public Task ListModels(HttpContext context) => _pipeline.ServeAsync(context, (_, _) =>
        Task.FromResult<Action<Utf8JsonWriter>>(writer => ModelsResponseWriter.WriteList(writer, [ModelName], StartedAt)));

    /// <summary>One model is served, so any id names it (clients send their own labels); the reply carries the served name.</summary>
    public Task GetModel(HttpContext context, string id) => _pipeline.ServeAsync(context, (_, _) =>
    {
        logger.LogDebug("Model {Requested} asked for; serving {Served}", id, ModelName);
        return Task.FromResult<Action<Utf8JsonWriter>>(writer => ModelsResponseWriter.WriteModel(writer, ModelName, StartedAt));
    });

    /// <summary>Open to everyone, as load balancers and probes carry no key. 200 only when a request would be served.</summary>
    public Task Health(HttpContext context) => RequestPipeline.ServeOpenAsync(context, () =>
    {
        var problem = keys.Misconfiguration ?? (state.Status == RerankerStatus.Ready ? null : state.Detail);
        if (problem is not null)
            throw new ApiException(ApiError.Unavailable(problem));
        var reranker = state.Reranker!;
        var health = new ServerHealth(ModelName, reranker.Device, reranker.ExecutionProviderName, reranker.DeviceReason, state.Gpu?.Describe(), reranker.Queue);
        return writer => HealthResponseWriter.Write(writer, health);
    });

    /// <summary>Xinference's <c>GET /v1/cluster/auth</c>, open to everyone as on Xinference.</summary>
    public Task ClusterAuth(HttpContext context) => RequestPipeline.ServeOpenAsync(context, () => writer => ClusterAuthResponseWriter.Write(writer, !keys.IsOpen));

    public Task OpenApi(HttpContext context) => OpenApiDocument.WriteAsync(context);

    private static string Version => typeof(RerankHandlers).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";

    /// <summary>The request limits with the served model's token counter, for the query token limit.</summary>
    private RerankLimits LimitsFor(Qwen3Reranker reranker) => _limits with { CountTokens = reranker.Tokenizer.CountTokens };
}
