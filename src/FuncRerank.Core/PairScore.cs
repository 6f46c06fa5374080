namespace FuncRerank;

/// <summary>One scored (query, document) pair: <c>Score = sigmoid(Logit)</c>, the probability of "yes".</summary>
public readonly record struct PairScore(float Logit, float Score, int PromptTokens);
