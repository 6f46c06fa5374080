using FuncRerank.Api.Contract;
using static FuncRerank.Tests.Api.ContractJson;

namespace FuncRerank.Tests.Api;

/// <summary>
/// Bodies whose shape decides the reply: Voyage AI's (<c>top_k</c>, <c>truncation</c>) only when nothing else could
/// have sent it, and the Cohere SDK v2 client's camelCase <c>returnDocuments</c>.
/// </summary>
public sealed class ClientDialectTests
{
    private const string Docs = """["a", "b", "c"]""";

    [Theory]
    // voyage-ai-provider with topN, and without (it then sends truncation alone); the Voyage Python client.
    [InlineData($$"""{"model": "rerank-2.5", "query": "q", "documents": {{Docs}}, "top_k": 2, "return_documents": false, "truncation": true}""", RerankDialect.Voyage)]
    [InlineData($$"""{"model": "rerank-2.5", "query": "q", "documents": {{Docs}}, "return_documents": false, "truncation": true}""", RerankDialect.Voyage)]
    [InlineData($$"""{"query": "q", "documents": {{Docs}}, "top_k": 2}""", RerankDialect.Voyage)]
    // top_n beside them is Cohere/Jina/vLLM's field: not unambiguously Voyage's.
    [InlineData($$"""{"query": "q", "documents": {{Docs}}, "top_k": 2, "top_n": 1}""", RerankDialect.Standard)]
    [InlineData($$"""{"query": "q", "documents": {{Docs}}, "truncation": true, "top_n": 1}""", RerankDialect.Standard)]
    // Explicit nulls are absent fields, as everywhere.
    [InlineData($$"""{"query": "q", "documents": {{Docs}}, "top_k": null, "truncation": null}""", RerankDialect.Standard)]
    [InlineData($$"""{"query": "q", "texts": {{Docs}}, "top_k": 2}""", RerankDialect.Tei)]
    public void The_dialect_follows_the_fields_only_one_server_uses(string body, RerankDialect dialect) =>
        Assert.Equal(dialect, Rerank(body).Dialect);

    [Fact]
    public void A_voyage_body_means_what_it_means_on_voyage()
    {
        var request = Rerank($$"""{"model": "rerank-2.5", "query": "q", "documents": {{Docs}}, "top_k": 2, "truncation": false}""");

        Assert.Equal(2, request.TopN);
        Assert.False(request.ReturnDocuments); // Voyage's default
        Assert.False(request.Scoring.Truncate); // truncation: false is an error past the limit, as truncate: false is
        Assert.Null(Rerank($$"""{"query": "q", "documents": {{Docs}}, "top_k": 0}""").TopN);
        Assert.True(Rerank($$"""{"query": "q", "documents": {{Docs}}, "top_k": 1, "return_documents": true}""").ReturnDocuments);
    }

    [Theory]
    [InlineData("\"returnDocuments\": false", false)]
    [InlineData("\"returnDocuments\": true", true)]
    [InlineData("\"returnDocuments\": \"false\"", false)]
    [InlineData("\"return_documents\": false, \"returnDocuments\": true", false)]
    [InlineData("\"returnDocuments\": null", true)]
    public void Cohere_v2_s_camel_case_returnDocuments_is_return_documents(string field, bool expected) =>
        Assert.Equal(expected, Rerank($$"""{"query": "q", "documents": {{Docs}}, {{field}}}""").ReturnDocuments);

    [Fact]
    public void A_mistyped_returnDocuments_names_its_field() =>
        Assert.Equal("returnDocuments", Fails(() => Rerank($$"""{"query": "q", "documents": {{Docs}}, "returnDocuments": 3}""")).Param);
}
