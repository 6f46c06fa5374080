using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FuncRerank.Launcher;
using FuncRerank.Prompting;
using FuncRerank.Tokenization;

namespace FuncRerank.Bench;

/// <summary>
/// <c>funcrerank-bench tokenizer</c>: FuncRerank's tokenizer against Hugging Face's (npm <c>tokenizers</c>, driven by
/// <c>bench/hf_tokenizer.mjs</c>) on the same texts in the same run: the <c>long.jsonl</c> categories rebuilt at each
/// length; optionally the library's own merge step (what main shipped) as "before"; and over HTTP a rerank whose one
/// document is 1,000,000 CJK characters, and the server's CPU after a client hangs up on a 3,000,000-character request;
/// with <c>--queue</c>, two concurrent requests of which the queue can take only one.
/// </summary>
internal static class TokenizerBench
{
    private const string Query = "中文文档检索";

    public static Command Command()
    {
        var sizes = new Option<string>("--sizes") { Description = "Text lengths in UTF-16 code units, comma-separated", DefaultValueFactory = _ => "10000,100000,1000000" };
        var beforeSizes = new Option<string>("--before-sizes")
        {
            Description = "Lengths at which to also time the library's own merge step for every piece (main's code path; quadratic), comma-separated; empty for none",
            DefaultValueFactory = _ => "10000,50000,100000",
        };
        var categories = new Option<string?>("--categories") { Description = "long.jsonl categories, comma-separated (default: all)" };
        var reps = new Option<int>("--reps") { Description = "Encodes per text and tokenizer (the median is reported)", DefaultValueFactory = _ => 3 };
        var node = new Option<string>("--node") { Description = "Node.js 20+", DefaultValueFactory = _ => "node" };
        var http = new Option<bool>("--http") { Description = "Also the HTTP measurements (1M-character rerank, CPU after a hang-up)" };
        var queue = new Option<bool>("--queue")
        {
            Description = "Also two concurrent requests of 1,000,000 CJK characters each (250 documents) against a queue bound that takes one of them",
        };
        var model = new Option<string?>("--model") { Description = "Checkpoint for --http and --queue (default: the tiny test checkpoint tiny-bf16-tied-mqa)" };
        var command = new Command("tokenizer", "Time FuncRerank's tokenizer against Hugging Face's on long texts without spaces (and over HTTP with --http)")
        {
            sizes, beforeSizes, categories, reps, node, http, queue, model,
        };
        command.SetAction(result =>
        {
            var wanted = result.GetValue(categories)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Run(ParseSizes(result.GetValue(sizes)!), ParseSizes(result.GetValue(beforeSizes)!), wanted, result.GetValue(reps), result.GetValue(node)!, Console.Out);
            var checkpoint = result.GetValue(model)
                ?? Path.Combine(RepoPaths.Root(), "tests", "fixtures", "models", "generated", "tiny-bf16-tied-mqa");
            if (result.GetValue(http))
                MeasureHttpAsync(checkpoint, Console.Out).GetAwaiter().GetResult();
            if (result.GetValue(queue))
                MeasureQueueAsync(checkpoint, Console.Out).GetAwaiter().GetResult();

            return 0;
        });
        return command;
    }

    /// <summary>The categories of <c>long.jsonl</c> (its 10k records), as recipes whose length the bench sets.</summary>
    public static IReadOnlyList<(string Category, LongTextRecipe Recipe)> Categories()
    {
        var categories = new List<(string, LongTextRecipe)>();
        foreach (var line in File.ReadLines(Path.Combine(RepoPaths.Root(), "tests", "fixtures", "tokenizer", "long.jsonl")))
        {
            using var record = JsonDocument.Parse(line);
            var name = record.RootElement.GetProperty("name").GetString()!;
            if (name.EndsWith("-10k", StringComparison.Ordinal))
                categories.Add((name["long-".Length..^"-10k".Length], LongTextRecipe.FromJson(record.RootElement.GetProperty("recipe"))));
        }

        return categories;
    }

