using System.Diagnostics;
using FuncRerank.Api.Contract;
using FuncRerank.Inference;
using FuncRerank.Prompting;

namespace FuncRerank.Api.Endpoints;

/// <summary>
/// A request's (query, document) pairs through Core's prompt policy (<see cref="RerankPrompt.BuildPrompts"/>, with the
/// request's options, token budget and cancellation), then through the shared batch queue; Core's errors become 400s
/// naming the request's field. The request holds room in the queue from the start (<see cref="Qwen3Reranker.ReserveQueue"/>),
/// so a full queue refuses it as soon as its tokens are known, before the rest of it is tokenized.
/// </summary>
internal static class PairScoring
{
    /// <param name="budget">The request's token limit, checked as each prompt is built, before anything is queued.</param>
    /// <param name="cancellationToken">The client's disconnect and the request's deadline: either stops the tokenization and takes the pairs out of the queue.</param>
    public static async Task<ScoredPairs> ScoreAsync(Qwen3Reranker reranker, IReadOnlyList<(string Query, string Document)> pairs,
        ScoringOptions options, Func<int, string> documentParam, RequestTokenBudget? budget, CancellationToken cancellationToken)
    {
        // The request's span; the queue and the forward passes add their children from the batch thread.
        using var span = RerankTracing.Source.StartActivity("funcrerank.score");
        span?.SetTag("funcrerank.pairs", pairs.Count);
        var started = Stopwatch.GetTimestamp();
        var promptOptions = new PromptOptions
        {
            Instruction = options.Instruction,
            Truncate = options.Truncate,
            KeepDocumentEnd = options.TruncationSide == TruncationSide.Left,
            MaxTokensPerDocument = options.MaxTokensPerDocument,
        };
        // Released by the hand-over to the queue, or here on any failure (400, 429, cancelled) before it.
        using var reservation = reranker.ReserveQueue();
        int[][] prompts;
        using (var tokenize = RerankTracing.Source.StartActivity("funcrerank.tokenize"))
        {
            prompts = await BuildPromptsAsync(reranker, pairs, promptOptions, documentParam, budget, reservation, cancellationToken);
            tokenize?.SetTag("funcrerank.prompt_tokens", prompts.Sum(p => (long)p.Length));
        }

        var tokenization = Stopwatch.GetElapsedTime(started);
        var scored = await reranker.ScoreAsync(prompts, reservation, cancellationToken);
        span?.SetTag("funcrerank.prompt_tokens", scored.Scores.Sum(s => (long)s.PromptTokens));
        return new ScoredPairs(scored.Scores, tokenization, scored.QueueTime, scored.InferenceTime);
    }

    private static async Task<int[][]> BuildPromptsAsync(Qwen3Reranker reranker, IReadOnlyList<(string Query, string Document)> pairs,
        PromptOptions promptOptions, Func<int, string> documentParam, RequestTokenBudget? budget, QueueReservation reservation,
        CancellationToken cancellationToken)
    {
        try
        {
            var built = 0;
            var total = 0L;
            return await reranker.BuildPromptsAsync(pairs, promptOptions, prompt =>
            {
                built++;
                total += prompt.Length;
                budget?.Check(total, $"the {(built < pairs.Count ? "first " : "")}{built} prompts built from {budget.Field} (template included)");
            }, reservation, cancellationToken);
        }
        catch (PromptTooLongException e)
        {
            var field = documentParam(e.PairIndex);
            throw new ApiException(ApiError.BadRequest(field, ApiErrorCodes.TooLong,
                $"{field}: the prompt is {e.PromptTokens} tokens with the template, over the limit of {e.MaxLength}; " +
                "send truncate: true to cut the document instead"));
        }
    }
}
