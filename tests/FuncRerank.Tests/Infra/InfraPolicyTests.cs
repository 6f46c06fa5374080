using System.Text.Json.Nodes;

namespace FuncRerank.Tests.Infra;

/// <summary>
/// The deployment's security and serving properties, over the committed snapshots (BicepValidationTests proves they
/// are what infra/ evaluates to) and over the compiled template; then the same checks against deliberately broken
/// copies, to show each one bites.
/// </summary>
public class InfraPolicyTests
{
    private static readonly IReadOnlyDictionary<string, InfraPolicy.Expectation> Expected = new Dictionary<string, InfraPolicy.Expectation>
    {
        ["t4-scale-to-zero"] = new("T4", MinReplicas: 0, AppExists: false, MaxReplicas: 1, ScaleConcurrentRequests: 28, KeptGpus: []),
        ["a100-8b-warm"] = new("A100", MinReplicas: 1, AppExists: true, MaxReplicas: 2, ScaleConcurrentRequests: 8, KeptGpus: ["T4"]),
    };

    private static JsonNode Snapshot(string parameterSet) => JsonNode.Parse(File.ReadAllText(BicepCli.SnapshotFile(parameterSet)))!;

    private static readonly Lazy<JsonNode> Compiled = new(() =>
    {
        var build = BicepRuns.All.Value.GetAwaiter().GetResult().Build;
        Assert.True(build.ExitCode == 0, build.Output);
        return JsonNode.Parse(build.StandardOutput)!;
    });

    public static TheoryData<string> ParameterSets => [.. BicepCli.ParameterSets];

    [Fact]
    public void Every_parameter_set_has_an_expectation()
    {
        Assert.Equal(Expected.Keys.Order(), BicepCli.ParameterSets);
    }

    [Theory]
    [MemberData(nameof(ParameterSets))]
    public void The_snapshot_keeps_every_property(string parameterSet)
    {
        var problems = InfraPolicy.Violations(Snapshot(parameterSet), Expected[parameterSet]);

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Theory]
    [MemberData(nameof(ParameterSets))]
    public void The_snapshot_evaluates_cleanly_and_outputs_the_endpoint_and_a_key_command_not_a_key(string parameterSet)
    {
        var snapshot = Snapshot(parameterSet);
        var outputs = snapshot["outputs"]!.AsObject();

        Assert.Empty(snapshot["diagnostics"]!.AsArray());
        Assert.Contains("/v1/rerank", outputs["RERANK_URL"]!.GetValue<string>());
        Assert.StartsWith("[format('https://{0}'", outputs["SERVICE_API_URI"]!.GetValue<string>());
        Assert.Equal(
            $"az containerapp secret show --resource-group {outputs["AZURE_RESOURCE_GROUP"]!.GetValue<string>()} --name {outputs["SERVICE_API_NAME"]!.GetValue<string>()} " +
            "--secret-name host-function-default --query value --output tsv",
            outputs["RERANK_KEY_COMMAND"]!.GetValue<string>());
        Assert.DoesNotContain(outputs, o => o.Value!.ToJsonString().Contains("ci-dummy", StringComparison.Ordinal));
    }

    [Fact]
    public void The_model_size_picks_the_gpu_the_directory_and_the_served_name()
    {
        foreach (var (parameterSet, size) in new[] { ("t4-scale-to-zero", "0.6B"), ("a100-8b-warm", "8B") })
        {
            var snapshot = Snapshot(parameterSet);
            var outputs = snapshot["outputs"]!.AsObject();
            var env = InfraPolicy.Resources(snapshot, InfraPolicy.AppType).Single()["properties"]!["template"]!["containers"]![0]!["env"]!.AsArray();
            string Env(string name) => env.Single(e => e!["name"]!.GetValue<string>() == name)!["value"]!.GetValue<string>();

            Assert.Equal(Expected[parameterSet].Gpu, outputs["RERANK_GPU"]!.GetValue<string>());
            Assert.Equal($"Qwen/Qwen3-Reranker-{size}", outputs["RERANK_MODEL_ID"]!.GetValue<string>());
            Assert.Equal($"qwen3-reranker-{size.ToLowerInvariant()}-fp16", outputs["RERANK_MODEL_DIR"]!.GetValue<string>());
            Assert.Equal($"/models/{outputs["RERANK_MODEL_DIR"]!.GetValue<string>()}", Env("Reranker__ModelPath"));
            Assert.Equal($"Qwen/Qwen3-Reranker-{size}", Env("Reranker__ServedModelName"));
            Assert.Equal("models", outputs["MODEL_SHARE_NAME"]!.GetValue<string>());
        }
    }

