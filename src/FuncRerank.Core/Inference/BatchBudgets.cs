using FuncRerank.Model;

namespace FuncRerank.Inference;

/// <summary>
/// The batch budgets a forward pass keeps to (<see cref="BatchSchedulerOptions.MaxBatchTokens"/>,
/// <see cref="BatchSchedulerOptions.MaxAttentionCells"/>) when the configuration sets none: chosen per execution provider,
/// with the reason in words for the startup log.
/// </summary>
public sealed record BatchBudgets(int MaxBatchTokens, long MaxAttentionCells, string Reason)
{
    /// <summary>Measured on the CPU (docs/performance.md): 16,384 padded tokens, and one 8,192-token prompt's attention square.</summary>
    public static BatchBudgets Cpu { get; } = new(BatchSchedulerOptions.DefaultMaxBatchTokens, BatchSchedulerOptions.DefaultMaxAttentionCells,
        "the CPU's measured defaults");

    /// <summary>The least a GPU batch may hold: the CPU's budget (a smaller one would only split batches the GPU runs as fast).</summary>
    public const int MinCudaBatchTokens = BatchSchedulerOptions.DefaultMaxBatchTokens;

    /// <summary>
    /// The most a GPU batch holds: 65,536 tokens (a request of 100 documents × 512 tokens in one batch; tensor cores want
    /// thousands of rows per matrix product). To be confirmed by bench/gpu, which times 16k, 32k and 64k on a GPU.
    /// </summary>
    public const int MaxCudaBatchTokens = 65536;

    /// <summary>
    /// CUDA budgets from the memory free once the session holds its weights. Half of it is for batches (ONNX Runtime's arena
    /// grows in power-of-two chunks and keeps them), shared evenly by the dense activations (per padded token: the residual,
    /// two norms' outputs, q/k/v and the attention output and its gathers, the MLP's gate, up and product, in the compute
    /// dtype) and, when attention is transformers-style, its float32 squares (per cell, i.e. row × key: scores and
    /// probabilities for every head plus the shared bias and its masks). Attention by lengths keeps no square, so its
    /// attention is bounded by the token budget alone.
    /// </summary>
    public static BatchBudgets ForCuda(Qwen3Config config, ModelPrecision precision, bool attentionByLengths, GpuMemory memory)
    {
        var share = memory.FreeBytes / 4;
        var tokens = (int)Math.Clamp(share / DenseBytesPerToken(config, precision), MinCudaBatchTokens, MaxCudaBatchTokens);
        var cells = attentionByLengths ? long.MaxValue : Math.Max(1, share / AttentionBytesPerCell(config));
        var gib = memory.FreeBytes / (double)(1L << 30);
        return new BatchBudgets(tokens, cells, attentionByLengths
            ? $"CUDA defaults from {gib:F1} GiB free on the GPU at load; attention by lengths keeps no S × S square, so no attention budget"
            : $"CUDA defaults from {gib:F1} GiB free on the GPU at load; {AttentionBytesPerCell(config)} bytes per attention cell");
    }

    public static long DenseBytesPerToken(Qwen3Config config, ModelPrecision precision)
    {
        long element = precision == ModelPrecision.Float32 ? 4 : 2;
        var attentionWidth = (long)config.NumAttentionHeads * config.HeadDim;
        var kvWidth = (long)config.NumKeyValueHeads * config.HeadDim;
        return element * (4L * config.HiddenSize + 2 * (attentionWidth + 2 * kvWidth) + 2 * attentionWidth + 3L * config.IntermediateSize);
    }

    public static long AttentionBytesPerCell(Qwen3Config config) => 8L * config.NumAttentionHeads + 8;

    /// <summary>What a batch keeps to: the configured budget where there is one, else this default (<see cref="Reason"/> still says where the defaults came from).</summary>
    public BatchBudgets Apply(BatchSchedulerOptions configured) => this with
    {
        MaxBatchTokens = configured.MaxBatchTokens ?? MaxBatchTokens,
        MaxAttentionCells = configured.MaxAttentionCells ?? MaxAttentionCells,
    };
}
