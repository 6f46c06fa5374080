using System.Text.Json;

namespace FuncRerank.Api.Contract;

/// <summary>Reads the scoring fields every dialect may carry, under each server's name for them.</summary>
internal static class ScoringOptionsParser
{
    public static ScoringOptions Parse(JsonElement body, RerankLimits limits)
    {
        var instruction = JsonFields.OptionalString(body, "instruction");
        var instruct = JsonFields.OptionalString(body, "instruct");
        var kwargsInstruction = KwargsInstruction(body);
        var chosen = instruction ?? instruct ?? kwargsInstruction;
        if (chosen is not null && chosen.Length > limits.MaxInstructionCharacters)
        {
            var param = instruction is not null ? "instruction" : instruct is not null ? "instruct" : "kwargs.instruction";
            throw new ApiException(ApiError.BadRequest(param, ApiErrorCodes.TooLong,
                $"{param} has {chosen.Length} characters; the limit is {limits.MaxInstructionCharacters}"));
        }

        var rawScores = JsonFields.OptionalBool(body, "raw_scores");
        var useActivation = JsonFields.OptionalBool(body, "use_activation");
        return new ScoringOptions
        {
            Instruction = chosen,
            RawScores = rawScores == true || useActivation == false,
            // TEI's truncate, Voyage's truncation.
            Truncate = JsonFields.OptionalBool(body, "truncate") ?? JsonFields.OptionalBool(body, "truncation") ?? true,
            TruncationSide = ReadTruncationSide(body, "truncation_direction") ?? ReadTruncationSide(body, "truncation_side") ?? TruncationSide.Right,
            MaxTokensPerDocument = ReadMaxTokensPerDocument(body),
        };
    }

    /// <summary>Xinference sends <c>kwargs</c> as a JSON string (<c>"{\"instruction\": ...}"</c>); an object is taken too.</summary>
    private static string? KwargsInstruction(JsonElement body)
    {
        if (!JsonFields.TryGet(body, "kwargs", out var kwargs))
            return null;
        var options = kwargs;
        if (kwargs.ValueKind == JsonValueKind.String)
        {
            if (ParseKwargsText(JsonFields.Text(kwargs, "kwargs")) is not { } parsed)
                return null;
            options = parsed;
        }

        if (options.ValueKind != JsonValueKind.Object)
            throw new ApiException(ApiError.InvalidType("kwargs", "a JSON object or a string holding one", options));
        return JsonFields.TryGet(options, "instruction", out var value) ? JsonFields.Text(value, "kwargs.instruction") : null;
    }

    /// <summary>The JSON inside a <c>kwargs</c> string, or null for a blank one.</summary>
    private static JsonElement? ParseKwargsText(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
            return null;
        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new ApiException(ApiError.BadRequest("kwargs", ApiErrorCodes.InvalidValue, $"kwargs must hold a JSON object: {e.Message}"));
        }
    }

    private static TruncationSide? ReadTruncationSide(JsonElement body, string name) =>
        JsonFields.OptionalString(body, name)?.ToLowerInvariant() switch
        {
            null => null,
            "right" => TruncationSide.Right,
            "left" => TruncationSide.Left,
            _ => throw new ApiException(ApiError.BadRequest(name, ApiErrorCodes.InvalidValue, $"{name} must be \"right\" or \"left\"")),
        };

    private static int? ReadMaxTokensPerDocument(JsonElement body)
    {
        var value = JsonFields.OptionalInt(body, "max_tokens_per_doc");
        if (value <= 0)
            throw new ApiException(ApiError.BadRequest("max_tokens_per_doc", ApiErrorCodes.InvalidValue,
                $"max_tokens_per_doc must be a positive whole number; got {value}"));
        return value;
    }
}
