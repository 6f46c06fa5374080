using System.Text.Json;

namespace FuncRerank.Model;

/// <summary>The architecture fields of a Hugging Face Qwen3 <c>config.json</c> that the ONNX builder needs.</summary>
public sealed record Qwen3Config
{
    public required int HiddenSize { get; init; }
    public required int NumHiddenLayers { get; init; }
    public required int NumAttentionHeads { get; init; }
    public required int NumKeyValueHeads { get; init; }
    /// <summary>Qwen3 states it explicitly, and it may differ from hidden/heads (the 4B and 8B have 128 with other widths).</summary>
    public required int HeadDim { get; init; }
    public required int IntermediateSize { get; init; }
    public required double RmsNormEps { get; init; }
    public required double RopeTheta { get; init; }
    public required bool TieWordEmbeddings { get; init; }
    public required int VocabSize { get; init; }
    public required int MaxPositionEmbeddings { get; init; }

    public int QueriesPerKeyValueHead => NumAttentionHeads / NumKeyValueHeads;

    public static Qwen3Config Load(string configJsonPath)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(configJsonPath));
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"{configJsonPath}: not valid JSON ({e.Message})");
        }
        catch (IOException e)
        {
            throw new ModelFormatException($"{configJsonPath}: cannot be read ({e.Message})");
        }

        using (document)
        {
            return Parse(document.RootElement, configJsonPath);
        }
    }

    private static Qwen3Config Parse(JsonElement root, string path)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException($"{path}: expected a JSON object");

        var modelType = OptionalString(root, "model_type");
        var architectures = root.TryGetProperty("architectures", out var a) && a.ValueKind == JsonValueKind.Array
            ? a.EnumerateArray().Select(e => e.GetString()).ToArray()
            : [];
        if (modelType != "qwen3" && !architectures.Contains("Qwen3ForCausalLM"))
            throw new ModelFormatException(
                $"{path}: unsupported architecture (model_type '{modelType}', architectures [{string.Join(", ", architectures)}]); " +
                "FuncRerank serves Qwen3-Reranker checkpoints (model_type 'qwen3', Qwen3ForCausalLM)");

        var hiddenAct = OptionalString(root, "hidden_act") ?? "silu";
        if (hiddenAct != "silu")
            throw new ModelFormatException($"{path}: hidden_act '{hiddenAct}' is not supported (Qwen3 uses 'silu')");
        if (root.TryGetProperty("attention_bias", out var bias) && bias.ValueKind == JsonValueKind.True)
            throw new ModelFormatException($"{path}: attention_bias true is not supported (Qwen3 has none)");
        if (root.TryGetProperty("rope_scaling", out var scaling) && scaling.ValueKind != JsonValueKind.Null)
            throw new ModelFormatException($"{path}: rope_scaling is not supported (Qwen3-Reranker uses plain RoPE)");

        var hidden = RequiredInt(root, "hidden_size", path);
        var heads = RequiredInt(root, "num_attention_heads", path);
        var kvHeads = OptionalInt(root, "num_key_value_heads") ?? heads;
        var headDim = OptionalInt(root, "head_dim") ?? hidden / heads;
        if (heads % kvHeads != 0)
            throw new ModelFormatException($"{path}: num_attention_heads {heads} is not a multiple of num_key_value_heads {kvHeads}");
        if (headDim % 2 != 0)
            throw new ModelFormatException($"{path}: head_dim {headDim} must be even for rotary embeddings");

        return new Qwen3Config
        {
            HiddenSize = hidden,
            NumHiddenLayers = RequiredInt(root, "num_hidden_layers", path),
            NumAttentionHeads = heads,
            NumKeyValueHeads = kvHeads,
            HeadDim = headDim,
            IntermediateSize = RequiredInt(root, "intermediate_size", path),
            RmsNormEps = OptionalDouble(root, "rms_norm_eps") ?? 1e-6,
            RopeTheta = OptionalDouble(root, "rope_theta") ?? 1_000_000,
            TieWordEmbeddings = root.TryGetProperty("tie_word_embeddings", out var tie) && tie.ValueKind == JsonValueKind.True,
            VocabSize = RequiredInt(root, "vocab_size", path),
            MaxPositionEmbeddings = OptionalInt(root, "max_position_embeddings") ?? 40960,
        };
    }

    private static int RequiredInt(JsonElement root, string name, string path) =>
        OptionalInt(root, name) is { } value && value > 0
            ? value
            : throw new ModelFormatException($"{path}: '{name}' must be a positive integer");

    private static int? OptionalInt(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : null;

    private static double? OptionalDouble(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    private static string? OptionalString(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
