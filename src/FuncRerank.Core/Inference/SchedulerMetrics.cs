using System.Diagnostics.Metrics;

namespace FuncRerank.Inference;

/// <summary>
/// The scheduler's instruments on the <c>FuncRerank</c> meter (System.Diagnostics.Metrics: <c>dotnet-counters monitor
/// --counters FuncRerank</c>, or any OpenTelemetry exporter the host adds). The meter's scope is the scheduler, so a
/// listener can tell two schedulers in one process apart. The padded/real ratio of any window is
/// <c>sum(funcrerank.batch.padded_tokens) / sum(funcrerank.batch.real_tokens)</c>; each batch's own is
/// <c>funcrerank.batch.padding_ratio</c>.
/// </summary>
internal sealed class SchedulerMetrics : IDisposable
{
    public const string MeterName = "FuncRerank";

    private readonly Meter _meter;
    private readonly Histogram<int> _batchSize;
    private readonly Histogram<int> _batchRequests;
    private readonly Histogram<long> _realTokens;
    private readonly Histogram<long> _paddedTokens;
    private readonly Histogram<double> _paddingRatio;
    private readonly Histogram<double> _batchDuration;
    private readonly Counter<long> _batchFailures;
    private readonly Histogram<double> _queueTime;
    private readonly Histogram<double> _inferenceTime;
    private readonly Counter<long> _rejected;
    private readonly Counter<long> _cancelled;

    public SchedulerMetrics(BatchScheduler scheduler)
    {
        _meter = new Meter(new MeterOptions(MeterName) { Scope = scheduler });
        _meter.CreateObservableGauge("funcrerank.queue.requests", () => scheduler.Queue.Requests, "{request}", "Requests with pairs waiting for a batch");
        _meter.CreateObservableGauge("funcrerank.queue.pairs", () => scheduler.Queue.Pairs, "{pair}", "Pairs waiting for a batch");
        _meter.CreateObservableGauge("funcrerank.queue.tokens", () => scheduler.Queue.Tokens, "{token}", "Prompt tokens waiting for a batch");
        _meter.CreateObservableGauge("funcrerank.queue.tokenizing", () => scheduler.Queue.Tokenizing, "{request}", "Requests building their prompts, with room reserved in the queue");
        _meter.CreateObservableGauge("funcrerank.queue.reserved_tokens", () => scheduler.Queue.ReservedTokens, "{token}",
            "Prompt tokens reserved by requests still building their prompts; the queue's bound counts them with the waiting ones");
        _batchSize = _meter.CreateHistogram<int>("funcrerank.batch.size", "{pair}", "Pairs per forward pass");
        _batchRequests = _meter.CreateHistogram<int>("funcrerank.batch.requests", "{request}", "Requests sharing a forward pass");
        _realTokens = _meter.CreateHistogram<long>("funcrerank.batch.real_tokens", "{token}", "Prompt tokens per forward pass");
        _paddedTokens = _meter.CreateHistogram<long>("funcrerank.batch.padded_tokens", "{token}", "Padded tokens (rows × longest row) per forward pass");
        _paddingRatio = _meter.CreateHistogram<double>("funcrerank.batch.padding_ratio", null, "Padded tokens over prompt tokens, per forward pass");
        _batchDuration = _meter.CreateHistogram<double>("funcrerank.batch.duration", "s", "Forward pass time");
        _batchFailures = _meter.CreateCounter<long>("funcrerank.batch.failures", "{batch}", "Forward passes that failed");
        _queueTime = _meter.CreateHistogram<double>("funcrerank.request.queue_time", "s", "Mean time a request's pairs waited for their batch");
        _inferenceTime = _meter.CreateHistogram<double>("funcrerank.request.inference_time", "s", "Mean forward pass time of a request's pairs");
        _rejected = _meter.CreateCounter<long>("funcrerank.requests.rejected", "{request}", "Requests refused because the queue was full");
        _cancelled = _meter.CreateCounter<long>("funcrerank.requests.cancelled", "{request}", "Requests that left before they were scored (client gone, deadline)");
    }

    public void Batch(int rows, int requests, long realTokens, long paddedTokens, TimeSpan duration, bool failed)
    {
        _batchSize.Record(rows);
        _batchRequests.Record(requests);
        _realTokens.Record(realTokens);
        _paddedTokens.Record(paddedTokens);
        _paddingRatio.Record((double)paddedTokens / realTokens);
        _batchDuration.Record(duration.TotalSeconds);
        if (failed)
            _batchFailures.Add(1);
    }

    public void Completed(ScheduledLogits result)
    {
        _queueTime.Record(result.QueueTime.TotalSeconds);
        _inferenceTime.Record(result.InferenceTime.TotalSeconds);
    }

    public void Rejected() => _rejected.Add(1);

    public void Cancelled() => _cancelled.Add(1);

    public void Dispose() => _meter.Dispose();
}
