using System.Text;
using System.Text.Json.Nodes;
using FuncRerank.Api.Endpoints;
using FuncRerank.Api.Hosting;
using FuncRerank.Api.Security;
using FuncRerank.Inference;
using FuncRerank.Model;
using FuncRerank.Tests.Inference;
using FuncRerank.Tests.Model;
using FuncRerank.Tests.TestSupport;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FuncRerank.Tests.Http;

/// <summary>
/// The handlers in front of the shared queue, called in process on a real model whose batches a scripted scorer can
/// hold or fail, so overload, deadlines, disconnects and batch failures happen exactly when the test says.
/// </summary>
public sealed class QueueHandlerTests : IDisposable
{
    private const string Checkpoint = ScriptedReranker.Checkpoint;
    private const string Body = """{"query":"What is the capital of China?","documents":["The capital of China is Beijing.","Gravity pulls."]}""";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly ScriptedScorer _scorer = new(BuiltModels.Scorer(Checkpoint, ModelPrecision.Float32));
    private readonly RerankerState _state = new();
    private Qwen3Reranker? _reranker;

    public void Dispose() => _reranker?.Dispose();

    private Qwen3Reranker Reranker(long maxQueuedTokens = BatchSchedulerOptions.DefaultMaxQueuedTokens)
    {
        _reranker = ScriptedReranker.Create(_scorer, new BatchSchedulerOptions { MaxQueuedTokens = maxQueuedTokens });
        _state.SetReady(_reranker);
        return _reranker;
    }

    private RerankHandlers Handlers(double requestTimeoutSeconds = 0) =>
        new(_state, new ApiKeyAuthenticator([]), Options.Create(new RerankerSettings { ModelPath = Checkpoint, RequestTimeoutSeconds = requestTimeoutSeconds }),
            NullLogger<RerankHandlers>.Instance);

