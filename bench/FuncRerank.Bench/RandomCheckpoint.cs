using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FuncRerank.Bench;

/// <summary>
/// Writes a random-weight Qwen3 checkpoint in the Hugging Face layout (config.json, one bf16 model.safetensors, the real
/// tokenizer files), tied like Qwen3-Reranker-0.6B. Weights are drawn like the test fixtures' (std 1/√fan_in, norms near 1,
/// embedding std 0.1 so logits stay in a range where scores are informative); only the shapes matter for speed.
/// </summary>
public static class RandomCheckpoint
{
    public static void Write(string directory, ModelShape shape, string tokenizerDirectory, int seed = 20251127)
    {
        Directory.CreateDirectory(directory);
        var tensors = new List<(string Name, long[] Shape, Func<Random, float> Draw)>();
        float Normal(Random r, double std) => (float)(std * Gaussian(r));
        var h = shape.Hidden;
        tensors.Add(("model.embed_tokens.weight", [shape.Vocab, h], r => Normal(r, 0.1)));
        for (var layer = 0; layer < shape.Layers; layer++)
        {
            var p = $"model.layers.{layer}.";
            var qWidth = shape.Heads * shape.HeadDim;
            var kvWidth = shape.KvHeads * shape.HeadDim;
            tensors.Add((p + "self_attn.q_proj.weight", [qWidth, h], r => Normal(r, 1 / Math.Sqrt(h))));
            tensors.Add((p + "self_attn.k_proj.weight", [kvWidth, h], r => Normal(r, 1 / Math.Sqrt(h))));
            tensors.Add((p + "self_attn.v_proj.weight", [kvWidth, h], r => Normal(r, 1 / Math.Sqrt(h))));
            tensors.Add((p + "self_attn.o_proj.weight", [h, qWidth], r => Normal(r, 1 / Math.Sqrt(qWidth))));
            tensors.Add((p + "self_attn.q_norm.weight", [shape.HeadDim], r => 1 + Normal(r, 0.2)));
            tensors.Add((p + "self_attn.k_norm.weight", [shape.HeadDim], r => 1 + Normal(r, 0.2)));
            tensors.Add((p + "mlp.gate_proj.weight", [shape.Intermediate, h], r => Normal(r, 1 / Math.Sqrt(h))));
            tensors.Add((p + "mlp.up_proj.weight", [shape.Intermediate, h], r => Normal(r, 1 / Math.Sqrt(h))));
            tensors.Add((p + "mlp.down_proj.weight", [h, shape.Intermediate], r => Normal(r, 1 / Math.Sqrt(shape.Intermediate))));
            tensors.Add((p + "input_layernorm.weight", [h], r => 1 + Normal(r, 0.1)));
            tensors.Add((p + "post_attention_layernorm.weight", [h], r => 1 + Normal(r, 0.1)));
        }

        tensors.Add(("model.norm.weight", [h], r => 0.5f * (1 + Normal(r, 0.1))));
        WriteSafetensors(Path.Combine(directory, "model.safetensors"), tensors, seed);
        File.WriteAllText(Path.Combine(directory, "config.json"), ConfigJson(shape));
        foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json" })
            File.Copy(Path.Combine(tokenizerDirectory, file), Path.Combine(directory, file), overwrite: true);
    }

    private static string ConfigJson(ModelShape shape)
    {
        var config = new JsonObject
        {
            ["architectures"] = new JsonArray("Qwen3ForCausalLM"),
            ["attention_bias"] = false,
            ["head_dim"] = shape.HeadDim,
            ["hidden_act"] = "silu",
            ["hidden_size"] = shape.Hidden,
            ["intermediate_size"] = shape.Intermediate,
            ["max_position_embeddings"] = 40960,
            ["model_type"] = "qwen3",
            ["num_attention_heads"] = shape.Heads,
            ["num_hidden_layers"] = shape.Layers,
            ["num_key_value_heads"] = shape.KvHeads,
            ["rms_norm_eps"] = 1e-6,
            ["rope_theta"] = 1000000,
            ["tie_word_embeddings"] = true,
            ["torch_dtype"] = "bfloat16",
            ["vocab_size"] = shape.Vocab,
        };
        return config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>safetensors: u64 header length, JSON header (tensors sorted by name), then bf16 data in header order.</summary>
    private static void WriteSafetensors(string path, List<(string Name, long[] Shape, Func<Random, float> Draw)> tensors, int seed)
    {
        var sorted = tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        var header = new JsonObject { ["__metadata__"] = new JsonObject { ["format"] = "pt" } };
        long offset = 0;
        foreach (var (name, dims, _) in sorted)
        {
            var bytes = dims.Aggregate(1L, (a, b) => a * b) * 2;
            header[name] = new JsonObject
            {
                ["dtype"] = "BF16",
                ["shape"] = new JsonArray(dims.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }

        var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        var padded = (headerBytes.Length + 7) / 8 * 8;
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
        stream.Write(length);
        stream.Write(headerBytes);
        for (var i = headerBytes.Length; i < padded; i++)
            stream.WriteByte((byte)' ');

        // Each tensor gets its own generator so the weights do not depend on the order tensors are written in.
        var buffer = new byte[1 << 20];
        foreach (var (name, dims, draw) in sorted)
        {
            var random = new Random(unchecked(seed * 1_000_003 + StableHash(name)));
            var count = dims.Aggregate(1L, (a, b) => a * b);
            var filled = 0;
            for (long i = 0; i < count; i++)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(filled), ToBFloat16(draw(random)));
                filled += 2;
                if (filled == buffer.Length)
                {
                    stream.Write(buffer, 0, filled);
                    filled = 0;
                }
            }

            stream.Write(buffer, 0, filled);
        }
    }

    /// <summary>float32 → bfloat16 bits, rounding to nearest even (as torch does).</summary>
    private static ushort ToBFloat16(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        var rounding = 0x7FFFu + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }

    private static double Gaussian(Random random)
    {
        // Box-Muller; one value per call keeps the draw simple and the output deterministic.
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    private static int StableHash(string text)
    {
        var hash = 17;
        foreach (var c in text)
            hash = unchecked(hash * 31 + c);
        return hash;
    }
}
