namespace FuncRerank.Inference;

public enum ExecutionDevice
{
    Cpu,
    Cuda,
}

public sealed record ScorerOptions
{
    public ExecutionDevice Device { get; init; } = ExecutionDevice.Cpu;

    /// <summary>When CUDA was asked for but cannot load: refuse to start (true) or fall back to the CPU with a warning (false).</summary>
    public bool RequireCuda { get; init; }

    public int CudaDeviceId { get; init; }

    /// <summary>0 lets ONNX Runtime use one thread per core.</summary>
    public int IntraOpThreads { get; init; }
}

public static class ExecutionDeviceNames
{
    /// <summary>ONNX Runtime's name for the execution provider that runs on <paramref name="device"/>.</summary>
    public static string ProviderName(ExecutionDevice device) => device == ExecutionDevice.Cuda ? "CUDAExecutionProvider" : "CPUExecutionProvider";

    public static ExecutionDevice Parse(string name) => name.ToLowerInvariant() switch
    {
        "cpu" => ExecutionDevice.Cpu,
        "cuda" or "gpu" => ExecutionDevice.Cuda,
        _ => throw new ArgumentException($"unknown device '{name}'; use cpu or cuda"),
    };
}
