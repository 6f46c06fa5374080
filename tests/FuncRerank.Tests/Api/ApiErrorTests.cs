using System.Text;
using FuncRerank.Api.Contract;
using static FuncRerank.Tests.Api.ContractJson;

namespace FuncRerank.Tests.Api;

public sealed class ApiErrorTests
{
    [Fact]
    public void TheBodyServesEveryClientParser()
    {
        var error = ApiError.BadRequest("documents[3].content[0]", ApiErrorCodes.UnsupportedContent, "documents[3].content[0] is an image");
        var body = Written(error.WriteBody);

        Assert.Equal(["error", "message", "detail"], body.EnumerateObject().Select(p => p.Name));
        var inner = body.GetProperty("error");
        Assert.Equal(["message", "type", "param", "code"], inner.EnumerateObject().Select(p => p.Name));
        Assert.Equal(error.Message, inner.GetProperty("message").GetString());
        Assert.Equal("invalid_request_error", inner.GetProperty("type").GetString());
        Assert.Equal("documents[3].content[0]", inner.GetProperty("param").GetString());
        Assert.Equal("unsupported_content", inner.GetProperty("code").GetString());
        Assert.Equal(error.Message, body.GetProperty("message").GetString());
        Assert.Equal(error.Message, body.GetProperty("detail").GetString());
    }

