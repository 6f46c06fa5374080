using FuncRerank.Model;
using FuncRerank.Model.Hub;
using FuncRerank.Tokenization;
using Microsoft.ML.OnnxRuntime;

namespace FuncRerank;

/// <summary>
/// Core's reading of its own load failures, so that every host (the CLI's commands, the servers' loader) draws the same
/// line between a failure the operator can fix, reported as its message alone, and a bug, reported with its stack
/// trace; and so that no host needs to know ONNX Runtime's types to tell a damaged build or a missing CUDA apart.
/// </summary>
public static class ModelLoadFailure
{
    public static ModelLoadFailureKind Classify(Exception failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        return failure switch
        {
            // OnnxScorer wraps ONNX Runtime's refusal of a built graph.
            ModelFormatException { InnerException: OnnxRuntimeException } => ModelLoadFailureKind.DamagedBuild,
            // OnnxScorer's "CUDA was required but its execution provider did not load".
            InvalidOperationException when failure.Message.Contains("CUDA", StringComparison.Ordinal) => ModelLoadFailureKind.CudaUnavailable,
            ModelFormatException or TokenizerLoadException or HubDownloadException or IOException or UnauthorizedAccessException
                or ArgumentException or InvalidOperationException => ModelLoadFailureKind.Configuration,
            _ => ModelLoadFailureKind.Unexpected,
        };
    }

    /// <summary>Whether <paramref name="failure"/> is one the operator can fix from its message alone (anything but <see cref="ModelLoadFailureKind.Unexpected"/>).</summary>
    public static bool IsExpected(Exception failure) => Classify(failure) != ModelLoadFailureKind.Unexpected;
}
