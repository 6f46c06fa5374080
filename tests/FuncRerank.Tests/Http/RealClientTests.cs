using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using FuncRerank.Api.Contract;
using FuncRerank.Tests.Api;
using FuncRerank.Tests.TestSupport;

namespace FuncRerank.Tests.Http;

/// <summary>
/// Real clients against <c>funcrerank serve</c>: the official Cohere TypeScript SDK (npm <c>cohere-ai</c>, as LangChain
/// and LlamaIndex use it), and every client's body from the research note sent over HTTP as that client sends it.
/// </summary>
public class RealClientTests(ServedModelFixture fixture) : IClassFixture<ServedModelFixture>
{
    public static TheoryData<string> ClientBodies => new(ClientRequestShapeTests.Cases.Keys);

    [Theory]
    [InlineData("")]
    [InlineData("v1")] // an SDK given a base URL that ends in /v1 calls /v1/v1/rerank and /v1/v2/rerank
    public void The_cohere_sdk_reranks_v1_and_v2_and_reports_a_wrong_key_as_401(string basePath) =>
        CohereSdk.AssertCapitalReply(CohereSdk.Run(new Uri(fixture.Server.BaseAddress, basePath).ToString().TrimEnd('/'),
            ServedModelFixture.FirstKey, CohereSdk.CapitalRequest));

    [Fact]
    public void The_cohere_v2_client_s_camel_case_returnDocuments_is_honoured()
    {
        var reply = CohereSdk.Run(fixture.Server.BaseAddress.ToString().TrimEnd('/'), ServedModelFixture.FirstKey,
            """{"query":"What is the capital of China?","documents":["Beijing is the capital of China.","Paris is in France."],"topN":2}""");

        // Documents come back by default (Jina and vLLM do the same); returnDocuments: false leaves them out.
        Assert.All(reply["v2"]!["results"]!.AsArray(), r => Assert.NotNull(r!["document"]));
        var without = reply["v2WithoutDocuments"]!["results"]!.AsArray();
        Assert.Equal(2, without.Count);
        Assert.All(without, r => Assert.False(r!.AsObject().ContainsKey("document")));
    }

    [Theory]
    [MemberData(nameof(ClientBodies))]
    public async Task Every_clients_body_gets_a_reply_that_client_can_read(string client)
    {
        var expected = ClientRequestShapeTests.Cases[client];
        var path = expected.Dialect == RerankDialect.Tei ? "rerank" : "v1/rerank";
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(expected.Body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ServedModelFixture.FirstKey);

        using var response = await fixture.Server.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{client}: {(int)response.StatusCode} {body}");
        var reply = JsonNode.Parse(body)!;
        var count = Math.Min(expected.TopN is > 0 and var n ? n : expected.Texts.Length, expected.Texts.Length);
        if (expected.Dialect == RerankDialect.Tei)
        {
            // TEI's bare array: every text once, sorted by score (ties by index), each score the one the same pair
            // gets through /v1/rerank, the text echoed only when asked for.
            var tei = reply.AsArray().Select(r => (Index: r!["index"]!.GetValue<int>(), Score: r["score"]!.GetValue<double>(), Text: r["text"])).ToArray();
            Assert.Equal(Enumerable.Range(0, expected.Texts.Length), tei.Select(r => r.Index).Order());
            Assert.Equal(tei.OrderByDescending(r => r.Score).ThenBy(r => r.Index), tei);
            var reference = await ScoresThroughV1Rerank(expected);
            Assert.All(tei, r => Assert.InRange(Math.Abs(r.Score - reference[r.Index]), 0, 1e-5));
            Assert.All(tei, r => Assert.Equal(expected.ReturnDocuments ? expected.Texts[r.Index] : null, r.Text?.GetValue<string>()));
            return;
        }

        var results = reply["results"]!.AsArray();
        Assert.Equal(count, results.Count);
        Assert.Equal(count, results.Select(r => r!["index"]!.GetValue<int>()).Distinct().Count());
        Assert.All(results, r => Assert.Equal(expected.ReturnDocuments, r!.AsObject().ContainsKey("document")));
        var scores = results.Select(r => r!["relevance_score"]!.GetValue<double>()).ToArray();
        Assert.Equal(scores.OrderByDescending(s => s), scores);
    }

    /// <summary>The scores of <paramref name="expected"/>'s texts against its query (log-odds if it asks for raw scores), by index, through the standard route.</summary>
    private async Task<double[]> ScoresThroughV1Rerank(ClientRequestShapeTests.Expected expected)
    {
        var body = new JsonObject
        {
            ["query"] = expected.Query,
            ["documents"] = new JsonArray(expected.Texts.Select(t => (JsonNode)JsonValue.Create(t)).ToArray()),
            ["raw_scores"] = expected.Raw,
            ["return_documents"] = false,
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/rerank") { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ServedModelFixture.FirstKey);
        using var response = await fixture.Server.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var scores = new double[expected.Texts.Length];
        foreach (var result in JsonNode.Parse(await response.Content.ReadAsStringAsync())!["results"]!.AsArray())
            scores[result!["index"]!.GetValue<int>()] = result["relevance_score"]!.GetValue<double>();
        return scores;
    }
}
