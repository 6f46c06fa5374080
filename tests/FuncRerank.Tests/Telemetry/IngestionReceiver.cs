using System.Collections.Concurrent;
using System.IO.Compression;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace FuncRerank.Tests.Telemetry;

/// <summary>
/// Application Insights' ingestion endpoint on 127.0.0.1 (<c>POST /v2.1/track</c>, gzipped newline-delimited JSON, as
/// the Azure Monitor exporter sends it): it keeps every item and accepts them all. Any other path (live metrics) gets 404.
/// </summary>
internal sealed class IngestionReceiver : IAsyncDisposable
{
    private readonly WebApplication _server;

    private IngestionReceiver(WebApplication server)
    {
        _server = server;
        server.MapPost("/v2.1/track", Track);
    }

    public string Endpoint => _server.Urls.Single() + "/";

    /// <summary>Every telemetry item received, one JSON document each.</summary>
    public ConcurrentQueue<string> Items { get; } = new();

    public static async Task<IngestionReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var receiver = new IngestionReceiver(builder.Build());
        await receiver._server.StartAsync();
        return receiver;
    }

    private async Task Track(HttpContext context)
    {
        Stream body = context.Request.Body;
        if (context.Request.Headers.ContentEncoding.ToString().Contains("gzip", StringComparison.OrdinalIgnoreCase))
            body = new GZipStream(body, CompressionMode.Decompress);
        using var reader = new StreamReader(body, Encoding.UTF8);
        var lines = (await reader.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var line in lines)
            Items.Enqueue(line);
        await context.Response.WriteAsJsonAsync(new { itemsReceived = lines.Length, itemsAccepted = lines.Length, errors = Array.Empty<object>() });
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