    [Fact]
    public void The_keys_are_secure_parameters_that_azd_generates_and_no_output_carries_them()
    {
        var template = Compiled.Value;
        var parameters = template["parameters"]!.AsObject();

        foreach (var key in new[] { "functionMasterKey", "functionHostKey" })
        {
            var parameter = parameters[key]!;
            Assert.Equal("securestring", parameter["type"]!.GetValue<string>());
            Assert.Null(parameter["defaultValue"]);
            Assert.Equal("generate", parameter["metadata"]!["azd"]!["type"]!.GetValue<string>());
            Assert.True(parameter["metadata"]!["azd"]!["config"]!["length"]!.GetValue<int>() >= 32);
        }

        // No output anywhere (main or a module) may name a key parameter, list keys or list secrets.
        foreach (var outputs in Objects(template).Where(o => o["outputs"] is JsonObject).Select(o => o["outputs"]!.AsObject()))
        foreach (var (name, output) in outputs)
        {
            var text = output!.ToJsonString();
            Assert.False(text.Contains("Key')", StringComparison.Ordinal) || text.Contains("listKeys", StringComparison.OrdinalIgnoreCase) ||
                         text.Contains("listSecrets", StringComparison.OrdinalIgnoreCase), $"output {name} carries a key: {text}");
        }
    }

    private static IEnumerable<JsonObject> Objects(JsonNode? node) => node switch
    {
        JsonObject o => new[] { o }.Concat(o.SelectMany(p => Objects(p.Value))),
        JsonArray a => a.SelectMany(Objects),
        _ => [],
    };

    [Fact]
    public void The_parameters_file_maps_azd_environment_values_and_leaves_the_keys_to_azd()
    {
        var template = Compiled.Value["parameters"]!.AsObject();
        var file = JsonNode.Parse(File.ReadAllText(Path.Combine(BicepCli.InfraDirectory, "main.parameters.json")))!["parameters"]!.AsObject();

        Assert.All(file, p => Assert.True(template.ContainsKey(p.Key), $"main.parameters.json sets {p.Key}, which main.bicep does not declare"));
        Assert.DoesNotContain("functionMasterKey", file.Select(p => p.Key));
        Assert.DoesNotContain("functionHostKey", file.Select(p => p.Key));
        // Every parameter without a default comes from azd's environment (or, for the keys, azd's generator).
        var required = template.Where(p => p.Value!["defaultValue"] is null).Select(p => p.Key).Except(["functionMasterKey", "functionHostKey"]);
        Assert.All(required, name => Assert.True(file.ContainsKey(name), $"main.parameters.json does not set {name}"));
        Assert.Equal("${SERVICE_API_RESOURCE_EXISTS=false}", file["apiExists"]!["value"]!.GetValue<string>());
        Assert.Equal("${AZURE_LOCATION}", file["location"]!["value"]!.GetValue<string>());
    }

    [Fact]
    public void Every_default_in_the_parameters_file_is_the_templates_own()
    {
        // azd substitutes ${NAME=default} when the environment lacks NAME: the same default as main.bicep's, or a fresh
        // `azd up` and the offline snapshots would describe different deployments.
        var template = Compiled.Value["parameters"]!.AsObject();
        var file = JsonNode.Parse(File.ReadAllText(Path.Combine(BicepCli.InfraDirectory, "main.parameters.json")))!["parameters"]!.AsObject();
        var checkedDefaults = 0;
        foreach (var (name, parameter) in file)
        {
            var match = System.Text.RegularExpressions.Regex.Match(parameter!["value"]!.GetValue<string>(), @"^\$\{[A-Z0-9_]+=(.*)\}$");
            if (!match.Success)
                continue;
            var own = template[name]!["defaultValue"];
            Assert.True(own is not null, $"{name} has a default in main.parameters.json but none in main.bicep");
            Assert.Equal(own is JsonValue v && v.TryGetValue<string>(out var text) ? text : own.ToJsonString(), match.Groups[1].Value);
            checkedDefaults++;
        }

        Assert.True(checkedDefaults >= 10, $"only {checkedDefaults} defaults checked");
    }

