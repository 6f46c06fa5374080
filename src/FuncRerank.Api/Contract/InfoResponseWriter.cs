using System.Text.Json;

namespace FuncRerank.Api.Contract;

/// <summary>
/// Writes <c>GET /info</c> as TEI does (Dify's TEI provider reads it before it sends a rerank request), less TEI's
/// <c>max_concurrent_requests</c>, a limit FuncRerank does not have: the token-bounded queue takes its place.
/// </summary>
public static class InfoResponseWriter
{
    public static void Write(Utf8JsonWriter writer, ServerInfo info)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(info);
        writer.WriteStartObject();
        writer.WriteString("model_id", info.ModelId);
        writer.WriteNull("model_sha");
        writer.WriteString("model_dtype", info.ModelDtype);
        writer.WriteString("served_model_name", info.ServedModelName);
        WriteModelType(writer);
        writer.WriteNumber("max_input_length", info.MaxInputLength);
        writer.WriteNumber("max_batch_tokens", info.MaxBatchTokens);
        writer.WriteNull("max_batch_requests");
        writer.WriteNumber("max_client_batch_size", info.MaxClientBatchSize);
        writer.WriteNumber("max_queued_tokens", info.MaxQueuedTokens);
        writer.WriteNumber("max_request_bytes", info.MaxRequestBytes);
        writer.WriteBoolean("auto_truncate", info.AutoTruncate);
        writer.WriteNumber("tokenization_workers", info.TokenizationWorkers);
        writer.WriteString("version", info.Version);
        writer.WriteNull("sha");
        writer.WriteNull("docker_label");
        writer.WriteString("execution_provider", info.ExecutionProvider);
        writer.WriteString("gpu", info.Gpu);
        writer.WriteEndObject();
    }

    /// <summary>
    /// Dify's TEI provider requires <c>model_type</c> to be an object whose only key is <c>reranker</c>; the one label
    /// is the model's "yes", whose probability is the score.
    /// </summary>
    private static void WriteModelType(Utf8JsonWriter writer)
    {
        writer.WriteStartObject("model_type");
        writer.WriteStartObject("reranker");
        writer.WriteStartObject("id2label");
        writer.WriteString("0", "yes");
        writer.WriteEndObject();
        writer.WriteStartObject("label2id");
        writer.WriteNumber("yes", 0);
        writer.WriteEndObject();
        writer.WriteEndObject();
        writer.WriteEndObject();
    }
}
