using FuncRerank.Api.Contract;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace FuncRerank.Api.Endpoints;

/// <summary>
/// What makes every reply of either host that is not a success carry the one error body and <c>X-Request-Id</c>: an
/// exception nobody caught becomes a 500 body, and a status set without a body (no route: 404; a route without the
/// method: 405) gets one. The handlers write their own errors; this is for everything around them.
/// </summary>
public static class ErrorReplies
{
    /// <summary>Runs <paramref name="next"/> (the rest of the pipeline, or the function) and completes what it left without a body.</summary>
    public static async Task GuardAsync(HttpContext context, Func<Task> next, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        ApiReplies.RequestId(context);
        try
        {
            await next();
        }
        catch (Exception e) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            // Logged without the request body: documents are the caller's data.
            logger.LogError(e, "Request {RequestId} to {Path} failed outside the handlers", ApiReplies.RequestId(context), context.Request.Path);
            context.Response.Clear();
            await ApiReplies.WriteErrorAsync(context, ApiError.Internal());
            return;
        }

        if (context.Response.StatusCode >= 400 && !context.Response.HasStarted)
            await ApiReplies.WriteErrorAsync(context, ForBodilessStatus(context));
    }

    /// <summary>The standalone host's part: around routing's own 404 and 405, and anything that throws past the handlers.</summary>
    public static IApplicationBuilder UseErrorReplies(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ErrorReplies).FullName!);
        return app.Use((context, next) => GuardAsync(context, () => next(context), logger));
    }

    private static ApiError ForBodilessStatus(HttpContext context)
    {
        var request = context.Request;
        var status = context.Response.StatusCode;
        // The path only, never the query string, where ?code= keys travel; cut, as it is the caller's text.
        var path = request.Path.Value is { Length: > 200 } longPath ? longPath[..200] + "…" : request.Path.Value;
        return status switch
        {
            StatusCodes.Status404NotFound => ApiError.ForStatus(status, $"no endpoint at {path}; GET /openapi.json lists them"),
            StatusCodes.Status405MethodNotAllowed => ApiError.ForStatus(status,
                $"{request.Method} is not allowed on {path}" + (context.Response.Headers[HeaderNames.Allow] is { Count: > 0 } allow ? $"; allowed: {allow}" : "")),
            _ => ApiError.ForStatus(status, $"the request failed with HTTP {status}"),
        };
    }
}
