using System.Runtime.InteropServices;
using FuncRerank.Inference;

namespace FuncRerank.Tests.Model;

/// <summary>The words a CUDA fallback carries: which piece of the CUDA 13 stack is missing, or how old the driver is.</summary>
public class CudaEnvironmentTests
{
    [Fact]
    public void A_machine_without_a_driver_says_so_first()
    {
        var text = CudaEnvironment.Diagnose(["libcuda.so.1", "libcublasLt.so.13", "libcudnn.so.9"], driverVersion: null);

        Assert.Equal(
            "no NVIDIA driver is visible (libcuda.so.1 does not load: no GPU, or the container runs without the GPU runtime); " +
            "missing CUDA 13 / cuDNN 9 libraries: libcublasLt.so.13, libcudnn.so.9", text);
    }

    [Fact]
    public void A_driver_older_than_cuda_13_is_named_with_its_version_and_the_two_ways_out()
    {
        var text = CudaEnvironment.Diagnose([], driverVersion: 12020)!;

        Assert.StartsWith("the NVIDIA driver supports CUDA 12.2 only, and ONNX Runtime 1.31 is built for CUDA 13.0", text);
        Assert.Contains("R580", text);
        Assert.Contains("cuda-compat-13-0", text);
    }

    [Fact]
    public void A_complete_stack_has_nothing_to_report()
    {
        Assert.Null(CudaEnvironment.Diagnose([], driverVersion: 13000));
        Assert.Null(CudaEnvironment.Diagnose([], driverVersion: 13020));
        Assert.Equal("13.2", CudaEnvironment.FormatVersion(13020));
    }

    /// <summary>ONNX Runtime 1.31's CUDA provider's needs, written out here (not taken from the code's list) in the order the diagnosis names them.</summary>
    private static readonly string[] CudaLibraries =
    [
        "libcuda.so.1", "libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13", "libcurand.so.10", "libcufft.so.12", "libnvrtc.so.13",
        "libcudnn.so.9",
    ];

    [Fact]
    public void On_this_machine_the_diagnosis_names_exactly_the_libraries_the_loader_cannot_find()
    {
        var missing = CudaLibraries.Where(name => !NativeLibrary.TryLoad(name, out _)).ToArray();

        Assert.Equal(missing, CudaEnvironment.MissingLibraries());
        var text = CudaEnvironment.Diagnose();
        if (missing.Length == CudaLibraries.Length)
        {
            // A machine without any of the CUDA stack (CI): the whole sentence.
            Assert.Equal(
                "no NVIDIA driver is visible (libcuda.so.1 does not load: no GPU, or the container runs without the GPU runtime); " +
                "missing CUDA 13 / cuDNN 9 libraries: libcudart.so.13, libcublas.so.13, libcublasLt.so.13, libcurand.so.10, " +
                "libcufft.so.12, libnvrtc.so.13, libcudnn.so.9", text);
        }
        else if (missing.Length == 0 && CudaEnvironment.DriverCudaVersion() >= 13000)
        {
            Assert.Null(text);
        }
        else
        {
            Assert.NotNull(text);
            Assert.All(missing.Where(l => l != "libcuda.so.1"), library => Assert.Contains(library, text));
            Assert.All(CudaLibraries.Except(missing), library => Assert.DoesNotContain(library + ",", text + ","));
        }
    }
}
