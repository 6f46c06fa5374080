using FuncRerank.Launcher;
using FuncRerank.Model;
using FuncRerank.Model.Building;
using FuncRerank.Tests.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace FuncRerank.Tests.Infra;

/// <summary>
/// The azd hooks (infra/hooks/*.sh) run for real on this machine against a stand-in `az` (tests/fixtures/azure/az) that
/// keeps the file share as a local directory: what is built, what is uploaded and in which order, when nothing is
/// done at all, and that the storage key never shows in their output.
/// </summary>
public class DeployHookTests
{
    private const string Key = "FAKE-STORAGE-KEY-0123456789";
    private const string ModelId = "Qwen/Qwen3-Reranker-0.6B";
    private const string Directory_ = "qwen3-reranker-0.6b-fp16";

    /// <summary>One stand-in Azure (shares, az log, build and caches) under one temporary directory, removed afterwards.</summary>
    private sealed class Azure : IDisposable
    {
        public string Root { get; } = RepoFiles.NewTemporaryDirectory();

        public string Shares => Path.Combine(Root, "shares");

        public string Share => Path.Combine(Shares, "models");

        public string ModelDirectory => Path.Combine(Share, Directory_);

        public string Log => Path.Combine(Root, "az.log");

        public string Work => Path.Combine(Root, "work");

        public string[] Calls => File.Exists(Log) ? File.ReadAllLines(Log) : [];

        public Azure()
        {
            System.IO.Directory.CreateDirectory(Share);
        }

        /// <summary>A new directory inside <see cref="Root"/> (so it goes when the test ends).</summary>
        public string NewDirectory(string name) => System.IO.Directory.CreateDirectory(Path.Combine(Root, name)).FullName;

        public void Dispose()
        {
            try
            {
                System.IO.Directory.Delete(Root, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: a leftover temporary directory fails nothing.
            }
        }

        public Dictionary<string, string?> Environment(Dictionary<string, string?>? extra = null)
        {
            var environment = new Dictionary<string, string?>
            {
                ["PATH"] = Path.Combine(RepoFiles.Fixtures, "azure") + ":" + System.Environment.GetEnvironmentVariable("PATH"),
                ["FAKE_AZ_SHARES"] = Shares,
                ["FAKE_AZ_LOG"] = Log,
                ["FAKE_AZ_KEY"] = Key,
                ["AZURE_RESOURCE_GROUP"] = "rg-test",
                ["MODEL_STORAGE_ACCOUNT"] = "stmodeltest",
                ["MODEL_SHARE_NAME"] = "models",
                ["RERANK_MODEL_ID"] = ModelId,
                ["RERANK_MODEL_DIR"] = Directory_,
                ["RERANK_WORK_DIR"] = Work,
                ["FUNCRERANK"] = $"dotnet {FuncRerankCommand.AssemblyPath}",
                ["FUNCRERANK_CACHE"] = Path.Combine(Root, "cache"),
                ["RERANK_MODEL_SOURCE"] = null,
                ["RERANK_MODEL_FORCE_UPLOAD"] = null,
                ["SERVICE_API_NAME"] = null,
                ["AZURE_STORAGE_KEY"] = null,
                ["AZURE_STORAGE_ACCOUNT"] = null,
            };
            foreach (var (name, value) in extra ?? [])
                environment[name] = value;
            return environment;
        }

        public ToolProcess.Result Run(string hook, Dictionary<string, string?>? extra = null, params string[] arguments)
        {
            File.Delete(Log);
            var result = ToolProcess.Run("bash", [Path.Combine(RepoFiles.RepoRoot, "infra", "hooks", hook), .. arguments], RepoFiles.RepoRoot, Environment(extra),
                TimeSpan.FromMinutes(3));
            Assert.DoesNotContain(Key, result.Output);
            return result;
        }

        public Dictionary<string, string> Marker() =>
            File.ReadAllLines(Path.Combine(ModelDirectory, ".funcrerank-upload")).Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);

