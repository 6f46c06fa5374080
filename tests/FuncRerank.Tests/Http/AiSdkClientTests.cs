using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using FuncRerank.Tests.TestSupport;

namespace FuncRerank.Tests.Http;

/// <summary>
/// The Vercel AI SDK's <c>rerank()</c> (npm <c>ai</c>) through its Together AI provider (<c>@ai-sdk/togetherai</c>) and
/// the Voyage AI provider (<c>voyage-ai-provider</c>), pinned by <c>tests/clients/package-lock.json</c>, against
/// <c>funcrerank serve</c>. Each provider checks the reply against its own schema; the ranking it parsed is compared with
/// FuncRerank's own reply to the same request in the Cohere shape.
/// </summary>
public class AiSdkClientTests(ServedModelFixture fixture) : IClassFixture<ServedModelFixture>
{
    private static readonly string[] Documents = ["Beijing is the capital of China.", "Paris is in France.", "Gravity pulls."];
    private const string Query = "What is the capital of China?";

    private JsonNode RunProviders() => NodeClientScript.Run("ai-sdk-rerank.mjs", "ai", new Uri(fixture.Server.BaseAddress, "v1").ToString(),
        ServedModelFixture.FirstKey, new JsonObject
        {
            ["query"] = Query,
            ["documents"] = new JsonArray(Documents.Select(d => (JsonNode)JsonValue.Create(d)).ToArray()),
            ["topN"] = 2,
        }.ToJsonString());

    /// <summary>FuncRerank's reply to the same query in the Cohere shape: index → score, and the prompt tokens.</summary>
    private async Task<(Dictionary<int, double> Scores, long Tokens)> Reference()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/rerank")
        {
            Content = new StringContent(new JsonObject
            {
                ["query"] = Query,
                ["documents"] = new JsonArray(Documents.Select(d => (JsonNode)JsonValue.Create(d)).ToArray()),
            }.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ServedModelFixture.FirstKey);
        using var response = await fixture.Server.Client.SendAsync(request);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        return (body["results"]!.AsArray().ToDictionary(r => r!["index"]!.GetValue<int>(), r => r!["relevance_score"]!.GetValue<double>()),
            body["usage"]!["prompt_tokens"]!.GetValue<long>());
    }

    private static void AssertRanking(JsonNode call, int count, Dictionary<int, double> reference)
    {
        Assert.True(call["error"] is null, $"the provider failed: {call["error"]?.ToJsonString()}");
        var ranking = call["ranking"]!.AsArray();
        Assert.Equal(count, ranking.Count);
        var expected = reference.OrderByDescending(p => p.Value).ThenBy(p => p.Key).Take(count).ToArray();
        for (var i = 0; i < count; i++)
        {
            Assert.Equal(expected[i].Key, ranking[i]!["originalIndex"]!.GetValue<int>());
            Assert.Equal(expected[i].Value, ranking[i]!["score"]!.GetValue<double>(), 1e-5);
            Assert.Equal(Documents[expected[i].Key], ranking[i]!["document"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task The_together_and_voyage_providers_parse_the_replies_and_rank_as_funcrerank_does()
    {
        var reply = RunProviders();
        var (reference, tokens) = await Reference();

        AssertRanking(reply["together"]!, 2, reference);
        AssertRanking(reply["togetherAll"]!, 3, reference);
        AssertRanking(reply["voyage"]!, 2, reference);
        AssertRanking(reply["voyageAll"]!, 3, reference);

        // Together's schema requires all three usage counts; a reranker generates nothing.
        var togetherUsage = reply["together"]!["body"]!["usage"]!;
        Assert.Equal(0, togetherUsage["completion_tokens"]!.GetValue<long>());
        Assert.Equal(tokens, togetherUsage["prompt_tokens"]!.GetValue<long>());
        Assert.Equal("qwen3-reranker-test", reply["together"]!["modelId"]!.GetValue<string>());

        // Voyage's own shape, chosen by top_k, and by truncation alone when no topN is given.
        foreach (var voyage in new[] { reply["voyage"]!, reply["voyageAll"]! })
        {
            var body = voyage["body"]!;
            Assert.Equal("list", body["object"]!.GetValue<string>());
            Assert.Equal(tokens, body["usage"]!["total_tokens"]!.GetValue<long>());
            Assert.Equal("qwen3-reranker-test", body["model"]!.GetValue<string>());
            Assert.Null(body["results"]);
        }

        Assert.All(reply["voyage"]!["body"]!["data"]!.AsArray(), r => Assert.False(r!.AsObject().ContainsKey("document")));
        Assert.All(reply["voyageAll"]!["body"]!["data"]!.AsArray(),
            r => Assert.Equal(Documents[r!["index"]!.GetValue<int>()], r["document"]!.GetValue<string>()));
    }

    [Fact]
    public void A_wrong_key_reaches_each_provider_as_401_with_funcrerank_s_message()
    {
        var reply = RunProviders();

        foreach (var provider in new[] { "togetherWrongKey", "voyageWrongKey" })
        {
            var error = reply[provider]!["error"]!;
            Assert.Equal(401, error["status"]!.GetValue<int>());
            // The provider found the message in the error body with its own error schema.
            Assert.Contains("missing or invalid API key", error["message"]!.GetValue<string>());
        }
    }
}