    [Fact]
    public void AMissingParamIsWrittenAsNull()
    {
        var body = Written(ApiError.Internal().WriteBody);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, body.GetProperty("error").GetProperty("param").ValueKind);
        Assert.Equal("internal server error", body.GetProperty("detail").GetString());
    }

    public static TheoryData<string, ApiError, int, string, string> Factories => new()
    {
        { "missing", ApiError.MissingField("query"), 400, ApiErrorCodes.MissingField, ApiErrorTypes.InvalidRequest },
        { "type", ApiError.InvalidType("top_n", "a whole number", Parse("\"abc\"")), 400, ApiErrorCodes.InvalidType, ApiErrorTypes.InvalidRequest },
        { "json", ApiError.InvalidJson("bad"), 400, ApiErrorCodes.InvalidJson, ApiErrorTypes.InvalidRequest },
        { "401", ApiError.Unauthorized("invalid API key"), 401, ApiErrorCodes.InvalidApiKey, ApiErrorTypes.Authentication },
        { "404", ApiError.NotFound("no route /v3/rerank"), 404, ApiErrorCodes.NotFound, ApiErrorTypes.InvalidRequest },
        { "model", ApiError.ModelNotFound("x", ["a", "b"]), 404, ApiErrorCodes.ModelNotFound, ApiErrorTypes.InvalidRequest },
        { "413", ApiError.RequestTooLarge(2_000_000), 413, ApiErrorCodes.RequestTooLarge, ApiErrorTypes.InvalidRequest },
        { "429", ApiError.TooManyRequests("queue full"), 429, ApiErrorCodes.TooManyRequests, ApiErrorTypes.RateLimit },
        { "503", ApiError.Unavailable("model loading"), 503, ApiErrorCodes.ServiceUnavailable, ApiErrorTypes.Server },
        { "504", ApiError.DeadlineExceeded(TimeSpan.FromSeconds(30)), 504, ApiErrorCodes.DeadlineExceeded, ApiErrorTypes.Server },
        { "500", ApiError.Internal(), 500, ApiErrorCodes.InternalError, ApiErrorTypes.Server },
    };

    [Theory]
    [MemberData(nameof(Factories))]
    public void FactoriesSetStatusCodeAndType(string name, ApiError error, int status, string code, string type)
    {
        Assert.Equal((status, code, type), (error.Status, error.Code, error.Type));
        Assert.False(string.IsNullOrWhiteSpace(error.Message), name);
        Assert.Equal(error.Message, new ApiException(error).Message);
    }

    [Fact]
    public void MessagesStateTheFieldAndTheLimit()
    {
        Assert.Equal("query is required", ApiError.MissingField("query").Message);
        Assert.Equal("top_n must be a whole number; got the string \"abc\"", ApiError.InvalidType("top_n", "a whole number", Parse("\"abc\"")).Message);
        Assert.Equal("model", ApiError.ModelNotFound("x", ["a", "b"]).Param);
        Assert.Contains("a, b", ApiError.ModelNotFound("x", ["a", "b"]).Message, StringComparison.Ordinal);
        Assert.Contains("2000000 bytes", ApiError.RequestTooLarge(2_000_000).Message, StringComparison.Ordinal);
        Assert.Contains("30 s", ApiError.DeadlineExceeded(TimeSpan.FromSeconds(30)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("{\"query\": }")]
    [InlineData("query=q&documents=a")]
    [InlineData("{\"a\": 1} trailing")]
    public void MalformedBodiesAreA400(string body)
    {
        var error = Fails(() => ApiJson.ParseBody(Encoding.UTF8.GetBytes(body)).Dispose());
        Assert.Equal((400, ApiErrorCodes.InvalidJson, null), (error.Status, error.Code, error.Param));
        Assert.StartsWith("the request body is not valid JSON", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void InvalidUtf8InAFieldIsA400NamingIt()
    {
        byte[] body = [.. "{\"query\": \"q\", \"documents\": [\"a\", \""u8, 0xFF, 0xFE, .. "\"]}"u8];
        var error = Fails(() => RerankRequestParser.Parse(ApiJson.ParseBody(body).RootElement, RerankLimits.Default));
        Assert.Equal((400, "documents[1]", ApiErrorCodes.InvalidValue), (error.Status, error.Param, error.Code));
        Assert.Contains("not valid Unicode", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("documents[0].meta", new byte[] { 0xFF })]
    [InlineData("documents[0].tags[1]", new byte[] { 0xC3 })]
    [InlineData("documents[0]", new byte[] { 0xED, 0xA0, 0x80 })]
    public void InvalidUtf8AnywhereInAnEchoedDocumentIsA400(string param, byte[] bad)
    {
        // The bad bytes go into the field the param names; for the last row, into a property name.
        byte[] body = param switch
        {
            "documents[0].meta" => [.. "{\"query\": \"q\", \"documents\": [{\"text\": \"t\", \"meta\": \""u8, .. bad, .. "\"}]}"u8],
            "documents[0].tags[1]" => [.. "{\"query\": \"q\", \"documents\": [{\"text\": \"t\", \"tags\": [\"a\", \""u8, .. bad, .. "\"]}]}"u8],
            _ => [.. "{\"query\": \"q\", \"documents\": [{\"text\": \"t\", \""u8, .. bad, .. "\": 1}]}"u8],
        };
        var error = Fails(() => RerankRequestParser.Parse(ApiJson.ParseBody(body).RootElement, RerankLimits.Default));
        Assert.Equal((400, param, ApiErrorCodes.InvalidValue), (error.Status, error.Param, error.Code));
    }

    [Fact]
    public void ALoneSurrogateInAnEchoedDocumentIsA400()
    {
        var error = Fails(() => Rerank("""{"query": "q", "rank_fields": ["a"], "documents": [{"a": "x", "b": {"c": "\ud800"}}]}"""));
        Assert.Equal(("documents[0].b.c", ApiErrorCodes.InvalidValue), (error.Param, error.Code));
    }

    [Theory]
    [InlineData("top_n", ApiErrorCodes.InvalidValue)]
    [InlineData("return_documents", ApiErrorCodes.InvalidValue)]
    [InlineData("documents", ApiErrorCodes.InvalidValue)]
    [InlineData("instruction", ApiErrorCodes.InvalidValue)]
    // A field no parser reads: found by the body check, not by a read.
    [InlineData("unknown_field", ApiErrorCodes.InvalidValue)]
    public void AnyFieldThatIsNotUtf8IsA400(string field, string code)
    {
        var head = field == "documents" ? "{\"query\": \"q\", "u8.ToArray() : "{\"query\": \"q\", \"documents\": [\"a\"], "u8.ToArray();
        byte[] body = [.. head, .. Encoding.UTF8.GetBytes($"\"{field}\": \""), 0xFF, .. "\"}"u8];
        var error = Fails(() => RerankRequestParser.Parse(ApiJson.ParseBody(body).RootElement, RerankLimits.Default));
        Assert.Equal((400, field, code), (error.Status, error.Param, error.Code));
        Assert.Contains("not valid Unicode text", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    // Invalid UTF-8 in a property name, at the top and nested; the same names with an unpaired surrogate escape.
    [InlineData(new byte[] { 0xFF }, null)]
    [InlineData(new byte[] { 0xC3, 0x28 }, null)]
    [InlineData(new byte[] { 0x5C, 0x75, 0x44, 0x38, 0x30, 0x30 }, null)]
    public void A_property_name_that_is_not_text_is_the_same_400_wherever_it_is(byte[] name, string? param)
    {
        byte[] top = [.. "{\"query\": \"q\", \"documents\": [\"a\"], \""u8, .. name, .. "\": 1}"u8];
        byte[] nested = [.. "{\"query\": \"q\", \"documents\": [\"a\"], \"extra\": {\"x\": [{\""u8, .. name, .. "\": 1}]}}"u8];

        var atTop = Fails(() => RerankRequestParser.Parse(ApiJson.ParseBody(top).RootElement, RerankLimits.Default));
        Assert.Equal((400, param, ApiErrorCodes.InvalidValue), (atTop.Status, atTop.Param, atTop.Code));
        Assert.Contains("not valid Unicode text", atTop.Message, StringComparison.Ordinal);
        if (name[0] == 0x5C)
            return; // an escape is valid UTF-8: only read names are checked, and this nested one is never read
        var deep = Fails(() => ApiJson.ParseBody(nested).Dispose());
        Assert.Equal((400, "extra.x[0]", ApiErrorCodes.InvalidValue), (deep.Status, deep.Param, deep.Code));
    }
}
