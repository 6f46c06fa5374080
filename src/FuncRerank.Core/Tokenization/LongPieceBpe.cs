using System.Buffers;
using System.Text;

namespace FuncRerank.Tokenization;

/// <summary>
/// Byte-level BPE merges for one pre-tokenizer piece of any length in O(n log n): the part that
/// <c>Microsoft.ML.Tokenizers</c> 2.0.1 lacks. Its <c>Word.MergeAll</c> removes merged symbols from an array one at a
/// time (O(n) each), so a piece without spaces (Chinese, Thai, a digit-free symbol run) costs O(n²): 38 s for
/// 200,000 CJK characters. Text without spaces makes such pieces routinely, so <see cref="Qwen3Tokenizer"/> sends
/// long pieces here and keeps the library (and its word cache) for the short ones.
/// </summary>
/// <remarks>
/// The algorithm is Hugging Face's <c>Word::merge_all</c>, so the ids are the same: symbols (one per UTF-8 byte,
/// each the vocabulary id of its byte-level character) form a linked list; a min-heap holds candidate merges ordered
/// by merge rank, then by position; the lowest is applied unless it is stale (its left symbol was absorbed, or the
/// pair at its position no longer merges into the same id), and the pairs it forms with its neighbours are pushed.
/// Each merge removes one symbol and pushes at most two entries, so the heap sees at most 3n entries.
/// Thread-safe: all state is per call.
/// </remarks>
internal sealed class LongPieceBpe
{
    // How many heap pops between cancellation checks (a few milliseconds of work).
    private const int CancellationCheckInterval = 1 << 16;

    private const int Removed = -2;

    private readonly int[] _byteIds;

    // (left id << 32 | right id) -> merge rank; a rank's result id is _resultIdOfRank[rank].
    private readonly Dictionary<long, int> _rankOfPair;
    private readonly int[] _resultIdOfRank;

    private LongPieceBpe(int[] byteIds, Dictionary<long, int> rankOfPair, int[] resultIdOfRank)
    {
        _byteIds = byteIds;
        _rankOfPair = rankOfPair;
        _resultIdOfRank = resultIdOfRank;
    }

    /// <summary>
    /// Builds the merge table from <c>tokenizer.json</c>'s vocabulary (byte-level strings) and merges (<c>"a b"</c>,
    /// rank = position in the list, as in Hugging Face). Throws <see cref="FormatException"/> if a byte, a merge
    /// part or a merge result is missing from the vocabulary.
    /// </summary>
    public static LongPieceBpe Create(IReadOnlyList<KeyValuePair<string, int>> vocabulary, IReadOnlyList<string> merges)
    {
        var idOf = new Dictionary<string, int>(vocabulary.Count, StringComparer.Ordinal);
        foreach ((string token, int id) in vocabulary)
        {
            idOf[token] = id;
        }

        var byteIds = new int[256];
        for (int b = 0; b < 256; b++)
        {
            string symbol = ByteLevelChar(b).ToString();
            byteIds[b] = idOf.TryGetValue(symbol, out int id)
                ? id
                : throw new FormatException($"the vocabulary has no token for byte 0x{b:X2} (byte-level \"{symbol}\")");
        }

        var rankOfPair = new Dictionary<long, int>(merges.Count, PairKeyComparer.Instance);
        var resultIdOfRank = new int[merges.Count];
        for (int rank = 0; rank < merges.Count; rank++)
        {
            string merge = merges[rank];
            int space = merge.IndexOf(' ', StringComparison.Ordinal);
            if (space <= 0
                || !idOf.TryGetValue(merge[..space], out int left)
                || !idOf.TryGetValue(merge[(space + 1)..], out int right)
                || !idOf.TryGetValue(string.Concat(merge.AsSpan(0, space), merge.AsSpan(space + 1)), out int result))
            {
                throw new FormatException($"merge {rank} \"{merge}\" has a part or a result that is not in the vocabulary");
            }

            rankOfPair[PairKey(left, right)] = rank;
            resultIdOfRank[rank] = result;
        }

        return new LongPieceBpe(byteIds, rankOfPair, resultIdOfRank);
    }

