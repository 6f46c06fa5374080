namespace FuncRerank.Api.Contract;

/// <summary>
/// Request-size limits checked while parsing. Sizes are checked before any tokenizing; the query's tokens are counted
/// with <see cref="CountTokens"/> when it is set. The prompt window and the request's token total are the handlers'.
/// </summary>
public sealed record RerankLimits
{
    public static RerankLimits Default { get; } = new();

    /// <summary>
    /// Documents in a rerank request, pairs in a score request, inputs in a tokenize request. Cohere recommends at
    /// most 1000; RAG clients send 20-200 and never split a batch, so a small cap (TEI's 32) breaks them.
    /// </summary>
    public int MaxDocuments { get; init; } = 1000;

    /// <summary>UTF-16 code units in a query: 8192 tokens (the model card's prompt length) at four characters per token.</summary>
    public int MaxQueryCharacters { get; init; } = 32_768;

    /// <summary>UTF-16 code units in an instruction; it shares the prompt with the query and document, as the query does.</summary>
    public int MaxInstructionCharacters { get; init; } = 32_768;

    /// <summary>Tokens in a query, counted by <see cref="CountTokens"/>: Cohere's documented maximum.</summary>
    public int MaxQueryTokens { get; init; } = 2048;

    /// <summary>
    /// Counts a text's tokens with the served model's tokenizer, stopping when the request's token fires (the parsers
    /// pass theirs: client gone, deadline). Null (the contract used without a model) checks
    /// <see cref="MaxQueryCharacters"/> only; the handlers set it once the model is loaded.
    /// </summary>
    public Func<string, CancellationToken, int>? CountTokens { get; init; }
}
