using DataType = FuncRerank.Model.Building.Proto.TensorProto.Types.DataType;

namespace FuncRerank.Model.Building;

/// <summary>
/// The token layout and what the graph derives from the attention mask before the first layer: packed or padded rows, a
/// shared prefix, position ids and rotary tables, the attention masks, and the right-aligned rows of attention by lengths.
/// </summary>
internal sealed partial class DecoderWriter
{
    private Tokens _tokens = null!;

    /// <param name="Rows">The rows as the model sees them, [batch, sequence]: input_ids, or with a shared prefix each row
    /// as if it held the prefix itself, [batch, prefix + sequence] (its left padding then sits between the two).</param>
    /// <param name="Mask">The attention mask of <paramref name="Rows"/>.</param>
    /// <param name="Packed">The residual stream holds only the real tokens, [tokens, hidden], instead of [batch, sequence, hidden].</param>
    /// <param name="Indices">Packed: the flat index (row·sequence + column) in Rows of each token the stream holds, [tokens].</param>
    /// <param name="Last">Packed: the position in the packed stream of each row's last token, [batch].</param>
    /// <param name="Unpack">
    /// Packed: for each (row, column), the packed index of that token, [batch, sequence]; pads point at some real token
    /// (they are masked as keys and their query rows are dropped, so any finite value will do).
    /// </param>
    /// <param name="FlatLength">Packed: batch·sequence, as a 1-element tensor.</param>
    private sealed record Tokens(string Rows, string Mask, bool Packed, string? Indices, string? Last, string? Unpack, string? FlatLength);

    /// <summary>
    /// Packed layout: left padding is dropped before the embedding, so the linear layers, norms and the MLP compute real
    /// tokens only; attention gathers q/k/v back to [batch, sequence] and its output back to the packed stream.
    /// A shared prefix is in the stream once (row 0's copy): every row's prefix columns gather it, so the dense layers
    /// compute it once per batch while attention sees each row whole, exactly as without sharing.
    /// </summary>
    private Tokens TokenLayout()
    {
        var (rows, mask) = ("input_ids", "attention_mask");
        string? prefix = null;
        if (_sharedPrefix)
        {
            prefix = g.Op("Shape", ["prefix_ids"], ("start", 1L), ("end", 2L));
            var prefixShape = g.Op("Concat", [g.Op("Shape", ["input_ids"], ("start", 0L), ("end", 1L)), prefix], ("axis", 0L));
            rows = g.Op("Concat", [g.Op("Expand", ["prefix_ids", prefixShape]), "input_ids"], ("axis", 1L));
            mask = g.Op("Concat", [g.Op("Expand", [g.Int64Scalar(1), prefixShape]), "attention_mask"], ("axis", 1L));
        }

        if (!options.PackedTokens)
            return new Tokens(rows, mask, false, null, null, null, null);
        var shape = g.Op("Shape", [rows]);
        var owned = mask;
        string? column = null, isPrefix = null;
        if (prefix is not null)
        {
            // The stream holds row 0's prefix tokens and every row's own tokens; the other rows' prefix columns alias row 0's.
            column = g.Op("Unsqueeze", [Range(g.Op("Shape", [rows], ("start", 1L), ("end", 2L))), g.Int64s(0)]);
            isPrefix = g.Op("Less", [column, prefix]);
            var otherRow = g.Op("Unsqueeze", [g.Op("Greater", [Range(g.Op("Shape", [rows], ("start", 0L), ("end", 1L))), g.Int64Scalar(0)]), g.Int64s(1)]);
            owned = g.Op("Where", [g.Op("And", [isPrefix, otherRow]), g.Int64Scalar(0), mask]);
        }

        var flatOwned = g.Op("Reshape", [owned, g.Int64s(-1)]);
        var indices = g.Op("Squeeze", [g.Op("NonZero", [flatOwned]), g.Int64s(0)]);
        var lengths = g.Op("ReduceSum", [owned, g.Int64s(1)], ("keepdims", 0L));
        var last = g.Op("Sub", [g.Op("CumSum", [lengths, g.Int64Scalar(0)]), g.Int64Scalar(1)]);
        // Packed order is flat order, so a token's packed index is the count of packed tokens before it; a prefix
        // column's packed index is its column (row 0's prefix opens the stream).
        var unpack = g.Op("Max", [g.Op("Sub", [g.Op("CumSum", [flatOwned, g.Int64Scalar(0)]), g.Int64Scalar(1)]), g.Int64Scalar(0)]);
        unpack = g.Op("Reshape", [unpack, shape]);
        if (isPrefix is not null)
            unpack = g.Op("Where", [isPrefix, column!, unpack]);
        var flatLength = g.Op("ReduceProd", [shape], ("keepdims", 1L));
        return new Tokens(rows, mask, true, indices, last, unpack, flatLength);
    }

