using System.Diagnostics;
using FuncRerank.Bench;
using FuncRerank.Prompting;
using FuncRerank.Tests.TestSupport;

namespace FuncRerank.Tests.Tokenization;

/// <summary>
/// A cancelled token stops tokenization and prompt building early, whether the text is one giant piece (the long-piece
/// merge) or a great many short ones (the library's runs). Judged against the same encode run to completion in the same
/// test, so the machine's load cancels out.
/// </summary>
[Collection(LoadHeavyCollection.Name)] // judged by times measured beside them: run alone
public sealed class TokenizationCancellationTests
{
    /// <summary>A <c>long.jsonl</c> category's text at another length: <c>cjk</c> is one giant piece, <c>base64</c> a great many short ones.</summary>
    public static string LongText(string category, int chars)
    {
        var record = RepoFiles.ReadJsonLines(RepoFiles.TokenizerFixture("long.jsonl"))
            .First(r => r.GetProperty("name").GetString() == $"long-{category}-10k");
        return (LongTextRecipe.FromJson(record.GetProperty("recipe")) with { Chars = chars }).Build();
    }

    [Theory]
    [InlineData("cjk", 1_000_000)]
    [InlineData("base64", 1_500_000)]
    public void Cancelling_stops_an_encode_long_before_it_would_end(string units, int chars)
    {
        string text = LongText(units, chars);
        // Timed warm: a cold first encode (JIT, the library's caches) ran up to 5x longer than the next one, so a cancel
        // placed by a cold timing could come after a warm encode had already ended.
        RepoFiles.Tokenizer.EncodeToIds(text);
        var full = Stopwatch.StartNew();
        RepoFiles.Tokenizer.EncodeToIds(text);
        full.Stop();

        using var cancellation = new CancellationTokenSource();
        long cancelledAt = 0;
        cancellation.Token.Register(() => cancelledAt = Stopwatch.GetTimestamp());
        cancellation.CancelAfter(full.Elapsed / 20);
        Assert.ThrowsAny<OperationCanceledException>(() => RepoFiles.Tokenizer.EncodeToIds(text, int.MaxValue, cancellation.Token));
        var afterCancel = Stopwatch.GetElapsedTime(cancelledAt);

        // Run to the end it would take about 95 % of the full time after the cancel; it stops within milliseconds.
        Assert.True(afterCancel < full.Elapsed / 2,
            $"the encode went on {afterCancel.TotalMilliseconds:F0} ms after the cancel; the whole encode takes {full.Elapsed.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public void Prompt_building_takes_the_token_and_checks_it_before_each_pair()
    {
        var prompt = new RerankPrompt(RepoFiles.Tokenizer);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => prompt.BuildPrompts([("q", "d")], new PromptOptions(), cancellationToken: cancelled.Token));

        // Cancelled after the first prompt: the second pair (a long one) is never tokenized.
        using var afterFirst = new CancellationTokenSource();
        var built = new List<int[]>();
        Assert.ThrowsAny<OperationCanceledException>(() => prompt.BuildPrompts(
            [("q", "short"), ("q", LongText("cjk", 3_000_000))], new PromptOptions { Truncate = false },
            p => { built.Add(p); afterFirst.Cancel(); }, afterFirst.Token));
        Assert.Single(built);
    }

    [Fact]
    public void The_prompt_policy_refuses_an_over_long_prompt_when_asked_not_to_cut()
    {
        var prompt = new RerankPrompt(RepoFiles.Tokenizer, maxLength: 128);
        var document = string.Join(' ', Enumerable.Range(0, 100).Select(i => $"w{i}"));
        var error = Assert.Throws<PromptTooLongException>(() =>
            prompt.BuildPrompts([("q", "fits"), ("q", document)], new PromptOptions { Truncate = false }));
        Assert.Equal(1, error.PairIndex);
        Assert.Equal(prompt.BuildWithInfo("q", document).UntruncatedBodyTokens + 48, error.PromptTokens);

        // With a document limit and the start kept, the document is tokenized only as far as the cut: same ids.
        var options = new PromptOptions { MaxTokensPerDocument = 30 };
        Assert.Equal(prompt.BuildWithDocumentLimit("q", document, null, 30, keepDocumentEnd: false).Ids, prompt.BuildPrompts([("q", document)], options)[0]);
    }
}
