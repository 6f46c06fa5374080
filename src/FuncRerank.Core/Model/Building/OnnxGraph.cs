using FuncRerank.Model.Building.Proto;
using Google.Protobuf;
using DataType = FuncRerank.Model.Building.Proto.TensorProto.Types.DataType;

namespace FuncRerank.Model.Building;

/// <summary>
/// A thin way to write an ONNX <see cref="GraphProto"/> node by node: every call returns the name of the value it
/// produced, so a model reads as a sequence of operations. Names are made unique under a scope prefix.
/// </summary>
internal sealed class OnnxGraph
{
    private int _counter;

    public GraphProto Proto { get; } = new();

    public string Scope { get; set; } = "";

    /// <summary>The graph as a model: IR version 8, the default domain at opset 17, version 1 of every other domain it uses.</summary>
    public ModelProto ToModel(string producerName, string producerVersion = "")
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = producerName, ProducerVersion = producerVersion, Graph = Proto };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        foreach (var domain in _domains)
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = 1 });
        return model;
    }

    public void AddInput(string name, DataType type, params string[] dims) => Proto.Input.Add(ValueInfo(name, type, dims));

    public void AddOutput(string name, DataType type, params string[] dims) => Proto.Output.Add(ValueInfo(name, type, dims));

    /// <summary>Adds a node; attributes are long, float, long[] or <see cref="DataType"/> (for Cast's "to").</summary>
    public string Op(string opType, string[] inputs, params (string Name, object Value)[] attributes) =>
        OpWithOutputs(opType, inputs, 1, attributes)[0];

    public string[] OpWithOutputs(string opType, string[] inputs, int outputCount, params (string Name, object Value)[] attributes) =>
        DomainOp("", opType, inputs, Enumerable.Repeat(true, outputCount).ToArray(), attributes);

    /// <summary>A node of ONNX Runtime's contrib domain (<c>com.microsoft</c>); returns its first output.</summary>
    public string MicrosoftOp(string opType, string[] inputs, params (string Name, object Value)[] attributes) =>
        DomainOp(MicrosoftDomain, opType, inputs, [true], attributes)[0];

    public const string MicrosoftDomain = "com.microsoft";

    /// <summary>Domains other than the default one that nodes use (each needs an opset import).</summary>
    public IReadOnlySet<string> Domains => _domains;

    private readonly HashSet<string> _domains = [];

    /// <summary>
    /// Adds a node in <paramref name="domain"/>. Inputs may be "" (an optional input left out); <paramref name="outputs"/>
    /// says which outputs are used: the others are left unnamed (""), as ONNX allows for optional outputs.
    /// </summary>
    public string[] DomainOp(string domain, string opType, string[] inputs, bool[] outputs, params (string Name, object Value)[] attributes)
    {
        var id = $"{Scope}{opType}_{_counter++}";
        var node = new NodeProto { OpType = opType, Name = id, Domain = domain };
        if (domain.Length > 0)
            _domains.Add(domain);
        node.Input.AddRange(inputs);
        for (var i = 0; i < outputs.Length; i++)
            node.Output.Add(!outputs[i] ? "" : outputs.Length == 1 ? id : $"{id}:{i}");
        foreach (var (name, value) in attributes)
            node.Attribute.Add(Attribute(name, value));
        Proto.Node.Add(node);
        return node.Output.ToArray();
    }

    /// <summary>Renames the value that <paramref name="value"/> names to a graph output name.</summary>
    public void Identity(string value, string outputName)
    {
        var node = new NodeProto { OpType = "Identity", Name = $"{Scope}Identity_{_counter++}" };
        node.Input.Add(value);
        node.Output.Add(outputName);
        Proto.Node.Add(node);
    }

    public string Int64s(params long[] values) => Initializer(DataType.Int64, [values.Length], MemoryMarshalBytes(values));

    public string Int64Scalar(long value) => Initializer(DataType.Int64, [], MemoryMarshalBytes([value]));

    public string Int32Scalar(int value) => Initializer(DataType.Int32, [], MemoryMarshalBytes([value]));

    public string FloatScalar(float value) => Initializer(DataType.Float, [], MemoryMarshalBytes([value]));

    public string Floats(float[] values, params long[] dims) => Initializer(DataType.Float, dims, MemoryMarshalBytes(values));

    public string Initializer(DataType type, long[] dims, byte[] rawData)
    {
        var name = $"{Scope}const_{_counter++}";
        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(rawData) };
        tensor.Dims.AddRange(dims);
        Proto.Initializer.Add(tensor);
        return name;
    }

    /// <summary>Declares an initializer whose bytes live in the external data file beside the model.</summary>
    public void AddExternalInitializer(string name, DataType type, long[] dims, string location, long offset, long length)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)type, DataLocation = TensorProto.Types.DataLocation.External };
        tensor.Dims.AddRange(dims);
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        Proto.Initializer.Add(tensor);
    }

    private static byte[] MemoryMarshalBytes<T>(T[] values) where T : unmanaged =>
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    private static ValueInfoProto ValueInfo(string name, DataType type, string[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var dim in dims)
            shape.Dim.Add(long.TryParse(dim, out var size) ? new TensorShapeProto.Types.Dimension { DimValue = size } : new TensorShapeProto.Types.Dimension { DimParam = dim });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    private static AttributeProto Attribute(string name, object value) => value switch
    {
        long l => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = l },
        int i => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = i },
        DataType t => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = (long)t },
        float f => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = f },
        long[] ls => WithInts(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints }, ls),
        _ => throw new ArgumentException($"unsupported attribute value {value.GetType()} for '{name}'"),
    };

    private static AttributeProto WithInts(AttributeProto attribute, long[] values)
    {
        attribute.Ints.AddRange(values);
        return attribute;
    }
}
