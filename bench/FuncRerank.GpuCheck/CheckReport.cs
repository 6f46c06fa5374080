using System.Globalization;
using System.Text;
using System.Text.Json;
using FuncRerank.Inference;
using FuncRerank.Model;
using Microsoft.ML.OnnxRuntime;

namespace FuncRerank.GpuCheck;

/// <summary>What the check measured, written as one JSON document (bench/gpu/README.md lists its fields).</summary>
internal sealed class CheckReport(CheckOptions options)
{
    private Qwen3Config? _config;
    private readonly Dictionary<string, double> _buildSeconds = [];
    private readonly Dictionary<string, (double Seconds, GpuMemory? Memory, BatchBudgets Budgets)> _sessions = [];
    private readonly Dictionary<string, AccuracyResult> _accuracy = [];
    private readonly List<(string Graph, MixResult Result)> _mixes = [];
    private readonly List<(string Graph, int MaxBatchTokens, MixResult Result)> _sweep = [];
    private IReadOnlyList<LoadedLibrary> _libraries = [];
    private PeakResult? _peak;
    private string? _computeCapability;
    private readonly List<(string Step, string Error)> _failures = [];

    public void Model(Qwen3Config config) => _config = config;

    public void Build(CheckGraph graph, TimeSpan elapsed) => _buildSeconds[graph.Name] = elapsed.TotalSeconds;

    public void Session(CheckGraph graph, TimeSpan elapsed, GpuMemory? memory, BatchBudgets budgets) => _sessions[graph.Name] = (elapsed.TotalSeconds, memory, budgets);

    public void Accuracy(CheckGraph graph, AccuracyResult result) => _accuracy[graph.Name] = result;

    public void Mix(CheckGraph graph, MixResult result) => _mixes.Add((graph.Name, result));

    public void Sweep(CheckGraph graph, int maxBatchTokens, MixResult result) => _sweep.Add((graph.Name, maxBatchTokens, result));

    public void Libraries(IReadOnlyList<LoadedLibrary> libraries) => _libraries = libraries;

    public void Peak(PeakResult peak) => _peak = peak;

    public void ComputeCapability(string? capability) => _computeCapability = capability;

    /// <summary>A step that failed: its exception, message and stack, so one GPU run says why.</summary>
    public void Failure(string step, Exception error) => _failures.Add((step, error.ToString()));

    /// <summary>The measured rate over the fp16 MatMul peak of the same run (best of its runs).</summary>
    private double? FractionOfPeak(MixResult result) => _peak is { BestTflops: > 0 } peak ? result.NaiveTflops / peak.BestTflops : null;

