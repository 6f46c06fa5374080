using FuncRerank.Inference;

namespace FuncRerank.Tests.Inference;

/// <summary>
/// The scheduler's rules, on a scripted scorer, counted in batches and their members (never in wall time): order of
/// results, batches shared across requests, the token budget, fairness both ways, leaving, the bound, failures.
/// </summary>
public class BatchSchedulerTests
{
    // Guards against a hang only; no assertion depends on it.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static int[][] Rows(int firstId, params int[] lengths) => lengths.Select((length, i) => ScriptedScorer.Row(firstId + i, length)).ToArray();

    /// <summary>The 1-based number of the last batch that held one of <paramref name="rows"/>.</summary>
    private static int LastBatchOf(ScriptedScorer scorer, int[][] rows)
    {
        var ids = rows.Select(r => r[0]).ToHashSet();
        var batches = scorer.Batches;
        return Enumerable.Range(0, batches.Count).Last(b => batches[b].Any(r => ids.Contains(r[0]))) + 1;
    }

    /// <summary>Starts a one-pair request and holds its batch, so that whatever is submitted next waits in the queue.</summary>
    private static Task<ScheduledLogits> Occupy(BatchScheduler scheduler, ScriptedScorer scorer, int id = 1)
    {
        scorer.Hold();
        var blocker = scheduler.ScoreAsync([ScriptedScorer.Row(id, 10)]);
        scorer.WaitForBatch();
        return blocker;
    }

    [Fact]
    public async Task Logits_come_back_in_the_requests_row_order_whatever_order_the_batches_ran_in()
    {
        var scorer = new ScriptedScorer();
        using var scheduler = new BatchScheduler(scorer, new BatchSchedulerOptions { MaxBatchTokens = 200 });
        var rows = Rows(100, 90, 10, 55, 30, 90, 12, 70, 41);

        var result = await scheduler.ScoreAsync(rows).WaitAsync(Patience);

        Assert.Equal(rows.Select(r => (float)r[0]), result.Logits);
        Assert.True(scorer.Batches.Count > 1, "the budget should have split the request");
        Assert.Equal(rows.Select(r => r[0]).Order(), scorer.Batches.SelectMany(b => b).Select(r => r[0]).Order());
    }

    [Fact]
    public async Task Pairs_of_concurrent_requests_share_one_batch()
    {
        var scorer = new ScriptedScorer();
        using var scheduler = new BatchScheduler(scorer, new BatchSchedulerOptions { MaxBatchTokens = 1000 });
        var blocker = Occupy(scheduler, scorer);
        var requests = Enumerable.Range(0, 3).Select(r => Rows(100 * (r + 1), 20, 21, 19, 20)).ToArray();
        var tasks = requests.Select(r => scheduler.ScoreAsync(r)).ToArray();
        Assert.Equal(new QueueStatus(3, 12, requests.Sum(r => r.Sum(row => row.Length))), scheduler.Queue);

        scorer.Release();
        var results = await Task.WhenAll(tasks).WaitAsync(Patience);
        await blocker.WaitAsync(Patience);

        // The blocker's batch, then all twelve pairs of the three requests in one forward pass.
        Assert.Equal(2, scorer.Batches.Count);
        Assert.Equal(requests.SelectMany(r => r).Select(r => r[0]).Order(), scorer.Batches[1].Select(r => r[0]).Order());
        for (var r = 0; r < requests.Length; r++)
            Assert.Equal(requests[r].Select(row => (float)row[0]), results[r].Logits);
        Assert.Equal(new QueueStatus(0, 0, 0), scheduler.Queue);
    }

    [Fact]
    public async Task Every_batch_keeps_to_the_attention_budget()
    {
        var scorer = new ScriptedScorer();
        // 600-token rows: two squares (720,000 cells) fit a million, three do not, though the token budget takes sixteen.
        using var scheduler = new BatchScheduler(scorer, new BatchSchedulerOptions { MaxBatchTokens = 10_000, MaxAttentionCells = 1_000_000 });
        var blocker = Occupy(scheduler, scorer);
        var tasks = new[] { Rows(1000, 600, 600, 600), Rows(2000, 600, 600, 600) }.Select(r => scheduler.ScoreAsync(r)).ToArray();

        scorer.Release();
        await Task.WhenAll(tasks).WaitAsync(Patience);
        await blocker.WaitAsync(Patience);

        Assert.Equal([2, 2, 2], scorer.Batches.Skip(1).Select(b => b.Length));
    }

