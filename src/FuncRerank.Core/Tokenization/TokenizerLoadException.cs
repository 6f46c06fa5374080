namespace FuncRerank.Tokenization;

/// <summary>
/// Thrown when a tokenizer cannot be loaded, or loads but would not reproduce Hugging Face's token ids
/// (wrong file, unsupported settings, or a runtime without working Unicode normalization).
/// </summary>
public sealed class TokenizerLoadException : Exception
{
    public TokenizerLoadException(string message)
        : base(message)
    {
    }

    public TokenizerLoadException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
