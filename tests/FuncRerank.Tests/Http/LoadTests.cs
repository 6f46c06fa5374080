using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using FuncRerank.Launcher;
using FuncRerank.Tests.TestSupport;
using Xunit.Abstractions;

namespace FuncRerank.Tests.Http;

/// <summary>
/// A bounded load over loopback: 32 clients for 30 s (FUNCRERANK_LOAD_SECONDS to change) against funcrerank serve with
/// a small queue, so some requests must be shed. Every reply is a correct 200 or a 429/503 with Retry-After; none is
/// a 5xx or lost; memory stays bounded. Only 127.0.0.1 is targeted; every loop ends by time and by count.
/// </summary>
[Collection(LoadHeavyCollection.Name)]
public class LoadTests(ITestOutputHelper output)
{
    private const int Clients = 32;
    private const int MaxRequestsPerClient = 2000;

    [Fact]
    public async Task Thirty_two_clients_get_correct_answers_or_retry_later_and_memory_stays_bounded()
    {
        var seconds = int.TryParse(Environment.GetEnvironmentVariable("FUNCRERANK_LOAD_SECONDS"), out var s) ? s : 30;
        using var server = await StandaloneServer.StartAsync(new Dictionary<string, string?>
        {
            ["Reranker__ApiKeys"] = "load-key",
            // About ten requests' worth of prompts may wait; 32 clients keep more than that coming, so some are shed.
            ["Reranker__MaxQueuedTokens"] = "20000",
            ["Reranker__RequestTimeoutSeconds"] = "120",
        }, waitUntilReady: true, "--model", RepoFiles.Checkpoint("tiny-f32-tied"), "--cache", RepoFiles.NewTemporaryDirectory());
        var baselineMemory = server.PeakResidentBytes;
        var stop = DateTime.UtcNow.AddSeconds(seconds);
        var outcomes = new List<(HttpStatusCode Status, double Milliseconds, string? Problem)>();

        await Task.WhenAll(Enumerable.Range(0, Clients).Select(client => Task.Run(async () =>
        {
            var random = new Random(client);
            for (var i = 0; i < MaxRequestsPerClient && DateTime.UtcNow < stop; i++)
            {
                var outcome = await SendOne(server.Client, random);
                lock (outcomes)
                    outcomes.Add(outcome);
                // As a polite client does on 429: wait a little (a fraction of Retry-After, to keep the pressure on).
                if (outcome.Status == HttpStatusCode.TooManyRequests)
                    await Task.Delay(random.Next(100, 500));
            }
        })));

        var peakMemory = server.PeakResidentBytes;
        var ok = outcomes.Where(o => o.Status == HttpStatusCode.OK).Select(o => o.Milliseconds).Order().ToArray();
        var shed = outcomes.Count(o => o.Status is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable);
        output.WriteLine($"{outcomes.Count} requests in {seconds} s from {Clients} clients: {ok.Length} answered, {shed} shed, " +
                         $"{outcomes.Count - ok.Length - shed} other; p50 {Percentile(ok, 0.50):F0} ms, p99 {Percentile(ok, 0.99):F0} ms; " +
                         $"peak RSS {peakMemory / 1e6:F0} MB (after warm-up {baselineMemory / 1e6:F0} MB)");

        Assert.Empty(outcomes.Where(o => o.Problem is not null).Select(o => o.Problem).Take(5));
        Assert.NotEmpty(ok);
        Assert.True(shed > 0, "the queue bound was never reached: the test no longer exercises shedding");
        Assert.False(server.HasExited);
        Assert.True(peakMemory < 2_000_000_000, $"peak RSS {peakMemory / 1e6:F0} MB");
        using var health = await server.Client.GetAsync("health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    private static async Task<(HttpStatusCode Status, double Milliseconds, string? Problem)> SendOne(HttpClient client, Random random)
    {
        var documents = Enumerable.Range(0, random.Next(5, 31))
            .Select(d => string.Join(' ', Enumerable.Range(0, random.Next(5, 120)).Select(w => $"w{random.Next(1000)}")))
            .ToArray();
        var topN = random.Next(0, 8);
        var body = new JsonObject
        {
            ["query"] = $"query {random.Next()}",
            ["documents"] = new JsonArray(documents.Select(d => (JsonNode)JsonValue.Create(d)).ToArray()),
            ["top_n"] = topN,
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/rerank") { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "load-key");
        var started = Stopwatch.GetTimestamp();
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var milliseconds = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        return (response.StatusCode, milliseconds, Check(response, text, documents.Length, topN));
    }

    /// <summary>Null when the reply is a correct answer or a well-formed refusal; otherwise what is wrong.</summary>
    private static string? Check(HttpResponseMessage response, string text, int documents, int topN)
    {
        switch (response.StatusCode)
        {
            case HttpStatusCode.OK:
                var results = JsonNode.Parse(text)!["results"]!.AsArray();
                var expected = topN > 0 ? Math.Min(topN, documents) : documents;
                var scores = results.Select(r => r!["relevance_score"]!.GetValue<double>()).ToArray();
                if (results.Count != expected)
                    return $"200 with {results.Count} results, expected {expected}";
                if (!scores.SequenceEqual(scores.OrderByDescending(x => x)) || scores.Any(x => x is < 0 or > 1))
                    return $"200 with unsorted or out-of-range scores: {text}";
                return null;
            case HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable:
                return response.Headers.RetryAfter is null ? $"{(int)response.StatusCode} without Retry-After" :
                    JsonNode.Parse(text)?["error"] is null ? $"{(int)response.StatusCode} without an error body" : null;
            default:
                return $"{(int)response.StatusCode}: {text}";
        }
    }

    private static double Percentile(double[] sorted, double quantile) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(quantile * sorted.Length))];
}
