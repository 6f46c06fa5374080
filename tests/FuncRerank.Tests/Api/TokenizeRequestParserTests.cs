using FuncRerank.Api.Contract;
using static FuncRerank.Tests.Api.ContractJson;

namespace FuncRerank.Tests.Api;

public sealed class TokenizeRequestParserTests
{
    private static TokenizeRequest Tokenize(string json, RerankLimits? limits = null) =>
        TokenizeRequestParser.Parse(Parse(json), limits ?? RerankLimits.Default);

    [Theory]
    [InlineData("""{"inputs": "hello world"}""", new[] { "hello world" })]
    [InlineData("""{"inputs": ""}""", new[] { "" })]
    [InlineData("""{"inputs": ["a", "<|im_end|>", "\u0000"], "add_special_tokens": false}""", new[] { "a", "<|im_end|>", "\0" })]
    [InlineData("""{"inputs": ["a"], "add_special_tokens": true, "prompt_name": null}""", new[] { "a" })]
    public void InputsAreAStringOrAList(string body, string[] inputs) => Assert.Equal(inputs, Tokenize(body).Inputs);

    [Theory]
    [InlineData("""[]""", null, ApiErrorCodes.InvalidType)]
    [InlineData("""{}""", "inputs", ApiErrorCodes.MissingField)]
    [InlineData("""{"inputs": null}""", "inputs", ApiErrorCodes.MissingField)]
    [InlineData("""{"inputs": []}""", "inputs", ApiErrorCodes.EmptyValue)]
    [InlineData("""{"inputs": 5}""", "inputs", ApiErrorCodes.InvalidType)]
    [InlineData("""{"inputs": ["a", null]}""", "inputs[1]", ApiErrorCodes.InvalidType)]
    [InlineData("""{"inputs": [[1, 2]]}""", "inputs[0]", ApiErrorCodes.InvalidType)]
    public void IsA400NamingTheField(string body, string? param, string code)
    {
        var error = Fails(() => Tokenize(body));
        Assert.Equal((400, param, code), (error.Status, error.Param, error.Code));
    }

    [Fact]
    public void InputsAreLimitedLikeDocuments()
    {
        var error = Fails(() => Tokenize("""{"inputs": ["a", "b", "c"]}""", new RerankLimits { MaxDocuments = 2 }));
        Assert.Equal(("inputs", ApiErrorCodes.TooManyDocuments), (error.Param, error.Code));
    }
}
