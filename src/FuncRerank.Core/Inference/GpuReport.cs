using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace FuncRerank.Inference;

/// <summary>
/// Which GPU the process sees, read from NVIDIA's management library (NVML, <c>libnvidia-ml.so.1</c>, which the GPU
/// host puts in the container with its driver), the CUDA driver library the process loads (<c>libcuda.so.1</c>: the
/// host's, or the image's forward-compatibility copy, cuda-compat-13-0, under an older driver) and the CUDA runtime the
/// CUDA provider links (<c>libcudart.so.13</c>, through <see cref="CudaRuntime"/>). Microsoft's page on Functions with
/// serverless GPUs states a platform CUDA runtime of 12.x, and ONNX Runtime 1.31's CUDA provider needs 13.0: this line
/// says which case a replica is in.
/// Absent pieces are null, with <see cref="Unavailable"/> saying why.
/// </summary>
/// <param name="DriverCudaVersion">The CUDA version the host's driver supports (NVML), e.g. 12020 for 12.2.</param>
/// <param name="LoadedCudaVersion">What the loaded libcuda.so.1 reports (cuDriverGetVersion): higher than the driver's under forward compatibility.</param>
/// <param name="RuntimeCudaVersion">The CUDA runtime's version (cudaRuntimeGetVersion).</param>
public sealed record GpuReport(string? Name, long? MemoryBytes, string? DriverVersion, int? DriverCudaVersion, int? LoadedCudaVersion,
    int? RuntimeCudaVersion, string? Unavailable)
{
    public const string ManagementLibrary = "libnvidia-ml.so.1";

    /// <summary>One line for the log, /health and /info: "Tesla T4, 15,360 MiB; driver 580.65.06 (CUDA 13.0); CUDA runtime 13.0".</summary>
    public string Describe()
    {
        var text = new StringBuilder(Name ?? "no GPU visible");
        if (MemoryBytes is { } memory)
            text.Append(CultureInfo.InvariantCulture, $", {memory / (1024 * 1024):N0} MiB");
        text.Append(DriverVersion is null ? "; no NVIDIA driver" : $"; driver {DriverVersion}");
        if (DriverCudaVersion is { } driverCuda)
            text.Append($" (CUDA {CudaEnvironment.FormatVersion(driverCuda)})");
        if (LoadedCudaVersion is { } loaded && loaded != DriverCudaVersion)
            text.Append($"; libcuda.so.1 in use reports CUDA {CudaEnvironment.FormatVersion(loaded)}" +
                        (DriverCudaVersion is not null && loaded > DriverCudaVersion ? " (forward compatibility)" : ""));
        text.Append(RuntimeCudaVersion is { } runtime ? $"; CUDA runtime {CudaEnvironment.FormatVersion(runtime)}" : $"; no CUDA runtime ({CudaRuntime.Library})");
        if ((LoadedCudaVersion ?? DriverCudaVersion) is { } usable && usable < CudaEnvironment.RequiredDriverCudaVersion)
            text.Append($"; ONNX Runtime 1.31's CUDA provider needs CUDA {CudaEnvironment.FormatVersion(CudaEnvironment.RequiredDriverCudaVersion)}: it cannot run here");
        if (Unavailable is not null)
            text.Append($" ({Unavailable})");
        return text.ToString();
    }

    /// <summary>Reads this machine: NVML for the GPU and driver, cuDriverGetVersion, cudaRuntimeGetVersion.</summary>
    public static GpuReport Read()
    {
        var runtime = CudaRuntime.Version();
        var loaded = CudaEnvironment.DriverCudaVersion();
        if (!OperatingSystem.IsLinux() || !NativeLibrary.TryLoad(ManagementLibrary, out var nvml))
            return new GpuReport(null, null, null, null, loaded, runtime, $"{ManagementLibrary} does not load: no NVIDIA driver in this container");
        return ReadNvml(nvml, loaded, runtime);
    }

    private static unsafe GpuReport ReadNvml(IntPtr nvml, int? loaded, int? runtime)
    {
        var init = (delegate* unmanaged<int>)Export(nvml, "nvmlInit_v2");
        if (init is null || init() != 0)
            return new GpuReport(null, null, null, null, loaded, runtime, "NVML did not initialise (nvmlInit_v2)");
        try
        {
            var buffer = stackalloc byte[96];
            string? driver = null;
            var getDriver = (delegate* unmanaged<byte*, uint, int>)Export(nvml, "nvmlSystemGetDriverVersion");
            if (getDriver is not null && getDriver(buffer, 96) == 0)
                driver = Marshal.PtrToStringUTF8((IntPtr)buffer);
            int? driverCuda = null;
            var getCuda = (delegate* unmanaged<int*, int>)Export(nvml, "nvmlSystemGetCudaDriverVersion_v2");
            int cudaVersion;
            if (getCuda is not null && getCuda(&cudaVersion) == 0)
                driverCuda = cudaVersion;
            IntPtr device;
            var getHandle = (delegate* unmanaged<uint, IntPtr*, int>)Export(nvml, "nvmlDeviceGetHandleByIndex_v2");
            if (getHandle is null || getHandle(0, &device) != 0)
                return new GpuReport(null, null, driver, driverCuda, loaded, runtime, "NVML sees no GPU (nvmlDeviceGetHandleByIndex_v2)");
            string? name = null;
            var getName = (delegate* unmanaged<IntPtr, byte*, uint, int>)Export(nvml, "nvmlDeviceGetName");
            if (getName is not null && getName(device, buffer, 96) == 0)
                name = Marshal.PtrToStringUTF8((IntPtr)buffer);
            long? memory = null;
            var getMemory = (delegate* unmanaged<IntPtr, ulong*, int>)Export(nvml, "nvmlDeviceGetMemoryInfo");
            var info = stackalloc ulong[3]; // nvmlMemory_t: total, free, used
            if (getMemory is not null && getMemory(device, info) == 0)
                memory = (long)info[0];
            return new GpuReport(name, memory, driver, driverCuda, loaded, runtime, null);
        }
        finally
        {
            var shutdown = (delegate* unmanaged<int>)Export(nvml, "nvmlShutdown");
            if (shutdown is not null)
                shutdown();
        }
    }

    private static IntPtr Export(IntPtr library, string name) => NativeLibrary.TryGetExport(library, name, out var address) ? address : IntPtr.Zero;
}
