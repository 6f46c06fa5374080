using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FuncRerank.Tests.TestSupport;

namespace FuncRerank.Tests.Infra;

/// <summary>
/// azure.yaml and the hooks agree with the files and outputs they name: the service builds remotely from the
/// repository's Dockerfile, every hook exists, and every azd value a hook reads is a Bicep output, an azd built-in or a
/// setting the deployment's documentation (README.md and docs/deploy.md) names.
/// </summary>
public class AzdProjectTests
{
    private static string AzureYaml => File.ReadAllText(Path.Combine(RepoFiles.RepoRoot, "azure.yaml"));

    // The README lists the settings a user sets; docs/deploy.md the values the hooks keep between steps.
    private static string DeployDocumentation =>
        File.ReadAllText(Path.Combine(RepoFiles.RepoRoot, "README.md")) + File.ReadAllText(Path.Combine(RepoFiles.RepoRoot, "docs", "deploy.md"));

    private static string Value(string key)
    {
        var match = Regex.Match(AzureYaml, $@"^\s*{key}:\s*(\S+)", RegexOptions.Multiline);
        Assert.True(match.Success, $"azure.yaml has no {key}");
        return match.Groups[1].Value;
    }

    private static HashSet<string> Outputs() =>
        JsonNode.Parse(File.ReadAllText(BicepCli.SnapshotFile(BicepCli.ParameterSets[0])))!["outputs"]!.AsObject().Select(o => o.Key).ToHashSet();

    [Fact]
    public void The_service_is_built_remotely_from_the_repository_dockerfile_and_deployed_to_container_apps()
    {
        var project = Path.GetFullPath(Path.Combine(RepoFiles.RepoRoot, Value("project")));

        Assert.Equal("containerapp", Value("host"));
        Assert.Equal("true", Value("remoteBuild"));
        Assert.Matches(@"\ninfra:\n  provider: bicep\n  path: infra\n  module: main\n", AzureYaml);
        Assert.True(File.Exists(Path.Combine(project, "FuncRerank.Functions.csproj")), project);
        var docker = Regex.Match(AzureYaml, @"docker:\s*\n\s+path: (\S+)\s*\n\s+context: (\S+)");
        Assert.True(docker.Success, "azure.yaml: docker.path and docker.context");
        Assert.Equal(Path.Combine(RepoFiles.RepoRoot, "Dockerfile"), Path.GetFullPath(Path.Combine(project, docker.Groups[1].Value)));
        Assert.Equal(RepoFiles.RepoRoot.TrimEnd('/'), Path.GetFullPath(Path.Combine(project, docker.Groups[2].Value)).TrimEnd('/'));
        // azd deploys to the app tagged with the service's name.
        Assert.Matches(@"\nservices:\n  api:\n", AzureYaml);
    }

    [Fact]
    public void Every_hook_exists_for_posix_and_windows()
    {
        foreach (var hook in new[] { "preprovision", "postprovision", "postdeploy" })
            Assert.Matches($@"\n  {hook}:\n    posix:\n(.*\n)*?    windows:", AzureYaml);
        var scripts = Regex.Matches(AzureYaml, @"run: bash (infra/hooks/\S+)").Select(m => m.Groups[1].Value).ToArray();
        Assert.Equal(6, scripts.Length);
        foreach (var script in scripts.Distinct())
        {
            var path = Path.Combine(RepoFiles.RepoRoot, script);
            Assert.True(File.Exists(path), script);
            Assert.True(ToolProcess.Run("bash", ["-n", path]).ExitCode == 0, $"{script} does not parse");
        }
    }

    [Fact]
    public void Azd_up_provisions_again_after_the_deploy_as_a_workflow_step_and_the_ready_check_follows_it()
    {
        // The real image's probes come from a provision after the first deploy: a workflow step, never azd run from a hook.
        Assert.Matches(@"\nworkflows:\n  up:\n    steps:\n      - azd: provision\n      - azd: deploy --all\n      - azd: provision\n", AzureYaml);
        Assert.Equal(2, Regex.Matches(AzureYaml, @"run: bash infra/hooks/upload-model\.sh && bash infra/hooks/after-deploy\.sh postprovision\n").Count);
        foreach (var hook in Directory.GetFiles(Path.Combine(BicepCli.InfraDirectory, "hooks"), "*.sh"))
        {
            var code = File.ReadAllLines(hook).Where(l => !l.TrimStart().StartsWith('#'));
            Assert.DoesNotContain(code, l => Regex.IsMatch(l, @"^\s*azd\s+(provision|deploy|up)\b"));
        }
    }

    [Fact]
    public void Every_azd_value_the_hooks_read_is_an_output_a_built_in_or_a_documented_setting()
    {
        var outputs = Outputs();
        var documentation = DeployDocumentation;
        string[] builtIns = ["AZURE_ENV_NAME", "AZURE_LOCATION", "AZURE_SUBSCRIPTION_ID", "SERVICE_API_RESOURCE_EXISTS", "AZURE_STORAGE_KEY", "AZURE_STORAGE_ACCOUNT"];
        var hooks = Directory.GetFiles(Path.Combine(BicepCli.InfraDirectory, "hooks"), "*.sh");

        foreach (var hook in hooks)
        {
            var text = File.ReadAllText(hook);
            var names = Regex.Matches(text, @"\b((?:AZURE|SERVICE|MODEL|RERANK)_[A-Z0-9_]+)\b").Select(m => m.Groups[1].Value).ToHashSet();
            foreach (var name in names.Where(n => !outputs.Contains(n) && !builtIns.Contains(n)))
                Assert.True(documentation.Contains(name, StringComparison.Ordinal), $"{Path.GetFileName(hook)} reads {name}: not an output of main.bicep, nor documented in README.md or docs/deploy.md");
        }

        // And the values main.parameters.json takes from the azd environment are documented (or azd's own).
        var parameters = File.ReadAllText(Path.Combine(BicepCli.InfraDirectory, "main.parameters.json"));
        foreach (var name in Regex.Matches(parameters, @"\$\{([A-Z0-9_]+)").Select(m => m.Groups[1].Value).Where(n => !builtIns.Contains(n)))
            Assert.True(documentation.Contains(name, StringComparison.Ordinal), $"main.parameters.json reads {name}, which neither README.md nor docs/deploy.md documents");

        // What the upload hook needs from provisioning is really provided.
        foreach (var name in new[] { "AZURE_RESOURCE_GROUP", "MODEL_STORAGE_ACCOUNT", "MODEL_SHARE_NAME", "RERANK_MODEL_ID", "RERANK_MODEL_DIR", "SERVICE_API_NAME", "SERVICE_API_URI", "RERANK_KEY_COMMAND", "AZURE_CONTAINER_REGISTRY_ENDPOINT" })
            Assert.Contains(name, outputs);
    }

    [Fact]
    public void The_azd_environment_folder_that_holds_the_generated_keys_is_never_committed()
    {
        var ignore = File.ReadAllLines(Path.Combine(RepoFiles.RepoRoot, ".gitignore"));

        Assert.Contains(".azure/", ignore);
    }
}
