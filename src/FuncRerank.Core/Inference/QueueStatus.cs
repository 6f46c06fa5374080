namespace FuncRerank.Inference;

/// <summary>
/// What waits for a forward pass right now (pairs in the running batch are no longer counted), and the requests still
/// building their prompts with the tokens they have reserved so far (<see cref="BatchScheduler.Reserve"/>).
/// <see cref="BatchSchedulerOptions.MaxQueuedTokens"/> bounds <see cref="Tokens"/> and <see cref="ReservedTokens"/> together.
/// </summary>
public readonly record struct QueueStatus(int Requests, int Pairs, long Tokens, int Tokenizing = 0, long ReservedTokens = 0);
