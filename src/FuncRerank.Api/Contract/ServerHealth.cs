using FuncRerank.Inference;

namespace FuncRerank.Api.Contract;

/// <summary>What <c>GET /health</c> reports when the replica would serve a request.</summary>
/// <param name="Model">The served model name.</param>
/// <param name="Device">Where the graph runs (CUDA may have fallen back to the CPU).</param>
/// <param name="ExecutionProviderReason">Why it runs there: what was asked for and, after a fallback, what failed.</param>
/// <param name="Gpu">The GPU, driver and CUDA runtime the replica sees (<see cref="GpuReport.Describe"/>).</param>
public sealed record ServerHealth(string Model, ExecutionDevice Device, string ExecutionProvider, string ExecutionProviderReason, string? Gpu, QueueStatus Queue);
