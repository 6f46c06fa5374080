namespace FuncRerank.Api.Contract;

/// <summary>A TEI <c>/tokenize</c> request: the texts to tokenize, in order.</summary>
public sealed record TokenizeRequest(IReadOnlyList<string> Inputs);
