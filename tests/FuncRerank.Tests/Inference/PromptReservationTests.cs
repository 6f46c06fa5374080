using FuncRerank.Inference;
using FuncRerank.Prompting;
using FuncRerank.Tests.TestSupport;

namespace FuncRerank.Tests.Inference;

/// <summary>
/// A request's tokens in the queue's bound while its prompts are built (<see cref="Qwen3Reranker.BuildPromptsAsync"/>
/// with a <see cref="QueueReservation"/>), on a scripted scorer:
/// <list type="bullet">
/// <item>counted as each prompt is built;</item>
/// <item>refused at the prompt that overflows, the prompts after it never tokenized (counted with the build callback, never timed);</item>
/// <item>handed to the queue exactly.</item>
/// </list>
/// The expected counts come from the prompts built on their own, without a queue.
/// </summary>
public class PromptReservationTests
{
    private static readonly TimeSpan Patience = Poll.Patience;
    private static readonly RerankPrompt Prompt = new(RepoFiles.Tokenizer);
    private static readonly PromptOptions Options = new();

    private static Qwen3Reranker Reranker(ScriptedScorer scorer, long maxQueuedTokens) =>
        ScriptedReranker.Create(scorer, new BatchSchedulerOptions { MaxQueuedTokens = maxQueuedTokens });

    /// <summary><paramref name="count"/> pairs whose documents have about <paramref name="words"/> words (a few hundred tokens with 150).</summary>
    private static (string Query, string Document)[] Pairs(int count, int words, string tag) =>
        Enumerable.Range(0, count)
            .Select(i => ("What is the capital of China?", $"{tag} document {i}: " + string.Join(' ', Enumerable.Range(0, words + 7 * i).Select(j => $"word{j}"))))
            .ToArray();

    /// <summary>What each prompt adds once built: its length without the template, which was reserved up front.</summary>
    private static long[] Bodies((string Query, string Document)[] pairs) =>
        Prompt.BuildPrompts(pairs, Options).Select(p => (long)(p.Length - Prompt.TemplateTokens)).ToArray();

    private static long Templates(int pairs) => (long)pairs * Prompt.TemplateTokens;

    /// <summary>Starts a one-prompt request and holds its batch, so that what is submitted next waits in the queue.</summary>
    private static Task<ScoredPrompts> Occupy(Qwen3Reranker reranker, ScriptedScorer scorer)
    {
        scorer.Hold();
        var blocker = reranker.ScoreAsync([Prompt.Build("q", "blocker")]);
        scorer.WaitForBatch();
        return blocker;
    }

    [Fact]
    public async Task Each_prompts_tokens_count_in_the_queue_as_it_is_built_and_the_queue_takes_them_over_exactly()
    {
        var scorer = new ScriptedScorer();
        using var reranker = Reranker(scorer, BatchSchedulerOptions.DefaultMaxQueuedTokens);
        var blocker = Occupy(reranker, scorer);
        var pairs = Pairs(5, 40, "counted");
        var bodies = Bodies(pairs);
        var total = Templates(5) + bodies.Sum();
        using var reservation = reranker.ReserveQueue();
        var reservedWhenBuilt = new List<long>();

        var prompts = await reranker.BuildPromptsAsync(pairs, Options, _ => reservedWhenBuilt.Add(reranker.Queue.ReservedTokens), reservation,
            CancellationToken.None);

        // Every template before anything is tokenized; then each prompt's body once it is built.
        Assert.Equal(Enumerable.Range(0, 5).Select(i => Templates(5) + bodies.Take(i).Sum()), reservedWhenBuilt);
        Assert.Equal(total, prompts.Sum(p => (long)p.Length));
        Assert.Equal(new QueueStatus(0, 0, 0, Tokenizing: 1, ReservedTokens: total), reranker.Queue);

        var scoring = reranker.ScoreAsync(prompts, reservation, CancellationToken.None);

        Assert.Equal(new QueueStatus(1, 5, total, 0, 0), reranker.Queue);
        scorer.Release();
        Assert.Equal(5, (await scoring.WaitAsync(Patience)).Scores.Length);
        await blocker.WaitAsync(Patience);
        Assert.Equal(new QueueStatus(0, 0, 0), reranker.Queue);
    }

