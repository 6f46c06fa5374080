using FuncRerank.Api.Contract;

namespace FuncRerank.Api.Endpoints;

/// <summary>
/// The server's cap on the tokens one request may have scored (<c>Reranker:MaxRequestTokens</c>), counted on what is
/// really computed: the built prompts, template included and after any truncation, as <c>usage.prompt_tokens</c> reports.
/// </summary>
/// <param name="Field">The request field whose size is at fault (<c>documents</c>, <c>texts</c>, <c>text_2</c>, <c>inputs</c>).</param>
internal sealed record RequestTokenBudget(long MaxTokens, string Field)
{
    /// <summary>Fails with a 400 naming the field, the total and the limit when <paramref name="totalTokens"/> exceeds the limit.</summary>
    /// <param name="what">What was counted, as the message should name it.</param>
    public void Check(long totalTokens, string what)
    {
        if (totalTokens > MaxTokens)
            throw new ApiException(ApiError.BadRequest(Field, ApiErrorCodes.TooManyTokens,
                $"{what} total {totalTokens} tokens; the limit is {MaxTokens} per request: send fewer or shorter texts, or split the request"));
    }
}
