using System.Text.Json;
using CsCheck;
using FuncRerank.Api.Endpoints;
using FuncRerank.Tests.TestSupport;
using Microsoft.AspNetCore.Http;
using Xunit.Abstractions;

namespace FuncRerank.Tests.Fuzz;

/// <summary>
/// Property-based fuzzing of the real handlers (rerank, score, tokenize) on a tiny checkpoint, called in-process as
/// the hosts call them: every body gets a 4xx with the error body, or a 200 whose reply is correct; never a 5xx.
/// </summary>
[Collection(LoadHeavyCollection.Name)]
public sealed class HandlerFuzzTests(ITestOutputHelper output)
{
    private static readonly Lazy<RerankHandlers> Handlers = new(() => InProcessHandlers.Create());

    [Fact]
    public void Any_body_to_any_endpoint_gets_a_4xx_or_a_correct_200_and_never_a_5xx()
    {
        var handlers = Handlers.Value;
        var counts = new int[3];
        var bodies = 0;
        var started = System.Diagnostics.Stopwatch.StartNew();
        FuzzBodies.Any.Sample(body =>
        {
            Interlocked.Increment(ref bodies);
            if (Check(handlers.Rerank, body, RerankReply) == 200)
                Interlocked.Increment(ref counts[0]);
            if (Check(handlers.Score, body, ScoreReply) == 200)
                Interlocked.Increment(ref counts[1]);
            if (Check(handlers.Tokenize, body, TokenizeReply) == 200)
                Interlocked.Increment(ref counts[2]);
        }, iter: FuzzBodies.Iterations(1_500), print: b => b.ToString());

        output.WriteLine($"handler fuzz: {bodies:N0} bodies x 3 endpoints in {started.Elapsed.TotalSeconds:F1} s; " +
                         $"200s: rerank {counts[0]:N0}, score {counts[1]:N0}, tokenize {counts[2]:N0}; every other reply a 4xx");
        // The generators must reach scoring, not only the error paths.
        Assert.All(counts, count => Assert.True(count > 0, $"200s per endpoint: {string.Join(", ", counts)}"));
    }

    /// <summary>Sends one body; returns the status after checking it and the reply against the request.</summary>
    private static int Check(Func<HttpContext, Task> endpoint, FuzzBody body, Action<JsonElement, JsonElement, FuzzBody> checkReply)
    {
        var reply = InProcessHandlers.Send(endpoint, body.Bytes).GetAwaiter().GetResult();
        Assert.True(reply.Status is 200 or (>= 400 and < 500), $"status {reply.Status}: {reply.Text}");
        using var document = JsonDocument.Parse(reply.Text);
        var root = document.RootElement;
        if (reply.Status != 200)
        {
            Assert.Equal(root.GetProperty("message").GetString(), root.GetProperty("detail").GetString());
            Assert.Equal(root.GetProperty("message").GetString(), root.GetProperty("error").GetProperty("message").GetString());
            Assert.False(string.IsNullOrWhiteSpace(root.GetProperty("error").GetProperty("code").GetString()));
            return reply.Status;
        }

        // A 200 means the body was JSON; read it independently of the contract for the numbers the reply must match.
        var bytes = body.Bytes.AsSpan().StartsWith("\uFEFF"u8) ? body.Bytes[3..] : body.Bytes;
        using var request = JsonDocument.Parse(bytes);
        checkReply(request.RootElement, root, body);
        return 200;
    }