        public string[] Uploads => Calls.Where(c => c.StartsWith("storage file upload", StringComparison.Ordinal))
            .Select(c => c.Split(' ')[Array.IndexOf(c.Split(' '), "--path") + 1]).ToArray();
    }

    [Fact]
    public void A_local_checkpoint_is_built_as_fp16_uploaded_manifest_and_marker_last_and_then_served_as_is()
    {
        using var azure = new Azure();
        var source = RepoFiles.Checkpoint("tiny-f32-tied");

        var run = azure.Run("upload-model.sh", new() { ["RERANK_MODEL_SOURCE"] = source, ["SERVICE_API_NAME"] = "ca-rerank-test",
            ["FAKE_AZ_IMAGE"] = "crtest.azurecr.io/funcrerank/api:azd-deploy-1", ["FAKE_AZ_REVISION"] = "ca-rerank-test--r1" });

        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains($"building {source} as fp16", run.Output);
        var uploads = azure.Uploads;
        Assert.Equal($"{Directory_}/.funcrerank-upload", uploads[^1]);
        Assert.Equal($"{Directory_}/reranker.json", uploads[^2]);
        Assert.Equal(
            new[] { "model.onnx", "model.onnx_data", "reranker.json", "tokenizer.json", "tokenizer_config.json" }.Order(StringComparer.Ordinal),
            uploads[..^1].Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var marker = azure.Marker();
        Assert.Equal(ModelId, marker["model_id"]);
        Assert.Equal("fp16", marker["dtype"]);
        Assert.Equal("local", marker["source"]);
        Assert.Matches("^[0-9a-f]{64}$", marker["manifest_sha256"]);
        Assert.Contains("storage account keys list --resource-group rg-test --account-name stmodeltest --query [0].value --output tsv", azure.Calls);
        Assert.Contains(azure.Calls, c => c.StartsWith("containerapp revision restart --resource-group rg-test --name ca-rerank-test --revision ca-rerank-test--r1", StringComparison.Ordinal));

        // What the app mounts is a built fp16 model: it loads as it is, with nothing built into the cache.
        var cache = azure.NewDirectory("load-cache");
        using var reranker = Qwen3Reranker.Load(azure.ModelDirectory, new RerankerOptions { CacheRoot = cache }, NullLogger.Instance);
        Assert.Equal(ModelPrecision.Float16, reranker.Manifest.Precision);
        Assert.DoesNotContain(System.IO.Directory.EnumerateFileSystemEntries(cache, "*", SearchOption.AllDirectories), File.Exists);
        Assert.InRange(reranker.Score("q", ["d"])[0].Score, 0, 1);

        // The same source again: nothing is uploaded.
        var again = azure.Run("upload-model.sh", new() { ["RERANK_MODEL_SOURCE"] = source });
        Assert.True(again.ExitCode == 0, again.Output);
        Assert.Contains("the share already holds this model", again.Output);
        Assert.Empty(azure.Uploads);
    }

    [Fact]
    public void A_share_that_holds_the_hub_model_is_left_alone_without_downloading_or_building()
    {
        using var azure = new Azure();
        System.IO.Directory.CreateDirectory(azure.ModelDirectory);
        WriteMarker(azure, Qwen3OnnxBuilder.Version);

        // A funcrerank that only tells its version: any build or download would fail the hook.
        var run = azure.Run("upload-model.sh", new() { ["FUNCRERANK"] = VersionOnlyFuncRerank(azure) });

        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains($"the share already holds {ModelId} (fp16, {Qwen3OnnxBuilder.Version}, uploaded 2026-01-01T00:00:00Z)", run.Output);
        Assert.Empty(azure.Uploads);
    }

    [Fact]
    public void The_same_model_built_by_an_older_builder_is_built_again()
    {
        using var azure = new Azure();
        System.IO.Directory.CreateDirectory(azure.ModelDirectory);
        WriteMarker(azure, "funcrerank-qwen3-score-2");

        var run = azure.Run("upload-model.sh", new() { ["FUNCRERANK"] = VersionOnlyFuncRerank(azure) });

        // It goes on to download and build (which this funcrerank refuses), and uploads nothing.
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains($"downloading {ModelId} from the Hugging Face Hub and building it as fp16", run.Output);
        Assert.DoesNotContain("the share already holds", run.Output);
        Assert.Empty(azure.Uploads);
    }

    private static void WriteMarker(Azure azure, string builder) =>
        File.WriteAllText(Path.Combine(azure.ModelDirectory, ".funcrerank-upload"),
            $"model_id={ModelId}\ndtype=fp16\nsource=hub\nmanifest_sha256={new string('a', 64)}\nbuilder={builder}\nuploaded=2026-01-01T00:00:00Z\n");

    /// <summary>A stand-in for funcrerank that answers `version` (this build's builder) and fails at anything else.</summary>
    private static string VersionOnlyFuncRerank(Azure azure)
    {
        var script = Path.Combine(azure.NewDirectory("bin"), "funcrerank");
        File.WriteAllText(script, $"[ \"$1\" = version ] || exit 1\necho 'funcrerank 0'\necho 'builder {Qwen3OnnxBuilder.Version}'\n");
        return $"sh {script}";
    }

    [Fact]
    public async Task Another_model_on_the_share_is_replaced_from_the_hub_with_the_old_marker_removed_first()
    {
        var checkpoint = FuncRerank.Tests.Model.ReferenceCheckpoint.Load("tiny-bf16-tied-mqa");
        await using var hub = await FakeHub.StartAsync(ModelId, checkpoint.Directory);
        using var azure = new Azure();
        System.IO.Directory.CreateDirectory(azure.ModelDirectory);
        File.WriteAllText(Path.Combine(azure.ModelDirectory, ".funcrerank-upload"), "model_id=Qwen/Qwen3-Reranker-4B\ndtype=fp16\nsource=hub\n");
        var hubCache = azure.NewDirectory("hub-cache");

        var run = azure.Run("upload-model.sh", new()
        {
            ["HF_ENDPOINT"] = hub.Endpoint,
            ["HF_HUB_CACHE"] = hubCache,
            ["HF_HOME"] = null,
            ["HF_TOKEN"] = null,
            ["HUGGING_FACE_HUB_TOKEN"] = null,
            ["SERVICE_API_NAME"] = "ca-rerank-test",
            ["FAKE_AZ_IMAGE"] = "mcr.microsoft.com/k8se/quickstart-functions:latest",
            ["FAKE_AZ_REVISION"] = "ca-rerank-test--r0",
        });

        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains($"downloading {ModelId} from the Hugging Face Hub and building it as fp16", run.Output);
        var calls = azure.Calls.ToList();
        var markerDeleted = calls.FindIndex(c => c.StartsWith($"storage file delete --share-name models --path {Directory_}/.funcrerank-upload", StringComparison.Ordinal));
        var firstUpload = calls.FindIndex(c => c.StartsWith("storage file upload", StringComparison.Ordinal));
        Assert.InRange(markerDeleted, 0, firstUpload - 1);
        Assert.Equal("hub", azure.Marker()["source"]);
        Assert.Equal(ModelId, azure.Marker()["model_id"]);
        Assert.Equal(Qwen3OnnxBuilder.Version, azure.Marker()["builder"]);
        Assert.Equal(ModelPrecision.Float16, RerankerManifest.Load(azure.ModelDirectory).Precision);
        // The placeholder revision has no model to reload.
        Assert.DoesNotContain(calls, c => c.StartsWith("containerapp revision restart", StringComparison.Ordinal));

        // Built once: a second run with the share emptied reuses the build instead of downloading again.
        System.IO.Directory.Delete(azure.ModelDirectory, recursive: true);
        var requests = hub.Requests.Count;
        var again = azure.Run("upload-model.sh", new() { ["HF_ENDPOINT"] = hub.Endpoint, ["HF_HUB_CACHE"] = hubCache });
        Assert.True(again.ExitCode == 0, again.Output);
        Assert.Contains("reusing", again.Output);
        Assert.Equal(requests, hub.Requests.Count);
        Assert.Equal("hub", azure.Marker()["source"]);

        // A build left by an older FuncRerank is not reused: the model is built again with this builder.
        var kept = Path.Combine(azure.Work, Directory_, "reranker.json");
        File.WriteAllText(kept, File.ReadAllText(kept).Replace(Qwen3OnnxBuilder.Version, "funcrerank-qwen3-score-2"));
        System.IO.Directory.Delete(azure.ModelDirectory, recursive: true);
        var rebuilt = azure.Run("upload-model.sh", new() { ["HF_ENDPOINT"] = hub.Endpoint, ["HF_HUB_CACHE"] = hubCache });
        Assert.True(rebuilt.ExitCode == 0, rebuilt.Output);
        Assert.Contains($"downloading {ModelId} from the Hugging Face Hub and building it as fp16", rebuilt.Output);
        Assert.Equal(Qwen3OnnxBuilder.Version, azure.Marker()["builder"]);
    }

    [Fact]
    public void A_built_model_that_is_not_fp16_is_refused()
    {
        using var azure = new Azure();
        var fp32 = FuncRerank.Tests.Model.BuiltModels.Directory("tiny-f32-tied", ModelPrecision.Float32);

        var run = azure.Run("upload-model.sh", new() { ["RERANK_MODEL_SOURCE"] = fp32 });

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("is a built model, but not fp16", run.StandardError);
        Assert.Empty(azure.Uploads);
    }

    [Theory]
    [InlineData("8B", "T4", 1, "does not fit a T4")]
    [InlineData("8B", "", 0, "Qwen/Qwen3-Reranker-8B as fp16 on a serverless A100")]
    [InlineData("4B", "", 0, "Qwen/Qwen3-Reranker-4B as fp16 on a serverless T4; the app scales to zero")]
    [InlineData("0.6B", "A100", 0, "Qwen/Qwen3-Reranker-0.6B as fp16 on a serverless A100")]
    [InlineData("2B", "", 1, "choose 0.6B, 4B or 8B")]
    [InlineData("4B", "H100", 1, "choose T4 or A100")]
    public void The_choice_of_model_and_gpu_is_checked_before_anything_is_created(string size, string gpu, int exitCode, string message)
    {
        using var azure = new Azure();

        var run = azure.Run("check-choice.sh", new()
        {
            ["RERANK_MODEL_SIZE"] = size, ["RERANK_GPU"] = gpu, ["RERANK_MIN_REPLICAS"] = null,
            ["AZURE_LOCATION"] = "swedencentral", ["FAKE_AZ_GPU_REGIONS"] = $"swedencentral={T4Profile},{A100Profile}",
        });

        Assert.True(run.ExitCode == exitCode, run.Output);
        Assert.Contains(message, run.Output);
    }

    private const string T4Profile = "Consumption-GPU-NC8as-T4";
    private const string A100Profile = "Consumption-GPU-NC24-A100";

    [Fact]
    public void A_region_without_the_chosen_gpu_is_refused_with_the_allowed_regions_that_offer_it()
    {
        using var azure = new Azure();
        // westus3 and uksouth offer the A100; eastus only the T4; northeurope (not allowed by main.bicep) the A100 too.
        var regions = $"eastus={T4Profile} westus3={T4Profile},{A100Profile} uksouth={A100Profile} northeurope={A100Profile}";

        var run = azure.Run("check-choice.sh", new()
        {
            ["RERANK_MODEL_SIZE"] = "8B", ["RERANK_GPU"] = null, ["AZURE_LOCATION"] = "eastus", ["FAKE_AZ_GPU_REGIONS"] = regions,
        });

        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"eastus does not offer the serverless A100 profile ({A100Profile}). Regions that do: uksouth westus3 (azd env set AZURE_LOCATION uksouth", run.StandardError);
        Assert.Contains($"containerapp env workload-profile list-supported --location eastus --query [].name --output tsv", azure.Calls);

        // The same region is fine for a model that runs on the T4, and then no other region is asked about.
        var t4 = azure.Run("check-choice.sh", new()
        {
            ["RERANK_MODEL_SIZE"] = "4B", ["RERANK_GPU"] = null, ["AZURE_LOCATION"] = "eastus", ["FAKE_AZ_GPU_REGIONS"] = regions,
        });
        Assert.True(t4.ExitCode == 0, t4.Output);
        Assert.Single(azure.Calls, c => c.StartsWith("containerapp env workload-profile list-supported", StringComparison.Ordinal));

        // Nowhere offers it: said so, rather than an empty list.
        var nowhere = azure.Run("check-choice.sh", new()
        {
            ["RERANK_MODEL_SIZE"] = "8B", ["RERANK_GPU"] = null, ["AZURE_LOCATION"] = "eastus", ["FAKE_AZ_GPU_REGIONS"] = $"eastus={T4Profile}",
        });
        Assert.Equal(1, nowhere.ExitCode);
        Assert.Contains("nor does any region this template allows", nowhere.StandardError);
    }

