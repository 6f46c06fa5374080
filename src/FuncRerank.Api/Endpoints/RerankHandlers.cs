using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using FuncRerank.Api.Contract;
using FuncRerank.Api.Hosting;
using FuncRerank.Api.Security;
using FuncRerank.Inference;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FuncRerank.Api.Endpoints;

/// <summary>
/// Every endpoint, for every host: key check → model ready? → body → contract parser → prompts → the shared batch
/// queue → reply. Hosts only route requests here. Any failure becomes one JSON error body; nothing a client sends can
/// crash the worker. A request that outlives <see cref="RerankerSettings.RequestTimeoutSeconds"/> gets 504, a full
/// queue 429 with Retry-After; either way its waiting pairs leave the queue, as they do when the client disconnects.
/// </summary>
public sealed class RerankHandlers(RerankerState state, ApiKeyAuthenticator keys, IOptions<RerankerSettings> options, ILogger<RerankHandlers> logger)
{
    private static readonly byte[] OpenApiDocument = ReadOpenApiDocument();
    private static readonly DateTimeOffset StartedAt = DateTimeOffset.UtcNow;
    private static readonly object StartedKey = new();

    private readonly RerankerSettings _settings = options.Value;
    private readonly RerankLimits _limits = new() { MaxDocuments = options.Value.MaxDocuments, MaxQueryTokens = options.Value.MaxQueryTokens };

    // CancelAfter takes at most int.MaxValue ms (24.8 days); anything near that is no limit in practice.
    private TimeSpan RequestTimeout => _settings.RequestTimeoutSeconds > 0
        ? TimeSpan.FromSeconds(Math.Min(_settings.RequestTimeoutSeconds, int.MaxValue / 1000.0))
        : Timeout.InfiniteTimeSpan;

    private string ModelName => _settings.EffectiveModelName;

    public Task Rerank(HttpContext context) => Handle(context, async (reranker, cancellationToken) =>
    {
        using var body = await ReadJsonBody(context, cancellationToken);
        var request = RerankRequestParser.Parse(body.RootElement, LimitsFor(reranker), cancellationToken);
        var field = request.Dialect == RerankDialect.Tei ? "texts" : "documents";
        var scored = await PairScoring.ScoreAsync(reranker, request.Documents.Select(d => (request.Query, d.Text)).ToArray(), request.Scoring,
            i => $"{field}[{i}]", new RequestTokenBudget(_settings.MaxRequestTokens, field), cancellationToken);
        SetTimingHeaders(context, scored);
        return writer => RerankResponseWriter.Write(writer, request, scored.Scores, ModelName, ApiReplies.RequestId(context));
    });

    public Task Score(HttpContext context) => Handle(context, async (reranker, cancellationToken) =>
    {
        using var body = await ReadJsonBody(context, cancellationToken);
        var request = ScoreRequestParser.Parse(body.RootElement, LimitsFor(reranker), cancellationToken);
        var scored = await PairScoring.ScoreAsync(reranker, request.Pairs.Select(p => (p.Query, p.Document)).ToArray(), request.Scoring,
            i => $"text_2[{i}]", new RequestTokenBudget(_settings.MaxRequestTokens, "text_2"), cancellationToken);
        SetTimingHeaders(context, scored);
        return writer => ScoreResponseWriter.Write(writer, request, scored.Scores, ModelName, ApiReplies.RequestId(context), DateTimeOffset.UtcNow);
    });

