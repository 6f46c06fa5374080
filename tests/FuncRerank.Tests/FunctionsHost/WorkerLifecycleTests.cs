using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using FuncRerank.Api.Hosting;
using FuncRerank.Tests.Model;
using FuncRerank.Tests.TestSupport;
using Microsoft.Azure.WebJobs.Script.Grpc.Messages;
using static FuncRerank.Tests.FunctionsHost.HostedFunctionAppFixture;

namespace FuncRerank.Tests.FunctionsHost;

/// <summary>The worker under the (test) Functions host when its model is not there yet, never loads, or the worker stops or dies.</summary>
public class WorkerLifecycleTests
{
    private const string Body = """{"query":"q","documents":["d"]}""";

    [Fact]
    public async Task A_model_that_cannot_load_leaves_every_function_up_answering_503_with_the_reason()
    {
        var missing = Path.Combine(RepoFiles.NewTemporaryDirectory(), "no-such-model");
        await using var host = await FunctionsTestHost.StartAsync(AppSettings(missing));

        using var health = await WaitForHealthAsync(host, HttpStatusCode.ServiceUnavailable, body => body.Contains(missing));
        using var rerank = await host.Client.PostAsync("v1/rerank", new StringContent(Body));
        var reply = JsonNode.Parse(await rerank.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, rerank.StatusCode);
        Assert.Contains(missing, reply["message"]!.GetValue<string>());
        Assert.NotEmpty(rerank.Headers.RetryAfter!.ToString());
        Assert.False(host.Worker.HasExited);
        Assert.Contains("Fix Reranker:ModelPath", host.Output);
    }

    [Fact]
    public async Task A_request_while_the_model_is_still_downloading_gets_503_saying_so()
    {
        var checkpoint = ReferenceCheckpoint.Load("tiny-bf16-sharded-untied");
        await using var hub = await FakeHub.StartAsync(RerankerSettings.DefaultModelId, checkpoint.Directory);
        hub.InterruptOnce("model-00002-of-00003.safetensors", afterBytes: 1024, stall: true); // goes silent for 30 s
        var settings = AppSettings(modelPath: null);
        settings["Reranker__ModelId"] = RerankerSettings.DefaultModelId;
        settings["HF_ENDPOINT"] = hub.Endpoint;
        settings["HF_HUB_CACHE"] = RepoFiles.NewTemporaryDirectory();
        settings["HF_HOME"] = null;
        settings["HF_TOKEN"] = null;
        settings["HUGGING_FACE_HUB_TOKEN"] = null;
        await using var host = await FunctionsTestHost.StartAsync(settings);

        using var health = await WaitForHealthAsync(host, HttpStatusCode.ServiceUnavailable,
            body => body.Contains("downloading Qwen/Qwen3-Reranker-0.6B: model-00002-of-00003.safetensors"));
        using var rerank = await host.Client.PostAsync("v1/rerank", new StringContent(Body));
        var reply = JsonNode.Parse(await rerank.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, rerank.StatusCode);
        Assert.Contains("downloading Qwen/Qwen3-Reranker-0.6B", reply["message"]!.GetValue<string>());
        Assert.NotEmpty(rerank.Headers.RetryAfter!.ToString());
    }

    [Fact]
    public async Task WorkerTerminate_lets_the_request_in_flight_finish_and_the_worker_exits_within_the_grace_period()
    {
        await using var host = await FunctionsTestHost.StartAsync(AppSettings(RepoFiles.Checkpoint("tiny-f32-tied")));
        using (await WaitForHealthAsync(host, HttpStatusCode.OK))
        {
        }

        // In flight for as long as the test wants: the body's second half is held back until WorkerTerminate is sent.
        var rest = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var body = new HeldBackContent("""{"query":"which document",""", """ "documents":["a","b","c"]}""", rest.Task);
        var pending = host.Client.PostAsync("v1/rerank", body);
        var invocation = await WaitForAsync(() => host.Invocations.FirstOrDefault(i => i.Function == "rerank_v1").Request, host);

        var terminated = host.TerminateWorkerAsync();
        rest.SetResult();
        using var response = await pending;
        var exitedByItself = await terminated;
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {text}\n{host.Output}");
        Assert.Equal(3, JsonNode.Parse(text)!["results"]!.AsArray().Count);
        var answered = Assert.Single(host.Received, m => m.InvocationResponse?.InvocationId == invocation.InvocationId);
        Assert.Equal(StatusResult.Types.Status.Success, answered.InvocationResponse.Result.Status);
        Assert.True(exitedByItself, $"the worker was still running {FunctionsTestHost.TerminateGracePeriod.TotalSeconds} s after WorkerTerminate\n{host.Output}");
        Assert.Equal(0, host.Worker.ExitCode);
    }

    [Fact]
    public async Task A_worker_that_dies_ends_its_stream_and_the_host_says_why()
    {
        await using var host = await FunctionsTestHost.StartAsync(AppSettings(Path.Combine(RepoFiles.NewTemporaryDirectory(), "no-model-needed")));
        var rest = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var pending = host.Client.PostAsync("v1/rerank", new HeldBackContent("""{"query":"q",""", """ "documents":["d"]}""", rest.Task));
        await WaitForAsync(() => host.Invocations.FirstOrDefault(i => i.Function == "rerank_v1").Request, host);

        host.Worker.Kill(); // SIGKILL, as the kernel's OOM killer ends a process
        var reason = await host.WorkerGoneAsync(TimeSpan.FromSeconds(30));
        rest.SetResult();
        using var response = await pending;

        Assert.Contains("EventStream", reason);
        Assert.Contains($"worker process {host.Worker.Id} exited with code 137 (signal 9)", reason);
        // The request it was serving fails as the host fails a lost invocation, with nothing left hanging.
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Contains("[host] rerank_v1 failed", host.Output);
    }

    private static async Task<T> WaitForAsync<T>(Func<T?> probe, FunctionsTestHost host)
        where T : class
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (probe() is { } value)
                return value;
            await Task.Delay(10);
        }

        throw new TimeoutException($"not within 30 s:\n{host.Output}");
    }

    /// <summary>A chunked request body whose second part is sent only once <paramref name="release"/> completes.</summary>
    private sealed class HeldBackContent(string first, string second, Task release) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            await stream.WriteAsync(Encoding.UTF8.GetBytes(first));
            await stream.FlushAsync();
            await release;
            await stream.WriteAsync(Encoding.UTF8.GetBytes(second));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
