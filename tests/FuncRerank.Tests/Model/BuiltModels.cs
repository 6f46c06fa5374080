using FuncRerank.Tests.TestSupport;
using System.Collections.Concurrent;
using FuncRerank.Inference;
using FuncRerank.Model;
using FuncRerank.Model.Building;
using Microsoft.Extensions.Logging.Abstractions;

namespace FuncRerank.Tests.Model;

/// <summary>Each checkpoint is built once per test run and per dtype, and its scorer shared, since both take seconds.</summary>
internal static class BuiltModels
{
    public const int YesTokenId = 9693;
    public const int NoTokenId = 2152;
    public const int PadTokenId = 151643;
    public static readonly RerankerTokenIds TokenIds = new(YesTokenId, NoTokenId, PadTokenId);

    private static readonly ConcurrentDictionary<(string, ModelPrecision), Lazy<string>> Directories = new();
    private static readonly ConcurrentDictionary<(string, ModelPrecision), Lazy<OnnxScorer>> Scorers = new();

    public static string Directory(string checkpoint, ModelPrecision precision) =>
        Directories.GetOrAdd((checkpoint, precision), key => new Lazy<string>(() => BuildNew(checkpoint, precision, Qwen3GraphOptions.Default))).Value;

    /// <summary>A fresh build of <paramref name="checkpoint"/> with the given graph options, in a directory of its own.</summary>
    public static string BuildNew(string checkpoint, ModelPrecision precision, Qwen3GraphOptions options)
    {
        var output = Path.Combine(RepoFiles.NewTemporaryDirectory(), "built");
        Qwen3OnnxBuilder.Build(RepoFiles.Checkpoint(checkpoint), output, precision, TokenIds,
            new Dictionary<string, string>(), options);
        return output;
    }

    public static OnnxScorer Scorer(string checkpoint, ModelPrecision precision) =>
        Scorers.GetOrAdd((checkpoint, precision), key => new Lazy<OnnxScorer>(() =>
            OnnxScorer.Open(Directory(checkpoint, precision), new ScorerOptions(), NullLogger.Instance))).Value;
}
