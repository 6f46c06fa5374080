using System.Diagnostics;
using System.Text.Json;
using FuncRerank.Model;
using FuncRerank.Model.Building;
using Microsoft.ML.OnnxRuntime;

namespace FuncRerank.Bench;

/// <summary>
/// A batch to time: <paramref name="Batch"/> rows, the longest <paramref name="Sequence"/> tokens; with
/// <paramref name="ShortestFraction"/> below 1 the rows shrink evenly down to that fraction of it (left-padded).
/// </summary>
internal sealed record BatchShape(int Batch, int Sequence, double ShortestFraction = 1)
{
    public int RowLength(int row) =>
        Batch == 1 ? Sequence : Sequence - (int)Math.Round((1 - ShortestFraction) * Sequence * row / (Batch - 1));

    public override string ToString() => ShortestFraction < 1 ? $"{Batch}x{Sequence}/{ShortestFraction:0.##}" : $"{Batch}x{Sequence}";
}

/// <summary>One configuration under test: a built graph and the session settings it runs with.</summary>
internal sealed record Variant(string Name, string Directory, Action<SessionOptions>? Tune = null, int Threads = 0);

/// <summary>
/// Measures the tuning levers (docs/performance.md): graph variants built from the same checkpoint, and session settings
/// on the default graph, timed interleaved (every round runs every variant, in a rotating order) because this 2-vCPU VM's
/// speed drifts between minutes. Also checks that each graph variant gives the same logits: against the torch reference
/// when the checkpoint has one (tests/fixtures/models/make_checkpoints.py --only qwen3-0.6b-slice), against the baseline
/// graph, and alone vs. inside a left-padded batch.
/// </summary>
internal static class Levers
{
    /// <summary>Full rows of 128, 512 and 2,000 tokens, and two left-padded batches whose rows shrink evenly to half / a fifth.</summary>
    public static readonly BatchShape[] DefaultShapes = [new(32, 128), new(8, 512), new(2, 2000), new(16, 1000, 0.5), new(4, 2000, 0.2)];

    /// <summary>The graph as the builder wrote it before the tuning work (builder version funcrerank-qwen3-score-1): what the levers are measured against.</summary>
    public static Qwen3GraphOptions BaselineGraph { get; } = new()
    {
        Attention = AttentionKernel.Unfused,
        LastLayerLastPositionOnly = false,
        FusedNorms = false,
        RotaryContrib = false,
        PackedTokens = false,
        SharedPrefix = false,
    };

    /// <summary>The builder's graph before the tuning work, the default, and the default with one lever flipped each (the last: two). `--variants` indexes this list.</summary>
    public static IReadOnlyList<(string Name, Qwen3GraphOptions Options)> GraphVariants() =>
    [
        ("baseline (builder v1)", BaselineGraph),
        ("default (builder v3)", Qwen3GraphOptions.Default),
        ("default, no shared prefix input", Qwen3GraphOptions.Default with { SharedPrefix = false }),
        ("default, unfused attention", Qwen3GraphOptions.Default with { Attention = AttentionKernel.Unfused }),
        ("default, full last layer", Qwen3GraphOptions.Default with { LastLayerLastPositionOnly = false }),
        ("default, padded tokens", Qwen3GraphOptions.Default with { PackedTokens = false, SharedPrefix = false }),
        ("default + fused norm ops", Qwen3GraphOptions.Default with { FusedNorms = true }),
        ("default + RotaryEmbedding op", Qwen3GraphOptions.Default with { RotaryContrib = true }),
        ("default + both contrib ops", Qwen3GraphOptions.Default with { FusedNorms = true, RotaryContrib = true }),
        ("default, int8 weights (MatMulNBits)", Qwen3GraphOptions.Default with { WeightBits = 8 }),
        ("default, int4 weights (MatMulNBits)", Qwen3GraphOptions.Default with { WeightBits = 4 }),
    ];

    public static void NoSpinning(SessionOptions options) => options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");

