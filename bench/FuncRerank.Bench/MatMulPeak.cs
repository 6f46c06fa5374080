using System.Diagnostics;
using FuncRerank.Model.Building;
using FuncRerank.Model.Building.Proto;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using DataType = FuncRerank.Model.Building.Proto.TensorProto.Types.DataType;

namespace FuncRerank.Bench;

internal sealed record GemmResult(int M, int K, int N, double BestGflops, double MedianGflops, int Runs);

/// <summary>
/// This machine's fp32 matrix-multiply peak as ONNX Runtime reaches it: one MatMul node (activation input × constant
/// weight, as in the model) built with the project's <see cref="OnnxGraph"/>, run on the same session settings as the
/// server (its intra-op thread count, sequential execution).
/// </summary>
internal static class MatMulPeak
{
    public static GemmResult Measure(int m, int k, int n, int threads, TimeSpan duration)
    {
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
        };
        using var session = new InferenceSession(Graph(k, n), options);
        var a = new float[(long)m * k];
        var random = new Random(7);
        for (var i = 0; i < a.Length; i++)
            a[i] = (float)(random.NextDouble() - 0.5);
        using var input = OrtValue.CreateTensorValueFromMemory(a, [m, k]);
        using var runOptions = new RunOptions();
        string[] inputNames = ["a"];
        string[] outputNames = ["c"];

        // Two warm-up runs (weight prepacking, arena growth), then timed runs until the duration is spent.
        for (var i = 0; i < 2; i++)
            session.Run(runOptions, inputNames, [input], outputNames).Dispose();
        var flops = 2.0 * m * k * n;
        var rates = new List<double>();
        var total = Stopwatch.StartNew();
        while (total.Elapsed < duration || rates.Count < 3)
        {
            var watch = Stopwatch.StartNew();
            session.Run(runOptions, inputNames, [input], outputNames).Dispose();
            rates.Add(flops / watch.Elapsed.TotalSeconds / 1e9);
        }

        rates.Sort();
        return new GemmResult(m, k, n, rates[^1], rates[rates.Count / 2], rates.Count);
    }

    private static byte[] Graph(int k, int n)
    {
        var g = new OnnxGraph();
        g.AddInput("a", DataType.Float, "m", k.ToString());
        g.AddOutput("c", DataType.Float, "m", n.ToString());
        var weights = new float[(long)k * n];
        var random = new Random(11);
        for (var i = 0; i < weights.Length; i++)
            weights[i] = (float)((random.NextDouble() - 0.5) / Math.Sqrt(k));
        var b = g.Floats(weights, k, n);
        g.Identity(g.Op("MatMul", ["a", b]), "c");
        return g.ToModel("funcrerank-bench").ToByteArray();
    }
}
