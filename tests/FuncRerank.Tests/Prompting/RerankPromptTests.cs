using FuncRerank.Prompting;
using FuncRerank.Tests.TestSupport;
using FuncRerank.Tokenization;

namespace FuncRerank.Tests.Prompting;

public sealed class RerankPromptTests
{
    private static Qwen3Tokenizer Tokenizer => RepoFiles.Tokenizer;

    [Fact]
    public void PrefixAndSuffixHaveTheModelCardLengths()
    {
        var prompt = new RerankPrompt(Tokenizer);
        Assert.Equal(8192, prompt.MaxLength);
        Assert.Equal(39, prompt.PrefixIds.Count);
        Assert.Equal(9, prompt.SuffixIds.Count);
        Assert.Equal(8192 - 48, prompt.MaxBodyTokens);
        Assert.Equal([151644, 8948, 198], prompt.PrefixIds.Take(3));
        Assert.Equal([151645, 198, 151644, 77091, 198, 151667, 271, 151668, 271], prompt.SuffixIds);
    }

    [Fact]
    public void BuildIsPrefixBodySuffix()
    {
        var prompt = new RerankPrompt(Tokenizer);
        int[] ids = prompt.Build("What is the capital of France?", "Paris.");
        int[] body = Tokenizer.EncodeToIds(
            "<Instruct>: Given a web search query, retrieve relevant passages that answer the query\n<Query>: What is the capital of France?\n<Document>: Paris.");
        Assert.Equal(prompt.PrefixIds.Concat(body).Concat(prompt.SuffixIds), ids);

        RerankPromptIds info = prompt.BuildWithInfo("What is the capital of France?", "Paris.");
        Assert.Equal(ids, info.Ids);
        Assert.False(info.Truncated);
        Assert.Equal(body.Length, info.UntruncatedBodyTokens);
    }

    [Fact]
    public void NullInstructionMeansDefaultButEmptyStaysEmpty()
    {
        Assert.Equal(
            "<Instruct>: " + RerankPrompt.DefaultInstruction + "\n<Query>: q\n<Document>: d",
            RerankPrompt.FormatBody("q", "d"));
        Assert.Equal("<Instruct>: \n<Query>: q\n<Document>: d", RerankPrompt.FormatBody("q", "d", ""));

        var prompt = new RerankPrompt(Tokenizer);
        Assert.Equal(prompt.Build("q", "d", RerankPrompt.DefaultInstruction), prompt.Build("q", "d", null));
        Assert.NotEqual(prompt.Build("q", "d", ""), prompt.Build("q", "d", null));
    }

    [Fact]
    public void LongBodiesAreCutToMaxLength()
    {
        var prompt = new RerankPrompt(Tokenizer, maxLength: 64);
        string document = string.Join(" ", Enumerable.Repeat("lorem ipsum dolor sit amet", 50));
        int[] ids = prompt.Build("query", document);
        Assert.Equal(64, ids.Length);
        Assert.Equal(prompt.SuffixIds, ids[^9..]);

        int[] fullBody = Tokenizer.EncodeToIds(RerankPrompt.FormatBody("query", document));
        Assert.Equal(fullBody[..16], ids[39..55]);

        RerankPromptIds info = prompt.BuildWithInfo("query", document);
        Assert.Equal(ids, info.Ids);
        Assert.True(info.Truncated);
        Assert.Equal(fullBody.Length, info.UntruncatedBodyTokens);
    }

    [Fact]
    public void MaxLengthMustLeaveRoomForABody()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RerankPrompt(Tokenizer, 48));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RerankPrompt(Tokenizer, 0));
        var smallest = new RerankPrompt(Tokenizer, 49);
        Assert.Equal(49, smallest.Build("q", "d").Length);
        Assert.Throws<ArgumentNullException>(() => smallest.Build(null!, "d"));
        Assert.Throws<ArgumentNullException>(() => smallest.Build("q", null!));
    }

    [Fact]
    public void SpecialTokenTextInAQueryBecomesTheSpecialId()
    {
        // Same as Hugging Face: documented, not filtered here.
        var prompt = new RerankPrompt(Tokenizer);
        int[] ids = prompt.Build("q<|im_end|>", "d");
        Assert.Equal(3, ids.Count(id => id == Qwen3Tokenizer.ImEndTokenId));
    }

    [Fact]
    public void SplittingAfterTheDocumentLabelGivesTheWholeBodysIdsForEveryFuzzDocument()
    {
        var prompt = new RerankPrompt(Tokenizer);
        var mismatches = RepoFiles.ReadJsonLines(RepoFiles.TokenizerFixture("fuzz.jsonl"))
            .Select(r => r.GetProperty("text").GetString()!)
            .Where(d => !prompt.BuildWithDocumentLimit("q", d, null, null, keepDocumentEnd: false).Ids.SequenceEqual(prompt.Build("q", d)))
            .Select(d => RepoFiles.Escape(d, 40))
            .ToArray();
        Assert.True(mismatches.Length == 0, $"{mismatches.Length} documents differ: {string.Join(", ", mismatches.Take(10))}");
    }

    [Fact]
    public void DocumentLimitKeepsTheFirstOrLastDocumentTokensAndNeverTheTemplate()
    {
        var prompt = new RerankPrompt(Tokenizer);
        string document = string.Join(" ", Enumerable.Range(0, 300).Select(i => $"w{i}"));
        int[] documentIds = Tokenizer.EncodeToIds(" " + document);
        int[] headIds = Tokenizer.EncodeToIds(RerankPrompt.FormatBody("query", "")[..^1]);

        RerankPromptIds first = prompt.BuildWithDocumentLimit("query", document, null, 20, keepDocumentEnd: false);
        RerankPromptIds last = prompt.BuildWithDocumentLimit("query", document, null, 20, keepDocumentEnd: true);

        Assert.Equal(prompt.PrefixIds.Concat(headIds).Concat(documentIds[..20]).Concat(prompt.SuffixIds), first.Ids);
        Assert.Equal(prompt.PrefixIds.Concat(headIds).Concat(documentIds[^20..]).Concat(prompt.SuffixIds), last.Ids);
        Assert.False(first.Truncated); // the caller's own limit is not a cut to MaxLength
        Assert.Equal(headIds.Length + 20, first.UntruncatedBodyTokens);

        var shortPrompt = new RerankPrompt(Tokenizer, maxLength: 100);
        int documentRoom = shortPrompt.MaxBodyTokens - headIds.Length;
        RerankPromptIds cutFromStart = shortPrompt.BuildWithDocumentLimit("query", document, null, null, keepDocumentEnd: true);
        Assert.Equal(100, cutFromStart.Ids.Length);
        Assert.True(cutFromStart.Truncated);
        Assert.Equal(headIds.Length + documentIds.Length, cutFromStart.UntruncatedBodyTokens);
        Assert.Equal(headIds, cutFromStart.Ids[39..(39 + headIds.Length)]);
        Assert.Equal(documentIds[^documentRoom..], cutFromStart.Ids[(39 + headIds.Length)..^9]);
    }
}
