namespace FuncRerank.Inference;

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
