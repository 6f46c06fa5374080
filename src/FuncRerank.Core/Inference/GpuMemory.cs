namespace FuncRerank.Inference;

/// <summary>Free and total memory of a CUDA device, in bytes (<see cref="CudaRuntime.Memory"/>).</summary>
public readonly record struct GpuMemory(long FreeBytes, long TotalBytes);
