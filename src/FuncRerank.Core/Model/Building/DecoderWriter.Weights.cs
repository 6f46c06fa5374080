using DataType = FuncRerank.Model.Building.Proto.TensorProto.Types.DataType;

namespace FuncRerank.Model.Building;

/// <summary>Checkpoint tensors as external initializers: plain, transposed linear weights, block-quantized, and the score head.</summary>
internal sealed partial class DecoderWriter
{
    /// <summary>W[yes] − W[no] from the LM head (or the tied embedding), in float32, as a [hidden, 1] matrix.</summary>
    private string ScoreHeadWeight(RerankerTokenIds tokenIds)
    {
        var head = config.TieWordEmbeddings || !checkpoint.Contains("lm_head.weight")
            ? checkpoint.Get("model.embed_tokens.weight", config.VocabSize, _hidden)
            : checkpoint.Get("lm_head.weight", config.VocabSize, _hidden);
        var yes = new float[_hidden];
        var no = new float[_hidden];
        SafetensorsCheckpoint.ReadFloat32(head, tokenIds.Yes * _hidden, yes);
        SafetensorsCheckpoint.ReadFloat32(head, tokenIds.No * _hidden, no);
        var difference = new float[_hidden];
        for (var i = 0; i < _hidden; i++)
            difference[i] = yes[i] - no[i];
        if (difference.All(d => d == 0))
            throw new ModelFormatException($"{head.FilePath}: rows {tokenIds.Yes} (yes) and {tokenIds.No} (no) of '{head.Name}' are identical; every score would be 0.5");
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
        // the CPU but moved a pair's logit by up to 2.5e-2 with its batch-mates (docs/performance.md): not acceptable.
        return g.MicrosoftOp("MatMulNBits", [x, name, name + ".scales"], ("K", inFeatures), ("N", outFeatures), ("bits", (long)options.WeightBits),
            ("block_size", (long)Qwen3GraphOptions.QuantizationBlockSize), ("accuracy_level", 1L));
    }

    private string LinearWeight(string name, long outFeatures, long inFeatures)
    {
        var (offset, length) = weights.WriteTransposed(checkpoint.Get(name, outFeatures, inFeatures), precision);
        g.AddExternalInitializer(name, _compute, [inFeatures, outFeatures], RerankerManifest.WeightsFileName, offset, length);
        return name;
    }
}
