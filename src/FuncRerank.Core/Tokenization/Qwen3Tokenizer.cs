using System.Buffers;
using System.Text;
using System.Text.Json;
using FuncRerank.Model;
using Microsoft.ML.Tokenizers;

namespace FuncRerank.Tokenization;

/// <summary>
/// The Qwen3 tokenizer (byte-level BPE), giving exactly the ids of Hugging Face's <c>tokenizers</c> for
/// the same <c>tokenizer.json</c>. Thread-safe: one instance can serve all callers.
/// </summary>
/// <remarks>
/// Order of work, as in Hugging Face: added tokens (<c>&lt;|im_end|&gt;</c> and the rest, all
/// <c>normalized: false</c>) are found in the raw text first, leftmost match then longest token at that
/// position; each piece between them is NFC-normalized, split by <see cref="Qwen2PreTokenizer"/> and
/// BPE-encoded by <see cref="BpeTokenizer"/>. No special tokens are added (Qwen adds none).
/// Added-token text inside user input is mapped to the added token's id, exactly as Hugging Face does.
/// </remarks>
public sealed class Qwen3Tokenizer
{
    /// <summary>The id Qwen3 uses for <c>&lt;|endoftext|&gt;</c>, which is also the padding token.</summary>
    public const int EndOfTextTokenId = 151643;

    /// <summary>Id of <c>&lt;|im_start|&gt;</c>.</summary>
    public const int ImStartTokenId = 151644;

    /// <summary>Id of <c>&lt;|im_end|&gt;</c>.</summary>
    public const int ImEndTokenId = 151645;

    /// <summary>Id of <c>&lt;think&gt;</c>.</summary>
    public const int ThinkTokenId = 151667;

    /// <summary>Id of <c>&lt;/think&gt;</c>.</summary>
    public const int EndThinkTokenId = 151668;

    /// <summary>Id of <c>yes</c>, checked at load.</summary>
    public const int ExpectedYesTokenId = 9693;

    /// <summary>Id of <c>no</c>, checked at load.</summary>
    public const int ExpectedNoTokenId = 2152;

    private static readonly (string Content, int Id)[] RequiredAddedTokens =
    [
        ("<|endoftext|>", EndOfTextTokenId),
        ("<|im_start|>", ImStartTokenId),
        ("<|im_end|>", ImEndTokenId),
        ("<think>", ThinkTokenId),
        ("</think>", EndThinkTokenId),
    ];

    /// <summary>
    /// Pieces longer than this (UTF-16 code units) bypass the library's merge step, which is quadratic and, past its
    /// word cache's 15-character limit, merges every occurrence anew (Chinese with punctuation, runs of 16-128
    /// characters, was 3x slower than Hugging Face with the library up to 128).
    /// </summary>
    internal const int DefaultLongPieceThreshold = 15;

    /// <summary>Most characters of short pieces given to the library in one call (about a millisecond of work).</summary>
    private const int MaxShortRunLength = 8192;

    private readonly BpeTokenizer _bpe;
    private readonly LongPieceBpe _longPieces;
    private readonly int _longPieceThreshold;

    // Added tokens sorted by length, longest first, so the first hit at a position is the longest one.
    private readonly (string Content, int Id)[] _addedTokensLongestFirst;
    private readonly Dictionary<int, string> _addedTokenById;
    private readonly SearchValues<char> _addedTokenFirstChars;
    private readonly int _bpeVocabularyCount;

    private Qwen3Tokenizer(BpeTokenizer bpe, LongPieceBpe longPieces, int longPieceThreshold, IReadOnlyList<(string Content, int Id)> addedTokens,
        int bpeVocabularyCount, int vocabularySize)
    {
        _bpe = bpe;
        _longPieces = longPieces;
        _longPieceThreshold = longPieceThreshold;
        _addedTokensLongestFirst = addedTokens
            .OrderByDescending(t => t.Content.Length)
            .ThenBy(t => t.Content, StringComparer.Ordinal)
            .ToArray();
        _addedTokenById = addedTokens.ToDictionary(t => t.Id, t => t.Content);
        _addedTokenFirstChars = SearchValues.Create(addedTokens.Select(t => t.Content[0]).Distinct().ToArray());
        _bpeVocabularyCount = bpeVocabularyCount;
        VocabularySize = vocabularySize;
        AddedTokens = addedTokens.ToDictionary(t => t.Content, t => t.Id, StringComparer.Ordinal).AsReadOnly();
    }

