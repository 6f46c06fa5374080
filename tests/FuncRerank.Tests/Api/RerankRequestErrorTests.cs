using FuncRerank.Api.Contract;
using static FuncRerank.Tests.Api.ContractJson;

namespace FuncRerank.Tests.Api;

/// <summary>Every malformed rerank body is a 400 whose <c>param</c> names the field at fault and whose message names it too.</summary>
public sealed class RerankRequestErrorTests
{
    [Theory]
    // The body itself.
    [InlineData("""[]""", null, ApiErrorCodes.InvalidType)]
    [InlineData(""" "query" """, null, ApiErrorCodes.InvalidType)]
    [InlineData("""null""", null, ApiErrorCodes.InvalidType)]
    [InlineData("""42""", null, ApiErrorCodes.InvalidType)]
    // query
    [InlineData("""{}""", "query", ApiErrorCodes.MissingField)]
    [InlineData("""{"documents": ["a"]}""", "query", ApiErrorCodes.MissingField)]
    [InlineData("""{"query": null, "documents": ["a"]}""", "query", ApiErrorCodes.MissingField)]
    [InlineData("""{"query": 5, "documents": ["a"]}""", "query", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": ["q"], "documents": ["a"]}""", "query", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "", "documents": ["a"]}""", "query", ApiErrorCodes.EmptyValue)]
    [InlineData("""{"query": " \n\t\u3000", "documents": ["a"]}""", "query", ApiErrorCodes.EmptyValue)]
    [InlineData("""{"query": {"content": []}, "documents": ["a"]}""", "query", ApiErrorCodes.EmptyValue)]
    [InlineData("""{"query": {"content": [{"type": "image_url", "image_url": {"url": "x"}}]}, "documents": ["a"]}""", "query.content[0]", ApiErrorCodes.UnsupportedContent)]
    [InlineData("""{"query": "\ud800", "documents": ["a"]}""", "query", ApiErrorCodes.InvalidValue)]
    // documents / texts
    [InlineData("""{"query": "q"}""", "documents", ApiErrorCodes.MissingField)]
    [InlineData("""{"query": "q", "documents": null}""", "documents", ApiErrorCodes.MissingField)]
    [InlineData("""{"query": "q", "documents": "a"}""", "documents", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "documents": {"text": "a"}}""", "documents", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "documents": []}""", "documents", ApiErrorCodes.EmptyValue)]
    [InlineData("""{"query": "q", "documents": [], "texts": ["a"]}""", "documents", ApiErrorCodes.EmptyValue)]
    [InlineData("""{"query": "q", "texts": []}""", "texts", ApiErrorCodes.EmptyValue)]
    [InlineData("""{"query": "q", "texts": "a"}""", "texts", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "texts": ["a", null]}""", "texts[1]", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "documents": ["a", null]}""", "documents[1]", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "documents": ["a", 5]}""", "documents[1]", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "documents": [true]}""", "documents[0]", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "documents": [["a"]]}""", "documents[0]", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "documents": ["a", "\udc00"]}""", "documents[1]", ApiErrorCodes.InvalidValue)]
    [InlineData("""{"query": "q", "documents": [{"title": "a"}]}""", "documents[0].text", ApiErrorCodes.MissingField)]
    [InlineData("""{"query": "q", "documents": [{"text": null}]}""", "documents[0].text", ApiErrorCodes.MissingField)]
    [InlineData("""{"query": "q", "documents": [{"text": 5}]}""", "documents[0].text", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "documents": [{"text": ["a"]}]}""", "documents[0].text", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "documents": ["a", {"image": "https://example.com/a.png"}]}""", "documents[1]", ApiErrorCodes.UnsupportedContent)]
    [InlineData("""{"query": "q", "documents": [{"image_url": {"url": "data:image/png;base64,AAAA"}}]}""", "documents[0]", ApiErrorCodes.UnsupportedContent)]
    // vLLM content parts
    [InlineData("""{"query": "q", "documents": ["a", "b", "c", {"content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}""", "documents[3].content[0]", ApiErrorCodes.UnsupportedContent)]
    [InlineData("""{"query": "q", "documents": [{"content": [{"type": "text", "text": "a"}, {"type": "input_audio", "input_audio": {}}]}]}""", "documents[0].content[1]", ApiErrorCodes.UnsupportedContent)]
    [InlineData("""{"query": "q", "documents": [{"content": [{"type": "text"}]}]}""", "documents[0].content[0].text", ApiErrorCodes.MissingField)]
    [InlineData("""{"query": "q", "documents": [{"content": [{"type": "text", "text": 1}]}]}""", "documents[0].content[0].text", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "documents": [{"content": [{"type": 3, "text": "a"}]}]}""", "documents[0].content[0].type", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "documents": [{"content": ["a"]}]}""", "documents[0].content[0]", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "documents": [{"content": 5}]}""", "documents[0].content", ApiErrorCodes.InvalidType)]
    // rank_fields
    [InlineData("""{"query": "q", "documents": [{"a": "x"}], "rank_fields": "a"}""", "rank_fields", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "documents": [{"a": "x"}], "rank_fields": ["a", 5]}""", "rank_fields[1]", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "documents": [{"a": "x"}, {"b": "y"}], "rank_fields": ["a"]}""", "documents[1]", ApiErrorCodes.MissingField)]
    [InlineData("""{"query": "q", "documents": [{"a": "\ud800"}], "rank_fields": ["a"]}""", "documents[0].a", ApiErrorCodes.InvalidValue)]
    // top_n
    [InlineData("""{"query": "q", "documents": ["a"], "top_n": 1.5}""", "top_n", ApiErrorCodes.InvalidValue)]
    [InlineData("""{"query": "q", "documents": ["a"], "top_n": -0.5}""", "top_n", ApiErrorCodes.InvalidValue)]
    [InlineData("""{"query": "q", "documents": ["a"], "top_n": 1e30}""", "top_n", ApiErrorCodes.InvalidValue)]
    [InlineData("""{"query": "q", "documents": ["a"], "top_n": -1e30}""", "top_n", ApiErrorCodes.InvalidValue)]
    [InlineData("""{"query": "q", "documents": ["a"], "top_n": 2147483648}""", "top_n", ApiErrorCodes.InvalidValue)]
    [InlineData("""{"query": "q", "documents": ["a"], "top_n": "abc"}""", "top_n", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "documents": ["a"], "top_n": "1.5"}""", "top_n", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "documents": ["a"], "top_n": ""}""", "top_n", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "documents": ["a"], "top_n": true}""", "top_n", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "documents": ["a"], "top_n": [3]}""", "top_n", ApiErrorCodes.InvalidType)]
    // booleans
    [InlineData("""{"query": "q", "documents": ["a"], "return_documents": "yes"}""", "return_documents", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "documents": ["a"], "return_documents": 1}""", "return_documents", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "documents": ["a"], "return_documents": " true"}""", "return_documents", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "texts": ["a"], "return_text": "maybe"}""", "return_text", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "documents": ["a"], "raw_scores": {}}""", "raw_scores", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "documents": ["a"], "use_activation": 0}""", "use_activation", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "texts": ["a"], "truncate": "no"}""", "truncate", ApiErrorCodes.InvalidType)]
    // truncation
    [InlineData("""{"query": "q", "texts": ["a"], "truncation_direction": "middle"}""", "truncation_direction", ApiErrorCodes.InvalidValue)]
    [InlineData("""{"query": "q", "texts": ["a"], "truncation_direction": 1}""", "truncation_direction", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "documents": ["a"], "truncation_side": "both"}""", "truncation_side", ApiErrorCodes.InvalidValue)]
    [InlineData("""{"query": "q", "documents": ["a"], "max_tokens_per_doc": 0}""", "max_tokens_per_doc", ApiErrorCodes.InvalidValue)]
    [InlineData("""{"query": "q", "documents": ["a"], "max_tokens_per_doc": -5}""", "max_tokens_per_doc", ApiErrorCodes.InvalidValue)]
    [InlineData("""{"query": "q", "documents": ["a"], "max_tokens_per_doc": 2.5}""", "max_tokens_per_doc", ApiErrorCodes.InvalidValue)]
    [InlineData("""{"query": "q", "documents": ["a"], "max_tokens_per_doc": "many"}""", "max_tokens_per_doc", ApiErrorCodes.InvalidType)]
    // model and instruction
    [InlineData("""{"query": "q", "documents": ["a"], "model": 5}""", "model", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "documents": ["a"], "model": {"name": "x"}}""", "model", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "documents": ["a"], "instruction": 5}""", "instruction", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "documents": ["a"], "instruct": []}""", "instruct", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "documents": ["a"], "kwargs": "not json"}""", "kwargs", ApiErrorCodes.InvalidValue)]
    [InlineData("""{"query": "q", "documents": ["a"], "kwargs": "[1]"}""", "kwargs", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "documents": ["a"], "kwargs": 5}""", "kwargs", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "documents": ["a"], "kwargs": "{\"instruction\": 5}"}""", "kwargs.instruction", ApiErrorCodes.InvalidType)]
    [InlineData("""{"query": "q", "documents": ["a"], "kwargs": {"instruction": false}}""", "kwargs.instruction", ApiErrorCodes.InvalidType)]
    public void IsA400NamingTheField(string body, string? param, string code)
    {
        var error = Fails(() => Rerank(body));

        Assert.Equal(400, error.Status);
        Assert.Equal(param, error.Param);
        Assert.Equal(code, error.Code);
        Assert.Equal(ApiErrorTypes.InvalidRequest, error.Type);
        if (param is not null)
            Assert.Contains(param, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TooManyDocumentsNamesTheCountAndTheLimit()
    {
        var limits = new RerankLimits { MaxDocuments = 3 };
        Assert.Equal(3, Rerank("""{"query": "q", "documents": ["a", "b", "c"]}""", limits).Documents.Count);

        var error = Fails(() => Rerank("""{"query": "q", "documents": ["a", "b", "c", "d"]}""", limits));
        Assert.Equal((400, "documents", ApiErrorCodes.TooManyDocuments), (error.Status, error.Param, error.Code));
        Assert.Contains("4", error.Message, StringComparison.Ordinal);
        Assert.Contains("limit is 3", error.Message, StringComparison.Ordinal);

        var tei = Fails(() => Rerank("""{"query": "q", "texts": ["a", "b", "c", "d"]}""", limits));
        Assert.Equal(("texts", ApiErrorCodes.TooManyDocuments), (tei.Param, tei.Code));
    }

    [Fact]
    public void TheDefaultLimitIsAThousandDocuments()
    {
        static string Body(int count) => $$"""{"query": "q", "documents": [{{string.Join(",", Enumerable.Repeat("\"d\"", count))}}]}""";

        Assert.Equal(1000, Rerank(Body(1000)).Documents.Count);
        var error = Fails(() => Rerank(Body(1001)));
        Assert.Equal(ApiErrorCodes.TooManyDocuments, error.Code);
        Assert.Contains("1001", error.Message, StringComparison.Ordinal);
        Assert.Contains("1000", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LongQueriesAndInstructionsNameTheLengthAndTheLimit()
    {
        var limits = new RerankLimits { MaxQueryCharacters = 10, MaxInstructionCharacters = 5 };
        Assert.Equal("0123456789", Rerank("""{"query": "0123456789", "documents": ["a"]}""", limits).Query);

        var query = Fails(() => Rerank("""{"query": "0123456789A", "documents": ["a"]}""", limits));
        Assert.Equal(("query", ApiErrorCodes.TooLong), (query.Param, query.Code));
        Assert.Contains("11 characters", query.Message, StringComparison.Ordinal);
        Assert.Contains("limit is 10", query.Message, StringComparison.Ordinal);

        Assert.Equal("abcde", Rerank("""{"query": "q", "documents": ["a"], "instruction": "abcde"}""", limits).Scoring.Instruction);
        foreach (var (field, body) in new[]
                 {
                     ("instruction", """{"query": "q", "documents": ["a"], "instruction": "abcdef"}"""),
                     ("instruct", """{"query": "q", "documents": ["a"], "instruct": "abcdef"}"""),
                     ("kwargs.instruction", """{"query": "q", "documents": ["a"], "kwargs": "{\"instruction\": \"abcdef\"}"}"""),
                 })
        {
            var error = Fails(() => Rerank(body, limits));
            Assert.Equal((field, ApiErrorCodes.TooLong), (error.Param, error.Code));
            Assert.Contains("limit is 5", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void MessagesForBadNumbersQuoteTheValue()
    {
        Assert.Contains("1.5", Fails(() => Rerank("""{"query": "q", "documents": ["a"], "top_n": 1.5}""")).Message, StringComparison.Ordinal);
        Assert.Contains("1e30", Fails(() => Rerank("""{"query": "q", "documents": ["a"], "top_n": 1e30}""")).Message, StringComparison.Ordinal);
        Assert.Contains("\"abc\"", Fails(() => Rerank("""{"query": "q", "documents": ["a"], "top_n": "abc"}""")).Message, StringComparison.Ordinal);
        Assert.Contains("got 0", Fails(() => Rerank("""{"query": "q", "documents": ["a"], "max_tokens_per_doc": 0}""")).Message, StringComparison.Ordinal);
    }
}
