using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FuncRerank.Api.Endpoints;
using FuncRerank.Api.Hosting;
using FuncRerank.Inference;
using FuncRerank.Launcher;
using FuncRerank.Tests.TestSupport;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace FuncRerank.Tests.Telemetry;

/// <summary>
/// What a rerank request leaves in OpenTelemetry: its spans (score → tokenize, queue, inference per forward pass) with
/// counts as attributes, the FuncRerank meter's instruments, and logs; exported over OTLP to a collector on 127.0.0.1
/// by the real `funcrerank serve`; and never a document, the query or a key in any of it.
/// </summary>
public class TelemetryTests
{
    private const string Query = "zebra migration corridors";
    private static readonly string[] Documents = ["Serengeti wildebeest herds cross rivers", "quarterly ledger reconciliation", "gravity"];

    private static string Body => JsonSerializer.Serialize(new { query = Query, documents = Documents });

    private static readonly ActivitySource TestSource = new("FuncRerank.Tests.Telemetry");

    [Fact]
    public async Task A_rerank_records_its_spans_with_counts_and_the_meters_instruments_in_memory()
    {
        var spans = new List<Activity>();
        var metrics = new List<Metric>();
        using var tracing = Sdk.CreateTracerProviderBuilder().AddSource(RerankTracing.SourceName, TestSource.Name).AddInMemoryExporter(spans).Build();
        using var metering = Sdk.CreateMeterProviderBuilder().AddMeter(SchedulerMetricsName).AddInMemoryExporter(metrics).Build();
        var handlers = InProcessHandlers.Create();

        InProcessHandlers.Reply reply;
        ActivityTraceId trace;
        using (var request = TestSource.StartActivity("test request"))
        {
            trace = request!.TraceId;
            reply = await InProcessHandlers.Send(handlers.Rerank, Body);
        }

        Assert.Equal(200, reply.Status);
        tracing.ForceFlush();
        metering.ForceFlush();
        Activity[] ours;
        lock (spans)
            ours = spans.Where(s => s.TraceId == trace).ToArray();
        var score = Assert.Single(ours, s => s.OperationName == "funcrerank.score");
        Assert.Equal(Documents.Length, score.GetTagItem("funcrerank.pairs"));
        Assert.Equal(long.Parse(reply.Headers["x-compute-tokens"]!), score.GetTagItem("funcrerank.prompt_tokens"));
        var tokenize = Assert.Single(ours, s => s.OperationName == "funcrerank.tokenize");
        var queue = Assert.Single(ours, s => s.OperationName == "funcrerank.queue");
        var inference = ours.Where(s => s.OperationName == "funcrerank.inference").ToArray();
        Assert.NotEmpty(inference);
        Assert.All(new[] { tokenize, queue }.Concat(inference), s => Assert.Equal(score.SpanId, s.ParentSpanId));
        Assert.Equal(score.GetTagItem("funcrerank.prompt_tokens"), tokenize.GetTagItem("funcrerank.prompt_tokens"));
        // The request's pairs are spread over its forward passes; each pass is at least as big as this request's share.
        Assert.Equal(Documents.Length, inference.Sum(s => (int)s.GetTagItem("funcrerank.batch.request_pairs")!));
        Assert.All(inference, s => Assert.InRange((int)s.GetTagItem("funcrerank.batch.size")!, (int)s.GetTagItem("funcrerank.batch.request_pairs")!, int.MaxValue));
        Assert.All(inference, s => Assert.True(s.StartTimeUtc >= queue.StartTimeUtc + queue.Duration && s.Duration > TimeSpan.Zero));
        Assert.All(ours.SelectMany(s => s.TagObjects), tag => AssertCarriesNoText(tag.Key, tag.Value?.ToString()));

        string[] names;
        lock (metrics)
            names = metrics.Select(m => m.Name).ToArray();
        Assert.Contains("funcrerank.batch.size", names);
        Assert.Contains("funcrerank.batch.real_tokens", names);
        Assert.Contains("funcrerank.request.queue_time", names);
        Assert.Contains("funcrerank.request.inference_time", names);
    }

