namespace FuncRerank.Api.Hosting;

/// <summary>
/// The process's one reranker and how far it has got. Hosts start listening at once, so /health can say "loading"
/// (503) while a large model is downloaded, built and warmed, and say why when it failed.
/// </summary>
public sealed class RerankerState
{
    private volatile Snapshot _current = new(RerankerStatus.Loading, "the model is loading", null);

    public RerankerStatus Status => _current.Status;

    /// <summary>What /health and the 503 replies say: loading progress, or the failure and how to fix it.</summary>
    public string Detail => _current.Detail;

    /// <summary>The reranker once <see cref="Status"/> is Ready; null before.</summary>
    public Qwen3Reranker? Reranker => _current.Reranker;

    /// <summary>The GPU the process sees (read at model load), for /health and /info; null before.</summary>
    public FuncRerank.Inference.GpuReport? Gpu { get; set; }

    public void ReportProgress(string detail)
    {
        if (_current.Status == RerankerStatus.Loading)
            _current = new Snapshot(RerankerStatus.Loading, detail, null);
    }

    public void SetReady(Qwen3Reranker reranker) => _current = new Snapshot(RerankerStatus.Ready, "ready", reranker);

    public void SetFailed(string reason) => _current = new Snapshot(RerankerStatus.Failed, reason, null);

    private sealed record Snapshot(RerankerStatus Status, string Detail, Qwen3Reranker? Reranker);
}
