using System.Globalization;
using System.Text.Json;

namespace FuncRerank.Api.Contract;

/// <summary>
/// Typed reads of request fields that fail with a 400 naming the field. An explicit <c>null</c> reads as absent
/// everywhere, because the Cohere SDK, Xinference and LangChain send every optional field, set or not.
/// </summary>
internal static class JsonFields
{
    public static void RequireObject(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
            throw new ApiException(ApiError.BadRequest(null, ApiErrorCodes.InvalidType,
                $"the request body must be a JSON object; got {body.ValueKind.ToString().ToLowerInvariant()}"));
    }

    public static bool TryGet(JsonElement obj, string name, out JsonElement value)
    {
        try
        {
            return obj.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;
        }
        catch (InvalidOperationException)
        {
            // The lookup unescapes the object's property names, and one of them is "\uD800"-style: not text.
            throw new ApiException(ApiError.BadRequest(null, ApiErrorCodes.InvalidValue,
                $"a property name in the object read for {name} is not valid Unicode text (an unpaired \\uD800-\\uDFFF escape)"));
        }
    }

    /// <param name="param">The field's full path for the error, when it is nested (<c>documents[2].text</c>).</param>
    public static JsonElement Required(JsonElement obj, string name, string? param = null) =>
        TryGet(obj, name, out var value) ? value : throw new ApiException(ApiError.MissingField(param ?? name));

    public static string? OptionalString(JsonElement obj, string name, string? param = null) =>
        TryGet(obj, name, out var value) ? Text(value, param ?? name) : null;

    /// <summary>
    /// A JSON string's text. Fails on bytes that are not UTF-8 and on escapes of unpaired surrogates: the body parser lets
    /// both through, and neither is text a tokenizer can read the way Hugging Face does.
    /// </summary>
    public static string Text(JsonElement value, string param)
    {
        if (value.ValueKind != JsonValueKind.String)
            throw new ApiException(ApiError.InvalidType(param, "a string", value));
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw new ApiException(NotText(param));
        }
    }

    /// <summary>
    /// Fails unless every string and property name under <paramref name="value"/> is text, so a document echoed back
    /// as sent cannot fail halfway through writing the response.
    /// </summary>
    public static void RequireText(JsonElement value, string param)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                Text(value, param);
                break;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in value.EnumerateArray())
                    RequireText(item, $"{param}[{index++}]");
                break;
            case JsonValueKind.Object:
                foreach (var property in value.EnumerateObject())
                    RequireText(property.Value, $"{param}.{PropertyName(property, param)}");
                break;
        }
    }

    /// <summary>true/false, or the strings "true"/"false" in any case (RAGFlow's Xinference client sends strings).</summary>
    public static bool? OptionalBool(JsonElement obj, string name)
    {
        if (!TryGet(obj, name, out var value))
            return null;
        if (value.ValueKind == JsonValueKind.String)
        {
            var text = Text(value, name);
            if (string.Equals(text, "true", StringComparison.OrdinalIgnoreCase))
                return true;
            if (string.Equals(text, "false", StringComparison.OrdinalIgnoreCase))
                return false;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new ApiException(ApiError.InvalidType(name, "true or false", value)),
        };
    }

    /// <summary>
    /// A whole number in the 32-bit range: <c>3</c>, <c>3.0</c> (Python floats) or <c>"3"</c>. Fractions, words and
    /// absurd magnitudes fail rather than being rounded or clamped into something the client did not mean.
    /// </summary>
    public static int? OptionalInt(JsonElement obj, string name)
    {
        if (!TryGet(obj, name, out var value))
            return null;
        switch (value.ValueKind)
        {
            case JsonValueKind.Number when value.TryGetInt32(out var exact):
                return exact;
            case JsonValueKind.Number:
                var number = value.GetDouble();
                if (Math.Floor(number) != number)
                    throw new ApiException(ApiError.BadRequest(name, ApiErrorCodes.InvalidValue, $"{name} must be a whole number; got {value.GetRawText()}"));
                if (number is < int.MinValue or > int.MaxValue)
                    throw new ApiException(ApiError.BadRequest(name, ApiErrorCodes.InvalidValue,
                        $"{name} must be between {int.MinValue} and {int.MaxValue}; got {value.GetRawText()}"));
                return (int)number;
            case JsonValueKind.String when int.TryParse(Text(value, name), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed):
                return parsed;
            default:
                throw new ApiException(ApiError.InvalidType(name, "a whole number", value));
        }
    }

    private static string PropertyName(JsonProperty property, string param)
    {
        try
        {
            return property.Name;
        }
        catch (InvalidOperationException)
        {
            throw new ApiException(NotText(param));
        }
    }

    /// <param name="param">The field at fault, or null for a property name of the body itself.</param>
    public static ApiError NotText(string? param) =>
        ApiError.BadRequest(param, ApiErrorCodes.InvalidValue,
            $"{param ?? "a property name of the request body"} is not valid Unicode text (invalid UTF-8, or an unpaired \\uD800-\\uDFFF escape)");
}