    /// <summary>0, 1, …, n − 1 for a 1-element int64 tensor holding n.</summary>
    private string Range(string count) => g.Op("Range", [g.Int64Scalar(0), g.Op("Squeeze", [count, g.Int64s(0)]), g.Int64Scalar(1)]);

    /// <summary>Each row's last token, as [batch, 1, width] (from [batch, sequence, width], or from the packed stream).</summary>
    private string LastTokens(string x) =>
        _tokens.Packed
            ? g.Op("Unsqueeze", [g.Op("Gather", [x, _tokens.Last!]), g.Int64s(1)])
            : g.Op("Slice", [x, g.Int64s(-1), g.Int64s(long.MaxValue), g.Int64s(1)]);

    /// <summary>Packed [tokens, width] → [batch, sequence, width] (pads hold some real token's values); unchanged when not packed.</summary>
    private string ToPadded(string x) => _tokens.Packed ? g.Op("Gather", [x, _tokens.Unpack!]) : x;

    /// <summary>[batch, sequence, width] → packed [tokens, width]; unchanged when not packed.</summary>
    private string FromPadded(string x, long width) =>
        _tokens.Packed ? g.Op("Gather", [g.Op("Reshape", [x, g.Int64s(-1, width)]), _tokens.Indices!]) : x;

    /// <summary>The rank of the residual stream: 2 packed ([tokens, hidden]), 3 padded ([batch, sequence, hidden]).</summary>
    private int StreamRank => _tokens.Packed ? 2 : 3;

    /// <param name="Cos">Per token: [batch, sequence, 1, head_dim] (packed: [tokens, 1, head_dim]); with the contrib op, the cache [sequence, head_dim/2].</param>
    /// <param name="PositionIds">With the contrib op: position ids, [batch, sequence] (packed: [1, tokens]).</param>
    private sealed record Rotary(string Cos, string Sin, string? PositionIds);

