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
}
