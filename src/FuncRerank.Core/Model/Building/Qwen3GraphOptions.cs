namespace FuncRerank.Model.Building;

/// <summary>
/// Graph-level choices of the builder. Every combination computes the same scores (up to float rounding); they differ in
/// speed and memory. <see cref="Default"/> is what <c>funcrerank build</c> and the cache write; the benchmark builds the
/// others to measure each lever (docs/performance.md).
/// </summary>
internal sealed record Qwen3GraphOptions
{
    public static Qwen3GraphOptions Default { get; } = new();

    /// <summary>Attention in float32 graphs.</summary>
    public AttentionKernel Attention { get; init; } = AttentionKernel.GroupQueryAttention;

    /// <summary>
    /// Attention in fp16 graphs: transformers' eager attention with its float32 softmax (exact, but [batch, heads, S, S]
    /// float32 scores per layer), or <see cref="AttentionKernel.GroupQueryAttentionByLengths"/>, ONNX Runtime's fused
    /// kernel. Unfused until bench/gpu has measured the fused one on a GPU (docs/gpu.md).
    /// </summary>
    public AttentionKernel HalfPrecisionAttention { get; init; } = AttentionKernel.Unfused;

    /// <summary>In the last layer, queries, o_proj and the MLP at the last position only (keys and values everywhere).</summary>
    public bool LastLayerLastPositionOnly { get; init; } = true;

    /// <summary>
    /// RMSNorms written as SimplifiedLayerNormalization and each residual add + norm as SkipSimplifiedLayerNormalization.
    /// Off by default: ONNX Runtime fuses the plain ops into SimplifiedLayerNormalization itself, and writing the Skip form
    /// measured within the noise (+4 % to −5 % over three interleaved runs; docs/performance.md).
    /// </summary>
    public bool FusedNorms { get; init; }

    /// <summary>Rotary embedding as <c>com.microsoft.RotaryEmbedding</c> instead of Split/Neg/Concat/Mul/Add. Off by default: within the noise.</summary>
    public bool RotaryContrib { get; init; }

    /// <summary>
    /// Drop the padding before the embedding: linear layers, norms and the MLP run on the real tokens only, attention
    /// gathers back to [batch, sequence]. Saves the padded rows' dense work, costs four gathers per layer.
    /// </summary>
    public bool PackedTokens { get; init; } = true;

    /// <summary>
    /// A <c>prefix_ids</c> input [1, P]: the tokens every row of the batch starts with, left out of input_ids. The packed
    /// stream holds them once, so the dense layers compute a request's system prompt, instruction and query once per
    /// batch instead of once per document; attention still sees every row whole. Needs <see cref="PackedTokens"/>; P may be 0.
    /// </summary>
    public bool SharedPrefix { get; init; } = true;

    /// <summary>
    /// 0: linear weights in the graph's dtype. 8 or 4: weight-only block quantization (<c>com.microsoft.MatMulNBits</c>,
    /// symmetric, <see cref="QuantizationBlockSize"/> input features per scale) for fp32 CPU graphs; scores move
    /// (docs/performance.md), so this is a lever to measure, not the default.
    /// </summary>
    public int WeightBits { get; init; }

    public const int QuantizationBlockSize = 32;

    /// <summary>How <see cref="Describe"/> names attention by lengths (the scorer reads it from the graph's metadata).</summary>
    public const string AttentionByLengthsDescription = "GroupQueryAttention by lengths";

    public AttentionKernel AttentionFor(ModelPrecision precision) => precision == ModelPrecision.Float32 ? Attention : HalfPrecisionAttention;

    public string Describe(ModelPrecision precision) =>
        $"attention={AttentionFor(precision) switch
        {
            AttentionKernel.GroupQueryAttention => "GroupQueryAttention",
            AttentionKernel.GroupQueryAttentionByLengths => AttentionByLengthsDescription,
            _ => "unfused",
        }};" +
        $"last_layer_last_position_only={LastLayerLastPositionOnly};packed_tokens={PackedTokens};shared_prefix={SharedPrefix};" +
        $"fused_norms={FusedNorms};rotary_contrib={RotaryContrib};weight_bits={WeightBits}";
}
