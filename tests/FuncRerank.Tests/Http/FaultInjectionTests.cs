using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using FuncRerank.Launcher;
using FuncRerank.Model;
using FuncRerank.Model.Store;
using FuncRerank.Tests.Model;
using FuncRerank.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace FuncRerank.Tests.Http;

/// <summary>
/// A model that cannot be served, injected on disk or in the environment: <c>funcrerank serve</c> stays up, /health
/// and every rerank call answer 503 with the same reason, and the log says how to fix it.
/// </summary>
public sealed class FaultInjectionTests
{
    private const string Body = """{"query":"q","documents":["d"]}""";

    private static bool CudaLibrariesPresent => NativeLibrary.TryLoad("libcublasLt.so.13", out _) && NativeLibrary.TryLoad("libcudnn.so.9", out _);

    /// <summary>Asserts the whole contract of a failed load and returns the reason /health gives.</summary>
    private static async Task<string> AssertServedAsFailed(StandaloneServer server, string reasonContains, string fixContains)
    {
        var reason = await WaitForFailure(server);
        using var rerank = await server.Client.PostAsync("v1/rerank", new StringContent(Body));
        var rerankBody = JsonNode.Parse(await rerank.Content.ReadAsStringAsync())!;
        using var again = await server.Client.GetAsync("health");

        Assert.Contains(reasonContains, reason);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, rerank.StatusCode);
        Assert.Equal($"the model failed to load: {reason}", rerankBody["message"]!.GetValue<string>());
        Assert.Equal("service_unavailable", rerankBody["error"]!["code"]!.GetValue<string>());
        Assert.NotEmpty(rerank.Headers.RetryAfter!.ToString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, again.StatusCode);
        Assert.False(server.HasExited);
        var logLine = server.Output.Split('\n').SkipWhile(l => !l.Contains("The model could not be loaded")).Take(2);
        Assert.Contains(fixContains, string.Join('\n', logLine));
        Assert.Contains(reason, server.Output);
        return reason;
    }

    private static async Task<string> WaitForFailure(StandaloneServer server)
    {
        for (var attempt = 0; attempt < 300; attempt++)
        {
            using var response = await server.Client.GetAsync("health");
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            var message = body["message"]!.GetValue<string>();
            if (!message.Contains("loading") && !message.Contains("building"))
                return message;
            await Task.Delay(100);
        }

        throw new TimeoutException($"the host never reported the load failure:\n{server.Output}");
    }

    private static Task<StandaloneServer> Serve(string model, string cache, Dictionary<string, string?>? environment = null) =>
        StandaloneServer.StartAsync(environment ?? [], waitUntilReady: false, "--model", model, "--cache", cache);

    private static ScratchDirectory BuiltCopy() => ScratchDirectory.CopyOf(BuiltModels.Directory("tiny-f32-tied", ModelPrecision.Float32));

    [Fact]
    public async Task A_truncated_safetensors_file()
    {
        using var checkpoint = ScratchDirectory.CopyOf(RepoFiles.Checkpoint("tiny-f32-tied"));
        using var cache = ScratchDirectory.Create();
        var weights = Path.Combine(checkpoint.Path, "model.safetensors");
        using (var file = File.OpenWrite(weights))
            file.SetLength(file.Length / 2);
        using var server = await Serve(checkpoint.Path, cache.Path);

        var reason = await AssertServedAsFailed(server, "truncated", "downloaded again");
        Assert.Contains(weights, reason);
    }

    [Fact]
    public async Task A_built_directory_whose_model_onnx_is_garbage()
    {
        using var built = BuiltCopy();
        var graph = Path.Combine(built.Path, "model.onnx");
        File.WriteAllBytes(graph, Enumerable.Range(0, 4096).Select(i => (byte)(i * 31 % 251)).ToArray());
        using var server = await Serve(built.Path, ScratchDirectory.SharedBuildCache);

        var reason = await AssertServedAsFailed(server, "ONNX Runtime cannot load it", "must be built again");
        Assert.Contains(graph, reason);
    }

    [Fact]
    public async Task A_built_directory_whose_weights_file_is_cut_short()
    {
        using var built = BuiltCopy();
        using (var file = File.OpenWrite(Path.Combine(built.Path, "model.onnx_data")))
            file.SetLength(file.Length - 1000);
        using var server = await Serve(built.Path, ScratchDirectory.SharedBuildCache);

        await AssertServedAsFailed(server, "model.onnx", "the built ONNX model is damaged");
    }

    [Fact]
    public async Task A_damaged_model_in_the_build_cache_names_the_cache_to_clear()
    {
        using var cache = ScratchDirectory.Create();
        var checkpoint = RepoFiles.Checkpoint("tiny-f32-tied");
        var cached = new ModelStore(cache.Path, NullLogger.Instance).Resolve(checkpoint, ModelPrecision.Float32,
            BuiltModels.TokenIds);
        File.WriteAllText(Path.Combine(cached, "model.onnx"), "not a protobuf");
        using var server = await Serve(checkpoint, cache.Path);

        await AssertServedAsFailed(server, cached, Path.Combine(cache.Path, "built"));
    }

    [Fact]
    public async Task Cuda_required_where_cuda_is_unavailable()
    {
        var environment = new Dictionary<string, string?> { ["Reranker__Device"] = "cuda", ["Reranker__RequireCuda"] = "true" };
        using var server = await Serve(RepoFiles.Checkpoint("tiny-f32-tied"), ScratchDirectory.SharedBuildCache, environment);

        if (CudaLibrariesPresent)
        {
            // On a GPU machine the same settings must really serve on CUDA.
            var health = await WaitForReady(server);
            Assert.Equal("cuda", health["device"]!.GetValue<string>());
            return;
        }

        var reason = await AssertServedAsFailed(server, "CUDA was required", "Reranker__Device=cpu");
        // With what this replica met: no GPU, no driver, no CUDA runtime here.
        Assert.Contains($"(GPU: {FuncRerank.Inference.GpuReport.Read().Describe()})", reason);
    }

    private static async Task<JsonNode> WaitForReady(StandaloneServer server)
    {
        for (var attempt = 0; attempt < 600; attempt++)
        {
            using var response = await server.Client.GetAsync("health");
            if (response.StatusCode == HttpStatusCode.OK)
                return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            await Task.Delay(100);
        }

        throw new TimeoutException($"the host never became ready:\n{server.Output}");
    }
}
