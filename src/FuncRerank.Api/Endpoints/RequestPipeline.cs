using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FuncRerank.Api.Contract;
using FuncRerank.Api.Hosting;
using FuncRerank.Api.Security;
using FuncRerank.Inference;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FuncRerank.Api.Endpoints;

/// <summary>
/// What every JSON endpoint goes through around its own logic, as TEI's router middleware is for its routes.
/// <see cref="ServeAsync"/> serves the endpoints that need a key and the model: key check → model ready? → the endpoint,
/// under the request's deadline → reply. Any failure becomes one JSON error body; nothing a client sends can crash the
/// worker. A request that outlives <see cref="RerankerSettings.RequestTimeoutSeconds"/> gets 504, a full queue 429 with
/// Retry-After; either way its waiting pairs leave the queue, as they do when the client disconnects.
/// <see cref="ServeOpenAsync"/> serves the open ones (probes, discovery). The endpoints read their bodies and set TEI's
/// timing headers through it too, so the limits and the clock are the pipeline's.
/// </summary>
/// <param name="logger">The handlers' logger: what a request's failure logs is the handlers' story.</param>
internal sealed class RequestPipeline(RerankerState state, ApiKeyAuthenticator keys, RerankerSettings settings, ILogger logger)
{
    private static readonly object StartedKey = new();

    // CancelAfter takes at most int.MaxValue ms (24.8 days); anything near that is no limit in practice.
    private TimeSpan RequestTimeout => settings.RequestTimeoutSeconds > 0
        ? TimeSpan.FromSeconds(Math.Min(settings.RequestTimeoutSeconds, int.MaxValue / 1000.0))
        : Timeout.InfiniteTimeSpan;

    /// <param name="endpoint">Gets the model and a token that fires when the client disconnects or the deadline passes; returns the 200 body's writer.</param>
    public async Task ServeAsync(HttpContext context, Func<Qwen3Reranker, CancellationToken, Task<Action<Utf8JsonWriter>>> endpoint)
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
            var write = await endpoint(reranker, deadline.Token);
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
            await ApiReplies.WriteErrorAsync(context, RequestBodyErrors.From(e, settings.MaxRequestBytes));
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

    /// <summary>
    /// An endpoint open to everyone, as probes and clients' discovery calls carry no key, and that needs no body: its own
    /// <see cref="ApiException"/> is its error reply; anything else is left to the host's error guard (<see cref="ErrorReplies"/>).
    /// </summary>
    /// <param name="endpoint">Returns the 200 body's writer.</param>
    public static async Task ServeOpenAsync(HttpContext context, Func<Action<Utf8JsonWriter>> endpoint)
    {
        Action<Utf8JsonWriter> write;
        try
        {
            write = endpoint();
        }
        catch (ApiException e)
        {
            await ApiReplies.WriteErrorAsync(context, e.Error);
            return;
        }

        await ApiReplies.WriteJsonAsync(context, StatusCodes.Status200OK, write);
    }

    /// <summary>
    /// The request body as JSON, within <c>Reranker:MaxRequestBytes</c> (counted after decompression) and
    /// <c>Reranker:MaxJsonDepth</c>; the caller disposes it.
    /// </summary>
    public async Task<JsonDocument> ReadJsonBodyAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var limit = settings.MaxRequestBytes;
        if (context.Request.ContentLength > limit)
            throw new ApiException(ApiError.RequestTooLarge(limit));
        RequestBodyErrors.ApplyLimit(context, limit);
        var body = await RequestBodyReader.ReadAsync(context.Request, limit, cancellationToken);
        return ApiJson.ParseBody(body, settings.MaxJsonDepth);
    }

    /// <summary>
    /// TEI's timing headers, in whole milliseconds: the request's time so far, and per pair on average the time spent in
    /// tokenization, waiting for a batch and in the forward pass; and the prompt tokens scored.
    /// </summary>
    public static void SetTimingHeaders(HttpContext context, ScoredPairs scored)
    {
        var headers = context.Response.Headers;
        headers["x-compute-tokens"] = scored.PromptTokens.ToString(CultureInfo.InvariantCulture);
        headers["x-tokenization-time"] = Milliseconds(scored.TokenizationTime);
        headers["x-queue-time"] = Milliseconds(scored.QueueTime);
        headers["x-inference-time"] = Milliseconds(scored.InferenceTime);
        headers["x-total-time"] = Milliseconds(Stopwatch.GetElapsedTime((long)context.Items[StartedKey]!));

        static string Milliseconds(TimeSpan time) => ((long)time.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
    }
}