    private static void Run(int[] sizes, int[] beforeSizes, string[]? wanted, int reps, string node, TextWriter output)
    {
        var tokenizerPath = Path.Combine(RepoPaths.TokenizerDirectory(), "tokenizer.json");
        var tokenizer = Qwen3Tokenizer.Load(tokenizerPath);
        var before = beforeSizes.Length > 0 ? Qwen3Tokenizer.Load(tokenizerPath, int.MaxValue) : null;
        using var hf = HfTokenizer.Start(node, tokenizerPath);
        var scratch = Directory.CreateTempSubdirectory("funcrerank-tokenizer-bench");
        try
        {
            output.WriteLine($"tokenizer benchmark: {Environment.ProcessorCount} cores, load average {LoadAverage()}; " +
                             $"median of {reps} encodes; ms = CPU time of the whole process (wall in brackets); FR = FuncRerank, HF = npm tokenizers 0.23.2");
            output.WriteLine("| category | chars | ids | FR ms | HF ms | FR/HF | FR growth | HF growth | before ms | before/FR |");
            output.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            var chosen = Categories().Where(c => wanted is null || wanted.Contains(c.Category)).ToList();
            // Warm-up, untimed: every category's code paths (JIT tiers, the library's word cache) once through both.
            foreach (var (category, recipe) in chosen)
            {
                var warmUp = Path.Combine(scratch.FullName, $"{category}-warm-up.txt");
                var text = (recipe with { Chars = 10_000 }).Build();
                File.WriteAllText(warmUp, text, new UTF8Encoding(false));
                Time(() => tokenizer.EncodeToIds(text).Length, 2);
                hf.Time(warmUp, 2);
            }

            foreach (var (category, recipe) in chosen)
            {
                Timing? previousFr = null, previousHf = null;
                var previousSize = 0;
                foreach (var size in sizes.Union(beforeSizes).Order())
                {
                    var text = (recipe with { Chars = size }).Build();
                    var fr = Time(() => tokenizer.EncodeToIds(text).Length, reps);
                    var file = Path.Combine(scratch.FullName, $"{category}-{size}.txt");
                    File.WriteAllText(file, text, new UTF8Encoding(false));
                    var hfTiming = hf.Time(file, reps);
                    if (hfTiming.Count != fr.Count)
                        throw new InvalidOperationException($"{category} {size}: FuncRerank gives {fr.Count} ids, Hugging Face {hfTiming.Count}");
                    var old = before is not null && beforeSizes.Contains(size) ? Time(() => before.EncodeToIds(text).Length, 1) : null;
                    var inMainSizes = sizes.Contains(size);
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {category} | {size:N0} | {fr.Count:N0} | {fr} | {hfTiming} | {fr.CpuMs / hfTiming.CpuMs:F2} | " +
                        $"{Growth(previousFr, fr, previousSize, size)} | {Growth(previousHf, hfTiming, previousSize, size)} | " +
                        $"{(old is null ? "" : old.ToString())} | {(old is null ? "" : (old.CpuMs / fr.CpuMs).ToString("F1", CultureInfo.InvariantCulture))} |"));
                    if (inMainSizes)
                    {
                        (previousFr, previousHf, previousSize) = (fr, hfTiming, size);
                    }
                }
            }

            output.WriteLine("growth = time ratio to the previous length in --sizes (n log n from 10k to 100k or 100k to 1M is x11.3 to x12.0; n² is x100)");
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown";

    private static string Growth(Timing? previous, Timing current, int previousSize, int size) =>
        previous is null ? "" : string.Create(CultureInfo.InvariantCulture, $"x{current.CpuMs / previous.CpuMs:F1} for x{(double)size / previousSize:F0}");

    private static Timing Time(Func<int> encode, int reps)
    {
        var wall = new List<double>();
        var cpu = new List<double>();
        var count = 0;
        for (var i = 0; i < reps; i++)
        {
            var cpuStart = Environment.CpuUsage.TotalTime;
            var start = Stopwatch.GetTimestamp();
            count = encode();
            wall.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            cpu.Add((Environment.CpuUsage.TotalTime - cpuStart).TotalMilliseconds);
        }

        return new Timing(count, Median(wall), Median(cpu));
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values.Count % 2 == 1 ? values[values.Count / 2] : (values[values.Count / 2 - 1] + values[values.Count / 2]) / 2;
    }

