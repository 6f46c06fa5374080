using System.CommandLine;
using FuncRerank.Bench;
using FuncRerank.Tests.TestSupport;

namespace FuncRerank.Tests.Bench;

/// <summary>
/// The benchmark's arithmetic and argument parsing, without running it (it is timed, so it lives in bench/, never in
/// the suite): the FLOP formula of onnx_perf.md §4.2, the executed-FLOP count, timing headers, the request mixes.
/// </summary>
public class BenchSmokeTests
{
    [Fact]
    public void Naive_flops_follow_the_research_formula_for_the_0_6B_shape()
    {
        var slice = new ModelShape();
        Assert.Equal(31_457_280, slice.LinearParameters);
        // onnx_perf.md §6.3: 65.0 MFLOP/token at 128 tokens and 71.3 at 512 for the 2-layer slice.
        Assert.Equal(65.0, slice.PairFlops(128) / 128 / 1e6, 1);
        Assert.Equal(71.3, slice.PairFlops(512) / 512 / 1e6, 1);
        // §4.2: the full 0.6B has 0.440 B linear params and needs ~1.00 GFLOP/token at 512.
        var full = new ModelShape { Layers = 28 };
        Assert.Equal(0.440, full.LinearParameters / 1e9, 3);
        Assert.Equal(1.00, full.PairFlops(512) / 512 / 1e9, 2);
    }

    [Fact]
    public void Executed_flops_equal_naive_ones_for_a_one_token_row_and_drop_with_the_last_layer_shortcut()
    {
        var slice = new ModelShape();
        Assert.Equal(slice.PairFlops(1), BenchRun.ExecutedFlops(slice, [1]), 6);
        Assert.True(BenchRun.ExecutedFlops(slice, [512]) < slice.PairFlops(512));
        Assert.Equal(4 * BenchRun.ExecutedFlops(slice, [300]), BenchRun.ExecutedFlops(slice, [300, 300, 300, 300]), 6);
        // A shorter row costs its own dense work but the batch's attention width.
        var mixed = BenchRun.ExecutedFlops(slice, [300, 100]);
        Assert.InRange(mixed, BenchRun.ExecutedFlops(slice, [300]) + BenchRun.ExecutedFlops(slice, [100]), 2 * BenchRun.ExecutedFlops(slice, [300]));
        // A shared prefix's dense work is done once per batch: 3 of 4 rows save it, in proportion to its length.
        var saved100 = BenchRun.ExecutedFlops(slice, [300, 300, 300, 300]) - BenchRun.ExecutedFlops(slice, [300, 300, 300, 300], 100);
        var saved200 = BenchRun.ExecutedFlops(slice, [300, 300, 300, 300]) - BenchRun.ExecutedFlops(slice, [300, 300, 300, 300], 200);
        Assert.True(saved100 > 0);
        Assert.Equal(2 * saved100, saved200, 6);
        Assert.Equal(BenchRun.ExecutedFlops(slice, [300]), BenchRun.ExecutedFlops(slice, [300], 299), 6);
        // Padding costs attention only: rows of equal length waste nothing, and the waste is what the mixed batch pays over its rows alone.
        Assert.Equal(0, BenchRun.AttentionPaddingFlops(slice, [300, 300]));
        Assert.Equal(mixed - BenchRun.ExecutedFlops(slice, [300]) - BenchRun.ExecutedFlops(slice, [100]), BenchRun.AttentionPaddingFlops(slice, [300, 100]), 6);
    }

    [Fact]
    public void Padding_of_the_tighter_plan_cuts_batches_at_length_jumps()
    {
        Assert.Equal(400, BenchRun.PaddedTokens([100, 200, 100], 1000, 1.25));
        Assert.Equal(600, BenchRun.PaddedTokens([100, 200, 100], 1000, 10));
        Assert.Equal(300, BenchRun.PaddedTokens([100, 100, 100], 200, 10)); // the budget still cuts
    }

    [Theory]
    [InlineData("12.5", 0.0125)]
    [InlineData("12.5ms", 0.0125)]
    [InlineData("0.5s", 0.5)]
    public void Server_timing_headers_are_read_as_seconds(string value, double seconds)
    {
        using var response = new HttpResponseMessage();
        response.Headers.Add("x-inference-time", value);
        Assert.Equal(seconds, BenchRun.HeaderSeconds(response, "x-inference-time")!.Value, 9);
        Assert.Null(BenchRun.HeaderSeconds(response, "x-queue-time"));
    }

    [Fact]
    public void Run_options_parse_and_bad_shapes_or_environment_are_refused()
    {
        var result = BenchCommands.Run().Parse(["--mixed-requests", "2", "--small-concurrency", "8", "--instruction-tokens", "200", "--torch-env", "OPENBLAS_NUM_THREADS=1", "--no-torch"]);
        Assert.Empty(result.Errors);
        Assert.NotEmpty(BenchCommands.Run().Parse(["--mixed-requests", "two"]).Errors);
        Assert.Equal([new BatchShape(32, 128), new BatchShape(2, 2000, 0.5)], BenchCommands.ParseShapes("32x128, 2x2000/0.5"));
        Assert.Equal([2000, 1000], Enumerable.Range(0, 2).Select(new BatchShape(2, 2000, 0.5).RowLength));
        Assert.Throws<ArgumentException>(() => BenchCommands.ParseShapes("32by128"));
        Assert.Throws<ArgumentException>(() => BenchCommands.ParseShapes("32x128/1.5"));
        Assert.Equal("1", BenchCommands.ParseEnvironment(["OPENBLAS_NUM_THREADS=1"])["OPENBLAS_NUM_THREADS"]);
        Assert.Throws<ArgumentException>(() => BenchCommands.ParseEnvironment(["=1"]));
    }

    [Fact]
    public void Request_mixes_are_deterministic_and_within_their_ranges()
    {
        var spec = new MixSpec("t", 3, 2, 4, 40, 120, 1);
        var a = Workload.Generate(spec, RepoFiles.Tokenizer, 9);
        var b = Workload.Generate(spec, RepoFiles.Tokenizer, 9);
        Assert.Equal(a.Requests.SelectMany(r => r.Documents.Prepend(r.Query)), b.Requests.SelectMany(r => r.Documents.Prepend(r.Query)));
        Assert.All(a.Requests, r => Assert.InRange(r.Documents.Length, 2, 4));
        Assert.All(a.Requests.SelectMany(r => r.Documents), d => Assert.InRange(RepoFiles.Tokenizer.CountTokens(d), 36, 130));
        Assert.All(a.Requests, r => Assert.Null(r.Instruction));
        var instructed = Workload.Generate(spec, RepoFiles.Tokenizer, 9, instructionTokens: 200);
        Assert.All(instructed.Requests, r => Assert.InRange(RepoFiles.Tokenizer.CountTokens(r.Instruction!), 180, 220));
    }
}
