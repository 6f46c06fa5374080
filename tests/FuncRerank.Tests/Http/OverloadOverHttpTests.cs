using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using FuncRerank.Inference;
using FuncRerank.Tests.TestSupport;

namespace FuncRerank.Tests.Http;

/// <summary>
/// Overload and disconnects over real sockets, through the standalone host's pipeline with its limits read from
/// configuration: the model's batches are held by a scripted scorer until the test releases them, so the queue fills,
/// deadlines pass and clients leave when the test says, on a fast machine or a loaded one (<see cref="QueueHandlerTests"/> does the same in process).
/// </summary>
[Collection(LoadHeavyCollection.Name)]
public class OverloadOverHttpTests
{
    private static readonly TimeSpan Patience = Poll.Patience;

    private static StringContent Rerank(params string[] documents) =>
        new(new JsonObject
        {
            ["query"] = "What is the capital of China?",
            ["documents"] = new JsonArray(documents.Select(d => (JsonNode)JsonValue.Create(d)).ToArray()),
        }.ToJsonString(), Encoding.UTF8, "application/json");

    private static async Task<JsonNode> Queue(ScriptedServer server)
    {
        using var health = await server.Client.GetAsync("health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        return JsonNode.Parse(await health.Content.ReadAsStringAsync())!["queue"]!;
    }

    private static async Task AssertQueueIsEmpty(ScriptedServer server)
    {
        var queue = await Queue(server);
        Assert.Equal(0, queue["requests"]!.GetValue<int>());
        Assert.Equal(0, queue["pairs"]!.GetValue<int>());
        Assert.Equal(0, queue["tokens"]!.GetValue<long>());
        Assert.Equal(0, queue["tokenizing"]!.GetValue<int>());
        Assert.Equal(0, queue["reserved_tokens"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_full_queue_answers_429_with_Retry_After_and_what_waited_is_served_once_the_model_is_free()
    {
        // One request may wait (one larger than the bound is taken when nothing waits); no deadline.
        await using var server = await ScriptedServer.StartAsync(new BatchSchedulerOptions { MaxQueuedTokens = 1 },
            new Dictionary<string, string?> { ["RequestTimeoutSeconds"] = "0" });
        server.Scorer.Hold();
        var running = server.Client.PostAsync("v1/rerank", Rerank("Beijing is the capital.", "Gravity pulls."));
        await Task.Run(server.Scorer.WaitForBatch);
        var waiting = server.Client.PostAsync("v1/rerank", Rerank("Paris is in France.", "Beijing.", "Rain falls."));
        await Poll.UntilAsync(async () => (await Queue(server))["pairs"]!.GetValue<int>() == 3, "the second request waiting in the queue");

        using var refused = await server.Client.PostAsync("v1/rerank", Rerank("Refused document."));

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.InRange(refused.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        var error = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!;
        Assert.Equal("too_many_requests", error["error"]!["code"]!.GetValue<string>());
        Assert.Equal(error["message"]!.GetValue<string>(), error["detail"]!.GetValue<string>());

        server.Scorer.Release();
        using var first = await running.WaitAsync(Patience);
        using var second = await waiting.WaitAsync(Patience);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(2, JsonNode.Parse(await first.Content.ReadAsStringAsync())!["results"]!.AsArray().Count);
        Assert.Equal(3, JsonNode.Parse(await second.Content.ReadAsStringAsync())!["results"]!.AsArray().Count);
        await AssertQueueIsEmpty(server);
        // The refused request's pair never reached the model: only the 2 + 3 accepted pairs were scored.
        Assert.Equal(5, server.Scorer.Batches.Sum(b => b.Length));
    }

    [Fact]
    public async Task Tokens_reserved_by_a_request_being_tokenized_count_against_the_queue_and_health_shows_them()
    {
        await using var server = await ScriptedServer.StartAsync(new BatchSchedulerOptions { MaxQueuedTokens = 2000 },
            new Dictionary<string, string?> { ["RequestTimeoutSeconds"] = "0" });
        // Stands in for a request halfway through building its prompts: the tokens it has built so far are reserved.
        var tokenizing = server.Reranker.ReserveQueue();
        tokenizing.Add(1500);
        var queue = await Queue(server);
        Assert.Equal((0, 0L, 1, 1500L), (queue["pairs"]!.GetValue<int>(), queue["tokens"]!.GetValue<long>(),
            queue["tokenizing"]!.GetValue<int>(), queue["reserved_tokens"]!.GetValue<long>()));
        var twenty = Enumerable.Range(0, 20).Select(i => $"Document {i} is about Beijing.").ToArray();

        using (var refused = await server.Client.PostAsync("v1/rerank", Rerank(twenty)))
        {
            // Twenty templates alone (20 × 48 tokens) do not fit beside it: refused before any document is tokenized.
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.InRange(refused.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
            var message = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["error"]!["message"]!.GetValue<string>();
            Assert.Contains($"1500 prompt tokens are waiting or being tokenized and this request adds at least {20 * server.Reranker.Prompt.TemplateTokens},",
                message, StringComparison.Ordinal);
        }

        using (var small = await server.Client.PostAsync("v1/rerank", Rerank("Beijing is the capital.", "Gravity pulls.")))
            Assert.Equal(HttpStatusCode.OK, small.StatusCode);
        var tooLong = new JsonObject
        {
            ["query"] = "q",
            ["documents"] = new JsonArray(string.Join(' ', Enumerable.Range(0, 5000).Select(j => $"word{j}"))),
            ["truncate"] = false,
        }.ToJsonString();
        using (var refusedTooLong = await server.Client.PostAsync("v1/rerank", new StringContent(tooLong, Encoding.UTF8, "application/json")))
            Assert.Equal(HttpStatusCode.BadRequest, refusedTooLong.StatusCode);
        // Neither the scored request nor the refused ones left anything behind: only the stand-in's reservation.
        queue = await Queue(server);
        Assert.Equal((0, 0L, 1, 1500L), (queue["pairs"]!.GetValue<int>(), queue["tokens"]!.GetValue<long>(),
            queue["tokenizing"]!.GetValue<int>(), queue["reserved_tokens"]!.GetValue<long>()));

        tokenizing.Dispose();
        await AssertQueueIsEmpty(server);
        using (var accepted = await server.Client.PostAsync("v1/rerank", Rerank(twenty)))
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        await AssertQueueIsEmpty(server);
        Assert.Equal(2 + 20, server.Scorer.Batches.Sum(b => b.Length));
    }

    [Fact]
    public async Task Requests_past_their_deadline_answer_504_and_their_pairs_leave_the_queue()
    {
        await using var server = await ScriptedServer.StartAsync(new BatchSchedulerOptions(),
            new Dictionary<string, string?> { ["RequestTimeoutSeconds"] = "1" });
        server.Scorer.Hold();
        // The first request's batch is held past its deadline; the second waits behind it past its own. Whether a
        // deadline passes during tokenization, in the queue or in the held batch, the reply is the same 504.
        var running = server.Client.PostAsync("v1/rerank", Rerank("Beijing is the capital.", "Gravity pulls."));
        var waiting = server.Client.PostAsync("v1/rerank", Rerank("Paris is in France.", "Beijing.", "Rain falls."));

        foreach (var request in new[] { running, waiting })
        {
            using var late = await request.WaitAsync(Patience);
            Assert.Equal(HttpStatusCode.GatewayTimeout, late.StatusCode);
            var error = JsonNode.Parse(await late.Content.ReadAsStringAsync())!;
            Assert.Equal("deadline_exceeded", error["error"]!["code"]!.GetValue<string>());
            Assert.Contains("1 s", error["message"]!.GetValue<string>());
            Assert.Equal(error["message"]!.GetValue<string>(), error["detail"]!.GetValue<string>());
        }

        // Nobody waits for the held batch any more: it was cancelled (on a machine slow enough for a deadline to pass
        // during tokenization, no batch ever started), and nothing is left queued.
        if (server.Scorer.Batches.Count > 0)
            await Poll.UntilAsync(() => server.Scorer.SawCancellation, "the held batch's cancellation");
        await AssertQueueIsEmpty(server);
    }

    [Fact]
    public async Task A_client_that_disconnects_mid_request_leaves_the_queue_and_its_pairs_never_reach_the_model()
    {
        await using var server = await ScriptedServer.StartAsync(new BatchSchedulerOptions(), new Dictionary<string, string?> { ["RequestTimeoutSeconds"] = "0" });
        server.Scorer.Hold();
        var running = server.Client.PostAsync("v1/rerank", Rerank("Beijing is the capital.", "Gravity pulls."));
        await Task.Run(server.Scorer.WaitForBatch);
        var body = Encoding.UTF8.GetBytes("""{"query":"q","documents":["gone document one","gone document two","gone document three"]}""");
        using (var socket = new System.Net.Sockets.TcpClient())
        {
            await socket.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port);
            var head = $"POST /v1/rerank HTTP/1.1\r\nHost: {server.BaseAddress.Authority}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n";
            await socket.GetStream().WriteAsync(Encoding.ASCII.GetBytes(head).Concat(body).ToArray());
            await Poll.UntilAsync(async () => (await Queue(server))["pairs"]!.GetValue<int>() == 3, "the request waiting in the queue");
        }

        // The connection closed with no reply read: the server notices and takes its pairs out of the queue.
        await Poll.UntilAsync(async () => (await Queue(server))["pairs"]!.GetValue<int>() == 0, "the gone client's pairs leaving the queue");
        await AssertQueueIsEmpty(server);
        server.Scorer.Release();
        using var first = await running.WaitAsync(Patience);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(2, server.Scorer.Batches.Sum(b => b.Length));
    }

    [Fact]
    public async Task Replies_carry_the_timing_headers_over_the_wire()
    {
        await using var server = await ScriptedServer.StartAsync(new BatchSchedulerOptions(), new Dictionary<string, string?>());

        using var reply = await server.Client.PostAsync("rerank",
            new StringContent("""{"query":"What is the capital of China?","texts":["Beijing.","Gravity.","Paris."]}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, reply.StatusCode);
        long Header(string name) => long.Parse(reply.Headers.GetValues(name).Single());
        Assert.True(Header("x-compute-tokens") > 3 * 20, "three prompts with the template");
        Assert.True(Header("x-tokenization-time") + Header("x-queue-time") + Header("x-inference-time") <= Header("x-total-time"));
    }
}
