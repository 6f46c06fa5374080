using System.Text.Json.Nodes;

namespace FuncRerank.Tests.Infra;

/// <summary>
/// The Bicep CLI over infra/: build, lint (any diagnostic fails, warnings included: `bicep lint` exits 0 on them),
/// build-params and `snapshot --mode validate` against the committed snapshots. All of it offline; the CLI runs are
/// started together once and shared by the tests.
/// </summary>
public class BicepValidationTests
{
    private static Task<BicepRuns.Results> All => BicepRuns.All.Value;

    public static TheoryData<string> ParameterSets => [.. BicepCli.ParameterSets];

    [Fact]
    public async Task The_template_builds_to_a_subscription_deployment()
    {
        var build = (await All).Build;

        Assert.True(build.ExitCode == 0, build.Output);
        Assert.Equal("", build.StandardError);
        var template = JsonNode.Parse(build.StandardOutput)!;
        Assert.Contains("subscriptionDeploymentTemplate.json", template["$schema"]!.GetValue<string>());
    }

    [Fact]
    public async Task Lint_reports_nothing_at_all_for_any_bicep_or_bicepparam_file()
    {
        var lint = (await All).Lint;

        Assert.True(lint.ExitCode == 0 && lint.Output.Trim().Length == 0, $"bicep lint (exit {lint.ExitCode}):\n{lint.Output}");
    }

    [Theory]
    [MemberData(nameof(ParameterSets))]
    public async Task Parameters_build_against_the_template(string parameterSet)
    {
        var run = (await All).BuildParams[parameterSet];

        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Equal("", run.StandardError);
        var built = JsonNode.Parse(run.StandardOutput)!;
        var parameters = JsonNode.Parse(built["parametersJson"]!.GetValue<string>())!["parameters"]!.AsObject();
        Assert.Contains("environmentName", parameters.Select(p => p.Key));
        // The template inside is the one `bicep build` makes (what azd deploys).
        Assert.Equal(
            JsonNode.Parse((await All).Build.StandardOutput)!.ToJsonString(),
            JsonNode.Parse(built["templateJson"]!.GetValue<string>())!.ToJsonString());
    }

    [Theory]
    [MemberData(nameof(ParameterSets))]
    public async Task The_committed_snapshot_is_what_the_template_evaluates_to(string parameterSet)
    {
        var run = (await All).Snapshots[parameterSet];

        Assert.True(run.ExitCode == 0,
            $"infra/snapshots/{parameterSet}.snapshot.json is not what infra/ evaluates to now. If the change is deliberate, " +
            $"run infra/bicep.sh update-snapshots and commit the result (the security tests read it).\n{run.Output}");
    }
}
