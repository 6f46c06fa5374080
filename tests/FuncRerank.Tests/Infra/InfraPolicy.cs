using System.Text.Json.Nodes;
using FuncRerank.Api.Endpoints;
using FuncRerank.Api.Hosting;

namespace FuncRerank.Tests.Infra;

/// <summary>
/// The properties the deployment must keep, checked over a `bicep snapshot` (every resource of main.bicep and its
/// modules, with the parameters applied and every expression that needs no Azure evaluated). Each broken rule is one
/// line naming the resource, so a change that opens public access, drops the read-only mount or puts a key in an
/// output fails with a reason.
/// </summary>
internal static class InfraPolicy
{
    public const string AppType = "Microsoft.App/containerApps";
    public const string EnvironmentType = "Microsoft.App/managedEnvironments";
    public const string EnvironmentStorageType = "Microsoft.App/managedEnvironments/storages";
    public const string StorageType = "Microsoft.Storage/storageAccounts";
    public const string RegistryType = "Microsoft.ContainerRegistry/registries";
    public const string RoleAssignmentType = "Microsoft.Authorization/roleAssignments";

    public const string AcrPull = "7f951dda-4ed3-4680-a7ca-43fe172d538d";
    public const string StorageBlobDataOwner = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b";
    public const string MonitoringMetricsPublisher = "3913510d-42f4-4e42-8a64-420c390055eb";

    public const string PlaceholderImage = "mcr.microsoft.com/k8se/quickstart-functions:latest";

    /// <summary>What a parameter set asks for, so the checks know the expected GPU, size and replicas.</summary>
    public sealed record Expectation(string Gpu, int MinReplicas, bool AppExists, int MaxReplicas, int ScaleConcurrentRequests, string[] KeptGpus);

    public static readonly IReadOnlyDictionary<string, string> GpuProfileTypes = new Dictionary<string, string>
    {
        ["T4"] = "Consumption-GPU-NC8as-T4",
        ["A100"] = "Consumption-GPU-NC24-A100",
    };

    private static readonly IReadOnlyDictionary<string, (int Cpu, string Memory)> GpuSizes = new Dictionary<string, (int, string)>
    {
        ["T4"] = (8, "56Gi"),
        ["A100"] = (24, "220Gi"),
    };

    public static IEnumerable<JsonObject> Resources(JsonNode snapshot, string type) =>
        snapshot["predictedResources"]!.AsArray().Select(r => r!.AsObject()).Where(r => r["type"]!.GetValue<string>() == type);

    private static string Name(JsonObject resource) => resource["name"]!.GetValue<string>();

