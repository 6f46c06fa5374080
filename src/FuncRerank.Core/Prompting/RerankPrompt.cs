using System.Collections.ObjectModel;
using FuncRerank.Tokenization;

namespace FuncRerank.Prompting;

/// <summary>
/// Builds Qwen3-Reranker input ids as the model card does: prefix ids + the first
/// <c>MaxLength - prefix - suffix</c> ids of the formatted instruction/query/document + suffix ids,
/// each part encoded on its own. Thread-safe.
/// </summary>
/// <remarks>
/// Truncation covers instruction, query and document together (Hugging Face truncates the body's ids, not
/// its text, so a cut can fall inside a character). Added-token text inside the query or document (for
/// example <c>&lt;|im_end|&gt;</c>) becomes the added token's id, exactly as in Hugging Face.
/// </remarks>
public sealed class RerankPrompt
{
    /// <summary>The instruction used when none is given (from the Qwen3-Reranker model card).</summary>
    public const string DefaultInstruction = "Given a web search query, retrieve relevant passages that answer the query";

    /// <summary>The system turn and the opening of the user turn.</summary>
    public const string Prefix =
        "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct provided. " +
        "Note that the answer can only be \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n";

    /// <summary>The end of the user turn and the opening of the assistant turn with an empty think block.</summary>
    public const string Suffix = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n";

    /// <summary>The model card's maximum sequence length.</summary>
    public const int DefaultMaxLength = 8192;

    /// <summary>Prefix length in ids with the Qwen3 tokenizer.</summary>
    public const int ExpectedPrefixTokenCount = 39;

    /// <summary>Suffix length in ids with the Qwen3 tokenizer.</summary>
    public const int ExpectedSuffixTokenCount = 9;

    private readonly Qwen3Tokenizer _tokenizer;
    private readonly int[] _prefixIds;
    private readonly int[] _suffixIds;

    public RerankPrompt(Qwen3Tokenizer tokenizer, int maxLength = DefaultMaxLength)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _tokenizer = tokenizer;
        _prefixIds = tokenizer.EncodeToIds(Prefix);
        _suffixIds = tokenizer.EncodeToIds(Suffix);

        if (_prefixIds.Length != ExpectedPrefixTokenCount || _suffixIds.Length != ExpectedSuffixTokenCount)
        {
            throw new InvalidOperationException(
                $"The reranker prompt encodes to {_prefixIds.Length} prefix and {_suffixIds.Length} suffix ids; " +
                $"the Qwen3 tokenizer gives {ExpectedPrefixTokenCount} and {ExpectedSuffixTokenCount}. Wrong tokenizer?");
        }

        int fixedLength = _prefixIds.Length + _suffixIds.Length;
        if (maxLength <= fixedLength)
        {
            throw new ArgumentOutOfRangeException(
                nameof(maxLength), maxLength, $"The maximum length must exceed the prompt's fixed part of {fixedLength} ids.");
        }