    [Fact]
    public void No_module_comes_from_a_registry()
    {
        // Local modules only: registry modules (br:, ts:) need the network at build time.
        foreach (var file in Directory.GetFiles(BicepCli.InfraDirectory, "*.bicep", SearchOption.AllDirectories))
            Assert.DoesNotMatch(@"module\s+\w+\s+'(br|ts)[:/]", File.ReadAllText(file));
    }

    // ---- the checks bite: each broken copy of a committed snapshot is caught, with the reason ----------------------

    public static TheoryData<string, string> Breakages => new()
    {
        { "public blob access on the host storage", "allowBlobPublicAccess must be false" },
        { "TLS 1.0 on the model storage", "minimumTlsVersion must be TLS1_2" },
        { "shared keys on the host storage", "shared-key access must be off" },
        { "plain HTTP ingress", "must not allow plain HTTP" },
        { "a writable model mount", "must be mounted ReadOnly" },
        { "no model mount", "must come from an AzureFile volume" },
        { "a model path outside the mount", "must lie inside the model mount" },
        { "a registry password", "not a password" },
        { "the registry admin user", "admin user must be off" },
        { "a storage connection string", "must not be a connection string" },
        { "a literal key secret", "must hold the secure parameters" },
        { "keys mounted elsewhere", "must be mounted at /run/secrets/functions-keys" },
        { "a key in an output", "must not carry a key" },
        { "a startup probe on /health", "only the readiness probe may call /health" },
        { "no readiness probe", "readiness probe must hold traffic" },
        { "App Insights local auth", "Application Insights local auth must be off" },
        { "a Contributor role", "role assignments must be exactly" },
        { "the 8B model on a T4 profile", "workload profile" },
        { "a CPU fallback allowed", "RequireCuda must be true" },
        { "a profile named apart from its GPU", "named gpu-<its GPU>" },
        { "the earlier T4 profile dropped", "must keep the GPU profiles of earlier provisions" },
        { "the platform's scale rules", "allowScalingRuleOverride must be true" },
        { "a second scale rule", "exactly one scale rule" },
        { "another concurrency threshold", "above 8 concurrent requests" },
        { "more replicas than asked", "maxReplicas must be 2" },
    };

    [Theory]
    [MemberData(nameof(Breakages))]
    public void A_broken_deployment_is_caught(string breakage, string expectedProblem)
    {
        var snapshot = Snapshot("a100-8b-warm");
        Break(snapshot, breakage);

        var problems = InfraPolicy.Violations(snapshot, Expected["a100-8b-warm"]);

        Assert.Contains(problems, p => p.Contains(expectedProblem, StringComparison.Ordinal));
    }