    public static IReadOnlyList<Variant> SessionVariants(string defaultGraph) =>
    [
        new("ORT_ENABLE_ALL, threads=0 (server)", defaultGraph),
        new("ORT_ENABLE_EXTENDED", defaultGraph, o => o.GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_EXTENDED),
        new("ORT_ENABLE_BASIC", defaultGraph, o => o.GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_BASIC),
        new("threads=2 (explicit)", defaultGraph, Threads: 2),
        new("threads=1", defaultGraph, Threads: 1),
        new("no spinning", defaultGraph, NoSpinning),
        new("no memory pattern", defaultGraph, o => o.EnableMemoryPattern = false),
        new("no CPU arena", defaultGraph, o => o.EnableCpuMemArena = false),
    ];

    /// <summary>Builds each graph variant (fp32) into <paramref name="work"/>; returns name → directory.</summary>
    public static List<(string Name, string Directory)> BuildGraphs(string checkpoint, string work, IEnumerable<(string Name, Qwen3GraphOptions Options)> variants, TextWriter log)
    {
        var built = new List<(string, string)>();
        var index = 0;
        foreach (var (name, options) in variants)
        {
            var directory = Path.Combine(work, $"graph-{index++}");
            if (Directory.Exists(directory))
                Directory.Delete(directory, recursive: true);
            var watch = Stopwatch.StartNew();
            Qwen3OnnxBuilder.Build(checkpoint, directory, ModelPrecision.Float32, new RerankerTokenIds(9693, 2152, 151643), new Dictionary<string, string>(), options);
            log.WriteLine($"  built {name,-34} in {watch.Elapsed.TotalSeconds:F1} s ({options.Describe(ModelPrecision.Float32)})");
            built.Add((name, directory));
        }

        return built;
    }

