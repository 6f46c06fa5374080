using System.Diagnostics;

namespace FuncRerank.Inference;

/// <summary>
/// The <c>FuncRerank</c> activity source: per scoring request a <c>funcrerank.score</c> span with children
/// <c>funcrerank.tokenize</c>, <c>funcrerank.queue</c> (until its first pair enters a forward pass) and one
/// <c>funcrerank.inference</c> per forward pass that holds its pairs. Attributes are counts only (pairs, tokens, batch
/// size): never a document, a query or a key. Nothing is recorded unless a listener (an OpenTelemetry tracer) is on.
/// </summary>
public static class RerankTracing
{
    public const string SourceName = "FuncRerank";

    public static ActivitySource Source { get; } = new(SourceName);

    /// <summary>A span that began and ended at times measured elsewhere (the batch thread), under the request's span.</summary>
    internal static void Record(string name, ActivityContext parent, DateTime startUtc, DateTime endUtc, IEnumerable<KeyValuePair<string, object?>> tags)
    {
        if (parent == default)
            return;
        using var activity = Source.StartActivity(name, ActivityKind.Internal, parent, tags, startTime: startUtc);
        activity?.SetEndTime(endUtc);
    }
}
