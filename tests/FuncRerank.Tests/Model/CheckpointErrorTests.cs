using FuncRerank.Tests.TestSupport;
using System.Buffers.Binary;
using System.Text;
using FuncRerank.Model;
using FuncRerank.Model.Building;

namespace FuncRerank.Tests.Model;

/// <summary>Broken checkpoints fail with a <see cref="ModelFormatException"/> that names the file and the problem.</summary>
public class CheckpointErrorTests
{
    [Fact]
    public void Missing_weights_name_the_directory_and_the_expected_files()
    {
        var directory = RepoFiles.NewTemporaryDirectory();
        var error = Assert.Throws<ModelFormatException>(() => SafetensorsCheckpoint.Open(directory));
        Assert.Contains(directory, error.Message);
        Assert.Contains("model.safetensors", error.Message);
    }

    [Fact]
    public void A_header_length_beyond_the_file_is_reported_as_corrupt()
    {
        var file = WriteSafetensors(BitConverter.GetBytes(1_000_000L).Concat("{}"u8.ToArray()).ToArray());
        var error = Assert.Throws<ModelFormatException>(() => SafetensorsCheckpoint.Open(Path.GetDirectoryName(file)!));
        Assert.Contains(file, error.Message);
        Assert.Contains("corrupt safetensors header", error.Message);
    }

    [Fact]
    public void A_header_that_is_not_json_is_reported_as_corrupt()
    {
        var file = WriteSafetensors(Header("{not json"));
        var error = Assert.Throws<ModelFormatException>(() => SafetensorsCheckpoint.Open(Path.GetDirectoryName(file)!));
        Assert.Contains("corrupt safetensors header", error.Message);
    }

    [Fact]
    public void A_truncated_file_names_the_tensor_that_runs_past_the_end()
    {
        var bytes = Header("""{"w":{"dtype":"F32","shape":[4,4],"data_offsets":[0,64]}}""").Concat(new byte[10]).ToArray();
        var file = WriteSafetensors(bytes);
        var error = Assert.Throws<ModelFormatException>(() => SafetensorsCheckpoint.Open(Path.GetDirectoryName(file)!));
        Assert.Contains("'w'", error.Message);
        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public void Offsets_that_disagree_with_the_shape_are_refused()
    {
        var bytes = Header("""{"w":{"dtype":"BF16","shape":[4,4],"data_offsets":[0,16]}}""").Concat(new byte[16]).ToArray();
        var error = Assert.Throws<ModelFormatException>(() => SafetensorsCheckpoint.Open(Path.GetDirectoryName(WriteSafetensors(bytes))!));
        Assert.Contains("shape and data_offsets disagree", error.Message);
    }

    [Fact]
    public void Unsupported_dtypes_are_named()
    {
        var bytes = Header("""{"w":{"dtype":"I8","shape":[4],"data_offsets":[0,4]}}""").Concat(new byte[4]).ToArray();
        var error = Assert.Throws<ModelFormatException>(() => SafetensorsCheckpoint.Open(Path.GetDirectoryName(WriteSafetensors(bytes))!));
        Assert.Contains("dtype I8", error.Message);
    }

    [Fact]
    public void A_shard_missing_from_the_index_is_named()
    {
        var directory = RepoFiles.NewTemporaryDirectory();
        File.WriteAllText(Path.Combine(directory, SafetensorsCheckpoint.IndexFileName),
            """{"metadata":{},"weight_map":{"w":"model-00001-of-00002.safetensors"}}""");
        var error = Assert.Throws<ModelFormatException>(() => SafetensorsCheckpoint.Open(directory));
        Assert.Contains("model-00001-of-00002.safetensors", error.Message);
        Assert.Contains("missing", error.Message);
    }

    [Fact]
    public void A_real_checkpoint_with_a_truncated_shard_fails_to_build_naming_the_file()
    {
        var source = RepoFiles.Checkpoint("tiny-bf16-sharded-untied");
        var copy = RepoFiles.CopyToTemporaryDirectory(source);
        var shard = Path.Combine(copy, "model-00003-of-00003.safetensors");
        using (var stream = File.OpenWrite(shard))
            stream.SetLength(stream.Length / 2);

        var error = Assert.Throws<ModelFormatException>(() => Qwen3OnnxBuilder.Build(copy, Path.Combine(copy, "out"), ModelPrecision.Float32,
            BuiltModels.TokenIds, new Dictionary<string, string>()));
        Assert.Contains(shard, error.Message);
    }

    [Fact]
    public void A_weight_beyond_the_float16_range_refuses_an_fp16_build_but_not_fp32()
    {
        var copy = RepoFiles.CopyToTemporaryDirectory(RepoFiles.Checkpoint("tiny-f32-tied"));
        var embedding = SafetensorsCheckpoint.Open(copy).Get("model.embed_tokens.weight");
        using (var stream = new FileStream(embedding.FilePath, FileMode.Open))
        {
            stream.Seek(embedding.DataOffset, SeekOrigin.Begin);
            stream.Write(BitConverter.GetBytes(1e6f));
        }

        var error = Assert.Throws<ModelFormatException>(() => Qwen3OnnxBuilder.Build(copy, Path.Combine(copy, "fp16"), ModelPrecision.Float16,
            BuiltModels.TokenIds, new Dictionary<string, string>()));
        Assert.Contains("model.embed_tokens.weight", error.Message);
        Assert.Contains("float16 range", error.Message);
        Qwen3OnnxBuilder.Build(copy, Path.Combine(copy, "fp32"), ModelPrecision.Float32,
            BuiltModels.TokenIds, new Dictionary<string, string>());
    }

    [Theory]
    [InlineData("""{"model_type":"llama","architectures":["LlamaForCausalLM"],"hidden_size":8}""", "unsupported architecture")]
    [InlineData("""{"model_type":"qwen3","hidden_size":8,"num_attention_heads":2,"num_hidden_layers":1,"intermediate_size":8,"vocab_size":10,"rope_scaling":{"type":"yarn"}}""", "rope_scaling")]
    [InlineData("""{"model_type":"qwen3","num_attention_heads":2,"num_hidden_layers":1,"intermediate_size":8,"vocab_size":10}""", "'hidden_size'")]
    [InlineData("""{"model_type":"qwen3","hidden_size":8,"num_attention_heads":3,"num_key_value_heads":2,"num_hidden_layers":1,"intermediate_size":8,"vocab_size":10}""", "multiple")]
    [InlineData("[1, 2", "not valid JSON")]
    public void Unsupported_or_broken_configs_are_explained(string json, string expected)
    {
        var path = Path.Combine(RepoFiles.NewTemporaryDirectory(), "config.json");
        File.WriteAllText(path, json);
        var error = Assert.Throws<ModelFormatException>(() => Qwen3Config.Load(path));
        Assert.Contains(path, error.Message);
        Assert.Contains(expected, error.Message);
    }

    private static byte[] Header(string json)
    {
        var header = Encoding.UTF8.GetBytes(json);
        var bytes = new byte[8 + header.Length];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, header.Length);
        header.CopyTo(bytes, 8);
        return bytes;
    }

    private static string WriteSafetensors(byte[] bytes)
    {
        var path = Path.Combine(RepoFiles.NewTemporaryDirectory(), SafetensorsCheckpoint.SingleFileName);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
