namespace FuncRerank.Tests.Infra;

/// <summary>
/// Every Bicep CLI run the infrastructure tests need, started together once and shared (each run starts a 124 MB
/// single-file .NET program, so they are not repeated per test).
/// </summary>
internal static class BicepRuns
{
    public sealed record Results(
        ToolProcess.Result Build,
        ToolProcess.Result Lint,
        IReadOnlyDictionary<string, ToolProcess.Result> BuildParams,
        IReadOnlyDictionary<string, ToolProcess.Result> Snapshots);

    public static readonly Lazy<Task<Results>> All = new(async () =>
    {
        var build = BicepCli.RunAsync("build", BicepCli.MainTemplate, "--stdout");
        var lint = BicepCli.RunAsync("lint", "--pattern", "infra/**/*.bicep*");
        var buildParams = BicepCli.ParameterSets.ToDictionary(p => p, p => BicepCli.RunAsync("build-params", BicepCli.ParameterFile(p), "--stdout"));
        var snapshots = BicepCli.ParameterSets.ToDictionary(p => p, p => BicepCli.SnapshotAsync(p, "validate"));
        await Task.WhenAll([build, lint, .. buildParams.Values, .. snapshots.Values]);
        return new Results(await build, await lint,
            buildParams.ToDictionary(p => p.Key, p => p.Value.Result), snapshots.ToDictionary(p => p.Key, p => p.Value.Result));
    });
}
