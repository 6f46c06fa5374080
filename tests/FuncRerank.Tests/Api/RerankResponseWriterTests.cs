using System.Buffers;
using System.Text.Json;
using FuncRerank.Api.Contract;
using static FuncRerank.Tests.Api.ContractJson;

namespace FuncRerank.Tests.Api;

public sealed class RerankResponseWriterTests
{
    private const string Model = "Qwen3-Reranker-0.6B";
    private const string RequestId = "0f8fad5b-d9cb-469f-a165-70867728950e";

    /// <summary>Engine output for the given logits: probability as the engine computes it, prompt tokens 100 + index.</summary>
    private static PairScore[] Scores(params float[] logits) =>
        logits.Select((logit, i) => new PairScore(logit, Qwen3Reranker.Sigmoid(logit), 100 + i)).ToArray();

    private static RerankRequest Request(int documents, string extraFields = "", string field = "documents") =>
        Rerank($$"""{"query": "q", "{{field}}": [{{string.Join(", ", Enumerable.Range(0, documents).Select(i => $"\"doc {i}\""))}}]{{extraFields}}}""");

    private static JsonElement Respond(RerankRequest request, PairScore[] scores) =>
        Written(writer => RerankResponseWriter.Write(writer, request, scores, Model, RequestId));

    private static int[] Indices(JsonElement results) => results.EnumerateArray().Select(r => r.GetProperty("index").GetInt32()).ToArray();

    private static float Number(JsonElement value) => (float)value.GetDouble();

