using FuncRerank.Model;

namespace FuncRerank.Bench;

/// <summary>The shape of a Qwen3 checkpoint the benchmark generates (defaults: two layers of Qwen3-Reranker-0.6B).</summary>
public sealed record ModelShape
{
    public int Hidden { get; init; } = 1024;
    public int Layers { get; init; } = 2;
    public int Heads { get; init; } = 16;
    public int KvHeads { get; init; } = 8;
    public int HeadDim { get; init; } = 128;
    public int Intermediate { get; init; } = 3072;
    public int Vocab { get; init; } = 151669;

    public static ModelShape Of(Qwen3Config config) => new()
    {
        Hidden = config.HiddenSize, Layers = config.NumHiddenLayers, Heads = config.NumAttentionHeads, KvHeads = config.NumKeyValueHeads,
        HeadDim = config.HeadDim, Intermediate = config.IntermediateSize, Vocab = config.VocabSize,
    };

    /// <summary>Weights of the linear layers (q, k, v, o, gate, up, down) of all layers: what FLOPs are counted on.</summary>
    public long LinearParameters =>
        (long)Layers * (
            (long)Hidden * Heads * HeadDim // q
            + 2L * Hidden * KvHeads * HeadDim // k, v
            + (long)Heads * HeadDim * Hidden // o
            + 3L * Hidden * Intermediate); // gate, up, down

    /// <summary>
    /// Naive FLOPs of one pair of <paramref name="tokens"/> tokens (onnx_perf.md §4.2): 2 × linear params per token for the
    /// dense layers, plus 4 × S × heads × head_dim × layers per token for the attention products QKᵀ and PV over the full
    /// S × S square (as unfused kernels compute them). Padding, the score head and the embedding lookup are not counted.
    /// </summary>
    public double PairFlops(int tokens) =>
        2.0 * LinearParameters * tokens + 4.0 * tokens * (double)tokens * Heads * HeadDim * Layers;
}