    [Fact]
    public async Task Every_batch_keeps_to_the_padded_token_budget_and_pads_little()
    {
        var scorer = new ScriptedScorer();
        const int budget = 2048;
        using var scheduler = new BatchScheduler(scorer, new BatchSchedulerOptions { MaxBatchTokens = budget });
        var random = new Random(11);
        var blocker = Occupy(scheduler, scorer);
        var requests = Enumerable.Range(0, 12)
            .Select(r => Rows(1000 * (r + 1), Enumerable.Range(0, random.Next(1, 40)).Select(_ => random.Next(30, 700)).ToArray()))
            // One prompt over the budget: it runs alone.
            .Append(Rows(99_000, 3000))
            .ToArray();
        var tasks = requests.Select(r => scheduler.ScoreAsync(r)).ToArray();

        scorer.Release();
        var results = await Task.WhenAll(tasks).WaitAsync(Patience);
        await blocker.WaitAsync(Patience);

        for (var r = 0; r < requests.Length; r++)
            Assert.Equal(requests[r].Select(row => (float)row[0]), results[r].Logits);
        foreach (var batch in scorer.Batches.Skip(1))
        {
            long padded = batch.Length * batch.Max(r => r.Length), real = batch.Sum(r => r.Length);
            Assert.True(padded <= budget || batch.Length == 1, $"a batch of {batch.Length} rows pads to {padded} tokens");
            Assert.True(padded <= BatchPlanner.MaxPaddingRatio * real, $"a batch pads {real} tokens to {padded}");
        }

        Assert.Contains(scorer.Batches, b => b is [{ Length: 3000 }]);
        Assert.Contains(scorer.Batches, b => b.Select(r => r[0] / 1000).Distinct().Count() > 1);
    }

    [Fact]
    public async Task A_short_request_behind_a_huge_one_finishes_long_before_it()
    {
        var scorer = new ScriptedScorer();
        using var scheduler = new BatchScheduler(scorer, new BatchSchedulerOptions { MaxBatchTokens = 100 });
        scorer.Hold();
        var hugeRows = Rows(1000, Enumerable.Repeat(10, 200).ToArray());
        var huge = scheduler.ScoreAsync(hugeRows);
        scorer.WaitForBatch();
        var shortRows = Rows(5000, 10, 10);
        var shortRequest = scheduler.ScoreAsync(shortRows);

        scorer.Release();
        await Task.WhenAll(huge, shortRequest).WaitAsync(Patience);
        var shortResult = await shortRequest;

        // The short request rides in the first batch after it arrived; every batch is full (10 pairs), so the 202 pairs
        // take 21 batches and the huge request ends in the last one.
        Assert.Equal(2, LastBatchOf(scorer, shortRows));
        Assert.Equal(21, LastBatchOf(scorer, hugeRows));
        Assert.Equal(shortRows.Select(r => (float)r[0]), shortResult.Logits);
    }

    [Fact]
    public async Task A_stream_of_short_requests_never_starves_a_long_one_and_each_short_one_is_served_soon()
    {
        var scorer = new ScriptedScorer();
        using var scheduler = new BatchScheduler(scorer, new BatchSchedulerOptions { MaxBatchTokens = 100 });
        // Long pairs (50 tokens) cannot share a batch with short ones (10): the padding cap keeps them apart, so a
        // scheduler that served short work first would leave the long request waiting as long as short ones keep coming.
        var longRows = Rows(1000, Enumerable.Repeat(50, 20).ToArray());
        var shorts = new List<(int Arrived, int[][] Rows, Task<ScheduledLogits> Task)>();
        var allSubmitted = new TaskCompletionSource();
        scorer.OnBatch = number =>
        {
            // One new short request during each of the first 100 batches (this runs on the scheduler's thread).
            if (number > 100)
                return;
            var rows = Rows(10_000 + number, 10);
            shorts.Add((number, rows, scheduler.ScoreAsync(rows)));
            if (number == 100)
                allSubmitted.SetResult();
        };

        var longRequest = scheduler.ScoreAsync(longRows);
        await longRequest.WaitAsync(Patience);
        await allSubmitted.Task.WaitAsync(Patience);
        await Task.WhenAll(shorts.Select(s => s.Task)).WaitAsync(Patience);

        var longDone = LastBatchOf(scorer, longRows);
        Assert.True(longDone < 100, $"the long request finished in batch {longDone}, after the stream of short ones");
        foreach (var (arrived, rows, _) in shorts)
        {
            var served = LastBatchOf(scorer, rows);
            Assert.True(served - arrived <= 3, $"a short request that arrived in batch {arrived} was served in batch {served}");
        }
    }

