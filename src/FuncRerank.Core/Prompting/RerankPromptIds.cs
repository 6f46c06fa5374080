namespace FuncRerank.Prompting;

/// <summary>A built reranker prompt.</summary>
/// <param name="Ids">Prefix + (possibly truncated) body + suffix ids.</param>
/// <param name="Truncated">True when the body had more than <see cref="RerankPrompt.MaxBodyTokens"/> ids and was cut.</param>
/// <param name="UntruncatedBodyTokens">Ids of the whole formatted instruction/query/document before the cut.</param>
public readonly record struct RerankPromptIds(int[] Ids, bool Truncated, int UntruncatedBodyTokens);
