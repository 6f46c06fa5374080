using System.Runtime.InteropServices;
using FuncRerank.Inference;
using FuncRerank.Model;
using FuncRerank.Model.Hub;
using FuncRerank.Tests.TestSupport;
using FuncRerank.Tokenization;
using Microsoft.Extensions.Logging.Abstractions;

namespace FuncRerank.Tests.Model;

/// <summary>
/// Core's one rule for load failures, which the CLI and the servers' loader both apply: the failures Core itself raises
/// for a damaged build and a missing CUDA are told apart, what the operator set or named is fixable from its message,
/// anything else is a bug.
/// </summary>
public sealed class ModelLoadFailureTests
{
    private static bool CudaLibrariesPresent => NativeLibrary.TryLoad("libcublasLt.so.13", out _) && NativeLibrary.TryLoad("libcudnn.so.9", out _);

    [Fact]
    public void A_built_graph_onnx_runtime_cannot_open_is_a_damaged_build()
    {
        using var built = ScratchDirectory.CopyOf(BuiltModels.Directory("tiny-f32-tied", ModelPrecision.Float32));
        File.WriteAllText(Path.Combine(built.Path, RerankerManifest.GraphFileName), "not a protobuf");

        var failure = Assert.ThrowsAny<Exception>(() => OnnxScorer.Open(built.Path, new ScorerOptions(), NullLogger.Instance));

        Assert.Equal(ModelLoadFailureKind.DamagedBuild, ModelLoadFailure.Classify(failure));
        Assert.True(ModelLoadFailure.IsExpected(failure));
    }

    [Fact]
    public void Required_cuda_that_does_not_load_is_cuda_unavailable()
    {
        // Where CUDA loads there is no such failure to classify (ExecutionDeviceTests checks it serves instead).
        if (CudaLibrariesPresent)
            return;
        var options = new ScorerOptions { Device = ExecutionDevice.Cuda, RequireCuda = true };

        var failure = Assert.ThrowsAny<Exception>(() => OnnxScorer.Open(BuiltModels.Directory("tiny-f32-tied", ModelPrecision.Float32), options, NullLogger.Instance));

        Assert.Equal(ModelLoadFailureKind.CudaUnavailable, ModelLoadFailure.Classify(failure));
        Assert.True(ModelLoadFailure.IsExpected(failure));
    }

    public static TheoryData<Exception> OperatorsToFix() =>
    [
        new ModelFormatException("/models/x: tokenizer.json is missing"),
        new TokenizerLoadException("tokenizer.json: unsupported normalizer"),
        new HubDownloadException("Qwen/Qwen3-Reranker-0.6B: the Hub asks for a token (set HF_TOKEN)"),
        new FileNotFoundException("model.safetensors"),
        new UnauthorizedAccessException("/models/x"),
        new ArgumentException("max length 40000 exceeds the model's max_position_embeddings 32768"),
        new InvalidOperationException("the cache directory is in use"),
    ];

    [Theory]
    [MemberData(nameof(OperatorsToFix))]
    public void What_the_operator_named_or_set_is_expected(Exception failure)
    {
        Assert.Equal(ModelLoadFailureKind.Configuration, ModelLoadFailure.Classify(failure));
        Assert.True(ModelLoadFailure.IsExpected(failure));
    }

    public static TheoryData<Exception> Bugs() =>
    [
        new NullReferenceException(),
        new IndexOutOfRangeException(),
        new InsufficientExecutionStackException(),
    ];

    [Theory]
    [MemberData(nameof(Bugs))]
    public void Anything_else_is_unexpected(Exception failure)
    {
        Assert.Equal(ModelLoadFailureKind.Unexpected, ModelLoadFailure.Classify(failure));
        Assert.False(ModelLoadFailure.IsExpected(failure));
    }
}
