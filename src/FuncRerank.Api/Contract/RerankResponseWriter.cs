using System.Text.Json;

namespace FuncRerank.Api.Contract;

/// <summary>Writes the response to a <see cref="RerankRequest"/> in the shape its dialect's clients parse.</summary>
public static class RerankResponseWriter
{
    /// <param name="scores">One per document, in request order.</param>
    /// <param name="model">The served model name (not the one the client sent).</param>
    /// <param name="requestId">Unique per request; the response id is <c>rerank-{requestId}</c>.</param>
    /// <exception cref="ApiException">500 when a logit is not finite; nothing has been written then.</exception>
    public static void Write(Utf8JsonWriter writer, RerankRequest request, IReadOnlyList<PairScore> scores, string model, string requestId)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(request);
        var values = ReportedScores.Values(scores, request.Documents.Count, request.Scoring.RawScores);
        var ranked = ReportedScores.Ranked(scores).AsSpan(0, request.ResultCount);
        switch (request.Dialect)
        {
            case RerankDialect.Tei:
                WriteTei(writer, request, values, ranked);
                break;
            case RerankDialect.Voyage:
                WriteVoyage(writer, request, values, ranked, ReportedScores.PromptTokens(scores), model);
                break;
            default:
                WriteStandard(writer, request, values, ranked, ReportedScores.PromptTokens(scores), model, requestId);
                break;
        }
    }

    /// <summary>
    /// Cohere/Jina/vLLM: <c>usage</c> for vLLM/Jina/RAGFlow and <c>meta</c> for Cohere/FastGPT/Xinference. A result's
    /// <c>document</c> is left out, never null, when not asked for: Dify's LocalAI and GPUStack plugins crash on null.
    /// </summary>
    private static void WriteStandard(
        Utf8JsonWriter writer, RerankRequest request, float[] values, ReadOnlySpan<int> ranked, long promptTokens, string model, string requestId)
    {
        writer.WriteStartObject();
        writer.WriteString("id", $"rerank-{requestId}");
        writer.WriteString("model", model);
        writer.WriteStartArray("results");
        foreach (var index in ranked)
        {
            writer.WriteStartObject();
            writer.WriteNumber("index", index);
            writer.WriteNumber("relevance_score", values[index]);
            if (request.ReturnDocuments)
            {
                writer.WritePropertyName("document");
                WriteDocument(writer, request.Documents[index]);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        ReportedScores.WriteUsage(writer, promptTokens);
        WriteCohereMeta(writer, promptTokens);
        writer.WriteEndObject();
    }

    /// <summary>An object document comes back as sent, extra fields and all (Cohere v1, Jina); a string as <c>{"text"}</c>.</summary>
    private static void WriteDocument(Utf8JsonWriter writer, RerankDocument document)
    {
        if (document.Original is { } original)
        {
            original.WriteTo(writer);
            return;
        }

        writer.WriteStartObject();
        writer.WriteString("text", document.Text);
        writer.WriteEndObject();
    }

    private static void WriteCohereMeta(Utf8JsonWriter writer, long promptTokens)
    {
        writer.WriteStartObject("meta");
        writer.WriteStartObject("api_version");
        writer.WriteString("version", "2");
        writer.WriteEndObject();
        writer.WriteStartObject("billed_units");
        writer.WriteNumber("input_tokens", promptTokens);
        writer.WriteNumber("search_units", 1);
        writer.WriteEndObject();
        writer.WriteStartObject("tokens");
        writer.WriteNumber("input_tokens", promptTokens);
        writer.WriteNumber("output_tokens", 0);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>TEI: a bare array, every input ranked (LlamaIndex asserts one result per text), <c>text</c> only with <c>return_text</c>.</summary>
    private static void WriteTei(Utf8JsonWriter writer, RerankRequest request, float[] values, ReadOnlySpan<int> ranked)
    {
        writer.WriteStartArray();
        WriteTextResults(writer, request, values, ranked, scoreName: "score", textName: "text");
        writer.WriteEndArray();
    }

    /// <summary>
    /// Voyage AI: results under <c>data</c>, a result's <c>document</c> the text itself (Voyage takes only strings),
    /// and <c>usage</c> with <c>total_tokens</c> alone, as the <c>voyage-ai-provider</c> package parses it.
    /// </summary>
    private static void WriteVoyage(Utf8JsonWriter writer, RerankRequest request, float[] values, ReadOnlySpan<int> ranked, long promptTokens, string model)
    {
        writer.WriteStartObject();
        writer.WriteString("object", "list");
        writer.WriteStartArray("data");
        WriteTextResults(writer, request, values, ranked, scoreName: "relevance_score", textName: "document");
        writer.WriteEndArray();
        writer.WriteString("model", model);
        writer.WriteStartObject("usage");
        writer.WriteNumber("total_tokens", promptTokens);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>One <c>{"index", score, text?}</c> object per ranked result, the text only when documents are asked for.</summary>
    private static void WriteTextResults(Utf8JsonWriter writer, RerankRequest request, float[] values, ReadOnlySpan<int> ranked, string scoreName, string textName)
    {
        foreach (var index in ranked)
        {
            writer.WriteStartObject();
            writer.WriteNumber("index", index);
            writer.WriteNumber(scoreName, values[index]);
            if (request.ReturnDocuments)
                writer.WriteString(textName, request.Documents[index].Text);
            writer.WriteEndObject();
        }
    }
}
