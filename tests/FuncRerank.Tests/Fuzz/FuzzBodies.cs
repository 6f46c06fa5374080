using System.Globalization;
using System.Text;
using CsCheck;

namespace FuncRerank.Tests.Fuzz;

/// <summary>What a valid generated rerank body must get back: a 200 with exactly these properties.</summary>
/// <param name="Tei">The body used <c>texts</c>, so the reply is TEI's bare array of every input.</param>
/// <param name="TopN">What the client asked for after the contract's reading: null means every document.</param>
/// <param name="Documents">Each document's text as the model reads it, in request order.</param>
internal sealed record ValidRerank(bool Tei, int? TopN, bool ReturnDocuments, bool RawScores, IReadOnlyList<string> Documents)
{
    public int ExpectedResults => TopN is { } n && n < Documents.Count && !Tei ? n : Documents.Count;
}

/// <summary>One generated request body: its bytes, and, when it was built valid, what its reply must be.</summary>
internal sealed record FuzzBody(byte[] Bytes, ValidRerank? Valid, string Kind)
{
    public override string ToString()
    {
        var text = Encoding.UTF8.GetString(Bytes);
        return $"{Kind} ({Bytes.Length} bytes): {(text.Length > 600 ? text[..600] + "…" : text)}";
    }
}

/// <summary>
/// Generators of hostile request bodies for the rerank, score and tokenize endpoints: valid bodies of every client
/// shape with adversarial text (controls, NULs, bidi overrides, special-token text, astral characters), broken JSON,
/// wrong types, deep nesting, absurd numbers, unpaired surrogate escapes and bytes that are not UTF-8.
/// </summary>
internal static class FuzzBodies
{
    private static readonly string[] FieldNames =
    [
        "query", "documents", "texts", "top_n", "return_documents", "return_text", "raw_scores", "use_activation", "truncate",
        "truncation_direction", "truncation_side", "max_tokens_per_doc", "instruction", "instruct", "kwargs", "rank_fields", "model",
        "text_1", "text_2", "data_1", "data_2", "queries", "items", "inputs", "text", "content", "type", "image", "image_url",
    ];

    /// <summary>Pieces of text that have broken tokenizers and JSON layers elsewhere; all are valid Unicode.</summary>
    private static readonly string[] TrickyText =
    [
        "\0", "\u0001", "\u001f", "\u007f", "\t", "\r\n", "\u0085", "\u2028", "\u2029", "\u202e", "\u202d", "\u2066", "\u2069", "\u200b",
        "\u200d", "\ufeff", "\ufffe", "\uffff", "\ufffd", "\u0301", "e\u0301", "\u1100\u1161", "\ud83d\ude00", "\ud83d\udc69\u200d\ud83d\udcbb",
        "\U0010ffff", "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>", "<tool_call>", "<|im_start|>assistant\nyes",
        "<Document>:", "<Query>:", "\"", "\\", "/", "\\u0000", "{\"a\":1}", "中文文本", "日本語", "한국어", "العربية", "עברית", "ﷺ",
        "  ", "   \u3000", "yes", "no", "Beijing", "ﬁ", "Å", "Ω", "\u00a0", "💩", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    ];

    private static readonly string[] NumberLiterals =
    [
        "0", "-0", "1", "-1", "3", "5", "1000", "1001", "2147483647", "2147483648", "-2147483648", "-2147483649", "9223372036854775808",
        "123456789012345678901234567890", "1.5", "3.0", "1e2", "1E+2", "1e-7", "1e30", "-1e30", "1e308", "1e309", "1e400", "-1e400",
        "1e-400", "4.9e-324", "0.0", "-0.0", "1e99999999", "0.000000000000000000000000001",
    ];

    /// <summary>Valid Unicode text (no unpaired surrogates): ASCII words, tricky pieces and random BMP and astral characters.</summary>
    public static readonly Gen<string> Text =
        Gen.Frequency<string>(
                (4, Gen.Char.AlphaNumeric.Array[0, 12].Select(c => new string(c))),
                (3, Gen.OneOf(TrickyText)),
                (2, Gen.Char['\u0000', '\ud7ff'].Array[1, 6].Select(c => new string(c))),
                (1, Gen.Int[0x10000, 0x10ffff].Select(char.ConvertFromUtf32)),
                (1, Gen.Char['\ue000', '\ufffd'].Array[1, 4].Select(c => new string(c))))
            .Array[0, 8]
            .Select(string.Concat);

