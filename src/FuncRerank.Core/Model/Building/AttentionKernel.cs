namespace FuncRerank.Model.Building;

/// <summary>How attention is written into the graph.</summary>
internal enum AttentionKernel
{
    /// <summary>MatMul, Softmax and MatMul as transformers' eager code, materialising [batch, heads, seq, seq] scores.</summary>
    Unfused,

    /// <summary>
    /// ONNX Runtime's <c>com.microsoft.GroupQueryAttention</c> over left-padded rows, the mask as its attention bias (its CPU
    /// kernel still computes the whole S × S square per head). float32 graphs only: the CUDA kernel refuses a bias.
    /// </summary>
    GroupQueryAttention,

    /// <summary>
    /// <c>com.microsoft.GroupQueryAttention</c> as its CUDA kernel runs it with flash or memory-efficient attention (no S × S
    /// scores in memory): rows right-aligned, each row's length in <c>seqlens_k</c>, no bias; needs packed tokens. The
    /// CUDA kernel is fp16/bf16 only ("supports right padding but not left padding"), head_size a multiple of 8; flash
    /// needs sm80+ and head_size ≤ 256, else memory-efficient attention runs (sm50+). ONNX Runtime has no causal op for
    /// packed variable-length rows (PackedMultiHeadAttention is BERT-style, non-causal, without kv heads), so the dense
    /// layers stay packed and only attention sees the rows right-aligned.
    /// </summary>
    GroupQueryAttentionByLengths,
}
