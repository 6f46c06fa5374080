using System.Text.Json.Nodes;

namespace FuncRerank.Tests.TestSupport;

/// <summary>
/// The official Cohere TypeScript SDK (npm <c>cohere-ai</c>, pinned in tests/clients, as LangChain and LlamaIndex use
/// it), run by <c>tests/clients/cohere-rerank.mjs</c> against a base URL: a v1 and a v2 rerank with the key, then a v1
/// rerank with a wrong key.
/// </summary>
internal static class CohereSdk
{
    /// <summary>Three documents about China's capital, top 2.</summary>
    public const string CapitalRequest =
        """{"query":"What is the capital of China?","documents":["Beijing is the capital of China.","Paris is in France.","Gravity pulls."],"topN":2}""";

    /// <summary>What the SDK parsed: <c>{v1, v2, v2WithoutDocuments, rejected: {status, name}}</c>.</summary>
    public static JsonNode Run(string baseUrl, string apiKey, string request) =>
        NodeClientScript.Run("cohere-rerank.mjs", "cohere-ai", baseUrl, apiKey, request);

    /// <summary>Both clients got <see cref="CapitalRequest"/>'s two results, sorted, in [0, 1], billed; the wrong key got 401.</summary>
    public static void AssertCapitalReply(JsonNode reply)
    {
        foreach (var version in new[] { "v1", "v2" })
        {
            var results = reply[version]!["results"]!.AsArray();
            Assert.Equal(2, results.Count);
            var scores = results.Select(r => r!["relevanceScore"]!.GetValue<double>()).ToArray();
            Assert.True(scores[0] >= scores[1]);
            Assert.All(scores, s => Assert.InRange(s, 0, 1));
            Assert.True(reply[version]!["meta"]!["billedUnits"]!["inputTokens"]!.GetValue<int>() > 0);
        }

        Assert.NotNull(reply["v1"]!["results"]![0]!["document"]!["text"]);
        Assert.Equal(401, reply["rejected"]!["status"]!.GetValue<int>());
    }
}
