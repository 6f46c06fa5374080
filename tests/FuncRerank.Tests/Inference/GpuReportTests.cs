using FuncRerank.Inference;

namespace FuncRerank.Tests.Inference;

/// <summary>
/// The GPU line of the startup log, /health and /info: read for real here, where no NVIDIA driver, NVML or CUDA runtime
/// exists, and formatted from given values for the cases this machine cannot show.
/// </summary>
public class GpuReportTests
{
    [Fact]
    public void On_a_machine_without_an_nvidia_driver_it_says_so_and_why()
    {
        // This machine has no GPU: the loader must find none of the libraries (if one appears, the test says which).
        Assert.False(System.Runtime.InteropServices.NativeLibrary.TryLoad(GpuReport.ManagementLibrary, out _), "NVML loads here: the absent path is not tested");

        var report = GpuReport.Read();

        Assert.Null(report.Name);
        Assert.Null(report.DriverVersion);
        Assert.Null(report.DriverCudaVersion);
        Assert.Null(report.LoadedCudaVersion);
        Assert.Null(report.RuntimeCudaVersion);
        Assert.Equal("no GPU visible; no NVIDIA driver; no CUDA runtime (libcudart.so.13) (libnvidia-ml.so.1 does not load: no NVIDIA driver in this container)",
            report.Describe());
    }

    [Theory]
    [InlineData("Tesla T4", 16106127360L, "580.65.06", 13000, 13000, 13000, null,
        "Tesla T4, 15,360 MiB; driver 580.65.06 (CUDA 13.0); CUDA runtime 13.0")]
    [InlineData("NVIDIA A100 80GB PCIe", 85899345920L, "535.54.03", 12020, 13000, 13000, null,
        "NVIDIA A100 80GB PCIe, 81,920 MiB; driver 535.54.03 (CUDA 12.2); libcuda.so.1 in use reports CUDA 13.0 (forward compatibility); CUDA runtime 13.0")]
    [InlineData("Tesla T4", 16106127360L, "550.54.15", 12040, 12040, 13000, null,
        "Tesla T4, 15,360 MiB; driver 550.54.15 (CUDA 12.4); CUDA runtime 13.0; ONNX Runtime 1.31's CUDA provider needs CUDA 13.0: it cannot run here")]
    [InlineData(null, null, "570.86.15", 12080, null, null, "NVML sees no GPU (nvmlDeviceGetHandleByIndex_v2)",
        "no GPU visible; driver 570.86.15 (CUDA 12.8); no CUDA runtime (libcudart.so.13); ONNX Runtime 1.31's CUDA provider needs CUDA 13.0: it cannot run here (NVML sees no GPU (nvmlDeviceGetHandleByIndex_v2))")]
    public void The_line_names_the_gpu_its_memory_the_driver_and_cuda_versions_and_whether_cuda_13_can_run(string? name, long? memory, string? driver,
        int? driverCuda, int? loadedCuda, int? runtime, string? unavailable, string expected)
    {
        Assert.Equal(expected, new GpuReport(name, memory, driver, driverCuda, loadedCuda, runtime, unavailable).Describe());
    }
}
