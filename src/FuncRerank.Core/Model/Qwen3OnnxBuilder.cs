using FuncRerank.Onnx;
using FuncRerank.Onnx.Proto;
using Google.Protobuf;
using DataType = FuncRerank.Onnx.Proto.TensorProto.Types.DataType;

namespace FuncRerank.Model;

public sealed record BuildProgress(string Stage, long BytesDone, long BytesTotal);

/// <summary>
/// Writes a Hugging Face Qwen3 checkpoint as an ONNX "score head" graph: the decoder as transformers' Qwen3 code runs it
/// (eager attention), then only <c>h_last · (W_yes − W_no)</c> at the last position, never the 151,669-wide LM head.
/// Inputs are left-padded, so the last column is every row's last real token; positions come from the mask, so a
/// row's rotary angles do not depend on its batch-mates.
/// </summary>
public static class Qwen3OnnxBuilder
{
    /// <summary>Part of the cache key: bump it whenever the graph or the weight layout changes.</summary>
    public const string Version = "funcrerank-qwen3-score-1";

    private const long OpsetVersion = 17;
    private const long IrVersion = 8;

    public static void Build(
        string checkpointDirectory, string outputDirectory, ModelPrecision precision, int yesTokenId, int noTokenId, int padTokenId,
        IReadOnlyDictionary<string, string> sourceHashes, IProgress<BuildProgress>? progress = null)
    {
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
            new DecoderWriter(graph, config, checkpoint, weights, precision).Write(yesTokenId, noTokenId);
        }

        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "FuncRerank",
            ProducerVersion = Version,
            Graph = graph.Proto,
        };
        model.Graph.Name = "qwen3_reranker_score";
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OpsetVersion });
        foreach (var (key, value) in new Dictionary<string, string>
                 {
                     ["architecture"] = "Qwen3ForCausalLM",
                     ["form"] = "score-head",
                     ["yes_token_id"] = yesTokenId.ToString(),
                     ["no_token_id"] = noTokenId.ToString(),
                     ["pad_token_id"] = padTokenId.ToString(),
                     ["padding_side"] = "left",
                     ["dtype"] = precision.ToName(),
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
    private sealed class DecoderWriter(OnnxGraph g, Qwen3Config config, SafetensorsCheckpoint checkpoint, WeightFileWriter weights, ModelPrecision precision)
    {
        private readonly DataType _compute = precision == ModelPrecision.Float32 ? DataType.Float : DataType.Float16;
        private readonly long _hidden = config.HiddenSize;
        private readonly long _headDim = config.HeadDim;
        private readonly long _heads = config.NumAttentionHeads;
        private readonly long _kvHeads = config.NumKeyValueHeads;

        public void Write(int yesTokenId, int noTokenId)
        {
            g.AddInput("input_ids", DataType.Int64, "batch", "sequence");
            g.AddInput("attention_mask", DataType.Int64, "batch", "sequence");
            g.AddOutput("logits", DataType.Float, "batch", "1");

            g.Scope = "rotary/";
            var (cos, sin) = RotaryTables();
            g.Scope = "mask/";
            var attentionBias = AttentionBias();

            g.Scope = "embed/";
            var x = g.Op("Gather", [Weight("model.embed_tokens.weight", [config.VocabSize, _hidden]), "input_ids"]);
            for (var layer = 0; layer < config.NumHiddenLayers; layer++)
            {
                g.Scope = $"layers.{layer}/";
                var prefix = $"model.layers.{layer}.";
                var attention = Attention(RmsNorm(x, prefix + "input_layernorm.weight", _hidden), prefix + "self_attn.", cos, sin, attentionBias);
                x = g.Op("Add", [x, attention]);
                var mlp = Mlp(RmsNorm(x, prefix + "post_attention_layernorm.weight", _hidden), prefix + "mlp.");
                x = g.Op("Add", [x, mlp]);
            }

            g.Scope = "head/";
            var last = g.Op("Slice", [x, g.Int64s(-1), g.Int64s(long.MaxValue), g.Int64s(1)]);
            if (_compute != DataType.Float)
                last = g.Op("Cast", [last], ("to", DataType.Float));
            var normed = RmsNormFloat32(last, "model.norm.weight");
            var logit = g.Op("MatMul", [normed, ScoreHeadWeight(yesTokenId, noTokenId)]);
            g.Identity(g.Op("Squeeze", [logit, g.Int64s(2)]), "logits");
        }

        /// <summary>cos/sin of shape [batch, 1, sequence, head_dim], angles in float32 as transformers computes them.</summary>
        private (string Cos, string Sin) RotaryTables()
        {
            var cumulative = g.Op("CumSum", ["attention_mask", g.Int64Scalar(1)]);
            var positions = g.Op("Mul", [g.Op("Sub", [cumulative, g.Int64Scalar(1)]), "attention_mask"]);
            var positionsFloat = g.Op("Unsqueeze", [g.Op("Cast", [positions], ("to", DataType.Float)), g.Int64s(-1)]);
            var half = (int)_headDim / 2;
            var inverseFrequencies = new float[half];
            // float32 throughout, as transformers: 1 / theta ** (arange(0, d, 2).float() / d)
            for (var i = 0; i < half; i++)
                inverseFrequencies[i] = 1f / MathF.Pow((float)config.RopeTheta, 2f * i / _headDim);
            var frequencies = g.Op("Mul", [positionsFloat, g.Floats(inverseFrequencies, half)]);
            var angles = g.Op("Unsqueeze", [g.Op("Concat", [frequencies, frequencies], ("axis", -1L)), g.Int64s(1)]);
            return (ToCompute(g.Op("Cos", [angles])), ToCompute(g.Op("Sin", [angles])));
        }

        /// <summary>
        /// Additive float32 bias [batch, 1, 1, sequence, sequence]: 0 where a query may attend (causal and the key is a real
        /// token), float.MinValue elsewhere, as transformers' eager mask. A pad query always sees itself, so no softmax row is
        /// all masked and no NaN can reach the real rows.
        /// </summary>
        private string AttentionBias()
        {
            var length = g.Op("Squeeze", [g.Op("Shape", ["input_ids"], ("start", 1L), ("end", 2L)), g.Int64s(0)]);
            var range = g.Op("Range", [g.Int64Scalar(0), length, g.Int64Scalar(1)]);
            var queryIndex = g.Op("Unsqueeze", [range, g.Int64s(1)]);
            var keyIndex = g.Op("Unsqueeze", [range, g.Int64s(0)]);
            var causal = g.Op("LessOrEqual", [keyIndex, queryIndex]);
            var diagonal = g.Op("Equal", [keyIndex, queryIndex]);
            var keyIsToken = g.Op("Cast", [g.Op("Unsqueeze", ["attention_mask", g.Int64s(1, 2, 3)])], ("to", DataType.Bool));
            var allowed = g.Op("Or", [g.Op("And", [causal, keyIsToken]), diagonal]);
            return g.Op("Where", [allowed, g.FloatScalar(0f), g.FloatScalar(float.MinValue)]);
        }

        private string Attention(string x, string prefix, string cos, string sin, string bias)
        {
            var queriesPerKv = _heads / _kvHeads;
            var q = g.Op("MatMul", [x, LinearWeight(prefix + "q_proj.weight", _heads * _headDim, _hidden)]);
            var k = g.Op("MatMul", [x, LinearWeight(prefix + "k_proj.weight", _kvHeads * _headDim, _hidden)]);
            var v = g.Op("MatMul", [x, LinearWeight(prefix + "v_proj.weight", _kvHeads * _headDim, _hidden)]);

            // [b, s, heads·d] → [b, s, heads, d] → per-head RMSNorm → [b, heads, s, d], as Qwen3Attention does.
            q = g.Op("Reshape", [q, g.Int64s(0, 0, _heads, _headDim)]);
            q = g.Op("Transpose", [RmsNorm(q, prefix + "q_norm.weight", _headDim)], ("perm", new long[] { 0, 2, 1, 3 }));
            k = g.Op("Reshape", [k, g.Int64s(0, 0, _kvHeads, _headDim)]);
            k = g.Op("Transpose", [RmsNorm(k, prefix + "k_norm.weight", _headDim)], ("perm", new long[] { 0, 2, 1, 3 }));
            v = g.Op("Transpose", [g.Op("Reshape", [v, g.Int64s(0, 0, _kvHeads, _headDim)])], ("perm", new long[] { 0, 2, 1, 3 }));
            q = Rotate(q, cos, sin);
            k = Rotate(k, cos, sin);

            // Grouped-query attention without copying K/V: query head h = kv·n + r uses kv head kv (transformers' repeat_kv),
            // so view the queries as [b, kv, n, s, d] and let MatMul broadcast K and V over n.
            var q5 = g.Op("Reshape", [q, g.Int64s(0, _kvHeads, queriesPerKv, -1, _headDim)]);
            var k5 = g.Op("Unsqueeze", [k, g.Int64s(2)]);
            var v5 = g.Op("Unsqueeze", [v, g.Int64s(2)]);
            var scores = g.Op("MatMul", [q5, g.Op("Transpose", [k5], ("perm", new long[] { 0, 1, 2, 4, 3 }))]);
            scores = g.Op("Mul", [scores, Scalar(1.0f / MathF.Sqrt(_headDim))]);
            if (_compute != DataType.Float)
                scores = g.Op("Cast", [scores], ("to", DataType.Float));
            var probabilities = ToCompute(g.Op("Softmax", [g.Op("Add", [scores, bias])], ("axis", -1L)));
            var context = g.Op("MatMul", [probabilities, v5]);
            context = g.Op("Reshape", [context, g.Int64s(0, _heads, -1, _headDim)]);
            context = g.Op("Transpose", [context], ("perm", new long[] { 0, 2, 1, 3 }));
            context = g.Op("Reshape", [context, g.Int64s(0, 0, _heads * _headDim)]);
            return g.Op("MatMul", [context, LinearWeight(prefix + "o_proj.weight", _hidden, _heads * _headDim)]);
        }

        /// <summary>x·cos + rotate_half(x)·sin, with rotate_half(x) = [−x₂, x₁] over the two halves of head_dim.</summary>
        private string Rotate(string x, string cos, string sin)
        {
            var halves = g.OpWithOutputs("Split", [x, g.Int64s(_headDim / 2, _headDim / 2)], 2, ("axis", -1L));
            var rotated = g.Op("Concat", [g.Op("Neg", [halves[1]]), halves[0]], ("axis", -1L));
            return g.Op("Add", [g.Op("Mul", [x, cos]), g.Op("Mul", [rotated, sin])]);
        }

        private string Mlp(string x, string prefix)
        {
            var gate = g.Op("MatMul", [x, LinearWeight(prefix + "gate_proj.weight", config.IntermediateSize, _hidden)]);
            var up = g.Op("MatMul", [x, LinearWeight(prefix + "up_proj.weight", config.IntermediateSize, _hidden)]);
            var activated = g.Op("Mul", [g.Op("Mul", [gate, g.Op("Sigmoid", [gate])]), up]);
            return g.Op("MatMul", [activated, LinearWeight(prefix + "down_proj.weight", _hidden, config.IntermediateSize)]);
        }

        /// <summary>Qwen3RMSNorm: statistics in float32, the result cast back to the compute type before the weight.</summary>
        private string RmsNorm(string x, string weightName, long width)
        {
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
