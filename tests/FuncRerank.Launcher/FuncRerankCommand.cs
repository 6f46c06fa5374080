using System.Diagnostics;

namespace FuncRerank.Launcher;

/// <summary>
/// The built <c>funcrerank</c> command: <c>dotnet funcrerank.dll</c> from the calling app's own directory, so it is the
/// same build (and build configuration) as its caller.
/// </summary>
public static class FuncRerankCommand
{
    public static string AssemblyPath => Path.Combine(AppContext.BaseDirectory, "funcrerank.dll");

    /// <summary>`dotnet funcrerank.dll ARGS` with stdout and stderr captured.</summary>
    /// <param name="environment">Variables for the child process on top of this one's; a null value removes one.</param>
    public static ProcessStartInfo StartInfo(IReadOnlyDictionary<string, string?> environment, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(AssemblyPath);
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        start.Apply(environment);
        return start;
    }
}