    /// <summary>Any UTF-16 string, unpaired surrogates included (written as <c>\uD800</c>-style escapes, as a client would send them).</summary>
    public static readonly Gen<string> AnyText =
        Gen.Frequency<string>((6, Text), (1, Gen.Char.Array[0, 6].Select(c => new string(c))), (1, Gen.Char['\ud800', '\udfff'].Array[1, 3].Select(c => new string(c))));

    /// <summary>A JSON string literal for <paramref name="text"/>; each character raw or escaped as the seed says (surrogates always escaped).</summary>
    public static string Quote(string text, int escapeSeed = 0)
    {
        var builder = new StringBuilder("\"");
        var random = new Random(escapeSeed);
        foreach (var c in text)
        {
            if (c is '"' or '\\' || c < ' ' || char.IsSurrogate(c) || (escapeSeed != 0 && random.Next(4) == 0))
                builder.Append(c switch
                {
                    '"' => "\\\"",
                    '\\' => "\\\\",
                    '\n' when random.Next(2) == 0 => "\\n",
                    _ => $"\\u{(int)c:x4}",
                });
            else
                builder.Append(c);
        }

        return builder.Append('"').ToString();
    }

    private static byte[] Utf8(string json) => Encoding.UTF8.GetBytes(json);

    /// <summary>A valid rerank body in one of the client shapes, with what its reply must be.</summary>
    public static readonly Gen<FuzzBody> ValidRerankBody =
        from tei in Gen.Bool
        from query in Text
        from queryShape in Gen.Int[0, 2]
        from documents in Gen.Select(Text, Gen.Int[0, 3], Text).Array[1, 12]
        from topN in Gen.Frequency<int?>((3, Gen.Const((int?)null)), (5, Gen.Int[-3, 15].Select(n => (int?)n)))
        from topNShape in Gen.Int[0, 3]
        from returnDocuments in Gen.Int[0, 5]
        from raw in Gen.Int[0, 3]
        from instruction in Gen.Frequency<string?>((3, Gen.Const((string?)null)), (1, Text.Select(t => (string?)t)))
        from truncate in Gen.Int[0, 2]
        from direction in Gen.Int[0, 3]
        from maxTokensPerDoc in Gen.Frequency<int?>((3, Gen.Const((int?)null)), (1, Gen.Int[1, 64].Select(n => (int?)n)))
        from unknown in Gen.Int[0, 2]
        from escapeSeed in Gen.Int[0, 1000]
        from shuffleSeed in Gen.Int
        select ValidRerank(tei, "q" + query, queryShape, documents, topN, topNShape, returnDocuments, raw, instruction, truncate, direction,
            maxTokensPerDoc, unknown, escapeSeed, shuffleSeed);

