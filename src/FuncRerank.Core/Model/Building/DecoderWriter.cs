using DataType = FuncRerank.Model.Building.Proto.TensorProto.Types.DataType;

namespace FuncRerank.Model.Building;

/// <summary>
/// Emits the decoder into an <see cref="OnnxGraph"/> and streams each weight into the data file in the order the graph first
/// uses it. This part writes the decoder stack (embedding, layers, MLP, norms, score head); the token layout and masks,
/// attention, and the weights are written by the other parts of this class.
/// </summary>
internal sealed partial class DecoderWriter(
    OnnxGraph g, Qwen3Config config, SafetensorsCheckpoint checkpoint, WeightFileWriter weights, ModelPrecision precision, Qwen3GraphOptions options)
{
    private readonly DataType _compute = precision == ModelPrecision.Float32 ? DataType.Float : DataType.Float16;
    private readonly long _hidden = config.HiddenSize;
    private readonly long _headDim = config.HeadDim;
    private readonly long _heads = config.NumAttentionHeads;
    private readonly long _kvHeads = config.NumKeyValueHeads;
    private readonly AttentionKernel _attention = options.AttentionFor(precision);
    private readonly bool _sharedPrefix = options.SharedPrefix;

    public void Write(RerankerTokenIds tokenIds)
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
            var logit = g.Op("MatMul", [final, ScoreHeadWeight(tokenIds)]);
            g.Identity(g.Op("Squeeze", [logit, g.Int64s(2)]), "logits");
        }
    }

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

    private string Scalar(float value) =>
        _compute == DataType.Float
            ? g.FloatScalar(value)
            : g.Initializer(DataType.Float16, [], BitConverter.GetBytes((Half)value));

    private string ToCompute(string x) => _compute == DataType.Float ? x : g.Op("Cast", [x], ("to", _compute));
}
