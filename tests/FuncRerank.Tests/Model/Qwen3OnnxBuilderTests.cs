using FuncRerank.Model;
using FuncRerank.Model.Building;

namespace FuncRerank.Tests.Model;

/// <summary>The built graph against the torch reference of the generated checkpoints (tests/fixtures/models).</summary>
public class Qwen3OnnxBuilderTests
{
    public static TheoryData<string> Checkpoints => new(ReferenceCheckpoint.All);

    [Theory]
    [MemberData(nameof(Checkpoints))]
    public void Fp32_graph_matches_the_torch_reference_to_1e_4(string name)
    {
        var checkpoint = ReferenceCheckpoint.Load(name);
        var scorer = BuiltModels.Scorer(name, ModelPrecision.Float32);

        var errors = checkpoint.Pairs.Select(p => (p.Name, Logit: scorer.ComputeLogits([p.Ids])[0], p.LogitFp32, p.LogitFp64)).ToArray();

        var worst = errors.MaxBy(e => Math.Abs(e.Logit - e.LogitFp32));
        Assert.True(Math.Abs(worst.Logit - worst.LogitFp32) <= 1e-4,
            $"{worst.Name}: ONNX {worst.Logit} vs torch fp32 {worst.LogitFp32}");
        Assert.All(errors, e => Assert.InRange(Math.Abs(e.Logit - e.LogitFp64), 0, 1e-4));
        Assert.All(errors, e => Assert.InRange(
            Math.Abs(Qwen3Reranker.Sigmoid(e.Logit) - 1 / (1 + Math.Exp(-e.LogitFp32))), 0, 1e-4));
    }

    [Theory]
    [MemberData(nameof(Checkpoints))]
    public void A_pair_scores_the_same_alone_and_inside_left_padded_batches(string name)
    {
        var checkpoint = ReferenceCheckpoint.Load(name);
        var scorer = BuiltModels.Scorer(name, ModelPrecision.Float32);
        var rows = checkpoint.Pairs.Select(p => p.Ids).ToArray();
        var alone = rows.Select(r => scorer.ComputeLogits([r])[0]).ToArray();

        var batched = scorer.ComputeLogits(rows);
        var reversed = scorer.ComputeLogits(rows.Reverse().ToArray()).Reverse().ToArray();
        // Every pair next to a row 300 tokens longer than the longest pair, so it is padded by 300 or more.
        var longRow = rows.MaxBy(r => r.Length)!.Concat(Enumerable.Repeat(rows[0][^20], 300)).ToArray();
        var heavilyPadded = rows.Select(r => scorer.ComputeLogits([longRow, r])[1]).ToArray();

        for (var i = 0; i < rows.Length; i++)
        {
            Assert.InRange(Math.Abs(batched[i] - alone[i]), 0, 1e-5);
            Assert.InRange(Math.Abs(reversed[i] - alone[i]), 0, 1e-5);
            Assert.InRange(Math.Abs(heavilyPadded[i] - alone[i]), 0, 1e-5);
        }
    }

    [Theory]
    [MemberData(nameof(Checkpoints))]
    public void Ranking_within_each_query_is_the_reference_ranking(string name)
    {
        var checkpoint = ReferenceCheckpoint.Load(name);
        var scorer = BuiltModels.Scorer(name, ModelPrecision.Float32);
        var logits = scorer.ComputeLogits(checkpoint.Pairs.Select(p => p.Ids).ToArray());

        foreach (var group in checkpoint.Pairs.Select((p, i) => (p, i)).GroupBy(x => x.p.Group))
        {
            var expected = group.OrderByDescending(x => x.p.LogitFp32).Select(x => x.p.Name).ToArray();
            var actual = group.OrderByDescending(x => logits[x.i]).Select(x => x.p.Name).ToArray();
            Assert.Equal(expected, actual);
        }
    }

    [Theory]
    [InlineData("tiny-f32-tied")]
    [InlineData("tiny-bf16-sharded-untied")]
    public void Fp16_graph_stays_within_half_precision_of_the_reference(string name)
    {
        var checkpoint = ReferenceCheckpoint.Load(name);
        var scorer = BuiltModels.Scorer(name, ModelPrecision.Float16);
        var logits = scorer.ComputeLogits(checkpoint.Pairs.Select(p => p.Ids).ToArray());

        for (var i = 0; i < logits.Length; i++)
        {
            var expectedScore = 1 / (1 + Math.Exp(-checkpoint.Pairs[i].LogitFp32));
            Assert.InRange(Math.Abs(Qwen3Reranker.Sigmoid(logits[i]) - expectedScore), 0, 5e-3);
        }
    }

    [Fact]
    public void Built_directory_holds_graph_weights_manifest_and_tokenizer()
    {
        var directory = BuiltModels.Directory("tiny-bf16-sharded-untied", ModelPrecision.Float32);
        var manifest = RerankerManifest.Load(directory);

        Assert.Equal("fp32", manifest.Dtype);
        Assert.Equal(Qwen3OnnxBuilder.Version, manifest.Builder);
        Assert.Equal(32, manifest.Architecture.HeadDim);
        Assert.False(manifest.Architecture.TieWordEmbeddings);
        Assert.Equal((BuiltModels.YesTokenId, BuiltModels.NoTokenId, BuiltModels.PadTokenId), (manifest.YesTokenId, manifest.NoTokenId, manifest.PadTokenId));
        Assert.True(File.Exists(Path.Combine(directory, "tokenizer.json")));
        // The graph is small: every weight lives in the external data file.
        Assert.InRange(new FileInfo(Path.Combine(directory, RerankerManifest.GraphFileName)).Length, 1, 200_000);
        Assert.True(new FileInfo(Path.Combine(directory, RerankerManifest.WeightsFileName)).Length > 19_000_000 * 2);
    }
}