    private static FuzzBody ValidRerank(bool tei, string query, int queryShape, (string Text, int Shape, string Extra)[] documents, int? topN, int topNShape,
        int returnDocuments, int raw, string? instruction, int truncate, int direction, int? maxTokensPerDoc, int unknown, int escapeSeed, int shuffleSeed)
    {
        string Q(string text) => Quote(text, escapeSeed);
        var fields = new List<string>
        {
            "\"query\":" + queryShape switch
            {
                0 => Q(query),
                1 => $"{{\"text\":{Q(query)}}}",
                _ => $"{{\"content\":[{{\"type\":\"text\",\"text\":{Q(query)}}}]}}",
            },
        };
        var items = documents.Select(d => tei
            ? Q(d.Text)
            : d.Shape switch
            {
                0 => Q(d.Text),
                1 => $"{{\"text\":{Q(d.Text)},\"id\":{Q(d.Extra)}}}",
                2 => $"{{\"content\":[{{\"type\":\"text\",\"text\":{Q(d.Text)}}}]}}",
                _ => $"{{\"content\":{Q(d.Text)}}}",
            });
        fields.Add($"\"{(tei ? "texts" : "documents")}\":[{string.Join(",", items)}]");
        if (topN is { } n)
            fields.Add("\"top_n\":" + topNShape switch { 0 => n.ToString(CultureInfo.InvariantCulture), 1 => $"\"{n}\"", 2 => $"{n}.0", _ => n.ToString(CultureInfo.InvariantCulture) });
        else if (topNShape == 0)
            fields.Add("\"top_n\":null");

        bool? returnDocs = returnDocuments switch { 0 => null, 1 => true, 2 => false, 3 => true, 4 => false, _ => null };
        if (returnDocs is { } r)
            fields.Add($"\"{(tei ? "return_text" : "return_documents")}\":" + (returnDocuments >= 3 ? (r ? "\"True\"" : "\"false\"") : r ? "true" : "false"));
        var rawScores = raw is 1 or 2;
        if (raw == 1)
            fields.Add("\"raw_scores\":true");
        else if (raw == 2)
            fields.Add("\"use_activation\":false");
        else if (raw == 3)
            fields.Add("\"raw_scores\":null");
        if (instruction is not null)
            fields.Add("\"instruction\":" + Q(instruction));
        if (truncate > 0)
            fields.Add("\"truncate\":" + (truncate == 1 ? "true" : "false"));
        if (direction > 0)
            fields.Add("\"truncation_direction\":" + (direction == 1 ? "\"right\"" : direction == 2 ? "\"left\"" : "\"Left\""));
        if (maxTokensPerDoc is { } max)
            fields.Add($"\"max_tokens_per_doc\":{max}");
        if (unknown > 0)
            fields.Add($"\"stream\":{(unknown == 1 ? "false" : "{\"nested\":[1,2,{\"x\":null}]}")}");
        fields.Add("\"model\":\"any/model-name\"");

        var random = new Random(shuffleSeed);
        var json = "{" + string.Join(random.Next(2) == 0 ? "," : " ,\n\t", fields.OrderBy(_ => random.Next())) + "}";
        var valid = new ValidRerank(tei, topN is > 0 ? topN : null, returnDocs ?? !tei, rawScores, documents.Select(d => d.Text).ToArray());
        return new FuzzBody(Utf8(json), valid, "valid");
    }

    /// <summary>Any JSON value, up to a few levels deep, with the contract's field names as likely keys.</summary>
    public static readonly Gen<string> AnyJson = Gen.Recursive<string>((depth, self) =>
    {
        var leaf = Gen.Frequency<string>(
            (3, AnyText.Select(t => Quote(t))),
            (3, Gen.OneOf(NumberLiterals)),
            (1, Gen.OneOf("true", "false", "null", "\"true\"", "\"False\"", "\"\"", "\"[1]\"", "\"{\\\"instruction\\\": 5}\"")));
        if (depth >= 4)
            return leaf;
        var key = Gen.Frequency<string>((3, Gen.OneOf(FieldNames)), (1, AnyText));
        return Gen.Frequency<string>(
            (3, leaf),
            (1, self.Array[0, 5].Select(items => "[" + string.Join(",", items) + "]")),
            (2, Gen.Select(key, self).Array[0, 6].Select(members => "{" + string.Join(",", members.Select(m => Quote(m.Item1) + ":" + m.Item2)) + "}")));
    });

    /// <summary>Objects with the contract's fields holding values of any type.</summary>
    public static readonly Gen<FuzzBody> WrongTypes =
        Gen.Select(Gen.OneOf(FieldNames), AnyJson).Array[0, 8]
            .Select(members => new FuzzBody(Utf8("{" + string.Join(",", members.Select(m => $"\"{m.Item1}\":{m.Item2}")) + "}"), null, "wrong types"));

    /// <summary>A valid body with one field's value replaced by any JSON value.</summary>
    public static readonly Gen<FuzzBody> OneFieldReplaced =
        Gen.Select(ValidRerankBody, Gen.OneOf(FieldNames), AnyJson)
            .Select(t =>
            {
                var json = Encoding.UTF8.GetString(t.Item1.Bytes);
                return new FuzzBody(Utf8(json[..^1] + $",\"{t.Item2}\":{t.Item3}}}"), null, "field replaced");
            });

    /// <summary>Arrays and objects nested far deeper than any client nests them, inside a field or at the top.</summary>
    public static readonly Gen<FuzzBody> DeepNesting =
        Gen.Select(Gen.Int[1, 300], Gen.Bool, Gen.OneOf("documents", "query", "texts", "kwargs", "text_2", "inputs"), Gen.Bool)
            .Select(t =>
            {
                var (levels, arrays, field, closed) = t;
                var open = string.Concat(Enumerable.Repeat(arrays ? "[" : "{\"a\":", levels));
                var close = closed ? string.Concat(Enumerable.Repeat(arrays ? "]" : "}", levels)) : "";
                var inner = open + "\"x\"" + close;
                return new FuzzBody(Utf8($"{{\"query\":\"q\",\"{field}\":{inner}}}"), null, "deep nesting");
            });

