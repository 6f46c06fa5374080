using System.Text;
using System.Text.Json;
using FuncRerank.Prompting;
using FuncRerank.Tests.TestSupport;
using FuncRerank.Tokenization;

namespace FuncRerank.Tests.Tokenization;

public sealed class Qwen3TokenizerTests
{
    private static Qwen3Tokenizer Tokenizer => RepoFiles.Tokenizer;

    [Theory]
    [InlineData("texts.jsonl")]
    [InlineData("fuzz.jsonl")]
    public void FixtureTextsEncodeToHuggingFaceIds(string fileName)
    {
        IReadOnlyList<JsonElement> records = RepoFiles.ReadJsonLines(RepoFiles.TokenizerFixture(fileName));
        var mismatches = new List<string>();
        foreach (JsonElement record in records)
        {
            string name = record.GetProperty("name").GetString()!;
            string text = record.GetProperty("text").GetString()!;
            int[] expected = RepoFiles.IntArray(record.GetProperty("ids"));
            int[] actual = Tokenizer.EncodeToIds(text);
            if (!actual.AsSpan().SequenceEqual(expected))
            {
                mismatches.Add(Describe(name, text, expected, actual));
            }
        }

        Assert.True(
            mismatches.Count == 0,
            $"{mismatches.Count} of {records.Count} records in {fileName} differ from Hugging Face:\n" + string.Join("\n", mismatches));
    }

    [Fact]
    public void FixturePromptsBuildToHuggingFaceIds()
    {
        IReadOnlyList<JsonElement> records = RepoFiles.ReadJsonLines(RepoFiles.TokenizerFixture("prompts.jsonl"));
        var prompts = new Dictionary<int, RerankPrompt>();
        var mismatches = new List<string>();
        foreach (JsonElement record in records)
        {
            string name = record.GetProperty("name").GetString()!;
            string query = record.GetProperty("query").GetString()!;
            string document = record.GetProperty("document").GetString()!;
            string? instruction = record.TryGetProperty("instruction", out JsonElement inst) && inst.ValueKind == JsonValueKind.String
                ? inst.GetString()
                : null;
            int maxLength = record.GetProperty("max_length").GetInt32();
            int[] expected = RepoFiles.IntArray(record.GetProperty("ids"));

            if (!prompts.TryGetValue(maxLength, out RerankPrompt? prompt))
            {
                prompt = new RerankPrompt(Tokenizer, maxLength);
                prompts.Add(maxLength, prompt);
            }

            int[] built = prompt.Build(query, document, instruction);
            RerankPromptIds withInfo = prompt.BuildWithInfo(query, document, instruction);
            if (!built.AsSpan().SequenceEqual(expected))
            {
                mismatches.Add(Describe(name, query + " | " + document, expected, built));
            }
            else if (!withInfo.Ids.AsSpan().SequenceEqual(expected))
            {
                mismatches.Add($"{name}: Build matches but BuildWithInfo differs");
            }
            else if (!prompt.BuildWithDocumentLimit(query, document, instruction, null, keepDocumentEnd: false).Ids.AsSpan().SequenceEqual(expected))
            {
                mismatches.Add($"{name}: Build matches but BuildWithDocumentLimit (split after <Document>:) differs");
            }
            else if (withInfo.Truncated != (withInfo.UntruncatedBodyTokens > prompt.MaxBodyTokens)
                || (!withInfo.Truncated && withInfo.UntruncatedBodyTokens != expected.Length - 48))
            {
                mismatches.Add($"{name}: BuildWithInfo truncation info is inconsistent (Truncated={withInfo.Truncated}, body={withInfo.UntruncatedBodyTokens})");
            }
        }

        Assert.True(
            mismatches.Count == 0,
            $"{mismatches.Count} of {records.Count} prompts differ from Hugging Face:\n" + string.Join("\n", mismatches));
    }

