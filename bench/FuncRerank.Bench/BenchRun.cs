using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using FuncRerank.Api.Hosting;
using FuncRerank.Inference;
using FuncRerank.Launcher;
using FuncRerank.Model;
using FuncRerank.Model.Building;
using FuncRerank.Model.Store;
using Microsoft.Extensions.Logging.Abstractions;

namespace FuncRerank.Bench;

internal sealed record BenchSettings
{
    public required string Work { get; init; }
    public string? Checkpoint { get; init; }
    public int Layers { get; init; } = 2;
    public int MixedRequests { get; init; } = 4;
    public int SmallRequests { get; init; } = 48;
    public int SmallConcurrency { get; init; } = 4;
    public int MaxBatchTokens { get; init; } = 16384;
    public int Seed { get; init; } = 6;
    public int InstructionTokens { get; init; }
    public int Threads { get; init; } = Environment.ProcessorCount;
    public double PeakSeconds { get; init; } = 3;
    public bool Torch { get; init; } = true;
    public string Python { get; init; } = "/usr/bin/python3";

    /// <summary>Before each timed step, wait (up to <see cref="MaxQuietWait"/>) until other processes use fewer cores than this.</summary>
    public double QuietCores { get; init; } = 0.25;

    public TimeSpan MaxQuietWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Environment for the torch peer: OpenBLAS's real kernel for this CPU and explicit thread counts (onnx_perf.md §6.7).</summary>
    public IReadOnlyDictionary<string, string> TorchEnvironment { get; init; } = new Dictionary<string, string>();
}

/// <summary>What one request cost, over HTTP and replayed in-process on the same batches.</summary>
internal sealed class RequestRecord
{
    public required int Pairs { get; init; }
    public double LatencySeconds { get; set; }
    public double? ServerInferenceSeconds { get; set; }
    public double? ServerQueueSeconds { get; set; }
    public long ServerPromptTokens { get; set; }
    public float[] ServerScores { get; set; } = [];
    public double TokenizeSeconds { get; set; }
    public double ModelSeconds { get; set; }

    /// <summary>The same batches on a graph built without the shared-prefix input (every row computes its whole prompt).</summary>
    public double UnsharedModelSeconds { get; set; }

    public double UnsharedMaxLogitDifference { get; set; }
    public double ForeignDuringHttp { get; set; }
    public double ServerCpuSeconds { get; set; }
    public double ForeignDuringReplay { get; set; }
    public int[][] Prompts { get; set; } = [];
    public List<int[]> Batches { get; set; } = [];
    public int MaxBatchTokens { get; set; }
    public float[] Logits { get; set; } = [];
}

internal sealed record TorchResult(double Seconds, double MaxLogitDifference, string Environment, int Threads, double ForeignCores);

