using System.Net;
using FuncRerank.Tests.TestSupport;

namespace FuncRerank.Tests.FunctionsHost;

/// <summary>
/// The built function app under the test Functions host, on a generated checkpoint, with one app key
/// (<c>Reranker__ApiKeys</c>) and the Functions host's keys as Container Apps mounts them (one file per key), shared by a
/// test class. Waits until /health answers 200.
/// </summary>
public sealed class HostedFunctionAppFixture : IAsyncLifetime
{
    public const string AppKey = "app-key-0123456789";
    public const string MasterKey = "host-master-key-abcdef";
    public const string DefaultFunctionKey = "host-function-default-key-ghijkl";

    private static readonly Lazy<string> SharedCache = new(RepoFiles.NewTemporaryDirectory);

    internal FunctionsTestHost Host { get; private set; } = null!;

    /// <summary>
    /// One model cache for every worker these tests start: the first builds the ONNX graph, the others reuse it (the
    /// store builds beside its target and renames, so workers starting together are safe).
    /// </summary>
    public static string CacheDirectory => SharedCache.Value;

    /// <summary>The app settings a hosted app gets here: those of local.settings.json.example, with test values (no model path: null).</summary>
    public static Dictionary<string, string?> AppSettings(string? modelPath) => new()
    {
        ["FUNCTIONS_WORKER_RUNTIME"] = "dotnet-isolated",
        ["AzureWebJobsScriptRoot"] = FunctionsTestHost.AppDirectory,
        ["Reranker__ModelPath"] = modelPath,
        ["Reranker__Dtype"] = "fp32",
        ["Reranker__Device"] = "cpu",
        ["Reranker__ApiKeys"] = "",
        ["Reranker__CacheDirectory"] = CacheDirectory,
        // Not in Azure: a run without keys is served open, as on a laptop.
        ["WEBSITE_SITE_NAME"] = null,
        ["CONTAINER_APP_NAME"] = null,
    };

    public async Task InitializeAsync()
    {
        // /run/secrets/functions-keys on Container Apps: secrets mounted as files named as the host reads them.
        var keys = RepoFiles.NewTemporaryDirectory();
        await File.WriteAllTextAsync(Path.Combine(keys, "host.master"), MasterKey);
        await File.WriteAllTextAsync(Path.Combine(keys, "host.function.default"), DefaultFunctionKey);
        var settings = AppSettings(RepoFiles.Checkpoint("tiny-f32-tied"));
        settings["Reranker__ApiKeys"] = AppKey;
        settings["Reranker__FunctionsKeyDirectory"] = keys;
        Host = await FunctionsTestHost.StartAsync(settings);
        await WaitForHealthAsync(Host, HttpStatusCode.OK);
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();

    /// <summary>Polls /health until it answers <paramref name="wanted"/> (with a body that matches); fails with the host's and worker's output.</summary>
    internal static async Task<HttpResponseMessage> WaitForHealthAsync(FunctionsTestHost host, HttpStatusCode wanted, Func<string, bool>? bodyMatches = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            var response = await host.Client.GetAsync("health");
            if (response.StatusCode == wanted && (bodyMatches is null || bodyMatches(await response.Content.ReadAsStringAsync())))
                return response;
            response.Dispose();
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"/health did not answer {wanted} as expected within 90 s:\n{host.Output}");
            await Task.Delay(100);
        }
    }
}