    [Fact]
    public void PreTokenizerAndNormalizerMatchHuggingFacePieces()
    {
        string path = RepoFiles.TokenizerFixture("pretokenized.jsonl");
        IReadOnlyList<JsonElement> records = RepoFiles.ReadJsonLines(path);
        var mismatches = new List<string>();
        foreach (JsonElement record in records)
        {
            string name = record.GetProperty("name").GetString()!;
            string text = record.GetProperty("text").GetString()!;
            string nfc = record.GetProperty("nfc").GetString()!;
            string[] expected = RepoFiles.StringArray(record.GetProperty("pieces"));

            string normalized = UnicodeNormalization.ToNfc(text);
            if (!string.Equals(normalized, nfc, StringComparison.Ordinal))
            {
                mismatches.Add($"{name}: NFC gives \"{RepoFiles.Escape(normalized)}\", HF \"{RepoFiles.Escape(nfc)}\"");
                continue;
            }

            IReadOnlyList<string> pieces = Qwen2PreTokenizer.Split(nfc);
            if (!pieces.SequenceEqual(expected, StringComparer.Ordinal))
            {
                mismatches.Add(
                    $"{name}: pieces [{string.Join(" | ", pieces.Select(p => RepoFiles.Escape(p, 40)))}], " +
                    $"HF [{string.Join(" | ", expected.Select(p => RepoFiles.Escape(p, 40)))}]");
            }
        }

        Assert.True(
            mismatches.Count == 0,
            $"{mismatches.Count} of {records.Count} records differ from Hugging Face's normalizer/pre-tokenizer:\n" + string.Join("\n", mismatches));
    }

    [Fact]
    public void TruncatedEncodingIsExactlyThePrefixOfTheFullEncoding()
    {
        var failures = new List<string>();
        int checks = 0;
        foreach (string fileName in new[] { "texts.jsonl", "fuzz.jsonl" })
        {
            foreach (JsonElement record in RepoFiles.ReadJsonLines(RepoFiles.TokenizerFixture(fileName)))
            {
                string name = record.GetProperty("name").GetString()!;
                string text = record.GetProperty("text").GetString()!;
                int[] full = RepoFiles.IntArray(record.GetProperty("ids"));
                bool hasAddedToken = Tokenizer.AddedTokens.Keys.Any(t => text.Contains(t, StringComparison.Ordinal));

                IEnumerable<int> counts;
                if (full.Length <= 40 && (hasAddedToken || fileName == "texts.jsonl"))
                {
                    counts = Enumerable.Range(1, full.Length + 1);
                }
                else if (full.Length > 200 || hasAddedToken)
                {
                    counts = new[] { 1, 2, 3, full.Length / 3, full.Length / 2, full.Length - 1, full.Length, full.Length + 7 }
                        .Where(n => n > 0).Distinct();
                }
                else
                {
                    continue;
                }

                foreach (int n in counts)
                {
                    checks++;
                    int[] truncated = Tokenizer.EncodeToIds(text, n);
                    if (!truncated.AsSpan().SequenceEqual(full.AsSpan(0, Math.Min(n, full.Length))))
                    {
                        failures.Add($"{name} n={n}: got {truncated.Length} ids, first difference at {FirstDifference(full.AsSpan(0, Math.Min(n, full.Length)), truncated)}");
                    }
                }
            }
        }

        Assert.True(checks > 1000, $"only {checks} truncation checks ran");
        Assert.True(failures.Count == 0, $"{failures.Count} of {checks} truncations are not the prefix:\n" + string.Join("\n", failures));
    }

    [Fact]
    public void LongDocumentsAreInTheFixture()
    {
        // The throughput and truncation figures rest on a few ~2,000-token documents.
        int longTexts = RepoFiles.ReadJsonLines(RepoFiles.TokenizerFixture("texts.jsonl"))
            .Count(r => r.GetProperty("ids").GetArrayLength() >= 1500);
        Assert.True(longTexts >= 3, $"expected several long documents in texts.jsonl, found {longTexts}");
    }

