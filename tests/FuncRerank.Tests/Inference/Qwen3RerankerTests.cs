using FuncRerank.Inference;
using FuncRerank.Model;
using FuncRerank.Tests.Model;
using FuncRerank.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace FuncRerank.Tests.Inference;

public class Qwen3RerankerTests
{
    private static Qwen3Reranker Load(string checkpoint, RerankerOptions? options = null) =>
        Qwen3Reranker.Load(RepoFiles.Checkpoint(checkpoint), (options ?? new RerankerOptions()) with { CacheRoot = RepoFiles.NewTemporaryDirectory() },
            NullLogger.Instance);

    [Fact]
    public void Scores_from_text_match_the_torch_reference_whatever_the_batch_budget()
    {
        var checkpoint = ReferenceCheckpoint.Load("tiny-bf16-tied-mqa");
        // A budget of one short prompt forces one pair per run; the default packs them all into one batch.
        using var onePerBatch = Load(checkpoint.Name, new RerankerOptions { Batching = new() { MaxBatchTokens = 80 } });
        using var packed = Load(checkpoint.Name);
        Assert.Equal(80, onePerBatch.Batching.MaxBatchTokens); // configured
        Assert.Equal(BatchBudgets.Cpu.MaxBatchTokens, packed.Batching.MaxBatchTokens); // unset: the CPU's default
        Assert.Equal(BatchBudgets.Cpu.MaxAttentionCells, packed.Batching.MaxAttentionCells);

        foreach (var group in checkpoint.Pairs.GroupBy(p => p.Group))
        {
            var pairs = group.ToArray();
            var documents = pairs.Select(p => p.Document).ToArray();
            var single = onePerBatch.Score(pairs[0].Query, documents, pairs[0].Instruction);
            var batched = packed.Score(pairs[0].Query, documents, pairs[0].Instruction);
            for (var i = 0; i < pairs.Length; i++)
            {
                Assert.InRange(Math.Abs(single[i].Logit - pairs[i].LogitFp32), 0, 1e-4);
                Assert.InRange(Math.Abs(batched[i].Logit - single[i].Logit), 0, 1e-5);
                Assert.Equal(Qwen3Reranker.Sigmoid(batched[i].Logit), batched[i].Score);
                Assert.Equal(pairs[i].Ids.Length, batched[i].PromptTokens);
            }
        }
    }

    [Fact]
    public void Concurrent_callers_get_what_sequential_calls_get()
    {
        var checkpoint = ReferenceCheckpoint.Load("tiny-f32-tied");
        using var reranker = Load(checkpoint.Name);
        var requests = checkpoint.Pairs.GroupBy(p => p.Group).Select(g => g.ToArray()).ToArray();
        var sequential = requests.Select(r => reranker.Score(r[0].Query, r.Select(p => p.Document).ToArray(), r[0].Instruction)).ToArray();

        var parallel = new PairScore[requests.Length * 8][];
        Parallel.For(0, parallel.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var r = requests[i % requests.Length];
            parallel[i] = reranker.Score(r[0].Query, r.Select(p => p.Document).ToArray(), r[0].Instruction);
        });

        // Concurrent requests share batches, so a pair may be padded differently than when it ran with its own request
        // only: the same score within padding invariance, not to the bit.
        for (var i = 0; i < parallel.Length; i++)
        {
            var request = requests[i % requests.Length];
            for (var j = 0; j < request.Length; j++)
            {
                Assert.InRange(Math.Abs(parallel[i][j].Logit - sequential[i % requests.Length][j].Logit), 0, 1e-5);
                Assert.InRange(Math.Abs(parallel[i][j].Logit - request[j].LogitFp32), 0, 1e-4);
            }
        }
    }

    [Fact]
    public async Task Scoring_asynchronously_gives_the_same_scores_and_the_time_spent()
    {
        var checkpoint = ReferenceCheckpoint.Load("tiny-f32-tied");
        using var reranker = Load(checkpoint.Name);
        var prompts = checkpoint.Pairs.Select(p => p.Ids).ToArray();

        var scored = await reranker.ScoreAsync(prompts);

        Assert.Equal(reranker.Score(prompts), scored.Scores);
        Assert.True(scored.InferenceTime > TimeSpan.Zero);
        Assert.True(scored.QueueTime >= TimeSpan.Zero);
        Assert.Equal(new QueueStatus(0, 0, 0), reranker.Queue);
    }

    [Fact]
    public async Task A_cancelled_call_throws_and_the_reranker_keeps_serving()
    {
        var checkpoint = ReferenceCheckpoint.Load("tiny-f32-tied");
        using var reranker = Load(checkpoint.Name);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reranker.ScoreAsync([checkpoint.Pairs[0].Ids], cancelled.Token));

        Assert.InRange(Math.Abs(reranker.Score([checkpoint.Pairs[0].Ids])[0].Logit - checkpoint.Pairs[0].LogitFp32), 0, 1e-4);
    }

    [Fact]
    public void Long_documents_are_cut_to_the_max_length_and_still_scored()
    {
        using var reranker = Load("tiny-f32-tied", new RerankerOptions { MaxLength = 64 });
        var longDocument = string.Join(' ', Enumerable.Repeat("the capital of China is Beijing", 200));

        var score = reranker.Score("What is the capital of China?", [longDocument])[0];

        Assert.Equal(64, score.PromptTokens);
        Assert.InRange(score.Score, 0f, 1f);
    }

    [Fact]
    public void A_max_length_beyond_the_models_positions_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => Load("tiny-f32-tied", new RerankerOptions { MaxLength = 50_000 }));
        Assert.Contains("max_position_embeddings", error.Message);
    }

    [Fact]
    public void The_built_model_and_the_checkpoints_tokenizer_must_agree_on_yes_and_no()
    {
        var built = RepoFiles.CopyToTemporaryDirectory(BuiltModels.Directory("tiny-f32-tied", ModelPrecision.Float32));
        var manifest = RerankerManifest.Load(built);
        (manifest with { YesTokenId = 2152, NoTokenId = 9693 }).Save(built);

        var error = Assert.Throws<ModelFormatException>(() =>
            Qwen3Reranker.Load(built, new RerankerOptions { Scorer = new ScorerOptions() }, NullLogger.Instance));
        Assert.Contains("yes/no/pad", error.Message);
    }
}
