using FuncRerank.Tests.TestSupport;
using FuncRerank.Inference;
using FuncRerank.Model;
using FuncRerank.Model.Store;
using Microsoft.Extensions.Logging.Abstractions;

namespace FuncRerank.Tests.Model;

public class ModelStoreTests
{
    private static string Resolve(ModelStore store, string directory, ModelPrecision precision) =>
        store.Resolve(directory, precision, BuiltModels.TokenIds);

    [Fact]
    public void A_checkpoint_is_built_once_and_then_served_from_the_cache()
    {
        var store = new ModelStore(RepoFiles.NewTemporaryDirectory(), NullLogger.Instance);
        var checkpoint = RepoFiles.Checkpoint("tiny-bf16-tied-mqa");

        var first = Resolve(store, checkpoint, ModelPrecision.Float32);
        var builtAt = File.GetLastWriteTimeUtc(Path.Combine(first, RerankerManifest.WeightsFileName));
        var second = Resolve(new ModelStore(store.CacheRoot, NullLogger.Instance), checkpoint, ModelPrecision.Float32);

        Assert.Equal(first, second);
        Assert.StartsWith(store.CacheRoot, first);
        Assert.Equal(builtAt, File.GetLastWriteTimeUtc(Path.Combine(second, RerankerManifest.WeightsFileName)));
        Assert.Empty(Directory.GetDirectories(Path.GetDirectoryName(first)!, "*.partial-*"));
        var manifest = RerankerManifest.Load(first);
        Assert.Contains("model.safetensors", manifest.SourceFiles.Keys);
        Assert.Equal(64, manifest.SourceFiles["model.safetensors"].Length);
    }

    [Fact]
    public void Dtype_and_changed_weights_get_their_own_cache_entries()
    {
        var store = new ModelStore(RepoFiles.NewTemporaryDirectory(), NullLogger.Instance);
        var source = RepoFiles.Checkpoint("tiny-bf16-tied-mqa");
        var copy = RepoFiles.CopyToTemporaryDirectory(source);

        var fp32 = Resolve(store, copy, ModelPrecision.Float32);
        var fp16 = Resolve(store, copy, ModelPrecision.Float16);
        using (var stream = new FileStream(Path.Combine(copy, "model.safetensors"), FileMode.Open))
        {
            stream.Seek(-1, SeekOrigin.End);
            var last = stream.ReadByte();
            stream.Seek(-1, SeekOrigin.End);
            stream.WriteByte((byte)(last ^ 0x01));
        }

        File.SetLastWriteTimeUtc(Path.Combine(copy, "model.safetensors"), DateTime.UtcNow.AddMinutes(1));
        var changed = Resolve(store, copy, ModelPrecision.Float32);

        Assert.Equal(3, new[] { fp32, fp16, changed }.Distinct().Count());
        Assert.Equal("fp16", RerankerManifest.Load(fp16).Dtype);
    }

    [Fact]
    public void A_built_directory_is_served_as_it_is()
    {
        var built = BuiltModels.Directory("tiny-f32-tied", ModelPrecision.Float32);
        var store = new ModelStore(RepoFiles.NewTemporaryDirectory(), NullLogger.Instance);
        Assert.Equal(built, Resolve(store, built, ModelPrecision.Float16));
    }

    [Fact]
    public void A_directory_that_is_neither_checkpoint_nor_built_model_is_explained()
    {
        var store = new ModelStore(RepoFiles.NewTemporaryDirectory(), NullLogger.Instance);
        var empty = RepoFiles.NewTemporaryDirectory();
        var error = Assert.Throws<ModelFormatException>(() => Resolve(store, empty, ModelPrecision.Float32));
        Assert.Contains("config.json", error.Message);
        Assert.Throws<ModelFormatException>(() => Resolve(store, Path.Combine(empty, "nope"), ModelPrecision.Float32));
    }

    [Fact]
    public void A_corrupt_graph_is_a_model_error_not_a_crash()
    {
        var built = BuiltModels.Directory("tiny-f32-tied", ModelPrecision.Float32);
        var copy = RepoFiles.CopyToTemporaryDirectory(built);
        File.WriteAllBytes(Path.Combine(copy, RerankerManifest.GraphFileName), [0x08, 0xff, 0xff, 0x12, 0x99]);

        var error = Assert.Throws<ModelFormatException>(() => OnnxScorer.Open(copy, new ScorerOptions(), NullLogger.Instance));
        Assert.Contains(RerankerManifest.GraphFileName, error.Message);
        Assert.Contains("funcrerank build", error.Message);
    }
}
