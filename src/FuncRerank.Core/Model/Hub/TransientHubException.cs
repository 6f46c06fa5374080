namespace FuncRerank.Model.Hub;

/// <summary>A failure worth another try (network, timeout, 5xx); after the last try it becomes a <see cref="HubDownloadException"/>.</summary>
internal sealed class TransientHubException(string message, Exception? inner = null) : Exception(message, inner);
