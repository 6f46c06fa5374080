using System.Reflection;
using FuncRerank.Tests.TestSupport;

namespace FuncRerank.Tests.Infra;

/// <summary>
/// The Bicep CLI that `dotnet restore` put in the NuGet packages folder (Azure.Bicep.CommandLine.linux-x64, a
/// PackageDownload of this test project; its path is the BicepPath assembly metadata). Nothing is installed by hand.
/// </summary>
internal static class BicepCli
{
    /// <summary>The subscription and locations the offline snapshots are evaluated for (nothing is deployed).</summary>
    public const string SnapshotSubscription = "00000000-0000-0000-0000-000000000000";

    public static string InfraDirectory => Path.Combine(RepoFiles.RepoRoot, "infra");

    public static string MainTemplate => Path.Combine(InfraDirectory, "main.bicep");

    /// <summary>The offline parameter sets (infra/snapshots/*.bicepparam), each with a committed snapshot.</summary>
    public static IReadOnlyList<string> ParameterSets { get; } =
        Directory.GetFiles(Path.Combine(InfraDirectory, "snapshots"), "*.bicepparam").Select(f => Path.GetFileNameWithoutExtension(f)).Order().ToArray();

    /// <summary>The deployment location a snapshot is taken for: the parameter file's own <c>location</c>.</summary>
    public static string Location(string parameterSet)
    {
        var match = System.Text.RegularExpressions.Regex.Match(File.ReadAllText(ParameterFile(parameterSet)), @"^param location = '([a-z0-9]+)'", System.Text.RegularExpressions.RegexOptions.Multiline);
        Assert.True(match.Success, $"{ParameterFile(parameterSet)} sets no location");
        return match.Groups[1].Value;
    }

    public static string ParameterFile(string name) => Path.Combine(InfraDirectory, "snapshots", name + ".bicepparam");

    public static string SnapshotFile(string name) => Path.Combine(InfraDirectory, "snapshots", name + ".snapshot.json");

    public static string Executable { get; } = Locate();

    private static string Locate()
    {
        var path = typeof(BicepCli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().SingleOrDefault(a => a.Key == "BicepPath")?.Value;
        if (!OperatingSystem.IsLinux() || System.Runtime.InteropServices.RuntimeInformation.OSArchitecture != System.Runtime.InteropServices.Architecture.X64)
            throw new PlatformNotSupportedException("the infrastructure tests restore the linux-x64 Bicep CLI; run them on Linux x64");
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
            throw new InvalidOperationException(
                $"the Bicep CLI is not at '{path}': `dotnet restore tests/FuncRerank.Tests` downloads it (PackageDownload Azure.Bicep.CommandLine.linux-x64)");
        return path;
    }

    public static Task<ToolProcess.Result> RunAsync(params string[] arguments) =>
        ToolProcess.RunAsync(Executable, arguments, RepoFiles.RepoRoot, new Dictionary<string, string?>
        {
            // No telemetry, no update checks: the CLI must not reach for the network.
            ["BICEP_TRACING_ENABLED"] = "false",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        });

    /// <summary>`bicep snapshot` for one parameter set, in overwrite or validate mode.</summary>
    public static Task<ToolProcess.Result> SnapshotAsync(string parameterSet, string mode) =>
        RunAsync("snapshot", ParameterFile(parameterSet), "--mode", mode, "--subscription-id", SnapshotSubscription, "--location", Location(parameterSet));
}
