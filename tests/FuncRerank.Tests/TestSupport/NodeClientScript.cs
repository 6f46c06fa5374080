using System.Diagnostics;
using System.Text.Json.Nodes;

namespace FuncRerank.Tests.TestSupport;

/// <summary>Runs one of the scripts in <c>tests/clients</c>, which drive real npm client libraries, and parses the JSON line it prints.</summary>
public static class NodeClientScript
{
    public static string ClientsDirectory => Path.Combine(RepoFiles.RepoRoot, "tests", "clients");

    /// <param name="package">A package the script imports, checked first so a missing <c>npm ci</c> says so.</param>
    public static JsonNode Run(string script, string package, string baseUrl, string apiKey, string request)
    {
        if (!Directory.Exists(Path.Combine(ClientsDirectory, "node_modules", package)))
            throw new InvalidOperationException($"npm packages missing: run `npm ci --prefix {ClientsDirectory}` (tests/run-tests.sh does it)");
        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = ClientsDirectory };
        start.ArgumentList.Add(Path.Combine(ClientsDirectory, script));
        start.ArgumentList.Add(request);
        start.Environment["BASE_URL"] = baseUrl;
        start.Environment["API_KEY"] = apiKey;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{script} did not finish in 2 minutes");
        }

        Assert.True(process.ExitCode == 0, $"node {script} exited {process.ExitCode}: {error.Result}");
        return JsonNode.Parse(output.Result)!;
    }
}
