using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FuncRerank.Bench;
using FuncRerank.Prompting;
using FuncRerank.Tests.TestSupport;
using FuncRerank.Tokenization;

namespace FuncRerank.Tests.Tokenization;

/// <summary>
/// Texts without spaces, 10k to 1M characters (one giant pre-tokenizer piece, or many), against Hugging Face's ids from
/// <c>long.jsonl</c>; and the merge path for long pieces run on every piece of the other fixtures.
/// </summary>
public sealed class LongTextTests
{
    private static readonly Lazy<IReadOnlyList<LongText>> Texts = new(() =>
        RepoFiles.ReadJsonLines(RepoFiles.TokenizerFixture("long.jsonl")).Select(LongText.FromJson).ToArray());

    private static Qwen3Tokenizer Tokenizer => RepoFiles.Tokenizer;

    [Fact]
    public void LongTextsEncodeToHuggingFaceIds()
    {
        var mismatches = new List<string>();
        foreach (LongText text in Texts.Value)
        {
            string built = text.Recipe.Build();
            Assert.True(built.Length == text.TextLength, $"{text.Name}: the recipe builds {built.Length} code units, the generator built {text.TextLength}");
            int[] ids = Tokenizer.EncodeToIds(built);
            string? problem = text.Check(ids);
            if (problem is not null)
            {
                mismatches.Add(problem);
            }
        }

        Assert.True(Texts.Value.Count >= 31, $"long.jsonl has only {Texts.Value.Count} records");
        Assert.Contains(Texts.Value, t => t.TextLength >= 1_000_000 && t.CutInsideChar is not null);
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {Texts.Value.Count} long texts differ from Hugging Face:\n" + string.Join("\n", mismatches));
    }

    [Fact]
    public void CutsInsideLongPiecesKeepHuggingFacesFirstIds()
    {
        // Truncation stops at the piece that holds the cut: inside one giant piece that piece is encoded whole, and
        // the kept ids are exactly the first ids of the whole text, also where the cut splits a character's bytes.
        var failures = new List<string>();
        int checks = 0;
        foreach (LongText text in Texts.Value.Where(t => t.TextLength <= 100_000 || t.Name == "long-cjk-1m"))
        {
            string built = text.Recipe.Build();
            int[] full = Tokenizer.EncodeToIds(built);
            Assert.True(text.Check(full) is null, text.Check(full));
            IEnumerable<int> ats = text.TextLength > 100_000 ? [text.CutInsideChar!.Value] : text.Cuts.Select(c => c.At);
            foreach (int at in ats)
            {
                checks++;
                int[] kept = Tokenizer.EncodeToIds(built, at);
                if (!kept.AsSpan().SequenceEqual(full.AsSpan(0, at)))
                {
                    failures.Add($"{text.Name} cut at {at}: {kept.Length} ids kept, not the first {at} of the whole text's ids");
                }
            }
        }

        Assert.Contains(Texts.Value, t => t.TextLength <= 100_000 && t.CutInsideChar is not null);
        Assert.True(failures.Count == 0, $"{failures.Count} of {checks} cuts differ:\n" + string.Join("\n", failures));
    }

