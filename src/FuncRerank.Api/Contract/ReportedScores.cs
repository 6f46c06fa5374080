using System.Text.Json;

namespace FuncRerank.Api.Contract;

/// <summary>The numbers every scoring response reports, checked before a byte of the response is written.</summary>
internal static class ReportedScores
{
    /// <summary>
    /// Each pair's score as the client asked for it: the probability <c>sigmoid(logit)</c>, or the logit when raw.
    /// A non-finite logit fails the whole request as a 500: JSON has no NaN, and a client must never rank on one.
    /// </summary>
    public static float[] Values(IReadOnlyList<PairScore> scores, int expectedCount, bool raw)
    {
        ArgumentNullException.ThrowIfNull(scores);
        if (scores.Count != expectedCount)
            throw new ArgumentException($"{scores.Count} scores for {expectedCount} inputs", nameof(scores));
        var values = new float[scores.Count];
        for (var i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(scores[i].Logit))
                throw new ApiException(ApiError.Internal($"the model produced a non-finite score for input {i}"));
            values[i] = raw ? scores[i].Logit : scores[i].Score;
        }

        return values;
    }

    /// <summary>
    /// Input indices, best first: logit descending, then index ascending. Ranking on the logit keeps the model's order
    /// among near-certain documents whose float probabilities all round to 1.
    /// </summary>
    public static int[] Ranked(IReadOnlyList<PairScore> scores) =>
        Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i].Logit).ThenBy(i => i).ToArray();

    /// <summary>Prompt tokens of every pair scored (template included), whether or not its result is returned.</summary>
    public static long PromptTokens(IReadOnlyList<PairScore> scores) => scores.Sum(s => (long)s.PromptTokens);

    /// <summary>
    /// OpenAI-style <c>usage</c>, as vLLM writes it; vLLM, Jina and RAGFlow read it, and the Vercel AI SDK's Together
    /// provider rejects a reply without all three counts.
    /// </summary>
    public static void WriteUsage(Utf8JsonWriter writer, long promptTokens)
    {
        writer.WriteStartObject("usage");
        writer.WriteNumber("prompt_tokens", promptTokens);
        writer.WriteNumber("completion_tokens", 0);
        writer.WriteNumber("total_tokens", promptTokens);
        writer.WriteEndObject();
    }
}
