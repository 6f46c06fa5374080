using System.Text.Json;

namespace FuncRerank.Api.Contract;

/// <summary>One document to score.</summary>
/// <param name="Text">What the model reads.</param>
/// <param name="Original">The object the client sent, echoed back as the result's <c>document</c>; null for a plain string, echoed as <c>{"text"}</c>.</param>
public sealed record RerankDocument(string Text, JsonElement? Original);
