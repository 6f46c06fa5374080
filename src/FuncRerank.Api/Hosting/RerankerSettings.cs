using FuncRerank.Inference;
using FuncRerank.Model;

namespace FuncRerank.Api.Hosting;

/// <summary>
/// The configuration section <c>Reranker</c>, the same for every host: <c>Reranker:ModelPath</c> in appsettings or on
/// the command line, <c>Reranker__ModelPath</c> as an environment variable or Azure app setting.
/// </summary>
public sealed class RerankerSettings
{
    public const string SectionName = "Reranker";
    public const string DefaultModelId = "Qwen/Qwen3-Reranker-0.6B";

    /// <summary>A local Hugging Face checkpoint or a directory made by <c>funcrerank build</c>. Wins over <see cref="ModelId"/>.</summary>
    public string? ModelPath { get; set; }

    /// <summary>A Hugging Face Hub id, downloaded into the cache on first start.</summary>
    public string? ModelId { get; set; }

    /// <summary>The name replies carry in <c>model</c>; defaults to the model id or the directory's name.</summary>
    public string? ServedModelName { get; set; }

    public string Dtype { get; set; } = "fp32";

    public string Device { get; set; } = "cpu";

    public bool RequireCuda { get; set; }

    public int MaxLength { get; set; } = Prompting.RerankPrompt.DefaultMaxLength;

    /// <summary>
    /// Padded tokens per forward pass; pairs of every request waiting are cut into batches of this size. Unset: the
    /// execution provider's default (Inference.BatchBudgets: 16,384 on the CPU, from the GPU's memory on CUDA).
    /// </summary>
    public int? MaxBatchTokens { get; set; }

    /// <summary>Rows × longest row² per forward pass, which bounds attention's transient memory; a longer prompt runs alone. Unset: per provider, as above.</summary>
    public long? MaxAttentionCells { get; set; }

    /// <summary>Prompt tokens that may wait for the model; a request that would go over gets 429 with Retry-After.</summary>
    public long MaxQueuedTokens { get; set; } = BatchSchedulerOptions.DefaultMaxQueuedTokens;

    /// <summary>
    /// Seconds a scoring request may take from its arrival to its reply before it gets 504 and its waiting pairs leave
    /// the queue; 0 for no limit. Under Azure's 230 s front-end limit, so a client gets the 504 rather than a cut connection.
    /// </summary>
    public double RequestTimeoutSeconds { get; set; } = 180;

    public string? CacheDirectory { get; set; }

    /// <summary>Documents per rerank request (clients send 20-200 and do not split larger sets themselves).</summary>
    public int MaxDocuments { get; set; } = 1000;

    /// <summary>Request body size; 1,000 documents of 8,192 tokens are about 32 MB of text.</summary>
    public long MaxRequestBytes { get; set; } = 32 * 1024 * 1024;

    /// <summary>Tokens in a query (Cohere's documented maximum); RAG queries are a sentence or two.</summary>
    public int MaxQueryTokens { get; set; } = 2048;

    /// <summary>
    /// Tokens one request may have scored: every built prompt, template included, as <c>usage.prompt_tokens</c>
    /// counts them (for <c>/tokenize</c>, the tokens returned). 1,000 documents of about 2,000 tokens.
    /// </summary>
    public long MaxRequestTokens { get; set; } = 2 * 1024 * 1024;

    /// <summary>Nesting of arrays and objects in a request body; clients nest about six levels.</summary>
    public int MaxJsonDepth { get; set; } = Contract.ApiJson.DefaultMaxDepth;

    /// <summary>Comma-separated keys; clients may send any of them.</summary>
    public string? ApiKeys { get; set; }

    /// <summary>Where Azure Container Apps mounts the Functions host's keys (one key per file).</summary>
    public string FunctionsKeyDirectory { get; set; } = "/run/secrets/functions-keys";

    public string EffectiveModelName => ServedModelName ?? ModelIdentity;

    /// <summary>
    /// What <see cref="Qwen3Reranker.Load"/> takes from these settings: the one mapping the hosts' loader, the CLI and the
    /// benchmark use. Throws <see cref="ArgumentException"/> for an unknown <see cref="Dtype"/> or <see cref="Device"/>.
    /// </summary>
    public RerankerOptions ToRerankerOptions() => new()
    {
        Precision = ModelPrecisionNames.Parse(Dtype),
        MaxLength = MaxLength,
        Batching = new BatchSchedulerOptions { MaxBatchTokens = MaxBatchTokens, MaxAttentionCells = MaxAttentionCells, MaxQueuedTokens = MaxQueuedTokens },
        Scorer = new ScorerOptions { Device = ExecutionDeviceNames.Parse(Device), RequireCuda = RequireCuda },
        CacheRoot = CacheDirectory,
    };

    /// <summary>The Hub id, or a local model's directory name: its path on this machine is nobody's business but the operator's.</summary>
    public string ModelIdentity =>
        ModelPath is { Length: > 0 } path ? Path.GetFileName(Path.TrimEndingDirectorySeparator(path)) : ModelId ?? DefaultModelId;
}
