namespace FuncRerank.Prompting;

/// <summary>
/// How a request's (query, document) pairs become prompts: the instruction and the truncation policy. Hugging Face TEI
/// keeps truncation in its tokenization stage; so does FuncRerank, for both hosts and the CLI alike.
/// </summary>
public sealed record PromptOptions
{
    /// <summary>The Qwen3 instruction; null means the model card's default. An empty one stays empty.</summary>
    public string? Instruction { get; init; }

    /// <summary>Cut an over-long prompt (true, the default) or refuse it with <see cref="PromptTooLongException"/>.</summary>
    public bool Truncate { get; init; } = true;

    /// <summary>Keep the end of an over-long document and cut its start (instruction and query always survive).</summary>
    public bool KeepDocumentEnd { get; init; }

    /// <summary>A caller's own cap on each document's tokens (Cohere's <c>max_tokens_per_doc</c>); null means none.</summary>
    public int? MaxTokensPerDocument { get; init; }

    /// <summary>True for the model card's own way: instruction, query and document cut together at the end.</summary>
    internal bool IsModelCardTruncation => Truncate && !KeepDocumentEnd && MaxTokensPerDocument is null;
}
