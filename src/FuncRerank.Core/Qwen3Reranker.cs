using FuncRerank.Inference;
using FuncRerank.Model;
using FuncRerank.Model.Building;
using FuncRerank.Model.Store;
using FuncRerank.Prompting;
using FuncRerank.Tokenization;
using Microsoft.Extensions.Logging;

namespace FuncRerank;

/// <summary>
/// A Qwen3-Reranker ready to score: tokenizer, prompt template and ONNX session, loaded once and warmed, with the
/// <see cref="BatchScheduler"/> that batches every caller's pairs together on the session. Safe for concurrent callers.
/// </summary>
public sealed class Qwen3Reranker : IDisposable
{
    private readonly IBatchScorer _scorer;
    private readonly BatchScheduler _scheduler;
    private readonly LongTokenizationGate _longTokenization = LongTokenizationGate.ForThisMachine();

    /// <summary>A reranker over any batch scorer (the ONNX session in <see cref="Load"/>); it owns the scorer when disposable.</summary>
    internal Qwen3Reranker(Qwen3Tokenizer tokenizer, RerankPrompt prompt, RerankerManifest manifest, ExecutionDevice device, string deviceReason,
        IBatchScorer scorer, BatchSchedulerOptions batching, ILogger logger)
    {
        Tokenizer = tokenizer;
        Prompt = prompt;
        Manifest = manifest;
        Device = device;
        DeviceReason = deviceReason;
        _scorer = scorer;
        _scheduler = new BatchScheduler(scorer, batching, logger);
    }

    public Qwen3Tokenizer Tokenizer { get; }

    public RerankPrompt Prompt { get; }

    public RerankerManifest Manifest { get; }

    public ExecutionDevice Device { get; }

    /// <summary>The budgets batches keep to: the configured ones, else the execution provider's defaults.</summary>
    public BatchBudgets Batching => _scheduler.Budgets;

    /// <summary>What waits for a forward pass now, across every caller.</summary>
    public QueueStatus Queue => _scheduler.Queue;

    /// <summary>ONNX Runtime's execution provider for the graph (CUDAExecutionProvider or CPUExecutionProvider).</summary>
    public string ExecutionProviderName => ExecutionDeviceNames.ProviderName(Device);

    /// <summary>Why the graph runs on <see cref="Device"/>: what was asked for and, after a fallback, what failed.</summary>
    public string DeviceReason { get; }

    /// <summary>Loads a Hugging Face checkpoint (built into the cache on first use) or a built directory, then warms the session.</summary>
    public static Qwen3Reranker Load(string modelDirectory, RerankerOptions options, ILogger logger, IProgress<BuildProgress>? progress = null)
    {
        var tokenizerPath = Path.Combine(modelDirectory, "tokenizer.json");
        if (!File.Exists(tokenizerPath))
            throw new ModelFormatException($"{modelDirectory}: tokenizer.json is missing");
        var tokenizer = Qwen3Tokenizer.Load(tokenizerPath);
        var store = new ModelStore(options.CacheRoot ?? ModelStore.DefaultCacheRoot(), logger);
        var built = store.Resolve(modelDirectory, options.Precision, tokenizer.RerankerTokenIds, progress);
        var scorer = OnnxScorer.Open(built, options.Scorer, logger);
        Qwen3Reranker reranker;
        try
        {
            var manifest = scorer.Manifest;
            if (manifest.TokenIds != tokenizer.RerankerTokenIds)
                throw new ModelFormatException($"{built}: built for yes/no/pad ids {manifest.TokenIds}, but tokenizer.json gives {tokenizer.RerankerTokenIds}");
            if (options.MaxLength > manifest.Architecture.MaxPositionEmbeddings)
                throw new ArgumentException($"max length {options.MaxLength} exceeds the model's max_position_embeddings {manifest.Architecture.MaxPositionEmbeddings}");
            reranker = new Qwen3Reranker(tokenizer, new RerankPrompt(tokenizer, options.MaxLength), manifest, scorer.Device, scorer.DeviceReason, scorer,
                options.Batching, logger);
        }
        catch
        {
            scorer.Dispose();
            throw;
        }

        try
        {
            logger.LogInformation("Batches keep to {MaxBatchTokens} padded tokens and {MaxAttentionCells} attention cells (defaults: {Reason})",
                reranker.Batching.MaxBatchTokens, reranker.Batching.MaxAttentionCells, reranker.Batching.Reason);
            // The first run of a session pays for kernel selection and arena growth; pay it before reporting ready.
            reranker.Score("warm-up", ["warm-up"]);
            return reranker;
        }
        catch
        {
            reranker.Dispose();
            throw;
        }
    }

