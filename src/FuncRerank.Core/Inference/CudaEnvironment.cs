using System.Runtime.InteropServices;

namespace FuncRerank.Inference;

/// <summary>
/// What ONNX Runtime 1.31's CUDA provider needs from the machine, checked piece by piece, so that a CPU fallback (or a
/// refusal) can say which piece is missing: ONNX Runtime itself only reports "Failed to load shared library".
/// </summary>
public static class CudaEnvironment
{
    /// <summary>CUDA 13.0 as <c>cuDriverGetVersion</c> reports it: the driver branch must be R580 or newer.</summary>
    public const int RequiredDriverCudaVersion = 13000;

    /// <summary>
    /// The driver library (put in the container by the GPU host) and the CUDA 13 / cuDNN 9 user-space libraries the
    /// provider links (<c>DT_NEEDED</c>) or opens at run time. docker/cuda-libraries.tsv maps each to its package; the
    /// tests check the two lists agree with each other and with the provider library itself.
    /// </summary>
    public static IReadOnlyList<string> Libraries { get; } =
    [
        "libcuda.so.1",
        "libcudart.so.13",
        "libcublas.so.13",
        "libcublasLt.so.13",
        "libcurand.so.10",
        "libcufft.so.12",
        "libnvrtc.so.13",
        "libcudnn.so.9",
    ];

    /// <summary>The libraries the dynamic loader cannot find here.</summary>
    public static IReadOnlyList<string> MissingLibraries() =>
        OperatingSystem.IsLinux() ? Libraries.Where(name => !CanLoad(name)).ToArray() : [];

    /// <summary>The CUDA version the installed driver supports (e.g. 12020 for 12.2), or null without a driver.</summary>
    public static int? DriverCudaVersion()
    {
        if (!OperatingSystem.IsLinux() || !NativeLibrary.TryLoad("libcuda.so.1", out var driver))
            return null;
        if (!NativeLibrary.TryGetExport(driver, "cuDriverGetVersion", out var export))
            return null;
        var getVersion = Marshal.GetDelegateForFunctionPointer<CuDriverGetVersion>(export);
        return getVersion(out var version) == 0 ? version : null;
    }

    /// <summary>
    /// One sentence on what stands between this machine and the CUDA provider, or null when nothing visible does:
    /// "no NVIDIA driver is visible (libcuda.so.1); missing: libcublasLt.so.13, libcudnn.so.9".
    /// </summary>
    public static string? Diagnose() => Diagnose(MissingLibraries(), DriverCudaVersion());

    internal static string? Diagnose(IReadOnlyList<string> missing, int? driverVersion)
    {
        var parts = new List<string>();
        if (missing.Contains("libcuda.so.1"))
            parts.Add("no NVIDIA driver is visible (libcuda.so.1 does not load: no GPU, or the container runs without the GPU runtime)");
        else if (driverVersion is { } version && version < RequiredDriverCudaVersion)
            parts.Add($"the NVIDIA driver supports CUDA {FormatVersion(version)} only, and ONNX Runtime 1.31 is built for CUDA 13.0 " +
                      "(an R580 or newer driver, or the cuda-compat-13-0 forward-compatibility library on a data-center GPU)");
        var userSpace = missing.Where(name => name != "libcuda.so.1").ToArray();
        if (userSpace.Length > 0)
            parts.Add($"missing CUDA 13 / cuDNN 9 libraries: {string.Join(", ", userSpace)}");
        return parts.Count == 0 ? null : string.Join("; ", parts);
    }

    internal static string FormatVersion(int version) => $"{version / 1000}.{version % 1000 / 10}";

    private static bool CanLoad(string name)
    {
        if (!NativeLibrary.TryLoad(name, out var handle))
            return false;
        if (name != "libcuda.so.1")
            NativeLibrary.Free(handle);
        return true;
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int CuDriverGetVersion(out int version);
}
