using FuncRerank.Tests.TestSupport;
using System.Collections.Concurrent;
using FuncRerank.Inference;
using FuncRerank.Model;
using Microsoft.Extensions.Logging.Abstractions;

namespace FuncRerank.Tests.Model;

/// <summary>Each checkpoint is built once per test run and per dtype, and its scorer shared, since both take seconds.</summary>
internal static class BuiltModels
{
    public const int YesTokenId = 9693;
    public const int NoTokenId = 2152;
    public const int PadTokenId = 151643;

    private static readonly ConcurrentDictionary<(string, ModelPrecision), Lazy<string>> Directories = new();
    private static readonly ConcurrentDictionary<(string, ModelPrecision), Lazy<OnnxScorer>> Scorers = new();

    public static string Directory(string checkpoint, ModelPrecision precision) =>
        Directories.GetOrAdd((checkpoint, precision), key => new Lazy<string>(() =>
        {
            var output = Path.Combine(RepoFiles.NewTemporaryDirectory(), "built");
            Qwen3OnnxBuilder.Build(RepoFiles.Checkpoint(checkpoint), output, precision, YesTokenId, NoTokenId, PadTokenId,
                new Dictionary<string, string>());
            return output;
        })).Value;

    public static OnnxScorer Scorer(string checkpoint, ModelPrecision precision) =>
        Scorers.GetOrAdd((checkpoint, precision), key => new Lazy<OnnxScorer>(() =>
            OnnxScorer.Open(Directory(checkpoint, precision), new ScorerOptions(), NullLogger.Instance))).Value;
}
