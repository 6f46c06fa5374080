namespace FuncRerank.Api.Contract;

/// <summary>One token of a <c>/tokenize</c> answer.</summary>
/// <param name="Text">The token's text as the tokenizer decodes it.</param>
/// <param name="Special">An added/special token such as <c>&lt;|im_end|&gt;</c>.</param>
public readonly record struct SimpleToken(int Id, string Text, bool Special);