    /// <summary>Max |Δ logit| of each graph against the torch reference (if any), the first graph, and padding.</summary>
    public static void CheckExactness(IReadOnlyList<(string Name, string Directory)> graphs, string checkpoint, string pairsFile, TextWriter output)
    {
        var pairs = File.ReadLines(pairsFile).Where(l => l.Trim().Length > 0)
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Select(e => (Name: e.GetProperty("name").GetString()!, Ids: e.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray()))
            .ToArray();
        Dictionary<string, double>? reference = null;
        var referencePath = Path.Combine(checkpoint, "reference.json");
        if (File.Exists(referencePath))
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(referencePath));
            reference = document.RootElement.GetProperty("pairs").EnumerateArray()
                .ToDictionary(p => p.GetProperty("name").GetString()!, p => p.GetProperty("logit_fp32_alone").GetDouble());
        }

        output.WriteLine($"exactness on {pairs.Length} prompts of {pairs.Min(p => p.Ids.Length)}-{pairs.Max(p => p.Ids.Length)} tokens (max |Δ logit|):");
        output.WriteLine($"  {"graph",-34} {"vs torch fp32",14} {"vs first graph",15} {"alone vs batch",15} {"padded +300",12}");
        float[]? first = null;
        foreach (var (name, directory) in graphs)
        {
            using var runner = new ModelRunner(directory);
            var alone = pairs.Select(p => runner.Logits([p.Ids])[0]).ToArray();
            var batched = runner.Logits(pairs.Select(p => p.Ids).ToArray());
            var longRow = pairs.MaxBy(p => p.Ids.Length).Ids.Concat(Enumerable.Repeat(pairs[0].Ids[^20], 300)).ToArray();
            var padded = pairs.Select(p => runner.Logits([longRow, p.Ids])[1]).ToArray();
            first ??= alone;
            var torch = reference is null ? "n/a" : $"{pairs.Select((p, i) => Math.Abs(alone[i] - reference[p.Name])).Max():0.0e+0}";
            output.WriteLine($"  {name,-34} {torch,14} {MaxDiff(alone, first),15:0.0e+0} {MaxDiff(alone, batched),15:0.0e+0} {MaxDiff(alone, padded),12:0.0e+0}");
        }
    }

    private static double MaxDiff(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs((double)x - y)).Max();

    /// <summary>
    /// Times every variant on every shape, <paramref name="rounds"/> times, interleaved (the order rotates each round),
    /// in wall time and in CPU time of this process (all threads).
    /// Before each run it waits for the machine to be quiet (other processes under <see cref="QuietCores"/> cores), and
    /// runs during which other processes still took more than that are left out of the medians (counted in "noisy").
    /// </summary>
    public static void Time(IReadOnlyList<Variant> variants, BatchShape[] shapes, int rounds, TextWriter output)
    {
        var random = new Random(5);
        var inputs = shapes.Select(s => Enumerable.Range(0, s.Batch)
            .Select(i => Enumerable.Range(0, s.RowLength(i)).Select(_ => random.Next(200, 150000)).ToArray()).ToArray()).ToArray();
        var runners = new List<ModelRunner>();
        var load = new MachineLoad();
        try
        {
            foreach (var variant in variants)
            {
                var runner = new ModelRunner(variant.Directory, variant.Tune, variant.Threads);
                runners.Add(runner);
                foreach (var input in inputs)
                    runner.Logits(input); // first run of a shape: kernel choice, arena growth
            }

            var times = variants.Select(_ => shapes.Select(_ => new List<(double Ms, double CpuMs, double Foreign)>()).ToArray()).ToArray();
            for (var round = 0; round < rounds; round++)
            {
                for (var k = 0; k < variants.Count; k++)
                {
                    var v = (k + round) % variants.Count; // rotate who goes first
                    for (var s = 0; s < shapes.Length; s++)
                    {
                        load.WaitForQuiet(QuietCores, TimeSpan.FromSeconds(5));
                        var before = load.Take();
                        var cpuBefore = MachineLoad.CpuNanoseconds(Environment.ProcessId) ?? 0;
                        var watch = Stopwatch.StartNew();
                        runners[v].Logits(inputs[s]);
                        var ms = watch.Elapsed.TotalMilliseconds;
                        var cpuMs = ((MachineLoad.CpuNanoseconds(Environment.ProcessId) ?? 0) - cpuBefore) / 1e6;
                        times[v][s].Add((ms, cpuMs, MachineLoad.ForeignCores(before, load.Take())));
                    }
                }
            }

            output.WriteLine($"  {"variant",-36} " + string.Join(" ", shapes.Select(s => $"{$"{s} wall/CPU",16}")) +
                             $" {"sum ms",8} {"vs first",8} {"noisy",6} {"CPU ms",8} {"vs first",8} {"load s",7}");
            double? firstSum = null;
            double? firstCpu = null;
            for (var v = 0; v < variants.Count; v++)
            {
                var medians = new double[shapes.Length];
                var cells = new string[shapes.Length];
                var noisy = 0;
                for (var s = 0; s < shapes.Length; s++)
                {
                    var clean = times[v][s].Where(t => t.Foreign < QuietCores).Select(t => t.Ms).ToList();
                    noisy += times[v][s].Count - clean.Count;
                    var used = clean.Count > 0 ? clean : times[v][s].Select(t => t.Ms).ToList();
                    medians[s] = Median(used);
                    cells[s] = $"{medians[s],6:F0} / {Median(times[v][s].Select(t => t.CpuMs).ToList()),6:F0}";
                }

                var sum = medians.Sum();
                firstSum ??= sum;
                var cpu = times[v].Sum(shape => Median(shape.Select(t => t.CpuMs).ToList()));
                firstCpu ??= cpu;
                output.WriteLine($"  {variants[v].Name,-36} " + string.Join(" ", cells.Select(c => $"{c,16}")) +
                                 $" {sum,8:F0} {firstSum.Value / sum,7:F2}x {noisy,6} {cpu,8:F0} {firstCpu.Value / cpu,7:F2}x {runners[v].LoadSeconds,7:F2}");
            }
        }
        finally
        {
            foreach (var runner in runners)
                runner.Dispose();
        }
    }

    /// <summary>
    /// Session creation time (and the first small run after it) from the graph as built, against a copy ONNX Runtime
    /// optimised and saved once (<c>SessionOptions.OptimizedModelFilePath</c>, weights in an external file), loaded with
    /// and without re-running the optimisers. Interleaved; one discarded round first so every file is in the page cache.
    /// </summary>
    public static void TimeLoad(string builtDirectory, int rounds, TextWriter output)
    {
        var optimizedDirectory = Path.Combine(Path.GetDirectoryName(builtDirectory)!, "optimized");
        if (Directory.Exists(optimizedDirectory))
            Directory.Delete(optimizedDirectory, recursive: true);
        Directory.CreateDirectory(optimizedDirectory);
        foreach (var file in Directory.GetFiles(builtDirectory).Where(f => !f.EndsWith(".onnx", StringComparison.Ordinal) && !f.EndsWith(".onnx_data", StringComparison.Ordinal)))
            File.Copy(file, Path.Combine(optimizedDirectory, Path.GetFileName(file)));
        var watch = Stopwatch.StartNew();
        using (new ModelRunner(builtDirectory, o =>
               {
                   o.OptimizedModelFilePath = Path.Combine(optimizedDirectory, RerankerManifest.GraphFileName);
                   o.AddSessionConfigEntry("session.optimized_model_external_initializers_file_name", RerankerManifest.WeightsFileName);
                   o.AddSessionConfigEntry("session.optimized_model_external_initializers_min_size_in_bytes", "1024");
               }))
        {
        }

        output.WriteLine($"  saved the ORT_ENABLE_ALL-optimised graph in {watch.Elapsed.TotalSeconds:F1} s " +
                         $"({new FileInfo(Path.Combine(optimizedDirectory, RerankerManifest.GraphFileName)).Length / 1024} KiB graph + " +
                         $"{new FileInfo(Path.Combine(optimizedDirectory, RerankerManifest.WeightsFileName)).Length / 1048576} MiB weights)");
        var variants = new (string Name, string Directory, Action<SessionOptions>? Tune)[]
        {
            ("as built, ORT_ENABLE_ALL (server)", builtDirectory, null),
            ("as built, ORT_ENABLE_EXTENDED", builtDirectory, o => o.GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_EXTENDED),
            ("pre-optimised, ORT_DISABLE_ALL", optimizedDirectory, o => o.GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL),
            ("pre-optimised, ORT_ENABLE_ALL", optimizedDirectory, null),
        };
        var row = Enumerable.Range(0, 64).Select(i => 1000 + i).ToArray();
        var load = new MachineLoad();
        var times = variants.Select(_ => new List<(double Load, double First)>()).ToArray();
        for (var round = -1; round < rounds; round++)
        {
            for (var k = 0; k < variants.Length; k++)
            {
                var v = (k + Math.Max(0, round)) % variants.Length;
                load.WaitForQuiet(QuietCores, TimeSpan.FromSeconds(5));
                using var runner = new ModelRunner(variants[v].Directory, variants[v].Tune);
                var first = Stopwatch.StartNew();
                runner.Logits([row]);
                if (round >= 0)
                    times[v].Add((runner.LoadSeconds, first.Elapsed.TotalSeconds));
            }
        }

        output.WriteLine($"  {"session from",-36} {"create s",9} {"first run s",12} {"(min create)",13}");
        for (var v = 0; v < variants.Length; v++)
            output.WriteLine($"  {variants[v].Name,-36} {Median(times[v].Select(t => t.Load).ToList()),9:F2} {Median(times[v].Select(t => t.First).ToList()),12:F3} {times[v].Min(t => t.Load),13:F2}");
    }

    /// <summary>Other processes' CPU use, in cores, above which a timed run counts as noisy.</summary>
    public const double QuietCores = 0.25;

    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