        MaxLength = maxLength;
        PrefixIds = Array.AsReadOnly(_prefixIds);
        SuffixIds = Array.AsReadOnly(_suffixIds);
    }

    /// <summary>Most ids a built prompt can have (prefix + body + suffix).</summary>
    public int MaxLength { get; }

    /// <summary>Ids of <see cref="Prefix"/> (39).</summary>
    public ReadOnlyCollection<int> PrefixIds { get; }

    /// <summary>Ids of <see cref="Suffix"/> (9).</summary>
    public ReadOnlyCollection<int> SuffixIds { get; }

    /// <summary>Ids every prompt has whatever its pair: prefix and suffix (48).</summary>
    public int TemplateTokens => _prefixIds.Length + _suffixIds.Length;

    /// <summary>Most ids the formatted instruction/query/document may keep: <c>MaxLength - 48</c>.</summary>
    public int MaxBodyTokens => MaxLength - TemplateTokens;

    /// <summary>
    /// The body text between prefix and suffix. A null instruction means <see cref="DefaultInstruction"/>;
    /// an empty one stays empty, as the model card's formatting would leave it.
    /// </summary>
    public static string FormatBody(string query, string document, string? instruction = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(document);
        return $"<Instruct>: {instruction ?? DefaultInstruction}\n<Query>: {query}\n<Document>: {document}";
    }

    /// <summary>
    /// Prompts for a request's pairs under <paramref name="options"/>, in order. With the default policy each body is
    /// tokenized only as far as its kept ids reach (see <see cref="Qwen3Tokenizer.EncodeToIds(string, int, CancellationToken)"/>).
    /// <paramref name="onBuilt"/> sees each prompt as soon as it is built (a caller can refuse a request over its token
    /// budget before the rest is tokenized). Throws <see cref="PromptTooLongException"/> for an over-long prompt when
    /// <see cref="PromptOptions.Truncate"/> is false, and <see cref="OperationCanceledException"/> within milliseconds of
    /// <paramref name="cancellationToken"/>.
    /// </summary>
    public int[][] BuildPrompts(IReadOnlyList<(string Query, string Document)> pairs, PromptOptions options, Action<int[]>? onBuilt = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentNullException.ThrowIfNull(options);
        var prompts = new int[pairs.Count][];
        for (int i = 0; i < pairs.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            (string query, string document) = pairs[i];
            if (options.IsModelCardTruncation)
            {
                prompts[i] = Build(query, document, options.Instruction, cancellationToken);
            }
            else
            {
                RerankPromptIds built = options.MaxTokensPerDocument is null && !options.KeepDocumentEnd
                    ? BuildWithInfo(query, document, options.Instruction, cancellationToken)
                    : BuildWithDocumentLimit(query, document, options.Instruction, options.MaxTokensPerDocument, options.KeepDocumentEnd,
                        countAll: !options.Truncate, cancellationToken);
                if (!options.Truncate && built.Truncated)
                {
                    throw new PromptTooLongException(i, built.UntruncatedBodyTokens + TemplateTokens, MaxLength);
                }

                prompts[i] = built.Ids;
            }

            onBuilt?.Invoke(prompts[i]);
        }

        return prompts;
    }

    /// <summary>Input ids for one query/document pair, at most <see cref="MaxLength"/> long. Tokenizes the body only as far as the cut.</summary>
    public int[] Build(string query, string document, string? instruction = null, CancellationToken cancellationToken = default)
    {
        int[] body = _tokenizer.EncodeToIds(FormatBody(query, document, instruction), MaxBodyTokens, cancellationToken);
        return Assemble(body, body.Length);
    }

    /// <summary>
    /// As <see cref="Build"/>, and also says whether the body was cut and how long it was. This encodes the
    /// whole body (cost grows with the document), while <see cref="Build"/> stops at the cut.
    /// </summary>
    public RerankPromptIds BuildWithInfo(string query, string document, string? instruction = null, CancellationToken cancellationToken = default)
    {
        int[] body = _tokenizer.EncodeToIds(FormatBody(query, document, instruction), int.MaxValue, cancellationToken);
        int kept = Math.Min(body.Length, MaxBodyTokens);
        return new RerankPromptIds(Assemble(body, kept), body.Length > kept, body.Length);
    }

    /// <summary>
    /// As <see cref="BuildWithInfo"/>, with the document itself limited first: to its first (or, with
    /// <paramref name="keepDocumentEnd"/>, last) <paramref name="maxDocumentTokens"/> ids, as Cohere's
    /// <c>max_tokens_per_doc</c>; and when the prompt is still too long, cut from the document's end (or start), so
    /// instruction and query survive. Without a limit and with the end cut this gives exactly <see cref="BuildWithInfo"/>'s ids.
    /// <see cref="RerankPromptIds.Truncated"/> and <see cref="RerankPromptIds.UntruncatedBodyTokens"/> describe the body
    /// after the caller's own document limit, against <see cref="MaxLength"/>.
    /// </summary>
    /// <remarks>
    /// The text splits after <c>"&lt;Document&gt;:"</c>: a pre-tokenizer boundary whatever the document holds, since the
    /// space that follows can only start a new piece, and BPE never merges across pieces. So the two halves' ids,
    /// encoded apart, are the whole body's ids.
    /// </remarks>
    public RerankPromptIds BuildWithDocumentLimit(string query, string document, string? instruction, int? maxDocumentTokens, bool keepDocumentEnd,
        CancellationToken cancellationToken = default) =>
        BuildWithDocumentLimit(query, document, instruction, maxDocumentTokens, keepDocumentEnd, countAll: true, cancellationToken);

    /// <param name="countAll">False when the caller will not look at <see cref="RerankPromptIds.UntruncatedBodyTokens"/>: then a
    /// document whose start is kept is tokenized only as far as the cut, and the count is a lower bound.</param>
    private RerankPromptIds BuildWithDocumentLimit(string query, string document, string? instruction, int? maxDocumentTokens, bool keepDocumentEnd,
        bool countAll, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(document);
        ArgumentOutOfRangeException.ThrowIfNegative(maxDocumentTokens ?? 0, nameof(maxDocumentTokens));
        string head = FormatBody(query, "", instruction)[..^1];
        int[] headIds = _tokenizer.EncodeToIds(head, int.MaxValue, cancellationToken);
        int headKept = Math.Min(headIds.Length, MaxBodyTokens);
        int documentLimit = countAll || keepDocumentEnd
            ? int.MaxValue
            : Math.Min(maxDocumentTokens ?? int.MaxValue, MaxBodyTokens - headKept + 1);
        int[] documentIds = _tokenizer.EncodeToIds(" " + document, documentLimit, cancellationToken);
        // The caller's own limit is what was asked for; only the cut to MaxLength counts as truncation.
        int requested = headIds.Length + Math.Min(documentIds.Length, maxDocumentTokens ?? int.MaxValue);

        int documentKept = Math.Min(requested, MaxBodyTokens) - headKept;
        int documentStart = keepDocumentEnd ? documentIds.Length - documentKept : 0;
        var body = new int[headKept + documentKept];
        Array.Copy(headIds, body, headKept);
        Array.Copy(documentIds, documentStart, body, headKept, documentKept);
        return new RerankPromptIds(Assemble(body, body.Length), requested > MaxBodyTokens, requested);
    }

    private int[] Assemble(int[] body, int bodyLength)
    {
        var ids = new int[_prefixIds.Length + bodyLength + _suffixIds.Length];
        _prefixIds.CopyTo(ids, 0);
        Array.Copy(body, 0, ids, _prefixIds.Length, bodyLength);
        _suffixIds.CopyTo(ids, _prefixIds.Length + bodyLength);
        return ids;
    }
}
