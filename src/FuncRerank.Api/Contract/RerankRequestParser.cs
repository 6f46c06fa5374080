using System.Text.Json;

namespace FuncRerank.Api.Contract;

/// <summary>
/// Reads a rerank body from any client: Cohere v1/v2, Jina, vLLM, Infinity, Xinference, LocalAI, and TEI (a body
/// with <c>texts</c> instead of <c>documents</c>). Liberal in what it takes (null means absent, booleans may be
/// strings, unknown fields are ignored), strict where a guess would change the result: every failure is a 400
/// naming the field.
/// </summary>
public static class RerankRequestParser
{
    /// <param name="cancellationToken">The request's: stops the query's token count (<see cref="RerankLimits.CountTokens"/>).</param>
    public static RerankRequest Parse(JsonElement body, RerankLimits limits, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(limits);
        JsonFields.RequireObject(body);
        var dialect = ReadDialect(body);
        var model = JsonFields.OptionalString(body, "model");
        var query = ReadQuery(JsonFields.Required(body, "query"), "query", limits, cancellationToken);
        var documents = ParseDocuments(body, dialect == RerankDialect.Tei ? "texts" : "documents", ParseRankFields(body), limits);
        var scoring = ScoringOptionsParser.Parse(body, limits);
        return dialect switch
        {
            RerankDialect.Tei => new RerankRequest(dialect, model, query, documents, TopN: null, JsonFields.OptionalBool(body, "return_text") ?? false, scoring),
            RerankDialect.Voyage => new RerankRequest(dialect, model, query, documents, ParseTopN(body, "top_k"), ReadReturnDocuments(body) ?? false, scoring),
            _ => new RerankRequest(dialect, model, query, documents, ParseTopN(body, "top_n"), ReadReturnDocuments(body) ?? true, scoring),
        };
    }

    /// <summary>
    /// TEI when the body has <c>texts</c> and no <c>documents</c>; Voyage when it has Voyage's own <c>top_k</c> or
    /// <c>truncation</c> and no <c>top_n</c>; otherwise the shape Cohere, Jina and vLLM clients share.
    /// </summary>
    private static RerankDialect ReadDialect(JsonElement body)
    {
        if (!JsonFields.TryGet(body, "documents", out _) && JsonFields.TryGet(body, "texts", out _))
            return RerankDialect.Tei;
        if (!JsonFields.TryGet(body, "top_n", out _) && (JsonFields.TryGet(body, "top_k", out _) || JsonFields.TryGet(body, "truncation", out _)))
            return RerankDialect.Voyage;
        return RerankDialect.Standard;
    }

    /// <summary>
    /// <c>return_documents</c>, or <c>returnDocuments</c>: the Cohere SDK's v2 client has no such option and sends the
    /// caller's extra keys as written, in camelCase.
    /// </summary>
    private static bool? ReadReturnDocuments(JsonElement body) =>
        JsonFields.OptionalBool(body, "return_documents") ?? JsonFields.OptionalBool(body, "returnDocuments");

    /// <summary>A query string (or vLLM content parts); empty or blank fails as on Cohere, and so does one over the size limits.</summary>
    internal static string ReadQuery(JsonElement value, string param, RerankLimits limits, CancellationToken cancellationToken)
    {
        var query = InputText.Read(value, param);
        if (string.IsNullOrWhiteSpace(query))
            throw new ApiException(ApiError.BadRequest(param, ApiErrorCodes.EmptyValue, $"{param} must not be empty or only whitespace"));
        if (query.Length > limits.MaxQueryCharacters)
            throw new ApiException(ApiError.BadRequest(param, ApiErrorCodes.TooLong,
                $"{param} has {query.Length} characters; the limit is {limits.MaxQueryCharacters}"));
        if (limits.CountTokens?.Invoke(query, cancellationToken) is { } tokens && tokens > limits.MaxQueryTokens)
            throw new ApiException(ApiError.BadRequest(param, ApiErrorCodes.TooLong,
                $"{param} has {tokens} tokens; the limit is {limits.MaxQueryTokens}"));
        return query;
    }

    /// <summary>Fails when a request would score more pairs than the limit allows.</summary>
    internal static void CheckDocumentCount(int count, string param, RerankLimits limits)
    {
        if (count > limits.MaxDocuments)
            throw new ApiException(ApiError.BadRequest(param, ApiErrorCodes.TooManyDocuments,
                $"{param} has {count} entries; the limit is {limits.MaxDocuments} per request"));
    }

    private static RerankDocument[] ParseDocuments(JsonElement body, string field, IReadOnlyList<string>? rankFields, RerankLimits limits)
    {
        var array = JsonFields.Required(body, field);
        if (array.ValueKind != JsonValueKind.Array)
            throw new ApiException(ApiError.InvalidType(field, "an array", array));
        var count = array.GetArrayLength();
        if (count == 0)
            throw new ApiException(ApiError.BadRequest(field, ApiErrorCodes.EmptyValue, $"{field} must not be empty"));
        CheckDocumentCount(count, field, limits);
        return array.EnumerateArray().Select((item, i) => ParseDocument(item, $"{field}[{i}]", rankFields)).ToArray();
    }

    private static RerankDocument ParseDocument(JsonElement item, string param, IReadOnlyList<string>? rankFields)
    {
        if (item.ValueKind != JsonValueKind.Object)
            return new RerankDocument(InputText.Read(item, param, rankFields), null);
        // Checked before reading, so rank_fields can render any value; cloned so it outlives the caller's JsonDocument.
        JsonFields.RequireText(item, param);
        return new RerankDocument(InputText.Read(item, param, rankFields), item.Clone());
    }

    /// <summary>Cohere v1 <c>rank_fields</c>; an empty list means the default <c>text</c> field, as when absent.</summary>
    private static string[]? ParseRankFields(JsonElement body)
    {
        if (!JsonFields.TryGet(body, "rank_fields", out var value))
            return null;
        if (value.ValueKind != JsonValueKind.Array)
            throw new ApiException(ApiError.InvalidType("rank_fields", "an array of field names", value));
        var fields = value.EnumerateArray().Select((field, i) => JsonFields.Text(field, $"rank_fields[{i}]")).ToArray();
        return fields.Length == 0 ? null : fields;
    }

    /// <summary>Zero or negative means all, as on vLLM; null too, which vLLM rejects and Dify sends (dify#14140).</summary>
    private static int? ParseTopN(JsonElement body, string name) => JsonFields.OptionalInt(body, name) is > 0 and var n ? n : null;
}
