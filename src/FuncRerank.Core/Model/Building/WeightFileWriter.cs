using System.Runtime.InteropServices;

namespace FuncRerank.Model.Building;

/// <summary>
/// Appends converted tensors to the ONNX external-data file. Each tensor starts on a 64 KiB boundary: ONNX Runtime
/// memory-maps external data only at offsets aligned to the allocation granularity (64 KiB on Windows, the page on Linux).
/// </summary>
internal sealed class WeightFileWriter : IDisposable
{
    private const int Alignment = 64 * 1024;
    private const int ChunkElements = 4 * 1024 * 1024;

    private readonly FileStream _stream;
    private readonly Action<long> _onBytesRead;

    public WeightFileWriter(string path, Action<long> onBytesRead)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("ONNX raw tensor data is little-endian; this builder writes host-order floats");
        _stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        _onBytesRead = onBytesRead;
    }

    /// <summary>Streams a tensor in chunks, converted to <paramref name="precision"/>. Returns (offset, length).</summary>
    public (long Offset, long Length) WriteTensor(SafetensorsTensor tensor, ModelPrecision precision)
    {
        var offset = Align();
        var buffer = new float[(int)Math.Min(ChunkElements, tensor.ElementCount)];
        for (long start = 0; start < tensor.ElementCount; start += buffer.Length)
        {
            var span = buffer.AsSpan(0, (int)Math.Min(buffer.Length, tensor.ElementCount - start));
            SafetensorsCheckpoint.ReadFloat32(tensor, start, span);
            WriteConverted(span, precision, tensor.Name);
            _onBytesRead(span.Length * (long)tensor.ElementSize);
        }

        return (offset, _stream.Position - offset);
    }

    /// <summary>Writes a linear layer's weight transposed from Hugging Face's [out, in] to MatMul's [in, out].</summary>
    public (long Offset, long Length) WriteTransposed(SafetensorsTensor tensor, ModelPrecision precision)
    {
        var rows = (int)tensor.Shape[0];
        var columns = (int)tensor.Shape[1];
        var source = new float[checked(rows * columns)];
        SafetensorsCheckpoint.ReadFloat32(tensor, 0, source);
        var transposed = new float[source.Length];
        for (var r = 0; r < rows; r++)
        for (var c = 0; c < columns; c++)
            transposed[c * rows + r] = source[r * columns + c];
        var offset = Align();
        WriteConverted(transposed, precision, tensor.Name);
        _onBytesRead(tensor.ByteLength);
        return (offset, _stream.Position - offset);
    }

    /// <summary>
    /// A linear layer's weight [out, in] quantized for <c>com.microsoft.MatMulNBits</c>: per output row, blocks of
    /// <paramref name="blockSize"/> input features, each with a float32 scale max|w| / (2^(bits−1) − 1) and values stored
    /// as round(w / scale) + 2^(bits−1) (the op's default zero point), a short last block padded with zeros. Blocks are
    /// [out, blocks, blockSize·bits/8] bytes (4 bits: two values a byte, the lower input index in the low nibble);
    /// scales are [out · blocks].
    /// </summary>
    public ((long Offset, long Length) Blocks, (long Offset, long Length) Scales) WriteBlockQuantized(SafetensorsTensor tensor, int bits, int blockSize)
    {
        var rows = (int)tensor.Shape[0];
        var columns = (int)tensor.Shape[1];
        var blocks = (columns + blockSize - 1) / blockSize;
        var blockBytes = blockSize * bits / 8;
        var zeroPoint = 1 << (bits - 1);
        var largest = zeroPoint - 1;
        var row = new float[blocks * blockSize];
        var packed = new byte[checked(rows * blocks * blockBytes)];
        var scales = new float[rows * blocks];
        for (var r = 0; r < rows; r++)
        {
            SafetensorsCheckpoint.ReadFloat32(tensor, (long)r * columns, row.AsSpan(0, columns));
            for (var b = 0; b < blocks; b++)
            {
                var block = row.AsSpan(b * blockSize, blockSize);
                var maxAbs = 0f;
                foreach (var w in block)
                    maxAbs = Math.Max(maxAbs, Math.Abs(w));
                var scale = maxAbs > 0 ? maxAbs / largest : 1f;
                scales[r * blocks + b] = scale;
                var output = packed.AsSpan((r * blocks + b) * blockBytes, blockBytes);
                for (var i = 0; i < blockSize; i++)
                {
                    var q = (int)Math.Clamp(MathF.Round(block[i] / scale), -zeroPoint, largest) + zeroPoint;
                    if (bits == 8)
                        output[i] = (byte)q;
                    else
                        output[i / 2] |= (byte)(i % 2 == 0 ? q : q << 4);
                }
            }
        }

        _onBytesRead(tensor.ByteLength);
        var blocksOffset = Align();
        _stream.Write(packed);
        var blocksLength = _stream.Position - blocksOffset;
        return ((blocksOffset, blocksLength), WriteFloat32(scales));
    }

    public (long Offset, long Length) WriteFloat32(ReadOnlySpan<float> values)
    {
        var offset = Align();
        _stream.Write(MemoryMarshal.AsBytes(values));
        return (offset, _stream.Position - offset);
    }

    public void Dispose() => _stream.Dispose();

    private long Align()
    {
        var padding = (int)((Alignment - _stream.Position % Alignment) % Alignment);
        if (padding > 0)
            _stream.Write(new byte[padding]);
        return _stream.Position;
    }

    private void WriteConverted(ReadOnlySpan<float> values, ModelPrecision precision, string name)
    {
        if (precision == ModelPrecision.Float32)
        {
            _stream.Write(MemoryMarshal.AsBytes(values));
            return;
        }

        var halves = new Half[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            // bf16 reaches 3.4e38; fp16 stops at 65504. A weight beyond it would silently become infinity.
            if (!float.IsFinite(values[i]) || Math.Abs(values[i]) > (float)Half.MaxValue)
                throw new ModelFormatException(
                    $"tensor '{name}' holds {values[i]}, outside the float16 range (±65504); build with --dtype fp32 for this checkpoint");
            halves[i] = (Half)values[i];
        }

        _stream.Write(MemoryMarshal.AsBytes(halves.AsSpan()));
    }
}
