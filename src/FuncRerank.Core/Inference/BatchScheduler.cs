using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FuncRerank.Inference;

/// <summary>
/// The one queue in front of the process's one scorer (TEI's queue + batching task, for pairs). Requests submit their
/// prompt id rows and await their logits; one background thread cuts batches of at most
/// <see cref="BatchSchedulerOptions.MaxBatchTokens"/> padded tokens out of every waiting request's pairs and runs them
/// one at a time (ONNX Runtime already spreads one run over every core, and a GPU runs one batch best).
/// </summary>
/// <remarks>
/// <para><b>Which pairs run next: fair queuing by tokens.</b> A request's pairs are sorted by length and each gets a
/// key: the virtual time when the request arrived plus the request's prompt tokens up to and including that pair. The
/// virtual time is the largest key dispatched so far. Taking the smallest keys first shares the model between the
/// requests that wait, in proportion to tokens, instead of serving whole requests in arrival order: a 3-document request
/// that arrives behind a 1,000-document one gets keys next to the big one's next pairs and finishes within a batch or
/// two, not after it. A request alone gets the whole model.</para>
/// <para><b>Which pairs share a batch.</b> Each batch starts from a cut: the waiting pairs with the smallest keys, up
/// to twice the batch budget in real tokens. The cut is sorted by length and <see cref="BatchPlanner"/> grows a batch
/// around the cut's smallest key (the anchor), so pairs from different requests with similar lengths share batches
/// and padding stays small. The pairs not taken keep their keys and lead the next cut.</para>
/// <para><b>No starvation.</b> Every batch runs the waiting pair with the smallest key, a new request's keys are
/// larger than the virtual time, and the queue is bounded, so every pair's turn comes after a bounded number of
/// batches, however long or short it is and whatever arrives after it.</para>
/// <para><b>The bound.</b> <see cref="BatchSchedulerOptions.MaxQueuedTokens"/> holds the prompt tokens that wait and
/// those reserved by requests still building their prompts (<see cref="Reserve"/>): a request's tokens count from the
/// moment they are known, so a request that cannot fit is refused before the rest of it is tokenized. A reservation
/// becomes the queued request's tokens in one step under the lock, never counted twice nor left out in between. It
/// does not touch the fair-queuing keys: a request gets them when it is queued, as one without a reservation does.</para>
/// <para><b>Leaving.</b> A request whose cancellation token fires (client gone, deadline) leaves the queue at once with
/// its waiting pairs; if every request of the running batch has left, the run itself is cancelled. A failed forward pass
/// fails the requests that had pairs in it and no other; the next batch runs as usual.</para>
/// </remarks>
public sealed class BatchScheduler : IDisposable
{
    private readonly IBatchScorer _scorer;
    private readonly BatchSchedulerOptions _options;
    private readonly ILogger _logger;
    private readonly SchedulerMetrics _metrics;
    private readonly Thread _thread;
    private readonly object _gate = new();

    // Everything below is guarded by _gate.
    private readonly List<Submission> _waiting = []; // requests with pairs not yet dispatched, in arrival order
    private Batch? _running;
    private long _virtualTime;
    private long _nextSequence;
    private int _queuedPairs;
    private long _queuedTokens;
    private int _reservations; // requests building their prompts
    private long _reservedTokens;
    private double _tokensPerSecond;
    private bool _closed;