    /// <summary>The hook's environment for the app ca-rerank-test, with a stand-in azd that records its calls next to az's.</summary>
    private static Dictionary<string, string?> AfterDeployEnvironment(Azure azure, string uri)
    {
        var bin = azure.NewDirectory("bin");
        File.WriteAllText(Path.Combine(bin, "azd"), "#!/usr/bin/env bash\nprintf 'azd %s\\n' \"$*\" >> \"$FAKE_AZ_LOG\"\n");
        Assert.Equal(0, ToolProcess.Run("chmod", ["+x", Path.Combine(bin, "azd")]).ExitCode);
        return new Dictionary<string, string?>
        {
            ["PATH"] = bin + ":" + Path.Combine(RepoFiles.Fixtures, "azure") + ":" + Environment.GetEnvironmentVariable("PATH"),
            ["SERVICE_API_NAME"] = "ca-rerank-test",
            ["SERVICE_API_URI"] = uri,
            ["RERANK_KEY_COMMAND"] = "az containerapp secret show --resource-group rg-test --name ca-rerank-test --secret-name host-function-default --query value --output tsv",
            ["RERANK_READY_CHECK"] = null,
            ["RERANK_WAIT_READY"] = null,
        };
    }

    [Fact]
    public async Task The_first_deploy_defers_the_readiness_check_to_the_provision_that_adds_the_probes_and_never_runs_azd_provision()
    {
        using var azure = new Azure();
        await using var app = await FakeApp.StartAsync(notReadyReplies: 1);
        var environment = AfterDeployEnvironment(azure, app.Uri);

        // azd deploy, first time: the app has the template of the first provision (placeholder, no probes).
        var deployed = azure.Run("after-deploy.sh", new(environment) { ["FAKE_AZ_READINESS"] = "" });
        Assert.True(deployed.ExitCode == 0, deployed.Output);
        Assert.Contains("first deploy: the startup and readiness probes come with the provision that follows", deployed.Output);
        Assert.Equal(["azd env set SERVICE_API_RESOURCE_EXISTS true", "azd env set RERANK_READY_CHECK pending"],
            azure.Calls.Where(c => c.StartsWith("azd ", StringComparison.Ordinal)));
        Assert.Equal(0, app.HealthRequests);

        // azure.yaml's workflow provisions again: the probes are on now, so the postprovision hook follows /health.
        var provisioned = azure.Run("after-deploy.sh", new(environment) { ["FAKE_AZ_READINESS"] = "/health", ["RERANK_READY_CHECK"] = "pending" }, "postprovision");
        Assert.True(provisioned.ExitCode == 0, provisioned.Output);
        Assert.Contains($"endpoint: {app.Uri}/v1/rerank", provisioned.Output);
        Assert.Contains("key:      az containerapp secret show --resource-group rg-test --name ca-rerank-test --secret-name host-function-default", provisioned.Output);
        Assert.Contains("ready after", provisioned.Output);
        Assert.Contains("\"status\":\"ok\"", provisioned.Output);
        Assert.Equal(3, app.HealthRequests); // one 503, then the 200 and the body it prints
        Assert.Equal(["azd env set RERANK_READY_CHECK done"], azure.Calls.Where(c => c.StartsWith("azd ", StringComparison.Ordinal)));

        // Nothing anywhere runs azd provision (azd inside an azd hook is reported to hang: Azure/azure-dev #3397).
        Assert.DoesNotContain("azd provision", File.ReadAllText(Path.Combine(RepoFiles.RepoRoot, "infra", "hooks", "after-deploy.sh"))
            .Split('\n').Where(l => !l.TrimStart().StartsWith('#') && !l.Contains("say ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_later_deploy_is_checked_at_once_and_a_provision_without_a_new_deploy_wakes_nothing()
    {
        using var azure = new Azure();
        await using var app = await FakeApp.StartAsync(notReadyReplies: 0);
        var environment = AfterDeployEnvironment(azure, app.Uri);

        var provisionedBefore = azure.Run("after-deploy.sh", new(environment) { ["FAKE_AZ_READINESS"] = "/health", ["RERANK_READY_CHECK"] = "done" }, "postprovision");
        Assert.True(provisionedBefore.ExitCode == 0, provisionedBefore.Output);
        Assert.Empty(azure.Calls);
        Assert.Equal(0, app.HealthRequests);

        var deployed = azure.Run("after-deploy.sh", new(environment) { ["FAKE_AZ_READINESS"] = "/health" });
        Assert.True(deployed.ExitCode == 0, deployed.Output);
        Assert.Contains("ready after", deployed.Output);
        Assert.Equal(["azd env set SERVICE_API_RESOURCE_EXISTS true", "azd env set RERANK_READY_CHECK pending", "azd env set RERANK_READY_CHECK done"],
            azure.Calls.Where(c => c.StartsWith("azd ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_pending_check_after_a_provision_that_left_no_readiness_probe_fails()
    {
        using var azure = new Azure();
        await using var app = await FakeApp.StartAsync(notReadyReplies: 0);

        var run = azure.Run("after-deploy.sh", new(AfterDeployEnvironment(azure, app.Uri)) { ["FAKE_AZ_READINESS"] = "", ["RERANK_READY_CHECK"] = "pending" }, "postprovision");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("no readiness probe on /health after provisioning", run.StandardError);
        Assert.Equal(0, app.HealthRequests);
    }

    /// <summary>The deployed app's /health on 127.0.0.1: 503 for the first replies, then 200 with a body.</summary>
    private sealed class FakeApp : IAsyncDisposable
    {
        private readonly WebApplication _server;
        private int _requests;

        private FakeApp(WebApplication server, int notReadyReplies)
        {
            _server = server;
            _server.MapGet("/health", () =>
            {
                var n = Interlocked.Increment(ref _requests);
                return n <= notReadyReplies
                    ? Results.Json(new { error = "the model is loading" }, statusCode: 503)
                    : Results.Json(new { status = "ok" });
            });
        }

        public int HealthRequests => Volatile.Read(ref _requests);

        public string Uri => _server.Urls.Single();

        public static async Task<FakeApp> StartAsync(int notReadyReplies)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = new FakeApp(builder.Build(), notReadyReplies);
            await app._server.StartAsync();
            return app;
        }

        public ValueTask DisposeAsync() => _server.DisposeAsync();
    }
}
