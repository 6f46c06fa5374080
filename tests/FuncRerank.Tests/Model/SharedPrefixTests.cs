using FuncRerank.Inference;
using FuncRerank.Model;
using FuncRerank.Model.Building;
using FuncRerank.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace FuncRerank.Tests.Model;

/// <summary>
/// The shared prefix (a batch's common leading tokens computed once) changes the work, never the scores: every batch
/// gives the logits of a graph built without the prefix input (within 1e-5) and of the torch reference (within 1e-4).
/// </summary>
public class SharedPrefixTests
{
    [Theory]
    [InlineData(new[] { 5, 6, 7 }, new[] { 5, 6, 8 }, 2)]
    [InlineData(new[] { 5, 6, 7 }, new[] { 5, 6, 7 }, 2)] // each row keeps its last token, where the score is read
    [InlineData(new[] { 5, 6 }, new[] { 5, 6, 7, 8 }, 1)]
    [InlineData(new[] { 5 }, new[] { 5, 6 }, 0)]
    [InlineData(new[] { 5, 6 }, new[] { 9, 6 }, 0)]
    public void The_shared_prefix_is_the_common_start_leaving_each_row_its_last_token(int[] first, int[] second, int expected)
    {
        Assert.Equal(expected, OnnxScorer.SharedPrefixLength([first, second]));
        Assert.Equal(expected, OnnxScorer.SharedPrefixLength([second, first]));
    }

    [Fact]
    public void A_lone_row_shares_nothing() => Assert.Equal(0, OnnxScorer.SharedPrefixLength([[5, 6, 7]]));

    public static TheoryData<string, ModelPrecision> Checkpoints() => new()
    {
        { "tiny-f32-tied", ModelPrecision.Float32 },
        { "tiny-bf16-sharded-untied", ModelPrecision.Float32 },
        { "tiny-bf16-tied-mqa", ModelPrecision.Float32 },
        { "tiny-bf16-sharded-untied", ModelPrecision.Float16 },
    };

    [Theory]
    [MemberData(nameof(Checkpoints))]
    public void Every_batch_scores_as_without_the_shared_prefix(string checkpointName, ModelPrecision precision)
    {
        var checkpoint = ReferenceCheckpoint.Load(checkpointName);
        using var shared = OnnxScorer.Open(BuiltModels.Directory(checkpointName, precision), new ScorerOptions(), NullLogger.Instance);
        using var plain = OnnxScorer.Open(BuiltModels.BuildNew(checkpointName, precision, Qwen3GraphOptions.Default with { SharedPrefix = false }),
            new ScorerOptions(), NullLogger.Instance);
        Assert.True(shared.TakesSharedPrefix);
        Assert.False(plain.TakesSharedPrefix);

        var pairs = checkpoint.Pairs;
        var templateLength = OnnxScorer.SharedPrefixLength(pairs.Select(p => p.Ids).ToArray());
        Assert.InRange(templateLength, 30, pairs.Min(p => p.Ids.Length) - 1); // the system prompt at least
        var batches = new List<(int[][] Rows, double[]? Reference)>();
        foreach (var group in pairs.GroupBy(p => p.Group).Where(g => g.Count() > 1))
        {
            // One query's documents: the prefix runs through the query, past the template.
            Assert.True(OnnxScorer.SharedPrefixLength(group.Select(p => p.Ids).ToArray()) > templateLength, $"group {group.Key}");
            batches.Add((group.Select(p => p.Ids).ToArray(), group.Select(p => p.LogitFp32).ToArray()));
        }

        batches.Add((pairs.Select(p => p.Ids).ToArray(), pairs.Select(p => p.LogitFp32).ToArray()));
        var longest = pairs.MaxBy(p => p.Ids.Length)!.Ids;
        // One row is the start of another, the same document twice (all but the last token shared), a one-token row,
        // and rows that share nothing.
        batches.Add(([longest, longest[..^5], longest[..40]], null));
        batches.Add(([longest, longest], null));
        batches.Add(([longest, longest, pairs[0].Ids, pairs[0].Ids], null));
        batches.Add(([longest, [longest[0]]], null));
        batches.Add(([longest, longest[3..], pairs[0].Ids], null));

        // float16 rounds every value at 2⁻¹¹ relative (an ulp of a hidden state near 4 is 0.004), and a token's place in
        // the packed stream and the batch's shape change the kernels' blocking: 4e-5 to 4e-4 measured between runs, below
        // float16's own error against float32 (up to 9e-4 in score, docs/exactness.md).
        var tolerance = precision == ModelPrecision.Float32 ? 1e-5 : 2e-3;
        foreach (var (rows, reference) in batches)
        {
            var expected = plain.ComputeLogits(rows);
            var withPrefix = shared.ComputeLogits(rows);
            for (var i = 0; i < rows.Length; i++)
            {
                Assert.InRange(Math.Abs(withPrefix[i] - expected[i]), 0, tolerance);
                if (reference is not null && precision == ModelPrecision.Float32)
                    Assert.InRange(Math.Abs(withPrefix[i] - reference[i]), 0, 1e-4);
            }
        }
    }

    [Fact]
    public void Contradicting_graph_options_are_refused_before_anything_is_written()
    {
        var output = Path.Combine(RepoFiles.NewTemporaryDirectory(), "built");
        var error = Assert.Throws<ArgumentException>(() => Qwen3OnnxBuilder.Build(RepoFiles.Checkpoint("tiny-f32-tied"), output, ModelPrecision.Float32,
            BuiltModels.TokenIds, new Dictionary<string, string>(),
            Qwen3GraphOptions.Default with { PackedTokens = false }));
        Assert.Contains("packed tokens", error.Message);
        Assert.False(Directory.Exists(output)); // refused before anything is written
        error = Assert.Throws<ArgumentException>(() => Qwen3OnnxBuilder.Build(RepoFiles.Checkpoint("tiny-f32-tied"), output, ModelPrecision.Float16,
            BuiltModels.TokenIds, new Dictionary<string, string>(),
            Qwen3GraphOptions.Default with { WeightBits = 8 }));
        Assert.Contains("fp32", error.Message);
        Assert.False(Directory.Exists(output));
    }
}