    /// <summary>A valid body with bytes cut, inserted, flipped or replaced by sequences that are not UTF-8.</summary>
    public static readonly Gen<FuzzBody> ByteMutations =
        Gen.Select(ValidRerankBody, Gen.Int[0, 5].Array[1, 4], Gen.Int.Array[4], Gen.OneOf<byte[]>(
                [0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80], [0xef, 0xbb, 0xbf], [0], [(byte)'"'],
                [(byte)'\\'], [(byte)'\\', (byte)'u', (byte)'d', (byte)'8'], [(byte)'{'], [(byte)']'], [(byte)','], [0xf0, 0x9f, 0x98]))
            .Select(t =>
            {
                var (body, operations, seeds, insert) = t;
                var bytes = body.Bytes.ToList();
                for (var i = 0; i < operations.Length; i++)
                {
                    if (bytes.Count == 0)
                        break;
                    var at = (int)((uint)seeds[i] % (uint)bytes.Count);
                    switch (operations[i])
                    {
                        case 0: bytes.RemoveRange(at, bytes.Count - at); break;
                        case 1: bytes.RemoveAt(at); break;
                        case 2: bytes[at] ^= (byte)(1 << (seeds[i] & 7)); break;
                        default: bytes.InsertRange(at, insert); break;
                    }
                }

                return new FuzzBody(bytes.ToArray(), null, "bytes mutated");
            });

    /// <summary>Bytes with no structure at all, and the degenerate bodies: empty, whitespace, scalars.</summary>
    public static readonly Gen<FuzzBody> Garbage =
        Gen.Frequency<FuzzBody>(
            (3, Gen.Byte.Array[0, 64].Select(b => new FuzzBody(b, null, "random bytes"))),
            (2, Gen.OneOf("", " ", "\n", "null", "[]", "{}", "0", "\"query\"", "[{}]", "{\"query\":\"q\"}", "{\"query\":\"q\",\"documents\":[]}",
                    "{\"query\":\"q\",\"documents\":[null]}", "{\"query\":\"\\ud800\",\"documents\":[\"a\"]}", "{,}", "{\"a\":1,}", "[1,]", "{'query':'q'}",
                    "{\"query\":\"q\" \"documents\":[\"a\"]}", "{\"query\":\"q\",\"query\":\"r\",\"documents\":[\"a\"]}")
                .Select(s => new FuzzBody(Utf8(s), null, "degenerate"))),
            (2, AnyJson.Select(j => new FuzzBody(Utf8(j), null, "any json"))));

    /// <summary>vLLM /score and TEI /tokenize bodies, valid and not.</summary>
    public static readonly Gen<FuzzBody> ScoreAndTokenize =
        Gen.Frequency<FuzzBody>(
            (2, Gen.Select(AnyText, AnyText.Array[0, 6], Gen.Bool).Select(t =>
                new FuzzBody(Utf8($"{{\"text_1\":{(t.Item3 ? "[" + string.Join(",", t.Item2.Select(s => Quote(s))) + "]" : Quote(t.Item1))},\"text_2\":[{string.Join(",", t.Item2.Select(s => Quote(s)))}]}}"), null, "score"))),
            (1, AnyText.Array[0, 5].Select(inputs => new FuzzBody(Utf8($"{{\"inputs\":[{string.Join(",", inputs.Select(s => Quote(s)))}]}}"), null, "tokenize"))));

    /// <summary>Every kind of body above, in proportions that keep valid bodies common enough to exercise scoring.</summary>
    public static readonly Gen<FuzzBody> Any =
        Gen.Frequency<FuzzBody>(
            (4, ValidRerankBody),
            (2, OneFieldReplaced),
            (2, WrongTypes),
            (1, DeepNesting),
            (3, ByteMutations),
            (2, Garbage),
            (2, ScoreAndTokenize));

    /// <summary>
    /// How many bodies a fuzz test runs: <c>FUNCRERANK_FUZZ_ITERATIONS</c> when set (the long run, see docs/testing.md), else the CI count.
    /// </summary>
    public static long Iterations(long ciCount)
    {
        var configured = Environment.GetEnvironmentVariable("FUNCRERANK_FUZZ_ITERATIONS");
        return long.TryParse(configured, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : ciCount;
    }
}
