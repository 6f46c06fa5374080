using System.Diagnostics;
using FuncRerank.Launcher;

namespace FuncRerank.Tests.Cli;

/// <summary>Runs the real <c>funcrerank</c> executable (built next to the tests) with stdin, as a user's shell would.</summary>
internal static class FuncRerankProcess
{
    public sealed record Result(int ExitCode, string StandardOutput, string StandardError)
    {
        public string[] OutputLines => StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    public static Result Run(string standardInput, params string[] arguments) =>
        Run(standardInput, new Dictionary<string, string?>(), arguments);

    /// <param name="environment">Variables for the child process on top of this one's; a null value removes one.</param>
    public static Result Run(string standardInput, IReadOnlyDictionary<string, string?> environment, params string[] arguments)
    {
        var start = FuncRerankCommand.StartInfo(environment, arguments);
        start.RedirectStandardInput = true;
        start.StandardInputEncoding = new System.Text.UTF8Encoding(false);
        start.StandardOutputEncoding = System.Text.Encoding.UTF8;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(standardInput);
        process.StandardInput.Close();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"funcrerank {string.Join(' ', arguments)} did not finish in 5 minutes");
        }

        return new Result(process.ExitCode, output.Result, error.Result);
    }
}
