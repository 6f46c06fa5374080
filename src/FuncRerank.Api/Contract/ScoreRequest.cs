namespace FuncRerank.Api.Contract;

/// <summary>A validated vLLM <c>/score</c> request.</summary>
/// <param name="Pairs">In the response's order: <c>text_1</c> broadcast over <c>text_2</c> (1:N) or zipped with it (N:N).</param>
public sealed record ScoreRequest(string? Model, IReadOnlyList<ScorePair> Pairs, ScoringOptions Scoring);
