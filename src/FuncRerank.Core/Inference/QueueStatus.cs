namespace FuncRerank.Inference;

/// <summary>What waits for a forward pass right now (pairs in the running batch are no longer counted).</summary>
public readonly record struct QueueStatus(int Requests, int Pairs, long Tokens);
