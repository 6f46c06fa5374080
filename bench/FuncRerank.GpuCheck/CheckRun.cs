using System.Diagnostics;
using FuncRerank.Bench;
using FuncRerank.Inference;
using FuncRerank.Model;
using FuncRerank.Model.Building;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;

namespace FuncRerank.GpuCheck;

/// <summary>A graph the check builds and measures.</summary>
internal sealed record CheckGraph(string Name, ModelPrecision Precision, Qwen3GraphOptions Options);

/// <summary>
/// The GPU check, in order: build the fp32 graph and both fp16 graphs from the checkpoint; score fixed pairs with the
/// fp32 graph on the CPU; then for each fp16 graph on the device: its score error against fp32, padding invariance,
/// throughput and memory on the three mixes, and the token-budget sweep; then the fp16 MatMul peak on the same device,
/// and the libraries the device loaded. Everything goes into one JSON report (see bench/gpu/README.md).
/// </summary>
internal static class CheckRun
{
    public static readonly CheckGraph Reference = new("fp32", ModelPrecision.Float32, Qwen3GraphOptions.Default);

    public static readonly CheckGraph[] HalfPrecision =
    [
        new("fp16 (transformers attention, the default)", ModelPrecision.Float16, Qwen3GraphOptions.Default),
        new("fp16 (GroupQueryAttention by lengths)", ModelPrecision.Float16,
            Qwen3GraphOptions.Default with { HalfPrecisionAttention = AttentionKernel.GroupQueryAttentionByLengths }),
    ];

    public static int Execute(CheckOptions options, TextWriter log)
    {
        var started = Stopwatch.StartNew();
        var report = new CheckReport(options);
        var config = Qwen3Config.Load(Path.Combine(options.Checkpoint, "config.json"));
        var shape = ModelShape.Of(config);
        report.Model(config);
        log.WriteLine($"checkpoint {options.Checkpoint}: {config.NumHiddenLayers} layers, hidden {config.HiddenSize}; device {options.Device}; ONNX Runtime {OrtEnv.Instance().GetVersionString()}");

        var built = new Dictionary<CheckGraph, string>();
        foreach (var graph in HalfPrecision.Prepend(Reference))
        {
            var watch = Stopwatch.StartNew();
            var directory = Path.Combine(options.Work, "graphs", graph.Name.Split(' ')[0] + "-" + built.Count);
            if (Directory.Exists(directory))
                Directory.Delete(directory, recursive: true);
            Qwen3OnnxBuilder.Build(options.Checkpoint, directory, graph.Precision, new RerankerTokenIds(9693, 2152, 151643), new Dictionary<string, string>(), graph.Options);
            built[graph] = directory;
            report.Build(graph, watch.Elapsed);
            log.WriteLine($"built {graph.Name} in {watch.Elapsed.TotalSeconds:F1} s");
        }

        var pairs = CheckWorkload.AccuracyPairs(options.Scale == CheckScale.Full ? 1500 : 300).SelectMany(r => r.Prompts).ToArray();
        double[] reference;
        using (var cpu = OnnxScorer.Open(built[Reference], new ScorerOptions(), NullLogger.Instance))
        {
            var watch = Stopwatch.StartNew();
            reference = pairs.Select(p => (double)cpu.ComputeLogits([p])[0]).ToArray();
            log.WriteLine($"fp32 reference on the CPU: {pairs.Length} pairs of {pairs.Min(p => p.Length)}-{pairs.Max(p => p.Length)} tokens in {watch.Elapsed.TotalSeconds:F1} s");
        }

        var mixes = CheckWorkload.Mixes(options.Scale);
        var failures = 0;
        foreach (var graph in HalfPrecision)
        {
            // A GPU run is one short chance: a graph the device cannot run is reported, and the check goes on.
            try
            {
                MeasureGraph(options, graph, built[graph], pairs, reference, mixes, shape, report, log);
            }
            catch (Exception e)
            {
                failures++;
                report.Failure(graph.Name, e);
                log.WriteLine($"{graph.Name} FAILED: {e}");
            }
        }

        var (size, chain) = options.Scale == CheckScale.Full ? (8192, 4) : (512, 2);
        try
        {
            var peakResult = HalfPrecisionPeak.Measure(options.Device, size, chain, TimeSpan.FromSeconds(options.Scale == CheckScale.Full ? 5 : 1));
            report.Peak(peakResult);
            log.WriteLine($"fp16 MatMul {size}³ x {chain} through ONNX Runtime: best {peakResult.BestTflops:F1} TFLOP/s, median {peakResult.MedianTflops:F1} ({peakResult.Runs} runs)");
        }
        catch (Exception e)
        {
            failures++;
            report.Failure("fp16 MatMul peak", e);
            log.WriteLine($"fp16 MatMul peak FAILED: {e}");
        }

        if (options.Device == ExecutionDevice.Cuda)
            report.ComputeCapability(CudaLibraries.ComputeCapability(0));
        var libraries = CudaLibraries.Loaded();
        report.Libraries(libraries);
        foreach (var library in libraries)
            log.WriteLine($"loaded {library.Path}{(library.Version is null ? "" : $" ({library.Version})")}");

        report.Write(options.Output, started.Elapsed);
        log.WriteLine(report.Summary());
        log.WriteLine($"wrote {options.Output} after {started.Elapsed.TotalSeconds:F0} s{(failures > 0 ? $"; {failures} step(s) failed" : "")}");
        return failures > 0 ? 1 : 0;
    }

