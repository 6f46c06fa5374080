namespace FuncRerank.Api.Contract;

/// <summary>Which response shape a rerank request gets.</summary>
public enum RerankDialect
{
    /// <summary>The object Cohere, Jina and vLLM clients read: <c>{"id", "model", "results": [...], "usage", "meta"}</c>.</summary>
    Standard,

    /// <summary>Text Embeddings Inference, chosen by a body with <c>texts</c>: a bare array <c>[{"index", "score", "text"?}]</c>.</summary>
    Tei,

    /// <summary>
    /// Voyage AI, chosen by a body with <c>top_k</c> or <c>truncation</c> and no <c>top_n</c> (no other server names
    /// either field): <c>{"object": "list", "data": [{"index", "relevance_score", "document"?}], "model", "usage": {"total_tokens"}}</c>.
    /// </summary>
    Voyage,
}
