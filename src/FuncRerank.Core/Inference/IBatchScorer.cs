namespace FuncRerank.Inference;

/// <summary>
/// What the <see cref="BatchScheduler"/> runs batches on: prompt id rows in, one logit (l_yes − l_no) per row out, in
/// row order. <see cref="OnnxScorer"/> is the implementation; the interface is the seam where another runner (a second
/// device, a decorator that records or fails batches) can stand in.
/// </summary>
public interface IBatchScorer
{
    /// <summary>Scores one batch. Cancelling may stop a run midway, which then throws <see cref="OperationCanceledException"/>.</summary>
    float[] ComputeLogits(IReadOnlyList<int[]> rows, CancellationToken cancellationToken = default);

    /// <summary>The batch budgets for this scorer's device when the configuration sets none (see <see cref="BatchBudgets"/>).</summary>
    BatchBudgets DefaultBudgets => BatchBudgets.Cpu;
}
