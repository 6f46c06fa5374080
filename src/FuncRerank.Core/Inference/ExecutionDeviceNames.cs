namespace FuncRerank.Inference;

/// <summary>How <see cref="ExecutionDevice"/> is written: in the configuration and on the command line, and by ONNX Runtime.</summary>
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