    public Task Tokenize(HttpContext context) => Handle(context, async (reranker, cancellationToken) =>
    {
        using var body = await ReadJsonBody(context, cancellationToken);
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

    public Task Info(HttpContext context) => Handle(context, (reranker, _) =>
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

    public Task ListModels(HttpContext context) => Handle(context, (_, _) =>
        Task.FromResult<Action<Utf8JsonWriter>>(writer => ModelsResponseWriter.WriteList(writer, [ModelName], StartedAt)));

    /// <summary>One model is served, so any id names it (clients send their own labels); the reply carries the served name.</summary>
    public Task GetModel(HttpContext context, string id) => Handle(context, (_, _) =>
    {
        logger.LogDebug("Model {Requested} asked for; serving {Served}", id, ModelName);
        return Task.FromResult<Action<Utf8JsonWriter>>(writer => ModelsResponseWriter.WriteModel(writer, ModelName, StartedAt));
    });

    /// <summary>Open to everyone, as load balancers and probes carry no key. 200 only when a request would be served.</summary>
    public async Task Health(HttpContext context)
    {
        var problem = keys.Misconfiguration ?? (state.Status == RerankerStatus.Ready ? null : state.Detail);
        if (problem is not null)
        {
            await ApiReplies.WriteErrorAsync(context, ApiError.Unavailable(problem));
            return;
        }

        var reranker = state.Reranker!;
        var queue = reranker.Queue;
        await ApiReplies.WriteJsonAsync(context, StatusCodes.Status200OK, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("status", "ok");
            writer.WriteString("model", ModelName);
            writer.WriteString("device", reranker.Device.ToString().ToLowerInvariant());
            writer.WriteString("execution_provider", reranker.ExecutionProviderName);
            writer.WriteString("execution_provider_reason", reranker.DeviceReason);
            writer.WriteString("gpu", state.Gpu?.Describe());
            // What waits for the model now (pairs in the running batch are not counted), and the requests still being
            // tokenized with the tokens they reserved so far: max_queued_tokens bounds tokens + reserved_tokens.
            writer.WriteStartObject("queue");
            writer.WriteNumber("requests", queue.Requests);
            writer.WriteNumber("pairs", queue.Pairs);
            writer.WriteNumber("tokens", queue.Tokens);
            writer.WriteNumber("tokenizing", queue.Tokenizing);
            writer.WriteNumber("reserved_tokens", queue.ReservedTokens);
            writer.WriteEndObject();
            writer.WriteEndObject();
        });
    }

    /// <summary>
    /// Xinference's <c>GET /v1/cluster/auth</c>, open to everyone as on Xinference: <c>{"auth": true}</c> when keys are
    /// required. Xinference's client sends its key only after an <c>auth: true</c> here, so the answer must be the truth.
    /// </summary>
    public Task ClusterAuth(HttpContext context) =>
        ApiReplies.WriteJsonAsync(context, StatusCodes.Status200OK, writer =>
        {
            writer.WriteStartObject();
            writer.WriteBoolean("auth", !keys.IsOpen);
            writer.WriteEndObject();
        });

    public async Task OpenApi(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.Body.WriteAsync(OpenApiDocument, context.RequestAborted);
    }

    private static string Version => typeof(RerankHandlers).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";

    /// <param name="handle">Gets the model and a token that fires when the client disconnects or the deadline passes.</param>
    private async Task Handle(HttpContext context, Func<Qwen3Reranker, CancellationToken, Task<Action<Utf8JsonWriter>>> handle)
    {
        context.Items[StartedKey] = Stopwatch.GetTimestamp();
        var timeout = RequestTimeout;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        deadline.CancelAfter(timeout);
        try
        {
            if (keys.Misconfiguration is { } misconfiguration)
                throw new ApiException(ApiError.Unavailable(misconfiguration));
            if (!keys.IsAuthorized(context.Request))
                throw new ApiException(ApiError.Unauthorized(
                    "missing or invalid API key: send Authorization: Bearer <key> (or x-api-key, api-key, x-functions-key, ?code=)"));
            var reranker = state.Reranker ?? throw new ApiException(ApiError.Unavailable(state.Status == RerankerStatus.Loading
                ? $"the model is not ready yet: {state.Detail}"
                : $"the model failed to load: {state.Detail}"));
            var write = await handle(reranker, deadline.Token);
            await ApiReplies.WriteJsonAsync(context, StatusCodes.Status200OK, write);
        }
        catch (ApiException e)
        {
            await ApiReplies.WriteErrorAsync(context, e.Error);
        }
        catch (QueueFullException e)
        {
            logger.LogWarning("Request {RequestId} refused: {Reason}", ApiReplies.RequestId(context), e.Message);
            context.Response.Headers.RetryAfter = Math.Ceiling(e.RetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            await ApiReplies.WriteErrorAsync(context, ApiError.TooManyRequests(e.Message));
        }
        catch (BadHttpRequestException e)
        {
            await ApiReplies.WriteErrorAsync(context, RequestBodyErrors.From(e, _settings.MaxRequestBytes));
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nobody is left to answer.
            RequestLog.MarkClientClosed(context);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            logger.LogWarning("Request {RequestId} to {Path} passed its deadline of {Seconds} s", ApiReplies.RequestId(context), context.Request.Path, timeout.TotalSeconds);
            await ApiReplies.WriteErrorAsync(context, ApiError.DeadlineExceeded(timeout));
        }
        catch (Exception e)
        {
            // Logged without the request body: documents are the caller's data.
            logger.LogError(e, "Request {RequestId} to {Path} failed", ApiReplies.RequestId(context), context.Request.Path);
            await ApiReplies.WriteErrorAsync(context, ApiError.Internal());
        }
    }

    private async Task<JsonDocument> ReadJsonBody(HttpContext context, CancellationToken cancellationToken)
    {
        var limit = _settings.MaxRequestBytes;
        if (context.Request.ContentLength > limit)
            throw new ApiException(ApiError.RequestTooLarge(limit));
        RequestBodyErrors.ApplyLimit(context, limit);
        var body = await RequestBodyReader.ReadAsync(context.Request, limit, cancellationToken);
        return ApiJson.ParseBody(body, _settings.MaxJsonDepth);
    }

    /// <summary>
    /// TEI's timing headers, in whole milliseconds: the request's time so far, and per pair on average the time spent in
    /// tokenization, waiting for a batch and in the forward pass; and the prompt tokens scored.
    /// </summary>
    private static void SetTimingHeaders(HttpContext context, ScoredPairs scored)
    {
        var headers = context.Response.Headers;
        headers["x-compute-tokens"] = scored.PromptTokens.ToString(CultureInfo.InvariantCulture);
        headers["x-tokenization-time"] = Milliseconds(scored.TokenizationTime);
        headers["x-queue-time"] = Milliseconds(scored.QueueTime);
        headers["x-inference-time"] = Milliseconds(scored.InferenceTime);
        headers["x-total-time"] = Milliseconds(Stopwatch.GetElapsedTime((long)context.Items[StartedKey]!));

        static string Milliseconds(TimeSpan time) => ((long)time.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>The request limits with the served model's token counter, for the query token limit.</summary>
    private RerankLimits LimitsFor(Qwen3Reranker reranker) => _limits with { CountTokens = reranker.Tokenizer.CountTokens };

    private static byte[] ReadOpenApiDocument()
    {
        using var stream = typeof(RerankHandlers).Assembly.GetManifestResourceStream("FuncRerank.Api.openapi.json")
                           ?? throw new InvalidOperationException("openapi.json is not embedded");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
