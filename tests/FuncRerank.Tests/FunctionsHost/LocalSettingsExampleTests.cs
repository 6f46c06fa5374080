using System.Net;
using System.Reflection;
using System.Text.Json.Nodes;
using FuncRerank.Api.Hosting;
using FuncRerank.Tests.TestSupport;

namespace FuncRerank.Tests.FunctionsHost;

/// <summary>
/// The README's local steps (copy local.settings.json.example, set the model path, <c>func start</c>): Core Tools
/// cannot run here, so the example's Values are checked against what the host and the app read, and the app is run
/// under the test host with exactly those Values as its environment, as <c>func start</c> passes them.
/// </summary>
public class LocalSettingsExampleTests
{
    private static readonly string ExamplePath = Path.Combine(RepoFiles.RepoRoot, "src", "FuncRerank.Functions", "local.settings.json.example");

    private static JsonObject Values => JsonNode.Parse(File.ReadAllText(ExamplePath))!["Values"]!.AsObject();

    [Fact]
    public void The_example_names_the_worker_runtime_the_built_worker_declares_and_only_settings_the_app_has()
    {
        var example = JsonNode.Parse(File.ReadAllText(ExamplePath))!;
        var workerConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(FunctionsTestHost.AppDirectory, "worker.config.json")))!;

        Assert.False(example["IsEncrypted"]!.GetValue<bool>());
        // The host starts the worker whose worker.config.json language matches FUNCTIONS_WORKER_RUNTIME.
        Assert.Equal(workerConfig["description"]!["language"]!.GetValue<string>(), Values["FUNCTIONS_WORKER_RUNTIME"]!.GetValue<string>());
        var settings = typeof(RerankerSettings).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite).Select(p => p.Name);
        var rerankerKeys = Values.Select(v => v.Key).Where(k => k.StartsWith("Reranker__", StringComparison.Ordinal)).Select(k => k["Reranker__".Length..]);
        Assert.Subset(settings.ToHashSet(), rerankerKeys.ToHashSet());
        Assert.Contains("ModelPath", rerankerKeys);
    }

    [Fact]
    public async Task With_the_examples_values_and_a_model_path_the_app_serves_open_on_the_routes_the_README_gives()
    {
        var settings = Values.ToDictionary(v => v.Key, v => (string?)v.Value!.GetValue<string>());
        settings["Reranker__ModelPath"] = RepoFiles.Checkpoint("tiny-f32-tied");
        settings["FUNCRERANK_CACHE"] = HostedFunctionAppFixture.CacheDirectory; // the default cache, kept out of the home directory
        settings["WEBSITE_SITE_NAME"] = null;
        settings["CONTAINER_APP_NAME"] = null;
        await using var host = await FunctionsTestHost.StartAsync(settings);
        using (await HostedFunctionAppFixture.WaitForHealthAsync(host, HttpStatusCode.OK))
        {
        }

        using var response = await host.Client.PostAsync("v1/rerank", new StringContent("""{"query":"q","documents":["a","b"]}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["results"]!.AsArray().Count);
    }
}
