using System.CommandLine;
using FuncRerank.Inference;
using FuncRerank.Model;
using FuncRerank.Prompting;

namespace FuncRerank.Cli;

/// <summary>Options shared by several commands, declared once so their names and help read the same everywhere.</summary>
internal static class CliOptions
{
    public const string ModelDescription =
        "A Hugging Face Qwen3-Reranker directory (config.json, *.safetensors, tokenizer.json) or a directory made by `funcrerank build`";

    public static Option<string> Model() => new("--model") { Description = ModelDescription, Required = true };

    public static Option<string> Dtype() => new("--dtype")
    {
        Description = "Graph precision when building from a checkpoint: fp32 (CPU) or fp16 (GPU)",
        DefaultValueFactory = _ => "fp32",
    };

    public static Option<int> MaxLength() => new("--max-length")
    {
        Description = "Prompt length limit in tokens; longer documents are cut, the template is kept",
        DefaultValueFactory = _ => RerankPrompt.DefaultMaxLength,
    };

    public static Option<string> Device() => new("--device")
    {
        Description = "cpu, or cuda (falls back to the CPU with a warning when the CUDA libraries are missing)",
        DefaultValueFactory = _ => "cpu",
    };

    public static Option<string?> Cache() => new("--cache")
    {
        Description = "Where models built from checkpoints are kept (default: $FUNCRERANK_CACHE or ~/.cache/funcrerank)",
    };

    public static ExecutionDevice ParseDevice(string name)
    {
        try
        {
            return ExecutionDeviceNames.Parse(name);
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"--device: {e.Message}");
        }
    }

    public static ModelPrecision ParseDtype(string name)
    {
        try
        {
            return ModelPrecisionNames.Parse(name);
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"--dtype: {e.Message}");
        }
    }
}
