using System.Runtime.InteropServices;
using FuncRerank.Api.Hosting;
using FuncRerank.Inference;
using FuncRerank.Tests.TestSupport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FuncRerank.Tests.Functions;

/// <summary>
/// What the function app (and `funcrerank serve`) writes at startup about where the graph runs: the execution provider
/// it got and why, in one line an operator can find in the container's log (the image's first question on a new GPU).
/// </summary>
public class StartupLogTests
{
    private static bool CudaLibrariesPresent => NativeLibrary.TryLoad("libcublasLt.so.13", out _) && NativeLibrary.TryLoad("libcudnn.so.9", out _);

    private static async Task<IReadOnlyList<(LogLevel Level, string Message)>> Start(string device, bool requireCuda = false)
    {
        var settings = new RerankerSettings
        {
            ModelPath = RepoFiles.Checkpoint("tiny-f32-tied"),
            Device = device,
            RequireCuda = requireCuda,
            CacheDirectory = RepoFiles.NewTemporaryDirectory(),
        };
        var state = new RerankerState();
        var logger = new ListLogger<RerankerLoader>();
        var loader = new RerankerLoader(state, Options.Create(settings), logger);
        await loader.StartAsync(CancellationToken.None);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (state.Status is not (RerankerStatus.Ready or RerankerStatus.Failed) && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        await loader.StopAsync(CancellationToken.None);
        await loader.StoppedAsync(CancellationToken.None);
        Directory.Delete(settings.CacheDirectory, recursive: true);
        return logger.Entries;
    }

    [Fact]
    public async Task Cpu_by_choice_says_so()
    {
        var entries = await Start("cpu");

        var line = Assert.Single(entries, e => e.Message.StartsWith("Execution provider:", StringComparison.Ordinal));
        Assert.Equal(LogLevel.Information, line.Level);
        Assert.Contains("CPUExecutionProvider (the device asked for is cpu; Reranker:Device=cpu", line.Message);
    }

    [Fact]
    public async Task Cuda_asked_for_names_the_provider_it_got_and_the_reason_for_a_fallback()
    {
        var entries = await Start("cuda");

        var line = Assert.Single(entries, e => e.Message.StartsWith("Execution provider:", StringComparison.Ordinal));
        if (CudaLibrariesPresent)
        {
            Assert.Equal(LogLevel.Information, line.Level);
            Assert.Contains("CUDAExecutionProvider (the device asked for is cuda and the CUDA provider loaded on device 0", line.Message);
            return;
        }

        // No CUDA 13 stack here: the line is a warning that carries ONNX Runtime's own reason (the missing library).
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.Contains("CPUExecutionProvider (the device asked for is cuda, but the CUDA provider did not load (", line.Message);
        Assert.Matches(@"\(the device asked for is cuda, but the CUDA provider did not load \(.{20,}\) and CUDA is not required", line.Message);
        Assert.Contains("Reranker:Device=cuda, Reranker:RequireCuda=False", line.Message);
        // ... and what is missing, which ONNX Runtime's own message ("Failed to load shared library") does not say.
        Assert.Contains(CudaEnvironment.Diagnose()!, line.Message);
    }

    [Fact]
    public async Task Required_cuda_is_served_on_cuda_or_not_at_all_and_the_log_says_why()
    {
        var entries = await Start("cuda", requireCuda: true);

        if (CudaLibrariesPresent)
        {
            var line = Assert.Single(entries, e => e.Message.StartsWith("Execution provider:", StringComparison.Ordinal));
            Assert.Equal(LogLevel.Information, line.Level);
            Assert.Contains("CUDAExecutionProvider", line.Message);
            Assert.Contains("Reranker:Device=cuda, Reranker:RequireCuda=True", line.Message);
            Assert.DoesNotContain(entries, e => e.Level >= LogLevel.Warning);
            return;
        }

        Assert.DoesNotContain(entries, e => e.Message.StartsWith("Execution provider:", StringComparison.Ordinal));
        var error = Assert.Single(entries, e => e.Level == LogLevel.Error);
        Assert.Contains("CUDA was required but its execution provider did not load", error.Message);
        Assert.Contains("model could not be loaded", error.Message);
        Assert.Contains(CudaEnvironment.Diagnose()!, error.Message);
    }
}
