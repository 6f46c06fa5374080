using FuncRerank.Inference;
using FuncRerank.Model;
using FuncRerank.Prompting;

namespace FuncRerank;

/// <summary>How <see cref="Qwen3Reranker.Load"/> builds, opens and batches the model (every host, the CLI and the bench map their settings to it in one place: FuncRerank.Api's RerankerSettings.ToRerankerOptions).</summary>
public sealed record RerankerOptions
{
    /// <summary>dtype of the graph built from a Hugging Face checkpoint; a built directory keeps its own.</summary>
    public ModelPrecision Precision { get; init; } = ModelPrecision.Float32;

    /// <summary>Prompt length limit in tokens (the model card's 8192); the document is cut, the template never is.</summary>
    public int MaxLength { get; init; } = RerankPrompt.DefaultMaxLength;

    /// <summary>Batch budgets and the queue's bound; an unset budget is the execution provider's default.</summary>
    public BatchSchedulerOptions Batching { get; init; } = new();

    public ScorerOptions Scorer { get; init; } = new();

    public string? CacheRoot { get; init; }
}
