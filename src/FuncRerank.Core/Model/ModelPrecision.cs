namespace FuncRerank.Model;

/// <summary>The element type of the built graph's weights and activations. Norms, softmax and the score head stay float32 in both.</summary>
public enum ModelPrecision
{
    /// <summary>For CPUs: matches transformers' float32 scores to rounding.</summary>
    Float32,

    /// <summary>For GPUs: half the memory, tensor cores.</summary>
    Float16,
}

public static class ModelPrecisionNames
{
    public static string ToName(this ModelPrecision precision) => precision == ModelPrecision.Float32 ? "fp32" : "fp16";

    public static ModelPrecision Parse(string name) => name.ToLowerInvariant() switch
    {
        "fp32" or "float32" => ModelPrecision.Float32,
        "fp16" or "float16" => ModelPrecision.Float16,
        _ => throw new ArgumentException($"unknown dtype '{name}'; use fp32 or fp16"),
    };
}
