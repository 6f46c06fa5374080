using FuncRerank.Tests.TestSupport;
using System.Runtime.InteropServices;
using FuncRerank.Inference;
using FuncRerank.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FuncRerank.Tests.Model;

/// <summary>
/// Asking for CUDA where its libraries are missing (every machine without a GPU stack, CI included) must fall back
/// cleanly or refuse clearly. Where they are present, the same tests check that CUDA is really used. On either device
/// the scores are torch's.
/// </summary>
public class ExecutionDeviceTests
{
    private static bool CudaLibrariesPresent => NativeLibrary.TryLoad("libcublasLt.so.13", out _) && NativeLibrary.TryLoad("libcudnn.so.9", out _);

    /// <summary>The torch reference's logits (fp32) for every pair, scored in one batch: within the suite's 1e-4 on either device.</summary>
    private static void AssertScoresAsTorchDoes(OnnxScorer scorer)
    {
        var checkpoint = ReferenceCheckpoint.Load("tiny-f32-tied");
        var logits = scorer.ComputeLogits(checkpoint.Pairs.Select(p => p.Ids).ToArray());
        var worst = checkpoint.Pairs.Select((p, i) => Math.Abs(logits[i] - p.LogitFp32)).Max();
        Assert.True(worst <= 1e-4, $"on {scorer.Device}: the largest difference from torch is {worst:E2}");
    }

    [Fact]
    public void Cuda_runs_on_cuda_where_it_loads_and_elsewhere_falls_back_to_the_cpu_with_a_warning_both_with_torchs_scores()
    {
        var directory = BuiltModels.Directory("tiny-f32-tied", ModelPrecision.Float32);
        var logger = new ListLogger();

        using var scorer = OnnxScorer.Open(directory, new ScorerOptions { Device = ExecutionDevice.Cuda }, logger);

        if (CudaLibrariesPresent)
        {
            Assert.Equal(ExecutionDevice.Cuda, scorer.Device);
            Assert.DoesNotContain(logger.Entries, e => e.Level >= LogLevel.Warning);
        }
        else
        {
            Assert.Equal(ExecutionDevice.Cpu, scorer.Device);
            Assert.Contains(logger.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("falling back to CPU"));
            int[] row = [151644, 872, 198, 9693, 151645];
            var cpu = BuiltModels.Scorer("tiny-f32-tied", ModelPrecision.Float32);
            Assert.Equal(cpu.ComputeLogits([row]), scorer.ComputeLogits([row]));
        }

        AssertScoresAsTorchDoes(scorer);
    }

    [Fact]
    public void Required_cuda_runs_on_cuda_or_refuses_to_start_and_says_why()
    {
        var directory = BuiltModels.Directory("tiny-f32-tied", ModelPrecision.Float32);
        var options = new ScorerOptions { Device = ExecutionDevice.Cuda, RequireCuda = true };

        if (CudaLibrariesPresent)
        {
            using var scorer = OnnxScorer.Open(directory, options, NullLogger.Instance);
            Assert.Equal(ExecutionDevice.Cuda, scorer.Device);
            AssertScoresAsTorchDoes(scorer);
            return;
        }

        var error = Assert.Throws<InvalidOperationException>(() => OnnxScorer.Open(directory, options, NullLogger.Instance));
        Assert.Contains("CUDA was required", error.Message);
        Assert.Contains("cuDNN", error.Message);
    }
}
