namespace FuncRerank.Inference;

public sealed record ScorerOptions
{
    public ExecutionDevice Device { get; init; } = ExecutionDevice.Cpu;

    /// <summary>When CUDA was asked for but cannot load: refuse to start (true) or fall back to the CPU with a warning (false).</summary>
    public bool RequireCuda { get; init; }

    public int CudaDeviceId { get; init; }

    /// <summary>0 lets ONNX Runtime use one thread per core.</summary>
    public int IntraOpThreads { get; init; }
}
