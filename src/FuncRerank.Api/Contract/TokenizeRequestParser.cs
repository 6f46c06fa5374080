using System.Text.Json;

namespace FuncRerank.Api.Contract;

/// <summary>
/// Reads TEI's <c>/tokenize</c> body: <c>inputs</c> is a string or a list of strings. <c>add_special_tokens</c> is
/// ignored: Qwen3's tokenizer adds no special tokens either way.
/// </summary>
public static class TokenizeRequestParser
{
    public static TokenizeRequest Parse(JsonElement body, RerankLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        JsonFields.RequireObject(body);
        var inputs = JsonFields.Required(body, "inputs");
        if (inputs.ValueKind != JsonValueKind.Array)
            return new TokenizeRequest([JsonFields.Text(inputs, "inputs")]);
        if (inputs.GetArrayLength() == 0)
            throw new ApiException(ApiError.BadRequest("inputs", ApiErrorCodes.EmptyValue, "inputs must not be empty"));
        RerankRequestParser.CheckDocumentCount(inputs.GetArrayLength(), "inputs", limits);
        return new TokenizeRequest(inputs.EnumerateArray().Select((input, i) => JsonFields.Text(input, $"inputs[{i}]")).ToArray());
    }
}
