using FuncRerank.Inference;
using FuncRerank.Model;
using FuncRerank.Prompting;
using FuncRerank.Tokenization;
using Microsoft.Extensions.Logging;

namespace FuncRerank;

public sealed record RerankerOptions
{
    /// <summary>dtype of the graph built from a Hugging Face checkpoint; a built directory keeps its own.</summary>
    public ModelPrecision Precision { get; init; } = ModelPrecision.Float32;

    /// <summary>Prompt length limit in tokens (the model card's 8192); the document is cut, the template never is.</summary>
    public int MaxLength { get; init; } = RerankPrompt.DefaultMaxLength;

    /// <summary>Padded tokens per forward pass.</summary>
    public int MaxBatchTokens { get; init; } = 16384;

    public ScorerOptions Scorer { get; init; } = new();

    public string? CacheRoot { get; init; }
}

/// <summary>One scored (query, document) pair: <c>Score = sigmoid(Logit)</c>, the probability of "yes".</summary>
public readonly record struct PairScore(float Logit, float Score, int PromptTokens);

/// <summary>
/// A Qwen3-Reranker ready to score: tokenizer, prompt template and ONNX session, loaded once and warmed.
/// Safe for concurrent callers.
/// </summary>
public sealed class Qwen3Reranker : IDisposable
{
    private readonly OnnxScorer _scorer;
    private readonly int _maxBatchTokens;

    private Qwen3Reranker(Qwen3Tokenizer tokenizer, RerankPrompt prompt, OnnxScorer scorer, int maxBatchTokens)
    {
        Tokenizer = tokenizer;
        Prompt = prompt;
        _scorer = scorer;
        _maxBatchTokens = maxBatchTokens;
    }

    public Qwen3Tokenizer Tokenizer { get; }

    public RerankPrompt Prompt { get; }

    public RerankerManifest Manifest => _scorer.Manifest;

    public ExecutionDevice Device => _scorer.Device;

    /// <summary>ONNX Runtime's execution provider for the graph (CUDAExecutionProvider or CPUExecutionProvider).</summary>
    public string ExecutionProviderName => _scorer.ExecutionProviderName;

    /// <summary>Why the graph runs on <see cref="Device"/>: what was asked for and, after a fallback, what failed.</summary>
    public string DeviceReason => _scorer.DeviceReason;

    /// <summary>Loads a Hugging Face checkpoint (built into the cache on first use) or a built directory, then warms the session.</summary>
    public static Qwen3Reranker Load(string modelDirectory, RerankerOptions options, ILogger logger, IProgress<BuildProgress>? progress = null)
    {
        var tokenizerPath = Path.Combine(modelDirectory, "tokenizer.json");
        if (!File.Exists(tokenizerPath))
            throw new ModelFormatException($"{modelDirectory}: tokenizer.json is missing");
        var tokenizer = Qwen3Tokenizer.Load(tokenizerPath);
        var store = new ModelStore(options.CacheRoot ?? ModelStore.DefaultCacheRoot(), logger);
        var built = store.Resolve(modelDirectory, options.Precision, tokenizer.YesTokenId, tokenizer.NoTokenId, tokenizer.PadTokenId, progress);
        var scorer = OnnxScorer.Open(built, options.Scorer, logger);
        try
        {
            var manifest = scorer.Manifest;
            if (manifest.YesTokenId != tokenizer.YesTokenId || manifest.NoTokenId != tokenizer.NoTokenId || manifest.PadTokenId != tokenizer.PadTokenId)
                throw new ModelFormatException($"{built}: built for yes/no/pad ids {manifest.YesTokenId}/{manifest.NoTokenId}/{manifest.PadTokenId}, " +
                                               $"but tokenizer.json gives {tokenizer.YesTokenId}/{tokenizer.NoTokenId}/{tokenizer.PadTokenId}");
            if (options.MaxLength > manifest.Architecture.MaxPositionEmbeddings)
                throw new ArgumentException($"max length {options.MaxLength} exceeds the model's max_position_embeddings {manifest.Architecture.MaxPositionEmbeddings}");
            var reranker = new Qwen3Reranker(tokenizer, new RerankPrompt(tokenizer, options.MaxLength), scorer, options.MaxBatchTokens);
            // The first run of a session pays for kernel selection and arena growth; pay it before reporting ready.
            reranker.Score("warm-up", ["warm-up"]);
            return reranker;
        }
        catch
        {
            scorer.Dispose();
            throw;
        }
    }

    public PairScore[] Score(string query, IReadOnlyList<string> documents, string? instruction = null) =>
        Score(documents.Select(d => Prompt.Build(query, d, instruction)).ToArray());

    /// <summary>Scores ready-made prompts (see <see cref="Prompt"/>), in their order.</summary>
    public PairScore[] Score(IReadOnlyList<int[]> prompts)
    {
        var logits = ComputeLogits(prompts);
        return logits.Select((logit, i) => new PairScore(logit, Sigmoid(logit), prompts[i].Length)).ToArray();
    }

    /// <summary>Logits for ready-made prompt id rows, in their order, batched by length under the token budget.</summary>
    public float[] ComputeLogits(IReadOnlyList<int[]> prompts)
    {
        var logits = new float[prompts.Count];
        foreach (var batch in LengthSortedBatches.Plan(prompts.Select(p => p.Length).ToArray(), _maxBatchTokens))
        {
            var batchLogits = _scorer.ComputeLogits(batch.Select(i => prompts[i]).ToArray());
            for (var j = 0; j < batch.Length; j++)
                logits[batch[j]] = batchLogits[j];
        }

        return logits;
    }

    public static float Sigmoid(float logit) => (float)(1.0 / (1.0 + Math.Exp(-logit)));

    public void Dispose() => _scorer.Dispose();
}