    [Fact]
    public void StandardResponseHasEveryFieldClientsRead()
    {
        var response = Respond(Request(3, ", \"top_n\": 1"), Scores(1f, 3f, 2f));

        Assert.Equal(["id", "model", "results", "usage", "meta"], response.EnumerateObject().Select(p => p.Name));
        Assert.Equal($"rerank-{RequestId}", response.GetProperty("id").GetString());
        Assert.Equal(Model, response.GetProperty("model").GetString());
        var result = Assert.Single(response.GetProperty("results").EnumerateArray());
        Assert.Equal(["index", "relevance_score", "document"], result.EnumerateObject().Select(p => p.Name));
        Assert.Equal(1, result.GetProperty("index").GetInt32());
        Assert.Equal("doc 1", result.GetProperty("document").GetProperty("text").GetString());

        // Usage counts every scored prompt, not only the returned ones: 100 + 101 + 102.
        const int tokens = 303;
        var usage = response.GetProperty("usage");
        Assert.Equal(tokens, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(0, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(tokens, usage.GetProperty("total_tokens").GetInt32());
        var meta = response.GetProperty("meta");
        Assert.Equal("2", meta.GetProperty("api_version").GetProperty("version").GetString());
        Assert.Equal(tokens, meta.GetProperty("billed_units").GetProperty("input_tokens").GetInt32());
        Assert.Equal(1, meta.GetProperty("billed_units").GetProperty("search_units").GetInt32());
        Assert.Equal(tokens, meta.GetProperty("tokens").GetProperty("input_tokens").GetInt32());
        Assert.Equal(0, meta.GetProperty("tokens").GetProperty("output_tokens").GetInt32());
    }

    [Fact]
    public void VoyageResponseHasVoyagesShapeWithTheDocumentAsText()
    {
        var response = Respond(Request(3, ", \"top_k\": 2, \"return_documents\": true"), Scores(1f, 3f, 2f));

        Assert.Equal(["object", "data", "model", "usage"], response.EnumerateObject().Select(p => p.Name));
        Assert.Equal("list", response.GetProperty("object").GetString());
        Assert.Equal(Model, response.GetProperty("model").GetString());
        Assert.Equal([1, 2], Indices(response.GetProperty("data")));
        var first = response.GetProperty("data")[0];
        Assert.Equal(["index", "relevance_score", "document"], first.EnumerateObject().Select(p => p.Name));
        Assert.Equal("doc 1", first.GetProperty("document").GetString());
        Assert.Equal(Qwen3Reranker.Sigmoid(3f), Number(first.GetProperty("relevance_score")));
        Assert.Equal(["total_tokens"], response.GetProperty("usage").EnumerateObject().Select(p => p.Name));
        Assert.Equal(303, response.GetProperty("usage").GetProperty("total_tokens").GetInt32());
    }

    [Theory]
    [InlineData(", \"top_n\": 0", 4)]
    [InlineData(", \"top_n\": -3", 4)]
    [InlineData(", \"top_n\": null", 4)]
    [InlineData("", 4)]
    [InlineData(", \"top_n\": 9", 4)]
    [InlineData(", \"top_n\": 2", 2)]
    [InlineData(", \"top_k\": 0", 4)]
    [InlineData(", \"top_k\": 3", 3)]
    public void Top_n_of_zero_or_below_or_absent_returns_every_result_otherwise_min_of_top_n_and_n(string topN, int expected)
    {
        var response = Respond(Request(4, topN), Scores(1f, 3f, 2f, 0f));

        var results = response.TryGetProperty("results", out var standard) ? standard : response.GetProperty("data");
        Assert.Equal(expected, results.GetArrayLength());
        Assert.Equal(expected, Indices(results).Distinct().Count());
    }

    [Fact]
    public void ResultsAreSortedByScoreWithTiesByIndex()
    {
        float[] logits = [0.5f, 2f, -1f, 2f, 0.5f, -7.25f, 2f];
        var results = Respond(Request(logits.Length), Scores(logits)).GetProperty("results");

        Assert.Equal([1, 3, 6, 0, 4, 2, 5], Indices(results));
        var scores = results.EnumerateArray().Select(r => Number(r.GetProperty("relevance_score"))).ToArray();
        Assert.Equal(scores.OrderByDescending(s => s), scores);
        Assert.All(results.EnumerateArray(), r =>
            Assert.Equal(Qwen3Reranker.Sigmoid(logits[r.GetProperty("index").GetInt32()]), Number(r.GetProperty("relevance_score"))));
    }

    [Fact]
    public void NearCertainDocumentsKeepTheModelsOrder()
    {
        // All three probabilities round to 1 in float; the logits still rank them.
        var results = Respond(Request(3), Scores(20f, 30f, 25f)).GetProperty("results");
        Assert.Equal([1, 2, 0], Indices(results));
        Assert.All(results.EnumerateArray(), r => Assert.Equal(1f, Number(r.GetProperty("relevance_score"))));
    }

    [Theory]
    [InlineData("", 5)]
    [InlineData(", \"top_n\": null", 5)]
    [InlineData(", \"top_n\": 0", 5)]
    [InlineData(", \"top_n\": -3", 5)]
    [InlineData(", \"top_n\": 1", 1)]
    [InlineData(", \"top_n\": 2", 2)]
    [InlineData(", \"top_n\": 4", 4)]
    [InlineData(", \"top_n\": 5", 5)]
    [InlineData(", \"top_n\": 6", 5)]
    [InlineData(", \"top_n\": 1000", 5)]
    public void ExactlyMinOfTopNAndDocumentsResults(string topN, int count)
    {
        float[] logits = [0.1f, -2f, 3f, 0.1f, 1.5f];
        var all = Indices(Respond(Request(5), Scores(logits)).GetProperty("results"));
        var cut = Indices(Respond(Request(5, topN), Scores(logits)).GetProperty("results"));

        Assert.Equal(count, cut.Length);
        Assert.Equal(cut.Length, cut.Distinct().Count());
        Assert.Equal(all[..count], cut);
    }

    [Theory]
    [InlineData(", \"return_documents\": false")]
    [InlineData(", \"return_documents\": \"false\"")]
    public void DocumentIsLeftOutNotNullWhenNotAsked(string field)
    {
        var results = Respond(Request(3, field), Scores(1f, 2f, 3f)).GetProperty("results");
        Assert.Equal(3, results.GetArrayLength());
        Assert.All(results.EnumerateArray(), r =>
        {
            Assert.False(r.TryGetProperty("document", out _));
            Assert.Equal(["index", "relevance_score"], r.EnumerateObject().Select(p => p.Name));
        });
    }

    [Fact]
    public void ObjectDocumentsComeBackAsSent()
    {
        var request = Rerank("""
            {"query": "q", "documents": [
              "plain",
              {"text": "jina", "id": 7, "nested": {"k": [1, null]}},
              {"content": [{"type": "text", "text": "vllm"}]}]}
            """);
        var documents = Respond(request, Scores(3f, 2f, 1f)).GetProperty("results").EnumerateArray()
            .Select(r => r.GetProperty("document")).ToArray();

        Assert.True(JsonElement.DeepEquals(Parse("""{"text": "plain"}"""), documents[0]));
        Assert.True(JsonElement.DeepEquals(Parse("""{"text": "jina", "id": 7, "nested": {"k": [1, null]}}"""), documents[1]));
        Assert.True(JsonElement.DeepEquals(Parse("""{"content": [{"type": "text", "text": "vllm"}]}"""), documents[2]));
    }

    [Fact]
    public void RankFieldDocumentsComeBackWholeNotAsTheRankedText()
    {
        var request = Rerank("""{"query": "q", "rank_fields": ["title"], "documents": [{"title": "T", "url": "u"}]}""");
        var document = Respond(request, Scores(0f)).GetProperty("results")[0].GetProperty("document");
        Assert.Equal("T", document.GetProperty("title").GetString());
        Assert.Equal("u", document.GetProperty("url").GetString());
        Assert.False(document.TryGetProperty("text", out _));
    }

    [Theory]
    [InlineData(", \"raw_scores\": true")]
    [InlineData(", \"use_activation\": false")]
    public void RawScoresAreTheLogits(string field)
    {
        float[] logits = [-3.75f, 12.5f, 0.1f];
        var results = Respond(Request(3, field), Scores(logits)).GetProperty("results");
        Assert.Equal([1, 2, 0], Indices(results));
        Assert.Equal([12.5f, 0.1f, -3.75f], results.EnumerateArray().Select(r => Number(r.GetProperty("relevance_score"))));
    }

    [Fact]
    public void ProbabilitiesAreInTheUnitIntervalAndRoundTrip()
    {
        float[] logits = [-80f, -10f, -0.3f, 0f, 1f / 3, 4f, 16f, 80f];
        var results = Respond(Request(logits.Length), Scores(logits)).GetProperty("results");
        Assert.All(results.EnumerateArray(), r =>
        {
            var score = Number(r.GetProperty("relevance_score"));
            Assert.InRange(score, 0f, 1f);
            Assert.Equal(Qwen3Reranker.Sigmoid(logits[r.GetProperty("index").GetInt32()]), score);
        });
    }

    public static TheoryData<float, int> NonFinite => new()
    {
        { float.NaN, 0 },
        { float.PositiveInfinity, 2 },
        { float.NegativeInfinity, 1 },
    };

    [Theory]
    [MemberData(nameof(NonFinite))]
    public void ANonFiniteLogitIsA500AndWritesNothing(float logit, int at)
    {
        foreach (var body in new[] { "", ", \"top_n\": 1", ", \"raw_scores\": true" })
        {
            float[] logits = [1f, 2f, 3f];
            logits[at] = logit;
            var buffer = new ArrayBufferWriter<byte>();
            using var writer = new Utf8JsonWriter(buffer);

            var error = Fails(() => RerankResponseWriter.Write(writer, Request(3, body), Scores(logits), Model, RequestId));
            writer.Flush();

            Assert.Equal((500, ApiErrorCodes.InternalError, ApiErrorTypes.Server), (error.Status, error.Code, error.Type));
            Assert.Contains($"input {at}", error.Message, StringComparison.Ordinal);
            Assert.Equal(0, buffer.WrittenCount);
        }
    }

    [Fact]
    public void ScoresMustMatchTheDocuments()
    {
        var writer = new Utf8JsonWriter(new ArrayBufferWriter<byte>());
        Assert.Throws<ArgumentException>(() => RerankResponseWriter.Write(writer, Request(3), Scores(1f, 2f), Model, RequestId));
    }

    [Fact]
    public void TeiIsABareArrayOfEveryText()
    {
        var response = Respond(Request(4, field: "texts"), Scores(0f, 2f, -1f, 2f));

        Assert.Equal(JsonValueKind.Array, response.ValueKind);
        Assert.Equal([1, 3, 0, 2], Indices(response));
        Assert.All(response.EnumerateArray(), r => Assert.Equal(["index", "score"], r.EnumerateObject().Select(p => p.Name)));
        Assert.Equal(Qwen3Reranker.Sigmoid(2f), Number(response[0].GetProperty("score")));
    }

    [Fact]
    public void TeiReturnsTextOnlyWhenAskedAndRawScoresWhenAsked()
    {
        var response = Respond(Request(2, ", \"return_text\": true, \"raw_scores\": true", "texts"), Scores(-0.5f, 0.25f));
        Assert.Equal(["index", "score", "text"], response[0].EnumerateObject().Select(p => p.Name));
        Assert.Equal("doc 1", response[0].GetProperty("text").GetString());
        Assert.Equal([0.25f, -0.5f], response.EnumerateArray().Select(r => Number(r.GetProperty("score"))));
    }

    [Theory]
    [MemberData(nameof(RerankRequestParserTests.HostileTexts), MemberType = typeof(RerankRequestParserTests))]
    public void HostileTextIsEchoedUnchanged(string text)
    {
        var body = JsonSerializer.Serialize(new { query = "q", documents = new object[] { text, new { text, id = 1 } } });
        var results = Respond(Rerank(body), Scores(1f, 0f)).GetProperty("results");
        Assert.Equal(text, results[0].GetProperty("document").GetProperty("text").GetString());
        Assert.Equal(text, results[1].GetProperty("document").GetProperty("text").GetString());

        var tei = Respond(Rerank(JsonSerializer.Serialize(new { query = "q", texts = new[] { text }, return_text = true })), Scores(0f));
        Assert.Equal(text, tei[0].GetProperty("text").GetString());
    }
}
