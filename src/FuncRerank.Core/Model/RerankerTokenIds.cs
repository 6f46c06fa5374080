namespace FuncRerank.Model;

/// <summary>
/// The token ids a built model is tied to, all from <c>tokenizer.json</c>: the score is logit(<paramref name="Yes"/>) −
/// logit(<paramref name="No"/>) at the last position, and <paramref name="Pad"/> fills the left padding. The builder
/// writes them into the score head and <c>reranker.json</c>; loading checks them against the tokenizer.
/// </summary>
public sealed record RerankerTokenIds(int Yes, int No, int Pad)
{
    /// <summary>"yes/no/pad", as the error messages name them.</summary>
    public override string ToString() => $"{Yes}/{No}/{Pad}";
}
