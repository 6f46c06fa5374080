using System.Net;
using System.Text.Json.Nodes;
using FuncRerank.Launcher;
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

    [Theory]
    [InlineData("CONTAINER_APP_NAME")] // Azure Container Apps
    [InlineData("WEBSITE_SITE_NAME")] // App Service and Functions
    public async Task In_azure_without_a_key_nothing_is_served_open_and_health_says_why(string azureVariable)
    {
        using var server = await StandaloneServer.StartAsync(
            new Dictionary<string, string?>
            {
                ["CONTAINER_APP_NAME"] = null,
                ["WEBSITE_SITE_NAME"] = null,
                [azureVariable] = "funcrerank-test",
                ["Reranker__ApiKeys"] = null,
            },
            waitUntilReady: false, "--model", RepoFiles.Checkpoint("tiny-f32-tied"), "--cache", RepoFiles.NewTemporaryDirectory());

        using var rerank = await server.Client.PostAsync("v1/rerank", new StringContent(Body));
        using var health = await server.Client.GetAsync("health");
        var reason = JsonNode.Parse(await health.Content.ReadAsStringAsync())!["message"]!.GetValue<string>();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, rerank.StatusCode);
        Assert.Equal(reason, JsonNode.Parse(await rerank.Content.ReadAsStringAsync())!["message"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.StartsWith("no API key is configured, and a public endpoint in Azure is never served open", reason);
        Assert.Contains("Reranker__ApiKeys", reason);
        Assert.NotEmpty(health.Headers.RetryAfter!.ToString());
    }

    [Fact]
    public async Task With_no_model_option_the_host_downloads_the_default_model_id_and_serves_it()
    {
        var checkpoint = FuncRerank.Tests.Model.ReferenceCheckpoint.Load("tiny-bf16-sharded-untied");
        await using var hub = await FakeHub.StartAsync(FuncRerank.Api.Hosting.RerankerSettings.DefaultModelId, checkpoint.Directory);
        using var server = await StandaloneServer.StartAsync(new Dictionary<string, string?>
        {
            ["HF_ENDPOINT"] = hub.Endpoint,
            ["HF_HUB_CACHE"] = RepoFiles.NewTemporaryDirectory(),
            ["HF_HOME"] = null,
            ["HF_TOKEN"] = null,
            ["HUGGING_FACE_HUB_TOKEN"] = null,
            ["Reranker__ModelPath"] = null,
            ["Reranker__ModelId"] = null,
        }, waitUntilReady: true, "--cache", RepoFiles.NewTemporaryDirectory());

        var pair = checkpoint.Pairs[0];
        var request = new JsonObject { ["query"] = pair.Query, ["documents"] = new JsonArray(pair.Document), ["raw_scores"] = true };
        if (pair.Instruction is { } instruction)
            request["instruction"] = instruction;
        using var response = await server.Client.PostAsync("v1/rerank", new StringContent(request.ToJsonString()));
        var reply = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(FuncRerank.Api.Hosting.RerankerSettings.DefaultModelId, reply["model"]!.GetValue<string>());
        Assert.InRange(Math.Abs(reply["results"]![0]!["relevance_score"]!.GetValue<double>() - pair.LogitFp32), 0, 1e-4);
        Assert.Contains("downloading Qwen/Qwen3-Reranker-0.6B", server.Output);
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