    [Fact]
    public void ALongDocumentIsCutToTheModelCardsPrompt()
    {
        // A reranker prompt whose document is a 100k-character run of Chinese: the built prompt is Hugging Face's
        // full-body-then-truncate prompt (the body's ids are the head's plus the document's, split at "<Document>:").
        LongText text = Texts.Value.Single(t => t.Name == "long-cjk-100k");
        string document = text.Recipe.Build();
        var prompt = new RerankPrompt(Tokenizer);
        int[] head = Tokenizer.EncodeToIds(RerankPrompt.FormatBody("q", "")[..^1]);
        int[] documentIds = Tokenizer.EncodeToIds(" " + document);
        int[] expected = [.. prompt.PrefixIds, .. head, .. documentIds.AsSpan(0, prompt.MaxBodyTokens - head.Length), .. prompt.SuffixIds];
        Assert.Equal(expected, prompt.Build("q", document));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public void EveryFixtureMatchesHuggingFaceWhenShortPiecesTakeTheLongPiecePath(int longPieceThreshold)
    {
        // 0 sends every piece through LongPieceBpe; 4 interleaves it with the library's runs of short pieces.
        Qwen3Tokenizer tokenizer = Qwen3Tokenizer.Load(RepoFiles.TokenizerJsonPath, longPieceThreshold);
        var mismatches = new List<string>();
        int records = 0;
        foreach (string fileName in new[] { "texts.jsonl", "fuzz.jsonl" })
        {
            foreach (JsonElement record in RepoFiles.ReadJsonLines(RepoFiles.TokenizerFixture(fileName)))
            {
                records++;
                string text = record.GetProperty("text").GetString()!;
                int[] expected = RepoFiles.IntArray(record.GetProperty("ids"));
                if (!tokenizer.EncodeToIds(text).AsSpan().SequenceEqual(expected))
                {
                    mismatches.Add($"{record.GetProperty("name").GetString()} \"{RepoFiles.Escape(text, 60)}\"");
                }
            }
        }

        foreach (JsonElement record in RepoFiles.ReadJsonLines(RepoFiles.TokenizerFixture("prompts.jsonl")))
        {
            records++;
            string? instruction = record.TryGetProperty("instruction", out JsonElement inst) ? inst.GetString() : null;
            var prompt = new RerankPrompt(tokenizer, record.GetProperty("max_length").GetInt32());
            int[] built = prompt.Build(record.GetProperty("query").GetString()!, record.GetProperty("document").GetString()!, instruction);
            if (!built.AsSpan().SequenceEqual(RepoFiles.IntArray(record.GetProperty("ids"))))
            {
                mismatches.Add(record.GetProperty("name").GetString()!);
            }
        }

        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {records} records differ from Hugging Face:\n" + string.Join("\n", mismatches));
    }

    /// <summary>A <c>long.jsonl</c> record: the recipe and what Hugging Face's ids for its text look like.</summary>
    private sealed record LongText(string Name, LongTextRecipe Recipe, int TextLength, int Count, string Sha256, int? CutInsideChar,
        IReadOnlyList<(int At, int From, int[] Ids)> Cuts)
    {
        public static LongText FromJson(JsonElement record) => new(
            record.GetProperty("name").GetString()!,
            LongTextRecipe.FromJson(record.GetProperty("recipe")),
            record.GetProperty("text_length").GetInt32(),
            record.GetProperty("count").GetInt32(),
            record.GetProperty("sha256").GetString()!,
            record.GetProperty("cut_inside_char").ValueKind == JsonValueKind.Number ? record.GetProperty("cut_inside_char").GetInt32() : null,
            record.GetProperty("cuts").EnumerateArray()
                .Select(c => (c.GetProperty("at").GetInt32(), c.GetProperty("from").GetInt32(), RepoFiles.IntArray(c.GetProperty("ids"))))
                .ToArray());

        /// <summary>Null when <paramref name="ids"/> are Hugging Face's, else what differs.</summary>
        public string? Check(int[] ids)
        {
            if (ids.Length != Count)
            {
                return $"{Name}: {ids.Length} ids, Hugging Face {Count}";
            }

            foreach ((int at, int from, int[] expected) in Cuts)
            {
                if (!ids.AsSpan(from, expected.Length).SequenceEqual(expected))
                {
                    return $"{Name}: ids {from}..{from + expected.Length} around cut {at} are [{string.Join(",", ids.AsSpan(from, expected.Length).ToArray())}], " +
                        $"Hugging Face [{string.Join(",", expected)}]";
                }
            }

            string sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join(",", ids))));
            return sha == Sha256 ? null : $"{Name}: same count and cut ids, but the SHA-256 of all ids differs";
        }
    }
}
