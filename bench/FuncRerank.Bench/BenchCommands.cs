using System.CommandLine;

namespace FuncRerank.Bench;

/// <summary>The bench's commands: <c>run</c> (the benchmark), <c>peak</c>, <c>levers</c>, <c>checkpoint</c>.</summary>
internal static class BenchCommands
{
    public static Option<string> Work() => new("--work")
    {
        Description = "Scratch directory for the checkpoint, built graphs and logs (reused between runs)",
        DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "funcrerank-bench"),
    };

    public static Option<int> Layers() => new("--layers")
    {
        Description = "Decoder layers of the generated 0.6B-shaped checkpoint (28 is the full model)",
        DefaultValueFactory = _ => 2,
    };

    public static Option<string?> CheckpointOption() => new("--checkpoint")
    {
        Description = "Use this Qwen3 checkpoint instead of generating a random 0.6B-shaped one",
    };

    public static Option<int> Threads() => new("--threads")
    {
        Description = "Threads for the matmul peak and the torch peer (the server uses ONNX Runtime's default: one per core)",
        DefaultValueFactory = _ => Environment.ProcessorCount,
    };

    public static Command Checkpoint()
    {
        var work = Work();
        var layers = Layers();
        var command = new Command("checkpoint", "Write the random-weight 0.6B-shaped checkpoint (and print its directory)") { work, layers };
        command.SetAction(result =>
        {
            Console.WriteLine(EnsureCheckpoint(result.GetValue(work)!, result.GetValue(layers), Console.Error));
            return 0;
        });
        return command;
    }

    public static Command Peak()
    {
        var threads = Threads();
        var seconds = new Option<double>("--seconds") { Description = "Timing per shape", DefaultValueFactory = _ => 3 };
        var command = new Command("peak", "fp32 MatMul peak of ONNX Runtime on this machine (2048³ and 4096x1024x3072)") { threads, seconds };
        command.SetAction(result =>
        {
            foreach (var r in MeasurePeak(result.GetValue(threads), TimeSpan.FromSeconds(result.GetValue(seconds))))
                Console.WriteLine($"MatMul {r.M}x{r.K}x{r.N}: best {r.BestGflops:F0} GFLOP/s, median {r.MedianGflops:F0} ({r.Runs} runs)");
            return 0;
        });
        return command;
    }

    public static Command Levers()
    {
        var work = Work();
        var layers = Layers();
        var checkpoint = CheckpointOption();
        var rounds = new Option<int>("--rounds") { Description = "Interleaved rounds per group", DefaultValueFactory = _ => 5 };
        var group = new Option<string>("--group") { Description = "graph, session, both, or load (session creation time)", DefaultValueFactory = _ => "both" };
        var shapesOption = new Option<string>("--shapes")
        {
            Description = "Batch shapes to time, as BATCHxSEQ or BATCHxSEQ/F (rows shrinking evenly to F·SEQ tokens, left-padded), comma-separated",
            DefaultValueFactory = _ => string.Join(",", FuncRerank.Bench.Levers.DefaultShapes.Select(s => s.ToString())),
        };
        var variants = new Option<string?>("--variants")
        {
            Description = "Graph variants to compare, as indices into the list (0 baseline, 1 default, 2-7 the default with one lever flipped, 8 with both contrib ops, 9 int8 and 10 int4 weights), e.g. 1,2",
        };
        var command = new Command("levers", "Measure each graph and session tuning lever, interleaved, and check that graphs agree")
        {
            work, layers, checkpoint, rounds, group, shapesOption, variants,
        };
        command.SetAction(result =>
        {
            var workDir = result.GetValue(work)!;
            var source = result.GetValue(checkpoint) ?? EnsureCheckpoint(workDir, result.GetValue(layers), Console.Out);
            var shapes = ParseShapes(result.GetValue(shapesOption)!);
            var which = result.GetValue(group)!;
            if (which is not ("graph" or "session" or "both" or "load"))
                throw new ArgumentException($"--group: '{which}' is not graph, session, both or load");
            var all = FuncRerank.Bench.Levers.GraphVariants();
            var chosen = which is "session" or "load"
                ? [all[1]]
                : result.GetValue(variants) is { } list
                    ? list.Split(',').Select(i => all[int.Parse(i, System.Globalization.CultureInfo.InvariantCulture)]).ToList()
                    : all;
            var graphs = FuncRerank.Bench.Levers.BuildGraphs(source, Path.Combine(workDir, "levers"), chosen, Console.Out);
            if (which is "graph" or "both")
            {
                FuncRerank.Bench.Levers.CheckExactness(graphs, source, RepoPaths.PairsFile(), Console.Out);
                Console.WriteLine($"graph levers, {result.GetValue(rounds)} interleaved rounds (median wall ms of the quiet runs / median CPU ms of all runs):");
                // Worker threads block instead of spinning here, so the CPU-time column counts work, not waiting.
                FuncRerank.Bench.Levers.Time(graphs.Select(g => new Variant(g.Name, g.Directory, FuncRerank.Bench.Levers.NoSpinning)).ToList(),
                    shapes, result.GetValue(rounds), Console.Out);
            }

            if (which == "load")
            {
                var defaultGraph = graphs.Single(g => g.Name.StartsWith("default (", StringComparison.Ordinal)).Directory;
                Console.WriteLine($"session load time of the default graph, {result.GetValue(rounds)} interleaved rounds:");
                FuncRerank.Bench.Levers.TimeLoad(defaultGraph, result.GetValue(rounds), Console.Out);
                return 0;
            }

            if (which is "session" or "both")
            {
                var defaultGraph = graphs.Single(g => g.Name.StartsWith("default (", StringComparison.Ordinal)).Directory;
                Console.WriteLine($"session levers on the default graph, {result.GetValue(rounds)} interleaved rounds:");
                FuncRerank.Bench.Levers.Time(FuncRerank.Bench.Levers.SessionVariants(defaultGraph), shapes, result.GetValue(rounds), Console.Out);
            }

            return 0;
        });
        return command;
    }

    public static Command Run()
    {
        var work = Work();
        var layers = Layers();
        var checkpoint = CheckpointOption();
        var threads = Threads();
        var mixed = new Option<int>("--mixed-requests") { Description = "Requests of 1 query x 20-100 documents of 50-2,000 tokens, sent one at a time", DefaultValueFactory = _ => 4 };
        var small = new Option<int>("--small-requests") { Description = "Requests of 1 query x 1-5 documents of 30-300 tokens", DefaultValueFactory = _ => 48 };
        var concurrency = new Option<int>("--small-concurrency") { Description = "Clients sending the small requests at once", DefaultValueFactory = _ => 4 };
        var maxBatchTokens = new Option<int>("--max-batch-tokens") { Description = "The server's (and the replay's) padded tokens per forward pass", DefaultValueFactory = _ => 16384 };
        var seed = new Option<int>("--seed") { Description = "Seed of the request mixes", DefaultValueFactory = _ => 6 };
        var instructionTokens = new Option<int>("--instruction-tokens")
        {
            Description = "Give every request its own instruction of about this many tokens (0: the model's default instruction)",
        };
        var peakSeconds = new Option<double>("--peak-seconds") { Description = "Timing per matmul shape", DefaultValueFactory = _ => 3 };
        var noTorch = new Option<bool>("--no-torch") { Description = "Skip the torch-eager peer" };
        var python = new Option<string>("--python") { Description = "Python with torch and numpy (Debian's python3-torch)", DefaultValueFactory = _ => "/usr/bin/python3" };
        var torchEnv = new Option<string[]>("--torch-env")
        {
            Description = "NAME=VALUE for the torch peer's environment (repeatable; replaces the defaults, see docs/performance.md)",
            AllowMultipleArgumentsPerToken = true,
        };
        var command = new Command("run", "The benchmark: matmul peak, HTTP request mixes against funcrerank serve, in-process replay, torch peer")
        {
            work, layers, checkpoint, threads, mixed, small, concurrency, maxBatchTokens, seed, instructionTokens, peakSeconds, noTorch, python, torchEnv,
        };
        command.SetAction(result =>
        {
            var threadCount = result.GetValue(threads);
            var given = result.GetValue(torchEnv) ?? [];
            var environment = given.Length > 0 ? ParseEnvironment(given) : DefaultTorchEnvironment(threadCount);
            var settings = new BenchSettings
            {
                Work = result.GetValue(work)!,
                Checkpoint = result.GetValue(checkpoint),
                Layers = result.GetValue(layers),
                Threads = threadCount,
                MixedRequests = result.GetValue(mixed),
                SmallRequests = result.GetValue(small),
                SmallConcurrency = result.GetValue(concurrency),
                MaxBatchTokens = result.GetValue(maxBatchTokens),
                Seed = result.GetValue(seed),
                InstructionTokens = result.GetValue(instructionTokens),
                PeakSeconds = result.GetValue(peakSeconds),
                Torch = !result.GetValue(noTorch),
                Python = result.GetValue(python)!,
                TorchEnvironment = environment,
            };
            return BenchRun.ExecuteAsync(settings, Console.Out).GetAwaiter().GetResult();
        });
        return command;
    }

    /// <summary>
    /// The torch peer's environment: OpenBLAS's AVX-512 kernel where the CPU has AVX-512 (this VM's environment forces
    /// the Haswell kernel, which halves GEMM speed; onnx_perf.md §6.7), one BLAS/OpenMP thread per core, and glibc
    /// malloc thresholds raised so torch's large temporaries are not mmap'ed and unmapped on every op.
    /// </summary>
    public static Dictionary<string, string> DefaultTorchEnvironment(int threads)
    {
        var environment = new Dictionary<string, string>
        {
            ["OPENBLAS_NUM_THREADS"] = threads.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["OMP_NUM_THREADS"] = threads.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["GLIBC_TUNABLES"] = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296",
        };
        if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported)
            environment["OPENBLAS_CORETYPE"] = "SkylakeX";
        return environment;
    }

    public static Dictionary<string, string> ParseEnvironment(IEnumerable<string> pairs) =>
        pairs.Select(p => p.Split('=', 2)).ToDictionary(
            p => p.Length == 2 && p[0].Length > 0 ? p[0] : throw new ArgumentException($"--torch-env: '{string.Join('=', p)}' is not NAME=VALUE"),
            p => p[1]);

    /// <summary>A square GEMM and an MLP-shaped one (4096 tokens x hidden 1024 x intermediate 3072).</summary>
    public static readonly (int M, int K, int N)[] PeakShapes = [(2048, 2048, 2048), (4096, 1024, 3072)];

    public static IReadOnlyList<GemmResult> MeasurePeak(int threads, TimeSpan duration) =>
        PeakShapes.Select(s => MatMulPeak.Measure(s.M, s.K, s.N, threads, duration)).ToList();

    /// <summary>The generated checkpoint for <paramref name="layers"/> layers, written once into the work directory.</summary>
    public static string EnsureCheckpoint(string work, int layers, TextWriter log)
    {
        var directory = Path.Combine(work, $"qwen3-0.6b-shape-{layers}-layers");
        if (File.Exists(Path.Combine(directory, "config.json")))
            return directory;
        var partial = directory + ".partial";
        if (Directory.Exists(partial))
            Directory.Delete(partial, recursive: true);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        RandomCheckpoint.Write(partial, new ModelShape { Layers = layers }, RepoPaths.TokenizerDirectory());
        Directory.Move(partial, directory);
        log.WriteLine($"wrote a random-weight 0.6B-shaped checkpoint ({layers} layers) to {directory} in {watch.Elapsed.TotalSeconds:F1} s");
        return directory;
    }

    /// <summary>BATCHxSEQ[/F],...: F below 1 makes the rows shrink evenly to F·SEQ tokens (a left-padded batch).</summary>
    public static BatchShape[] ParseShapes(string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s =>
            {
                var fraction = 1.0;
                var slash = s.Split('/');
                var parts = slash[0].Split('x');
                if (slash.Length > 2 || (slash.Length == 2 && (!double.TryParse(slash[1], System.Globalization.CultureInfo.InvariantCulture, out fraction) || fraction is <= 0 or > 1))
                    || parts.Length != 2 || !int.TryParse(parts[0], out var b) || !int.TryParse(parts[1], out var q) || b < 1 || q < 1)
                    throw new ArgumentException($"--shapes: '{s}' is not BATCHxSEQUENCE or BATCHxSEQUENCE/FRACTION");
                return new BatchShape(b, q, fraction);
            }).ToArray();
}

/// <summary>Files of the repository the bench reads (the real tokenizer, the scoring pairs).</summary>
internal static class RepoPaths
{
    public static string Root()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "FuncRerank.sln")))
                    return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("cannot find the repository root (FuncRerank.sln) above the current directory or the bench");
    }

    public static string TokenizerDirectory() => Path.Combine(Root(), "models");

    public static string PairsFile() => Path.Combine(Root(), "tests", "fixtures", "scoring", "pairs.jsonl");

    public static string TorchScorer() => Path.Combine(Root(), "bench", "torch_scorer.py");
}
