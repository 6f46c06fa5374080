namespace FuncRerank.Cli;

/// <summary>A mistake in how the command was called or fed; printed as one line, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