    [Fact]
    public async Task A_request_the_queue_cannot_take_stops_tokenizing_at_the_prompt_that_overflows_and_holds_nothing_after()
    {
        var waiting = Prompt.Build("q", "a request waiting in the queue");
        var pairs = Pairs(10, 60, "refused");
        var bodies = Bodies(pairs);
        // Room for the waiting request, the ten templates and three bodies, one token short of the fourth body.
        var bound = waiting.Length + Templates(10) + bodies.Take(4).Sum() - 1;
        var scorer = new ScriptedScorer();
        using var reranker = Reranker(scorer, bound);
        var blocker = Occupy(reranker, scorer);
        var queued = reranker.ScoreAsync([waiting]);
        using var reservation = reranker.ReserveQueue();
        var built = 0;

        var error = await Assert.ThrowsAsync<QueueFullException>(() =>
            reranker.BuildPromptsAsync(pairs, Options, _ => built++, reservation, CancellationToken.None));

        Assert.Equal(4, built); // the fourth was built and refused; the six after it were never tokenized
        Assert.Equal((waiting.Length, Templates(10) + bodies.Take(4).Sum()), (error.QueuedTokens, error.RequestTokens));
        Assert.Equal(new QueueStatus(1, 1, waiting.Length), reranker.Queue); // refused, it holds nothing, disposed or not

        // Refused before anything is tokenized when not even the templates fit.
        using var tooMany = reranker.ReserveQueue();
        built = 0;
        var many = Pairs((int)(bound / Prompt.TemplateTokens), 60, "many");
        error = await Assert.ThrowsAsync<QueueFullException>(() =>
            reranker.BuildPromptsAsync(many, Options, _ => built++, tooMany, CancellationToken.None));
        Assert.Equal(0, built);
        Assert.Equal(Templates(many.Length), error.RequestTokens);

        scorer.Release();
        await Task.WhenAll(blocker, queued).WaitAsync(Patience);
        Assert.Equal(new QueueStatus(0, 0, 0), reranker.Queue);
    }

    [Fact]
    public async Task A_second_request_arriving_while_the_first_is_tokenizing_is_refused_before_the_rest_of_it_is_tokenized()
    {
        var first = Pairs(6, 150, "first");
        var second = Pairs(6, 150, "second");
        var firstBodies = Bodies(first);
        var secondBodies = Bodies(second);
        // The queue takes the first request whole, not both.
        var bound = Templates(6) + firstBodies.Sum();
        var scorer = new ScriptedScorer();
        using var reranker = Reranker(scorer, bound);
        using var paused = new ManualResetEventSlim();
        using var resume = new ManualResetEventSlim();
        using var firstReservation = reranker.ReserveQueue();
        var firstBuilt = 0;
        // The first request stops once its fourth prompt is built (before that prompt's body is counted) until resumed.
        var firstPrompts = Task.Run(() => reranker.BuildPromptsAsync(first, Options, _ =>
        {
            if (++firstBuilt != 4)
                return;
            paused.Set();
            resume.Wait(Patience);
        }, firstReservation, CancellationToken.None));
        Assert.True(paused.Wait(Patience), "the first request never reached its fourth prompt");
        var firstHeld = Templates(6) + firstBodies.Take(3).Sum();
        Assert.Equal(new QueueStatus(0, 0, 0, 1, firstHeld), reranker.Queue);

        using var secondReservation = reranker.ReserveQueue();
        var secondBuilt = 0;
        var error = await Assert.ThrowsAsync<QueueFullException>(() =>
            reranker.BuildPromptsAsync(second, Options, _ => secondBuilt++, secondReservation, CancellationToken.None));

        // Refused at the first prompt whose tokens, beside what the first request holds, go over the bound.
        var expectedBuilt = Enumerable.Range(1, 6).First(n => firstHeld + Templates(6) + secondBodies.Take(n).Sum() > bound);
        Assert.InRange(expectedBuilt, 1, 5);
        Assert.Equal(expectedBuilt, secondBuilt);
        Assert.Equal(firstHeld, error.QueuedTokens);
        Assert.Equal(new QueueStatus(0, 0, 0, 1, firstHeld), reranker.Queue);

        resume.Set();
        var prompts = await firstPrompts.WaitAsync(Patience);
        Assert.Equal(6, firstBuilt);
        Assert.Equal(6, (await reranker.ScoreAsync(prompts, firstReservation, CancellationToken.None).WaitAsync(Patience)).Scores.Length);
        Assert.Equal(new QueueStatus(0, 0, 0), reranker.Queue);
        Assert.Equal(6, scorer.Batches.Sum(b => b.Length));
    }
}
