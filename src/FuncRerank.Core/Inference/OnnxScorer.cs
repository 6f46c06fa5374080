using FuncRerank.Model;
using FuncRerank.Model.Building;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace FuncRerank.Inference;

/// <summary>
/// The one ONNX Runtime session of the process. It turns a batch of prompt id rows into logits; it knows nothing of
/// text or requests. <see cref="InferenceSession.Run(RunOptions, IReadOnlyCollection{string}, IReadOnlyCollection{OrtValue}, IReadOnlyCollection{string})"/>
/// is thread-safe, so concurrent callers could share it; in the service only the <see cref="BatchScheduler"/> calls it.
/// </summary>
public sealed class OnnxScorer : IBatchScorer, IDisposable
{
    private static readonly string[] InputNames = ["input_ids", "attention_mask"];
    private static readonly string[] PrefixInputNames = ["input_ids", "attention_mask", "prefix_ids"];
    private static readonly string[] OutputNames = ["logits"];

    private readonly InferenceSession _session;
    private readonly long _padTokenId;

    /// <summary>A scorer over a session opened elsewhere (the benchmark's tuned sessions); it owns the session.</summary>
    internal OnnxScorer(InferenceSession session, RerankerManifest manifest, ExecutionDevice device, string deviceReason)
    {
        _session = session;
        Manifest = manifest;
        Device = device;
        DeviceReason = deviceReason;
        _padTokenId = manifest.PadTokenId;
        TakesSharedPrefix = session.InputMetadata.ContainsKey("prefix_ids");
        AttentionByLengths = session.ModelMetadata.CustomMetadataMap.TryGetValue("graph_options", out var graphOptions)
                             && graphOptions.Contains(Qwen3GraphOptions.AttentionByLengthsDescription, StringComparison.Ordinal);
    }

    /// <summary>The graph's attention keeps no S × S square (GroupQueryAttention by lengths), so only the token budget bounds its memory.</summary>
    public bool AttentionByLengths { get; }

    /// <summary>On CUDA: the GPU's memory once the session holds its weights (what batches may use); null on the CPU.</summary>
    public GpuMemory? GpuMemoryAtLoad { get; private init; }

    /// <summary>The graph takes the batch's shared prefix as an input of its own (builder v3 and later), computed once per batch.</summary>
    public bool TakesSharedPrefix { get; }

    public RerankerManifest Manifest { get; }

    /// <summary>Where the session actually runs (CUDA may have fallen back to the CPU).</summary>
    public ExecutionDevice Device { get; }

    /// <summary>Why the session runs where it does, in words for the startup log (what was asked for, and any fallback's cause).</summary>
    public string DeviceReason { get; }

    /// <summary>ONNX Runtime's name of the execution provider that runs the graph.</summary>
    public string ExecutionProviderName => ExecutionDeviceNames.ProviderName(Device);

    public static OnnxScorer Open(string builtDirectory, ScorerOptions options, ILogger logger)
    {
        var manifest = RerankerManifest.Load(builtDirectory);
        var graphPath = Path.Combine(builtDirectory, RerankerManifest.GraphFileName);
        var device = options.Device;
        string? fallbackReason = null;
        if (device == ExecutionDevice.Cuda)
        {
            try
            {
                var session = CreateSession(graphPath, options, useCuda: true);
                return new OnnxScorer(session, manifest, ExecutionDevice.Cuda,
                        $"the device asked for is cuda and the CUDA provider loaded on device {options.CudaDeviceId}")
                    {
                        GpuMemoryAtLoad = CudaRuntime.Memory(options.CudaDeviceId),
                    }
                    .Logged(logger, "CUDA device {Device}", options.CudaDeviceId);
            }
            catch (OnnxRuntimeException e) when (!options.RequireCuda)
            {
                fallbackReason = CudaFailure(e);
                logger.LogWarning(
                    "CUDA execution provider unavailable, falling back to CPU: {Reason}. Install the CUDA 13 and cuDNN 9 libraries " +
                    "that ONNX Runtime 1.31 needs (see docs/deploy.md), or set the device to cpu to silence this.", fallbackReason);
                device = ExecutionDevice.Cpu;
            }
            catch (OnnxRuntimeException e)
            {
                throw new InvalidOperationException(
                    $"CUDA was required but its execution provider did not load: {CudaFailure(e)}. " +
                    "Install the CUDA 13 and cuDNN 9 libraries that ONNX Runtime 1.31 needs, or allow the CPU fallback.", e);
            }
        }

        var reason = fallbackReason is null
            ? "the device asked for is cpu"
            : $"the device asked for is cuda, but the CUDA provider did not load ({fallbackReason}) and CUDA is not required, so the CPU serves";
        return new OnnxScorer(CreateSession(graphPath, options, useCuda: false), manifest, device, reason)
            .Logged(logger, "CPU ({Threads} intra-op threads)", options.IntraOpThreads == 0 ? Environment.ProcessorCount : options.IntraOpThreads);
    }

