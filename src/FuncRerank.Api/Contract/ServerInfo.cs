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
