using System.Text;
using System.Text.Json;

namespace FuncRerank.Api.Contract;

/// <summary>
/// The text the model reads from one query or document in any of the shapes clients send: a string, a Jina/Cohere
/// <c>{"text": ...}</c> object, a vLLM <c>{"content": [{"type": "text", "text": ...}]}</c> object, or a Cohere v1 object
/// ranked by its <c>rank_fields</c>.
/// </summary>
internal static class InputText
{
    private const string Shapes = "a string, an object with \"text\", or an object with \"content\" parts";

    /// <param name="rankFields">Cohere v1 <c>rank_fields</c>; when given, objects are read through them instead of <c>text</c>.</param>
    public static string Read(JsonElement item, string param, IReadOnlyList<string>? rankFields = null) => item.ValueKind switch
    {
        JsonValueKind.String => JsonFields.Text(item, param),
        JsonValueKind.Object when rankFields is not null => JoinRankFields(item, param, rankFields),
        JsonValueKind.Object => ObjectText(item, param),
        _ => throw new ApiException(ApiError.InvalidType(param, Shapes, item)),
    };

    private static string ObjectText(JsonElement item, string param)
    {
        if (JsonFields.TryGet(item, "text", out var text))
            return JsonFields.Text(text, $"{param}.text");
        if (JsonFields.TryGet(item, "content", out var content))
            return ContentText(content, $"{param}.content");
        if (JsonFields.TryGet(item, "image", out _) || JsonFields.TryGet(item, "image_url", out _))
            throw new ApiException(ApiError.BadRequest(param, ApiErrorCodes.UnsupportedContent, $"{param} is an image; this model reads text only"));
        throw new ApiException(ApiError.BadRequest($"{param}.text", ApiErrorCodes.MissingField,
            $"{param}.text is required (or name the fields to rank with rank_fields)"));
    }

    /// <summary>
    /// Text parts joined with nothing between them, as Qwen's chat template joins a message's parts. Any other
    /// part (image, audio, video) fails naming the part, so a client never gets a score for half its input.
    /// </summary>
    private static string ContentText(JsonElement content, string param)
    {
        if (content.ValueKind == JsonValueKind.String)
            return JsonFields.Text(content, param);
        if (content.ValueKind != JsonValueKind.Array)
            throw new ApiException(ApiError.InvalidType(param, "a string or an array of parts", content));
        var text = new StringBuilder();
        var index = 0;
        foreach (var part in content.EnumerateArray())
        {
            var partParam = $"{param}[{index++}]";
            if (part.ValueKind != JsonValueKind.Object)
                throw new ApiException(ApiError.InvalidType(partParam, "an object like {\"type\": \"text\", \"text\": ...}", part));
            var type = JsonFields.OptionalString(part, "type", $"{partParam}.type") ?? "text";
            if (type != "text")
                throw new ApiException(ApiError.BadRequest(partParam, ApiErrorCodes.UnsupportedContent,
                    $"{partParam} is a \"{type}\" part; this model reads text parts only"));
            var textParam = $"{partParam}.text";
            text.Append(JsonFields.Text(JsonFields.Required(part, "text", textParam), textParam));
        }

        return text.ToString();
    }

    /// <summary>
    /// One <c>field: value</c> line per named field, in the order given: the YAML-like form Cohere documents for
    /// structured data ("format structured data as YAML strings") and its v1 "key value pairs … in order". Missing
    /// or null fields are skipped, since records are often sparse; a record with none of them fails.
    /// </summary>
    private static string JoinRankFields(JsonElement item, string param, IReadOnlyList<string> rankFields)
    {
        var lines = new List<string>(rankFields.Count);
        foreach (var field in rankFields)
        {
            if (!JsonFields.TryGet(item, field, out var value))
                continue;
            var text = value.ValueKind == JsonValueKind.String ? JsonFields.Text(value, $"{param}.{field}") : value.GetRawText();
            lines.Add($"{field}: {text}");
        }

        if (lines.Count == 0)
            throw new ApiException(ApiError.BadRequest(param, ApiErrorCodes.MissingField,
                $"{param} has none of the rank_fields ({string.Join(", ", rankFields)})"));
        return string.Join('\n', lines);
    }
}
