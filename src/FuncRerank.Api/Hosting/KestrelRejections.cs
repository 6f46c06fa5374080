using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using FuncRerank.Api.Contract;
using FuncRerank.Api.Endpoints;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FuncRerank.Api.Hosting;

/// <summary>
/// Kestrel answers a request it cannot read (a malformed request line or header: 400; headers too slow: 408; too large:
/// 431; a request line too long: 414) itself, before any middleware runs, with an empty body that no hook can change
/// (aspnet/KestrelHttpServer#2947). This connection middleware finds those replies on their way out (a head alone, status
/// 4xx or 5xx, <c>Content-Length: 0</c>: the application never writes one, its errors all have bodies) and gives them the
/// one error body and an <c>X-Request-Id</c>, and logs them in the request log.
/// </summary>
public static class KestrelRejections
{
    /// <summary>Adds the rewriting to one listening endpoint (plain HTTP; over TLS the bytes it sees are encrypted and pass untouched).</summary>
    public static ListenOptions UseJsonRejections(this ListenOptions listen)
    {
        ArgumentNullException.ThrowIfNull(listen);
        var services = listen.ApplicationServices;
        var limits = new Lazy<KestrelServerLimits>(() => services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits);
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(RequestLog.Category);
        listen.Use(next => async connection =>
        {
            var transport = connection.Transport;
            var stream = new KestrelRejectionStream(transport.Output.AsStream(), head => Rewrite(head, limits.Value, logger));
            var output = PipeWriter.Create(stream);
            connection.Transport = new DuplexPipe(transport.Input, output);
            try
            {
                await next(connection);
            }
            finally
            {
                await output.CompleteAsync();
                connection.Transport = transport;
            }
        });
        return listen;
    }

    /// <summary>Kestrel's own reply with the error body; its status line and headers kept, <c>Content-Length</c> replaced.</summary>
    internal static byte[] Rewrite(KestrelRejectionStream.Head head, KestrelServerLimits limits, ILogger logger)
    {
        var requestId = ApiReplies.NewRequestId();
        var error = ApiError.ForStatus(head.Status, Describe(head.Status, head.Reason, limits));
        var body = new ArrayBufferWriter<byte>();
        using (var writer = new System.Text.Json.Utf8JsonWriter(body, ApiJson.WriterOptions))
            error.WriteBody(writer);
        logger.LogInformation("- - {Status} rejected by the server before routing: {Reason} (request {RequestId})", head.Status, head.Reason, requestId);

        var text = new StringBuilder(head.StatusLine).Append("\r\n");
        foreach (var header in head.Headers.Where(h => !h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)))
            text.Append(header).Append("\r\n");
        text.Append("Content-Type: application/json; charset=utf-8\r\n")
            .Append("Content-Length: ").Append(body.WrittenCount).Append("\r\n")
            .Append("X-Request-Id: ").Append(requestId).Append("\r\n\r\n");
        return [.. Encoding.ASCII.GetBytes(text.ToString()), .. body.WrittenSpan];
    }

    private static string Describe(int status, string reason, KestrelServerLimits limits) => status switch
    {
        400 => "the request is not valid HTTP/1.1: its request line or a header is malformed",
        408 => $"the request headers did not all arrive within {limits.RequestHeadersTimeout.TotalSeconds:0.###} s",
        411 => "a request with a body needs Content-Length or Transfer-Encoding: chunked",
        414 => $"the request line (method, path and query) exceeds the limit of {limits.MaxRequestLineSize} bytes",
        431 => $"the request headers exceed the limit of {limits.MaxRequestHeadersTotalSize} bytes or {limits.MaxRequestHeaderCount} headers",
        _ => $"the server could not take the request: {reason}",
    };

    private sealed record DuplexPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}
