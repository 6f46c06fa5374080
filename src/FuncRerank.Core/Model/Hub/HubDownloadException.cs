namespace FuncRerank.Model.Hub;

/// <summary>
/// A model that could not be fetched from the Hub. The message says why in the user's terms (a token is needed, no
/// such model, the named URL cannot be reached, a download was damaged) because the CLI prints it as it is.
/// </summary>
public sealed class HubDownloadException(string message, Exception? inner = null) : Exception(message, inner);
