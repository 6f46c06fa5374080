using System.Buffers;
using System.Text.Json;
using CsCheck;
using FuncRerank.Api.Contract;
using FuncRerank.Tests.TestSupport;
using Xunit.Abstractions;

namespace FuncRerank.Tests.Fuzz;

/// <summary>
/// Property-based fuzzing of the request parsers: whatever the body, reading it either gives a valid request or
/// fails with an <see cref="ApiException"/> carrying a 4xx, never any other exception; valid generated bodies parse to
/// exactly what was generated; and the reply written for any parsed request is JSON a client can read.
/// </summary>
[Collection(LoadHeavyCollection.Name)]
public sealed class ParserFuzzTests(ITestOutputHelper output)
{
    private static readonly RerankLimits Limits = RerankLimits.Default;

    [Fact]
    public void Any_body_parses_to_a_valid_request_or_a_4xx_and_nothing_else()
    {
        var checkedBodies = 0L;
        var parsed = 0L;
        var started = System.Diagnostics.Stopwatch.StartNew();
        FuzzBodies.Any.Sample(body =>
        {
            if (Check(body))
                Interlocked.Increment(ref parsed);
            Interlocked.Increment(ref checkedBodies);
        }, iter: FuzzBodies.Iterations(20_000), print: b => b.ToString());

        output.WriteLine($"parser fuzz: {checkedBodies:N0} bodies in {started.Elapsed.TotalSeconds:F1} s; {parsed:N0} read as a rerank request, the rest 4xx");
        Assert.True(checkedBodies >= FuzzBodies.Iterations(20_000));
        Assert.True(parsed > 0);
    }

    [Fact]
    public void Valid_bodies_of_every_client_shape_parse_to_what_was_sent()
    {
        FuzzBodies.ValidRerankBody.Sample(body => Assert.True(Check(body)), iter: FuzzBodies.Iterations(5_000), print: b => b.ToString());
    }

    /// <summary>Checks every parser on one body; true when it reads as a rerank request.</summary>
    private static bool Check(FuzzBody body)
    {
        JsonDocument document;
        try
        {
            document = ApiJson.ParseBody(body.Bytes);
        }
        catch (ApiException e)
        {
            Assert.Null(body.Valid);
            AssertClientError(e);
            return false;
        }

        using (document)
        {
            var root = document.RootElement;
            RerankRequest? rerank = null;
            Attempt(() => rerank = RerankRequestParser.Parse(root, Limits));
            if (body.Valid is { } valid)
                AssertParsedAsGenerated(Assert.IsType<RerankRequest>(rerank), valid);
            if (rerank is not null)
                AssertReplyIsReadable(rerank);

            Attempt(() =>
            {
                var score = ScoreRequestParser.Parse(root, Limits);
                Assert.InRange(score.Pairs.Count, 1, Limits.MaxDocuments);
                var reply = Written(w => ScoreResponseWriter.Write(w, score, FakeScores(score.Pairs.Count), "m", "id", DateTimeOffset.UnixEpoch));
                Assert.Equal(score.Pairs.Count, reply.GetProperty("data").GetArrayLength());
            });
            Attempt(() =>
            {
                var tokenize = TokenizeRequestParser.Parse(root, Limits);
                Assert.InRange(tokenize.Inputs.Count, 1, Limits.MaxDocuments);
            });
            return rerank is not null;
        }
    }

    /// <summary>Runs a parser; an <see cref="ApiException"/> must be a 4xx, and any other exception fails the property.</summary>
    private static void Attempt(Action parse)
    {
        try
        {
            parse();
        }
        catch (ApiException e)
        {
            AssertClientError(e);
        }
    }

    private static void AssertClientError(ApiException e)
    {
        Assert.InRange(e.Error.Status, 400, 499);
        Assert.False(string.IsNullOrWhiteSpace(e.Error.Message));
        // The error body itself must always be writable, whatever text the message quotes.
        var written = Written(e.Error.WriteBody);
        Assert.Equal(e.Error.Message, written.GetProperty("detail").GetString());
    }

    private static void AssertParsedAsGenerated(RerankRequest request, ValidRerank valid)
    {
        Assert.Equal(valid.Tei ? RerankDialect.Tei : RerankDialect.Standard, request.Dialect);
        Assert.Equal(valid.Documents, request.Documents.Select(d => d.Text));
        Assert.Equal(valid.ReturnDocuments, request.ReturnDocuments);
        Assert.Equal(valid.RawScores, request.Scoring.RawScores);
        Assert.Equal(valid.ExpectedResults, request.ResultCount);
        Assert.StartsWith("q", request.Query, StringComparison.Ordinal);
    }

    private static void AssertReplyIsReadable(RerankRequest request)
    {
        Assert.InRange(request.Documents.Count, 1, Limits.MaxDocuments);
        Assert.False(string.IsNullOrWhiteSpace(request.Query));
        var reply = Written(w => RerankResponseWriter.Write(w, request, FakeScores(request.Documents.Count), "m", "id"));
        var results = request.Dialect == RerankDialect.Tei ? reply : reply.GetProperty("results");
        Assert.Equal(request.ResultCount, results.GetArrayLength());
    }

    /// <summary>Distinct, finite logits in a scrambled order, so ranking has something to do.</summary>
    private static PairScore[] FakeScores(int count) =>
        Enumerable.Range(0, count).Select(i => (i * 7919 % 101) / 10f - 5f).Select(l => new PairScore(l, Qwen3Reranker.Sigmoid(l), 50)).ToArray();

    private static JsonElement Written(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, ApiJson.WriterOptions))
            write(writer);
        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }
}
