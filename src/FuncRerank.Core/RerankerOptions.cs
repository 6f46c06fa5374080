using FuncRerank.Inference;
using FuncRerank.Model;
using FuncRerank.Prompting;

namespace FuncRerank;

public sealed record RerankerOptions
{
    /// <summary>dtype of the graph built from a Hugging Face checkpoint; a built directory keeps its own.</summary>
    public ModelPrecision Precision { get; init; } = ModelPrecision.Float32;

    /// <summary>Prompt length limit in tokens (the model card's 8192); the document is cut, the template never is.</summary>
    public int MaxLength { get; init; } = RerankPrompt.DefaultMaxLength;

    /// <summary>Padded tokens per forward pass; null: the execution provider's default (<see cref="BatchBudgets"/>).</summary>
    public int? MaxBatchTokens { get; init; }

    /// <summary>
    /// Rows × longest row² per forward pass: bounds attention's transient memory (see <see cref="BatchSchedulerOptions"/>);
    /// null: the execution provider's default (<see cref="BatchBudgets"/>).
    /// </summary>
    public long? MaxAttentionCells { get; init; }

    /// <summary>Prompt tokens that may wait for a forward pass before requests are refused (see <see cref="BatchSchedulerOptions"/>).</summary>
    public long MaxQueuedTokens { get; init; } = BatchSchedulerOptions.DefaultMaxQueuedTokens;

    public ScorerOptions Scorer { get; init; } = new();

    public string? CacheRoot { get; init; }
}
