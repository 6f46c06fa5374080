using FuncRerank.Api.Contract;

namespace FuncRerank.Api.Endpoints;

/// <summary>
/// Tokenization and scoring of a request's (query, document) pairs under its options: the prompt, the cut, and a 400
/// when the client forbade cutting. The default path is the model card's exactly.
/// </summary>
internal static class PairScoring
{
    /// <param name="budget">The request's token limit, checked on the built prompts before anything is scored.</param>
    public static PairScore[] Score(Qwen3Reranker reranker, IReadOnlyList<(string Query, string Document)> pairs, ScoringOptions options,
        Func<int, string> documentParam, RequestTokenBudget? budget = null)
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

        budget?.Check(prompts);
        return reranker.Score(prompts);
    }
}
