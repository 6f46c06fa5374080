using System.Runtime.InteropServices;
using FuncRerank.Inference;

namespace FuncRerank.GpuCheck;

/// <summary>A shared library this process has loaded, and the version it reports where it has a call for that.</summary>
internal sealed record LoadedLibrary(string Name, string Path, string? Version);

/// <summary>
/// What the CUDA provider actually loaded: the paths from /proc/self/maps (so a library picked up from an unexpected
/// place shows), and the versions the driver, CUDA runtime, cuBLASLt and cuDNN report about themselves.
/// </summary>
internal static class CudaLibraries
{
    private static readonly string[] Watched = ["libcuda.so", "libcudart.so", "libcublas.so", "libcublasLt.so", "libcudnn.so", "libcudnn_", "libcurand.so",
        "libcufft.so", "libnvrtc.so", "libonnxruntime"];

    public static IReadOnlyList<LoadedLibrary> Loaded()
    {
        if (!File.Exists("/proc/self/maps"))
            return [];
        var paths = File.ReadLines("/proc/self/maps")
            .Select(line => line.IndexOf('/') is var slash and >= 0 ? line[slash..].Trim() : null)
            .Where(path => path is not null && Watched.Any(w => System.IO.Path.GetFileName(path).StartsWith(w, StringComparison.Ordinal)))
            .Distinct()
            .Order(StringComparer.Ordinal);
        return paths.Select(path => new LoadedLibrary(System.IO.Path.GetFileName(path!), path!, VersionOf(System.IO.Path.GetFileName(path!)))).ToList();
    }

    /// <summary>CUDA versions as integers (13000 = 13.0), cuDNN's as 91300 = 9.13.0.</summary>
    private static string? VersionOf(string fileName)
    {
        if (fileName.StartsWith("libcuda.so", StringComparison.Ordinal))
            return CudaEnvironment.DriverCudaVersion() is { } driver ? $"driver supports CUDA {CudaEnvironment.FormatVersion(driver)}" : null;
        if (fileName.StartsWith("libcudart.so", StringComparison.Ordinal))
            return IntVersion(fileName, "cudaRuntimeGetVersion") is { } runtime ? $"CUDA runtime {CudaEnvironment.FormatVersion(runtime)}" : null;
        if (fileName.StartsWith("libcublasLt.so", StringComparison.Ordinal))
            return SizeVersion(fileName, "cublasLtGetVersion") is { } cublas ? $"cuBLASLt {cublas / 10000}.{cublas / 100 % 100}.{cublas % 100}" : null;
        if (fileName.StartsWith("libcudnn.so", StringComparison.Ordinal))
            return SizeVersion(fileName, "cudnnGetVersion") is { } cudnn ? $"cuDNN {cudnn / 10000}.{cudnn / 100 % 100}.{cudnn % 100}" : null;
        return null;
    }

    private static int? IntVersion(string library, string export)
    {
        if (!NativeLibrary.TryLoad(library, out var handle) || !NativeLibrary.TryGetExport(handle, export, out var function))
            return null;
        return Marshal.GetDelegateForFunctionPointer<GetIntVersion>(function)(out var version) == 0 ? version : null;
    }

    private static ulong? SizeVersion(string library, string export) =>
        NativeLibrary.TryLoad(library, out var handle) && NativeLibrary.TryGetExport(handle, export, out var function)
            ? Marshal.GetDelegateForFunctionPointer<GetSizeVersion>(function)()
            : null;

    /// <summary>The device's compute capability ("9.0"), from the CUDA runtime.</summary>
    public static string? ComputeCapability(int device)
    {
        var function = CudaRuntime.Export("cudaDeviceGetAttribute");
        if (function == IntPtr.Zero)
            return null;
        var attribute = Marshal.GetDelegateForFunctionPointer<DeviceGetAttribute>(function);
        // cudaDevAttrComputeCapabilityMajor = 75, cudaDevAttrComputeCapabilityMinor = 76.
        return attribute(out var major, 75, device) == 0 && attribute(out var minor, 76, device) == 0 ? $"{major}.{minor}" : null;
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int GetIntVersion(out int version);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate ulong GetSizeVersion();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int DeviceGetAttribute(out int value, int attribute, int device);
}