    /// <summary>
    /// Scores one batch. The tokens that every row starts with go in once as the shared prefix (when the graph takes one);
    /// the rest of each row is left-padded with the pad id to the longest, so the last column is every row's last real
    /// token (the graph reads the score there). Returns one logit (l_yes − l_no) per row, in row order.
    /// Cancelling sets ONNX Runtime's terminate flag, which stops the run between kernels.
    /// </summary>
    public float[] ComputeLogits(IReadOnlyList<int[]> rows, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfZero(rows.Count);
        for (var r = 0; r < rows.Count; r++)
        {
            if (rows[r].Length == 0)
                throw new ArgumentException($"row {r} is empty", nameof(rows));
        }

        var prefix = TakesSharedPrefix ? SharedPrefixLength(rows) : 0;
        var width = rows.Max(r => r.Length) - prefix;
        var ids = new long[rows.Count * width];
        var mask = new long[rows.Count * width];
        for (var r = 0; r < rows.Count; r++)
        {
            var row = rows[r].AsSpan(prefix);
            var pad = width - row.Length;
            ids.AsSpan(r * width, pad).Fill(_padTokenId);
            for (var i = 0; i < row.Length; i++)
            {
                ids[r * width + pad + i] = row[i];
                mask[r * width + pad + i] = 1;
            }
        }

        long[] shape = [rows.Count, width];
        using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, shape);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, shape);
        using var prefixValue = TakesSharedPrefix
            ? OrtValue.CreateTensorValueFromMemory(Array.ConvertAll(rows[0][..prefix], id => (long)id), [1, prefix])
            : null;
        // One RunOptions per run, so terminating this run leaves any other caller's run alone.
        using var runOptions = new RunOptions();
        using var terminate = cancellationToken.Register(() => runOptions.Terminate = true);
        try
        {
            using var outputs = prefixValue is null
                ? _session.Run(runOptions, InputNames, [idsValue, maskValue], OutputNames)
                : _session.Run(runOptions, PrefixInputNames, [idsValue, maskValue, prefixValue], OutputNames);
            return outputs[0].GetTensorDataAsSpan<float>().ToArray();
        }
        catch (OnnxRuntimeException e) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("the batch was cancelled while it ran", e, cancellationToken);
        }
    }

    /// <summary>
    /// How many leading tokens every row shares, leaving each row at least its last token (where the score is read).
    /// A lone row shares nothing: computing its start as a prefix saves no work.
    /// </summary>
    internal static int SharedPrefixLength(IReadOnlyList<int[]> rows)
    {
        if (rows.Count < 2)
            return 0;
        var first = rows[0];
        var length = rows.Min(r => r.Length) - 1;
        for (var r = 1; r < rows.Count && length > 0; r++)
            length = first.AsSpan(0, length).CommonPrefixLength(rows[r].AsSpan(0, length));
        return length;
    }

    public void Dispose() => _session.Dispose();

    private OnnxScorer Logged(ILogger logger, string where, object detail)
    {
        logger.LogInformation("ONNX Runtime session ready on " + where + " ({Dtype} graph, {Layers} layers, hidden {Hidden})",
            detail, Manifest.Dtype, Manifest.Architecture.NumHiddenLayers, Manifest.Architecture.HiddenSize);
        return this;
    }

    /// <summary>The session settings every scorer uses; the benchmark starts from these to measure each lever.</summary>
    internal static SessionOptions CreateSessionOptions(ScorerOptions options, bool useCuda)
    {
        var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = options.IntraOpThreads > 0 ? options.IntraOpThreads : DefaultIntraOpThreads(),
            InterOpNumThreads = 1,
        };
        if (!useCuda)
            return sessionOptions;
        try
        {
            sessionOptions.AppendExecutionProvider_CUDA(options.CudaDeviceId);
            return sessionOptions;
        }
        catch
        {
            sessionOptions.Dispose();
            throw;
        }
    }

    /// <summary>
    /// 0 (ONNX Runtime's default: one thread per physical core of the host), unless this process may use fewer CPUs than
    /// the host has online (a container's CPU quota or an affinity mask, which .NET's ProcessorCount honours and ONNX
    /// Runtime does not): then one thread per usable CPU, so the pool does not oversubscribe the quota.
    /// </summary>
    internal static int DefaultIntraOpThreads() => DefaultIntraOpThreads(Environment.ProcessorCount, OnlineCpus());

    internal static int DefaultIntraOpThreads(int usableCpus, int? onlineCpus) =>
        onlineCpus is { } online && usableCpus < online ? usableCpus : 0;

    /// <summary>CPUs online on a Linux host (/sys/devices/system/cpu/online, e.g. "0-3,8-11"); null elsewhere.</summary>
    internal static int? OnlineCpus(string path = "/sys/devices/system/cpu/online")
    {
        try
        {
            if (!File.Exists(path))
                return null;
            var count = 0;
            foreach (var range in File.ReadAllText(path).Trim().Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                var bounds = range.Split('-');
                count += bounds.Length == 1 ? 1 : int.Parse(bounds[1]) - int.Parse(bounds[0]) + 1;
            }

            return count > 0 ? count : null;
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The batch budgets for this session when the configuration sets none (see <see cref="BatchBudgets"/>).</summary>
    public BatchBudgets DefaultBudgets =>
        Device == ExecutionDevice.Cuda && GpuMemoryAtLoad is { } memory
            ? BatchBudgets.ForCuda(Manifest.Architecture, ModelPrecisionNames.Parse(Manifest.Dtype), AttentionByLengths, memory)
            : BatchBudgets.Cpu;

    private static InferenceSession CreateSession(string graphPath, ScorerOptions options, bool useCuda)
    {
        using var sessionOptions = CreateSessionOptions(options, useCuda);
        try
        {
            return new InferenceSession(graphPath, sessionOptions);
        }
        catch (OnnxRuntimeException e) when (!useCuda)
        {
            throw new ModelFormatException($"{graphPath}: ONNX Runtime cannot load it ({FirstLine(e.Message)}); rebuild it with `funcrerank build`", e);
        }
    }

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();

    /// <summary>ONNX Runtime's message ("Failed to load shared library") plus what is actually missing on this machine.</summary>
    private static string CudaFailure(OnnxRuntimeException e) =>
        CudaEnvironment.Diagnose() is { } diagnosis ? $"{FirstLine(e.Message)} ({diagnosis})" : FirstLine(e.Message);
}
