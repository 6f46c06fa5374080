using FuncRerank.Model;
using FuncRerank.Tests.TestSupport;

namespace FuncRerank.Tests.Model;

/// <summary>
/// The one way the CLI and the servers turn <c>--model</c> / <c>--model-id</c> (<c>Reranker:ModelPath</c> /
/// <c>Reranker:ModelId</c>) into a directory. The download itself is HubDownloaderTests' and HubCliTests' (through
/// <c>$HF_ENDPOINT</c>, which this reads from the environment as the CLI does).
/// </summary>
public sealed class ModelLocationTests
{
    [Fact]
    public void A_local_directory_is_read_as_given_and_nothing_is_fetched()
    {
        var directory = RepoFiles.Checkpoint("tiny-f32-tied");
        var location = ModelLocation.Local(directory);

        Assert.Null(location.HubId);
        Assert.Equal(directory, location.Resolve(progress: null));
    }

    [Theory]
    [InlineData("../../etc")]
    [InlineData("Qwen")]
    [InlineData("")]
    public void A_malformed_hub_id_is_refused_before_any_work(string modelId)
    {
        var error = Assert.Throws<ArgumentException>(() => ModelLocation.Hub(modelId));
        Assert.Contains("expected owner/name such as Qwen/Qwen3-Reranker-0.6B", error.Message);
    }

    [Fact]
    public void A_well_formed_hub_id_is_kept_as_named()
    {
        Assert.Equal("Qwen/Qwen3-Reranker-0.6B", ModelLocation.Hub("Qwen/Qwen3-Reranker-0.6B").HubId);
    }
}
