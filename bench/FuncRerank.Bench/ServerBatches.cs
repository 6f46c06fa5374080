using FuncRerank.Inference;

namespace FuncRerank.Bench;

/// <summary>The server's batching, replayed outside it: the benchmark's in-process and torch peers, and the GPU check kit.</summary>
internal static class ServerBatches
{
    /// <summary>
    /// The batches <see cref="BatchPlanner"/> makes of one request's pairs when nothing else waits: sorted by length, each
    /// batch grown around the shortest pair not yet planned. Index arrays into <paramref name="lengths"/>.
    /// </summary>
    public static List<int[]> PlanAlone(IReadOnlyList<int> lengths, int maxBatchTokens, long maxAttentionCells = long.MaxValue)
    {
        var order = Enumerable.Range(0, lengths.Count).OrderBy(i => lengths[i]).ToArray();
        var batches = new List<int[]>();
        var remaining = order.ToList();
        while (remaining.Count > 0)
        {
            var (start, end) = BatchPlanner.Grow(remaining.Select(i => lengths[i]).ToArray(), 0, maxBatchTokens, maxAttentionCells);
            batches.Add(remaining[start..end].ToArray());
            remaining.RemoveRange(start, end - start);
        }

        return batches;
    }
}
