namespace FuncRerank.Api.Contract;

/// <summary>One (query, document) pair of a score request.</summary>
public readonly record struct ScorePair(string Query, string Document);

/// <summary>A validated vLLM <c>/score</c> request.</summary>
/// <param name="Pairs">In the response's order: <c>text_1</c> broadcast over <c>text_2</c> (1:N) or zipped with it (N:N).</param>
public sealed record ScoreRequest(string? Model, IReadOnlyList<ScorePair> Pairs, ScoringOptions Scoring);