    private static string? Text(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    private static bool? Flag(JsonNode? node) => node is JsonValue value && value.TryGetValue<bool>(out var flag) ? flag : null;

    public static List<string> Violations(JsonNode snapshot, Expectation expected)
    {
        var problems = new List<string>();
        void Check(bool ok, string problem)
        {
            if (!ok)
                problems.Add(problem);
        }

        var apps = Resources(snapshot, AppType).ToArray();
        Check(apps.Length == 1, $"expected one container app, found {apps.Length}");
        if (apps.Length != 1)
            return problems;
        var app = apps[0];
        var appName = Name(app);
        var properties = app["properties"]!;
        var container = properties["template"]!["containers"]!.AsArray().Single()!;
        var env = container["env"]!.AsArray().Select(e => e!.AsObject()).ToArray();
        string? Env(string name) => env.Where(e => Text(e["name"]) == name).Select(e => Text(e["value"])).SingleOrDefault();

        // --- the app: native Functions on Container Apps, on the GPU profile, sized to it ---------------------------
        Check(Text(app["kind"]) == "functionapp", $"{appName}: kind must be functionapp (native Azure Functions on Container Apps)");
        Check(Text(app["tags"]?["azd-service-name"]) == "api", $"{appName}: tag azd-service-name must be api (azd deploys by it)");
        var identityType = Text(app["identity"]?["type"]);
        var identities = app["identity"]?["userAssignedIdentities"]?.AsObject().Select(p => p.Key).ToArray() ?? [];
        Check(identityType == "UserAssigned" && identities.Length == 1, $"{appName}: must run as exactly one user-assigned identity");
        var identityId = identities.FirstOrDefault() ?? "";

        var environments = Resources(snapshot, EnvironmentType).ToArray();
        Check(environments.Length == 1, $"expected one Container Apps environment, found {environments.Length}");
        var environment = environments.FirstOrDefault();
        var profiles = environment?["properties"]?["workloadProfiles"]?.AsArray().Select(p => p!) ?? [];
        var appProfile = profiles.SingleOrDefault(p => Text(p["name"]) == Text(properties["workloadProfileName"]));
        Check(appProfile is not null && Text(appProfile["workloadProfileType"]) == GpuProfileTypes[expected.Gpu],
            $"{appName}: must run on the environment's {GpuProfileTypes[expected.Gpu]} workload profile");
        // Profiles are named by their GPU, so choosing another GPU adds a profile instead of retyping one in place.
        var gpuProfiles = profiles.Where(p => Text(p["workloadProfileType"]) != "Consumption").ToArray();
        foreach (var profile in gpuProfiles)
        {
            var gpu = GpuProfileTypes.SingleOrDefault(t => t.Value == Text(profile["workloadProfileType"])).Key;
            Check(gpu is not null && Text(profile["name"]) == "gpu-" + gpu.ToLowerInvariant(),
                $"workload profile {Text(profile["name"])} ({Text(profile["workloadProfileType"])}) must be a serverless GPU profile named gpu-<its GPU>");
        }

        Check(gpuProfiles.Select(p => Text(p["workloadProfileType"])).Order().SequenceEqual(expected.KeptGpus.Append(expected.Gpu).Distinct().Select(g => GpuProfileTypes[g]).Order()),
            $"the environment must keep the GPU profiles of earlier provisions ({string.Join(", ", expected.KeptGpus)}) next to the {expected.Gpu} one");
        Check(profiles.All(p => p["minimumCount"] is null && p["maximumCount"] is null) &&
              profiles.Any(p => Text(p["workloadProfileType"]) == "Consumption"),
            "the environment must be a workload-profiles environment of serverless (Consumption) profiles only");
        var resources = container["resources"]!;
        Check(resources["cpu"]?.GetValue<int>() == GpuSizes[expected.Gpu].Cpu && Text(resources["memory"]) == GpuSizes[expected.Gpu].Memory,
            $"{appName}: the container must take the whole {expected.Gpu} profile ({GpuSizes[expected.Gpu].Cpu} vCPU, {GpuSizes[expected.Gpu].Memory})");

        // --- scale: to zero by default; one HTTP rule of this app's own, not the platform's per-function default ------
        var scale = properties["template"]!["scale"]!;
        Check(scale["minReplicas"]?.GetValue<int>() == expected.MinReplicas, $"{appName}: minReplicas must be {expected.MinReplicas}");
        Check(scale["maxReplicas"]?.GetValue<int>() == expected.MaxReplicas && expected.MaxReplicas >= Math.Max(1, expected.MinReplicas),
            $"{appName}: maxReplicas must be {expected.MaxReplicas}, at least minReplicas and 1");
        var rules = scale["rules"]?.AsArray().Select(r => r!.AsObject()).ToArray() ?? [];
        Check(Flag(scale["allowScalingRuleOverride"]) == true,
            $"{appName}: allowScalingRuleOverride must be true, or Functions on Container Apps ignores (and refuses) the app's scale rules");
        Check(rules.Length == 1 && rules[0]["http"] is not null && rules.All(r => r["custom"] is null && r["azureQueue"] is null && r["tcp"] is null),
            $"{appName}: exactly one scale rule, on HTTP concurrency (each replica holds a GPU: nothing else may add one)");
        var concurrency = rules.Length == 1 ? Text(rules[0]["http"]?["metadata"]?["concurrentRequests"]) : null;
        Check(concurrency == expected.ScaleConcurrentRequests.ToString(System.Globalization.CultureInfo.InvariantCulture),
            $"{appName}: the HTTP rule must add a replica above {expected.ScaleConcurrentRequests} concurrent requests per replica (found {concurrency})");

        // --- ingress: HTTPS only ----------------------------------------------------------------------------------
        var ingress = properties["configuration"]!["ingress"]!;
        Check(Flag(ingress["allowInsecure"]) == false, $"{appName}: ingress must not allow plain HTTP (allowInsecure false)");
        Check(ingress["targetPort"]?.GetValue<int>() == 80, $"{appName}: ingress must target the Functions host's port 80");

        // --- registry: pulled with the identity, never with a password ------------------------------------------
        foreach (var registry in properties["configuration"]!["registries"]?.AsArray() ?? [])
        {
            Check(Text(registry!["identity"]) == identityId && registry["username"] is null && registry["passwordSecretRef"] is null,
                $"{appName}: registry {Text(registry["server"])} must be pulled with the app's identity, not a password");
        }

        foreach (var registry in Resources(snapshot, RegistryType))
        {
            Check(Flag(registry["properties"]?["adminUserEnabled"]) == false, $"{Name(registry)}: the registry's admin user must be off");
            Check(Flag(registry["properties"]?["anonymousPullEnabled"]) == false, $"{Name(registry)}: anonymous pull must be off");
        }

        // --- function keys: secrets from the secure parameters, mounted where the host and FuncRerank read them --
        var secrets = properties["configuration"]!["secrets"]!.AsArray().ToDictionary(s => Text(s!["name"])!, s => s!.AsObject());
        Check(secrets.Keys.Order().SequenceEqual(["host-function-default", "host-master"]),
            $"{appName}: secrets must be exactly host-master and host-function-default");
        Check(Text(secrets.GetValueOrDefault("host-master")?["value"]) == "[parameters('functionMasterKey')]" &&
              Text(secrets.GetValueOrDefault("host-function-default")?["value"]) == "[parameters('functionHostKey')]",
            $"{appName}: the key secrets must hold the secure parameters functionMasterKey and functionHostKey");
        Check(Env("AzureWebJobsSecretStorageType") == "containerapp", $"{appName}: AzureWebJobsSecretStorageType must be containerapp");
        var volumes = properties["template"]!["volumes"]!.AsArray().Select(v => v!.AsObject()).ToArray();
        var mounts = container["volumeMounts"]!.AsArray().Select(m => m!.AsObject()).ToArray();
        string? MountPath(string volume) => mounts.Where(m => Text(m["volumeName"]) == volume).Select(m => Text(m["mountPath"])).SingleOrDefault();
        var keyVolume = volumes.SingleOrDefault(v => Text(v["storageType"]) == "Secret");
        var keyPaths = keyVolume?["secrets"]?.AsArray().ToDictionary(s => Text(s!["secretRef"])!, s => Text(s!["path"])) ?? [];
        Check(keyVolume is not null && keyPaths.GetValueOrDefault("host-master") == "host.master" &&
              keyPaths.GetValueOrDefault("host-function-default") == "host.function.default",
            $"{appName}: a Secret volume must project host-master to host.master and host-function-default to host.function.default");
        Check(keyVolume is not null && MountPath(Text(keyVolume["name"])!) == new RerankerSettings().FunctionsKeyDirectory,
            $"{appName}: the key volume must be mounted at {new RerankerSettings().FunctionsKeyDirectory}, where the host and FuncRerank read keys");
        var apiKeys = env.SingleOrDefault(e => Text(e["name"]) == "Reranker__ApiKeys");
        Check(apiKeys is null || (apiKeys["value"] is null && Text(apiKeys["secretRef"]) == "host-function-default"),
            $"{appName}: Reranker__ApiKeys may only come from the host-function-default secret");

        // --- the model: a read-only Azure Files mount, at the directory Reranker:ModelPath points into -----------
        var modelVolume = volumes.SingleOrDefault(v => Text(v["storageType"]) == "AzureFile");
        Check(modelVolume is not null, $"{appName}: the model must come from an AzureFile volume");
        var modelRoot = modelVolume is null ? null : MountPath(Text(modelVolume["name"])!);
        var modelPath = Env("Reranker__ModelPath");
        Check(modelRoot is not null && modelPath is not null && modelPath.StartsWith(modelRoot.TrimEnd('/') + "/", StringComparison.Ordinal),
            $"{appName}: Reranker__ModelPath ({modelPath}) must lie inside the model mount ({modelRoot})");
        var mountOptions = Text(modelVolume?["mountOptions"]) ?? "";
        Check(!mountOptions.Split(',').Any(o => o.Trim() is "rw" or "file_mode=0777" or "dir_mode=0777"),
            $"{appName}: the model mount's options must not make it writable ({mountOptions})");
        var storages = Resources(snapshot, EnvironmentStorageType).ToArray();
        var modelStorage = storages.SingleOrDefault(s => Name(s).EndsWith("/" + Text(modelVolume?["storageName"]), StringComparison.Ordinal));
        Check(modelStorage is not null && Text(modelStorage["properties"]?["azureFile"]?["accessMode"]) == "ReadOnly",
            $"{appName}: the environment storage behind the model volume must be mounted ReadOnly");
        Check(storages.All(s => Text(s["properties"]?["azureFile"]?["accessMode"]) == "ReadOnly"),
            "every environment storage must be ReadOnly");
        var modelAccount = Text(modelStorage?["properties"]?["azureFile"]?["accountName"]);

        // --- what the app is told to run -------------------------------------------------------------------------
        Check(Env("Reranker__Device") == "cuda" && Env("Reranker__Dtype") == "fp16", $"{appName}: must serve fp16 on cuda");
        Check(Env("Reranker__RequireCuda") == "true", $"{appName}: Reranker__RequireCuda must be true (no silent CPU fallback on a paid GPU)");
        Check(env.All(e => Text(e["value"]) is not { } value ||
                           !(value.Contains("AccountKey=", StringComparison.OrdinalIgnoreCase) || value.Contains("SharedAccessSignature", StringComparison.OrdinalIgnoreCase) ||
                             value.Contains("InstrumentationKey=", StringComparison.Ordinal) && !value.StartsWith('['))),
            $"{appName}: no environment variable may carry a storage key, SAS or literal connection string");

        // --- AzureWebJobsStorage: identity-based, on an account with shared keys off ----------------------------
        Check(Env("AzureWebJobsStorage") is null && env.All(e => Text(e["name"]) != "AzureWebJobsStorage"),
            $"{appName}: AzureWebJobsStorage must not be a connection string");
        Check(Env("AzureWebJobsStorage__credential") == "managedidentity" && Env("AzureWebJobsStorage__clientId") is not null,
            $"{appName}: AzureWebJobsStorage must use the managed identity (__credential, __clientId)");
        var hostAccount = Env("AzureWebJobsStorage__accountName");
        var accounts = Resources(snapshot, StorageType).ToDictionary(Name);
        Check(hostAccount is not null && accounts.ContainsKey(hostAccount), $"{appName}: AzureWebJobsStorage__accountName must name the host storage account");
        Check(hostAccount is not null && modelAccount is not null && hostAccount != modelAccount,
            "the model share must live in its own storage account, apart from AzureWebJobsStorage");

        // --- storage accounts: TLS 1.2, HTTPS only, no public blobs; shared keys only where the SMB mount needs them
        foreach (var (name, account) in accounts)
        {
            var p = account["properties"]!;
            Check(Text(p["minimumTlsVersion"]) == "TLS1_2", $"{name}: minimumTlsVersion must be TLS1_2");
            Check(Flag(p["supportsHttpsTrafficOnly"]) == true, $"{name}: supportsHttpsTrafficOnly must be true");
            Check(Flag(p["allowBlobPublicAccess"]) == false, $"{name}: allowBlobPublicAccess must be false");
            Check(Flag(p["allowCrossTenantReplication"]) == false, $"{name}: allowCrossTenantReplication must be false");
            Check(Text(p["publicNetworkAccess"]) is null or "Enabled" or "Disabled", $"{name}: unexpected publicNetworkAccess");
            if (name == modelAccount)
                Check(Text(account["kind"]) == "FileStorage", $"{name}: the model account must be a FileStorage (Premium Azure Files) account");
            else
                Check(Flag(p["allowSharedKeyAccess"]) == false, $"{name}: shared-key access must be off (only the model share's account needs it, for the SMB mount)");
        }

        // --- monitoring: no local (key) auth, logs through a diagnostic setting, not a workspace key -------------
        foreach (var workspace in Resources(snapshot, "Microsoft.OperationalInsights/workspaces"))
            Check(Flag(workspace["properties"]?["features"]?["disableLocalAuth"]) == true, $"{Name(workspace)}: Log Analytics local auth must be off");
        foreach (var component in Resources(snapshot, "Microsoft.Insights/components"))
            Check(Flag(component["properties"]?["DisableLocalAuth"]) == true, $"{Name(component)}: Application Insights local auth must be off");
        Check(Text(environment?["properties"]?["appLogsConfiguration"]?["destination"]) == "azure-monitor" &&
              environment?["properties"]?["appLogsConfiguration"]?["logAnalyticsConfiguration"] is null,
            "the environment must send logs to Azure Monitor (diagnostic settings), never with a workspace shared key");
        Check(Env("APPLICATIONINSIGHTS_AUTHENTICATION_STRING")?.Contains("Authorization=AAD", StringComparison.Ordinal) == true,
            $"{appName}: telemetry must be sent with Entra ID (APPLICATIONINSIGHTS_AUTHENTICATION_STRING)");

        // --- roles: only the three data-plane roles the identity needs, each on its own resource -----------------
        var roles = Resources(snapshot, RoleAssignmentType)
            .Select(r => Text(r["properties"]?["roleDefinitionId"]) ?? "")
            .Select(id => id[(id.LastIndexOf('/') + 1)..])
            .Order()
            .ToArray();
        Check(roles.SequenceEqual(new[] { AcrPull, MonitoringMetricsPublisher, StorageBlobDataOwner }.Order()),
            $"the role assignments must be exactly AcrPull, Monitoring Metrics Publisher and Storage Blob Data Owner (found {string.Join(", ", roles)})");
        foreach (var role in Resources(snapshot, RoleAssignmentType))
            Check(Text(role["properties"]?["principalType"]) == "ServicePrincipal", $"{Name(role)}: roles go to the app's identity only");

        // --- probes: a slow model never kills a replica; traffic waits for /health ------------------------------
        var probes = container["probes"]?.AsArray().Select(p => p!.AsObject()).ToArray() ?? [];
        if (!expected.AppExists)
        {
            Check(Text(container["image"]) == PlaceholderImage && probes.Length == 0,
                $"{appName}: before the first deploy the app runs the placeholder image, without probes (it has no /health)");
        }
        else
        {
            Check(Text(container["image"]) != PlaceholderImage, $"{appName}: once the app exists, its deployed image must be kept");
            var health = "/" + RerankRoutes.All.Single(r => r.Handler == RerankRoutes.Handler.Health).Path;
            var readiness = probes.SingleOrDefault(p => Text(p["type"]) == "Readiness");
            var startup = probes.SingleOrDefault(p => Text(p["type"]) == "Startup");
            Check(readiness is not null && Text(readiness["httpGet"]?["path"]) == health && readiness["httpGet"]?["port"]?.GetValue<int>() == 80,
                $"{appName}: a readiness probe must hold traffic until GET {health} answers 200");
            Check(startup is not null && startup["tcpSocket"]?["port"]?.GetValue<int>() == 80,
                $"{appName}: the startup probe must only wait for the host's port, not for the model");
            Check(probes.Where(p => Text(p["type"]) != "Readiness").All(p => p["httpGet"] is null),
                $"{appName}: only the readiness probe may call {health}: a startup or liveness probe on it would kill a replica whose model is still loading");
            foreach (var probe in probes)
            {
                var delay = probe["initialDelaySeconds"]?.GetValue<int>() ?? 0;
                var period = probe["periodSeconds"]?.GetValue<int>() ?? 10;
                var failures = probe["failureThreshold"]?.GetValue<int>() ?? 3;
                Check(delay <= 60 && period is >= 1 and <= 240 && failures is >= 1 and <= 10,
                    $"{appName}: {Text(probe["type"])} probe is outside Container Apps' limits (initialDelaySeconds ≤ 60, periodSeconds ≤ 240, failureThreshold ≤ 10)");
            }

            if (startup is not null)
            {
                var budget = (startup["initialDelaySeconds"]?.GetValue<int>() ?? 0) +
                             (startup["periodSeconds"]?.GetValue<int>() ?? 10) * (startup["failureThreshold"]?.GetValue<int>() ?? 3);
                Check(budget >= 60, $"{appName}: the startup probe must give the Functions host at least 60 s to listen (gives {budget} s)");
            }
        }

        // --- outputs: nothing secret ----------------------------------------------------------------------------
        foreach (var (name, value) in snapshot["outputs"]!.AsObject())
        {
            var text = value?.ToJsonString() ?? "";
            Check(!text.Contains("functionHostKey", StringComparison.Ordinal) && !text.Contains("functionMasterKey", StringComparison.Ordinal) &&
                  !text.Contains("listKeys", StringComparison.OrdinalIgnoreCase) && !text.Contains("listSecrets", StringComparison.OrdinalIgnoreCase),
                $"output {name} must not carry a key");
        }

        return problems;
    }
}