/// <summary>
/// The benchmark: measure this machine's fp32 matmul peak (ONNX Runtime, same run), start <c>funcrerank serve</c> on
/// 127.0.0.1 with a 0.6B-shaped random checkpoint, send the request mixes over real HTTP, replay every request in-process
/// on the same batches (tokenization and model time, paired with the HTTP request), run the same batches through the
/// plain torch-eager peer, and print throughput, latency, FLOP rates and where the time goes.
/// </summary>
internal static class BenchRun
{
    public static async Task<int> ExecuteAsync(BenchSettings settings, TextWriter output)
    {
        Directory.CreateDirectory(settings.Work);
        var started = Stopwatch.StartNew();
        output.WriteLine($"funcrerank-bench on {MachineDescription()}, {Environment.ProcessorCount} cores visible; " +
                         $"load average at start {LoadAverage()}");
        var checkpoint = settings.Checkpoint ?? BenchCommands.EnsureCheckpoint(settings.Work, settings.Layers, output);
        var config = Qwen3Config.Load(Path.Combine(checkpoint, "config.json"));
        var shape = new ModelShape
        {
            Hidden = config.HiddenSize, Layers = config.NumHiddenLayers, Heads = config.NumAttentionHeads, KvHeads = config.NumKeyValueHeads,
            HeadDim = config.HeadDim, Intermediate = config.IntermediateSize, Vocab = config.VocabSize,
        };
        var store = new ModelStore(Path.Combine(settings.Work, "cache"), NullLogger.Instance);
        var watch = Stopwatch.StartNew();
        var built = store.Resolve(checkpoint, ModelPrecision.Float32, new RerankerTokenIds(9693, 2152, 151643));
        output.WriteLine($"model: {checkpoint} ({shape.Layers} layers, hidden {shape.Hidden}, {shape.Heads}/{shape.KvHeads} heads, " +
                         $"head_dim {shape.HeadDim}, intermediate {shape.Intermediate}; {shape.LinearParameters / 1e6:F1} M linear params), " +
                         $"graph {Qwen3OnnxBuilder.Version} ready in {watch.Elapsed.TotalSeconds:F1} s");

        output.WriteLine($"fp32 MatMul peak, ONNX Runtime, {settings.Threads} threads:");
        var ownLoad = new MachineLoad();
        var peaks = new List<GemmResult>();
        foreach (var (m, k, n) in BenchCommands.PeakShapes)
        {
            ownLoad.WaitForQuiet(settings.QuietCores, settings.MaxQuietWait);
            var before = ownLoad.Take();
            var r = MatMulPeak.Measure(m, k, n, settings.Threads, TimeSpan.FromSeconds(settings.PeakSeconds));
            peaks.Add(r);
            output.WriteLine($"  {r.M}x{r.K}x{r.N}: best {r.BestGflops:F0} GFLOP/s (median {r.MedianGflops:F0}, {r.Runs} runs; " +
                             $"other processes used {MachineLoad.ForeignCores(before, ownLoad.Take()):F2} cores meanwhile)");
        }

        var peak = peaks.Max(r => r.BestGflops);
        output.WriteLine($"  peak used below: {peak:F0} GFLOP/s");

        // In process as the server below runs: the same settings, through the same mapping.
        var serving = new RerankerSettings { MaxBatchTokens = settings.MaxBatchTokens }.ToRerankerOptions();
        using var reranker = Qwen3Reranker.Load(built, serving, NullLogger.Instance);
        // The "before" of the shared prefix: the same graph built without the prefix input, every row computing its whole prompt.
        var withoutPrefix = Levers.BuildGraphs(checkpoint, Path.Combine(settings.Work, "without-shared-prefix"),
            [("default, no shared prefix input", Qwen3GraphOptions.Default with { SharedPrefix = false })], output).Single().Directory;
        using var unshared = Qwen3Reranker.Load(withoutPrefix, serving, NullLogger.Instance);
        var replay = new Replay(reranker, unshared, settings.MaxBatchTokens);
        var mixes = new[]
        {
            Workload.Generate(Workload.Mixed(settings.MixedRequests), reranker.Tokenizer, settings.Seed, settings.InstructionTokens),
            Workload.Generate(Workload.Small(settings.SmallRequests, settings.SmallConcurrency), reranker.Tokenizer, settings.Seed + 1, settings.InstructionTokens),
        };
        var warmUp = Workload.Generate(Workload.Mixed(1), reranker.Tokenizer, settings.Seed + 100).Requests[0];

        var environment = new Dictionary<string, string?>
        {
            ["Reranker__MaxBatchTokens"] = settings.MaxBatchTokens.ToString(CultureInfo.InvariantCulture),
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__FuncRerank"] = "Information",
        };
        var results = new List<(RequestMix Mix, RequestRecord[] Records, double WallSeconds)>();
        long? serverPeak;
        using (var server = await StandaloneServer.StartAsync(environment, waitUntilReady: true, TimeSpan.FromMinutes(3), "--model", built))
        using (var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromMinutes(10) })
        {
            output.WriteLine($"server: funcrerank serve (pid {server.ProcessId}) on {server.BaseAddress}, MaxBatchTokens {settings.MaxBatchTokens}");
            var load = new MachineLoad(server.ProcessId);
            // Warm-up, not counted: the first runs of large shapes grow ONNX Runtime's arena in both processes.
            await SendAsync(client, warmUp, new RequestRecord { Pairs = warmUp.Documents.Length });
            replay.Run(warmUp, new RequestRecord { Pairs = warmUp.Documents.Length });

            foreach (var mix in mixes)
            {
                var records = mix.Requests.Select(r => new RequestRecord { Pairs = r.Documents.Length }).ToArray();
                double wall;
                if (mix.Concurrency == 1)
                {
                    // One client: each HTTP request is followed by its in-process replay, so the two are measured side by side;
                    // the phase's wall time is the sum of the request latencies.
                    for (var i = 0; i < mix.Requests.Length; i++)
                    {
                        load.WaitForQuiet(settings.QuietCores, settings.MaxQuietWait);
                        var before = load.Take();
                        var serverCpu = MachineLoad.CpuNanoseconds(server.ProcessId);
                        await SendAsync(client, mix.Requests[i], records[i]);
                        records[i].ServerCpuSeconds = (MachineLoad.CpuNanoseconds(server.ProcessId) - serverCpu) / 1e9 ?? 0;
                        records[i].ForeignDuringHttp = MachineLoad.ForeignCores(before, load.Take());
                        load.WaitForQuiet(settings.QuietCores, settings.MaxQuietWait);
                        before = load.Take();
                        replay.Run(mix.Requests[i], records[i]);
                        records[i].ForeignDuringReplay = MachineLoad.ForeignCores(before, load.Take());
                    }

                    wall = records.Sum(r => r.LatencySeconds);
                }
                else
                {
                    load.WaitForQuiet(settings.QuietCores, settings.MaxQuietWait);
                    var before = load.Take();
                    var serverCpu = MachineLoad.CpuNanoseconds(server.ProcessId);
                    var phase = Stopwatch.StartNew();
                    var next = -1;
                    await Task.WhenAll(Enumerable.Range(0, mix.Concurrency).Select(async _ =>
                    {
                        int i;
                        while ((i = Interlocked.Increment(ref next)) < mix.Requests.Length)
                            await SendAsync(client, mix.Requests[i], records[i]);
                    }));
                    wall = phase.Elapsed.TotalSeconds;
                    var phaseCpu = (MachineLoad.CpuNanoseconds(server.ProcessId) - serverCpu) / 1e9 ?? 0;
                    var foreign = MachineLoad.ForeignCores(before, load.Take());
                    load.WaitForQuiet(settings.QuietCores, settings.MaxQuietWait);
                    before = load.Take();
                    for (var i = 0; i < mix.Requests.Length; i++)
                        replay.Run(mix.Requests[i], records[i]);
                    var replayForeign = MachineLoad.ForeignCores(before, load.Take());
                    foreach (var record in records)
                        (record.ForeignDuringHttp, record.ForeignDuringReplay) = (foreign, replayForeign);
                    records[0].ServerCpuSeconds = phaseCpu; // the phase's total, kept on its first record
                }

                results.Add((mix, records, wall));
                output.WriteLine($"  {mix.Name}: {mix.Requests.Length} requests over HTTP in {wall:F1} s");
            }

            serverPeak = server.PeakResidentBytes;
        }

