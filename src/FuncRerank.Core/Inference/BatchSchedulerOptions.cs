namespace FuncRerank.Inference;

/// <summary>
/// How the <see cref="BatchScheduler"/> cuts batches and how much may wait for them: <see cref="RerankerOptions.Batching"/>,
/// set from the <c>Reranker</c> configuration. An unset budget is the scorer's default for its execution provider
/// (<see cref="IBatchScorer.DefaultBudgets"/>, <see cref="BatchBudgets"/>).
/// </summary>
public sealed record BatchSchedulerOptions
{
    /// <summary>The CPU's padded-token budget (<see cref="BatchBudgets.Cpu"/>).</summary>
    public const int DefaultMaxBatchTokens = 16384;

    /// <summary>1,000 documents at the 8,192-token limit (8.2 M tokens, about 33 MB of ids) fit an empty queue.</summary>
    public const long DefaultMaxQueuedTokens = 8L * 1024 * 1024;

    /// <summary>Padded tokens per forward pass (rows × longest row); a prompt longer than this runs alone. Null: the execution provider's default.</summary>
    public int? MaxBatchTokens { get; init; }

    /// <summary>One 8,192-token prompt's square: a batch never needs more attention memory than one prompt at the model card's length.</summary>
    public const long DefaultMaxAttentionCells = 8192L * 8192;

    /// <summary>
    /// Rows × longest row² per forward pass. Attention computes a width × width square of float32 probabilities per row
    /// and head, held whole (ONNX Runtime's CPU GroupQueryAttention, and the unfused graph): 4.3 GB per layer for one
    /// 8,192-token row of the 0.6B model's 16 heads, so two such rows, which the token budget allows, would need 8.6 GB.
    /// A prompt over it runs alone. Null: the execution provider's default.
    /// </summary>
    public long? MaxAttentionCells { get; init; }

    /// <summary>
    /// Prompt tokens that may wait for a forward pass, counting those of requests still building their prompts. A
    /// request that would go over it is refused at once (<see cref="QueueFullException"/>), as soon as its tokens are
    /// known; a request larger than the whole bound is taken only when nothing else waits or is reserved.
    /// </summary>
    public long MaxQueuedTokens { get; init; } = DefaultMaxQueuedTokens;
}
