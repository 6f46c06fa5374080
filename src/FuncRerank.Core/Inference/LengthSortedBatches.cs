namespace FuncRerank.Inference;

/// <summary>
/// Cuts prompts into batches of at most <c>maxBatchTokens</c> padded tokens (rows × longest row), after sorting by
/// length so rows of a batch have similar lengths and padding stays small. A prompt longer than the budget gets a
/// batch of its own.
/// </summary>
public static class LengthSortedBatches
{
    public static List<int[]> Plan(IReadOnlyList<int> lengths, int maxBatchTokens)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchTokens, 1);
        var order = Enumerable.Range(0, lengths.Count).OrderBy(i => lengths[i]).ToArray();
        var batches = new List<int[]>();
        var start = 0;
        while (start < order.Length)
        {
            var end = start + 1;
            // Sorted ascending, so the newest row is the longest and sets the padded width.
            while (end < order.Length && (long)(end - start + 1) * lengths[order[end]] <= maxBatchTokens)
                end++;
            batches.Add(order[start..end]);
            start = end;
        }

        return batches;
    }
}
