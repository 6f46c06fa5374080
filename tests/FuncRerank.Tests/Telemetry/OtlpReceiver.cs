using System.Collections.Concurrent;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace FuncRerank.Tests.Telemetry;

/// <summary>
/// An OTLP/HTTP collector on 127.0.0.1 (binary protobuf, the protocol's paths and its own message definitions, vendored
/// in Telemetry/Otlp): it keeps every export request it is sent and answers as a collector does.
/// </summary>
internal sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _server;

    private OtlpReceiver(WebApplication server)
    {
        _server = server;
        server.MapPost("/v1/traces", context => Receive(context, ExportTraceServiceRequest.Parser, Traces, new ExportTraceServiceResponse()));
        server.MapPost("/v1/metrics", context => Receive(context, ExportMetricsServiceRequest.Parser, Metrics, new ExportMetricsServiceResponse()));
        server.MapPost("/v1/logs", context => Receive(context, ExportLogsServiceRequest.Parser, Logs, new ExportLogsServiceResponse()));
    }

    public string Endpoint => _server.Urls.Single();

    public ConcurrentQueue<ExportTraceServiceRequest> Traces { get; } = new();

    public ConcurrentQueue<ExportMetricsServiceRequest> Metrics { get; } = new();

    public ConcurrentQueue<ExportLogsServiceRequest> Logs { get; } = new();

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var receiver = new OtlpReceiver(builder.Build());
        await receiver._server.StartAsync();
        return receiver;
    }

    private static async Task Receive<T>(HttpContext context, MessageParser<T> parser, ConcurrentQueue<T> into, IMessage response)
        where T : IMessage<T>
    {
        if (context.Request.ContentType != "application/x-protobuf")
        {
            context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return;
        }

        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        into.Enqueue(parser.ParseFrom(body.ToArray()));
        context.Response.ContentType = "application/x-protobuf";
        await context.Response.Body.WriteAsync(response.ToByteArray());
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