    /// <summary>
    /// Appends the ids of <paramref name="piece"/> (one pre-tokenizer piece, already NFC) to <paramref name="ids"/>.
    /// Lone surrogates count as U+FFFD, as the UTF-8 encoder writes them.
    /// </summary>
    public void Encode(ReadOnlySpan<char> piece, List<int> ids, CancellationToken cancellationToken)
    {
        int byteCount = Encoding.UTF8.GetByteCount(piece);
        if (byteCount == 0)
        {
            return;
        }

        byte[] bytes = ArrayPool<byte>.Shared.Rent(byteCount);
        Symbol[] symbols = ArrayPool<Symbol>.Shared.Rent(byteCount);
        var queue = new MergeQueue(ArrayPool<long>.Shared.Rent(byteCount));
        try
        {
            Encoding.UTF8.GetBytes(piece, bytes);
            for (int i = 0; i < byteCount; i++)
            {
                symbols[i] = new Symbol(_byteIds[bytes[i]], i - 1, i + 1 < byteCount ? i + 1 : -1);
            }

            for (int i = 0; i + 1 < byteCount; i++)
            {
                if (_rankOfPair.TryGetValue(PairKey(symbols[i].Id, symbols[i + 1].Id), out int rank))
                {
                    queue.Append(rank, i);
                }
            }

            queue.Heapify();
            MergeAll(symbols, ref queue, cancellationToken);

            // The first symbol is never absorbed (a merge keeps its left symbol), so the list starts at 0.
            for (int i = 0; i >= 0; i = symbols[i].Next)
            {
                ids.Add(symbols[i].Id);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
            ArrayPool<Symbol>.Shared.Return(symbols);
            ArrayPool<long>.Shared.Return(queue.Storage);
        }
    }

    private void MergeAll(Symbol[] symbols, ref MergeQueue queue, CancellationToken cancellationToken)
    {
        int untilCheck = CancellationCheckInterval;
        while (queue.TryPop(out int rank, out int position))
        {
            if (--untilCheck == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                untilCheck = CancellationCheckInterval;
            }

            ref Symbol current = ref symbols[position];
            if (current.Id == Removed || current.Next < 0)
            {
                continue;
            }

            int nextPosition = current.Next;
            Symbol right = symbols[nextPosition];

            // Stale entry? As in Hugging Face: the pair now at this position must merge into the same id.
            int resultId = _resultIdOfRank[rank];
            if (!_rankOfPair.TryGetValue(PairKey(current.Id, right.Id), out int currentRank) || _resultIdOfRank[currentRank] != resultId)
            {
                continue;
            }

            current.Id = resultId;
            current.Next = right.Next;
            symbols[nextPosition].Id = Removed;
            if (right.Next >= 0)
            {
                symbols[right.Next].Prev = position;
            }

            if (current.Prev >= 0 && _rankOfPair.TryGetValue(PairKey(symbols[current.Prev].Id, current.Id), out int leftRank))
            {
                queue.Push(leftRank, current.Prev);
            }

            if (current.Next >= 0 && _rankOfPair.TryGetValue(PairKey(current.Id, symbols[current.Next].Id), out int rightRank))
            {
                queue.Push(rightRank, position);
            }
        }
    }

    private static long PairKey(int left, int right) => ((long)left << 32) | (uint)right;

    /// <summary>GPT-2's byte-level alphabet: printable Latin-1 bytes stand for themselves, the rest map to U+0100 onwards.</summary>
    private static char ByteLevelChar(int b)
    {
        static bool Printable(int x) => x is (>= 33 and <= 126) or (>= 161 and <= 172) or (>= 174 and <= 255);
        if (Printable(b))
        {
            return (char)b;
        }

        int shifted = 0;
        for (int x = 0; x < b; x++)
        {
            if (!Printable(x))
            {
                shifted++;
            }
        }

        return (char)(256 + shifted);
    }

    private record struct Symbol(int Id, int Prev, int Next);

    /// <summary>
    /// <see cref="long.GetHashCode"/> folds the halves with XOR, so every pair (a, b) collides with (b, a) and with all
    /// pairs of the same XOR: lookups slowed to a crawl. A multiplicative hash spreads the pairs.
    /// </summary>
    private sealed class PairKeyComparer : IEqualityComparer<long>
    {
        public static readonly PairKeyComparer Instance = new();

        public bool Equals(long x, long y) => x == y;

        public int GetHashCode(long key) => (int)(((ulong)key * 0x9E3779B97F4A7C15UL) >> 32);
    }

    /// <summary>
    /// A binary min-heap of (rank, position) packed into one <see cref="long"/> (rank in the high half), so the
    /// order is rank first, then position: Hugging Face's merge order.
    /// </summary>
    private struct MergeQueue(long[] storage)
    {
        private int _count;

        public long[] Storage { get; private set; } = storage;

        /// <summary>Adds without restoring the heap order; call <see cref="Heapify"/> before popping.</summary>
        public void Append(int rank, int position)
        {
            Grow();
            Storage[_count++] = Pack(rank, position);
        }

        public void Heapify()
        {
            for (int i = (_count >> 1) - 1; i >= 0; i--)
            {
                SiftDown(i);
            }
        }

        public void Push(int rank, int position)
        {
            Grow();
            long item = Pack(rank, position);
            int child = _count++;
            long[] heap = Storage;
            while (child > 0)
            {
                int parent = (child - 1) >> 1;
                if (heap[parent] <= item)
                {
                    break;
                }

                heap[child] = heap[parent];
                child = parent;
            }

            heap[child] = item;
        }

        public bool TryPop(out int rank, out int position)
        {
            if (_count == 0)
            {
                rank = position = 0;
                return false;
            }

            long top = Storage[0];
            rank = (int)(top >> 32);
            position = (int)top;
            _count--;
            if (_count > 0)
            {
                Storage[0] = Storage[_count];
                SiftDown(0);
            }

            return true;
        }

        private readonly void SiftDown(int index)
        {
            long[] heap = Storage;
            long item = heap[index];
            int half = _count >> 1;
            while (index < half)
            {
                int child = (index << 1) + 1;
                if (child + 1 < _count && heap[child + 1] < heap[child])
                {
                    child++;
                }

                if (item <= heap[child])
                {
                    break;
                }

                heap[index] = heap[child];
                index = child;
            }

            heap[index] = item;
        }

        private void Grow()
        {
            if (_count < Storage.Length)
            {
                return;
            }

            long[] larger = ArrayPool<long>.Shared.Rent(Storage.Length * 2);
            Storage.AsSpan(0, _count).CopyTo(larger);
            ArrayPool<long>.Shared.Return(Storage);
            Storage = larger;
        }

        private static long Pack(int rank, int position) => ((long)rank << 32) | (uint)position;
    }
}
