namespace FuncRerank.Inference;

/// <summary>The forward pass that held some of this request's pairs failed; the batch's other requests failed with it, no other.</summary>
public sealed class BatchFailedException(int batchRows, Exception inner)
    : Exception($"a batch of {batchRows} pairs failed: {inner.Message}", inner);
