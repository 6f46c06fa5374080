using System.Security.Cryptography;
using System.Text.Json;
using FuncRerank.Tests.Infra;
using FuncRerank.Tests.TestSupport;

namespace FuncRerank.Tests.Bench;

/// <summary>
/// The GPU check kit (bench/gpu) as far as a machine without a GPU can run it: its parts are split, checked and joined
/// back byte for byte, damage and gaps are caught and named, and the whole check runs end to end on the CPU provider with
/// small shapes, through the same entry script, writing the report the GPU run writes.
/// </summary>
[Collection(LoadHeavyCollection.Name)] // the CPU run builds three graphs and scores on every core
public class GpuCheckKitTests
{
    /// <summary>The Python that run-tests.sh uses (torch and numpy for the checkpoint generator).</summary>
    private static readonly string Python = Environment.GetEnvironmentVariable("FUNCRERANK_PYTHON") ?? "/usr/bin/python3";

    private static string Script(string name) => Path.Combine(RepoFiles.RepoRoot, "bench", "gpu", name);

    private static ToolProcess.Result Parts(params string[] arguments) =>
        ToolProcess.Run(Python, [Script("parts.py"), .. arguments], timeout: TimeSpan.FromMinutes(2));

    [Fact]
    public void Parts_join_back_to_the_same_bytes_and_a_damaged_or_missing_part_is_named()
    {
        var root = RepoFiles.NewTemporaryDirectory();
        var original = Path.Combine(root, "kit.tar.xz");
        var bytes = RandomNumberGenerator.GetBytes(1_000_003);
        File.WriteAllBytes(original, bytes);
        var parts = Path.Combine(root, "parts");

        var split = Parts("split", original, "--out", parts, "--part-bytes", "300000");
        Assert.True(split.ExitCode == 0, split.Output);
        Assert.Equal(["1", "2", "3", "4"], Directory.GetDirectories(parts).Select(Path.GetFileName).Order());
        foreach (var folder in Directory.GetDirectories(parts))
            Assert.Equal(2, Directory.GetFiles(folder).Length); // one part and the manifest: each folder travels alone
        Assert.Equal(1_000_003, Directory.GetFiles(parts, "*.part*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length));

        var joined = Path.Combine(root, "joined", "kit.tar.xz");
        var join = Parts("join", parts, "--to", joined);
        Assert.True(join.ExitCode == 0, join.Output);
        Assert.Equal(bytes, File.ReadAllBytes(joined));
        Assert.Contains(Convert.ToHexStringLower(SHA256.HashData(bytes)), join.Output);

        // A part still on its way: check says which, join refuses.
        var third = Path.Combine(parts, "3", "kit.tar.xz.part003");
        File.Move(third, third + ".away");
        var check = Parts("check", parts);
        Assert.True(check.ExitCode == 0, check.Output);
        Assert.Contains("3 of 4 part(s) present and intact; still missing: kit.tar.xz.part003", check.Output);
        join = Parts("join", parts, "--to", Path.Combine(root, "again.tar.xz"));
        Assert.NotEqual(0, join.ExitCode);
        Assert.Contains("missing part(s): kit.tar.xz.part003", join.Output);
        File.Move(third + ".away", third);

        // One flipped bit in transit: named, with the folder to send again.
        var second = Path.Combine(parts, "2", "kit.tar.xz.part002");
        var damaged = File.ReadAllBytes(second);
        damaged[12345] ^= 0x10;
        File.WriteAllBytes(second, damaged);
        foreach (var result in new[] { Parts("check", parts), Parts("join", parts, "--to", Path.Combine(root, "again.tar.xz")) })
        {
            Assert.NotEqual(0, result.ExitCode);
            Assert.Contains("kit.tar.xz.part002: checksum mismatch", result.Output);
            Assert.Contains("send folder 2 again", result.Output);
        }

        Assert.False(File.Exists(Path.Combine(root, "again.tar.xz")));
    }

    /// <summary>The driver as the test project builds it (framework-dependent, run with dotnet).</summary>
    private static string Driver()
    {
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name; // bin/<Configuration>/net10.0
        var driver = Path.Combine(RepoFiles.RepoRoot, "bench", "FuncRerank.GpuCheck", "bin", configuration, "net10.0", "funcrerank-gpucheck.dll");
        Assert.True(File.Exists(driver), $"{driver} is missing: the test project builds it");
        return driver;
    }

    [Fact]
    public void The_check_runs_end_to_end_on_the_cpu_and_reports_what_the_gpu_run_reports()
    {
        var root = RepoFiles.NewTemporaryDirectory();
        var driver = Driver();

        var run = ToolProcess.Run("bash", [Script("gpu-check.sh"), "--device", "cpu", "--driver", $"dotnet {driver}", "--out", Path.Combine(root, "out"),
            "--work", Path.Combine(root, "work")], environment: new Dictionary<string, string?> { ["PYTHON"] = Python }, timeout: TimeSpan.FromMinutes(10));
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.True(File.Exists(Path.Combine(root, "out", "gpu-check.log")));

        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "out", "gpu-check.json")));
        var r = report.RootElement;
        Assert.Equal("cpu", r.GetProperty("device").GetString());
        Assert.Empty(r.GetProperty("failures").EnumerateArray());
        Assert.StartsWith("1.31", r.GetProperty("environment").GetProperty("onnxruntime").GetString());
        Assert.Contains(r.GetProperty("environment").GetProperty("libraries").EnumerateArray(), l => l.GetProperty("name").GetString() == "libonnxruntime.so");
        Assert.Equal(3, r.GetProperty("model").GetProperty("layers").GetInt32());
        Assert.True(r.GetProperty("fp16_matmul_peak").GetProperty("best_tflops").GetDouble() > 0);