    [Fact]
    public void CountTokensEqualsEncodedLength()
    {
        var failures = new List<string>();
        foreach (JsonElement record in RepoFiles.ReadJsonLines(RepoFiles.TokenizerFixture("texts.jsonl")))
        {
            string text = record.GetProperty("text").GetString()!;
            int expected = record.GetProperty("ids").GetArrayLength();
            int count = Tokenizer.CountTokens(text);
            if (count != expected)
            {
                failures.Add($"{record.GetProperty("name").GetString()}: {count} != {expected}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void DecodeGivesBackTheNormalizedText()
    {
        var failures = new List<string>();
        foreach (JsonElement record in RepoFiles.ReadJsonLines(RepoFiles.TokenizerFixture("texts.jsonl")))
        {
            string text = record.GetProperty("text").GetString()!;
            if (Tokenizer.AddedTokens.Keys.Any(t => text.Contains(t, StringComparison.Ordinal)))
            {
                continue; // NFC applies between added tokens only; checked separately below.
            }

            string decoded = Tokenizer.Decode(RepoFiles.IntArray(record.GetProperty("ids")));
            if (!string.Equals(decoded, UnicodeNormalization.ToNfc(text), StringComparison.Ordinal))
            {
                failures.Add($"{record.GetProperty("name").GetString()}: \"{RepoFiles.Escape(decoded)}\"");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Equal("<|im_start|>user\nhi<|im_end|>", Tokenizer.Decode(Tokenizer.EncodeToIds("<|im_start|>user\nhi<|im_end|>")));
        Assert.Equal("yes<unk:999999>no", Tokenizer.Decode([9693, 999999, 2152]));
    }

    [Fact]
    public void KnownIdsAndProperties()
    {
        Assert.Equal(151643, Tokenizer.PadTokenId);
        Assert.Equal(9693, Tokenizer.YesTokenId);
        Assert.Equal(2152, Tokenizer.NoTokenId);
        Assert.Equal(151669, Tokenizer.VocabularySize);
        Assert.Equal(26, Tokenizer.AddedTokens.Count);
        Assert.Equal([9693], Tokenizer.EncodeToIds("yes"));
        Assert.Equal([2152], Tokenizer.EncodeToIds("no"));
        Assert.Equal([151644, 151645, 151667, 151668, 151643], Tokenizer.EncodeToIds("<|im_start|><|im_end|><think></think><|endoftext|>"));
        Assert.Equal([9707, 1879], Tokenizer.EncodeToIds("Hello world"));
        Assert.Empty(Tokenizer.EncodeToIds(""));
        Assert.Empty(Tokenizer.EncodeToIds("Hello world", 0));
        Assert.Equal(0, Tokenizer.CountTokens(""));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.EncodeToIds("x", -1));
        Assert.Throws<ArgumentNullException>(() => Tokenizer.EncodeToIds(null!));
    }

    [Fact]
    public void AddedTokensAreMatchedInTheRawTextBeforeNormalization()
    {
        // NFC would compose ">" + U+0338 into U+226F and destroy the token; HF matches it first.
        Assert.Equal([151645, 136, 116], Tokenizer.EncodeToIds("<|im_end|>\u0338"));

        // Leftmost match, then the longest token at that position.
        int[] ids = Tokenizer.EncodeToIds("x</think>y<think>");
        Assert.Contains(151668, ids);
        Assert.Contains(151667, ids);

        // Near misses stay ordinary text.
        Assert.DoesNotContain(151645, Tokenizer.EncodeToIds("<|im_end>"));
        Assert.DoesNotContain(151645, Tokenizer.EncodeToIds("<|IM_END|>"));
    }

    [Fact]
    public void NormalizationIsAppliedBetweenAddedTokens()
    {
        Assert.Equal(Tokenizer.EncodeToIds("caf\u00E9<|im_end|>caf\u00E9"), Tokenizer.EncodeToIds("cafe\u0301<|im_end|>cafe\u0301"));
        Assert.Equal(Tokenizer.EncodeToIds("\uAC00"), Tokenizer.EncodeToIds("\u1100\u1161"));
    }

    [Fact]
    public void LoneSurrogatesAndFffeDoNotThrow()
    {
        string[] inputs =
        [
            "a\uD800b", "\uDC00", "x\uD83D", "\uDE00y z", "a\uFFFEb", "\uFFFE", "e\u0301\uFFFEe\u0301",
            "<|im_end|>\uD800<|im_end|>", "\uFFFE<think>\uDFFF", "\uD83D\uDE00\uD83D", "caf\u00E9 \uFFFE \uD800 \u0301",
        ];
        foreach (string input in inputs)
        {
            int[] ids = Tokenizer.EncodeToIds(input);
            Assert.NotEmpty(ids);
            Assert.Equal(ids.Length, Tokenizer.CountTokens(input));
            Assert.Equal(ids.Take(2).ToArray(), Tokenizer.EncodeToIds(input, 2));
            _ = Tokenizer.Decode(ids);
        }

        // A lone surrogate reaches HF only as U+FFFD (bytes EF BF BD).
        Assert.Equal(Tokenizer.EncodeToIds("a\uFFFDb"), Tokenizer.EncodeToIds("a\uD800b"));

        // U+FFFE is tokenized as its bytes EF BF BE, and blocks composition like any starter.
        Assert.Equal("a\uFFFEb", Tokenizer.Decode(Tokenizer.EncodeToIds("a\uFFFEb")));
        Assert.Equal(
            Tokenizer.EncodeToIds("\u00E9\uFFFE\u00E9"),
            Tokenizer.EncodeToIds("e\u0301\uFFFEe\u0301"));
    }

    [Fact]
    public void ConcurrentEncodesEqualSequentialEncodes()
    {
        string[] texts = RepoFiles.ReadJsonLines(RepoFiles.TokenizerFixture("texts.jsonl"))
            .Concat(RepoFiles.ReadJsonLines(RepoFiles.TokenizerFixture("fuzz.jsonl")).Take(500))
            .Select(r => r.GetProperty("text").GetString()!)
            .ToArray();
        int[][] sequential = texts.Select(t => Tokenizer.EncodeToIds(t)).ToArray();

        // A fresh instance too, so that concurrent callers also race on a cold cache.
        Qwen3Tokenizer fresh = Qwen3Tokenizer.Load(RepoFiles.TokenizerJsonPath);
        var differences = new System.Collections.Concurrent.ConcurrentBag<string>();
        foreach (Qwen3Tokenizer tokenizer in new[] { fresh, Tokenizer })
        {
            Parallel.For(0, texts.Length * 4, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
            {
                int index = (int)((i * 7919L) % texts.Length);
                int[] ids = (i % 3) switch
                {
                    0 => tokenizer.EncodeToIds(texts[index]),
                    1 => tokenizer.EncodeToIds(texts[index], 5),
                    _ => tokenizer.EncodeToIds(texts[index], int.MaxValue),
                };
                int[] expected = i % 3 == 1 ? sequential[index].Take(5).ToArray() : sequential[index];
                if (!ids.AsSpan().SequenceEqual(expected))
                {
                    differences.Add($"#{index} (mode {i % 3})");
                }
            });
        }

        Assert.True(differences.IsEmpty, $"{differences.Count} parallel encodes differ: {string.Join(", ", differences.Take(20))}");
    }

    private static string Describe(string name, string text, int[] expected, int[] actual) =>
        $"{name} \"{RepoFiles.Escape(text, 60)}\": expected {expected.Length} ids, got {actual.Length}; " +
        $"first difference at {FirstDifference(expected, actual)} " +
        $"(expected ...{Slice(expected, FirstDifference(expected, actual))}, got ...{Slice(actual, FirstDifference(expected, actual))})";

    private static int FirstDifference(ReadOnlySpan<int> expected, ReadOnlySpan<int> actual)
    {
        int n = Math.Min(expected.Length, actual.Length);
        for (int i = 0; i < n; i++)
        {
            if (expected[i] != actual[i])
            {
                return i;
            }
        }

        return n;
    }

    private static string Slice(int[] ids, int from) =>
        "[" + string.Join(",", ids.Skip(from).Take(8)) + (ids.Length > from + 8 ? ",..." : "") + "]";
}
