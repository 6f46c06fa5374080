using FuncRerank.Model.Hub;
using Microsoft.Extensions.Logging;

namespace FuncRerank.Model;

/// <summary>
/// The checkpoint to load or build, as the user names it: a directory on this machine (a Hugging Face checkpoint or a
/// directory made by <c>funcrerank build</c>), or a Hugging Face Hub id, downloaded once into the Hub cache. The CLI's
/// commands and the servers' loader resolve it here, the one way; <see cref="Qwen3Reranker.Load"/> then builds a
/// checkpoint into the build cache on first use.
/// </summary>
public sealed class ModelLocation
{
    private readonly string? _directory;

    private ModelLocation(string? directory, string? hubId)
    {
        _directory = directory;
        HubId = hubId;
    }

    /// <summary>The Hub id; null for a local directory.</summary>
    public string? HubId { get; }

    /// <summary>A directory on this machine, read as it is.</summary>
    public static ModelLocation Local(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        return new ModelLocation(directory, null);
    }

    /// <summary>A Hub id such as <c>Qwen/Qwen3-Reranker-0.6B</c>, checked before any work is done.</summary>
    /// <exception cref="ArgumentException">Not <c>owner/name</c> made of safe characters; the message says what a valid id looks like.</exception>
    public static ModelLocation Hub(string modelId)
    {
        HubDownloader.ValidateModelId(modelId);
        return new ModelLocation(null, modelId);
    }

    /// <summary>
    /// The directory to read: the local one as given, or the Hub snapshot (<c>$HF_TOKEN</c>, <c>$HF_ENDPOINT</c> and the
    /// Hub cache as <see cref="HubOptions"/> reads them), downloaded first when the cache does not hold it complete.
    /// </summary>
    /// <exception cref="HubDownloadException">The Hub refused, the network failed after retries, or a file arrived damaged.</exception>
    public string Resolve(IProgress<DownloadProgress>? progress, ILogger? logger = null) =>
        _directory ?? new HubDownloader(new HubOptions(), logger: logger).DownloadAsync(HubId!, progress, CancellationToken.None).GetAwaiter().GetResult();
}
