using System.Text.Json;

namespace FuncRerank.Api.Contract;

/// <summary>Writes vLLM's <c>/score</c> response: one entry per pair, in request order, unsorted.</summary>
public static class ScoreResponseWriter
{
    /// <param name="scores">One per pair, in <see cref="ScoreRequest.Pairs"/> order.</param>
    /// <param name="requestId">Unique per request; the response id is <c>score-{requestId}</c>.</param>
    /// <param name="created">When the request was answered (unix seconds in the body).</param>
    /// <exception cref="ApiException">500 when a logit is not finite; nothing has been written then.</exception>
    public static void Write(
        Utf8JsonWriter writer, ScoreRequest request, IReadOnlyList<PairScore> scores, string model, string requestId, DateTimeOffset created)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(request);
        var values = ReportedScores.Values(scores, request.Pairs.Count, request.Scoring.RawScores);
        writer.WriteStartObject();
        writer.WriteString("id", $"score-{requestId}");
        writer.WriteString("object", "list");
        writer.WriteNumber("created", created.ToUnixTimeSeconds());
        writer.WriteString("model", model);
        writer.WriteStartArray("data");
        for (var i = 0; i < values.Length; i++)
        {
            writer.WriteStartObject();
            writer.WriteNumber("index", i);
            writer.WriteString("object", "score");
            writer.WriteNumber("score", values[i]);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        ReportedScores.WriteUsage(writer, ReportedScores.PromptTokens(scores));
        writer.WriteEndObject();
    }
}