        var torch = new List<TorchResult?>();
        foreach (var (mix, records, _) in results)
            torch.Add(settings.Torch ? RunTorch(settings, checkpoint, mix, records, output) : null);

        output.WriteLine();
        Report(output, shape, peak, results, torch, serverPeak);
        output.WriteLine($"load average at end {LoadAverage()}; bench took {started.Elapsed.TotalMinutes:F1} min");
        return 0;
    }

    private static async Task SendAsync(HttpClient client, BenchRequest request, RequestRecord record)
    {
        var body = new JsonObject
        {
            ["model"] = "bench",
            ["query"] = request.Query,
            ["documents"] = new JsonArray(request.Documents.Select(d => (JsonNode)d).ToArray()),
        };
        if (request.Instruction is not null)
            body["instruction"] = request.Instruction;
        var watch = Stopwatch.StartNew();
        using var response = await client.PostAsync("v1/rerank", JsonContent.Create(body));
        var bytes = await response.Content.ReadAsByteArrayAsync();
        record.LatencySeconds = watch.Elapsed.TotalSeconds;
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"POST /v1/rerank answered {(int)response.StatusCode}: {System.Text.Encoding.UTF8.GetString(bytes)}");
        record.ServerInferenceSeconds = HeaderSeconds(response, "x-inference-time");
        record.ServerQueueSeconds = HeaderSeconds(response, "x-queue-time");
        using var document = JsonDocument.Parse(bytes);
        var scores = new float[request.Documents.Length];
        foreach (var result in document.RootElement.GetProperty("results").EnumerateArray())
            scores[result.GetProperty("index").GetInt32()] = result.GetProperty("relevance_score").GetSingle();
        record.ServerScores = scores;
        record.ServerPromptTokens = document.RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt64();
    }

    /// <summary>
    /// A server timing header in seconds. Accepted forms: a number of milliseconds ("12.5", "12.5ms"), or seconds with an
    /// "s" suffix ("0.0125s"). Null when the server does not send it.
    /// </summary>
    internal static double? HeaderSeconds(HttpResponseMessage response, string name)
    {
        if (!response.Headers.TryGetValues(name, out var values))
            return null;
        var text = values.First().Trim();
        if (text.EndsWith("ms", StringComparison.OrdinalIgnoreCase))
            return double.TryParse(text[..^2], CultureInfo.InvariantCulture, out var ms) ? ms / 1000 : null;
        if (text.EndsWith('s'))
            return double.TryParse(text[..^1], CultureInfo.InvariantCulture, out var s) ? s : null;
        return double.TryParse(text, CultureInfo.InvariantCulture, out var plain) ? plain / 1000 : null;
    }

    /// <summary>
    /// The server's work for one request, in this process: the prompts (timed), then the model on the same batches, with
    /// the shared prefix computed once per batch as the server does and, for the comparison, on the graph without it.
    /// </summary>
    private sealed record Replay(Qwen3Reranker Reranker, Qwen3Reranker Unshared, int MaxBatchTokens)
    {
        public void Run(BenchRequest request, RequestRecord record)
        {
            var watch = Stopwatch.StartNew();
            var prompts = request.Documents.Select(d => Reranker.Prompt.Build(request.Query, d, request.Instruction)).ToArray();
            record.TokenizeSeconds = watch.Elapsed.TotalSeconds;
            record.Prompts = prompts;
            record.Batches = ServerBatches.PlanAlone(prompts.Select(p => p.Length).ToArray(), MaxBatchTokens, BatchSchedulerOptions.DefaultMaxAttentionCells);
            record.MaxBatchTokens = MaxBatchTokens;
            watch.Restart();
            record.Logits = Reranker.Score(prompts).Select(s => s.Logit).ToArray();
            record.ModelSeconds = watch.Elapsed.TotalSeconds;
            watch.Restart();
            var unshared = Unshared.Score(prompts);
            record.UnsharedModelSeconds = watch.Elapsed.TotalSeconds;
            record.UnsharedMaxLogitDifference = unshared.Select((s, i) => Math.Abs(s.Logit - record.Logits[i])).Max();
        }
    }

    private static TorchResult RunTorch(BenchSettings settings, string checkpoint, RequestMix mix, RequestRecord[] records, TextWriter output)
    {
        var batchesFile = Path.Combine(settings.Work, "torch-batches.jsonl");
        var resultFile = Path.Combine(settings.Work, "torch-result.json");
        var expected = new List<float[]>();
        using (var writer = new StreamWriter(batchesFile))
        {
            foreach (var record in records)
            {
                foreach (var batch in record.Batches)
                {
                    writer.WriteLine(JsonSerializer.Serialize(new { rows = batch.Select(i => record.Prompts[i]).ToArray() }));
                    expected.Add(batch.Select(i => record.Logits[i]).ToArray());
                }
            }
        }

        var start = new ProcessStartInfo(settings.Python) { UseShellExecute = false, RedirectStandardError = true };
        foreach (var argument in new[]
                 {
                     RepoPaths.TorchScorer(), "--checkpoint", checkpoint, "--batches", batchesFile, "--out", resultFile,
                     "--threads", settings.Threads.ToString(CultureInfo.InvariantCulture),
                 })
            start.ArgumentList.Add(argument);
        foreach (var (name, value) in settings.TorchEnvironment)
            start.Environment[name] = value;
        var load = new MachineLoad();
        load.WaitForQuiet(settings.QuietCores, settings.MaxQuietWait);
        var before = load.Take();
        var watch = Stopwatch.StartNew();
        using (var process = Process.Start(start)!)
        {
            var errors = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"torch peer failed ({process.ExitCode}): {errors.Result}");
        }

        var foreign = MachineLoad.ForeignCores(before, load.Take());
        using var document = JsonDocument.Parse(File.ReadAllBytes(resultFile));
        var root = document.RootElement;
        var batches = root.GetProperty("batches").EnumerateArray().ToArray();
        double seconds = 0, maxDifference = 0;
        for (var b = 0; b < batches.Length; b++)
        {
            seconds += batches[b].GetProperty("seconds").GetDouble();
            var logits = batches[b].GetProperty("logits").EnumerateArray().Select(x => x.GetSingle()).ToArray();
            for (var i = 0; i < logits.Length; i++)
                maxDifference = Math.Max(maxDifference, Math.Abs(logits[i] - expected[b][i]));
        }

        var environment = string.Join(" ", root.GetProperty("environment").EnumerateObject().Select(p => $"{p.Name}={p.Value.GetString()}"));
        output.WriteLine($"  torch peer, {mix.Name}: {seconds:F1} s in its batches ({watch.Elapsed.TotalSeconds:F0} s with load and warm-up)");
        return new TorchResult(seconds, maxDifference, environment, root.GetProperty("torch_threads").GetInt32(), foreign);
    }

    private static void Report(TextWriter o, ModelShape shape, double peak, List<(RequestMix Mix, RequestRecord[] Records, double WallSeconds)> results,
        List<TorchResult?> torch, long? serverPeak)
    {
        for (var m = 0; m < results.Count; m++)
        {
            var (mix, records, wall) = results[m];
            var pairs = records.Sum(r => r.Pairs);
            var realTokens = records.Sum(r => r.Prompts.Sum(p => (long)p.Length));
            var paddedTokens = records.Sum(r => r.Batches.Sum(b => (long)b.Length * b.Max(i => r.Prompts[i].Length)));
            var naiveFlops = records.Sum(r => r.Prompts.Sum(p => shape.PairFlops(p.Length)));
            var executedFlops = records.Sum(r => r.Batches.Sum(b => ExecutedFlops(shape, Lengths(r, b), SharedPrefix(r, b))));
            var repeatedPrefixTokens = records.Sum(r => r.Batches.Sum(b => (long)(b.Length - 1) * SharedPrefix(r, b)));
            var model = records.Sum(r => r.ModelSeconds);
            var tokenize = records.Sum(r => r.TokenizeSeconds);
            var latencies = records.Select(r => r.LatencySeconds * 1000).Order().ToArray();
            var scoreDifference = records.Max(r => r.Logits.Select((l, i) => Math.Abs(Qwen3Reranker.Sigmoid(l) - r.ServerScores[i])).Max());
            var lengths = records.SelectMany(r => r.Prompts.Select(p => p.Length)).ToArray();

            o.WriteLine($"== {mix.Name}, {mix.Concurrency} client(s) ==");
            o.WriteLine($"  {records.Length} requests, {pairs} pairs, {realTokens:N0} prompt tokens (per pair {lengths.Min()}-{lengths.Max()}, " +
                        $"mean {lengths.Average():F0}); server usage.prompt_tokens {records.Sum(r => r.ServerPromptTokens):N0}");
            o.WriteLine($"  HTTP end to end: {wall:F2} s -> {pairs / wall:F2} pairs/s, {realTokens / wall:N0} real tokens/s, " +
                        $"{paddedTokens / wall:N0} padded tokens/s");
            o.WriteLine($"  latency per request: p50 {Percentile(latencies, 0.5):F0} ms, p95 {Percentile(latencies, 0.95):F0} ms " +
                        $"(min {latencies[0]:F0}, max {latencies[^1]:F0})");
            var tighter = records.Sum(r => PaddedTokens(r.Prompts.Select(p => p.Length).ToArray(), r.MaxBatchTokens, 1.25));
            var paddingFlops = records.Sum(r => r.Batches.Sum(b => AttentionPaddingFlops(shape, Lengths(r, b))));
            o.WriteLine($"  padding: batches of rows x longest row hold {paddedTokens:N0} token slots for {realTokens:N0} real tokens " +
                        $"({1 - (double)realTokens / paddedTokens:P1} pads; BatchPlanner per request alone; a greedy length-sorted cut that also stops where " +
                        $"the longest row would exceed its shortest by 25 % would have {1 - (double)realTokens / tighter:P1}). The dense layers compute " +
                        $"no pads (packed tokens); attention over the padded width is {paddingFlops / executedFlops:P1} of the executed FLOPs");
            o.WriteLine($"  naive FLOPs {naiveFlops / 1e12:F2} T: {naiveFlops / wall / 1e9:F0} GFLOP/s over HTTP = {naiveFlops / wall / 1e9 / peak:P0} of the " +
                        $"{peak:F0} GFLOP/s peak; model alone (in-process, same batches) {model:F2} s -> {naiveFlops / model / 1e9:F0} GFLOP/s = " +
                        $"{naiveFlops / model / 1e9 / peak:P0}");
            o.WriteLine($"  executed FLOPs (dense layers on real tokens, attention over the padded width, last layer at the last token) {executedFlops / 1e12:F2} T: " +
                        $"{executedFlops / model / 1e9:F0} GFLOP/s in the model = {executedFlops / model / 1e9 / peak:P0} of peak");
            var serverInference = records.All(r => r.ServerInferenceSeconds is not null) ? records.Sum(r => r.ServerInferenceSeconds!.Value) : (double?)null;
            var latencySum = records.Sum(r => r.LatencySeconds);
            if (mix.Concurrency == 1)
            {
                o.WriteLine($"  outside the model (tokenization + HTTP + JSON): {1 - model / latencySum:P1} of request time " +
                            $"(sum of latencies {latencySum:F2} s vs the same batches in-process {model:F2} s); tokenization alone {tokenize / latencySum:P2}");
            }
            else
            {
                o.WriteLine($"  outside the model: {1 - model / wall:P1} of the wall time ({wall:F2} s for {model:F2} s of model work run " +
                            $"alone in-process; includes contention between {mix.Concurrency} concurrent requests); tokenization alone {tokenize / wall:P2}");
            }

            if (serverInference is { } inference)
                o.WriteLine($"  server timing headers (TEI's: per pair, averaged over the request's pairs): x-inference-time mean {inference / records.Length * 1000:F0} ms" +
                            (records.All(r => r.ServerQueueSeconds is not null) ? $", x-queue-time mean {records.Average(r => r.ServerQueueSeconds!.Value) * 1000:F0} ms" : ""));
            else
                o.WriteLine("  server timing headers: none (x-inference-time / x-queue-time not sent by this server)");
            o.WriteLine($"  HTTP scores vs in-process: max |Δ score| {scoreDifference:0.0e+0}");
            var unsharedModel = records.Sum(r => r.UnsharedModelSeconds);
            var idealSpeedup = (double)realTokens / (realTokens - repeatedPrefixTokens);
            var flopSpeedup = records.Sum(r => r.Batches.Sum(b => ExecutedFlops(shape, Lengths(r, b)))) / executedFlops;
            var speedup = unsharedModel / model;
            o.WriteLine($"  shared prefix: {repeatedPrefixTokens:N0} of the {realTokens:N0} prompt tokens repeat their batch's shared prefix; " +
                        $"ideal speed-up (total / unique tokens) {idealSpeedup:F3}x; measured {speedup:F3}x (model {unsharedModel:F2} s on the graph " +
                        $"without the prefix input, {model:F2} s with it) = {speedup / idealSpeedup:P0} of the ideal speed-up, {(speedup - 1) / (idealSpeedup - 1):P0} of its gain; " +
                        $"max |Δ logit| {records.Max(r => r.UnsharedMaxLogitDifference):0.0e+0}. Attention still reads the prefix for every row, " +
                        $"so the executed FLOPs shrink {flopSpeedup:F3}x: measured = {(speedup - 1) / (flopSpeedup - 1):P0} of that gain");
            var serverCpuSeconds = records.Sum(r => r.ServerCpuSeconds);
            o.WriteLine($"  server CPU time during the requests: {serverCpuSeconds:F2} s = {serverCpuSeconds / wall:F2} cores busy on average " +
                        $"(work per pair {serverCpuSeconds / pairs * 1000:F0} CPU-ms)");
            o.WriteLine($"  other processes on the machine: {records.Average(r => r.ForeignDuringHttp):F2} cores on average during the HTTP requests " +
                        $"(max {records.Max(r => r.ForeignDuringHttp):F2}), {records.Average(r => r.ForeignDuringReplay):F2} during the in-process replay");
            if (torch[m] is { } t)
            {
                o.WriteLine($"  torch eager (same batches, {t.Threads} threads; {t.Environment}): {t.Seconds:F2} s -> {pairs / t.Seconds:F2} pairs/s; " +
                            $"max |Δ logit| vs ONNX Runtime {t.MaxLogitDifference:0.0e+0}; other processes {t.ForeignCores:F2} cores");
                o.WriteLine($"  FuncRerank vs torch eager: {t.Seconds / wall:F2}x over HTTP end to end, {t.Seconds / model:F2}x model vs model");
            }
        }

        if (serverPeak is { } bytes)
            o.WriteLine($"server peak resident memory: {bytes / 1048576.0:F0} MiB");
    }

    /// <summary>The prompt lengths of one of a request's batches.</summary>
    private static int[] Lengths(RequestRecord record, int[] batch) => batch.Select(i => record.Prompts[i].Length).ToArray();

    /// <summary>The tokens every prompt of the batch starts with, which the server computes once for the batch.</summary>
    private static int SharedPrefix(RequestRecord record, int[] batch) => OnnxScorer.SharedPrefixLength(batch.Select(i => record.Prompts[i]).ToArray());

    /// <summary>
    /// FLOPs the default graph executes for one batch of rows of <paramref name="lengths"/> tokens: the dense layers on the
    /// real tokens only (packed; the shared prefix once), attention over the padded width (GroupQueryAttention computes every row's full
    /// width × width square), and in the last layer keys and values for every token but queries, attention, o_proj and
    /// the MLP for each row's last token only.
    /// </summary>
    internal static double ExecutedFlops(ModelShape s, IReadOnlyList<int> lengths, int sharedPrefix = 0)
    {
        double h = s.Hidden, q = s.Heads * s.HeadDim, kv = s.KvHeads * s.HeadDim, inter = s.Intermediate;
        double width = lengths.Max(), rows = lengths.Count;
        var real = lengths.Sum() - (rows - 1) * sharedPrefix; // the dense layers compute the shared prefix once
        var perTokenLinear = 2 * (h * q + 2 * h * kv + q * h + 3 * h * inter);
        var full = (s.Layers - 1) * (perTokenLinear * real + rows * 4.0 * width * width * q);
        var last = 2 * (2 * h * kv) * real + rows * (2 * (h * q + q * h + 3 * h * inter) + 4.0 * width * q);
        return full + last;
    }

    /// <summary>What attention over the batch's padded width costs beyond each row's own width (the full squares, as the graph computes them).</summary>
    internal static double AttentionPaddingFlops(ModelShape s, IReadOnlyList<int> lengths)
    {
        double q = s.Heads * s.HeadDim, width = lengths.Max();
        return lengths.Sum(l => (s.Layers - 1) * 4.0 * q * (width * width - (double)l * l) + 4.0 * q * (width - l));
    }

    /// <summary>Padded tokens of a length-sorted plan under the same budget that also cuts where max/min would exceed <paramref name="spread"/>.</summary>
    internal static long PaddedTokens(int[] lengths, int maxBatchTokens, double spread)
    {
        var sorted = lengths.Order().ToArray();
        long padded = 0;
        var start = 0;
        while (start < sorted.Length)
        {
            var end = start + 1;
            while (end < sorted.Length && (long)(end - start + 1) * sorted[end] <= maxBatchTokens && sorted[end] <= spread * sorted[start])
                end++;
            padded += (long)(end - start) * sorted[end - 1];
            start = end;
        }

        return padded;
    }

    private static double Percentile(double[] sorted, double p)
    {
        var rank = p * (sorted.Length - 1);
        var low = (int)Math.Floor(rank);
        var high = (int)Math.Ceiling(rank);
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
    }

    private static string MachineDescription()
    {
        try
        {
            var model = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            var avx512 = File.ReadAllText("/proc/cpuinfo").Contains(" avx512f ", StringComparison.Ordinal) ? ", AVX-512" : "";
            return (model?.Split(':', 2)[1].Trim() ?? "unknown CPU") + avx512;
        }
        catch (IOException)
        {
            return Environment.OSVersion.ToString();
        }
    }

    private static string LoadAverage()
    {
        try
        {
            return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "n/a";
        }
    }
}