    /// <summary>Id of <c>&lt;|endoftext|&gt;</c>, used to pad batches.</summary>
    public int PadTokenId => EndOfTextTokenId;

    /// <summary>Id of the single token <c>yes</c> (9693).</summary>
    public int YesTokenId => ExpectedYesTokenId;

    /// <summary>Id of the single token <c>no</c> (2152).</summary>
    public int NoTokenId => ExpectedNoTokenId;

    /// <summary>The ids a model built for this tokenizer is tied to.</summary>
    public RerankerTokenIds RerankerTokenIds => new(YesTokenId, NoTokenId, PadTokenId);

    /// <summary>Largest token id (model vocabulary and added tokens) plus one: 151669 for Qwen3.</summary>
    public int VocabularySize { get; }

    /// <summary>The added tokens (content to id) from <c>tokenizer.json</c>.</summary>
    public IReadOnlyDictionary<string, int> AddedTokens { get; }

    /// <summary>
    /// Loads <c>tokenizer.json</c> (Hugging Face format) and verifies that the result reproduces the
    /// Qwen3 ids this project depends on. Throws <see cref="TokenizerLoadException"/> on any problem.
    /// </summary>
    public static Qwen3Tokenizer Load(string tokenizerJsonPath) => Load(tokenizerJsonPath, DefaultLongPieceThreshold);

    /// <summary>As <see cref="Load(string)"/>, with pieces longer than <paramref name="longPieceThreshold"/> code units
    /// merged by <see cref="LongPieceBpe"/> (tests use 0 to send every piece there, and <see cref="int.MaxValue"/> for the
    /// library alone).</summary>
    internal static Qwen3Tokenizer Load(string tokenizerJsonPath, int longPieceThreshold)
    {
        ArgumentException.ThrowIfNullOrEmpty(tokenizerJsonPath);

        // Fail before the expensive part if the runtime cannot normalize.
        UnicodeNormalization.EnsureAvailable(tokenizerJsonPath);

        byte[] json;
        try
        {
            json = File.ReadAllBytes(tokenizerJsonPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new TokenizerLoadException($"Cannot read tokenizer file '{tokenizerJsonPath}': {ex.Message}", ex);
        }

        TokenizerJson parsed;
        try
        {
            parsed = TokenizerJson.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new TokenizerLoadException($"Tokenizer file '{tokenizerJsonPath}' is not valid JSON: {ex.Message}", ex);
        }
        catch (FormatException ex)
        {
            throw new TokenizerLoadException($"Tokenizer file '{tokenizerJsonPath}' is not a supported tokenizer.json: {ex.Message}", ex);
        }

        string? problem = parsed.FindUnsupportedSetting();
        if (problem is not null)
        {
            throw new TokenizerLoadException($"Tokenizer file '{tokenizerJsonPath}' is not a Qwen2/Qwen3 byte-level BPE tokenizer this code reproduces exactly: {problem}");
        }

        BpeTokenizer bpe;
        LongPieceBpe longPieces;
        try
        {
            bpe = BpeTokenizer.Create(new BpeOptions(parsed.Vocabulary)
            {
                Merges = parsed.Merges,
                ByteLevel = true, // false gives wrong ids without any error
                PreTokenizer = Qwen2PreTokenizer.Instance, // null would silently mean "\w+|[^\w\s]+"
                // Normalizer and SpecialTokens stay null: NFC and added tokens are handled before the model sees the text.
            });
            longPieces = LongPieceBpe.Create(parsed.Vocabulary, parsed.Merges);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or FormatException)
        {
            throw new TokenizerLoadException($"Tokenizer file '{tokenizerJsonPath}' has an inconsistent model: {ex.Message}", ex);
        }

        int maxId = parsed.MaxVocabularyId;
        foreach ((_, int id) in parsed.AddedTokens)
        {
            maxId = Math.Max(maxId, id);
        }

        var tokenizer = new Qwen3Tokenizer(bpe, longPieces, longPieceThreshold, parsed.AddedTokens, parsed.Vocabulary.Count, maxId + 1);
        tokenizer.Verify(tokenizerJsonPath);
        return tokenizer;
    }

    /// <summary>Encodes <paramref name="text"/> to token ids, adding no special tokens.</summary>
    public int[] EncodeToIds(string text) => EncodeToIds(text, int.MaxValue);

    /// <summary>
    /// Exactly the first <paramref name="maxTokens"/> ids of <see cref="EncodeToIds(string)"/> (Hugging Face
    /// truncates ids, not text: the cut may fall inside a character's bytes). Work stops at the pre-tokenizer piece
    /// that reaches the cut; <paramref name="cancellationToken"/> stops it within milliseconds, whatever the text.
    /// </summary>
    /// <remarks>
    /// Why stopping early is exact: added tokens are found left to right in the raw text, so the segments before the
    /// cut are those of the whole text; NFC is applied to a whole segment (it is linear and cheap); the pre-tokenizer
    /// decides each piece from the piece and the one character after it, so the pieces of a segment come out in order
    /// and are final as they come; and BPE never merges across pieces. So the ids of the pieces before the cut are the
    /// whole text's. The piece that holds the cut is encoded whole: BPE merges span the whole piece, so a prefix of a
    /// piece does not give a prefix of its ids in general.
    /// </remarks>
    public int[] EncodeToIds(string text, int maxTokens, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfNegative(maxTokens);
        var ids = new List<int>();
        Encode(text, ids, maxTokens, cancellationToken);
        return ids.Count > maxTokens ? ids.GetRange(0, maxTokens).ToArray() : ids.ToArray();
    }

    /// <summary>Number of ids <see cref="EncodeToIds(string)"/> would return.</summary>
    public int CountTokens(string text) => CountTokens(text, CancellationToken.None);

    /// <summary>Number of ids <see cref="EncodeToIds(string)"/> would return; stops on <paramref name="cancellationToken"/>.</summary>
    public int CountTokens(string text, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        Encode(text, ids, int.MaxValue, cancellationToken);
        return ids.Count;
    }

    /// <summary>
    /// Text for ids (for logs and debugging). Added tokens are written as their content; an id that is
    /// not in the vocabulary is written as <c>&lt;unk:ID&gt;</c> rather than silently dropped.
    /// </summary>
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var sb = new StringBuilder();
        var run = new List<int>();
        foreach (int id in ids)
        {
            if (id >= 0 && id < _bpeVocabularyCount)
            {
                run.Add(id);
                continue;
            }

            FlushRun();
            sb.Append(_addedTokenById.TryGetValue(id, out string? content) ? content : $"<unk:{id}>");
        }

        FlushRun();
        return sb.ToString();

        void FlushRun()
        {
            if (run.Count > 0)
            {
                sb.Append(_bpe.Decode(run, considerSpecialTokens: false));
                run.Clear();
            }
        }
    }

