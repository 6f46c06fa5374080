using FuncRerank.Model.Building.Proto;
using Google.Protobuf;
using DataType = FuncRerank.Model.Building.Proto.TensorProto.Types.DataType;

namespace FuncRerank.Model.Building;

/// <summary>
/// Writes a Hugging Face Qwen3 checkpoint as an ONNX "score head" graph: the decoder computing what transformers' Qwen3
/// code computes, then only <c>h_last · (W_yes − W_no)</c> at the last position, never the 151,669-wide LM head.
/// Inputs are left-padded, so the last column is every row's last real token; positions come from the mask, so a
/// row's rotary angles do not depend on its batch-mates. <see cref="Qwen3GraphOptions"/> says how (packed tokens,
/// GroupQueryAttention, the last layer at the last token only); every option gives the same scores.
/// </summary>
public static class Qwen3OnnxBuilder
{
    /// <summary>Part of the cache key: bump it whenever the graph or the weight layout changes.</summary>
    public const string Version = "funcrerank-qwen3-score-3";

    public static void Build(
        string checkpointDirectory, string outputDirectory, ModelPrecision precision, int yesTokenId, int noTokenId, int padTokenId,
        IReadOnlyDictionary<string, string> sourceHashes, IProgress<BuildProgress>? progress = null) =>
        Build(checkpointDirectory, outputDirectory, precision, yesTokenId, noTokenId, padTokenId, sourceHashes, Qwen3GraphOptions.Default, progress);

    /// <summary>Builds with explicit graph options: the benchmark's way to compare the graph-level levers.</summary>
    internal static void Build(
        string checkpointDirectory, string outputDirectory, ModelPrecision precision, int yesTokenId, int noTokenId, int padTokenId,
        IReadOnlyDictionary<string, string> sourceHashes, Qwen3GraphOptions graphOptions, IProgress<BuildProgress>? progress = null)
    {
        if (graphOptions.SharedPrefix && !graphOptions.PackedTokens)
            throw new ArgumentException("a shared prefix needs packed tokens", nameof(graphOptions));
        if (graphOptions.WeightBits is not (0 or 4 or 8))
            throw new ArgumentException($"weight bits {graphOptions.WeightBits}: use 0 (none), 4 or 8", nameof(graphOptions));
        if (graphOptions.WeightBits != 0 && precision != ModelPrecision.Float32)
            throw new ArgumentException("block-quantized weights are for fp32 graphs", nameof(graphOptions));
        if (graphOptions.HalfPrecisionAttention == AttentionKernel.GroupQueryAttention)
            throw new ArgumentException("fp16 attention cannot take the mask as a bias: ONNX Runtime's CUDA GroupQueryAttention refuses attention_bias; " +
                                        "use GroupQueryAttentionByLengths", nameof(graphOptions));
        if (graphOptions.AttentionFor(precision) == AttentionKernel.GroupQueryAttentionByLengths && !graphOptions.PackedTokens)
            throw new ArgumentException("attention by row lengths needs packed tokens", nameof(graphOptions));
        var config = Qwen3Config.Load(Path.Combine(checkpointDirectory, "config.json"));
        var checkpoint = SafetensorsCheckpoint.Open(checkpointDirectory);
        if (yesTokenId >= config.VocabSize || noTokenId >= config.VocabSize)
            throw new ModelFormatException($"{checkpointDirectory}: vocab_size {config.VocabSize} has no rows for yes={yesTokenId} / no={noTokenId}");

        Directory.CreateDirectory(outputDirectory);
        var total = checkpoint.Tensors.Where(t => t.Name != "lm_head.weight").Sum(t => t.ByteLength);
        long done = 0;
        progress?.Report(new BuildProgress("weights", 0, total));
        var graph = new OnnxGraph();
        using (var weights = new WeightFileWriter(Path.Combine(outputDirectory, RerankerManifest.WeightsFileName), bytes =>
               {
                   done += bytes;
                   progress?.Report(new BuildProgress("weights", done, total));
               }))
        {
            new DecoderWriter(graph, config, checkpoint, weights, precision, graphOptions).Write(yesTokenId, noTokenId);
        }

        var model = graph.ToModel("FuncRerank", Version);
        model.Graph.Name = "qwen3_reranker_score";
        foreach (var (key, value) in new Dictionary<string, string>
                 {
                     ["architecture"] = "Qwen3ForCausalLM",
                     ["form"] = "score-head",
                     ["yes_token_id"] = yesTokenId.ToString(),
                     ["no_token_id"] = noTokenId.ToString(),
                     ["pad_token_id"] = padTokenId.ToString(),
                     ["padding_side"] = "left",
                     ["dtype"] = precision.ToName(),
                     ["graph_options"] = graphOptions.Describe(precision),
                 })
            model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        using (var stream = File.Create(Path.Combine(outputDirectory, RerankerManifest.GraphFileName)))
            model.WriteTo(stream);

        foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json" })
        {
            var source = Path.Combine(checkpointDirectory, file);
            if (File.Exists(source))
                File.Copy(source, Path.Combine(outputDirectory, file), overwrite: true);
        }

        new RerankerManifest
        {
            Format = RerankerManifest.CurrentFormat,
            Builder = Version,
            Dtype = precision.ToName(),
            Architecture = config,
            YesTokenId = yesTokenId,
            NoTokenId = noTokenId,
            PadTokenId = padTokenId,
            SourceFiles = new SortedDictionary<string, string>(sourceHashes.ToDictionary(), StringComparer.Ordinal),
        }.Save(outputDirectory);
        progress?.Report(new BuildProgress("done", total, total));
    }


