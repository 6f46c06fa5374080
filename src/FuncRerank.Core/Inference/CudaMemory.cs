using System.Runtime.InteropServices;

namespace FuncRerank.Inference;

/// <summary>
/// The GPU's memory as the CUDA runtime reports it (<c>cudaMemGetInfo</c> of libcudart.so.13, the library ONNX Runtime's
/// CUDA provider links, so nothing more is loaded). Read once the session holds its weights, it says what a batch may use.
/// The /health endpoint's GPU name and memory come from NVML instead (<see cref="GpuReport"/>, which reads the same
/// runtime's version); this is the one reading the batch budgets need.
/// </summary>
public static class CudaMemory
{
    /// <summary>The two runtime calls, looked up once (the GPU check samples memory every millisecond); null without the runtime.</summary>
    private static readonly Lazy<(CudaSetDevice SetDevice, CudaMemGetInfo MemGetInfo)?> Runtime = new(() =>
        OperatingSystem.IsLinux() && NativeLibrary.TryLoad(GpuReport.RuntimeLibrary, out var runtime)
        && NativeLibrary.TryGetExport(runtime, "cudaSetDevice", out var setDevice) && NativeLibrary.TryGetExport(runtime, "cudaMemGetInfo", out var memGetInfo)
            ? (Marshal.GetDelegateForFunctionPointer<CudaSetDevice>(setDevice), Marshal.GetDelegateForFunctionPointer<CudaMemGetInfo>(memGetInfo))
            : null);

    public static GpuMemory? Read(int deviceId)
    {
        if (Runtime.Value is not { } cuda)
            return null;
        // cudaSetDevice only picks the calling thread's device; the primary context it may create is the one ONNX Runtime uses.
        if (cuda.SetDevice(deviceId) != 0)
            return null;
        return cuda.MemGetInfo(out var free, out var total) == 0 ? new GpuMemory((long)free, (long)total) : null;
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int CudaSetDevice(int device);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int CudaMemGetInfo(out nuint free, out nuint total);
}
