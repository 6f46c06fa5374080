namespace FuncRerank.Prompting;

/// <summary>A prompt is longer than the model's limit and the caller asked not to cut it (<see cref="PromptOptions.Truncate"/> false).</summary>
public sealed class PromptTooLongException(int pairIndex, int promptTokens, int maxLength)
    : Exception($"pair {pairIndex}: the prompt is {promptTokens} tokens with the template, over the limit of {maxLength}")
{
    /// <summary>Index of the offending pair in the request.</summary>
    public int PairIndex { get; } = pairIndex;

    /// <summary>The prompt's length without truncation, template included.</summary>
    public int PromptTokens { get; } = promptTokens;

    public int MaxLength { get; } = maxLength;
}
