namespace FuncRerank.Inference;

/// <summary>
/// Room in the queue's token bound (<see cref="BatchSchedulerOptions.MaxQueuedTokens"/>) held for one request while its
/// prompts are built, so that the bound counts a request's tokens as soon as they are known, not only once every prompt
/// is built: a request that cannot fit is refused before the rest of it is tokenized, and concurrent huge requests do
/// not all tokenize in full when the queue can take only one of them. Taken with <see cref="BatchScheduler.Reserve"/>;
/// <see cref="BatchScheduler.ScoreAsync(IReadOnlyList{int[]}, QueueReservation?, CancellationToken)"/> turns it into the
/// queued request's tokens in one step. Dispose it whatever happens (cancelled, failed, refused); after the hand-over
/// that does nothing. Not for concurrent use by several threads (one request builds its prompts in order).
/// </summary>
public sealed class QueueReservation : IDisposable
{
    internal QueueReservation(BatchScheduler scheduler) => Scheduler = scheduler;

    internal BatchScheduler Scheduler { get; }

    /// <summary>Tokens held now; guarded by the scheduler's lock.</summary>
    public long Tokens { get; internal set; }

    /// <summary>Handed over, refused, disposed, or the scheduler shut down: it holds nothing and takes nothing more.</summary>
    internal bool Released { get; set; }

    /// <summary>
    /// Holds <paramref name="tokens"/> more for this request. Throws <see cref="QueueFullException"/> when they do not fit
    /// by the rule a submission keeps to (a request larger than the whole bound fits only when nothing else waits or is
    /// reserved); the reservation then lets go of everything it held. Throws <see cref="ObjectDisposedException"/> once it
    /// is released or the scheduler is shut down.
    /// </summary>
    public void Add(long tokens) => Scheduler.Grow(this, tokens);

    /// <summary>Lets go of what is held, unless it was already handed over or released.</summary>
    public void Dispose() => Scheduler.Release(this);
}
