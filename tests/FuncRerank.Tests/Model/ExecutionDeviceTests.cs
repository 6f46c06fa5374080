using FuncRerank.Tests.TestSupport;
using System.Runtime.InteropServices;
using FuncRerank.Inference;
using FuncRerank.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FuncRerank.Tests.Model;

/// <summary>
/// Asking for CUDA where its libraries are missing (every machine without a GPU stack, CI included) must fall back
/// cleanly or refuse clearly. Where they are present, the same tests check that CUDA is really used.
/// </summary>
public class ExecutionDeviceTests
{
    private static bool CudaLibrariesPresent => NativeLibrary.TryLoad("libcublasLt.so.13", out _) && NativeLibrary.TryLoad("libcudnn.so.9", out _);

    [Fact]
    public void Cuda_without_its_libraries_falls_back_to_the_cpu_with_a_warning_and_the_same_scores()
    {
        var directory = BuiltModels.Directory("tiny-f32-tied", ModelPrecision.Float32);
        var logger = new ListLogger();

        using var scorer = OnnxScorer.Open(directory, new ScorerOptions { Device = ExecutionDevice.Cuda }, logger);

        if (CudaLibrariesPresent)
        {
            Assert.Equal(ExecutionDevice.Cuda, scorer.Device);
            return;
        }

        Assert.Equal(ExecutionDevice.Cpu, scorer.Device);
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("falling back to CPU"));
        int[] row = [151644, 872, 198, 9693, 151645];
        var cpu = BuiltModels.Scorer("tiny-f32-tied", ModelPrecision.Float32);
        Assert.Equal(cpu.ComputeLogits([row]), scorer.ComputeLogits([row]));
    }

    [Fact]
    public void Required_cuda_without_its_libraries_refuses_to_start_and_says_why()
    {
        var directory = BuiltModels.Directory("tiny-f32-tied", ModelPrecision.Float32);
        var options = new ScorerOptions { Device = ExecutionDevice.Cuda, RequireCuda = true };

        if (CudaLibrariesPresent)
        {
            using var scorer = OnnxScorer.Open(directory, options, NullLogger.Instance);
            Assert.Equal(ExecutionDevice.Cuda, scorer.Device);
            return;
        }

        var error = Assert.Throws<InvalidOperationException>(() => OnnxScorer.Open(directory, options, NullLogger.Instance));
        Assert.Contains("CUDA was required", error.Message);
        Assert.Contains("cuDNN", error.Message);
    }
}
