using System.Diagnostics;
using FuncRerank.Inference;
using FuncRerank.Model.Building;
using FuncRerank.Model.Building.Proto;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using DataType = FuncRerank.Model.Building.Proto.TensorProto.Types.DataType;

namespace FuncRerank.GpuCheck;

/// <param name="Size">M = K = N of each product.</param>
/// <param name="Chain">Products per run.</param>
internal sealed record PeakResult(int Size, int Chain, double BestTflops, double MedianTflops, int Runs);

/// <summary>
/// The dense fp16 matrix-multiply rate ONNX Runtime reaches here, with the server's session settings on the same device:
/// a chain of fp16 MatMuls over constant weights, started from a one-element input and reduced to one output, so that
/// nothing of size crosses between host and device and the products are the whole of the work (the scaling and the
/// reduction read each matrix once, about 2 % of the time at 8,192³).
/// </summary>
internal static class HalfPrecisionPeak
{
    public static PeakResult Measure(ExecutionDevice device, int size, int chain, TimeSpan duration)
    {
        using var options = OnnxScorer.CreateSessionOptions(new ScorerOptions { Device = device, RequireCuda = true }, device == ExecutionDevice.Cuda);
        using var session = new InferenceSession(Graph(size, chain), options);
        using var input = OrtValue.CreateTensorValueFromMemory(new[] { (Float16)1.0f }, [1]);
        using var runOptions = new RunOptions();
        string[] inputNames = ["scale"];
        string[] outputNames = ["max"];
        for (var i = 0; i < 3; i++)
            session.Run(runOptions, inputNames, [input], outputNames).Dispose();
        var flops = 2.0 * size * size * size * chain;
        var rates = new List<double>();
        var total = Stopwatch.StartNew();
        while (total.Elapsed < duration || rates.Count < 5)
        {
            var watch = Stopwatch.StartNew();
            session.Run(runOptions, inputNames, [input], outputNames).Dispose(); // returns once the device has finished
            rates.Add(flops / watch.Elapsed.TotalSeconds / 1e12);
        }

        rates.Sort();
        return new PeakResult(size, chain, rates[^1], rates[rates.Count / 2], rates.Count);
    }

    private static byte[] Graph(int size, int chain)
    {
        var g = new OnnxGraph();
        g.AddInput("scale", DataType.Float16, "1");
        g.AddOutput("max", DataType.Float16);
        // Entries uniform in [-1, 1] and weights scaled by √(3/K): each product keeps its input's spread, so a chain of
        // them neither overflows nor underflows float16.
        var x = g.Op("Mul", [HalfMatrix(g, size, 1.0, 5), "scale"]);
        var weights = HalfMatrix(g, size, Math.Sqrt(3.0 / size), 11);
        for (var i = 0; i < chain; i++)
            x = g.Op("MatMul", [x, weights]);
        g.Identity(g.Op("ReduceMax", [x], ("keepdims", 0L)), "max");
        return g.ToModel("funcrerank-gpucheck").ToByteArray();
    }

    private static string HalfMatrix(OnnxGraph g, int size, double scale, ulong seed)
    {
        var bytes = new byte[(long)size * size * 2];
        var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(bytes.AsSpan());
        var state = seed * 0x9E3779B97F4A7C15UL + 1;
        for (var i = 0; i < values.Length; i++)
        {
            // xorshift64*: fast enough for 67 M entries and the same on every machine.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            var unit = (state * 0x2545F4914F6CDD1DUL >> 11) / (double)(1UL << 53);
            values[i] = (Half)((unit * 2 - 1) * scale);
        }

        return g.Initializer(DataType.Float16, [size, size], bytes);
    }
}
