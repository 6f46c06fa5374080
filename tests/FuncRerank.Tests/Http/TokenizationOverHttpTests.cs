using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using FuncRerank.Launcher;
using FuncRerank.Tests.TestSupport;
using FuncRerank.Tests.Tokenization;

namespace FuncRerank.Tests.Http;

/// <summary>
/// Huge documents over real sockets: the request's deadline and the client's hang-up reach the tokenizer, and
/// <c>/health</c> answers while a huge document is being tokenized. Each is judged against the time the same document
/// takes to tokenize in this test process, so the shared machine's load cancels out.
/// </summary>
[Collection(LoadHeavyCollection.Name)] // judged by times measured beside them: run alone
public sealed class TokenizationOverHttpTests
{
    private const int DocumentChars = 3_000_000;

    private static readonly Lazy<(string Document, TimeSpan TokenizeTime)> Huge = new(() =>
    {
        string document = TokenizationCancellationTests.LongText("cjk", DocumentChars);
        var watch = Stopwatch.StartNew();
        RepoFiles.Tokenizer.EncodeToIds(document);
        return (document, watch.Elapsed);
    });

    private static Task<StandaloneServer> Serve(double requestTimeoutSeconds) => StandaloneServer.StartAsync(new Dictionary<string, string?>
    {
        ["Reranker__RequestTimeoutSeconds"] = requestTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
    }, waitUntilReady: true, "--model", RepoFiles.Checkpoint(ServedModelFixture.Checkpoint), "--max-length", "512",
        "--cache", RepoFiles.NewTemporaryDirectory());

    private static StringContent Rerank(string document) => new(
        new JsonObject { ["query"] = "q", ["documents"] = new JsonArray(JsonValue.Create(document)) }.ToJsonString(),
        Encoding.UTF8, "application/json");

    [Fact]
    public async Task A_deadline_during_tokenization_answers_504_at_the_deadline_and_health_answers_meanwhile()
    {
        var (document, tokenizeTime) = Huge.Value;
        const double deadline = 1;
        using var server = await Serve(deadline);

        var watch = Stopwatch.StartNew();
        var big = server.Client.PostAsync("v1/rerank", Rerank(document));
        TimeSpan? healthAnswered = null;
        while (!big.IsCompleted && healthAnswered is null)
        {
            using var health = await server.Client.GetAsync("health");
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            healthAnswered = watch.Elapsed;
        }

        using var response = await big;
        var answered = watch.Elapsed;
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.NotNull(healthAnswered);
        Assert.True(healthAnswered < answered, $"/health answered at {healthAnswered}, after the big request ({answered})");
        // Before, the 504 came after the whole tokenization (3M characters: several seconds).
        Assert.True(answered < TimeSpan.FromSeconds(deadline) + tokenizeTime / 2,
            $"504 after {answered.TotalMilliseconds:F0} ms; deadline {deadline} s, the tokenization alone takes {tokenizeTime.TotalMilliseconds:F0} ms here");
    }

    [Fact]
    public async Task A_client_that_hangs_up_stops_the_tokenization()
    {
        var (document, tokenizeTime) = Huge.Value;
        using var server = await Serve(600);

        using var hangUp = new CancellationTokenSource();
        var cpuBefore = server.CpuTime;
        var big = server.Client.PostAsync("v1/rerank", Rerank(document), hangUp.Token);
        // Wait until the server is busy with it (its CPU time grows), then hang up.
        var patience = Stopwatch.StartNew();
        while (server.CpuTime - cpuBefore < TimeSpan.FromMilliseconds(300))
        {
            Assert.True(patience.Elapsed < TimeSpan.FromSeconds(60), "the server never started on the request");
            await Task.Delay(20);
        }

        hangUp.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => big);
        var hungUp = Stopwatch.StartNew();

        // Idle = a 200 ms window in which the server used under 20 % of a core.
        TimeSpan? idleAfter = null;
        while (idleAfter is null && hungUp.Elapsed < tokenizeTime * 2 + TimeSpan.FromSeconds(5))
        {
            var start = server.CpuTime;
            var window = Stopwatch.StartNew();
            await Task.Delay(200);
            if ((server.CpuTime - start) < window.Elapsed * 0.2)
                idleAfter = hungUp.Elapsed - window.Elapsed;
        }

        Assert.NotNull(idleAfter);
        Assert.True(idleAfter < tokenizeTime / 2,
            $"the server was busy for {idleAfter!.Value.TotalMilliseconds:F0} ms after the hang-up; the tokenization alone takes {tokenizeTime.TotalMilliseconds:F0} ms here");
        using var health = await server.Client.GetAsync("health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }
}
