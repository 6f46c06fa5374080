using System.Diagnostics.Metrics;
using FuncRerank.Inference;

namespace FuncRerank.Tests.Inference;

/// <summary>The <c>FuncRerank</c> meter, read with a <see cref="MeterListener"/> the way an exporter reads it.</summary>
public class SchedulerMetricsTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Every measurement of one scheduler's instruments (the meter's scope tells schedulers apart).</summary>
    private sealed class Recorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly List<(string Name, double Value)> _measurements = [];

        public Recorder(BatchScheduler scheduler)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "FuncRerank" && ReferenceEquals(instrument.Meter.Scope, scheduler))
                    listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<int>((i, v, _, _) => Add(i.Name, v));
            _listener.SetMeasurementEventCallback<long>((i, v, _, _) => Add(i.Name, v));
            _listener.SetMeasurementEventCallback<double>((i, v, _, _) => Add(i.Name, v));
            _listener.Start();
        }

        public double[] Values(string name)
        {
            lock (_measurements)
                return _measurements.Where(m => m.Name == name).Select(m => m.Value).ToArray();
        }

        public void Observe() => _listener.RecordObservableInstruments();

        public void Dispose() => _listener.Dispose();

        private void Add(string name, double value)
        {
            lock (_measurements)
                _measurements.Add((name, value));
        }
    }

    [Fact]
    public async Task Queue_length_batches_padding_times_refusals_and_departures_are_measured()
    {
        var scorer = new ScriptedScorer();
        using var scheduler = new BatchScheduler(scorer, new BatchSchedulerOptions { MaxBatchTokens = 1000, MaxQueuedTokens = 100 });
        using var metrics = new Recorder(scheduler);
        scorer.Hold();
        var blocker = scheduler.ScoreAsync([ScriptedScorer.Row(1, 10)]);
        scorer.WaitForBatch();
        var first = scheduler.ScoreAsync([ScriptedScorer.Row(10, 20), ScriptedScorer.Row(11, 30)]);
        var second = scheduler.ScoreAsync([ScriptedScorer.Row(20, 25)]);
        using var cancellation = new CancellationTokenSource();
        var leaving = scheduler.ScoreAsync([ScriptedScorer.Row(30, 5)], cancellation.Token);
        var refused = scheduler.ScoreAsync([ScriptedScorer.Row(40, 50)]);

        metrics.Observe();
        cancellation.Cancel();
        scorer.Release();
        await Task.WhenAll(blocker, first, second).WaitAsync(Patience);

        Assert.Equal([3.0], metrics.Values("funcrerank.queue.requests"));
        Assert.Equal([4.0], metrics.Values("funcrerank.queue.pairs"));
        Assert.Equal([80.0], metrics.Values("funcrerank.queue.tokens"));
        Assert.Equal([1.0], metrics.Values("funcrerank.requests.rejected"));
        Assert.Equal([1.0], metrics.Values("funcrerank.requests.cancelled"));
        await Assert.ThrowsAsync<QueueFullException>(() => refused);
        // The blocker alone, then the three pairs of two requests together: 3 rows of 30 = 90 padded for 75 real.
        Assert.Equal([1.0, 3.0], metrics.Values("funcrerank.batch.size"));
        Assert.Equal([1.0, 2.0], metrics.Values("funcrerank.batch.requests"));
        Assert.Equal([10.0, 75.0], metrics.Values("funcrerank.batch.real_tokens"));
        Assert.Equal([10.0, 90.0], metrics.Values("funcrerank.batch.padded_tokens"));
        Assert.Equal([1.0, 1.2], metrics.Values("funcrerank.batch.padding_ratio"), (a, b) => Math.Abs(a - b) < 1e-12);
        Assert.Equal(2, metrics.Values("funcrerank.batch.duration").Length);
        Assert.Equal(3, metrics.Values("funcrerank.request.queue_time").Length);
        Assert.Equal(3, metrics.Values("funcrerank.request.inference_time").Length);
        Assert.Empty(metrics.Values("funcrerank.batch.failures"));
    }

    [Fact]
    public async Task A_failed_batch_is_counted()
    {
        var scorer = new ScriptedScorer { FailWhen = _ => true };
        using var scheduler = new BatchScheduler(scorer, new BatchSchedulerOptions());
        using var metrics = new Recorder(scheduler);

        await Assert.ThrowsAsync<BatchFailedException>(() => scheduler.ScoreAsync([ScriptedScorer.Row(1, 10)]).WaitAsync(Patience));

        Assert.Equal([1.0], metrics.Values("funcrerank.batch.failures"));
    }

    [Fact]
    public async Task A_listener_that_throws_does_not_stop_scoring()
    {
        var scorer = new ScriptedScorer();
        using var scheduler = new BatchScheduler(scorer, new BatchSchedulerOptions());
        using var listener = new MeterListener();
        var calls = 0;
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, scheduler))
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<int>((_, _, _, _) =>
        {
            Interlocked.Increment(ref calls);
            throw new InvalidOperationException("a broken exporter");
        });
        listener.Start();

        var first = await scheduler.ScoreAsync([ScriptedScorer.Row(1, 10)]).WaitAsync(Patience);
        var second = await scheduler.ScoreAsync([ScriptedScorer.Row(2, 10)]).WaitAsync(Patience);

        Assert.Equal(new[] { 1f }, first.Logits);
        Assert.Equal(new[] { 2f }, second.Logits);
        Assert.True(calls > 0);
    }

    [Fact]
    public void Requests_building_their_prompts_and_the_tokens_they_reserved_are_measured()
    {
        using var scheduler = new BatchScheduler(new ScriptedScorer(), new BatchSchedulerOptions { MaxQueuedTokens = 100 });
        using var metrics = new Recorder(scheduler);
        using var reservation = scheduler.Reserve();
        reservation.Add(60);
        using var refused = scheduler.Reserve();
        Assert.Throws<QueueFullException>(() => refused.Add(41));

        metrics.Observe();

        Assert.Equal([1.0], metrics.Values("funcrerank.queue.tokenizing"));
        Assert.Equal([60.0], metrics.Values("funcrerank.queue.reserved_tokens"));
        Assert.Equal([0.0], metrics.Values("funcrerank.queue.tokens"));
        Assert.Equal([1.0], metrics.Values("funcrerank.requests.rejected"));
    }
}
