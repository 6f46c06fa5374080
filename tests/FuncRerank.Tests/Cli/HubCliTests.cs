using System.Text.Json.Nodes;
using FuncRerank.Tests.Model;
using FuncRerank.Tests.TestSupport;

namespace FuncRerank.Tests.Cli;

/// <summary><c>--model-id</c> end to end: the real executable, pointed at <see cref="FakeHub"/> through HF_ENDPOINT.</summary>
public class HubCliTests
{
    private const string ModelId = "test-org/tiny-reranker";

    /// <summary>The Hub settings of the child process, none inherited from whoever runs the tests.</summary>
    private static Dictionary<string, string?> HubEnvironment(FakeHub hub, string hubCache) => new()
    {
        ["HF_ENDPOINT"] = hub.Endpoint,
        ["HF_HUB_CACHE"] = hubCache,
        ["HF_HOME"] = null,
        ["HF_TOKEN"] = null,
        ["HUGGING_FACE_HUB_TOKEN"] = null,
    };

    [Fact]
    public async Task Score_and_build_download_a_model_id_once_into_the_hub_cache()
    {
        var checkpoint = ReferenceCheckpoint.Load("tiny-bf16-sharded-untied");
        await using var hub = await FakeHub.StartAsync(ModelId, checkpoint.Directory);
        var hubCache = RepoFiles.NewTemporaryDirectory();
        var environment = HubEnvironment(hub, hubCache);
        var pair = checkpoint.Pairs[0];
        var request = new JsonObject { ["query"] = pair.Query, ["documents"] = new JsonArray(pair.Document) };
        if (pair.Instruction is { } instruction)
            request["instruction"] = instruction;

        var score = FuncRerankProcess.Run(request.ToJsonString(), environment, "score", "--model-id", ModelId, "--cache", RepoFiles.NewTemporaryDirectory());

        Assert.True(score.ExitCode == 0, score.StandardError);
        Assert.InRange(Math.Abs(JsonNode.Parse(score.OutputLines[0])!["logits"]![0]!.GetValue<double>() - pair.LogitFp32), 0, 1e-4);
        Assert.Contains("downloading model-00001-of-00003.safetensors: 100%", score.StandardError);
        Assert.True(Directory.Exists(Path.Combine(hubCache, "models--test-org--tiny-reranker", "snapshots", hub.Commit)));

        var requests = hub.Requests.Count;
        var output = Path.Combine(RepoFiles.NewTemporaryDirectory(), "built");
        var build = FuncRerankProcess.Run("", environment, "build", "--model-id", ModelId, "--out", output, "--cache", RepoFiles.NewTemporaryDirectory());

        Assert.True(build.ExitCode == 0, build.StandardError);
        Assert.Equal(requests, hub.Requests.Count); // served from the cache
        Assert.DoesNotContain("downloading", build.StandardError);
        Assert.Contains("building: 100%", build.StandardError);
        Assert.True(File.Exists(Path.Combine(output, "reranker.json")));
    }

    [Theory]
    [InlineData("score")]
    [InlineData("build")]
    public void Model_and_model_id_are_exactly_one_of_them(string command)
    {
        var output = Path.Combine(RepoFiles.NewTemporaryDirectory(), "out");
        var extra = command == "build" ? new[] { "--out", output } : [];
        var directory = RepoFiles.Checkpoint("tiny-f32-tied");

        var neither = FuncRerankProcess.Run("", [command, .. extra]);
        var both = FuncRerankProcess.Run("", [command, "--model", directory, "--model-id", ModelId, .. extra]);
        var malformed = FuncRerankProcess.Run("", [command, "--model-id", "../../etc", .. extra]);

        foreach (var result in new[] { neither, both })
        {
            Assert.Equal(2, result.ExitCode);
            Assert.Contains("give either --model DIR or --model-id ID (exactly one of them)", result.StandardError);
        }

        Assert.Equal(2, malformed.ExitCode);
        Assert.Contains("--model-id: '../../etc' is not a Hugging Face model id", malformed.StandardError);
    }

    [Fact]
    public async Task A_gated_model_without_a_token_is_one_line_that_mentions_HF_TOKEN()
    {
        await using var hub = await FakeHub.StartAsync(ModelId, RepoFiles.Checkpoint("tiny-f32-tied"));
        hub.RequiredToken = "hf_secret";

        var result = FuncRerankProcess.Run("", HubEnvironment(hub, RepoFiles.NewTemporaryDirectory()), "score", "--model-id", ModelId);

        Assert.Equal(1, result.ExitCode);
        var lines = result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("funcrerank: ", lines[^1]);
        Assert.Contains("set HF_TOKEN", lines[^1]);
        Assert.DoesNotContain("   at ", result.StandardError);
    }
}