    public BatchScheduler(IBatchScorer scorer, BatchSchedulerOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(scorer);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatchTokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxQueuedTokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxAttentionCells, 1);
        _scorer = scorer;
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        _metrics = new SchedulerMetrics(this);
        _thread = new Thread(RunBatches) { IsBackground = true, Name = "FuncRerank batches" };
        _thread.Start();
    }

    public QueueStatus Queue
    {
        get
        {
            lock (_gate)
                return new QueueStatus(_waiting.Count, _queuedPairs, _queuedTokens, _reservations, _reservedTokens);
        }
    }

    /// <summary>
    /// Room in the queue's bound for a request whose prompts are about to be built: add each prompt's tokens to it as
    /// they become known (<see cref="QueueReservation.Add"/>, refused at once when they do not fit), then hand it to
    /// <see cref="ScoreAsync(IReadOnlyList{int[]}, QueueReservation?, CancellationToken)"/> with the prompts; dispose it
    /// in any case. It starts empty; an empty reservation holds nothing and is refused nothing.
    /// </summary>
    public QueueReservation Reserve()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            _reservations++;
            return new QueueReservation(this);
        }
    }

    /// <summary>
    /// Queues <paramref name="rows"/> (prompt ids, each non-empty) and completes with their logits in the same order once
    /// the last of them is scored. Every failure comes through the task: already failed with
    /// <see cref="QueueFullException"/> when the queue is full (nothing was queued), cancelled when
    /// <paramref name="cancellationToken"/> fires first, failed with <see cref="BatchFailedException"/> when a batch
    /// holding one of its pairs fails, and with <see cref="ObjectDisposedException"/> when the scheduler shuts down.
    /// </summary>
    public Task<ScheduledLogits> ScoreAsync(IReadOnlyList<int[]> rows, CancellationToken cancellationToken = default) =>
        ScoreAsync(rows, null, cancellationToken);

    /// <summary>
    /// As <see cref="ScoreAsync(IReadOnlyList{int[]}, CancellationToken)"/>, for a request that reserved its room while
    /// its prompts were built: <paramref name="reservation"/>'s tokens become the queued request's in the same step
    /// (checked against the bound without counting them twice), and whatever happens it holds nothing afterwards.
    /// </summary>
    public Task<ScheduledLogits> ScoreAsync(IReadOnlyList<int[]> rows, QueueReservation? reservation, CancellationToken cancellationToken = default)
    {
        if (reservation is not null && reservation.Scheduler != this)
            return Task.FromException<ScheduledLogits>(new ArgumentException("the reservation belongs to another scheduler", nameof(reservation)));
        ArgumentNullException.ThrowIfNull(rows);
        for (var i = 0; i < rows.Count; i++)
        {
            if (rows[i] is not { Length: > 0 })
                return Refused(reservation, new ArgumentException($"row {i} is empty", nameof(rows)));
        }

        if (rows.Count == 0)
        {
            reservation?.Dispose();
            return Task.FromResult(new ScheduledLogits([], TimeSpan.Zero, TimeSpan.Zero));
        }

        if (cancellationToken.IsCancellationRequested)
        {
            reservation?.Dispose();
            return Task.FromCanceled<ScheduledLogits>(cancellationToken);
        }

        var submission = new Submission(rows);
        // Registered before queueing, so the batch thread only ever sees a submission whose registration is set; a
        // token that fires in between marks it done, and it is then never queued.
        submission.Registration = cancellationToken.Register(() => Leave(submission, cancellationToken));
        lock (_gate)
        {
            // The reservation's tokens leave the reserved count here and enter the queued count below, under the same
            // lock: nobody sees them twice or not at all.
            var reused = reservation is { Released: true };
            if (reservation is not null)
                ReleaseLocked(reservation);
            if (_closed)
            {
                submission.Registration.Unregister();
                return Task.FromException<ScheduledLogits>(new ObjectDisposedException(nameof(BatchScheduler)));
            }

            if (reused)
            {
                submission.Registration.Unregister();
                return Task.FromException<ScheduledLogits>(new ObjectDisposedException(nameof(QueueReservation), "the reservation was already handed over or released"));
            }

            if (Overflows(_queuedTokens + _reservedTokens, submission.Tokens))
            {
                submission.Registration.Unregister();
                return Task.FromException<ScheduledLogits>(Rejected(submission.Tokens));
            }

            if (!submission.Done)
            {
                submission.Enqueue(_virtualTime, _nextSequence++);
                _waiting.Add(submission);
                _queuedPairs += submission.QueuedPairs;
                _queuedTokens += submission.QueuedTokens;
                Monitor.Pulse(_gate);
            }
        }

        return submission.Completion.Task;

        static Task<ScheduledLogits> Refused(QueueReservation? reservation, Exception error)
        {
            reservation?.Dispose();
            return Task.FromException<ScheduledLogits>(error);
        }
    }

    /// <summary>
    /// A request larger than the whole bound still gets in when nothing else waits or is reserved (it would never fit
    /// otherwise); anything else must fit beside what is there. <paramref name="others"/> counts everyone else's tokens.
    /// </summary>
    private bool Overflows(long others, long tokens) => others > 0 && others + tokens > _options.MaxQueuedTokens;

    /// <summary>Counts a refusal and says why; call under the lock, with the request's own tokens out of the counts.</summary>
    private QueueFullException Rejected(long requestTokens)
    {
        Measure(() => _metrics.Rejected());
        return new QueueFullException(_queuedTokens + _reservedTokens, requestTokens, _options.MaxQueuedTokens, RetryAfter());
    }

    /// <summary><see cref="QueueReservation.Add"/>: refused, it lets go of everything, so a refused request holds nothing.</summary>
    internal void Grow(QueueReservation reservation, long tokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            ObjectDisposedException.ThrowIf(reservation.Released, reservation);
            if (tokens == 0)
                return;
            var requestTokens = reservation.Tokens + tokens;
            if (Overflows(_queuedTokens + _reservedTokens - reservation.Tokens, requestTokens))
            {
                ReleaseLocked(reservation);
                throw Rejected(requestTokens);
            }

            reservation.Tokens = requestTokens;
            _reservedTokens += tokens;
        }
    }

    /// <summary><see cref="QueueReservation.Dispose"/>.</summary>
    internal void Release(QueueReservation reservation)
    {
        lock (_gate)
            ReleaseLocked(reservation);
    }

    private void ReleaseLocked(QueueReservation reservation)
    {
        if (reservation.Released)
            return;
        reservation.Released = true;
        // Shutting down zeroed the counts and took every reservation's share with them.
        if (!_closed)
        {
            _reservations--;
            _reservedTokens -= reservation.Tokens;
        }

        reservation.Tokens = 0;
    }

    /// <summary>Fails whatever waits or runs with <see cref="ObjectDisposedException"/>, stops the running batch and the thread.</summary>
    public void Dispose()
    {
        List<Submission> abandoned;
        Batch? running;
        lock (_gate)
        {
            if (_closed)
                return;
            _closed = true;
            running = _running;
            abandoned = _waiting.Concat(running?.Submissions ?? []).Where(s => !s.Done).Distinct().ToList();
            foreach (var submission in abandoned)
                submission.Done = true;
            _waiting.Clear();
            _queuedPairs = 0;
            _queuedTokens = 0;
            _reservations = 0;
            _reservedTokens = 0;
            Monitor.PulseAll(_gate);
        }

        foreach (var submission in abandoned)
            submission.Fail(new ObjectDisposedException(nameof(BatchScheduler), "the reranker was shut down before this request was scored"));
        running?.Cancellation.Cancel();
        if (Thread.CurrentThread != _thread)
            _thread.Join();
        _metrics.Dispose();
    }

    /// <summary>Takes a request out: its waiting pairs go, and a running batch that serves nobody any more stops.</summary>
    private void Leave(Submission submission, CancellationToken cancellationToken)
    {
        Batch? orphaned = null;
        lock (_gate)
        {
            if (submission.Done)
                return;
            submission.Done = true;
            Unqueue(submission);
            if (_running is { } running && running.Submissions.Contains(submission) && running.Submissions.All(s => s.Done))
                orphaned = running;
        }

        submission.Completion.TrySetCanceled(cancellationToken);
        orphaned?.Cancellation.Cancel();
        Measure(() => _metrics.Cancelled());
    }

    private void Unqueue(Submission submission)
    {
        if (submission.QueuedPairs == 0)
            return;
        _waiting.Remove(submission);
        _queuedPairs -= submission.QueuedPairs;
        _queuedTokens -= submission.QueuedTokens;
    }

    private void RunBatches()
    {
        while (true)
        {
            Batch? batch = null;
            try
            {
                lock (_gate)
                {
                    while (!_closed && _queuedPairs == 0)
                        Monitor.Wait(_gate);
                    if (_closed)
                        return;
                    batch = CutBatch();
                    _running = batch;
                }

                Run(batch);
            }
            catch (Exception e)
            {
                // This is a thread of its own: whatever escapes would end the process. Fail who is affected instead.
                Abort(batch, e);
            }
        }
    }

    /// <summary>
    /// The last resort when the loop itself fails (a logging provider that throws, a bug): the batch's requests that are
    /// still waiting fail; without a batch the queue cannot be trusted, so every waiting request fails.
    /// </summary>
    private void Abort(Batch? batch, Exception error)
    {
        List<Submission> failed;
        lock (_gate)
        {
            _running = null;
            failed = (batch?.Submissions ?? _waiting.ToArray()).Where(s => !s.Done).ToList();
            foreach (var submission in failed)
            {
                submission.Done = true;
                Unqueue(submission);
            }
        }

        foreach (var submission in failed)
            submission.Fail(new BatchFailedException(batch?.Members.Count ?? 0, error));
        try
        {
            _logger.LogCritical(error, "The batch loop failed; {Requests} requests were failed with it", failed.Count);
        }
        catch (Exception)
        {
            // The logger is what failed; the requests have their answer.
        }
    }

    /// <summary>The next batch (see the class remarks): the smallest keys form a cut, the planner picks a run of it by length.</summary>
    private Batch CutBatch()
    {
        var heads = new PriorityQueue<(Submission Submission, int Position), (long Key, long Sequence)>(_waiting.Count);
        foreach (var submission in _waiting)
        {
            var position = submission.FirstWaiting;
            heads.Enqueue((submission, position), (submission.Keys[position], submission.Sequence));
        }

        var cut = new List<Candidate>();
        long cutTokens = 0;
        var window = 2L * _options.MaxBatchTokens;
        while (cutTokens < window && heads.TryDequeue(out var head, out _))
        {
            var (submission, position) = head;
            var candidate = new Candidate(submission, position);
            cut.Add(candidate);
            cutTokens += candidate.Length;
            var next = submission.NextWaiting(position);
            if (next < submission.Keys.Length)
                heads.Enqueue((submission, next), (submission.Keys[next], submission.Sequence));
        }

        var anchor = cut[0];
        cut.Sort((a, b) => a.Length != b.Length ? a.Length.CompareTo(b.Length)
            : a.Key != b.Key ? a.Key.CompareTo(b.Key)
            : a.Submission.Sequence.CompareTo(b.Submission.Sequence));
        var (start, end) = BatchPlanner.Grow(cut.Select(c => c.Length).ToArray(), cut.IndexOf(anchor), _options.MaxBatchTokens, _options.MaxAttentionCells);

        var members = cut.GetRange(start, end - start);
        foreach (var member in members)
        {
            var submission = member.Submission;
            submission.Take(member.Position);
            _queuedPairs--;
            _queuedTokens -= member.Length;
            if (submission.QueuedPairs == 0)
                _waiting.Remove(submission);
            _virtualTime = Math.Max(_virtualTime, member.Key);
        }

        return new Batch(members);
    }

    private void Run(Batch batch)
    {
        var rows = batch.Members.Select(m => m.Submission.Rows[m.Row]).ToArray();
        float[]? logits = null;
        Exception? failure = null;
        var started = Stopwatch.GetTimestamp();
        var startedUtc = DateTime.UtcNow;
        try
        {
            logits = _scorer.ComputeLogits(rows, batch.Cancellation.Token);
            if (logits.Length != rows.Length)
                throw new InvalidOperationException($"the scorer returned {logits.Length} logits for {rows.Length} rows");
        }
        catch (OperationCanceledException) when (batch.Cancellation.IsCancellationRequested)
        {
            // Every request of the batch has left (or the scheduler is closing); nobody waits for these logits.
        }
        catch (Exception e)
        {
            failure = e;
        }

        var ended = Stopwatch.GetTimestamp();
        var duration = Stopwatch.GetElapsedTime(started, ended);
        Measure(() => _metrics.Batch(rows.Length, batch.Submissions.Length, batch.RealTokens, batch.PaddedTokens, duration, failure is not null));
        Measure(() => Trace(batch, startedUtc, startedUtc + duration, failure is not null));
        if (failure is not null)
            _logger.LogError(failure, "A batch of {Rows} pairs ({PaddedTokens} padded tokens) from {Requests} requests failed; those requests get a 500",
                rows.Length, batch.PaddedTokens, batch.Submissions.Length);

        var finished = new List<Submission>();
        lock (_gate)
        {
            _running = null;
            if (logits is not null && duration > TimeSpan.Zero)
            {
                // Recent throughput, for Retry-After.
                var rate = batch.RealTokens / duration.TotalSeconds;
                _tokensPerSecond = _tokensPerSecond == 0 ? rate : 0.8 * _tokensPerSecond + 0.2 * rate;
            }

            for (var i = 0; i < batch.Members.Count; i++)
            {
                var submission = batch.Members[i].Submission;
                if (submission.Done)
                    continue;
                if (failure is not null)
                {
                    submission.Done = true;
                    Unqueue(submission);
                    finished.Add(submission);
                    continue;
                }

                if (logits is null)
                    continue;
                if (submission.Scored(batch.Members[i].Row, logits[i], started - submission.SubmittedAt, ended - started))
                    finished.Add(submission);
            }
        }

        foreach (var submission in finished)
        {
            if (failure is not null)
            {
                submission.Fail(new BatchFailedException(rows.Length, failure));
            }
            else
            {
                var result = submission.Result();
                submission.Complete(result);
                Measure(() => _metrics.Completed(result));
            }
        }
    }

    /// <summary>
    /// Each request of the batch gets this forward pass as a child span, and, the first time one of its pairs runs, its
    /// wait in the queue. Only the batch thread reads or sets <see cref="Submission.QueueTraced"/>.
    /// </summary>
    private static void Trace(Batch batch, DateTime startedUtc, DateTime endedUtc, bool failed)
    {
        foreach (var submission in batch.Submissions)
        {
            if (!submission.QueueTraced)
            {
                submission.QueueTraced = true;
                RerankTracing.Record("funcrerank.queue", submission.TraceParent, submission.SubmittedUtc, startedUtc,
                    [new("funcrerank.pairs", submission.Rows.Count), new("funcrerank.prompt_tokens", submission.Tokens)]);
            }

            RerankTracing.Record("funcrerank.inference", submission.TraceParent, startedUtc, endedUtc,
            [
                new("funcrerank.batch.size", batch.Members.Count),
                new("funcrerank.batch.requests", batch.Submissions.Length),
                new("funcrerank.batch.real_tokens", batch.RealTokens),
                new("funcrerank.batch.padded_tokens", batch.PaddedTokens),
                new("funcrerank.batch.request_pairs", batch.Members.Count(m => m.Submission == submission)),
                new("funcrerank.batch.failed", failed),
            ]);
        }
    }

    /// <summary>A listener that throws (a broken exporter) must not take the batch thread or a request down with it.</summary>
    private void Measure(Action record)
    {
        try
        {
            record();
        }
        catch (Exception e)
        {
            _logger.LogWarning(e, "A metrics listener failed");
        }
    }

    /// <summary>Seconds to drain what waits and what is reserved at the recent throughput, 1 to 60.</summary>
    private TimeSpan RetryAfter() =>
        TimeSpan.FromSeconds(_tokensPerSecond <= 0 ? 1 : Math.Clamp(Math.Ceiling((_queuedTokens + _reservedTokens) / _tokensPerSecond), 1, 60));

    private readonly record struct Candidate(Submission Submission, int Position)
    {
        public int Row => Submission.Order[Position];

        public int Length => Submission.Rows[Row].Length;

        public long Key => Submission.Keys[Position];
    }

    private sealed class Batch(List<Candidate> members)
    {
        public List<Candidate> Members { get; } = members;

        public Submission[] Submissions { get; } = members.Select(m => m.Submission).Distinct().ToArray();

        public CancellationTokenSource Cancellation { get; } = new();

        public long RealTokens { get; } = members.Sum(m => (long)m.Length);

        public long PaddedTokens { get; } = (long)members.Count * members.Max(m => m.Length);
    }

    /// <summary>One request in the queue. Its mutable state is guarded by the scheduler's lock.</summary>
    private sealed class Submission
    {
        private readonly bool[] _taken;
        private readonly float[] _logits;
        private int _unscored;
        private long _queueTicks;
        private long _inferenceTicks;

        public Submission(IReadOnlyList<int[]> rows)
        {
            Rows = rows;
            // Shortest first: the request's pairs enter cuts in length order, so the pairs of one cut have similar lengths.
            Order = Enumerable.Range(0, rows.Count).OrderBy(i => rows[i].Length).ToArray();
            Keys = new long[rows.Count];
            _taken = new bool[rows.Count];
            _logits = new float[rows.Count];
            _unscored = rows.Count;
            Tokens = rows.Sum(r => (long)r.Length);
            SubmittedAt = Stopwatch.GetTimestamp();
            SubmittedUtc = DateTime.UtcNow;
            TraceParent = Activity.Current?.Context ?? default;
        }

        public IReadOnlyList<int[]> Rows { get; }

        /// <summary>Row indices by length; positions in this order index <see cref="Keys"/>.</summary>
        public int[] Order { get; }

        /// <summary>Fair-queuing keys, ascending along <see cref="Order"/>.</summary>
        public long[] Keys { get; }

        public long Tokens { get; }

        public long Sequence { get; private set; }

        public long SubmittedAt { get; }

        public DateTime SubmittedUtc { get; }

        /// <summary>The span of the request that submitted this (none when nothing traces), for the queue and inference spans.</summary>
        public ActivityContext TraceParent { get; }

        public bool QueueTraced { get; set; }

        /// <summary>Pairs and tokens waiting for a batch; zero until queued.</summary>
        public int QueuedPairs { get; private set; }

        public long QueuedTokens { get; private set; }

        /// <summary>The first position not yet dispatched.</summary>
        public int FirstWaiting { get; private set; }

        /// <summary>Scored, failed, cancelled or shut down: nothing more happens to it.</summary>
        public bool Done { get; set; }

        public TaskCompletionSource<ScheduledLogits> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationTokenRegistration Registration { get; set; }

        public void Enqueue(long virtualTime, long sequence)
        {
            Sequence = sequence;
            QueuedPairs = Rows.Count;
            QueuedTokens = Tokens;
            var key = virtualTime;
            for (var position = 0; position < Order.Length; position++)
                Keys[position] = key += Rows[Order[position]].Length;
        }

        /// <summary>The next waiting position after <paramref name="position"/>, or <c>Keys.Length</c>.</summary>
        public int NextWaiting(int position)
        {
            do
                position++;
            while (position < _taken.Length && _taken[position]);
            return position;
        }

        public void Take(int position)
        {
            _taken[position] = true;
            QueuedPairs--;
            QueuedTokens -= Rows[Order[position]].Length;
            if (position == FirstWaiting)
                FirstWaiting = NextWaiting(position);
        }

        /// <returns>true when this was the request's last pair.</returns>
        public bool Scored(int row, float logit, long queueTicks, long inferenceTicks)
        {
            _logits[row] = logit;
            _queueTicks += queueTicks;
            _inferenceTicks += inferenceTicks;
            if (--_unscored > 0)
                return false;
            Done = true;
            return true;
        }

        public ScheduledLogits Result() => new(_logits,
            TimeSpan.FromTicks((long)(_queueTicks / (double)Rows.Count * TimeSpan.TicksPerSecond / Stopwatch.Frequency)),
            TimeSpan.FromTicks((long)(_inferenceTicks / (double)Rows.Count * TimeSpan.TicksPerSecond / Stopwatch.Frequency)));

        public void Complete(ScheduledLogits result)
        {
            Registration.Unregister();
            Completion.TrySetResult(result);
        }

        public void Fail(Exception error)
        {
            Registration.Unregister();
            Completion.TrySetException(error);
        }
    }
}