    [Fact]
    public async Task A_cancelled_request_leaves_the_queue_and_its_pairs_never_reach_the_scorer()
    {
        var scorer = new ScriptedScorer();
        using var scheduler = new BatchScheduler(scorer, new BatchSchedulerOptions());
        var blocker = Occupy(scheduler, scorer);
        using var cancellation = new CancellationTokenSource();
        var leaving = Rows(500, 30, 40, 50);
        var left = scheduler.ScoreAsync(leaving, cancellation.Token);
        var staying = Rows(600, 30);
        var stays = scheduler.ScoreAsync(staying);
        Assert.Equal(new QueueStatus(2, 4, 150), scheduler.Queue);

        cancellation.Cancel();

        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => left.WaitAsync(Patience));
        Assert.Equal(cancellation.Token, error.CancellationToken);
        Assert.Equal(new QueueStatus(1, 1, 30), scheduler.Queue);
        scorer.Release();
        Assert.Equal(new[] { 600f }, (await stays.WaitAsync(Patience)).Logits);
        await blocker.WaitAsync(Patience);
        Assert.DoesNotContain(scorer.Batches.SelectMany(b => b), r => r[0] is >= 500 and < 510);
    }

    [Fact]
    public async Task A_deadline_while_waiting_takes_the_request_out()
    {
        var scorer = new ScriptedScorer();
        using var scheduler = new BatchScheduler(scorer, new BatchSchedulerOptions());
        var blocker = Occupy(scheduler, scorer);
        // The scorer holds its batch until this request has given up, so the deadline always comes first.
        using var deadline = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        var late = scheduler.ScoreAsync(Rows(700, 20, 20), deadline.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => late.WaitAsync(Patience));
        Assert.Equal(new QueueStatus(0, 0, 0), scheduler.Queue);
        scorer.Release();
        await blocker.WaitAsync(Patience);
        Assert.Single(scorer.Batches);
    }

    [Fact]
    public async Task A_running_batch_whose_requests_all_left_is_cancelled_and_the_next_request_is_served()
    {
        var scorer = new ScriptedScorer();
        using var scheduler = new BatchScheduler(scorer, new BatchSchedulerOptions());
        scorer.Hold();
        using var cancellation = new CancellationTokenSource();
        var abandoned = scheduler.ScoreAsync(Rows(1, 10), cancellation.Token);
        scorer.WaitForBatch();

        cancellation.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned.WaitAsync(Patience));
        var next = scheduler.ScoreAsync(Rows(2, 10));
        scorer.WaitForBatch();

        Assert.True(scorer.SawCancellation);
        scorer.Release();
        Assert.Equal(new[] { 2f }, (await next.WaitAsync(Patience)).Logits);
    }

    [Fact]
    public async Task A_running_batch_keeps_running_while_one_of_its_requests_still_waits_for_it()
    {
        var scorer = new ScriptedScorer();
        using var scheduler = new BatchScheduler(scorer, new BatchSchedulerOptions());
        var blocker = Occupy(scheduler, scorer);
        using var cancellation = new CancellationTokenSource();
        var leaving = scheduler.ScoreAsync(Rows(10, 20), cancellation.Token);
        var staying = scheduler.ScoreAsync(Rows(20, 20));
        // Hold the second batch too, the one these two share.
        scorer.OnBatch = number =>
        {
            if (number == 2)
                scorer.Hold();
        };
        scorer.Release();
        scorer.WaitForBatch();

        cancellation.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leaving.WaitAsync(Patience));
        scorer.Release();

        Assert.Equal(new[] { 20f }, (await staying.WaitAsync(Patience)).Logits);
        await blocker.WaitAsync(Patience);
        Assert.Equal([10, 20], scorer.Batches[1].Select(r => r[0]).Order());
        Assert.False(scorer.SawCancellation);
    }

    [Fact]
    public async Task A_full_queue_refuses_at_once_with_a_retry_time_and_takes_requests_again_once_drained()
    {
        var scorer = new ScriptedScorer();
        using var scheduler = new BatchScheduler(scorer, new BatchSchedulerOptions { MaxQueuedTokens = 50 });
        var blocker = Occupy(scheduler, scorer);
        var queued = scheduler.ScoreAsync(Rows(10, 10, 10, 10, 10));

        var refused = scheduler.ScoreAsync(Rows(20, 11));

        Assert.True(refused.IsFaulted, "refused at once, without waiting");
        var error = await Assert.ThrowsAsync<QueueFullException>(() => refused);

        Assert.Equal((40L, 11L, 50L), (error.QueuedTokens, error.RequestTokens, error.MaxQueuedTokens));
        Assert.InRange(error.RetryAfter, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        Assert.Equal(new QueueStatus(1, 4, 40), scheduler.Queue);
        scorer.Release();
        await Task.WhenAll(blocker, queued).WaitAsync(Patience);
        Assert.Equal(new[] { 20f }, (await scheduler.ScoreAsync(Rows(20, 11)).WaitAsync(Patience)).Logits);
        Assert.DoesNotContain(scorer.Batches.Take(2).SelectMany(b => b), r => r[0] == 20);
    }

    [Fact]
    public async Task A_request_larger_than_the_whole_bound_is_taken_when_nothing_waits()
    {
        var scorer = new ScriptedScorer();
        using var scheduler = new BatchScheduler(scorer, new BatchSchedulerOptions { MaxQueuedTokens = 50 });

        var result = await scheduler.ScoreAsync(Rows(30, 40, 40, 40)).WaitAsync(Patience);

        Assert.Equal(new[] { 30f, 31f, 32f }, result.Logits);
    }

    [Fact]
    public async Task A_reservation_counts_against_the_bound_as_it_grows_and_its_tokens_become_the_queued_requests_exactly()
    {
        var scorer = new ScriptedScorer();
        using var scheduler = new BatchScheduler(scorer, new BatchSchedulerOptions { MaxQueuedTokens = 50 });
        var blocker = Occupy(scheduler, scorer);
        using var reservation = scheduler.Reserve();
        Assert.Equal(new QueueStatus(0, 0, 0, Tokenizing: 1, ReservedTokens: 0), scheduler.Queue);

        reservation.Add(30);
        reservation.Add(20);

        Assert.Equal(new QueueStatus(0, 0, 0, 1, 50), scheduler.Queue);
        Assert.Equal(50, reservation.Tokens);
        // Reserved tokens are the bound's: a request that does not fit beside them is refused, as beside waiting ones.
        var refused = await Assert.ThrowsAsync<QueueFullException>(() => scheduler.ScoreAsync(Rows(90, 1)));
        Assert.Equal((50L, 1L), (refused.QueuedTokens, refused.RequestTokens));

        var rows = Rows(10, 30, 20);
        var queued = scheduler.ScoreAsync(rows, reservation);

        // Handed over in one step: the same 50 tokens, now waiting, never counted twice nor dropped.
        Assert.Equal(new QueueStatus(1, 2, 50, 0, 0), scheduler.Queue);
        Assert.Equal(0, reservation.Tokens);
        reservation.Dispose();
        Assert.Equal(new QueueStatus(1, 2, 50, 0, 0), scheduler.Queue);
        await Assert.ThrowsAsync<QueueFullException>(() => scheduler.ScoreAsync(Rows(90, 1)));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => scheduler.ScoreAsync(Rows(95, 1), reservation));
        scorer.Release();
        Assert.Equal(new[] { 10f, 11f }, (await queued.WaitAsync(Patience)).Logits);
        await blocker.WaitAsync(Patience);
        Assert.Equal(new QueueStatus(0, 0, 0), scheduler.Queue);
        Assert.DoesNotContain(scorer.Batches.SelectMany(b => b), r => r[0] is 90 or 95);
    }

    [Fact]
    public async Task A_reservation_that_would_overflow_the_bound_is_refused_at_once_and_holds_nothing_after()
    {
        var scorer = new ScriptedScorer();
        using var scheduler = new BatchScheduler(scorer, new BatchSchedulerOptions { MaxQueuedTokens = 50 });
        var blocker = Occupy(scheduler, scorer);
        var queued = scheduler.ScoreAsync(Rows(10, 40));
        using var reservation = scheduler.Reserve();
        reservation.Add(5);

        var error = Assert.Throws<QueueFullException>(() => reservation.Add(6));

        Assert.Equal((40L, 11L, 50L), (error.QueuedTokens, error.RequestTokens, error.MaxQueuedTokens));
        Assert.InRange(error.RetryAfter, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        Assert.Equal(new QueueStatus(1, 1, 40), scheduler.Queue);
        Assert.Throws<ObjectDisposedException>(() => reservation.Add(1));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => scheduler.ScoreAsync(Rows(20, 5), reservation));
        Assert.Equal(new QueueStatus(1, 1, 40), scheduler.Queue);
        scorer.Release();
        await Task.WhenAll(blocker, queued).WaitAsync(Patience);
        Assert.Equal(new QueueStatus(0, 0, 0), scheduler.Queue);
        Assert.DoesNotContain(scorer.Batches.SelectMany(b => b), r => r[0] == 20);
    }

    [Fact]
    public async Task A_reservation_larger_than_the_whole_bound_is_held_when_nothing_else_waits_or_is_reserved()
    {
        var scorer = new ScriptedScorer();
        using var scheduler = new BatchScheduler(scorer, new BatchSchedulerOptions { MaxQueuedTokens = 50 });
        using var big = scheduler.Reserve();
        big.Add(40);
        big.Add(40);
        using var other = scheduler.Reserve();

        var error = Assert.Throws<QueueFullException>(() => other.Add(1));

        Assert.Equal((80L, 1L), (error.QueuedTokens, error.RequestTokens));
        Assert.Equal(new QueueStatus(0, 0, 0, 1, 80), scheduler.Queue);
        var result = await scheduler.ScoreAsync(Rows(30, 40, 40), big).WaitAsync(Patience);
        Assert.Equal(new[] { 30f, 31f }, result.Logits);
        Assert.Equal(new QueueStatus(0, 0, 0), scheduler.Queue);
    }

    [Fact]
    public async Task A_reservation_lets_go_of_its_tokens_when_disposed_cancelled_or_handed_bad_rows()
    {
        var scorer = new ScriptedScorer();
        using var scheduler = new BatchScheduler(scorer, new BatchSchedulerOptions());
        var blocker = Occupy(scheduler, scorer);

        var disposed = scheduler.Reserve();
        disposed.Add(30);
        disposed.Dispose();
        disposed.Dispose();
        Assert.Equal(new QueueStatus(0, 0, 0), scheduler.Queue);

        using var alreadyCancelled = new CancellationTokenSource();
        alreadyCancelled.Cancel();
        var cancelled = scheduler.Reserve();
        cancelled.Add(30);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => scheduler.ScoreAsync(Rows(10, 30), cancelled, alreadyCancelled.Token));
        Assert.Equal(new QueueStatus(0, 0, 0), scheduler.Queue);

        var bad = scheduler.Reserve();
        bad.Add(30);
        await Assert.ThrowsAsync<ArgumentException>(() => scheduler.ScoreAsync([ScriptedScorer.Row(20, 5), []], bad));
        Assert.Equal(new QueueStatus(0, 0, 0), scheduler.Queue);

        // Handed over, then cancelled while waiting: it leaves as any request does.
        using var leaving = new CancellationTokenSource();
        var handedOver = scheduler.Reserve();
        handedOver.Add(30);
        var left = scheduler.ScoreAsync(Rows(30, 30), handedOver, leaving.Token);
        Assert.Equal(new QueueStatus(1, 1, 30), scheduler.Queue);
        leaving.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => left.WaitAsync(Patience));
        Assert.Equal(new QueueStatus(0, 0, 0), scheduler.Queue);

        scorer.Release();
        await blocker.WaitAsync(Patience);
        Assert.DoesNotContain(scorer.Batches.SelectMany(b => b), r => r[0] is 10 or 20 or 30);
    }

    [Fact]
    public async Task A_failing_batch_fails_only_the_requests_it_held_and_the_next_request_is_served()
    {
        var scorer = new ScriptedScorer { FailWhen = rows => rows.Any(r => r[0] == 101) };
        using var scheduler = new BatchScheduler(scorer, new BatchSchedulerOptions { MaxBatchTokens = 1000 });
        var blocker = Occupy(scheduler, scorer);
        // Two requests of 10-token pairs share the failing batch; 40-token pairs cannot join it (padding cap).
        var failing = scheduler.ScoreAsync(Rows(100, 10, 10));
        var sharing = scheduler.ScoreAsync(Rows(200, 10, 40));
        var apart = scheduler.ScoreAsync(Rows(300, 40, 40));

        scorer.Release();
        await blocker.WaitAsync(Patience);

        var error = await Assert.ThrowsAsync<BatchFailedException>(() => failing.WaitAsync(Patience));
        Assert.IsType<InvalidOperationException>(error.InnerException);
        await Assert.ThrowsAsync<BatchFailedException>(() => sharing.WaitAsync(Patience));
        Assert.Equal(new[] { 300f, 301f }, (await apart.WaitAsync(Patience)).Logits);
        Assert.Equal(new[] { 400f }, (await scheduler.ScoreAsync(Rows(400, 10)).WaitAsync(Patience)).Logits);
        // The failed request's other pair left with it: the 40-token pair of the sharing request never ran.
        Assert.DoesNotContain(scorer.Batches.SelectMany(b => b), r => r[0] == 201);
        Assert.Equal(new QueueStatus(0, 0, 0), scheduler.Queue);
    }

    [Fact]
    public async Task Disposing_fails_what_waits_and_refuses_new_requests()
    {
        var scorer = new ScriptedScorer();
        var scheduler = new BatchScheduler(scorer, new BatchSchedulerOptions());
        var running = Occupy(scheduler, scorer);
        var waiting = scheduler.ScoreAsync(Rows(50, 10));
        var reservation = scheduler.Reserve();
        reservation.Add(10);

        scheduler.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => running.WaitAsync(Patience));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => waiting.WaitAsync(Patience));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => scheduler.ScoreAsync(Rows(60, 10)));
        Assert.Throws<ObjectDisposedException>(() => reservation.Add(1));
        Assert.Throws<ObjectDisposedException>(scheduler.Reserve);
        reservation.Dispose();
        Assert.Equal(new QueueStatus(0, 0, 0), scheduler.Queue);
        Assert.True(scorer.SawCancellation);
    }

    [Fact]
    public async Task Empty_requests_complete_at_once_and_empty_rows_are_refused()
    {
        var scorer = new ScriptedScorer();
        using var scheduler = new BatchScheduler(scorer, new BatchSchedulerOptions());

        Assert.Empty((await scheduler.ScoreAsync([])).Logits);
        await Assert.ThrowsAsync<ArgumentException>(() => scheduler.ScoreAsync([ScriptedScorer.Row(1, 5), []]));
        Assert.Empty(scorer.Batches);
    }

    [Fact]
    public async Task Queue_and_inference_times_are_what_the_requests_pairs_spent_on_average()
    {
        var scorer = new ScriptedScorer();
        using var scheduler = new BatchScheduler(scorer, new BatchSchedulerOptions());
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var blocker = Occupy(scheduler, scorer);
        var queued = scheduler.ScoreAsync(Rows(10, 10, 10));
        // Held for at least 50 ms after the request arrived, so it waited at least that long.
        var held = System.Diagnostics.Stopwatch.StartNew();
        while (held.Elapsed < TimeSpan.FromMilliseconds(50))
            await Task.Delay(10);
        scorer.Release();

        var result = await queued.WaitAsync(Patience);
        var elapsed = watch.Elapsed;
        var blocked = await blocker.WaitAsync(Patience);

        Assert.InRange(result.QueueTime, TimeSpan.FromMilliseconds(50), elapsed);
        Assert.InRange(result.QueueTime + result.InferenceTime, TimeSpan.Zero, elapsed);
        // The blocker's forward pass was the held one.
        Assert.InRange(blocked.InferenceTime, TimeSpan.FromMilliseconds(50), elapsed);
    }

    /// <summary>A logging provider that throws on errors, as a broken sink might.</summary>
    private sealed class ThrowingLogger : Microsoft.Extensions.Logging.ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state,
            Exception? exception, Func<TState, Exception?, string> formatter) =>
            throw new IOException("the log sink is gone");
    }

    [Fact]
    public async Task A_failure_in_the_batch_loop_itself_fails_the_batchs_requests_instead_of_the_process()
    {
        // The batch fails, and logging that failure throws too: the loop's last resort answers the request.
        var failures = 1;
        var scorer = new ScriptedScorer { FailWhen = _ => Interlocked.Exchange(ref failures, 0) == 1 };
        using var scheduler = new BatchScheduler(scorer, new BatchSchedulerOptions(), new ThrowingLogger());

        var error = await Assert.ThrowsAsync<BatchFailedException>(() => scheduler.ScoreAsync(Rows(1, 10)).WaitAsync(Patience));

        Assert.IsType<IOException>(error.InnerException);
        Assert.Equal(new[] { 2f }, (await scheduler.ScoreAsync(Rows(2, 10)).WaitAsync(Patience)).Logits);
        Assert.Equal(new QueueStatus(0, 0, 0), scheduler.Queue);
    }
}
