using FuncRerank.Model.Building.Proto;
using Google.Protobuf;

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
        string checkpointDirectory, string outputDirectory, ModelPrecision precision, RerankerTokenIds tokenIds,
        IReadOnlyDictionary<string, string> sourceHashes, IProgress<BuildProgress>? progress = null) =>
        Build(checkpointDirectory, outputDirectory, precision, tokenIds, sourceHashes, Qwen3GraphOptions.Default, progress);

    /// <summary>Builds with explicit graph options: the benchmark's way to compare the graph-level levers.</summary>
    internal static void Build(
        string checkpointDirectory, string outputDirectory, ModelPrecision precision, RerankerTokenIds tokenIds,
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
        if (tokenIds.Yes >= config.VocabSize || tokenIds.No >= config.VocabSize)
            throw new ModelFormatException($"{checkpointDirectory}: vocab_size {config.VocabSize} has no rows for yes={tokenIds.Yes} / no={tokenIds.No}");

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
            new DecoderWriter(graph, config, checkpoint, weights, precision, graphOptions).Write(tokenIds);
        }

        var model = graph.ToModel("FuncRerank", Version);
        model.Graph.Name = "qwen3_reranker_score";
        foreach (var (key, value) in new Dictionary<string, string>
                 {
                     ["architecture"] = "Qwen3ForCausalLM",
                     ["form"] = "score-head",
                     ["yes_token_id"] = tokenIds.Yes.ToString(),
                     ["no_token_id"] = tokenIds.No.ToString(),
                     ["pad_token_id"] = tokenIds.Pad.ToString(),
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
            YesTokenId = tokenIds.Yes,
            NoTokenId = tokenIds.No,
            PadTokenId = tokenIds.Pad,
            SourceFiles = new SortedDictionary<string, string>(sourceHashes.ToDictionary(), StringComparer.Ordinal),
        }.Save(outputDirectory);
        progress?.Report(new BuildProgress("done", total, total));
    }
}
