using FuncRerank.Api.Contract;
using static FuncRerank.Tests.Api.ContractJson;

namespace FuncRerank.Tests.Api;

public sealed class ScoreRequestParserTests
{
    private static ScoreRequest Score(string json, RerankLimits? limits = null) =>
        ScoreRequestParser.Parse(Parse(json), limits ?? RerankLimits.Default);

    [Theory]
    [InlineData("""{"text_1": "q", "text_2": "d"}""", "q|d")]
    [InlineData("""{"text_1": ["q"], "text_2": "d"}""", "q|d")]
    [InlineData("""{"text_1": "q", "text_2": ["a", "b", "c"]}""", "q|a q|b q|c")]
    [InlineData("""{"text_1": ["q"], "text_2": ["a", "b"]}""", "q|a q|b")]
    [InlineData("""{"text_1": ["q1", "q2"], "text_2": ["a", "b"]}""", "q1|a q2|b")]
    [InlineData("""{"data_1": "q", "data_2": ["a", "b"]}""", "q|a q|b")]
    [InlineData("""{"queries": "q", "items": ["a"]}""", "q|a")]
    [InlineData("""{"queries": ["q1", "q2"], "documents": ["a", "b"]}""", "q1|a q2|b")]
    [InlineData("""{"text_1": "q", "text_2": [{"content": [{"type": "text", "text": "a"}]}, {"text": "b"}]}""", "q|a q|b")]
    [InlineData("""{"text_1": {"content": [{"type": "text", "text": "q"}]}, "text_2": "d"}""", "q|d")]
    public void PairsOneToOneOneToManyAndManyToMany(string body, string expected)
    {
        var request = Score(body);
        Assert.Equal(expected, string.Join(" ", request.Pairs.Select(p => $"{p.Query}|{p.Document}")));
    }

    [Fact]
    public void ReadsModelAndScoringOptions()
    {
        var request = Score("""{"model": "m", "text_1": "q", "text_2": "d", "use_activation": false, "instruction": "I", "truncate_prompt_tokens": 10}""");
        Assert.Equal("m", request.Model);
        Assert.True(request.Scoring.RawScores);
        Assert.Equal("I", request.Scoring.Instruction);
        Assert.Null(Score("""{"text_1": "q", "text_2": "d"}""").Model);
    }

    [Theory]
    [InlineData("""[]""", null, ApiErrorCodes.InvalidType)]
    [InlineData("""{}""", "text_1", ApiErrorCodes.MissingField)]
    [InlineData("""{"text_2": "d"}""", "text_1", ApiErrorCodes.MissingField)]
    [InlineData("""{"text_1": "q"}""", "text_2", ApiErrorCodes.MissingField)]
    [InlineData("""{"text_1": "q", "text_2": null}""", "text_2", ApiErrorCodes.MissingField)]
    [InlineData("""{"text_1": ["q1", "q2"], "text_2": ["a", "b", "c"]}""", "text_2", ApiErrorCodes.LengthMismatch)]
    [InlineData("""{"text_1": ["q1", "q2"], "text_2": "d"}""", "text_2", ApiErrorCodes.LengthMismatch)]
    [InlineData("""{"data_1": ["q1", "q2", "q3"], "data_2": ["a"]}""", "data_2", ApiErrorCodes.LengthMismatch)]
    [InlineData("""{"text_1": [], "text_2": ["a"]}""", "text_1", ApiErrorCodes.EmptyValue)]
    [InlineData("""{"text_1": "q", "text_2": []}""", "text_2", ApiErrorCodes.EmptyValue)]
    [InlineData("""{"text_1": "", "text_2": "d"}""", "text_1", ApiErrorCodes.EmptyValue)]
    [InlineData("""{"text_1": ["q", " "], "text_2": ["a", "b"]}""", "text_1[1]", ApiErrorCodes.EmptyValue)]
    [InlineData("""{"text_1": 5, "text_2": "d"}""", "text_1", ApiErrorCodes.InvalidType)]
    [InlineData("""{"text_1": "q", "text_2": ["a", null]}""", "text_2[1]", ApiErrorCodes.InvalidType)]
    [InlineData("""{"text_1": "q", "text_2": ["a", 3]}""", "text_2[1]", ApiErrorCodes.InvalidType)]
    [InlineData("""{"text_1": "q", "text_2": [{"content": [{"type": "image_url"}]}]}""", "text_2[0].content[0]", ApiErrorCodes.UnsupportedContent)]
    [InlineData("""{"text_1": "q", "text_2": "d", "use_activation": "no"}""", "use_activation", ApiErrorCodes.InvalidType)]
    [InlineData("""{"text_1": "q", "text_2": "d", "model": 1}""", "model", ApiErrorCodes.InvalidType)]
    public void IsA400NamingTheField(string body, string? param, string code)
    {
        var error = Fails(() => Score(body));
        Assert.Equal((400, param, code), (error.Status, error.Param, error.Code));
        if (param is not null)
            Assert.Contains(param, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MismatchMessageNamesBothLengths()
    {
        var error = Fails(() => Score("""{"text_1": ["q1", "q2"], "text_2": ["a", "b", "c"]}"""));
        Assert.Contains("text_1 has 2", error.Message, StringComparison.Ordinal);
        Assert.Contains("text_2 has 3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PairsAreLimitedLikeDocuments()
    {
        var limits = new RerankLimits { MaxDocuments = 2, MaxQueryCharacters = 3 };
        Assert.Equal(2, Score("""{"text_1": "q", "text_2": ["a", "b"]}""", limits).Pairs.Count);
        var tooMany = Fails(() => Score("""{"text_1": "q", "text_2": ["a", "b", "c"]}""", limits));
        Assert.Equal(("text_2", ApiErrorCodes.TooManyDocuments), (tooMany.Param, tooMany.Code));
        var tooLong = Fails(() => Score("""{"text_1": "four", "text_2": "d"}""", limits));
        Assert.Equal(("text_1", ApiErrorCodes.TooLong), (tooLong.Param, tooLong.Code));
    }
}
