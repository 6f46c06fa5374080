using FuncRerank.Inference;
using FuncRerank.Model;
using FuncRerank.Tests.Model;

namespace FuncRerank.Tests.Inference;

/// <summary>The scheduler on the real ONNX session: pairs of different requests share forward passes and keep their scores.</summary>
public class CrossRequestBatchingTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    public static TheoryData<string> Checkpoints => new(ReferenceCheckpoint.All);

    [Theory]
    [MemberData(nameof(Checkpoints))]
    public async Task Each_pair_scores_as_alone_and_as_torch_does_when_batched_with_other_requests_pairs(string name)
    {
        var checkpoint = ReferenceCheckpoint.Load(name);
        var session = BuiltModels.Scorer(name, ModelPrecision.Float32);
        var scorer = new ScriptedScorer(session);
        using var scheduler = new BatchScheduler(scorer, new BatchSchedulerOptions { MaxBatchTokens = 2048 });
        // Every pair is a request of its own, queued while a first batch is held, so the next cuts mix them.
        scorer.Hold();
        var blocker = scheduler.ScoreAsync([checkpoint.Pairs[0].Ids]);
        scorer.WaitForBatch();
        var requests = checkpoint.Pairs.Select(p => scheduler.ScoreAsync([p.Ids])).ToArray();
        scorer.Release();
        var results = await Task.WhenAll(requests).WaitAsync(Patience);
        await blocker.WaitAsync(Patience);

        for (var i = 0; i < checkpoint.Pairs.Length; i++)
        {
            var pair = checkpoint.Pairs[i];
            var batched = results[i].Logits.Single();
            var alone = session.ComputeLogits([pair.Ids])[0];
            Assert.InRange(Math.Abs(batched - alone), 0, 1e-5);
            Assert.InRange(Math.Abs(batched - pair.LogitFp32), 0, 1e-4);
        }

        var shared = scorer.Batches.Skip(1).Where(b => b.Length > 1).ToArray();
        Assert.NotEmpty(shared);
        // Rows are the submitted arrays themselves, so each names its request; at least one pass scored several requests.
        Assert.Contains(shared, b => b.Distinct(ReferenceEqualityComparer.Instance).Count() > 1);
        Assert.Equal(checkpoint.Pairs.Length, scorer.Batches.Skip(1).Sum(b => b.Length));
    }

    [Fact]
    public async Task Requests_of_several_pairs_get_their_scores_in_order_when_their_pairs_are_spread_over_shared_batches()
    {
        var checkpoint = ReferenceCheckpoint.Load("tiny-f32-tied");
        var session = BuiltModels.Scorer(checkpoint.Name, ModelPrecision.Float32);
        var scorer = new ScriptedScorer(session);
        // A small budget splits every request over several batches.
        using var scheduler = new BatchScheduler(scorer, new BatchSchedulerOptions { MaxBatchTokens = 700 });
        var groups = checkpoint.Pairs.GroupBy(p => p.Group).Select(g => g.ToArray()).ToArray();
        scorer.Hold();
        var blocker = scheduler.ScoreAsync([checkpoint.Pairs[0].Ids]);
        scorer.WaitForBatch();
        // Each group twice, in reverse order the second time, so the rows of one request are never sorted by length.
        var requests = groups.Concat(groups.Select(g => g.Reverse().ToArray())).ToArray();
        var tasks = requests.Select(r => scheduler.ScoreAsync(r.Select(p => p.Ids).ToArray())).ToArray();
        scorer.Release();
        var results = await Task.WhenAll(tasks).WaitAsync(Patience);
        await blocker.WaitAsync(Patience);

        for (var r = 0; r < requests.Length; r++)
        {
            for (var i = 0; i < requests[r].Length; i++)
            {
                Assert.InRange(Math.Abs(results[r].Logits[i] - session.ComputeLogits([requests[r][i].Ids])[0]), 0, 1e-5);
                Assert.InRange(Math.Abs(results[r].Logits[i] - requests[r][i].LogitFp32), 0, 1e-4);
            }
        }

        Assert.True(scorer.Batches.Count - 1 > 1, "the budget should have split the work");
        Assert.All(scorer.Batches, b => Assert.True(b.Length * b.Max(r => r.Length) <= 700 || b.Length == 1));
    }
}