    /// <summary>Emits the graph and streams each weight into the data file in the order the graph first uses it.</summary>
    private sealed class DecoderWriter(
        OnnxGraph g, Qwen3Config config, SafetensorsCheckpoint checkpoint, WeightFileWriter weights, ModelPrecision precision, Qwen3GraphOptions options)
    {
        private readonly DataType _compute = precision == ModelPrecision.Float32 ? DataType.Float : DataType.Float16;
        private readonly long _hidden = config.HiddenSize;
        private readonly long _headDim = config.HeadDim;
        private readonly long _heads = config.NumAttentionHeads;
        private readonly long _kvHeads = config.NumKeyValueHeads;
        private readonly AttentionKernel _attention = options.AttentionFor(precision);
        private readonly bool _sharedPrefix = options.SharedPrefix;

        public void Write(int yesTokenId, int noTokenId)
        {
            g.AddInput("input_ids", DataType.Int64, "batch", "sequence");
            g.AddInput("attention_mask", DataType.Int64, "batch", "sequence");
            if (_sharedPrefix)
                g.AddInput("prefix_ids", DataType.Int64, "1", "prefix");
            g.AddOutput("logits", DataType.Float, "batch", "1");

            g.Scope = "tokens/";
            _tokens = TokenLayout();
            g.Scope = "rotary/";
            var rotary = RotaryInputs();
            g.Scope = "mask/";
            var mask = AttentionMasks();

            g.Scope = "embed/";
            // The residual stream, and the input layer norm of the layer about to run.
            var ids = _tokens.Packed ? g.Op("Gather", [g.Op("Reshape", [_tokens.Rows, g.Int64s(-1)]), _tokens.Indices!]) : _tokens.Rows;
            var x = g.Op("Gather", [Weight("model.embed_tokens.weight", [config.VocabSize, _hidden]), ids]);
            var normed = RmsNorm(x, "model.layers.0.input_layernorm.weight", _hidden);
            var layers = config.NumHiddenLayers;
            for (var layer = 0; layer < layers; layer++)
            {
                g.Scope = $"layers.{layer}/";
                var prefix = $"model.layers.{layer}.";
                // Only the last position's hidden state reaches the score, so the last layer needs keys and values at every
                // position but queries, o_proj, the MLP and the residual only at the last one: the same numbers, less work.
                var lastPositionOnly = options.LastLayerLastPositionOnly && layer == layers - 1;
                string attention;
                if (lastPositionOnly)
                {
                    attention = LastPositionAttention(normed, prefix + "self_attn.", rotary, mask);
                    x = LastTokens(x);
                }
                else
                {
                    attention = Attention(normed, prefix + "self_attn.", rotary, mask);
                }

                (normed, x) = AddAndNorm(x, attention, prefix + "post_attention_layernorm.weight");
                var mlp = Mlp(normed, prefix + "mlp.");
                if (layer < layers - 1)
                {
                    (normed, x) = AddAndNorm(x, mlp, $"model.layers.{layer + 1}.input_layernorm.weight");
                    continue;
                }

                g.Scope = "head/";
                var final = FinalNorm(x, mlp, lastPositionOnly);
                var logit = g.Op("MatMul", [final, ScoreHeadWeight(yesTokenId, noTokenId)]);
                g.Identity(g.Op("Squeeze", [logit, g.Int64s(2)]), "logits");
            }
        }

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

        /// <summary>model.norm(x + mlp) at the last position, in float32 whatever the compute type (as transformers upcasts).</summary>
        private string FinalNorm(string x, string mlp, bool alreadyLastPosition)
        {
            if (!alreadyLastPosition)
            {
                x = LastTokens(x);
                mlp = LastTokens(mlp);
            }

            if (_compute == DataType.Float && options.FusedNorms)
                return g.MicrosoftOp("SkipSimplifiedLayerNormalization",
                    [mlp, x, Weight("model.norm.weight", [_hidden], ModelPrecision.Float32)], ("epsilon", (float)config.RmsNormEps));
            var last = g.Op("Add", [x, mlp]);
            if (_compute != DataType.Float)
                last = g.Op("Cast", [last], ("to", DataType.Float));
            return RmsNormFloat32(last, "model.norm.weight");
        }

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

        private int StreamRank => _tokens.Packed ? 2 : 3;

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

        private string Mlp(string x, string prefix)
        {
            var gate = Linear(x, prefix + "gate_proj.weight", config.IntermediateSize, _hidden);
            var up = Linear(x, prefix + "up_proj.weight", config.IntermediateSize, _hidden);
            var activated = g.Op("Mul", [g.Op("Mul", [gate, g.Op("Sigmoid", [gate])]), up]);
            return Linear(activated, prefix + "down_proj.weight", _hidden, config.IntermediateSize);
        }

        /// <summary>The residual add and the next RMSNorm: (norm(x + delta), x + delta), fused into one op when allowed.</summary>
        private (string Normed, string Sum) AddAndNorm(string x, string delta, string weightName)
        {
            if (options.FusedNorms)
            {
                var outputs = g.DomainOp(OnnxGraph.MicrosoftDomain, "SkipSimplifiedLayerNormalization",
                    [delta, x, Weight(weightName, [_hidden])], [true, false, false, true], ("epsilon", (float)config.RmsNormEps));
                return (outputs[0], outputs[3]);
            }

            var sum = g.Op("Add", [x, delta]);
            return (RmsNorm(sum, weightName, _hidden), sum);
        }

        /// <summary>Qwen3RMSNorm: statistics in float32, the result cast back to the compute type before the weight.</summary>
        private string RmsNorm(string x, string weightName, long width)
        {
            if (options.FusedNorms)
                return g.Op("SimplifiedLayerNormalization", [x, Weight(weightName, [width])],
                    ("axis", -1L), ("epsilon", (float)config.RmsNormEps), ("stash_type", 1L));
            var input = _compute == DataType.Float ? x : g.Op("Cast", [x], ("to", DataType.Float));
            return g.Op("Mul", [ToCompute(Normalize(input)), Weight(weightName, [width])]);
        }

        private string RmsNormFloat32(string x, string weightName) =>
            g.Op("Mul", [Normalize(x), Weight(weightName, [_hidden], ModelPrecision.Float32)]);

        private string Normalize(string x)
        {
            var variance = g.Op("ReduceMean", [g.Op("Pow", [x, g.FloatScalar(2f)])], ("axes", new long[] { -1 }), ("keepdims", 1L));
            var deviation = g.Op("Sqrt", [g.Op("Add", [variance, g.FloatScalar((float)config.RmsNormEps)])]);
            return g.Op("Div", [x, deviation]);
        }

        /// <summary>W[yes] − W[no] from the LM head (or the tied embedding), in float32, as a [hidden, 1] matrix.</summary>
        private string ScoreHeadWeight(int yesTokenId, int noTokenId)
        {
            var head = config.TieWordEmbeddings || !checkpoint.Contains("lm_head.weight")
                ? checkpoint.Get("model.embed_tokens.weight", config.VocabSize, _hidden)
                : checkpoint.Get("lm_head.weight", config.VocabSize, _hidden);
            var yes = new float[_hidden];
            var no = new float[_hidden];
            SafetensorsCheckpoint.ReadFloat32(head, yesTokenId * _hidden, yes);
            SafetensorsCheckpoint.ReadFloat32(head, noTokenId * _hidden, no);
            var difference = new float[_hidden];
            for (var i = 0; i < _hidden; i++)
                difference[i] = yes[i] - no[i];
            if (difference.All(d => d == 0))
                throw new ModelFormatException($"{head.FilePath}: rows {yesTokenId} (yes) and {noTokenId} (no) of '{head.Name}' are identical; every score would be 0.5");
            var (offset, length) = weights.WriteFloat32(difference);
            const string name = "score_head.yes_minus_no";
            g.AddExternalInitializer(name, DataType.Float, [_hidden, 1], RerankerManifest.WeightsFileName, offset, length);
            return name;
        }

        private string Weight(string name, long[] shape, ModelPrecision? precisionOverride = null)
        {
            var p = precisionOverride ?? precision;
            var (offset, length) = weights.WriteTensor(checkpoint.Get(name, shape), p);
            g.AddExternalInitializer(name, p == ModelPrecision.Float32 ? DataType.Float : DataType.Float16, shape, RerankerManifest.WeightsFileName, offset, length);
            return name;
        }

        /// <summary>x · Wᵀ for a Hugging Face linear weight W [out, in]: MatMul, or MatMulNBits over block-quantized weights.</summary>
        private string Linear(string x, string name, long outFeatures, long inFeatures)
        {
            if (options.WeightBits == 0)
                return g.Op("MatMul", [x, LinearWeight(name, outFeatures, inFeatures)]);
            var (blocks, scales) = weights.WriteBlockQuantized(checkpoint.Get(name, outFeatures, inFeatures), options.WeightBits, Qwen3GraphOptions.QuantizationBlockSize);
            var blockCount = (inFeatures + Qwen3GraphOptions.QuantizationBlockSize - 1) / Qwen3GraphOptions.QuantizationBlockSize;
            g.AddExternalInitializer(name, DataType.Uint8, [outFeatures, blockCount, Qwen3GraphOptions.QuantizationBlockSize * options.WeightBits / 8],
                RerankerManifest.WeightsFileName, blocks.Offset, blocks.Length);
            g.AddExternalInitializer(name + ".scales", DataType.Float, [outFeatures * blockCount], RerankerManifest.WeightsFileName, scales.Offset, scales.Length);
            // accuracy_level 1: float32 arithmetic on the dequantized weights. Level 4 (int8 activations) ran 1.24x faster on
            // the CPU but moved a pair's logit by up to 2.5e-2 with its batch-mates (README, Performance): not acceptable.
            return g.MicrosoftOp("MatMulNBits", [x, name, name + ".scales"], ("K", inFeatures), ("N", outFeatures), ("bits", (long)options.WeightBits),
                ("block_size", (long)Qwen3GraphOptions.QuantizationBlockSize), ("accuracy_level", 1L));
        }

        private string LinearWeight(string name, long outFeatures, long inFeatures)
        {
            var (offset, length) = weights.WriteTransposed(checkpoint.Get(name, outFeatures, inFeatures), precision);
            g.AddExternalInitializer(name, _compute, [inFeatures, outFeatures], RerankerManifest.WeightsFileName, offset, length);
            return name;
        }

        private string Scalar(float value) =>
            _compute == DataType.Float
                ? g.FloatScalar(value)
                : g.Initializer(DataType.Float16, [], BitConverter.GetBytes((Half)value));

        private string ToCompute(string x) => _compute == DataType.Float ? x : g.Op("Cast", [x], ("to", _compute));
    }
}
