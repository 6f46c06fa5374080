using System.Runtime.InteropServices;

namespace FuncRerank.Inference;

/// <summary>
/// The CUDA runtime ONNX Runtime's CUDA provider links (<c>libcudart.so.13</c>, so loading it here loads nothing more),
/// loaded once for the calls FuncRerank makes itself: its version for <see cref="GpuReport"/>, and a device's free
/// memory, which the batch budgets need (<see cref="BatchBudgets.ForCuda"/>). Without the runtime every answer is null.
/// </summary>
public static class CudaRuntime
{
    public const string Library = "libcudart.so.13";

    private static readonly Lazy<IntPtr> Handle = new(() =>
        OperatingSystem.IsLinux() && NativeLibrary.TryLoad(Library, out var handle) ? handle : IntPtr.Zero);

    // Looked up once: the GPU check samples memory every millisecond.
    private static readonly Lazy<IntPtr> SetDevice = new(() => Export("cudaSetDevice"));
    private static readonly Lazy<IntPtr> MemGetInfo = new(() => Export("cudaMemGetInfo"));

    /// <summary>The runtime's version (cudaRuntimeGetVersion), e.g. 13000 for 13.0.</summary>
    public static unsafe int? Version()
    {
        var get = (delegate* unmanaged<int*, int>)Export("cudaRuntimeGetVersion");
        int version;
        return get is not null && get(&version) == 0 ? version : null;
    }

    /// <summary>A device's free and total memory (cudaMemGetInfo); read once the session holds its weights, it says what a batch may use.</summary>
    public static unsafe GpuMemory? Memory(int deviceId)
    {
        var setDevice = (delegate* unmanaged<int, int>)SetDevice.Value;
        var memGetInfo = (delegate* unmanaged<nuint*, nuint*, int>)MemGetInfo.Value;
        if (setDevice is null || memGetInfo is null)
            return null;
        // cudaSetDevice only picks the calling thread's device; the primary context it may create is the one ONNX Runtime uses.
        if (setDevice(deviceId) != 0)
            return null;
        nuint free, total;
        return memGetInfo(&free, &total) == 0 ? new GpuMemory((long)free, (long)total) : null;
    }

    /// <summary>One of the runtime's entry points, or zero without the runtime (the GPU check kit makes calls of its own).</summary>
    internal static IntPtr Export(string name) =>
        Handle.Value != IntPtr.Zero && NativeLibrary.TryGetExport(Handle.Value, name, out var address) ? address : IntPtr.Zero;
}
