using System.Text.Json;

namespace FuncRerank.Api.Contract;

/// <summary>What <c>GET /info</c> reports about the served model and the limits the server enforces (and no others).</summary>
/// <param name="ModelId">The checkpoint's name, e.g. <c>Qwen/Qwen3-Reranker-0.6B</c>, or a local directory's name (never its path).</param>
/// <param name="ModelDtype">The graph's precision: <c>float32</c> or <c>float16</c>.</param>
/// <param name="MaxInputLength">Most tokens in one prompt.</param>
/// <param name="MaxClientBatchSize">Most documents in one request.</param>
/// <param name="MaxQueuedTokens">Prompt tokens that may wait for the model before a request gets 429.</param>
/// <param name="MaxRequestBytes">Most bytes in a request body (after decompression).</param>
/// <param name="ExecutionProvider">The ONNX Runtime provider the model runs on.</param>
/// <param name="Gpu">The GPU, driver and CUDA runtime the replica sees (<see cref="FuncRerank.Inference.GpuReport.Describe"/>).</param>
public sealed record ServerInfo(
    string ModelId,
    string ServedModelName,
    string ModelDtype,
    int MaxInputLength,
    int MaxBatchTokens,
    int MaxClientBatchSize,
    long MaxQueuedTokens,
    long MaxRequestBytes,
    bool AutoTruncate,
    int TokenizationWorkers,
    string Version,
    string ExecutionProvider,
    string? Gpu);

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
