namespace FuncRerank.Api.Contract;

/// <summary>Which end of an over-long document is cut.</summary>
public enum TruncationSide
{
    /// <summary>Keep the start, cut the end (TEI, vLLM and the model card's default).</summary>
    Right,

    /// <summary>Keep the end, cut the start.</summary>
    Left,
}