    private static int[] ParseSizes(string list) => list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new ArgumentException($"'{s}' is not a positive length"))
        .ToArray();

    /// <summary>A rerank of one 1M-character CJK document (3 times), then the server's CPU after a hang-up on 3M characters.</summary>
    private static async Task MeasureHttpAsync(string checkpoint, TextWriter output)
    {
        var cjk = Categories().Single(c => c.Category == "cjk").Recipe;
        using var server = await StandaloneServer.StartAsync(new Dictionary<string, string?>(), waitUntilReady: true, TimeSpan.FromMinutes(10), "--model", checkpoint);
        using var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromMinutes(30) };
        output.WriteLine($"HTTP: funcrerank serve --model {checkpoint} (max length 8192), load average {LoadAverage()}");

        var million = Body((cjk with { Chars = 1_000_000 }).Build());
        for (var i = 0; i < 3; i++)
        {
            var cpuStart = server.CpuTime;
            var start = Stopwatch.GetTimestamp();
            using var response = await client.PostAsync("v1/rerank", new StringContent(million, Encoding.UTF8, "application/json"));
            var wall = Stopwatch.GetElapsedTime(start);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"rerank, one document of 1,000,000 CJK characters: {(int)response.StatusCode} in {wall.TotalMilliseconds:F0} ms wall, " +
                $"{(server.CpuTime - cpuStart).TotalMilliseconds:F0} ms of server CPU (x-tokenization-time {Header(response, "x-tokenization-time")} ms, " +
                $"x-queue-time {Header(response, "x-queue-time")}, x-inference-time {Header(response, "x-inference-time")}, " +
                $"x-compute-tokens {Header(response, "x-compute-tokens")})"));
        }

        var threeMillion = Body((cjk with { Chars = 3_000_000 }).Build());
        using var hangUp = new CancellationTokenSource();
        var cpuBefore = server.CpuTime;
        var request = client.PostAsync("v1/rerank", new StringContent(threeMillion, Encoding.UTF8, "application/json"), hangUp.Token);
        while (server.CpuTime - cpuBefore < TimeSpan.FromMilliseconds(500))
            await Task.Delay(10);
        hangUp.Cancel();
        try
        {
            await request;
        }
        catch (OperationCanceledException)
        {
            // the hang-up itself
        }

        var hungUp = Stopwatch.StartNew();
        var windows = new List<string>();
        while (hungUp.Elapsed < TimeSpan.FromSeconds(30))
        {
            var cpuStart = server.CpuTime;
            var window = Stopwatch.StartNew();
            await Task.Delay(100);
            var busy = (server.CpuTime - cpuStart) / window.Elapsed;
            windows.Add(string.Create(CultureInfo.InvariantCulture, $"{busy * 100:F0}%"));
            if (busy < 0.1)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"hang-up on a 3,000,000-character request: server idle (a 100 ms window under 10 % of a core) {(hungUp.Elapsed - window.Elapsed).TotalMilliseconds:F0} ms " +
                    $"after the client disconnected (windows: {string.Join(" ", windows)})"));
                return;
            }
        }

        output.WriteLine($"hang-up on a 3,000,000-character request: server still busy 30 s later (windows: {string.Join(" ", windows)})");
    }

    /// <summary>
    /// Two rerank requests sent together, each 250 documents of 4,000 CJK characters (1,000,000 in all, every document
    /// kept whole), with <c>Reranker:MaxQueuedTokens</c> at 1.25 times one request's prompt tokens: the queue takes one of
    /// them, and the other gets 429. What counts is the server's CPU until that 429: the refused request's tokenization
    /// is waste, and the sooner it stops, the less there is.
    /// </summary>
    private static async Task MeasureQueueAsync(string checkpoint, TextWriter output)
    {
        var cjk = Categories().Single(c => c.Category == "cjk").Recipe;
        string[] Documents(uint seed) => Enumerable.Range(0, 250).Select(i => (cjk with { Seed = seed + (uint)i, Chars = 4_000 }).Build()).ToArray();
        var requests = new[] { ("first", Documents(1_000)), ("second", Documents(2_000)) };
        var prompt = new RerankPrompt(Qwen3Tokenizer.Load(Path.Combine(checkpoint, "tokenizer.json")));
        var tokens = requests.Select(r => prompt.BuildPrompts(r.Item2.Select(d => (Query, d)).ToArray(), new PromptOptions()).Sum(p => (long)p.Length)).ToArray();
        var bound = tokens.Max() * 5 / 4;
        using var server = await StandaloneServer.StartAsync(
            new Dictionary<string, string?> { ["Reranker__MaxQueuedTokens"] = bound.ToString(CultureInfo.InvariantCulture) }, waitUntilReady: true,
            TimeSpan.FromMinutes(10), "--model", checkpoint);
        using var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromMinutes(30) };
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"queue: two concurrent requests of 250 × 4,000 CJK characters ({tokens[0]:N0} and {tokens[1]:N0} prompt tokens), " +
            $"MaxQueuedTokens {bound:N0}, {Environment.ProcessorCount} cores, load average {LoadAverage()}"));

        var cpuStart = server.CpuTime;
        var start = Stopwatch.GetTimestamp();
        var replies = await Task.WhenAll(requests.Select(async r =>
        {
            using var response = await client.PostAsync("v1/rerank", new StringContent(Body(r.Item2), Encoding.UTF8, "application/json"));
            return (Name: r.Item1, Status: (int)response.StatusCode, Wall: Stopwatch.GetElapsedTime(start), Cpu: server.CpuTime - cpuStart);
        }));
        foreach (var reply in replies.OrderBy(r => r.Wall))
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{reply.Name}: {reply.Status} at {reply.Wall.TotalMilliseconds:F0} ms wall, {reply.Cpu.TotalMilliseconds:F0} ms of server CPU since both were sent"));
    }

    private static string Body(params string[] documents) =>
        new JsonObject { ["query"] = Query, ["documents"] = new JsonArray(documents.Select(d => (JsonNode)JsonValue.Create(d)).ToArray()) }.ToJsonString();

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : "-";

    private sealed record Timing(int Count, double WallMs, double CpuMs)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{CpuMs:F0} ({WallMs:F0})");
    }

    /// <summary>The Node process that times Hugging Face's tokenizer (<c>bench/hf_tokenizer.mjs</c>).</summary>
    private sealed class HfTokenizer : IDisposable
    {
        private readonly Process _process;

        private HfTokenizer(Process process) => _process = process;

        public static HfTokenizer Start(string node, string tokenizerPath)
        {
            var start = new ProcessStartInfo(node)
            {
                RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false,
                StandardInputEncoding = new UTF8Encoding(false),
            };
            start.ArgumentList.Add(Path.Combine(RepoPaths.Root(), "bench", "hf_tokenizer.mjs"));
            start.ArgumentList.Add(tokenizerPath);
            var process = Process.Start(start)!;
            var ready = process.StandardOutput.ReadLine();
            if (ready is null || !ready.Contains("ready", StringComparison.Ordinal))
                throw new InvalidOperationException($"bench/hf_tokenizer.mjs did not start (run `npm ci` in tests/fixtures/tokenizer): {ready}");
            return new HfTokenizer(process);
        }

        public Timing Time(string file, int reps)
        {
            _process.StandardInput.WriteLine(new JsonObject { ["path"] = file, ["reps"] = reps }.ToJsonString());
            _process.StandardInput.Flush();
            var line = _process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("bench/hf_tokenizer.mjs ended");
            var reply = JsonNode.Parse(line)!;
            return new Timing(reply["count"]!.GetValue<int>(),
                Median(reply["wall_ms"]!.AsArray().Select(v => v!.GetValue<double>()).ToList()),
                Median(reply["cpu_ms"]!.AsArray().Select(v => v!.GetValue<double>()).ToList()));
        }

        public void Dispose()
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(5000))
                _process.Kill();
            _process.Dispose();
        }
    }
}