    public void Write(string path, TimeSpan elapsed)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var stream = File.Create(path);
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteString("check", "funcrerank-gpucheck");
        w.WriteString("device", options.Device.ToString().ToLowerInvariant());
        w.WriteString("scale", options.Scale.ToString().ToLowerInvariant());
        w.WriteNumber("seconds", Math.Round(elapsed.TotalSeconds, 1));
        w.WriteStartObject("environment");
        w.WriteString("onnxruntime", OrtEnv.Instance().GetVersionString());
        w.WriteString("dotnet", Environment.Version.ToString());
        w.WriteNumber("cpus", Environment.ProcessorCount);
        if (_computeCapability is not null)
            w.WriteString("compute_capability", _computeCapability);
        if (options.NvidiaSmi is { } smi && File.Exists(smi))
            w.WriteString("nvidia_smi", File.ReadAllText(smi).Trim());
        w.WriteStartArray("libraries");
        foreach (var library in _libraries)
        {
            w.WriteStartObject();
            w.WriteString("name", library.Name);
            w.WriteString("path", library.Path);
            if (library.Version is not null)
                w.WriteString("version", library.Version);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
        if (_config is { } c)
        {
            w.WriteStartObject("model");
            w.WriteString("checkpoint", options.Checkpoint);
            w.WriteNumber("layers", c.NumHiddenLayers);
            w.WriteNumber("hidden", c.HiddenSize);
            w.WriteNumber("heads", c.NumAttentionHeads);
            w.WriteNumber("kv_heads", c.NumKeyValueHeads);
            w.WriteNumber("head_dim", c.HeadDim);
            w.WriteNumber("intermediate", c.IntermediateSize);
            w.WriteEndObject();
        }

        if (_peak is { } peak)
        {
            w.WriteStartObject("fp16_matmul_peak");
            w.WriteNumber("size", peak.Size);
            w.WriteNumber("chain", peak.Chain);
            w.WriteNumber("best_tflops", Math.Round(peak.BestTflops, 2));
            w.WriteNumber("median_tflops", Math.Round(peak.MedianTflops, 2));
            w.WriteNumber("runs", peak.Runs);
            w.WriteEndObject();
        }

        w.WriteStartArray("graphs");
        foreach (var (name, seconds) in _buildSeconds)
        {
            w.WriteStartObject();
            w.WriteString("name", name);
            w.WriteNumber("build_seconds", Math.Round(seconds, 2));
            if (_sessions.TryGetValue(name, out var session))
            {
                w.WriteNumber("load_seconds", Math.Round(session.Seconds, 2));
                if (session.Memory is { } memory)
                {
                    w.WriteNumber("gpu_free_bytes_at_load", memory.FreeBytes);
                    w.WriteNumber("gpu_total_bytes", memory.TotalBytes);
                }

                w.WriteStartObject("default_budgets");
                w.WriteNumber("max_batch_tokens", session.Budgets.MaxBatchTokens);
                w.WriteNumber("max_attention_cells", session.Budgets.MaxAttentionCells);
                w.WriteString("reason", session.Budgets.Reason);
                w.WriteEndObject();
            }

            if (_accuracy.TryGetValue(name, out var accuracy))
            {
                w.WriteStartObject("vs_fp32_cpu");
                w.WriteNumber("pairs", accuracy.Pairs);
                w.WriteNumber("max_abs_logit_error", accuracy.MaxLogitError);
                w.WriteNumber("max_abs_score_error", accuracy.MaxScoreError);
                w.WriteNumber("max_abs_logit_batched_vs_alone", accuracy.BatchedVsAlone);
                w.WriteNumber("max_abs_logit_padded_vs_alone", accuracy.PaddedVsAlone);
                w.WriteEndObject();
            }

            w.WriteStartArray("mixes");
            foreach (var (_, result) in _mixes.Where(m => m.Graph == name))
                WriteMix(w, result, null);
            w.WriteEndArray();
            w.WriteStartArray("max_batch_tokens_sweep");
            foreach (var (_, tokens, result) in _sweep.Where(s => s.Graph == name))
                WriteMix(w, result, tokens);
            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("failures");
        foreach (var (step, error) in _failures)
        {
            w.WriteStartObject();
            w.WriteString("step", step);
            w.WriteString("error", error);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private void WriteMix(Utf8JsonWriter w, MixResult result, int? maxBatchTokens)
    {
        w.WriteStartObject();
        w.WriteString("mix", result.Mix);
        if (maxBatchTokens is { } tokens)
            w.WriteNumber("max_batch_tokens", tokens);
        w.WriteNumber("pairs", result.Pairs);
        w.WriteNumber("tokens", result.Tokens);
        w.WriteNumber("batches", result.Batches);
        w.WriteNumber("seconds", Math.Round(result.Seconds, 4));
        w.WriteNumber("pairs_per_second", Math.Round(result.PairsPerSecond, 2));
        w.WriteNumber("tokens_per_second", Math.Round(result.TokensPerSecond, 0));
        w.WriteNumber("naive_tflops", Math.Round(result.NaiveTflops, 3));
        if (FractionOfPeak(result) is { } fraction)
            w.WriteNumber("fraction_of_fp16_peak", Math.Round(fraction, 4));
        if (result.GpuMemoryPeakBytes is { } peak)
            w.WriteNumber("gpu_memory_peak_bytes", peak);
        w.WriteEndObject();
    }

    /// <summary>The table the check prints at the end (record it in docs/gpu.md with the same columns).</summary>
    public string Summary()
    {
        var text = new StringBuilder();
        var invariant = CultureInfo.InvariantCulture;
        text.AppendLine(invariant, $"| graph | mix | pairs/s | tokens/s | naive TFLOP/s | of fp16 peak ({_peak?.BestTflops:G3} TFLOP/s) | GPU memory peak |");
        text.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var (graph, r) in _mixes)
            text.AppendLine(invariant, $"| {graph} | {r.Mix} | {r.PairsPerSecond:F1} | {r.TokensPerSecond:F0} | {r.NaiveTflops:F2} | " +
                                       $"{FractionOfPeak(r):P1} | {(r.GpuMemoryPeakBytes is { } b ? $"{b / (double)(1L << 30):F1} GiB" : "n/a")} |");
        foreach (var (graph, a) in _accuracy)
            text.AppendLine(invariant, $"{graph}: vs fp32 max |dlogit| {a.MaxLogitError:E2}, |dscore| {a.MaxScoreError:E2}; " +
                                       $"batched {a.BatchedVsAlone:E2}, padded {a.PaddedVsAlone:E2}");
        foreach (var (step, error) in _failures)
            text.AppendLine(invariant, $"FAILED {step}: {error.Split('\n')[0]}");
        return text.ToString().TrimEnd();
    }
}
