using FuncRerank.Model;
using FuncRerank.Model.Building;
using FuncRerank.Tests.TestSupport;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using DataType = FuncRerank.Model.Building.Proto.TensorProto.Types.DataType;

namespace FuncRerank.Tests.Model;

/// <summary>
/// The weights <see cref="WeightFileWriter.WriteBlockQuantized"/> writes, read by ONNX Runtime's own MatMulNBits kernel,
/// give x · Wᵀ within the rounding bound of the quantization: |error| ≤ Σₖ |xₖ| · max|W in k's block| / (2 · (2^(bits−1) − 1)).
/// A wrong layout (nibble order, block order, zero point, scale) breaks the bound by far.
/// </summary>
public class BlockQuantizationTests
{
    [Theory]
    [InlineData(8)]
    [InlineData(4)]
    public void MatMulNBits_computes_the_product_within_the_rounding_bound(int bits)
    {
        const int blockSize = 32;
        // down_proj: its input width (the intermediate size) is not a multiple of 32 on this checkpoint, so the last block is padded.
        var checkpoint = SafetensorsCheckpoint.Open(RepoFiles.Checkpoint("tiny-bf16-sharded-untied"));
        var tensor = checkpoint.Tensors.First(t => t.Name.EndsWith("mlp.down_proj.weight", StringComparison.Ordinal));
        int n = (int)tensor.Shape[0], k = (int)tensor.Shape[1];
        var blocks = (k + blockSize - 1) / blockSize;
        var directory = RepoFiles.NewTemporaryDirectory();
        var g = new OnnxGraph();
        using (var writer = new WeightFileWriter(Path.Combine(directory, "weights.bin"), _ => { }))
        {
            var (quantized, scales) = writer.WriteBlockQuantized(tensor, bits, blockSize);
            g.AddExternalInitializer("w", DataType.Uint8, [n, blocks, blockSize * bits / 8], "weights.bin", quantized.Offset, quantized.Length);
            g.AddExternalInitializer("scales", DataType.Float, [n * blocks], "weights.bin", scales.Offset, scales.Length);
        }

        g.AddInput("x", DataType.Float, "m", k.ToString());
        g.AddOutput("y", DataType.Float, "m", n.ToString());
        g.Identity(g.MicrosoftOp("MatMulNBits", ["x", "w", "scales"], ("K", (long)k), ("N", (long)n), ("bits", (long)bits),
            ("block_size", (long)blockSize), ("accuracy_level", 1L)), "y");
        var graphPath = Path.Combine(directory, "model.onnx");
        File.WriteAllBytes(graphPath, g.ToModel("test").ToByteArray());

        var weights = new float[n * k];
        SafetensorsCheckpoint.ReadFloat32(tensor, 0, weights);
        var random = new Random(7);
        const int m = 5;
        var x = Enumerable.Range(0, m * k).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        using var session = new InferenceSession(graphPath);
        using var input = OrtValue.CreateTensorValueFromMemory(x, [m, k]);
        using var outputs = session.Run(new RunOptions(), ["x"], [input], ["y"]);
        var y = outputs[0].GetTensorDataAsSpan<float>().ToArray();

        var largest = (1 << (bits - 1)) - 1;
        var worst = 0.0;
        for (var row = 0; row < m; row++)
        for (var o = 0; o < n; o++)
        {
            double exact = 0, bound = 0;
            for (var b = 0; b < blocks; b++)
            {
                var end = Math.Min(k, (b + 1) * blockSize);
                var maxAbs = 0.0;
                for (var i = b * blockSize; i < end; i++)
                    maxAbs = Math.Max(maxAbs, Math.Abs(weights[o * k + i]));
                for (var i = b * blockSize; i < end; i++)
                {
                    exact += (double)x[row * k + i] * weights[o * k + i];
                    bound += Math.Abs(x[row * k + i]) * maxAbs / (2.0 * largest);
                }
            }

            var error = Math.Abs(y[row * n + o] - exact);
            Assert.True(error <= bound * 1.0001 + 1e-5, $"row {row}, output {o}: error {error} over the bound {bound}");
            worst = Math.Max(worst, error / bound);
        }

        // Quantization did happen: some products moved by a sizeable part of their bound.
        Assert.InRange(worst, 0.05, 1.0001);
    }
}
