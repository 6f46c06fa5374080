using System.Text.Json;
using System.Text.Json.Serialization;

namespace FuncRerank.Model;

/// <summary>
/// <c>reranker.json</c>, written beside a built <c>model.onnx</c>: what the graph expects and where it came from.
/// Its presence is what makes a directory a built model that is served as is.
/// </summary>
public sealed record RerankerManifest
{
    public const string FileName = "reranker.json";
    public const string GraphFileName = "model.onnx";
    public const string WeightsFileName = "model.onnx_data";
    public const int CurrentFormat = 1;

    public required int Format { get; init; }
    public required string Builder { get; init; }
    public required string Dtype { get; init; }
    public required Qwen3Config Architecture { get; init; }
    public required int YesTokenId { get; init; }
    public required int NoTokenId { get; init; }
    public required int PadTokenId { get; init; }

    /// <summary>The three ids above as one value; the file keeps them as three fields.</summary>
    [JsonIgnore]
    public RerankerTokenIds TokenIds => new(YesTokenId, NoTokenId, PadTokenId);

    /// <summary>SHA-256 of each source file (name → hex), so a build can be traced to its checkpoint.</summary>
    public required SortedDictionary<string, string> SourceFiles { get; init; }
    public string Graph { get; init; } =
        "inputs input_ids, attention_mask int64 [batch, sequence], left-padded; output logits float32 [batch, 1] = " +
        "h_last · (W_yes − W_no); score = sigmoid(logits); linear weights stored transposed as [in, out]";

    [JsonIgnore]
    public ModelPrecision Precision => ModelPrecisionNames.Parse(Dtype);

    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    public void Save(string directory) =>
        File.WriteAllText(Path.Combine(directory, FileName), JsonSerializer.Serialize(this, Options));

    public static bool Exists(string directory) =>
        File.Exists(Path.Combine(directory, FileName)) && File.Exists(Path.Combine(directory, GraphFileName));

    public static RerankerManifest Load(string directory)
    {
        var path = Path.Combine(directory, FileName);
        RerankerManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<RerankerManifest>(File.ReadAllText(path), Options);
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"{path}: not a valid manifest ({e.Message})");
        }

        if (manifest is null || manifest.Format != CurrentFormat)
            throw new ModelFormatException($"{path}: manifest format {manifest?.Format} is not {CurrentFormat}; rebuild with `funcrerank build`");
        return manifest;
    }
}
