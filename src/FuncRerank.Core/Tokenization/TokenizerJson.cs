using System.Text.Json;

namespace FuncRerank.Tokenization;

/// <summary>
/// The parts of a Hugging Face <c>tokenizer.json</c> that the Qwen3 tokenizer needs, read with a streaming
/// <see cref="Utf8JsonReader"/> (the file is ~11 MB: 151,643 vocabulary entries and 151,387 merges).
/// </summary>
internal sealed class TokenizerJson
{
    public List<KeyValuePair<string, int>> Vocabulary { get; } = new(160_000);

    /// <summary>Merges as <c>"a b"</c>, the form <c>BpeOptions.Merges</c> takes.</summary>
    public List<string> Merges { get; } = new(160_000);

    public List<(string Content, int Id)> AddedTokens { get; } = [];

    public int MaxVocabularyId { get; private set; } = -1;

    private string? ModelType { get; set; }

    private readonly List<string> _unsupported = [];
    private bool _sawNormalizer;
    private bool _sawPreTokenizer;
    private bool _sawModel;

    public static TokenizerJson Parse(ReadOnlySpan<byte> utf8Json)
    {
        var result = new TokenizerJson();
        var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, MaxDepth = 64 });
        Expect(ref reader, JsonTokenType.StartObject, "the top level");

        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            string name = PropertyName(ref reader);
            Next(ref reader);
            switch (name)
            {
                case "added_tokens":
                    result.ReadAddedTokens(ref reader);
                    break;
                case "normalizer":
                    result._sawNormalizer = true;
                    using (JsonDocument doc = JsonDocument.ParseValue(ref reader))
                    {
                        result.CheckNormalizer(doc.RootElement);
                    }

                    break;
                case "pre_tokenizer":
                    result._sawPreTokenizer = true;
                    using (JsonDocument doc = JsonDocument.ParseValue(ref reader))
                    {
                        result.CheckPreTokenizer(doc.RootElement);
                    }

                    break;
                case "model":
                    result._sawModel = true;
                    result.ReadModel(ref reader);
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return result;
    }

    /// <summary>A description of the first setting this implementation would not reproduce, or null.</summary>
    public string? FindUnsupportedSetting()
    {
        if (!_sawModel)
        {
            return "it has no \"model\" section";
        }

        if (ModelType is not null && ModelType != "BPE")
        {
            return $"model.type is \"{ModelType}\", not \"BPE\"";
        }

        if (Vocabulary.Count == 0)
        {
            return "model.vocab is missing or empty";
        }

        if (MaxVocabularyId != Vocabulary.Count - 1)
        {
            return $"model.vocab ids are not exactly 0..{Vocabulary.Count - 1} (largest is {MaxVocabularyId})";
        }

        if (Merges.Count == 0)
        {
            return "model.merges is missing or empty";
        }

        if (!_sawNormalizer)
        {
            return "it has no \"normalizer\" (Qwen's is NFC)";
        }

        if (!_sawPreTokenizer)
        {
            return "it has no \"pre_tokenizer\"";
        }

        if (AddedTokens.Count == 0)
        {
            return "added_tokens is missing or empty";
        }

        return _unsupported.Count > 0 ? _unsupported[0] : null;
    }

    private void ReadAddedTokens(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new FormatException("added_tokens is not an array");
        }

        using JsonDocument doc = JsonDocument.ParseValue(ref reader);
        var seenIds = new HashSet<int>();
        var seenContents = new HashSet<string>(StringComparer.Ordinal);
        foreach (JsonElement token in doc.RootElement.EnumerateArray())
        {
            if (token.ValueKind != JsonValueKind.Object
                || !token.TryGetProperty("id", out JsonElement idElement) || !idElement.TryGetInt32(out int id)
                || !token.TryGetProperty("content", out JsonElement contentElement) || contentElement.ValueKind != JsonValueKind.String)
            {
                throw new FormatException("an added_tokens entry lacks an integer \"id\" or a string \"content\"");
            }

            string content = contentElement.GetString()!;
            if (content.Length == 0)
            {
                throw new FormatException($"added token {id} has empty content");
            }

            if (!seenIds.Add(id) || !seenContents.Add(content))
            {
                throw new FormatException($"added token {content} (id {id}) is listed twice");
            }

            // Hugging Face options this implementation does not apply: reject rather than differ.
            foreach (string flag in (ReadOnlySpan<string>)["single_word", "lstrip", "rstrip", "normalized"])
            {
                if (token.TryGetProperty(flag, out JsonElement value) && value.ValueKind == JsonValueKind.True)
                {
                    _unsupported.Add($"added token {content} has \"{flag}\": true (only false is supported)");
                }
            }

            AddedTokens.Add((content, id));
        }
    }

    private void CheckNormalizer(JsonElement normalizer)
    {
        if (normalizer.ValueKind != JsonValueKind.Object
            || !normalizer.TryGetProperty("type", out JsonElement type)
            || type.ValueKind != JsonValueKind.String
            || type.GetString() != "NFC")
        {
            _unsupported.Add($"normalizer is {Describe(normalizer)}, expected {{\"type\": \"NFC\"}}");
        }
    }

    private void CheckPreTokenizer(JsonElement preTokenizer)
    {
        // Expected: Sequence[ Split(Regex = Qwen2 pattern, Isolated, invert false), ByteLevel(add_prefix_space false, use_regex false) ].
        string expected = $"a Sequence of Split(Regex {Qwen2PreTokenizer.Pattern}, Isolated) and ByteLevel(add_prefix_space false, use_regex false)";
        if (preTokenizer.ValueKind != JsonValueKind.Object
            || StringProperty(preTokenizer, "type") != "Sequence"
            || !preTokenizer.TryGetProperty("pretokenizers", out JsonElement list)
            || list.ValueKind != JsonValueKind.Array
            || list.GetArrayLength() != 2)
        {
            _unsupported.Add($"pre_tokenizer is {Describe(preTokenizer)}, expected {expected}");
            return;
        }

        JsonElement split = list[0];
        JsonElement byteLevel = list[1];
        bool splitOk = StringProperty(split, "type") == "Split"
            && split.TryGetProperty("pattern", out JsonElement pattern)
            && pattern.ValueKind == JsonValueKind.Object
            && StringProperty(pattern, "Regex") == Qwen2PreTokenizer.Pattern
            && StringProperty(split, "behavior") == "Isolated"
            && !IsTrue(split, "invert");
        bool byteLevelOk = StringProperty(byteLevel, "type") == "ByteLevel"
            && !IsTrue(byteLevel, "add_prefix_space")
            && !IsTrue(byteLevel, "use_regex");
        if (!splitOk || !byteLevelOk)
        {
            _unsupported.Add($"pre_tokenizer is {Describe(preTokenizer)}, expected {expected}");
        }
    }

    private void ReadModel(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new FormatException("model is not an object");
        }

        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            string name = PropertyName(ref reader);
            Next(ref reader);
            switch (name)
            {
                case "type":
                    ModelType = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    break;
                case "vocab":
                    ReadVocabulary(ref reader);
                    break;
                case "merges":
                    ReadMerges(ref reader);
                    break;
                case "dropout":
                case "unk_token":
                    if (reader.TokenType != JsonTokenType.Null)
                    {
                        _unsupported.Add($"model.{name} is set (only null is supported)");
                    }

                    reader.Skip();
                    break;
                case "continuing_subword_prefix":
                case "end_of_word_suffix":
                    if (reader.TokenType == JsonTokenType.String ? reader.ValueTextEquals(""u8) is false : reader.TokenType != JsonTokenType.Null)
                    {
                        _unsupported.Add($"model.{name} is not empty (only \"\" or null is supported)");
                    }

                    reader.Skip();
                    break;
                case "byte_fallback":
                case "ignore_merges":
                    if (reader.TokenType == JsonTokenType.True)
                    {
                        _unsupported.Add($"model.{name} is true (only false is supported)");
                    }

                    reader.Skip();
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
    }

    private void ReadVocabulary(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new FormatException("model.vocab is not an object");
        }

        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            string token = PropertyName(ref reader);
            if (Next(ref reader) != JsonTokenType.Number || !reader.TryGetInt32(out int id) || id < 0)
            {
                throw new FormatException($"model.vocab entry {token} does not have a non-negative integer id");
            }

            Vocabulary.Add(new KeyValuePair<string, int>(token, id));
            if (id > MaxVocabularyId)
            {
                MaxVocabularyId = id;
            }
        }
    }

    private void ReadMerges(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new FormatException("model.merges is not an array");
        }

        while (Next(ref reader) != JsonTokenType.EndArray)
        {
            string merge;
            if (reader.TokenType == JsonTokenType.StartArray)
            {
                // Current format: ["a", "b"].
                string left = ReadMergePart(ref reader);
                string right = ReadMergePart(ref reader);
                if (Next(ref reader) != JsonTokenType.EndArray)
                {
                    throw new FormatException($"merge #{Merges.Count} has more than two parts");
                }

                merge = string.Concat(left, " ", right);
            }
            else if (reader.TokenType == JsonTokenType.String)
            {
                // Older format: "a b".
                merge = reader.GetString()!;
                int space = merge.IndexOf(' ');
                if (space <= 0 || space == merge.Length - 1 || merge.IndexOf(' ', space + 1) >= 0)
                {
                    throw new FormatException($"merge #{Merges.Count} \"{merge}\" is not two parts separated by one space");
                }
            }
            else
            {
                throw new FormatException($"merge #{Merges.Count} is neither [\"a\", \"b\"] nor \"a b\"");
            }

            Merges.Add(merge);
        }
    }

    private string ReadMergePart(ref Utf8JsonReader reader)
    {
        if (Next(ref reader) != JsonTokenType.String)
        {
            throw new FormatException($"merge #{Merges.Count} is not a pair of strings");
        }

        string part = reader.GetString()!;
        if (part.Length == 0 || part.Contains(' '))
        {
            // Byte-level symbols never contain a space; BpeOptions joins the pair with one.
            throw new FormatException($"merge #{Merges.Count} has an empty part or a part containing a space");
        }

        return part;
    }

    private static JsonTokenType Next(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            throw new FormatException("the JSON ends early");
        }

        return reader.TokenType;
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, string where)
    {
        if (Next(ref reader) != type)
        {
            throw new FormatException($"expected {type} at {where}, found {reader.TokenType}");
        }
    }

    private static string PropertyName(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.PropertyName)
        {
            throw new FormatException($"expected a property name, found {reader.TokenType}");
        }

        return reader.GetString()!;
    }

    private static string? StringProperty(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object
        && element.TryGetProperty(name, out JsonElement value)
        && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    private static bool IsTrue(JsonElement element, string name) =>
        element.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.True;

    private static string Describe(JsonElement element)
    {
        string text = element.GetRawText();
        return text.Length <= 300 ? text : string.Concat(text.AsSpan(0, 300), "…");
    }
}
