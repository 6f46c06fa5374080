using System.Diagnostics;
using FuncRerank.Inference;
using FuncRerank.Model;
using Microsoft.ML.OnnxRuntime;

namespace FuncRerank.Bench;

/// <summary>
/// One ONNX Runtime session over a built directory, with session settings the benchmark can vary: the server's own
/// settings (<see cref="OnnxScorer.CreateSessionOptions"/>) plus one change. Feeds rows left-padded as the scorer does.
/// </summary>
public sealed class ModelRunner : IDisposable
{
    private static readonly string[] InputNames = ["input_ids", "attention_mask"];
    private static readonly string[] OutputNames = ["logits"];

    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly long _padTokenId;

    public ModelRunner(string builtDirectory, Action<SessionOptions>? tune = null, int threads = 0)
    {
        var manifest = RerankerManifest.Load(builtDirectory);
        _padTokenId = manifest.PadTokenId;
        using var options = OnnxScorer.CreateSessionOptions(new ScorerOptions { IntraOpThreads = threads }, useCuda: false);
        tune?.Invoke(options);
        var watch = Stopwatch.StartNew();
        _session = new InferenceSession(Path.Combine(builtDirectory, RerankerManifest.GraphFileName), options);
        LoadSeconds = watch.Elapsed.TotalSeconds;
    }

    public double LoadSeconds { get; }

    public float[] Logits(IReadOnlyList<int[]> rows)
    {
        var width = rows.Max(r => r.Length);
        var ids = new long[rows.Count * width];
        var mask = new long[rows.Count * width];
        for (var r = 0; r < rows.Count; r++)
        {
            var pad = width - rows[r].Length;
            ids.AsSpan(r * width, pad).Fill(_padTokenId);
            for (var i = 0; i < rows[r].Length; i++)
            {
                ids[r * width + pad + i] = rows[r][i];
                mask[r * width + pad + i] = 1;
            }
        }

        long[] shape = [rows.Count, width];
        using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, shape);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, shape);
        using var outputs = _session.Run(_runOptions, InputNames, [idsValue, maskValue], OutputNames);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    public void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
    }
}