    /// <summary>Scores documents against a query, waiting for the result (the CLI's way; servers use <see cref="ScoreAsync"/>).</summary>
    public PairScore[] Score(string query, IReadOnlyList<string> documents, string? instruction = null) =>
        Score(Prompt.BuildPrompts(documents.Select(d => (query, d)).ToArray(), new PromptOptions { Instruction = instruction }));

    /// <summary>
    /// Room for one request in the shared queue's token bound, taken before its prompts are built (see
    /// <see cref="BatchScheduler.Reserve"/>): give it to <see cref="BuildPromptsAsync"/>, which counts the prompts' tokens
    /// in it as they become known, then to <see cref="ScoreAsync(IReadOnlyList{int[]}, QueueReservation?, CancellationToken)"/>,
    /// which hands it to the queue; dispose it whatever happens.
    /// </summary>
    public QueueReservation ReserveQueue() => _scheduler.Reserve();

    /// <summary>
    /// <see cref="RerankPrompt.BuildPrompts"/> for a server request: inline when the request is short, else on a
    /// dedicated thread behind <see cref="LongTokenizationGate"/>; stops within milliseconds of <paramref name="cancellationToken"/>.
    /// With a <paramref name="reservation"/>, the queue counts the request's tokens as they become known and refuses it
    /// (<see cref="QueueFullException"/>) before the rest is tokenized once they would overflow it: every prompt's
    /// template at once, before anything is tokenized or waits for a tokenization slot, then each prompt's body as it is
    /// built, after <paramref name="onBuilt"/> has seen it.
    /// </summary>
    public async Task<int[][]> BuildPromptsAsync(IReadOnlyList<(string Query, string Document)> pairs, PromptOptions options, Action<int[]>? onBuilt,
        QueueReservation? reservation, CancellationToken cancellationToken)
    {
        var template = Prompt.TemplateTokens;
        reservation?.Add((long)pairs.Count * template);
        var built = reservation is null ? onBuilt : prompt =>
        {
            onBuilt?.Invoke(prompt);
            reservation.Add(prompt.Length - template);
        };
        long chars = 0;
        foreach ((string query, string document) in pairs)
            chars += query.Length + document.Length;
        if (chars < LongTokenizationGate.LongRequestChars)
            return Prompt.BuildPrompts(pairs, options, built, cancellationToken);
        return await _longTokenization.RunAsync(() => Prompt.BuildPrompts(pairs, options, built, cancellationToken), cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>Scores ready-made prompts (see <see cref="Prompt"/>), in their order, waiting for the result.</summary>
    public PairScore[] Score(IReadOnlyList<int[]> prompts) => ScoreAsync(prompts).GetAwaiter().GetResult().Scores;

    /// <summary>
    /// Queues ready-made prompts with every other caller's (see <see cref="BatchScheduler"/>) and completes with their
    /// scores in order. Cancelling takes the prompts that have not run out of the queue. Throws
    /// <see cref="QueueFullException"/> when the queue is full; fails with <see cref="BatchFailedException"/> when a batch
    /// holding one of the prompts fails.
    /// </summary>
    public Task<ScoredPrompts> ScoreAsync(IReadOnlyList<int[]> prompts, CancellationToken cancellationToken = default) =>
        ScoreAsync(prompts, null, cancellationToken);

    /// <summary>
    /// As <see cref="ScoreAsync(IReadOnlyList{int[]}, CancellationToken)"/>, with the room the request reserved while its
    /// prompts were built (<see cref="ReserveQueue"/>): the queue takes it over, and it holds nothing afterwards.
    /// </summary>
    public async Task<ScoredPrompts> ScoreAsync(IReadOnlyList<int[]> prompts, QueueReservation? reservation, CancellationToken cancellationToken = default)
    {
        var scheduled = await _scheduler.ScoreAsync(prompts, reservation, cancellationToken).ConfigureAwait(false);
        var scores = new PairScore[prompts.Count];
        for (var i = 0; i < scores.Length; i++)
            scores[i] = new PairScore(scheduled.Logits[i], Sigmoid(scheduled.Logits[i]), prompts[i].Length);
        return new ScoredPrompts(scores, scheduled.QueueTime, scheduled.InferenceTime);
    }

    public static float Sigmoid(float logit) => (float)(1.0 / (1.0 + Math.Exp(-logit)));

    public void Dispose()
    {
        _scheduler.Dispose();
        (_scorer as IDisposable)?.Dispose();
    }
}
