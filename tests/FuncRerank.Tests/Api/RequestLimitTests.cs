using System.Text;
using FuncRerank.Api.Contract;
using FuncRerank.Tests.TestSupport;
using static FuncRerank.Tests.Api.ContractJson;

namespace FuncRerank.Tests.Api;

/// <summary>Nesting depth, the query's tokens and names that are not text: 400s that name the field, the value and the limit.</summary>
public sealed class RequestLimitTests
{
    private static string Nested(int levels, string open = "[", string close = "]", string inner = "1") =>
        string.Concat(Enumerable.Repeat(open, levels)) + inner + string.Concat(Enumerable.Repeat(close, levels));

    private static ApiError ParseFails(string body, int maxDepth = ApiJson.DefaultMaxDepth) =>
        Fails(() => ApiJson.ParseBody(Encoding.UTF8.GetBytes(body), maxDepth).Dispose());

    [Fact]
    public void Nesting_up_to_the_limit_parses_and_one_level_more_names_the_field_the_depth_and_the_limit()
    {
        // The body object is level 1, "documents" level 2, so 62 more arrays inside it reach exactly 64.
        using (ApiJson.ParseBody(Encoding.UTF8.GetBytes($$"""{"query":"q","documents":{{Nested(63)}}}""")))
        {
        }

        var error = ParseFails($$"""{"query":"q","documents":{{Nested(64)}}}""");

        Assert.Equal((400, "documents", ApiErrorCodes.TooDeep), (error.Status, error.Param, error.Code));
        Assert.Contains("65 levels deep", error.Message, StringComparison.Ordinal);
        Assert.Contains("the limit is 64", error.Message, StringComparison.Ordinal);
        Assert.Contains("at documents[0][0][0]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_depth_limit_is_configurable_and_the_message_gives_the_full_depth_and_the_path()
    {
        var body = $$"""{"query":"q","documents":[{"text":"a","meta":{{Nested(10, "{\"x\":", "}")}}}]}""";

        var error = ParseFails(body, maxDepth: 5);

        Assert.Equal(("documents", ApiErrorCodes.TooDeep), (error.Param, error.Code));
        Assert.Contains("13 levels deep at documents[0].meta.x.x", error.Message, StringComparison.Ordinal);
        Assert.Contains("the limit is 5", error.Message, StringComparison.Ordinal);
        using var parsed = ApiJson.ParseBody(Encoding.UTF8.GetBytes(body), maxDepth: 13);
        Assert.Equal("a", parsed.RootElement.GetProperty("documents")[0].GetProperty("text").GetString());
    }

    [Fact]
    public void A_hundred_thousand_open_brackets_are_a_400_not_a_stack_overflow()
    {
        var error = ParseFails(new string('[', 100_000));

        Assert.Equal((400, null, ApiErrorCodes.TooDeep), (error.Status, error.Param, error.Code));
        Assert.Contains("100000 levels deep", error.Message, StringComparison.Ordinal);
        Assert.Contains("[0][0]", error.Message, StringComparison.Ordinal);
        Assert.True(error.Message.Length < 300, error.Message);
    }

    [Fact]
    public void Broken_json_before_the_depth_limit_is_reported_as_broken_json()
    {
        var error = ParseFails($$"""{"query": q, "documents": {{Nested(100)}}}""");
        Assert.Equal(ApiErrorCodes.InvalidJson, error.Code);
    }

    [Fact]
    public void A_utf8_byte_order_mark_before_the_body_is_ignored()
    {
        using var document = ApiJson.ParseBody(Encoding.UTF8.GetPreamble().Concat("""{"query":"q","documents":["d"]}"""u8.ToArray()).ToArray());
        Assert.Equal("q", RerankRequestParser.Parse(document.RootElement, RerankLimits.Default).Query);
        Assert.Equal(ApiErrorCodes.InvalidJson, Fails(() => ApiJson.ParseBody(Encoding.UTF8.GetPreamble()).Dispose()).Code);
    }

    [Theory]
    // Found by fuzzing: looking a field up unescapes the other names at least as long as it, and these are not text.
    [InlineData("""{"query": "q", "documents": ["a"], "\ud800": 1}""")]
    [InlineData("""{"\udfff": true, "query": "q", "documents": ["a"]}""")]
    [InlineData("""{"query": "q", "documents": ["a"], "kwargs": "{\"\\udc00 not an instruction\": 1}"}""")]
    [InlineData("""{"query": "q", "documents": [{"text": "a", "\ud800x": 1}]}""")]
    public void A_property_name_with_an_unpaired_surrogate_escape_is_a_400(string body)
    {
        var error = Fails(() => Rerank(body));
        Assert.Equal((400, ApiErrorCodes.InvalidValue), (error.Status, error.Code));
        Assert.Contains("not valid Unicode text", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_query_token_limit_counts_with_the_tokenizer_and_names_the_count_and_the_limit()
    {
        var limits = new RerankLimits { MaxQueryTokens = 4, CountTokens = RepoFiles.Tokenizer.CountTokens };
        Assert.Equal(4, RepoFiles.Tokenizer.CountTokens("hello world<|im_end|> yes"));
        Assert.Equal("hello world<|im_end|> yes", Rerank("""{"query": "hello world<|im_end|> yes", "documents": ["a"]}""", limits).Query);

        var error = Fails(() => Rerank("""{"query": "hello world, how are you", "documents": ["a"]}""", limits));

        Assert.Equal((400, "query", ApiErrorCodes.TooLong), (error.Status, error.Param, error.Code));
        Assert.Contains($"query has {RepoFiles.Tokenizer.CountTokens("hello world, how are you")} tokens", error.Message, StringComparison.Ordinal);
        Assert.Contains("the limit is 4", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Score_queries_are_held_to_the_token_limit_one_by_one()
    {
        var limits = new RerankLimits { MaxQueryTokens = 3, CountTokens = RepoFiles.Tokenizer.CountTokens };
        Assert.Equal(2, ScoreRequestParser.Parse(Parse("""{"text_1": ["a b", "c d e"], "text_2": ["x", "y"]}"""), limits).Pairs.Count);

        var error = Fails(() => ScoreRequestParser.Parse(Parse("""{"text_1": ["a b", "c d e f g"], "text_2": ["x", "y"]}"""), limits));

        Assert.Equal(("text_1[1]", ApiErrorCodes.TooLong), (error.Param, error.Code));
        Assert.Contains("text_1[1] has 5 tokens; the limit is 3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_query_token_count_takes_the_requests_cancellation_token()
    {
        var limits = new RerankLimits { MaxQueryTokens = 2048, CountTokens = RepoFiles.Tokenizer.CountTokens };
        const string rerank = """{"query": "what is the capital of China?", "documents": ["a"]}""";
        const string score = """{"text_1": ["a b", "what is the capital of China?"], "text_2": ["x", "y"]}""";
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => RerankRequestParser.Parse(Parse(rerank), limits, cancelled.Token));
        Assert.ThrowsAny<OperationCanceledException>(() => ScoreRequestParser.Parse(Parse(score), limits, cancelled.Token));

        // The count itself sees the token it was given: the one the handler passes with the body.
        var seen = new List<CancellationToken>();
        using var live = new CancellationTokenSource();
        var recording = limits with { CountTokens = (text, token) => { seen.Add(token); return RepoFiles.Tokenizer.CountTokens(text, token); } };
        Assert.Equal("what is the capital of China?", RerankRequestParser.Parse(Parse(rerank), recording, live.Token).Query);
        Assert.Equal(2, ScoreRequestParser.Parse(Parse(score), recording, live.Token).Pairs.Count);
        Assert.Equal([live.Token, live.Token, live.Token], seen);
    }

    [Fact]
    public void Without_a_token_counter_only_characters_are_checked()
    {
        var limits = new RerankLimits { MaxQueryTokens = 1 };
        Assert.Equal("many words in this query", Rerank("""{"query": "many words in this query", "documents": ["a"]}""", limits).Query);
    }
}
