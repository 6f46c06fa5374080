namespace FuncRerank.Inference;

/// <summary>Free and total memory of a CUDA device, in bytes (<see cref="CudaMemory"/>).</summary>
public readonly record struct GpuMemory(long FreeBytes, long TotalBytes);
