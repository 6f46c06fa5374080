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

    /// <summary>A reranker whose scripted scorer forwards to the checkpoint's real session.</summary>
    public static (ScriptedScorer Scorer, Qwen3Reranker Reranker) Create(BatchSchedulerOptions batching)
    {
        var scorer = new ScriptedScorer(BuiltModels.Scorer(Checkpoint, ModelPrecision.Float32));
        return (scorer, Create(scorer, batching));
    }

    /// <summary>A reranker whose batches go through <paramref name="scorer"/> (which may invent its logits instead).</summary>
    public static Qwen3Reranker Create(ScriptedScorer scorer, BatchSchedulerOptions batching)
    {
        var session = BuiltModels.Scorer(Checkpoint, ModelPrecision.Float32);
        var tokenizer = Qwen3Tokenizer.Load(Path.Combine(RepoFiles.Checkpoint(Checkpoint), "tokenizer.json"));
        return new Qwen3Reranker(tokenizer, new RerankPrompt(tokenizer), session.Manifest, session.Device, session.DeviceReason, scorer,
            batching, NullLogger.Instance);
    }
}
