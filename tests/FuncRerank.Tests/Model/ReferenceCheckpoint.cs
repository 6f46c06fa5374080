using FuncRerank.Tests.TestSupport;
using System.Text.Json;

namespace FuncRerank.Tests.Model;

/// <summary>One pair of <c>tests/fixtures/scoring/pairs.jsonl</c> with the torch reference logits for one checkpoint.</summary>
internal sealed record ReferencePair(string Name, int Group, int[] Ids, string Query, string Document, string? Instruction, double LogitFp32, double LogitFp64);

/// <summary>
/// A generated checkpoint and its <c>reference.json</c>: logits from the generator's own torch forward pass that follows
/// transformers' Qwen3 code, on prompt ids made by Hugging Face's tokenizer. Nothing here comes from FuncRerank's code.
/// </summary>
internal sealed record ReferenceCheckpoint(string Name, string Directory, ReferencePair[] Pairs)
{
    public static readonly string[] All = ["tiny-f32-tied", "tiny-bf16-sharded-untied", "tiny-bf16-tied-mqa", "tiny-f16-tied"];

    public static string PairsFile => Path.Combine(RepoFiles.Fixtures, "scoring", "pairs.jsonl");

    public static ReferenceCheckpoint Load(string name) => Load(name, PairsFile);

    /// <summary>Loads the checkpoint's reference for <paramref name="pairsFile"/>, which must be the file it was computed from, byte for byte.</summary>
    public static ReferenceCheckpoint Load(string name, string pairsFile)
    {
        var directory = RepoFiles.Checkpoint(name);
        using var reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "reference.json")));
        var pairsSha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(pairsFile)));
        if (reference.RootElement.GetProperty("pairs_file_sha256").GetString() != pairsSha256)
            throw new InvalidOperationException(
                $"{directory}/reference.json was computed from another pairs.jsonl than {pairsFile} (SHA-256 {pairsSha256}): " +
                "regenerate the checkpoints (python3 tests/fixtures/models/make_checkpoints.py)");
        var lines = File.ReadAllLines(pairsFile)
            .Where(l => l.Length > 0)
            .Select(l => JsonDocument.Parse(l).RootElement)
            .ToDictionary(e => e.GetProperty("name").GetString()!);
        var pairs = reference.RootElement.GetProperty("pairs").EnumerateArray().Select(p =>
        {
            var line = lines[p.GetProperty("name").GetString()!];
            return new ReferencePair(
                p.GetProperty("name").GetString()!,
                line.GetProperty("group").GetInt32(),
                line.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()).ToArray(),
                line.GetProperty("query").GetString()!,
                line.GetProperty("document").GetString()!,
                line.TryGetProperty("instruction", out var instruction) ? instruction.GetString() : null,
                p.GetProperty("logit_fp32_alone").GetDouble(),
                p.GetProperty("logit_fp64_alone").GetDouble());
        }).ToArray();
        if (pairs.Length != lines.Count)
            throw new InvalidOperationException($"{directory}/reference.json covers {pairs.Length} pairs, pairs.jsonl has {lines.Count}: regenerate the checkpoints");
        return new ReferenceCheckpoint(name, directory, pairs);
    }
}
