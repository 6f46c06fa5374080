using FuncRerank.Inference;
using FuncRerank.Model;
using FuncRerank.Prompting;
using FuncRerank.Tests.Inference;
using FuncRerank.Tests.Model;
using FuncRerank.Tokenization;
using Microsoft.Extensions.Logging.Abstractions;

namespace FuncRerank.Tests.TestSupport;

/// <summary>
/// A real reranker on a tiny checkpoint whose batches go through a <see cref="ScriptedScorer"/>, so a test decides
/// when (and whether) the model answers.
/// </summary>
internal static class ScriptedReranker
{
    public const string Checkpoint = "tiny-f32-tied";

    public static (ScriptedScorer Scorer, Qwen3Reranker Reranker) Create(BatchSchedulerOptions batching)
    {
        var session = BuiltModels.Scorer(Checkpoint, ModelPrecision.Float32);
        var scorer = new ScriptedScorer(session);
        var tokenizer = Qwen3Tokenizer.Load(Path.Combine(RepoFiles.Checkpoint(Checkpoint), "tokenizer.json"));
        var reranker = new Qwen3Reranker(tokenizer, new RerankPrompt(tokenizer), session.Manifest, session.Device, session.DeviceReason, scorer,
            batching, NullLogger.Instance);
        return (scorer, reranker);
    }
}