    private static (HttpContext Context, MemoryStream Response) Request(string path, string body, CancellationToken aborted = default)
    {
        var context = new DefaultHttpContext { RequestAborted = aborted };
        context.Request.Method = "POST";
        context.Request.Path = "/" + path;
        context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(body));
        var response = new MemoryStream();
        context.Response.Body = response;
        return (context, response);
    }

    private static JsonNode Reply(MemoryStream response) => JsonNode.Parse(Encoding.UTF8.GetString(response.ToArray()))!;

    /// <summary>Starts a rerank whose batch the scorer holds until <see cref="ScriptedScorer.Release"/>.</summary>
    private async Task<(Task Handled, HttpContext Context, MemoryStream Response)> Occupy(RerankHandlers handlers)
    {
        _scorer.Hold();
        var (context, response) = Request("v1/rerank", Body);
        var handled = handlers.Rerank(context);
        await Task.Run(_scorer.WaitForBatch);
        return (handled, context, response);
    }

    [Fact]
    public async Task A_full_queue_answers_429_with_Retry_After_and_the_queued_requests_are_still_served()
    {
        var reranker = Reranker(maxQueuedTokens: 1);
        var handlers = Handlers();
        var (running, runningContext, _) = await Occupy(handlers);
        // Nothing waits yet, so this one gets in although it is over the bound on its own.
        var (queuedContext, _) = Request("v1/rerank", Body);
        var queued = handlers.Rerank(queuedContext);
        await Poll.UntilAsync(() => reranker.Queue.Pairs == 2, "the second request waiting in the queue");

        var (refusedContext, refusedResponse) = Request("v1/rerank", Body);
        await handlers.Rerank(refusedContext);

        Assert.Equal(StatusCodes.Status429TooManyRequests, refusedContext.Response.StatusCode);
        Assert.InRange(int.Parse(refusedContext.Response.Headers.RetryAfter.ToString()), 1, 60);
        var error = Reply(refusedResponse)["error"]!;
        Assert.Equal("too_many_requests", error["code"]!.GetValue<string>());
        Assert.Equal("rate_limit_error", error["type"]!.GetValue<string>());
        Assert.Contains("limit of 1", error["message"]!.GetValue<string>());
        _scorer.Release();
        await Task.WhenAll(running, queued).WaitAsync(Patience);
        Assert.Equal(StatusCodes.Status200OK, runningContext.Response.StatusCode);
        Assert.Equal(StatusCodes.Status200OK, queuedContext.Response.StatusCode);
    }

    [Fact]
    public async Task A_deadline_passed_while_queued_answers_504_and_its_pairs_never_reach_the_model()
    {
        var reranker = Reranker();
        var (running, runningContext, _) = await Occupy(Handlers());
        const string lateBody = """{"query":"q","documents":["late document one","late document two"]}""";
        var (context, response) = Request("v1/rerank", lateBody);

        await Handlers(requestTimeoutSeconds: 0.2).Rerank(context).WaitAsync(Patience);

        Assert.Equal(StatusCodes.Status504GatewayTimeout, context.Response.StatusCode);
        var error = Reply(response)["error"]!;
        Assert.Equal("deadline_exceeded", error["code"]!.GetValue<string>());
        Assert.Contains("0.2 s", error["message"]!.GetValue<string>());
        Assert.Equal(new QueueStatus(0, 0, 0), reranker.Queue);
        _scorer.Release();
        await running.WaitAsync(Patience);
        Assert.Equal(StatusCodes.Status200OK, runningContext.Response.StatusCode);
        // Only the held request's own batch ever ran.
        Assert.Single(_scorer.Batches);
    }

    [Fact]
    public async Task A_deadline_passed_in_the_running_batch_answers_504_stops_the_batch_and_the_next_request_is_served()
    {
        var reranker = Reranker();
        _scorer.Hold();
        var (context, response) = Request("v1/rerank", Body);

        await Handlers(requestTimeoutSeconds: 0.2).Rerank(context).WaitAsync(Patience);

        Assert.Equal(StatusCodes.Status504GatewayTimeout, context.Response.StatusCode);
        Assert.Equal("deadline_exceeded", Reply(response)["error"]!["code"]!.GetValue<string>());
        // Nobody waited for the held batch any more, so it was cancelled.
        await Poll.UntilAsync(() => _scorer.SawCancellation, "the held batch's cancellation");
        _scorer.Release();
        var (next, nextResponse) = Request("v1/rerank", Body);
        await Handlers().Rerank(next).WaitAsync(Patience);
        Assert.Equal(StatusCodes.Status200OK, next.Response.StatusCode);
        Assert.Equal(2, Reply(nextResponse)["results"]!.AsArray().Count);
        Assert.Equal(new QueueStatus(0, 0, 0), reranker.Queue);
    }

    [Fact]
    public async Task A_client_that_disconnects_gets_nothing_and_its_pairs_leave_the_queue()
    {
        var reranker = Reranker();
        var (running, _, _) = await Occupy(Handlers());
        using var aborted = new CancellationTokenSource();
        const string goneBody = """{"query":"q","documents":["gone document one","gone document two","gone document three"]}""";
        var (context, response) = Request("v1/rerank", goneBody, aborted.Token);
        var handled = Handlers().Rerank(context);
        await Poll.UntilAsync(() => reranker.Queue.Pairs == 3, "the request waiting in the queue");

        aborted.Cancel();
        await handled.WaitAsync(Patience);

        Assert.Equal(0, response.Length);
        Assert.Equal(new QueueStatus(0, 0, 0), reranker.Queue);
        _scorer.Release();
        await running.WaitAsync(Patience);
        Assert.Single(_scorer.Batches);
    }

    [Fact]
    public async Task An_exception_inside_a_batch_is_a_500_that_tells_nothing_of_it_and_the_next_request_works()
    {
        Reranker();
        var handlers = Handlers();
        var failures = 1;
        _scorer.FailWhen = _ => Interlocked.Exchange(ref failures, 0) == 1;
        var (context, response) = Request("v1/rerank", Body);

        await handlers.Rerank(context).WaitAsync(Patience);

        Assert.Equal(StatusCodes.Status500InternalServerError, context.Response.StatusCode);
        var text = Encoding.UTF8.GetString(response.ToArray());
        Assert.Equal("internal_error", JsonNode.Parse(text)!["error"]!["code"]!.GetValue<string>());
        Assert.DoesNotContain("injected", text);
        Assert.DoesNotContain("secret", text);
        Assert.DoesNotContain("batch", text);
        var (next, nextResponse) = Request("v1/rerank", Body);
        await handlers.Rerank(next).WaitAsync(Patience);
        Assert.Equal(StatusCodes.Status200OK, next.Response.StatusCode);
        Assert.Equal(2, Reply(nextResponse)["results"]!.AsArray().Count);
    }

    [Theory]
    [InlineData("v1/rerank", Body)]
    [InlineData("rerank", """{"query":"What is the capital of China?","texts":["The capital of China is Beijing.","Gravity pulls."]}""")]
    [InlineData("score", """{"text_1":"What is the capital of China?","text_2":["The capital of China is Beijing.","Gravity pulls."]}""")]
    public async Task Scoring_replies_carry_TEIs_timing_headers(string path, string body)
    {
        var reranker = Reranker();
        var handlers = Handlers();
        var (context, response) = Request(path, body);

        await (path == "score" ? handlers.Score(context) : handlers.Rerank(context)).WaitAsync(Patience);

        Assert.Equal(StatusCodes.Status200OK, context.Response.StatusCode);
        var headers = context.Response.Headers;
        long Header(string name) => long.Parse(headers[name].ToString());
        var expectedTokens = new[] { "The capital of China is Beijing.", "Gravity pulls." }
            .Sum(d => reranker.Prompt.Build("What is the capital of China?", d, null).Length);
        Assert.Equal(expectedTokens, Header("x-compute-tokens"));
        // TEI's reply is a bare array; the others count the same tokens in usage.
        if (Reply(response) is JsonObject reply)
            Assert.Equal(expectedTokens, reply["usage"]!["prompt_tokens"]!.GetValue<long>());
        Assert.True(Header("x-tokenization-time") >= 0 && Header("x-queue-time") >= 0 && Header("x-inference-time") >= 0);
        Assert.True(Header("x-tokenization-time") + Header("x-queue-time") + Header("x-inference-time") <= Header("x-total-time"));
    }

    [Fact]
    public async Task The_openapi_document_names_the_queues_replies_and_the_timing_headers()
    {
        var (context, response) = Request("openapi.json", "");
        context.Request.Method = "GET";

        await Handlers().OpenApi(context);

        var document = Reply(response);
        foreach (var path in new[] { "/v1/rerank", "/score" })
        {
            var responses = document["paths"]![path]!["post"]!["responses"]!;
            foreach (var status in new[] { "429", "500", "504" })
                Assert.NotNull(responses[status]);
            var headers = responses["200"]!["headers"]!.AsObject().Select(h => h.Key);
            Assert.Equal(["x-compute-tokens", "x-total-time", "x-tokenization-time", "x-queue-time", "x-inference-time"], headers);
        }

        Assert.NotNull(document["components"]!["responses"]!["QueueFull"]!["headers"]!["Retry-After"]);
    }
}
