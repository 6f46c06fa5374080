namespace FuncRerank;

/// <summary>What stopped a model from loading, as <see cref="ModelLoadFailure.Classify"/> tells it.</summary>
public enum ModelLoadFailureKind
{
    /// <summary>Nothing foreseen: a bug, or a fault of the machine. Worth its stack trace.</summary>
    Unexpected,

    /// <summary>
    /// What the operator named or set: a missing, partial or damaged checkpoint, a failed download, a file that cannot be
    /// read, a setting the model cannot take. The message says which.
    /// </summary>
    Configuration,

    /// <summary>CUDA was asked for and required, and its execution provider did not load (driver, CUDA or cuDNN libraries).</summary>
    CudaUnavailable,

    /// <summary>A built ONNX model that ONNX Runtime cannot open: damaged on disk, to be built again.</summary>
    DamagedBuild,
}
