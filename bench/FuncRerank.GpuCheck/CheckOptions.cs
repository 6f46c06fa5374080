using FuncRerank.Inference;

namespace FuncRerank.GpuCheck;

/// <summary>The driver's command line.</summary>
internal sealed record CheckOptions
{
    public const string Usage =
        "usage: funcrerank-gpucheck --checkpoint DIR --out FILE.json [--device cuda|cpu] [--scale full|small] [--work DIR] [--nvidia-smi FILE]";

    public required string Checkpoint { get; init; }

    public required string Output { get; init; }

    public ExecutionDevice Device { get; init; } = ExecutionDevice.Cuda;

    /// <summary>full: the mixes at the real sizes; small: the same mixes scaled down for a CPU run in CI.</summary>
    public CheckScale Scale { get; init; } = CheckScale.Full;

    public string Work { get; init; } = Path.Combine(Path.GetTempPath(), "funcrerank-gpucheck");

    /// <summary>nvidia-smi's description of the GPU, captured by bench/gpu/gpu-check.sh, copied into the report.</summary>
    public string? NvidiaSmi { get; init; }

    public static CheckOptions Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                throw new ArgumentException($"'{args[i]}' is not --NAME VALUE");
            values[args[i][2..]] = args[i + 1];
        }

        string Take(string name) => values.Remove(name, out var value) ? value : throw new ArgumentException($"--{name} is required");
        var options = new CheckOptions { Checkpoint = Take("checkpoint"), Output = Take("out") };
        if (values.Remove("device", out var device))
            options = options with { Device = ExecutionDeviceNames.Parse(device) };
        if (values.Remove("scale", out var scale))
            options = options with { Scale = scale switch { "full" => CheckScale.Full, "small" => CheckScale.Small, _ => throw new ArgumentException($"--scale {scale}: use full or small") } };
        if (values.Remove("work", out var work))
            options = options with { Work = work };
        if (values.Remove("nvidia-smi", out var smi))
            options = options with { NvidiaSmi = smi };
        if (values.Count > 0)
            throw new ArgumentException($"unknown option --{values.Keys.First()}");
        return options;
    }
}

internal enum CheckScale
{
    Full,
    Small,
}