    private const string SchedulerMetricsName = "FuncRerank";

    [Fact]
    public async Task Served_requests_reach_an_otlp_collector_as_spans_metrics_and_logs_without_text_or_keys()
    {
        const string key = "otlp-test-key-0123456789";
        await using var collector = await OtlpReceiver.StartAsync();
        using var server = await StandaloneServer.StartAsync(new Dictionary<string, string?>
        {
            ["Reranker__ApiKeys"] = key,
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
            ["OTEL_BLRP_SCHEDULE_DELAY"] = "100",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "300",
            ["APPLICATIONINSIGHTS_CONNECTION_STRING"] = null,
        }, waitUntilReady: true, "--model", RepoFiles.Checkpoint(InProcessHandlers.Checkpoint), "--cache", RepoFiles.NewTemporaryDirectory());

        // The key twice: as a header and in the query string, where a Functions key may come.
        using var request = new HttpRequestMessage(HttpMethod.Post, $"v1/rerank?code={key}") { Content = new StringContent(Body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var reply = await server.Client.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.OK, reply.StatusCode);

        // The HTTP server span ends after the reply is written, so it may come in a later export than its children.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!(SpanNames(collector).Contains("funcrerank.inference") && HasScoreParent(collector) && MetricNames(collector).Contains("funcrerank.batch.size") &&
                 !collector.Logs.IsEmpty))
        {
            Assert.True(DateTime.UtcNow < deadline,
                $"the collector got spans [{string.Join(", ", SpanNames(collector))}], metrics [{string.Join(", ", MetricNames(collector))}], {collector.Logs.Count} log exports\n{server.Output}");
            await Task.Delay(100);
        }

        var spans = Spans(collector);
        Assert.Contains(collector.Traces.SelectMany(t => t.ResourceSpans), r => r.Resource.Attributes.Any(a => a.Key == "service.name" && a.Value.StringValue == FuncRerankTelemetry.ServiceName));
        var score = spans.Single(s => s.Name == "funcrerank.score");
        var http = spans.Single(s => s.SpanId == score.ParentSpanId);
        Assert.Contains(http.Attributes, a => a.Key == "url.path" && a.Value.StringValue == "/v1/rerank");
        Assert.Contains(http.Attributes, a => a.Key == "http.response.status_code" && a.Value.IntValue == 200);
        // The readiness polls before the request (StandaloneServer waits on /health) left no spans.
        Assert.DoesNotContain(spans, s => s.Attributes.Any(a => a.Key == "url.path" && a.Value.StringValue == "/health"));
        foreach (var child in new[] { "funcrerank.tokenize", "funcrerank.queue", "funcrerank.inference" })
            Assert.Contains(spans, s => s.Name == child && s.ParentSpanId == score.SpanId && s.TraceId == score.TraceId);
        Assert.Contains(score.Attributes, a => a.Key == "funcrerank.pairs" && a.Value.IntValue == Documents.Length);

