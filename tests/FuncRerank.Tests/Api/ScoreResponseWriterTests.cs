using System.Buffers;
using System.Text.Json;
using FuncRerank.Api.Contract;
using static FuncRerank.Tests.Api.ContractJson;

namespace FuncRerank.Tests.Api;

public sealed class ScoreResponseWriterTests
{
    private static readonly DateTimeOffset Created = DateTimeOffset.FromUnixTimeSeconds(1_767_225_600);

    private static ScoreRequest Request(string extraFields = "") =>
        ScoreRequestParser.Parse(Parse($$"""{"text_1": "q", "text_2": ["a", "b", "c"]{{extraFields}}}"""), RerankLimits.Default);

    private static PairScore[] Scores(params float[] logits) =>
        logits.Select((logit, i) => new PairScore(logit, Qwen3Reranker.Sigmoid(logit), 50 + i)).ToArray();

    private static JsonElement Respond(ScoreRequest request, PairScore[] scores) =>
        Written(writer => ScoreResponseWriter.Write(writer, request, scores, "served", "id1", Created));

    [Fact]
    public void DataIsInInputOrderWithVllmFields()
    {
        float[] logits = [-1f, 3f, 0.5f];
        var response = Respond(Request(), Scores(logits));

        Assert.Equal(["id", "object", "created", "model", "data", "usage"], response.EnumerateObject().Select(p => p.Name));
        Assert.Equal("score-id1", response.GetProperty("id").GetString());
        Assert.Equal("list", response.GetProperty("object").GetString());
        Assert.Equal(1_767_225_600, response.GetProperty("created").GetInt64());
        Assert.Equal("served", response.GetProperty("model").GetString());
        var data = response.GetProperty("data").EnumerateArray().ToArray();
        Assert.Equal([0, 1, 2], data.Select(d => d.GetProperty("index").GetInt32()));
        Assert.All(data, d => Assert.Equal("score", d.GetProperty("object").GetString()));
        Assert.Equal(logits.Select(Qwen3Reranker.Sigmoid), data.Select(d => (float)d.GetProperty("score").GetDouble()));
        Assert.Equal(153, response.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(0, response.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(153, response.GetProperty("usage").GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public void RawScoresAreTheLogits()
    {
        var data = Respond(Request(", \"use_activation\": false"), Scores(-1f, 3f, 0.5f)).GetProperty("data");
        Assert.Equal([-1f, 3f, 0.5f], data.EnumerateArray().Select(d => (float)d.GetProperty("score").GetDouble()));
    }

    [Fact]
    public void ANonFiniteLogitIsA500AndWritesNothing()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using var writer = new Utf8JsonWriter(buffer);
        var error = Fails(() => ScoreResponseWriter.Write(writer, Request(), Scores(1f, float.NaN, 2f), "served", "id1", Created));
        writer.Flush();
        Assert.Equal(500, error.Status);
        Assert.Equal(0, buffer.WrittenCount);
        Assert.Throws<ArgumentException>(() => ScoreResponseWriter.Write(writer, Request(), Scores(1f), "served", "id1", Created));
    }
}