        var graphs = r.GetProperty("graphs").EnumerateArray().ToArray();
        Assert.Equal(["fp32", "fp16 (transformers attention, the default)", "fp16 (GroupQueryAttention by lengths)"],
            graphs.Select(g => g.GetProperty("name").GetString()));
        foreach (var graph in graphs.Skip(1))
        {
            // fp16 against the fp32 graph: the bounds GraphOptionsTests and SharedPrefixTests hold fp16 graphs to.
            var accuracy = graph.GetProperty("vs_fp32_cpu");
            Assert.Equal(16, accuracy.GetProperty("pairs").GetInt32());
            Assert.InRange(accuracy.GetProperty("max_abs_logit_error").GetDouble(), 1e-6, 1e-2);
            Assert.InRange(accuracy.GetProperty("max_abs_score_error").GetDouble(), 0, 5e-3);
            Assert.InRange(accuracy.GetProperty("max_abs_logit_batched_vs_alone").GetDouble(), 0, 2e-3);
            Assert.InRange(accuracy.GetProperty("max_abs_logit_padded_vs_alone").GetDouble(), 0, 2e-3);
            Assert.Equal(16384, graph.GetProperty("default_budgets").GetProperty("max_batch_tokens").GetInt32());

            var mixes = graph.GetProperty("mixes").EnumerateArray().ToArray();
            Assert.Equal(["8 docs x 128 tokens", "4-8 docs of 20-300 tokens", "one 1,024-token document"], mixes.Select(m => m.GetProperty("mix").GetString()));
            Assert.Equal(16, mixes[0].GetProperty("pairs").GetInt32());
            Assert.Equal(16 * 128, mixes[0].GetProperty("tokens").GetInt64());
            Assert.Equal(3 * 1024, mixes[2].GetProperty("tokens").GetInt64());
            foreach (var mix in mixes)
            {
                Assert.True(mix.GetProperty("pairs_per_second").GetDouble() > 0);
                Assert.Equal(mix.GetProperty("pairs").GetInt32() / mix.GetProperty("seconds").GetDouble(), mix.GetProperty("pairs_per_second").GetDouble(), 0.01 * mix.GetProperty("pairs_per_second").GetDouble());
                Assert.True(mix.GetProperty("fraction_of_fp16_peak").GetDouble() > 0);
                Assert.False(mix.TryGetProperty("gpu_memory_peak_bytes", out _)); // no GPU here
            }

            Assert.Equal([16384, 32768, 65536], graph.GetProperty("max_batch_tokens_sweep").EnumerateArray().Select(s => s.GetProperty("max_batch_tokens").GetInt32()));
        }
    }

    [Fact]
    public void Steps_the_device_cannot_run_are_reported_with_their_cause_and_the_check_goes_on()
    {
        // No GPU here: asked for cuda, each fp16 graph and the MatMul peak fail (RequireCuda, no silent CPU fallback),
        // and the report still holds the builds and says why each step failed.
        var output = Path.Combine(RepoFiles.NewTemporaryDirectory(), "gpu-check.json");
        var run = ToolProcess.Run("dotnet", [Driver(), "--checkpoint", RepoFiles.Checkpoint("tiny-bf16-sharded-untied"), "--device", "cuda",
            "--scale", "small", "--work", Path.GetDirectoryName(output)!, "--out", output], timeout: TimeSpan.FromMinutes(10));
        Assert.True(run.ExitCode == 1, run.Output);
        Assert.Contains("3 step(s) failed", run.Output);

        using var report = JsonDocument.Parse(File.ReadAllText(output));
        var failures = report.RootElement.GetProperty("failures").EnumerateArray().ToArray();
        Assert.Equal(["fp16 (transformers attention, the default)", "fp16 (GroupQueryAttention by lengths)", "fp16 MatMul peak"],
            failures.Select(f => f.GetProperty("step").GetString()));
        Assert.All(failures, f => Assert.Contains("AppendExecutionProvider_Cuda: Failed to load shared library", f.GetProperty("error").GetString()));
        Assert.All(failures[..2], f => Assert.Contains("missing CUDA 13 / cuDNN 9 libraries", f.GetProperty("error").GetString())); // the scorer's diagnosis
        Assert.Equal(3, report.RootElement.GetProperty("graphs").GetArrayLength());
    }
}
