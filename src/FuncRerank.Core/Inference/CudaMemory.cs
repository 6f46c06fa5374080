using System.Runtime.InteropServices;

namespace FuncRerank.Inference;

/// <summary>Free and total memory of a CUDA device, in bytes.</summary>
public readonly record struct GpuMemory(long FreeBytes, long TotalBytes);

/// <summary>
/// The GPU's memory as the CUDA runtime reports it (<c>cudaMemGetInfo</c> of libcudart.so.13, the library ONNX Runtime's
/// CUDA provider links, so nothing more is loaded). Read once the session holds its weights, it says what a batch may use.
/// The /health endpoint's GPU name and memory come from NVML instead (the telemetry work); this is the one reading the
/// batch budgets need.
/// </summary>
public static class CudaMemory
{
    public static GpuMemory? Read(int deviceId)
    {
        if (!OperatingSystem.IsLinux() || !NativeLibrary.TryLoad("libcudart.so.13", out var runtime))
            return null;
        if (!NativeLibrary.TryGetExport(runtime, "cudaSetDevice", out var setDevice) || !NativeLibrary.TryGetExport(runtime, "cudaMemGetInfo", out var memGetInfo))
            return null;
        // cudaSetDevice only picks the calling thread's device; the primary context it may create is the one ONNX Runtime uses.
        if (Marshal.GetDelegateForFunctionPointer<CudaSetDevice>(setDevice)(deviceId) != 0)
            return null;
        return Marshal.GetDelegateForFunctionPointer<CudaMemGetInfo>(memGetInfo)(out var free, out var total) == 0
            ? new GpuMemory((long)free, (long)total)
            : null;
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int CudaSetDevice(int device);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int CudaMemGetInfo(out nuint free, out nuint total);
}
