namespace FuncRerank.Model;

/// <summary>Where one tensor's bytes lie inside a <c>.safetensors</c> file.</summary>
public sealed record SafetensorsTensor(string Name, TensorDataType DataType, long[] Shape, string FilePath, long DataOffset, long ByteLength)
{
    public long ElementCount => Shape.Aggregate(1L, (n, d) => n * d);
    public int ElementSize => DataType == TensorDataType.Float32 ? 4 : 2;
}
