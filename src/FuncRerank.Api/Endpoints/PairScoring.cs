using System.Diagnostics;
using FuncRerank.Api.Contract;
using FuncRerank.Inference;

namespace FuncRerank.Api.Endpoints;

/// <summary>A request's scores with where its time went (TEI's timing headers), and its prompt tokens.</summary>
internal sealed record ScoredPairs(PairScore[] Scores, TimeSpan TokenizationTime, TimeSpan QueueTime, TimeSpan InferenceTime)
{
    public long PromptTokens => Scores.Sum(s => (long)s.PromptTokens);
}

/// <summary>
/// Tokenization of a request's (query, document) pairs under its options (the prompt, the cut, and a 400 when the client
/// forbade cutting; the default path is the model card's exactly), then scoring through the shared batch queue.
/// </summary>
internal static class PairScoring
{
    /// <param name="budget">The request's token limit, checked on the built prompts before anything is queued.</param>
    /// <param name="cancellationToken">The client's disconnect and the request's deadline: either takes the pairs out of the queue.</param>
    public static async Task<ScoredPairs> ScoreAsync(Qwen3Reranker reranker, IReadOnlyList<(string Query, string Document)> pairs,
        ScoringOptions options, Func<int, string> documentParam, RequestTokenBudget? budget, CancellationToken cancellationToken)
    {
        // The request's span; the queue and the forward passes add their children from the batch thread.
        using var span = RerankTracing.Source.StartActivity("funcrerank.score");
        span?.SetTag("funcrerank.pairs", pairs.Count);
        var started = Stopwatch.GetTimestamp();
        int[][] prompts;
        using (var tokenize = RerankTracing.Source.StartActivity("funcrerank.tokenize"))
        {
            prompts = BuildPrompts(reranker, pairs, options, documentParam);
            tokenize?.SetTag("funcrerank.prompt_tokens", prompts.Sum(p => (long)p.Length));
        }

        budget?.Check(prompts);
        var tokenization = Stopwatch.GetElapsedTime(started);
        var scored = await reranker.ScoreAsync(prompts, cancellationToken);
        span?.SetTag("funcrerank.prompt_tokens", scored.Scores.Sum(s => (long)s.PromptTokens));
        return new ScoredPairs(scored.Scores, tokenization, scored.QueueTime, scored.InferenceTime);
    }

    private static int[][] BuildPrompts(Qwen3Reranker reranker, IReadOnlyList<(string Query, string Document)> pairs, ScoringOptions options,
        Func<int, string> documentParam)
    {
        var prompt = reranker.Prompt;
        var prompts = new int[pairs.Count][];
        for (var i = 0; i < pairs.Count; i++)
        {
            var (query, document) = pairs[i];
            if (options.MaxTokensPerDocument is null && options.TruncationSide == TruncationSide.Right && options.Truncate)
            {
                prompts[i] = prompt.Build(query, document, options.Instruction);
                continue;
            }

            var built = options.MaxTokensPerDocument is null && options.TruncationSide == TruncationSide.Right
                ? prompt.BuildWithInfo(query, document, options.Instruction)
                : prompt.BuildWithDocumentLimit(query, document, options.Instruction, options.MaxTokensPerDocument,
                    keepDocumentEnd: options.TruncationSide == TruncationSide.Left);
            if (!options.Truncate && built.Truncated)
                throw new ApiException(ApiError.BadRequest(documentParam(i), ApiErrorCodes.TooLong,
                    $"{documentParam(i)}: the prompt is {built.UntruncatedBodyTokens + prompt.PrefixIds.Count + prompt.SuffixIds.Count} tokens " +
                    $"with the template, over the limit of {prompt.MaxLength}; send truncate: true to cut the document instead"));
            prompts[i] = built.Ids;
        }

        return prompts;
    }
}
