using FuncRerank.Inference;
using FuncRerank.Model;
using FuncRerank.Model.Store;

namespace FuncRerank.Api.Hosting;

/// <summary>
/// What an operator should do about a model that did not load, for the log line that reports the failure: Core says what
/// kind of failure it is (<see cref="ModelLoadFailure"/>), this says it in the settings' terms.
/// </summary>
internal static class LoadFailureAdvice
{
    public static string For(Exception failure, RerankerSettings settings) => ModelLoadFailure.Classify(failure) switch
    {
        ModelLoadFailureKind.CudaUnavailable when settings.RequireCuda && IsCuda(settings.Device) =>
            "Fix: install the NVIDIA driver and the CUDA 13 and cuDNN 9 libraries that ONNX Runtime 1.31 needs, or set " +
            "Reranker__Device=cpu (or Reranker__RequireCuda=false to fall back to the CPU), and restart.",
        ModelLoadFailureKind.DamagedBuild =>
            "Fix: the built ONNX model is damaged. If it is in the build cache " +
            $"({Path.Combine(settings.CacheDirectory ?? ModelStore.DefaultCacheRoot(), "built")}), delete that model's directory and " +
            "restart to rebuild it; a directory made by `funcrerank build` must be built again.",
        _ => "Fix Reranker:ModelPath / Reranker:ModelId (env Reranker__ModelPath, Reranker__ModelId); a missing, partial or damaged " +
             "checkpoint must be downloaded again. Then restart.",
    };

    /// <summary>Whether Reranker:Device asks for CUDA (a device name that does not parse does not).</summary>
    public static bool IsCuda(string device)
    {
        try
        {
            return ExecutionDeviceNames.Parse(device) == ExecutionDevice.Cuda;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
