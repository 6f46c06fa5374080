namespace FuncRerank.Inference;

/// <summary>
/// A request's logits in its rows' order, and what its pairs spent, averaged over them as TEI reports it: waiting
/// (submission to the start of the pair's batch) and in the forward pass (the batch's duration).
/// </summary>
public sealed record ScheduledLogits(float[] Logits, TimeSpan QueueTime, TimeSpan InferenceTime);
