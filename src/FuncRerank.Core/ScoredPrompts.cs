namespace FuncRerank;

/// <summary>A request's scores in its prompts' order, with the mean time its pairs waited and spent in forward passes.</summary>
public sealed record ScoredPrompts(PairScore[] Scores, TimeSpan QueueTime, TimeSpan InferenceTime);