    /// <summary>
    /// Positions come from the mask: <c>(cumsum(mask) − 1) · mask</c>, so a row's angles do not depend on its padding.
    /// Angles in float32 as transformers computes them (position · inverse frequency, then cos/sin).
    /// </summary>
    private Rotary RotaryInputs()
    {
        var positions = _positions = g.Op("Mul", [g.Op("Sub", [g.Op("CumSum", [_tokens.Mask, g.Int64Scalar(1)]), g.Int64Scalar(1)]), _tokens.Mask]);
        if (_tokens.Packed)
            positions = g.Op("Gather", [g.Op("Reshape", [positions, g.Int64s(-1)]), _tokens.Indices!]);
        var half = (int)_headDim / 2;
        var inverseFrequencies = new float[half];
        // float32 throughout, as transformers: 1 / theta ** (arange(0, d, 2).float() / d)
        for (var i = 0; i < half; i++)
            inverseFrequencies[i] = 1f / MathF.Pow((float)config.RopeTheta, 2f * i / _headDim);
        var frequenciesRow = g.Floats(inverseFrequencies, half);
        if (options.RotaryContrib)
        {
            // Every position id is below the sequence length, so a cache of `sequence` rows covers them all; the kernel
            // also wants at least as many rows as its input has positions, which for a packed stream is up to batch·sequence.
            var length = g.Op("Squeeze", [_tokens.Packed ? _tokens.FlatLength! : g.Op("Shape", [_tokens.Rows], ("start", 1L), ("end", 2L)), g.Int64s(0)]);
            var range = g.Op("Cast", [g.Op("Range", [g.Int64Scalar(0), length, g.Int64Scalar(1)])], ("to", DataType.Float));
            var table = g.Op("Mul", [g.Op("Unsqueeze", [range, g.Int64s(1)]), frequenciesRow]);
            var ids = _tokens.Packed ? g.Op("Unsqueeze", [positions, g.Int64s(0)]) : positions;
            return new Rotary(ToCompute(g.Op("Cos", [table])), ToCompute(g.Op("Sin", [table])), ids);
        }

        var positionsFloat = g.Op("Unsqueeze", [g.Op("Cast", [positions], ("to", DataType.Float)), g.Int64s(-1)]);
        var frequencies = g.Op("Mul", [positionsFloat, frequenciesRow]);
        var angles = g.Op("Unsqueeze", [g.Op("Concat", [frequencies, frequencies], ("axis", -1L)), g.Int64s(-2)]);
        return new Rotary(ToCompute(g.Op("Cos", [angles])), ToCompute(g.Op("Sin", [angles])), null);
    }

    /// <summary>Position ids [batch, sequence] of the rows as the model sees them: (cumsum(mask) − 1) · mask, pads 0.</summary>
    private string _positions = null!;

    /// <summary>Right-aligned rows for attention by lengths, built once at the first layer that needs them.</summary>
    private RightAligned? _rightAligned;

    /// <param name="Bias">Additive float32 bias [batch, 1, 1, sequence, sequence] (unfused attention's layout); null with attention by lengths.</param>
    /// <param name="FusedBias">The same bias as [batch, 1, sequence, sequence], for GroupQueryAttention.</param>
    /// <param name="LastRowBias">The last query row of the bias, [batch, 1, 1, 1, sequence].</param>
    /// <param name="SequenceLengthsMinusOne">GroupQueryAttention's seqlens_k, int32 [batch].</param>
    /// <param name="TotalLength">GroupQueryAttention's total_sequence_length: the batch's width, int32.</param>
    private sealed record Masks(string? Bias, string? FusedBias, string LastRowBias, string SequenceLengthsMinusOne, string TotalLength);

    /// <param name="Unpack">For each (row, column) of the right-aligned layout, the packed index of that token, [batch, sequence];
    /// the padding after a row's last token points at some real token.</param>
    /// <param name="Indices">The flat index (row·sequence + column) in the right-aligned layout of each token of the packed stream, [tokens].</param>
    private sealed record RightAligned(string Unpack, string Indices);

    /// <summary>
    /// The packed stream as right-aligned rows: each row's tokens (its copy of a shared prefix first) from column 0 on, its
    /// padding after them. A real token's column there is its position id; the padding takes the columns after the row's
    /// length, in order, so each row's columns are a permutation and one ScatterElements writes every cell.
    /// </summary>
    private RightAligned RightAlignment()
    {
        var lengths = g.Op("ReduceSum", [_tokens.Mask, g.Int64s(1)], ("keepdims", 1L));
        var padOrdinal = g.Op("Sub", [g.Op("CumSum", [g.Op("Sub", [g.Int64Scalar(1), _tokens.Mask]), g.Int64Scalar(1)]), g.Int64Scalar(1)]);
        var isToken = g.Op("Cast", [_tokens.Mask], ("to", DataType.Bool));
        var column = g.Op("Where", [isToken, _positions, g.Op("Add", [lengths, padOrdinal])]);
        var unpack = g.Op("ScatterElements", [_tokens.Unpack!, column, _tokens.Unpack!], ("axis", 1L));
        // Packed token at left-padded flat index row·sequence + c moves to row·sequence + its position.
        var width = g.Op("Squeeze", [g.Op("Shape", [_tokens.Rows], ("start", 1L), ("end", 2L)), g.Int64s(0)]);
        var rowStarts = g.Op("Mul", [g.Op("Div", [_tokens.Indices!, width]), width]);
        var positions = g.Op("Gather", [g.Op("Reshape", [_positions, g.Int64s(-1)]), _tokens.Indices!]);
        return new RightAligned(unpack, g.Op("Add", [rowStarts, positions]));
    }