    private static void MeasureGraph(CheckOptions options, CheckGraph graph, string directory, int[][] pairs, double[] reference, CheckMix[] mixes,
        ModelShape shape, CheckReport report, TextWriter log)
    {
        using var peak = options.Device == ExecutionDevice.Cuda ? new GpuMemoryPeak(0) : null;
        var watch = Stopwatch.StartNew();
        using var scorer = OnnxScorer.Open(directory, new ScorerOptions { Device = options.Device, RequireCuda = true }, NullLogger.Instance);
        var budgets = scorer.DefaultBudgets;
        report.Session(graph, watch.Elapsed, scorer.GpuMemoryAtLoad, budgets);
        log.WriteLine($"{graph.Name} on {scorer.ExecutionProviderName}: loaded in {watch.Elapsed.TotalSeconds:F1} s; budgets {budgets.MaxBatchTokens} tokens, " +
                      $"{budgets.MaxAttentionCells} cells ({budgets.Reason})");

        var alone = pairs.Select(p => (double)scorer.ComputeLogits([p])[0]).ToArray();
        var batched = scorer.ComputeLogits(pairs);
        var longRow = pairs.MaxBy(p => p.Length)!.Concat(Enumerable.Repeat(pairs[0][^20], 300)).ToArray();
        var padded = pairs.Select(p => (double)scorer.ComputeLogits([longRow, p])[1]).ToArray();
        var accuracy = new AccuracyResult(
            pairs.Length,
            alone.Select((l, i) => Math.Abs(l - reference[i])).Max(),
            alone.Select((l, i) => Math.Abs(Sigmoid(l) - Sigmoid(reference[i]))).Max(),
            batched.Select((l, i) => Math.Abs(l - alone[i])).Max(),
            padded.Select((l, i) => Math.Abs(l - alone[i])).Max());
        report.Accuracy(graph, accuracy);
        log.WriteLine($"  vs fp32: max |dlogit| {accuracy.MaxLogitError:E2}, max |dscore| {accuracy.MaxScoreError:E2}; " +
                      $"batched vs alone {accuracy.BatchedVsAlone:E2}, next to a {longRow.Length}-token row {accuracy.PaddedVsAlone:E2}");

        foreach (var mix in mixes)
        {
            var result = TimeMix(scorer, mix, shape, budgets.MaxBatchTokens, budgets.MaxAttentionCells, peak);
            report.Mix(graph, result);
            log.WriteLine($"  {mix.Name}: {result.PairsPerSecond:F1} pairs/s, {result.TokensPerSecond:F0} tokens/s, {result.NaiveTflops:F1} TFLOP/s naive, " +
                          $"{result.Batches} batches, GPU memory peak {Gib(result.GpuMemoryPeakBytes)}");
        }

        foreach (var tokens in new[] { 16384, 32768, 65536 })
        {
            var result = TimeMix(scorer, mixes[0], shape, tokens, budgets.MaxAttentionCells, peak);
            report.Sweep(graph, tokens, result);
            log.WriteLine($"  MaxBatchTokens {tokens}: {mixes[0].Name} at {result.PairsPerSecond:F1} pairs/s ({result.Batches} batches)");
        }
    }

    /// <summary>
    /// One untimed pass of the mix (kernel selection and arena growth on each new shape), then a timed one; each request's
    /// prompts cut into batches as the server cuts a request that arrives alone (<see cref="ServerBatches.PlanAlone"/>).
    /// </summary>
    private static MixResult TimeMix(OnnxScorer scorer, CheckMix mix, ModelShape shape, int maxBatchTokens, long maxAttentionCells, GpuMemoryPeak? peak)
    {
        var plans = mix.Requests.Select(r => ServerBatches.PlanAlone(r.Prompts.Select(p => p.Length).ToArray(), maxBatchTokens, maxAttentionCells)
            .Select(batch => batch.Select(i => r.Prompts[i]).ToArray()).ToArray()).ToArray();
        foreach (var batch in plans.SelectMany(p => p))
            scorer.ComputeLogits(batch);
        var watch = Stopwatch.StartNew();
        foreach (var batch in plans.SelectMany(p => p))
            scorer.ComputeLogits(batch);
        var seconds = watch.Elapsed.TotalSeconds;
        var flops = mix.Requests.Sum(r => r.Prompts.Sum(p => shape.PairFlops(p.Length)));
        return new MixResult(mix.Name, mix.Pairs, mix.Tokens, plans.Sum(p => p.Length), seconds, mix.Pairs / seconds, mix.Tokens / seconds,
            flops / seconds / 1e12, peak?.PeakUsedBytes);
    }

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    private static string Gib(long? bytes) => bytes is { } b ? $"{b / (double)(1L << 30):F1} GiB" : "n/a (cpu)";
}

/// <summary>Score error of an fp16 graph on the device against the fp32 graph on the CPU, and its padding invariance.</summary>
internal sealed record AccuracyResult(int Pairs, double MaxLogitError, double MaxScoreError, double BatchedVsAlone, double PaddedVsAlone);

/// <summary>A timed pass over a mix. Naive FLOPs as the benchmark counts them (onnx_perf.md §4.2).</summary>
internal sealed record MixResult(string Mix, int Pairs, long Tokens, int Batches, double Seconds, double PairsPerSecond, double TokensPerSecond,
    double NaiveTflops, long? GpuMemoryPeakBytes);
