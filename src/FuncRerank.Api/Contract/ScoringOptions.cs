namespace FuncRerank.Api.Contract;

/// <summary>How each pair is scored, shared by rerank and score requests.</summary>
public sealed record ScoringOptions
{
    /// <summary>The Qwen3 instruction; null means the server's default. An empty one stays empty, as on the model card.</summary>
    public string? Instruction { get; init; }

    /// <summary>Report the raw log-odds <c>l_yes - l_no</c> instead of the probability (<c>raw_scores: true</c>, <c>use_activation: false</c>).</summary>
    public bool RawScores { get; init; }

    /// <summary>Cut over-long prompts (true, the default) or reject them (<c>truncate: false</c>).</summary>
    public bool Truncate { get; init; } = true;

    public TruncationSide TruncationSide { get; init; } = TruncationSide.Right;

    /// <summary>Cohere v2's <c>max_tokens_per_doc</c>: a client's own cap on each document's tokens; null means the server's.</summary>
    public int? MaxTokensPerDocument { get; init; }
}