    private static void RerankReply(JsonElement request, JsonElement reply, FuzzBody body)
    {
        var tei = !Present(request, "documents") && Present(request, "texts");
        var documents = request.GetProperty(tei ? "texts" : "documents").GetArrayLength();
        var raw = Flag(request, "raw_scores") == true || Flag(request, "use_activation") == false;
        var topN = tei ? null : TopN(request);
        var results = tei ? reply : reply.GetProperty("results");
        var expected = topN is { } n && n < documents ? n : documents;
        if (body.Valid is { } valid)
        {
            Assert.Equal((valid.Tei, valid.ExpectedResults, valid.RawScores), (tei, expected, raw));
            Assert.Equal(valid.Documents.Count, documents);
        }

        Assert.Equal(expected, results.GetArrayLength());
        var scoreName = tei ? "score" : "relevance_score";
        var ranked = results.EnumerateArray().Select(r => (Index: r.GetProperty("index").GetInt32(), Score: r.GetProperty(scoreName).GetDouble())).ToArray();
        Assert.Equal(ranked.Length, ranked.Select(r => r.Index).Distinct().Count());
        Assert.All(ranked, r => Assert.InRange(r.Index, 0, documents - 1));
        Assert.All(ranked, r => Assert.True(double.IsFinite(r.Score)));
        if (!raw)
            Assert.All(ranked, r => Assert.InRange(r.Score, 0, 1));
        for (var i = 1; i < ranked.Length; i++)
        {
            Assert.True(ranked[i - 1].Score >= ranked[i].Score, $"not sorted at {i}");
            if (raw && ranked[i - 1].Score == ranked[i].Score)
                Assert.True(ranked[i - 1].Index < ranked[i].Index, $"tie not broken by index at {i}");
        }

        if (body.Valid is { } shape)
        {
            foreach (var result in results.EnumerateArray())
            {
                var text = shape.Documents[result.GetProperty("index").GetInt32()];
                if (!shape.ReturnDocuments)
                    Assert.False(result.TryGetProperty(tei ? "text" : "document", out _));
                else if (tei)
                    Assert.Equal(text, result.GetProperty("text").GetString());
                else if (result.GetProperty("document").TryGetProperty("text", out var echoed))
                    Assert.Equal(text, echoed.GetString());
            }
        }

        if (!tei)
            Assert.True(reply.GetProperty("usage").GetProperty("prompt_tokens").GetInt64() >= 48L * documents);
    }

    private static void ScoreReply(JsonElement request, JsonElement reply, FuzzBody body)
    {
        var (queries, documents) = new[] { ("text_1", "text_2"), ("data_1", "data_2"), ("queries", "items"), ("queries", "documents") }
            .First(names => Present(request, names.Item1) && Present(request, names.Item2));
        var pairs = request.GetProperty(documents) is { ValueKind: JsonValueKind.Array } array ? array.GetArrayLength() : 1;
        var data = reply.GetProperty("data");
        Assert.Equal(pairs, data.GetArrayLength());
        Assert.Equal(Enumerable.Range(0, pairs), data.EnumerateArray().Select(d => d.GetProperty("index").GetInt32()));
        Assert.All(data.EnumerateArray(), d => Assert.True(double.IsFinite(d.GetProperty("score").GetDouble())));
        Assert.True(Present(request, queries));
    }

    private static void TokenizeReply(JsonElement request, JsonElement reply, FuzzBody body)
    {
        var inputs = request.GetProperty("inputs");
        Assert.Equal(inputs.ValueKind == JsonValueKind.Array ? inputs.GetArrayLength() : 1, reply.GetArrayLength());
    }

    private static bool Present(JsonElement obj, string name) => obj.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null;

    private static bool? Flag(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) ? value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.String when bool.TryParse(value.GetString(), out var parsed) => parsed,
            _ => null,
        } : null;

    /// <summary>top_n as the contract documents it: a positive whole number (number or numeric string) cuts, anything else means all.</summary>
    private static int? TopN(JsonElement request)
    {
        if (!request.TryGetProperty("top_n", out var value))
            return null;
        var n = value.ValueKind switch
        {
            JsonValueKind.Number => value.GetDouble(),
            JsonValueKind.String when int.TryParse(value.GetString(), out var parsed) => parsed,
            _ => 0,
        };
        return n > 0 ? (int)n : null;
    }
}
