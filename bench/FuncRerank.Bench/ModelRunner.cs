using System.Diagnostics;
using FuncRerank.Inference;
using FuncRerank.Model;
using Microsoft.ML.OnnxRuntime;

namespace FuncRerank.Bench;

/// <summary>
/// The service's scorer over a built directory, with session settings the benchmark can vary: the server's own
/// settings (<see cref="OnnxScorer.CreateSessionOptions"/>) plus one change.
/// </summary>
public sealed class ModelRunner : IDisposable
{
    private readonly OnnxScorer _scorer;

    public ModelRunner(string builtDirectory, Action<SessionOptions>? tune = null, int threads = 0)
    {
        var watch = Stopwatch.StartNew();
        _scorer = OpenTuned(builtDirectory, new ScorerOptions { IntraOpThreads = threads }, tune);
        LoadSeconds = watch.Elapsed.TotalSeconds;
    }

    public double LoadSeconds { get; }

    public float[] Logits(IReadOnlyList<int[]> rows) => _scorer.ComputeLogits(rows);

    public void Dispose() => _scorer.Dispose();

    /// <summary>A CPU scorer whose session settings are the service's plus <paramref name="tune"/>: the benchmark's levers.</summary>
    private static OnnxScorer OpenTuned(string builtDirectory, ScorerOptions options, Action<SessionOptions>? tune)
    {
        using var sessionOptions = OnnxScorer.CreateSessionOptions(options, useCuda: false);
        tune?.Invoke(sessionOptions);
        var session = new InferenceSession(Path.Combine(builtDirectory, RerankerManifest.GraphFileName), sessionOptions);
        try
        {
            return new OnnxScorer(session, RerankerManifest.Load(builtDirectory), ExecutionDevice.Cpu, "tuned for a benchmark");
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }
}
