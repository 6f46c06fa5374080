namespace FuncRerank.Api.Contract;

/// <summary>One (query, document) pair of a score request.</summary>
public readonly record struct ScorePair(string Query, string Document);
