using DataType = FuncRerank.Model.Building.Proto.TensorProto.Types.DataType;

namespace FuncRerank.Model.Building;

/// <summary>Self-attention: q/k/v projections, per-head norms, rotary embedding, and the three attention kernels.</summary>
internal sealed partial class DecoderWriter
{
    /// <summary>
    /// q/k/v projections, per-head q/k RMSNorm, rotary embedding. Inputs and outputs are token-major: [..., heads·head_dim]
    /// with the leading dims of <paramref name="x"/> ([batch, sequence] or packed [tokens]); queries may be taken from
    /// <paramref name="queryInput"/> with its own rotary tables (the last layer's last tokens).
    /// </summary>
    private (string Q, string K, string V) Projections(string x, string queryInput, string prefix, Rotary rotary, Rotary queryRotary,
        int rank, int queryRank)
    {
        var q = Linear(queryInput, prefix + "q_proj.weight", _heads * _headDim, _hidden);
        var k = Linear(x, prefix + "k_proj.weight", _kvHeads * _headDim, _hidden);
        var v = Linear(x, prefix + "v_proj.weight", _kvHeads * _headDim, _hidden);
        q = HeadNorm(q, prefix + "q_norm.weight", _heads, queryRank);
        k = HeadNorm(k, prefix + "k_norm.weight", _kvHeads, rank);
        return (Rope(q, _heads, queryRotary, queryRank), Rope(k, _kvHeads, rotary, rank), v);
    }

    /// <summary>Reshape of the last dim [heads·head_dim] ↔ [heads, head_dim], keeping the leading dims (rank = input rank).</summary>
    private string SplitHeads(string x, long heads, int rank) =>
        g.Op("Reshape", [x, rank == 2 ? g.Int64s(0, heads, _headDim) : g.Int64s(0, 0, heads, _headDim)]);

    private string MergeHeads(string x, long heads, int rank) =>
        g.Op("Reshape", [x, rank == 2 ? g.Int64s(0, heads * _headDim) : g.Int64s(0, 0, heads * _headDim)]);

    /// <summary>Qwen3's q_norm/k_norm: RMSNorm over head_dim of each head.</summary>
    private string HeadNorm(string x, string weightName, long heads, int rank) =>
        MergeHeads(RmsNorm(SplitHeads(x, heads, rank), weightName, _headDim), heads, rank);

    /// <summary>Rotary embedding on token-major [..., heads·head_dim].</summary>
    private string Rope(string x, long heads, Rotary rotary, int rank)
    {
        if (rotary.PositionIds is { } positions)
        {
            // RotaryEmbedding wants [batch, sequence, hidden]: a packed stream is one row.
            if (rank == 2)
                return g.Op("Squeeze", [g.MicrosoftOp("RotaryEmbedding", [g.Op("Unsqueeze", [x, g.Int64s(0)]), positions, rotary.Cos, rotary.Sin],
                    ("num_heads", heads)), g.Int64s(0)]);
            return g.MicrosoftOp("RotaryEmbedding", [x, positions, rotary.Cos, rotary.Sin], ("num_heads", heads));
        }

        return MergeHeads(Rotate(SplitHeads(x, heads, rank), rotary.Cos, rotary.Sin), heads, rank);
    }

    /// <summary>x·cos + rotate_half(x)·sin, with rotate_half(x) = [−x₂, x₁] over the two halves of head_dim.</summary>
    private string Rotate(string x, string cos, string sin)
    {
        var halves = g.OpWithOutputs("Split", [x, g.Int64s(_headDim / 2, _headDim / 2)], 2, ("axis", -1L));
        var rotated = g.Op("Concat", [g.Op("Neg", [halves[1]]), halves[0]], ("axis", -1L));
        return g.Op("Add", [g.Op("Mul", [x, cos]), g.Op("Mul", [rotated, sin])]);
    }

