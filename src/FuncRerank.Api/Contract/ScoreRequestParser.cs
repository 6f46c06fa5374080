using System.Text.Json;

namespace FuncRerank.Api.Contract;

/// <summary>
/// Reads vLLM's <c>/score</c> body: <c>text_1</c> (queries) and <c>text_2</c> (documents), each a string or a list,
/// paired 1:1, 1:N or N:N as vLLM pairs them. Newer vLLM names the same fields <c>data_1</c>/<c>data_2</c> or
/// <c>queries</c> with <c>items</c>/<c>documents</c>; those are read too.
/// </summary>
public static class ScoreRequestParser
{
    private static readonly (string Queries, string Documents)[] FieldNames =
        [("text_1", "text_2"), ("data_1", "data_2"), ("queries", "items"), ("queries", "documents")];

    /// <param name="cancellationToken">The request's: stops the queries' token counts (<see cref="RerankLimits.CountTokens"/>).</param>
    public static ScoreRequest Parse(JsonElement body, RerankLimits limits, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(limits);
        JsonFields.RequireObject(body);
        var (queriesField, documentsField) = FindFields(body);
        var queryValues = Side(body, queriesField, limits);
        var documentValues = Side(body, documentsField, limits);
        if (queryValues.Length != 1 && queryValues.Length != documentValues.Length)
            throw new ApiException(ApiError.BadRequest(documentsField, ApiErrorCodes.LengthMismatch,
                $"{queriesField} has {queryValues.Length} entries and {documentsField} has {documentValues.Length}; " +
                "the lengths must be 1:1, 1:N or N:N"));

        var queries = queryValues.Select(q => RerankRequestParser.ReadQuery(q.Value, q.Param, limits, cancellationToken)).ToArray();
        var pairs = documentValues
            .Select((d, i) => new ScorePair(queries.Length == 1 ? queries[0] : queries[i], InputText.Read(d.Value, d.Param)))
            .ToArray();
        return new ScoreRequest(JsonFields.OptionalString(body, "model"), pairs, ScoringOptionsParser.Parse(body, limits));
    }

    private static (string Queries, string Documents) FindFields(JsonElement body)
    {
        foreach (var names in FieldNames)
        {
            if (JsonFields.TryGet(body, names.Queries, out _) && JsonFields.TryGet(body, names.Documents, out _))
                return names;
        }

        throw new ApiException(ApiError.MissingField(JsonFields.TryGet(body, "text_1", out _) ? "text_2" : "text_1"));
    }

    /// <summary>A string is a list of one; each entry keeps its own path for errors (<c>text_2[4]</c>).</summary>
    private static (JsonElement Value, string Param)[] Side(JsonElement body, string field, RerankLimits limits)
    {
        var value = JsonFields.Required(body, field);
        if (value.ValueKind != JsonValueKind.Array)
            return [(value, field)];
        if (value.GetArrayLength() == 0)
            throw new ApiException(ApiError.BadRequest(field, ApiErrorCodes.EmptyValue, $"{field} must not be empty"));
        RerankRequestParser.CheckDocumentCount(value.GetArrayLength(), field, limits);
        return value.EnumerateArray().Select((item, i) => (item, $"{field}[{i}]")).ToArray();
    }
}
