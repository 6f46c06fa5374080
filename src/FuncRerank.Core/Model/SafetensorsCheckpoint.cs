using System.Buffers.Binary;
using System.Text.Json;

namespace FuncRerank.Model;

/// <summary>
/// The tensors of a Hugging Face checkpoint: one <c>model.safetensors</c>, or the shards that
/// <c>model.safetensors.index.json</c> names. Only headers are read up front; tensor data is read on demand,
/// so an 8B checkpoint is never held in memory as a whole.
/// </summary>
public sealed class SafetensorsCheckpoint
{
    public const string SingleFileName = "model.safetensors";
    public const string IndexFileName = "model.safetensors.index.json";

    // A real header is a few hundred KB; anything near this is a corrupt length field.
    private const long MaxHeaderBytes = 100L * 1024 * 1024;

    private readonly Dictionary<string, SafetensorsTensor> _tensors;

    private SafetensorsCheckpoint(IReadOnlyList<string> files, Dictionary<string, SafetensorsTensor> tensors)
    {
        Files = files;
        _tensors = tensors;
    }

    /// <summary>The weight files, in shard order.</summary>
    public IReadOnlyList<string> Files { get; }

    public IEnumerable<SafetensorsTensor> Tensors => _tensors.Values;

    public static SafetensorsCheckpoint Open(string modelDirectory)
    {
        var files = SourceFiles(modelDirectory).Where(f => Path.GetFileName(f) != IndexFileName).ToArray();
        var tensors = new Dictionary<string, SafetensorsTensor>(StringComparer.Ordinal);
        foreach (var file in files)
        foreach (var tensor in ReadHeader(file))
        {
            if (!tensors.TryAdd(tensor.Name, tensor))
                throw new ModelFormatException($"{file}: tensor '{tensor.Name}' also appears in {tensors[tensor.Name].FilePath}");
        }

        return new SafetensorsCheckpoint(files, tensors);
    }

    /// <summary>The files a checkpoint's weights come from: the index and its shards, or the single file.</summary>
    public static IReadOnlyList<string> SourceFiles(string modelDirectory)
    {
        var single = Path.Combine(modelDirectory, SingleFileName);
        var index = Path.Combine(modelDirectory, IndexFileName);
        if (File.Exists(index))
            return [index, .. ReadIndex(index, modelDirectory)];
        if (File.Exists(single))
            return [single];
        throw new ModelFormatException(
            $"{modelDirectory}: no {SingleFileName} or {IndexFileName} (only safetensors checkpoints are supported)");
    }

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public SafetensorsTensor Get(string name, params long[] expectedShape)
    {
        if (!_tensors.TryGetValue(name, out var tensor))
            throw new ModelFormatException($"checkpoint has no tensor '{name}' (files: {string.Join(", ", Files.Select(Path.GetFileName))})");
        if (expectedShape.Length > 0 && !tensor.Shape.SequenceEqual(expectedShape))
            throw new ModelFormatException(
                $"{tensor.FilePath}: tensor '{name}' has shape [{string.Join(", ", tensor.Shape)}], config.json implies [{string.Join(", ", expectedShape)}]");
        return tensor;
    }

