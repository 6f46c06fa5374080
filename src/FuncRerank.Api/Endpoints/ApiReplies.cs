using System.Buffers;
using System.Text.Json;
using FuncRerank.Api.Contract;
using Microsoft.AspNetCore.Http;

namespace FuncRerank.Api.Endpoints;

/// <summary>How every reply is written, by the handlers and by the error pipeline of either host: JSON, with its request id.</summary>
public static class ApiReplies
{
    private static readonly object RequestIdKey = new();

    /// <summary>
    /// The request's id, set once per request and echoed as <c>X-Request-Id</c>: the client's own when it sent a usable
    /// one, else a new one.
    /// </summary>
    public static string RequestId(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Items[RequestIdKey] is not string id)
        {
            var sent = context.Request.Headers["X-Request-Id"].FirstOrDefault();
            // Echoed as a response header, so only printable ASCII: anything else there makes the server itself fail.
            id = string.IsNullOrWhiteSpace(sent) || sent.Length > 128 || sent.Any(c => c is < ' ' or > '~') ? NewRequestId() : sent;
            context.Items[RequestIdKey] = id;
        }

        // Set again after a Response.Clear().
        if (!context.Response.HasStarted)
            context.Response.Headers["X-Request-Id"] = id;
        return id;
    }

    public static string NewRequestId() => Guid.NewGuid().ToString("N");

    public static async Task WriteJsonAsync(HttpContext context, int status, Action<Utf8JsonWriter> write)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(write);
        RequestId(context);
        // Rendered in full before anything is sent, so a failure midway still becomes a clean error reply.
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, ApiJson.WriterOptions))
            write(writer);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.ContentLength = buffer.WrittenCount;
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }

    /// <summary>The one error body with the headers its status calls for; nothing when the response has already begun.</summary>
    public static Task WriteErrorAsync(HttpContext context, ApiError error)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(error);
        if (context.Response.HasStarted)
            return Task.CompletedTask;
        if (error.Status == StatusCodes.Status401Unauthorized)
            context.Response.Headers.WWWAuthenticate = "Bearer";
        // RFC 9110 §12.5.3: a 415 for a content coding names the codings the server takes.
        if (error.Code == ApiErrorCodes.UnsupportedEncoding)
            context.Response.Headers.AcceptEncoding = string.Join(", ", RequestBodyReader.SupportedEncodings);
        // A 429 from the queue carries its own estimate.
        if (error.Status is StatusCodes.Status503ServiceUnavailable or StatusCodes.Status429TooManyRequests && context.Response.Headers.RetryAfter.Count == 0)
            context.Response.Headers.RetryAfter = "10";
        return WriteJsonAsync(context, error.Status, error.WriteBody);
    }
}
