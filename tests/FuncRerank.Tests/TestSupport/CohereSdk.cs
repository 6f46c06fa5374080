using System.Diagnostics;
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

    private static string ClientsDirectory => Path.Combine(RepoFiles.RepoRoot, "tests", "clients");

    /// <summary>What the SDK parsed: <c>{v1, v2, rejected: {status, name}}</c>.</summary>
    public static JsonNode Run(string baseUrl, string apiKey, string request)
    {
        var script = Path.Combine(ClientsDirectory, "cohere-rerank.mjs");
        if (!Directory.Exists(Path.Combine(ClientsDirectory, "node_modules", "cohere-ai")))
            throw new InvalidOperationException($"npm packages missing: run `npm ci --prefix {ClientsDirectory}` (tests/run-tests.sh does it)");
        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = ClientsDirectory };
        start.ArgumentList.Add(script);
        start.ArgumentList.Add(request);
        start.Environment["BASE_URL"] = baseUrl;
        start.Environment["API_KEY"] = apiKey;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("the Cohere SDK script did not finish in 2 minutes");
        }

        Assert.True(process.ExitCode == 0, $"node exited {process.ExitCode}: {error.Result}");
        return JsonNode.Parse(output.Result)!;
    }

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