    private string Attention(string x, string prefix, Rotary rotary, Masks masks)
    {
        var (q, k, v) = Projections(x, x, prefix, rotary, rotary, StreamRank, StreamRank);
        if (_attention == AttentionKernel.GroupQueryAttentionByLengths)
        {
            // The form ONNX Runtime's CUDA kernel takes (flash or memory-efficient attention, no [S, S] scores): rows
            // right-aligned, each row's length in seqlens_k, no bias. A row's queries see keys up to themselves only, so
            // its padding, which comes after its last token, is never attended to.
            var aligned = _rightAligned ??= RightAlignment();
            var byLengths = g.DomainOp(OnnxGraph.MicrosoftDomain, "GroupQueryAttention",
                [g.Op("Gather", [q, aligned.Unpack]), g.Op("Gather", [k, aligned.Unpack]), g.Op("Gather", [v, aligned.Unpack]), "", "",
                    masks.SequenceLengthsMinusOne, masks.TotalLength],
                [true, true, true], ("num_heads", _heads), ("kv_num_heads", _kvHeads))[0];
            var width = _heads * _headDim;
            return Linear(g.Op("Gather", [g.Op("Reshape", [byLengths, g.Int64s(-1, width)]), aligned.Indices]), prefix + "o_proj.weight", _hidden, width);
        }

        q = ToPadded(q);
        k = ToPadded(k);
        v = ToPadded(v);
        string context;
        if (_attention == AttentionKernel.GroupQueryAttention)
        {
            // com.microsoft.GroupQueryAttention (CPU, float32): softmax(q·kᵀ/√d + bias) over the causal part, then ·v;
            // query head h reads kv head h / (heads / kv_heads), as transformers' repeat_kv. No past: a prompt pass.
            context = g.DomainOp(OnnxGraph.MicrosoftDomain, "GroupQueryAttention",
                [q, k, v, "", "", masks.SequenceLengthsMinusOne, masks.TotalLength, "", "", "", masks.FusedBias!],
                [true, true, true], ("num_heads", _heads), ("kv_num_heads", _kvHeads))[0];
        }
        else
        {
            context = UnfusedAttention(q, k, v, masks.Bias!);
        }

        context = FromPadded(context, _heads * _headDim);
        return Linear(context, prefix + "o_proj.weight", _hidden, _heads * _headDim);
    }

    /// <summary>The last layer's attention for each row's last query only (keys and values over every position).</summary>
    private string LastPositionAttention(string x, string prefix, Rotary rotary, Masks masks)
    {
        var lastRotary = rotary.PositionIds is { } positions
            ? rotary with { PositionIds = LastTokenPositions(positions) }
            : new Rotary(LastTokenTable(rotary.Cos), LastTokenTable(rotary.Sin), null);
        var (q, k, v) = Projections(x, LastTokens(x), prefix, rotary, lastRotary, StreamRank, 3);
        var context = UnfusedAttention(q, ToPadded(k), ToPadded(v), masks.LastRowBias);
        return Linear(context, prefix + "o_proj.weight", _hidden, _heads * _headDim);
    }

    /// <summary>Position ids of each row's last token, [batch, 1].</summary>
    private string LastTokenPositions(string positions) =>
        _tokens.Packed
            ? g.Op("Unsqueeze", [g.Op("Gather", [g.Op("Squeeze", [positions, g.Int64s(0)]), _tokens.Last!]), g.Int64s(1)])
            : g.Op("Slice", [positions, g.Int64s(-1), g.Int64s(long.MaxValue), g.Int64s(1)]);

    /// <summary>cos/sin rows of each row's last token, [batch, 1, 1, head_dim].</summary>
    private string LastTokenTable(string table) =>
        _tokens.Packed
            ? g.Op("Unsqueeze", [g.Op("Gather", [table, _tokens.Last!]), g.Int64s(1)])
            : g.Op("Slice", [table, g.Int64s(-1), g.Int64s(long.MaxValue), g.Int64s(1)]);

    /// <summary>
    /// Attention as transformers' eager code: scores in float32, additive bias, softmax, ·v. Grouped-query attention
    /// without copying K/V: query head h = kv·n + r uses kv head kv (repeat_kv), so the queries are viewed as
    /// [b, kv, n, s, d] and MatMul broadcasts K and V over n. Takes and returns [batch, sequence, heads·head_dim].
    /// </summary>
    private string UnfusedAttention(string q, string k, string v, string bias)
    {
        var queriesPerKv = _heads / _kvHeads;
        var q5 = g.Op("Transpose", [g.Op("Reshape", [q, g.Int64s(0, 0, _kvHeads, queriesPerKv, _headDim)])], ("perm", new long[] { 0, 2, 3, 1, 4 }));
        var k5 = g.Op("Transpose", [g.Op("Reshape", [k, g.Int64s(0, 0, _kvHeads, 1, _headDim)])], ("perm", new long[] { 0, 2, 3, 4, 1 }));
        var v5 = g.Op("Transpose", [g.Op("Reshape", [v, g.Int64s(0, 0, _kvHeads, 1, _headDim)])], ("perm", new long[] { 0, 2, 3, 1, 4 }));
        var scores = g.Op("MatMul", [q5, k5]);
        scores = g.Op("Mul", [scores, Scalar(1.0f / MathF.Sqrt(_headDim))]);
        if (_compute != DataType.Float)
            scores = g.Op("Cast", [scores], ("to", DataType.Float));
        var probabilities = ToCompute(g.Op("Softmax", [g.Op("Add", [scores, bias])], ("axis", -1L)));
        var context = g.Op("MatMul", [probabilities, v5]); // [b, kv, n, s, d]
        context = g.Op("Transpose", [context], ("perm", new long[] { 0, 3, 1, 2, 4 }));
        return g.Op("Reshape", [context, g.Int64s(0, 0, _heads * _headDim)]);
    }
}
