namespace FuncRerank.Model;

/// <summary>The element type of a checkpoint tensor: safetensors' F32, F16 or BF16.</summary>
public enum TensorDataType
{
    Float32,
    Float16,
    BFloat16,
}