    private static void Break(JsonNode snapshot, string breakage)
    {
        var accounts = InfraPolicy.Resources(snapshot, InfraPolicy.StorageType).ToArray();
        var hostAccount = accounts.Single(a => a["kind"]!.GetValue<string>() == "StorageV2");
        var modelAccount = accounts.Single(a => a["kind"]!.GetValue<string>() == "FileStorage");
        var app = InfraPolicy.Resources(snapshot, InfraPolicy.AppType).Single()["properties"]!;
        var container = app["template"]!["containers"]![0]!;
        var env = container["env"]!.AsArray();
        JsonObject Env(string name) => env.Single(e => e!["name"]!.GetValue<string>() == name)!.AsObject();
        var probes = container["probes"]!.AsArray();
        var profiles = InfraPolicy.Resources(snapshot, InfraPolicy.EnvironmentType).Single()["properties"]!["workloadProfiles"]!.AsArray();
        JsonObject Profile(string name) => profiles.Single(p => p!["name"]!.GetValue<string>() == name)!.AsObject();
        var scale = app["template"]!["scale"]!.AsObject();

        switch (breakage)
        {
            case "public blob access on the host storage": hostAccount["properties"]!["allowBlobPublicAccess"] = true; break;
            case "TLS 1.0 on the model storage": modelAccount["properties"]!["minimumTlsVersion"] = "TLS1_0"; break;
            case "shared keys on the host storage": hostAccount["properties"]!["allowSharedKeyAccess"] = true; break;
            case "plain HTTP ingress": app["configuration"]!["ingress"]!["allowInsecure"] = true; break;
            case "a writable model mount":
                InfraPolicy.Resources(snapshot, InfraPolicy.EnvironmentStorageType).Single()["properties"]!["azureFile"]!["accessMode"] = "ReadWrite";
                break;
            case "no model mount":
                var volumes = app["template"]!["volumes"]!.AsArray();
                volumes.Remove(volumes.Single(v => v!["storageType"]!.GetValue<string>() == "AzureFile"));
                break;
            case "a model path outside the mount": Env("Reranker__ModelPath")["value"] = "/home/site/models/qwen"; break;
            case "a registry password":
                app["configuration"]!["registries"]![0]!["username"] = "admin";
                app["configuration"]!["registries"]![0]!["passwordSecretRef"] = "registry-password";
                break;
            case "the registry admin user":
                InfraPolicy.Resources(snapshot, InfraPolicy.RegistryType).Single()["properties"]!["adminUserEnabled"] = true;
                break;
            case "a storage connection string":
                env.Add(new JsonObject { ["name"] = "AzureWebJobsStorage", ["value"] = "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=abc" });
                break;
            case "a literal key secret": app["configuration"]!["secrets"]![1]!["value"] = "hard-coded-key"; break;
            case "keys mounted elsewhere":
                container["volumeMounts"]!.AsArray().Single(m => m!["volumeName"]!.GetValue<string>() == "functions-keys")!["mountPath"] = "/keys";
                break;
            case "a key in an output": snapshot["outputs"]!["FUNCTION_KEY"] = "[parameters('functionHostKey')]"; break;
            case "a startup probe on /health":
                probes.Single(p => p!["type"]!.GetValue<string>() == "Startup")!.AsObject().Remove("tcpSocket");
                probes.Single(p => p!["type"]!.GetValue<string>() == "Startup")!["httpGet"] = new JsonObject { ["path"] = "/health", ["port"] = 80 };
                break;
            case "no readiness probe": probes.Remove(probes.Single(p => p!["type"]!.GetValue<string>() == "Readiness")); break;
            case "App Insights local auth":
                InfraPolicy.Resources(snapshot, "Microsoft.Insights/components").Single()["properties"]!["DisableLocalAuth"] = false;
                break;
            case "a Contributor role":
                var role = InfraPolicy.Resources(snapshot, InfraPolicy.RoleAssignmentType).First();
                role["properties"]!["roleDefinitionId"] = "/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c";
                break;
            case "the 8B model on a T4 profile": Profile(app["workloadProfileName"]!.GetValue<string>())["workloadProfileType"] = "Consumption-GPU-NC8as-T4"; break;
            case "a profile named apart from its GPU":
                Profile("gpu-a100")["name"] = "gpu";
                app["workloadProfileName"] = "gpu";
                break;
            case "the earlier T4 profile dropped": profiles.Remove(Profile("gpu-t4")); break;
            case "the platform's scale rules": scale.Remove("allowScalingRuleOverride"); break;
            case "a second scale rule":
                scale["rules"]!.AsArray().Add(JsonNode.Parse("""{"name": "queue", "custom": {"type": "azure-queue", "metadata": {"queueLength": "5"}}}"""));
                break;
            case "another concurrency threshold": scale["rules"]![0]!["http"]!["metadata"]!["concurrentRequests"] = "10"; break;
            case "more replicas than asked": scale["maxReplicas"] = 10; break;
            case "a CPU fallback allowed": Env("Reranker__RequireCuda")["value"] = "false"; break;
            default: throw new ArgumentException(breakage);
        }
    }
}
