namespace FuncRerank.Model;

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