    /// <summary>Reads elements [start, start + destination.Length) of a tensor, widened to float32 (exactly: bf16 and f16 fit in f32).</summary>
    public static void ReadFloat32(SafetensorsTensor tensor, long startElement, Span<float> destination)
    {
        if (startElement < 0 || startElement + destination.Length > tensor.ElementCount)
            throw new ArgumentOutOfRangeException(nameof(startElement));
        var bytes = new byte[checked(destination.Length * tensor.ElementSize)];
        using (var handle = File.OpenHandle(tensor.FilePath))
        {
            var offset = tensor.DataOffset + startElement * tensor.ElementSize;
            var read = 0;
            while (read < bytes.Length)
            {
                var n = RandomAccess.Read(handle, bytes.AsSpan(read), offset + read);
                if (n == 0)
                    throw new ModelFormatException($"{tensor.FilePath}: file ends inside tensor '{tensor.Name}' (truncated download?)");
                read += n;
            }
        }

        switch (tensor.DataType)
        {
            case TensorDataType.Float32:
                for (var i = 0; i < destination.Length; i++)
                    destination[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * 4));
                break;
            case TensorDataType.Float16:
                for (var i = 0; i < destination.Length; i++)
                    destination[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes.AsSpan(i * 2));
                break;
            case TensorDataType.BFloat16:
                for (var i = 0; i < destination.Length; i++)
                    destination[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(i * 2)) << 16);
                break;
        }
    }

    private static string[] ReadIndex(string indexPath, string modelDirectory)
    {
        var files = ShardNames(indexPath);
        foreach (var file in files)
        {
            if (!File.Exists(Path.Combine(modelDirectory, file)))
                throw new ModelFormatException($"{indexPath}: shard '{file}' is missing from {modelDirectory}");
        }

        return files.Select(f => Path.Combine(modelDirectory, f)).ToArray();
    }

    /// <summary>The shard file names an index's weight map points at, in order; each is a plain name in the index's directory.</summary>
    internal static string[] ShardNames(string indexPath)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            if (!document.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new ModelFormatException($"{indexPath}: no 'weight_map' object");
            var files = map.EnumerateObject()
                .Select(p => p.Value.GetString() ?? throw new ModelFormatException($"{indexPath}: weight_map['{p.Name}'] is not a file name"))
                .Distinct(StringComparer.Ordinal)
                .Order(StringComparer.Ordinal)
                .ToArray();
            foreach (var file in files)
            {
                if (Path.GetFileName(file) != file || file is "." or "..")
                    throw new ModelFormatException($"{indexPath}: shard name '{file}' must be a plain file name");
            }

            return files;
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"{indexPath}: not valid JSON ({e.Message})");
        }
    }

    private static List<SafetensorsTensor> ReadHeader(string path)
    {
        using var stream = File.OpenRead(path);
        var fileLength = stream.Length;
        Span<byte> lengthBytes = stackalloc byte[8];
        if (stream.ReadAtLeast(lengthBytes, 8, throwOnEndOfStream: false) != 8)
            throw new ModelFormatException($"{path}: too short to be a safetensors file ({fileLength} bytes)");
        var headerLength = BinaryPrimitives.ReadInt64LittleEndian(lengthBytes);
        if (headerLength <= 0 || headerLength > MaxHeaderBytes || 8 + headerLength > fileLength)
            throw new ModelFormatException($"{path}: corrupt safetensors header (header length {headerLength}, file length {fileLength})");

        var header = new byte[headerLength];
        stream.ReadExactly(header);
        var dataStart = 8 + headerLength;
        var tensors = new List<SafetensorsTensor>();
        try
        {
            using var document = JsonDocument.Parse(header);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new ModelFormatException($"{path}: corrupt safetensors header (not a JSON object)");
            foreach (var entry in document.RootElement.EnumerateObject())
            {
                if (entry.Name == "__metadata__")
                    continue;
                tensors.Add(ParseEntry(entry, path, dataStart, fileLength));
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            throw new ModelFormatException($"{path}: corrupt safetensors header ({e.Message})");
        }

        return tensors;
    }

    private static SafetensorsTensor ParseEntry(JsonProperty entry, string path, long dataStart, long fileLength)
    {
        var value = entry.Value;
        var dtypeName = value.GetProperty("dtype").GetString();
        var dataType = dtypeName switch
        {
            "F32" => TensorDataType.Float32,
            "F16" => TensorDataType.Float16,
            "BF16" => TensorDataType.BFloat16,
            _ => throw new ModelFormatException($"{path}: tensor '{entry.Name}' has dtype {dtypeName}; supported: BF16, F16, F32"),
        };
        var shape = value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
        var offsets = value.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
        var tensor = new SafetensorsTensor(entry.Name, dataType, shape, path, dataStart + (offsets.Length == 2 ? offsets[0] : -1),
            offsets.Length == 2 ? offsets[1] - offsets[0] : -1);
        if (shape.Any(d => d < 0) || offsets.Length != 2 || offsets[0] < 0 || tensor.ByteLength != tensor.ElementCount * tensor.ElementSize)
            throw new ModelFormatException($"{path}: corrupt safetensors header (tensor '{entry.Name}': shape and data_offsets disagree)");
        if (tensor.DataOffset + tensor.ByteLength > fileLength)
            throw new ModelFormatException(
                $"{path}: tensor '{entry.Name}' ends at byte {tensor.DataOffset + tensor.ByteLength} but the file has {fileLength} (truncated download?)");
        return tensor;
    }
}
