using System.Net;
using System.Text.Json.Nodes;
using FuncRerank.Tests.TestSupport;

namespace FuncRerank.Tests.Http;

/// <summary>A host whose model cannot load, or that would run open in Azure, stays up and says why.</summary>
public class ServingStateTests
{
    private const string Body = """{"query":"q","documents":["d"]}""";

    [Fact]
    public async Task A_missing_model_leaves_the_host_up_with_503_and_the_reason_everywhere()
    {
        var missing = Path.Combine(RepoFiles.NewTemporaryDirectory(), "no-such-model");
        using var server = await StandaloneServer.StartAsync(new Dictionary<string, string?>(), waitUntilReady: false,
            "--model", missing, "--cache", RepoFiles.NewTemporaryDirectory());

        var health = await WaitForFailure(server);
        using var rerank = await server.Client.PostAsync("v1/rerank", new StringContent(Body));
        var rerankBody = JsonNode.Parse(await rerank.Content.ReadAsStringAsync())!;

        Assert.Contains(missing, health["message"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, rerank.StatusCode);
        Assert.Contains(missing, rerankBody["message"]!.GetValue<string>());
        Assert.NotEmpty(rerank.Headers.RetryAfter!.ToString());
        Assert.Contains("Fix Reranker:ModelPath", server.Output);
    }

    [Fact]
    public async Task In_azure_without_a_key_nothing_is_served_open()
    {
        using var server = await StandaloneServer.StartAsync(
            new Dictionary<string, string?> { ["CONTAINER_APP_NAME"] = "funcrerank-test", ["Reranker__ApiKeys"] = null },
            waitUntilReady: false, "--model", RepoFiles.Checkpoint("tiny-f32-tied"), "--cache", RepoFiles.NewTemporaryDirectory());

        using var rerank = await server.Client.PostAsync("v1/rerank", new StringContent(Body));
        using var health = await server.Client.GetAsync("health");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, rerank.StatusCode);
        Assert.Contains("Reranker__ApiKeys", await rerank.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
    }

    private static async Task<JsonNode> WaitForFailure(StandaloneServer server)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            using var response = await server.Client.GetAsync("health");
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            if (!body["message"]!.GetValue<string>().Contains("loading"))
                return body;
            await Task.Delay(100);
        }

        throw new TimeoutException("the host never reported the load failure");
    }
}