        // Nothing sent anywhere carries a document, the query or the key: every attribute, log body and value, as text.
        foreach (var message in collector.Traces.Cast<IMessage>().Concat(collector.Metrics).Concat(collector.Logs))
            AssertCarriesNoText("an OTLP export", JsonFormatter.Default.Format(message), key);
    }

    [Fact]
    public async Task With_a_connection_string_the_spans_metrics_and_logs_reach_application_insights_ingestion_without_text_or_keys()
    {
        const string key = "ingestion-test-key-0123456789";
        await using var ingestion = await IngestionReceiver.StartAsync();
        using var server = await StandaloneServer.StartAsync(new Dictionary<string, string?>
        {
            ["Reranker__ApiKeys"] = key,
            // No AZURE_CLIENT_ID: the exporter sends with the connection string alone (in Azure the Bicep sets both). A
            // key of its own, so nothing another run left in the exporter's offline store is sent here.
            ["APPLICATIONINSIGHTS_CONNECTION_STRING"] =
                $"InstrumentationKey={Guid.NewGuid()};IngestionEndpoint={ingestion.Endpoint};LiveEndpoint={ingestion.Endpoint}",
            ["AZURE_CLIENT_ID"] = null,
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = null,
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
            ["OTEL_BLRP_SCHEDULE_DELAY"] = "100",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "300",
        }, waitUntilReady: true, "--model", RepoFiles.Checkpoint(InProcessHandlers.Checkpoint), "--cache", RepoFiles.NewTemporaryDirectory());

        using var request = new HttpRequestMessage(HttpMethod.Post, $"v1/rerank?code={key}") { Content = new StringContent(Body, Encoding.UTF8, "application/json") };
        using var reply = await server.Client.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.OK, reply.StatusCode);

        // Internal spans arrive as dependencies named after the span, the HTTP server span as a request, the meter's
        // instruments as metrics, the logs as messages.
        string[] wanted = ["\"funcrerank.score\"", "\"funcrerank.inference\"", "\"RequestData\"", "\"funcrerank.batch.size\"", "\"MessageData\""];
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (wanted.Any(w => !ingestion.Items.Any(i => i.Contains(w, StringComparison.Ordinal))))
        {
            Assert.True(DateTime.UtcNow < deadline,
                $"missing {string.Join(", ", wanted.Where(w => !ingestion.Items.Any(i => i.Contains(w, StringComparison.Ordinal))))} among {ingestion.Items.Count} items: " +
                $"{string.Join(", ", ingestion.Items.Select(Describe).Distinct())}\n{server.Output}");
            await Task.Delay(100);
        }

        Assert.All(ingestion.Items, item => AssertCarriesNoText("an Application Insights item", item, key));
    }

    [Fact]
    public void Without_a_connection_string_or_an_otlp_endpoint_no_telemetry_is_registered()
    {
        static ServiceProvider Services(Dictionary<string, string?> settings) =>
            new ServiceCollection().AddLogging().AddFuncRerank(new ConfigurationBuilder().AddInMemoryCollection(settings).Build()).BuildServiceProvider();

        using (var none = Services(new() { ["APPLICATIONINSIGHTS_CONNECTION_STRING"] = "", ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "" }))
        {
            Assert.Null(none.GetService<TracerProvider>());
            Assert.Null(none.GetService<MeterProvider>());
        }

        using var otlp = Services(new() { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:1" });
        Assert.NotNull(otlp.GetService<TracerProvider>());
        Assert.NotNull(otlp.GetService<MeterProvider>());
    }

    /// <summary>An ingestion item's type and name, for a failure message.</summary>
    private static string Describe(string item)
    {
        var data = JsonNode.Parse(item)!["data"]!;
        return $"{data["baseType"]}:{data["baseData"]?["name"] ?? data["baseData"]?["metrics"]?[0]?["name"]}";
    }

    private static void AssertCarriesNoText(string where, string? text, string? key = null)
    {
        if (text is null)
            return;
        Assert.False(text.Contains(Query, StringComparison.Ordinal), $"{where} carries the query: {text}");
        foreach (var document in Documents)
            Assert.False(text.Contains(document, StringComparison.Ordinal), $"{where} carries a document: {text}");
        Assert.False(text.Contains(InProcessHandlers.Key, StringComparison.Ordinal) || (key is not null && text.Contains(key, StringComparison.Ordinal)),
            $"{where} carries a key: {text}");
    }

    private static OpenTelemetry.Proto.Trace.V1.Span[] Spans(OtlpReceiver collector) =>
        collector.Traces.SelectMany(t => t.ResourceSpans).SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans).ToArray();

    private static HashSet<string> SpanNames(OtlpReceiver collector) => Spans(collector).Select(s => s.Name).ToHashSet();

    private static bool HasScoreParent(OtlpReceiver collector)
    {
        var spans = Spans(collector);
        return spans.Where(s => s.Name == "funcrerank.score").Any(score => spans.Any(s => s.SpanId == score.ParentSpanId));
    }

    private static HashSet<string> MetricNames(OtlpReceiver collector) =>
        collector.Metrics.SelectMany(m => m.ResourceMetrics).SelectMany(r => r.ScopeMetrics).SelectMany(s => s.Metrics).Select(m => m.Name).ToHashSet();
}
