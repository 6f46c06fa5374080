namespace FuncRerank.Model;

/// <summary>
/// A model directory or file that cannot be served as it is. The message always names the file and what is
/// wrong with it, because it is what the CLI prints and what /health reports.
/// </summary>
public sealed class ModelFormatException(string message, Exception? inner = null) : Exception(message, inner);
