namespace FuncRerank.Inference;

/// <summary>Where the ONNX Runtime session runs (<see cref="ScorerOptions.Device"/>; names in <see cref="ExecutionDeviceNames"/>).</summary>
public enum ExecutionDevice
{
    Cpu,
    Cuda,
}
