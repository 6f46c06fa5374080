using FuncRerank.Model.Store;

namespace FuncRerank.Model.Hub;

/// <summary>
/// Where and how <see cref="HubDownloader"/> fetches a model. The defaults read the environment variables
/// huggingface_hub reads, so a user's existing settings and cache work unchanged.
/// </summary>
public sealed record HubOptions
{
    /// <summary><c>$HF_ENDPOINT</c> (a mirror or a private hub), else huggingface.co.</summary>
    public string Endpoint { get; init; } = EnvironmentValue("HF_ENDPOINT") ?? "https://huggingface.co";

    /// <summary><c>$HF_TOKEN</c>, else the older <c>$HUGGING_FACE_HUB_TOKEN</c>; needed for gated and private models.</summary>
    public string? Token { get; init; } = EnvironmentValue("HF_TOKEN") ?? EnvironmentValue("HUGGING_FACE_HUB_TOKEN");

    public string CacheDirectory { get; init; } = DefaultCacheDirectory();

    /// <summary>A branch, tag or commit hash.</summary>
    public string Revision { get; init; } = "main";

    /// <summary>
    /// Ask the Hub what the revision points at even when its snapshot is complete in the cache, so a branch that moved
    /// is followed. Without it a complete snapshot is served with no network I/O at all.
    /// </summary>
    public bool Refresh { get; init; }

    /// <summary>How long a request may wait for headers, and a download for its next bytes, before it counts as failed.</summary>
    internal TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    internal int MaxAttempts { get; init; } = 4;

    /// <summary>Doubled after each failed attempt: 1 + 2 + 4 s over the default four attempts.</summary>
    internal TimeSpan FirstRetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// <c>$HF_HUB_CACHE</c>, else <c>$HF_HOME/hub</c> (huggingface_hub's own order), else <c>hub</c> under
    /// <see cref="ModelStore.DefaultCacheRoot"/>.
    /// </summary>
    public static string DefaultCacheDirectory() =>
        EnvironmentValue("HF_HUB_CACHE")
        ?? (EnvironmentValue("HF_HOME") is { } home ? Path.Combine(home, "hub") : Path.Combine(ModelStore.DefaultCacheRoot(), "hub"));

    private static string? EnvironmentValue(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;
}
