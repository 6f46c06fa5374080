namespace FuncRerank.Inference;

/// <summary>
/// Chooses one batch out of a cut of waiting pairs sorted by length: a contiguous run that contains the anchor (the pair
/// that must run now), grown one neighbour at a time, taking the side that adds less padding, while the batch stays
/// within the padded-token budget and the attention budget (rows × width²), each pair that joins brings at least as many
/// real tokens as the padding it adds, and the batch's padded tokens stay within <see cref="MaxPaddingRatio"/> of its real ones.
/// </summary>
/// <remarks>
/// The graph skips pads in its dense layers, but attention still computes every row over the batch's width, so an
/// outlier must not ride along at several times its own cost, nor a long pair stretch a batch of short ones; similar
/// lengths, the common case, still fill the whole budget. A prompt over a budget runs alone.
/// </remarks>
public static class BatchPlanner
{
    /// <summary>
    /// Padded token slots per real token. Measured on the 28-layer 0.6B shape (docs/performance.md): 1.5 left 20.7 % of
    /// the slots as pads and 10.2 % of the executed FLOPs in attention over them; 1.2 left 8.2 % and 3.2 % and ran the
    /// mixed workload 10 % faster; 1.1 (6.4 %, 2.9 %) was no faster and slowed small requests by splitting their batches.
    /// </summary>
    public const double MaxPaddingRatio = 1.2;

    /// <summary>Grows the one batch that holds <paramref name="anchor"/> (see the class summary).</summary>
    /// <param name="maxAttentionCells">Bound on rows × width² (see <see cref="BatchSchedulerOptions.MaxAttentionCells"/>).</param>
    /// <returns>The run <c>[Start, End)</c> of <paramref name="sortedLengths"/> (ascending) to score together.</returns>
    public static (int Start, int End) Grow(IReadOnlyList<int> sortedLengths, int anchor, int maxBatchTokens, long maxAttentionCells = long.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchTokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttentionCells, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(anchor);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(anchor, sortedLengths.Count);
        int start = anchor, end = anchor + 1;
        long real = sortedLengths[anchor];
        while (true)
        {
            var rows = end - start;
            var width = (long)sortedLengths[end - 1];
            // Left: a shorter pair; the width stays. Right: a longer pair; every row pads to it.
            var left = start > 0 && Fits(rows + 1, width) ? Padding(rows + 1, width, real, sortedLengths[start - 1]) : -1;
            var right = end < sortedLengths.Count && Fits(rows + 1, sortedLengths[end]) ? Padding(rows + 1, sortedLengths[end], real, sortedLengths[end]) : -1;
            if (left >= 0 && (right < 0 || left <= right))
            {
                real += sortedLengths[--start];
            }
            else if (right >= 0)
            {
                real += sortedLengths[end++];
            }
            else
            {
                return (start, end);
            }
        }

        bool Fits(int rows, long width) => width * width <= maxAttentionCells / rows;

        // The padding the batch would carry with one more pair, or -1 when that pair may not join.
        long Padding(int rows, long width, long realBefore, int joining)
        {
            var padded = rows * width;
            var realAfter = realBefore + joining;
            var added = padded - realAfter - ((rows - 1) * (long)sortedLengths[end - 1] - realBefore);
            return padded <= maxBatchTokens && added <= joining && padded <= MaxPaddingRatio * realAfter ? padded - realAfter : -1;
        }
    }
}
