using FuncRerank.Model;
using FuncRerank.Tests.Model;

namespace FuncRerank.Tests.Inference;

public class OnnxScorerCancellationTests
{
    [Fact]
    public void A_cancelled_run_stops_with_OperationCanceledException_and_the_session_keeps_scoring()
    {
        var checkpoint = ReferenceCheckpoint.Load("tiny-f32-tied");
        var scorer = BuiltModels.Scorer(checkpoint.Name, ModelPrecision.Float32);
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();

        // The terminate flag is set before the run starts, so ONNX Runtime refuses to run it at all.
        var error = Assert.ThrowsAny<OperationCanceledException>(() => scorer.ComputeLogits([checkpoint.Pairs[0].Ids], cancellation.Token));

        Assert.Equal(cancellation.Token, error.CancellationToken);
        Assert.Contains("terminate", error.InnerException!.Message, StringComparison.OrdinalIgnoreCase);
        Assert.InRange(Math.Abs(scorer.ComputeLogits([checkpoint.Pairs[0].Ids])[0] - checkpoint.Pairs[0].LogitFp32), 0, 1e-4);
    }
}
