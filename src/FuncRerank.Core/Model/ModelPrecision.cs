namespace FuncRerank.Model;

/// <summary>The element type of the built graph's weights and activations. Norms, softmax and the score head stay float32 in both.</summary>
public enum ModelPrecision
{
    /// <summary>For CPUs: matches transformers' float32 scores to rounding.</summary>
    Float32,

    /// <summary>For GPUs: half the memory, tensor cores.</summary>
    Float16,
}