    /// <summary>
    /// Appends the ids of <paramref name="text"/> to <paramref name="ids"/>, stopping once at least
    /// <paramref name="maxTokens"/> are there (possibly more: the last piece is encoded whole).
    /// </summary>
    private void Encode(string text, List<int> ids, int maxTokens, CancellationToken cancellationToken)
    {
        int position = 0;
        while (position < text.Length && ids.Count < maxTokens)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int found = FindAddedToken(text, position, out int tokenId, out int tokenLength);
            int segmentEnd = found < 0 ? text.Length : found;
            if (segmentEnd > position)
            {
                ReadOnlySpan<char> normalized = UnicodeNormalization.ToNfc(text.AsSpan(position, segmentEnd - position), out _);
                EncodeOrdinary(normalized, ids, maxTokens, cancellationToken);
            }

            if (found < 0 || ids.Count >= maxTokens)
            {
                break;
            }

            ids.Add(tokenId);
            position = found + tokenLength;
        }
    }

    /// <summary>
    /// Encodes NFC text that holds no added token: pre-tokenize, then BPE per piece. Runs of short pieces go to the
    /// library in one call (at most <see cref="MaxShortRunLength"/> characters, so cancellation is seen often); a piece
    /// longer than the long-piece threshold goes to <see cref="LongPieceBpe"/>. A run is cut only at piece boundaries,
    /// where the library's own pre-tokenization of the run gives the same pieces (the next piece never depends on text
    /// before its start, and a piece that ends the text ends where it would have ended anyway).
    /// </summary>
    private void EncodeOrdinary(ReadOnlySpan<char> text, List<int> ids, int maxTokens, CancellationToken cancellationToken)
    {
        int runStart = 0;
        int position = 0;
        while (position < text.Length)
        {
            int length = Qwen2PreTokenizer.NextPieceLength(text, position);
            if (length > _longPieceThreshold)
            {
                EncodeShortRun(text[runStart..position], ids, maxTokens);
                if (ids.Count >= maxTokens)
                {
                    return;
                }

                cancellationToken.ThrowIfCancellationRequested();
                _longPieces.Encode(text.Slice(position, length), ids, cancellationToken);
                if (ids.Count >= maxTokens)
                {
                    return;
                }

                runStart = position + length;
            }
            else if (position + length - runStart > MaxShortRunLength)
            {
                EncodeShortRun(text[runStart..(position + length)], ids, maxTokens);
                if (ids.Count >= maxTokens)
                {
                    return;
                }

                cancellationToken.ThrowIfCancellationRequested();
                runStart = position + length;
            }

            position += length;
        }

        EncodeShortRun(text[runStart..], ids, maxTokens);
    }

    private void EncodeShortRun(ReadOnlySpan<char> run, List<int> ids, int maxTokens)
    {
        if (run.IsEmpty)
        {
            return;
        }

        IReadOnlyList<int> encoded = maxTokens == int.MaxValue
            ? _bpe.EncodeToIds(run, considerPreTokenization: true, considerNormalization: false)
            : _bpe.EncodeToIds(run, maxTokens - ids.Count, out _, out _, considerPreTokenization: true, considerNormalization: false);
        ids.AddRange(encoded);
    }

    /// <summary>
    /// Leftmost added token at or after <paramref name="start"/>, longest at that position (as Hugging
    /// Face's leftmost-longest Aho-Corasick). Returns its index, or -1.
    /// </summary>
    private int FindAddedToken(string text, int start, out int tokenId, out int tokenLength)
    {
        ReadOnlySpan<char> span = text.AsSpan();
        int position = start;
        while (position < span.Length)
        {
            int offset = span.Slice(position).IndexOfAny(_addedTokenFirstChars);
            if (offset < 0)
            {
                break;
            }

            position += offset;
            ReadOnlySpan<char> rest = span.Slice(position);
            foreach ((string content, int id) in _addedTokensLongestFirst)
            {
                if (rest.StartsWith(content, StringComparison.Ordinal))
                {
                    tokenId = id;
                    tokenLength = content.Length;
                    return position;
                }
            }

            position++;
        }

        tokenId = -1;
        tokenLength = 0;
        return -1;
    }

    private void Verify(string path)
    {
        foreach ((string content, int id) in RequiredAddedTokens)
        {
            if (!AddedTokens.TryGetValue(content, out int actual))
            {
                throw new TokenizerLoadException($"Tokenizer file '{path}': added token {content} is missing from added_tokens (Qwen3 has it at id {id}).");
            }

            if (actual != id)
            {
                throw new TokenizerLoadException($"Tokenizer file '{path}': added token {content} has id {actual}, Qwen3 expects {id}.");
            }
        }

        foreach ((string content, int id) in AddedTokens)
        {
            int[] ids = EncodeToIds(content);
            if (ids.Length != 1 || ids[0] != id)
            {
                throw new TokenizerLoadException(
                    $"Tokenizer file '{path}': added token {content} encodes to [{string.Join(", ", ids)}], not to its id [{id}] from added_tokens.");
            }
        }

        CheckSingle(path, "yes", ExpectedYesTokenId);
        CheckSingle(path, "no", ExpectedNoTokenId);

        // A composed and a decomposed spelling must give the same ids, or NFC is not applied.
        int[] composed = EncodeToIds("caf\u00E9");
        int[] decomposed = EncodeToIds("cafe\u0301");
        if (!composed.AsSpan().SequenceEqual(decomposed))
        {
            throw new TokenizerLoadException($"Tokenizer file '{path}': \"café\" in NFC and NFD forms encodes differently; Unicode normalization is not working.");
        }
    }

    private void CheckSingle(string path, string text, int expectedId)
    {
        int[] ids = EncodeToIds(text);
        if (ids.Length != 1 || ids[0] != expectedId)
        {
            throw new TokenizerLoadException(
                $"Tokenizer file '{path}': \"{text}\" encodes to [{string.Join(", ", ids)}], expected [{expectedId}]. " +
                "This is not the Qwen3 tokenizer the reranker's yes/no scoring depends on.");
        }
    }

}
