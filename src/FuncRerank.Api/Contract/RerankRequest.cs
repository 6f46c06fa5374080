namespace FuncRerank.Api.Contract;

/// <summary>A validated rerank request in any client's dialect.</summary>
/// <param name="Model">The name the client asked for, if any; a single-model server may accept any name.</param>
/// <param name="Query">Non-empty, not only whitespace.</param>
/// <param name="Documents">At least one, at most <see cref="RerankLimits.MaxDocuments"/>, in request order.</param>
/// <param name="TopN">Results to return (<c>top_n</c>; Voyage's <c>top_k</c>); null means all: absent, null, zero or negative, and always for TEI.</param>
/// <param name="ReturnDocuments">
/// Echo each document in its result: <c>return_documents</c> (also Cohere v2 SDK's <c>returnDocuments</c>), default true
/// but false for Voyage, as on Voyage's API; TEI's <c>return_text</c>, default false.
/// </param>
public sealed record RerankRequest(
    RerankDialect Dialect,
    string? Model,
    string Query,
    IReadOnlyList<RerankDocument> Documents,
    int? TopN,
    bool ReturnDocuments,
    ScoringOptions Scoring)
{
    /// <summary>How many results the response carries: <c>min(top_n, documents)</c>.</summary>
    public int ResultCount => TopN is { } n && n < Documents.Count ? n : Documents.Count;
}
