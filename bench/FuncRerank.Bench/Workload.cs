using System.Text;
using FuncRerank.Tokenization;

namespace FuncRerank.Bench;

/// <summary>One rerank request: a query against its documents, with the model's default instruction when <paramref name="Instruction"/> is null.</summary>
internal sealed record BenchRequest(string Query, string[] Documents, string? Instruction = null);

/// <summary>A request mix and how it is sent: <paramref name="Concurrency"/> clients, each sending its share in turn.</summary>
internal sealed record RequestMix(string Name, BenchRequest[] Requests, int Concurrency);

/// <summary>How a mix is drawn: documents per request and document lengths in tokens (log-uniform: many short, some long).</summary>
internal sealed record MixSpec(string Name, int Requests, int MinDocuments, int MaxDocuments, int MinTokens, int MaxTokens, int Concurrency);

/// <summary>
/// Generates request mixes from a fixed seed: English-like text (common words, some numbers and punctuation) whose
/// document length in tokens, measured with the real tokenizer, follows the spec. The same seed gives the same requests.
/// </summary>
internal static class Workload
{
    private static readonly string[] Words =
    (
        "the of and to in is that for it as was with on be by this are from at or an which have not has but were they " +
        "their its can more also one all been other new first may used two such these time into only some would most " +
        "system data model water energy city river market policy research study results method process report table " +
        "value number year years people government company health school history population region country century " +
        "network protein cell species temperature pressure surface material production growth average rate level " +
        "between during after before within under about over through because however therefore although while where " +
        "large small high low early late major local national international public private total annual common " +
        "development management analysis treatment education information security technology service services " +
        "increase decrease measured reported observed estimated described published designed located developed " +
        "north south east west central capital island coast mountain valley forest lake field border station bridge"
    ).Split(' ', StringSplitOptions.RemoveEmptyEntries);

    public static MixSpec Mixed(int requests) => new("mixed: 1 query x 20-100 docs of 50-2000 tokens", requests, 20, 100, 50, 2000, 1);

    public static MixSpec Small(int requests, int concurrency) =>
        new("small: 1 query x 1-5 docs of 30-300 tokens", requests, 1, 5, 30, 300, concurrency);

    /// <param name="instructionTokens">Above 0: every request carries its own instruction of about this many tokens.</param>
    public static RequestMix Generate(MixSpec spec, Qwen3Tokenizer tokenizer, int seed, int instructionTokens = 0)
    {
        var random = new Random(seed);
        var requests = new BenchRequest[spec.Requests];
        for (var i = 0; i < requests.Length; i++)
        {
            var query = Text(tokenizer, random, random.Next(6, 25)).TrimEnd('.') + "?";
            var documents = new string[random.Next(spec.MinDocuments, spec.MaxDocuments + 1)];
            for (var d = 0; d < documents.Length; d++)
                documents[d] = Text(tokenizer, random, LogUniform(random, spec.MinTokens, spec.MaxTokens));
            var instruction = instructionTokens > 0 ? Text(tokenizer, random, instructionTokens) : null;
            requests[i] = new BenchRequest(query, documents, instruction);
        }

        return new RequestMix(spec.Name, requests, spec.Concurrency);
    }

    private static int LogUniform(Random random, int min, int max) =>
        (int)Math.Round(Math.Exp(Math.Log(min) + random.NextDouble() * (Math.Log(max) - Math.Log(min))));

    /// <summary>Text of about <paramref name="tokens"/> tokens (within a few tokens), built word by word.</summary>
    private static string Text(Qwen3Tokenizer tokenizer, Random random, int tokens)
    {
        var words = new List<string>();
        var sentence = 0;
        void AddWords(int count)
        {
            for (var i = 0; i < count; i++)
            {
                var word = random.Next(20) == 0 ? random.Next(1, 2030).ToString() : Words[random.Next(Words.Length)];
                if (sentence == 0)
                    word = char.ToUpperInvariant(word[0]) + word[1..];
                sentence++;
                if (sentence > 8 && random.Next(6) == 0)
                {
                    word += ".";
                    sentence = 0;
                }
                else if (sentence > 3 && random.Next(12) == 0)
                {
                    word += ",";
                }

                words.Add(word);
            }
        }

        AddWords(Math.Max(1, (int)(tokens * 0.8)));
        for (var attempt = 0; attempt < 6; attempt++)
        {
            var count = tokenizer.CountTokens(string.Join(' ', words));
            if (count < tokens)
                AddWords(Math.Max(1, (tokens - count) * 3 / 4));
            else if (count > tokens && words.Count > 1)
            {
                var extra = Math.Min(words.Count - 1, Math.Max(1, (count - tokens) * 3 / 4));
                words.RemoveRange(words.Count - extra, extra);
            }
            else
                break;
        }

        var text = new StringBuilder(string.Join(' ', words));
        if (text[^1] is not '.')
            text.Append('.');
        return text.ToString();
    }
}