    /// <summary>
    /// 0 where a query may attend (causal and the key is a real token), float.MinValue elsewhere, as transformers' eager
    /// mask. A pad query always sees itself, so no softmax row is all masked and no NaN can reach the real rows.
    /// </summary>
    private Masks AttentionMasks()
    {
        var shape = g.Op("Shape", [_tokens.Rows]);
        var length = g.Op("Squeeze", [g.Op("Slice", [shape, g.Int64s(1), g.Int64s(2)]), g.Int64s(0)]);
        if (_attention == AttentionKernel.GroupQueryAttentionByLengths)
        {
            // No [S, S] bias at all: only the last layer's last query (unfused, left-padded) needs a mask, and the last
            // token of a row sees every real token of it.
            var lastKeys = g.Op("Cast", [g.Op("Unsqueeze", [_tokens.Mask, g.Int64s(1, 2, 3)])], ("to", DataType.Bool));
            var lastRowBias = g.Op("Where", [lastKeys, g.FloatScalar(0f), g.FloatScalar(float.MinValue)]);
            var rowLengths = g.Op("Cast", [g.Op("ReduceSum", [_tokens.Mask, g.Int64s(1)], ("keepdims", 0L))], ("to", DataType.Int32));
            return new Masks(null, null, lastRowBias, g.Op("Sub", [rowLengths, g.Int32Scalar(1)]), g.Op("Cast", [length], ("to", DataType.Int32)));
        }

        var range = g.Op("Range", [g.Int64Scalar(0), length, g.Int64Scalar(1)]);
        var queryIndex = g.Op("Unsqueeze", [range, g.Int64s(1)]);
        var keyIndex = g.Op("Unsqueeze", [range, g.Int64s(0)]);
        var causal = g.Op("LessOrEqual", [keyIndex, queryIndex]);
        var diagonal = g.Op("Equal", [keyIndex, queryIndex]);
        var keyIsToken = g.Op("Cast", [g.Op("Unsqueeze", [_tokens.Mask, g.Int64s(1, 2, 3)])], ("to", DataType.Bool));
        var allowed = g.Op("Or", [g.Op("And", [causal, keyIsToken]), diagonal]);
        var bias = g.Op("Where", [allowed, g.FloatScalar(0f), g.FloatScalar(float.MinValue)]);
        var lastRow = g.Op("Slice", [bias, g.Int64s(-1), g.Int64s(long.MaxValue), g.Int64s(3)]);
        if (_attention == AttentionKernel.Unfused)
            return new Masks(bias, null, lastRow, "", "");

        // GroupQueryAttention: every row is `sequence` long (left padding is masked by the bias), so seqlens_k =
        // sequence − 1 for each row and the kernel applies the causal part itself.
        var fusedBias = g.Op("Squeeze", [bias, g.Int64s(1)]);
        var total = g.Op("Cast", [length], ("to", DataType.Int32));
        var batch = g.Op("Slice", [shape, g.Int64s(0), g.Int64s(1)]);
        var lengths = g.Op("Expand", [g.Op("Sub", [total, g.Int32Scalar(1)]), batch]);
        return new Masks(bias, fusedBias, lastRow, lengths, total);
    }
}
