namespace FuncRerank.Inference;

public sealed record BatchSchedulerOptions
{
    public const int DefaultMaxBatchTokens = 16384;

    /// <summary>1,000 documents at the 8,192-token limit (8.2 M tokens, about 33 MB of ids) fit an empty queue.</summary>
    public const long DefaultMaxQueuedTokens = 8L * 1024 * 1024;

    /// <summary>Padded tokens per forward pass (rows × longest row); a prompt longer than this runs alone.</summary>
    public int MaxBatchTokens { get; init; } = DefaultMaxBatchTokens;

    /// <summary>One 8,192-token prompt's square: a batch never needs more attention memory than one prompt at the model card's length.</summary>
    public const long DefaultMaxAttentionCells = 8192L * 8192;

    /// <summary>
    /// Rows × longest row² per forward pass. Attention computes a width × width square of float32 probabilities per row
    /// and head, held whole (ONNX Runtime's CPU GroupQueryAttention, and the unfused graph): 4.3 GB per layer for one
    /// 8,192-token row of the 0.6B model's 16 heads, so two such rows, which the token budget allows, would need 8.6 GB.
    /// A prompt over it runs alone.
    /// </summary>
    public long MaxAttentionCells { get; init; } = DefaultMaxAttentionCells;

    /// <summary>
    /// Prompt tokens that may wait for a forward pass, counting those of requests still building their prompts. A
    /// request that would go over it is refused at once (<see cref="QueueFullException"/>), as soon as its tokens are
    /// known; a request larger than the whole bound is taken only when nothing else waits or is reserved.
    /// </summary>
    public long MaxQueuedTokens { get; init; } = DefaultMaxQueuedTokens;
}

/// <summary>
/// What waits for a forward pass right now (pairs in the running batch are no longer counted), and the requests still
/// building their prompts with the tokens they have reserved so far (<see cref="BatchScheduler.Reserve"/>).
/// <see cref="BatchSchedulerOptions.MaxQueuedTokens"/> bounds <see cref="Tokens"/> and <see cref="ReservedTokens"/> together.
/// </summary>
public readonly record struct QueueStatus(int Requests, int Pairs, long Tokens, int Tokenizing = 0, long ReservedTokens = 0);

/// <summary>
/// A request's logits in its rows' order, and what its pairs spent, averaged over them as TEI reports it: waiting
/// (submission to the start of the pair's batch) and in the forward pass (the batch's duration).
/// </summary>
public sealed record ScheduledLogits(float[] Logits, TimeSpan QueueTime, TimeSpan InferenceTime);

/// <summary>
/// The queue is at its bound; the caller should answer 429 with <see cref="RetryAfter"/>. <see cref="QueuedTokens"/> counts
/// the tokens reserved by other requests still being tokenized; <see cref="RequestTokens"/> is what this request's tokens
/// were known to be when it was refused (before all its prompts were built, a part of them).
/// </summary>
public sealed class QueueFullException(long queuedTokens, long requestTokens, long maxQueuedTokens, TimeSpan retryAfter)
    : Exception($"the server is busy: {queuedTokens} prompt tokens are waiting or being tokenized and this request adds at least {requestTokens}, " +
                $"over the queue's limit of {maxQueuedTokens}; retry in {retryAfter.TotalSeconds:0} s")
{
    public long QueuedTokens { get; } = queuedTokens;

    public long RequestTokens { get; } = requestTokens;

    public long MaxQueuedTokens { get; } = maxQueuedTokens;

    /// <summary>Time to drain what waits now at the recent throughput, between 1 and 60 s.</summary>
    public TimeSpan RetryAfter { get; } = retryAfter;
}

/// <summary>The forward pass that held some of this request's pairs failed; the batch's other requests failed with it, no other.</summary>
public sealed class BatchFailedException(int batchRows, Exception inner)
    : Exception($"a batch of {batchRows} pairs failed: {inner.Message}", inner);
