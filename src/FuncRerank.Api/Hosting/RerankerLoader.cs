using FuncRerank.Inference;
using FuncRerank.Model;
using FuncRerank.Model.Building;
using FuncRerank.Model.Hub;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FuncRerank.Api.Hosting;

/// <summary>
/// Loads and warms the model when the host starts, on a background thread, so the first request never pays for it
/// and the host can answer /health meanwhile. A failure leaves the process up, with the reason in /health.
/// The model is released only once the host has stopped: the web server drains the requests still running in its own
/// StopAsync, which runs after this service's (hosted services stop in reverse order), and those requests need the model.
/// </summary>
public sealed class RerankerLoader(RerankerState state, IOptions<RerankerSettings> options, ILogger<RerankerLoader> logger) : IHostedLifecycleService
{
    private readonly Dictionary<string, int> _lastLogged = [];
    private Task? _loading;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loading = Task.Run(Load, CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        if (_loading is not null)
            await _loading.WaitAsync(cancellationToken).ConfigureAwait(false);
        state.Reranker?.Dispose();
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void Load()
    {
        var settings = options.Value;
        try
        {
            var directory = ResolveModelDirectory(settings);
            logger.LogInformation("Loading the reranker from {Directory}", directory);
            var rerankerOptions = settings.ToRerankerOptions();
            // Which GPU, driver and CUDA runtime this replica got, before anything can fail: the first deploy's answer.
            state.Gpu = GpuReport.Read();
            logger.LogInformation("GPU: {Gpu}", state.Gpu.Describe());
            var progress = new Progress<BuildProgress>(p => Report("building the ONNX model", p.BytesDone, p.BytesTotal));
            var started = System.Diagnostics.Stopwatch.StartNew();
            var reranker = Qwen3Reranker.Load(directory, rerankerOptions, logger, progress);
            state.SetReady(reranker);
            // One line that answers "is it on the GPU, and if not, why not" for whoever reads the container's log.
            var log = reranker.Device != ExecutionDeviceNames.Parse(settings.Device) ? LogLevel.Warning : LogLevel.Information;
            logger.Log(log, "Execution provider: {Provider} ({Reason}; Reranker:Device={Requested}, Reranker:RequireCuda={RequireCuda})",
                reranker.ExecutionProviderName, reranker.DeviceReason, settings.Device, settings.RequireCuda);
            logger.LogInformation("Reranker {Model} ready in {Seconds:F1} s on {Device}", settings.EffectiveModelName, started.Elapsed.TotalSeconds, reranker.Device);
        }
        catch (Exception e)
        {
            // Whatever went wrong, the process stays up and says why in /health and in every 503.
            var expected = ModelLoadFailure.IsExpected(e);
            var reason = e.Message.TrimEnd();
            // A failure under Reranker:Device=cuda reads with the GPU, driver and CUDA versions this replica met.
            if (state.Gpu is { } gpu && LoadFailureAdvice.IsCuda(settings.Device))
                reason = $"{reason} (GPU: {gpu.Describe()})";
            state.SetFailed(reason);
            logger.LogError(expected ? null : e, "The model could not be loaded: {Reason} {Fix}",
                reason.EndsWith('.') ? reason : reason + ".", LoadFailureAdvice.For(e, settings));
        }
    }

    /// <summary>Reranker:ModelPath as given, else the Hub snapshot of Reranker:ModelId (default Qwen3-Reranker-0.6B), downloaded if needed.</summary>
    private string ResolveModelDirectory(RerankerSettings settings)
    {
        var location = string.IsNullOrWhiteSpace(settings.ModelPath)
            ? ModelLocation.Hub(string.IsNullOrWhiteSpace(settings.ModelId) ? RerankerSettings.DefaultModelId : settings.ModelId)
            : ModelLocation.Local(settings.ModelPath);
        return location.Resolve(new Progress<DownloadProgress>(p => Report($"downloading {location.HubId}: {p.File}", p.BytesDone, p.BytesTotal)), logger);
    }

    /// <summary>Progress goes to /health as it happens and to the log every quarter, so a slow start can be followed in both.</summary>
    private void Report(string stage, long done, long total)
    {
        var percent = total <= 0 ? 100 : (int)(done * 100 / total);
        var detail = $"{stage}: {percent}% of {total / 1e6:N0} MB";
        state.ReportProgress(detail);
        lock (_lastLogged)
        {
            if (percent % 25 != 0 || _lastLogged.GetValueOrDefault(stage, -1) == percent)
                return;
            _lastLogged[stage] = percent;
        }

        logger.LogInformation("{Progress}", detail);
    }
}
