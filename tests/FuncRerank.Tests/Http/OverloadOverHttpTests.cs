using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using FuncRerank.Tests.TestSupport;

namespace FuncRerank.Tests.Http;

/// <summary>
/// A <c>funcrerank serve</c> with tiny queue limits (set the way an operator sets them, through <c>Reranker__*</c>
/// environment variables) and prompts of 4,096 tokens, each of which takes the tiny model a good fraction of a second
/// on the CPU: a big request keeps the queue busy far longer than the 2 s deadline.
/// </summary>
public sealed class OverloadServerFixture : IAsyncLifetime
{
    public const int MaxLength = 4096;
    public const double RequestTimeoutSeconds = 2;

    public StandaloneServer Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await StandaloneServer.StartAsync(new Dictionary<string, string?>
        {
            ["Reranker__MaxBatchTokens"] = "4096",
            ["Reranker__MaxQueuedTokens"] = "260000",
            ["Reranker__RequestTimeoutSeconds"] = RequestTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }, waitUntilReady: true, "--model", RepoFiles.Checkpoint(ServedModelFixture.Checkpoint), "--max-length", MaxLength.ToString(),
            "--cache", RepoFiles.NewTemporaryDirectory());
    }

    public Task DisposeAsync()
    {
        Server.Dispose();
        return Task.CompletedTask;
    }
}

public class OverloadOverHttpTests(OverloadServerFixture fixture) : IClassFixture<OverloadServerFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    private HttpClient Client => fixture.Server.Client;

    /// <summary>A rerank body of <paramref name="documents"/> documents, each cut to the 4,096-token prompt limit.</summary>
    private static StringContent LongRequest(int documents)
    {
        var document = string.Concat(Enumerable.Repeat("the capital of China is Beijing and gravity pulls ", 700));
        var body = new JsonObject
        {
            ["query"] = "What is the capital of China?",
            ["documents"] = new JsonArray(Enumerable.Range(0, documents).Select(i => (JsonNode)JsonValue.Create($"{i} {document}")).ToArray()),
            ["return_documents"] = false,
        };
        return new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
    }

    private async Task<JsonNode> Queue()
    {
        using var health = await Client.GetAsync("health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        return JsonNode.Parse(await health.Content.ReadAsStringAsync())!["queue"]!;
    }

    [Fact]
    public async Task Overload_gets_429_a_slow_request_504_and_then_the_server_answers_as_before()
    {
        // 60 prompts of 4,096 tokens: 245,760 tokens, within the queue's 260,000; far more work than the deadline allows.
        var big = Client.PostAsync("v1/rerank", LongRequest(60));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while ((await Queue())["tokens"]!.GetValue<long>() == 0)
        {
            Assert.False(big.IsCompleted, "the big request ended before it was seen in the queue");
            Assert.True(watch.Elapsed < Patience, "the big request never reached the queue");
            await Task.Delay(20);
        }

        // 10 more prompts do not fit beside what waits.
        using var refused = await Client.PostAsync("v1/rerank", LongRequest(10));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.InRange(refused.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        Assert.Equal("too_many_requests", JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["error"]!["code"]!.GetValue<string>());

        using var late = await big.WaitAsync(Patience);
        Assert.Equal(HttpStatusCode.GatewayTimeout, late.StatusCode);
        var error = JsonNode.Parse(await late.Content.ReadAsStringAsync())!;
        Assert.Equal("deadline_exceeded", error["error"]!["code"]!.GetValue<string>());
        Assert.Equal(error["message"]!.GetValue<string>(), error["detail"]!.GetValue<string>());

        // Its waiting pairs left with it.
        var queue = await Queue();
        Assert.Equal(0, queue["requests"]!.GetValue<int>());
        Assert.Equal(0, queue["pairs"]!.GetValue<int>());
        Assert.Equal(0, queue["tokens"]!.GetValue<long>());

        using var next = await Client.PostAsync("v1/rerank",
            new StringContent("""{"query":"What is the capital of China?","documents":["Beijing.","Gravity."]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Equal(2, JsonNode.Parse(await next.Content.ReadAsStringAsync())!["results"]!.AsArray().Count);
    }

    [Fact]
    public async Task Replies_carry_the_timing_headers_over_the_wire()
    {
        using var reply = await Client.PostAsync("rerank",
            new StringContent("""{"query":"What is the capital of China?","texts":["Beijing.","Gravity.","Paris."]}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, reply.StatusCode);
        long Header(string name) => long.Parse(reply.Headers.GetValues(name).Single());
        Assert.True(Header("x-compute-tokens") > 3 * 20, "three prompts with the template");
        Assert.True(Header("x-tokenization-time") + Header("x-queue-time") + Header("x-inference-time") <= Header("x-total-time"));
    }
}
