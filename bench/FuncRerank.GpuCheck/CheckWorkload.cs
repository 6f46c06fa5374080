namespace FuncRerank.GpuCheck;

/// <summary>One request: its prompts as token ids, all starting with the same prefix (template, instruction and query).</summary>
internal sealed record CheckRequest(int[][] Prompts);

/// <summary>A fixed mix of requests, timed as a whole.</summary>
internal sealed record CheckMix(string Name, CheckRequest[] Requests)
{
    public int Pairs => Requests.Sum(r => r.Prompts.Length);

    public long Tokens => Requests.Sum(r => r.Prompts.Sum(p => (long)p.Length));
}

/// <summary>
/// The check's prompts, as token ids drawn from a fixed seed: the speed of a forward pass depends on the lengths, not
/// on which tokens, so no tokenizer is needed. Each prompt is a request's shared prefix, then its document, then the
/// template's real 9-token suffix, like the prompts the service builds.
/// </summary>
internal static class CheckWorkload
{
    /// <summary>&lt;|im_end|&gt;\n&lt;|im_start|&gt;assistant\n&lt;think&gt;\n\n&lt;/think&gt;\n\n (onnx_perf.md §2).</summary>
    private static readonly int[] Suffix = [151645, 198, 151644, 77091, 198, 151667, 271, 151668, 271];

    private const int PrefixTokens = 70;

    /// <summary>Ordinary tokens only: ids below the first special token (151643).</summary>
    private const int OrdinaryVocabulary = 151643;

    /// <summary>Pairs for the score and padding checks: two requests of documents from 20 tokens to <paramref name="maxTokens"/>.</summary>
    public static CheckRequest[] AccuracyPairs(int maxTokens) =>
    [
        Request(new Random(101), Enumerable.Range(0, 8).Select(i => LogSpaced(i, 8, 20, maxTokens)).ToArray()),
        Request(new Random(202), Enumerable.Range(0, 8).Select(i => LogSpaced(7 - i, 8, 24, maxTokens - 100)).ToArray()),
    ];

    /// <summary>The three mixes; <see cref="CheckScale.Small"/> keeps their form at CPU-sized lengths.</summary>
    public static CheckMix[] Mixes(CheckScale scale)
    {
        var full = scale == CheckScale.Full;
        var random = new Random(303);
        var uniform = new CheckMix(full ? "100 docs x 512 tokens" : "8 docs x 128 tokens",
            Enumerable.Range(0, full ? 4 : 2).Select(_ => Request(random, Enumerable.Repeat(full ? 512 : 128, full ? 100 : 8).ToArray())).ToArray());
        var (minDocs, maxDocs, minTokens, maxTokens) = full ? (20, 100, 50, 2000) : (4, 8, 20, 300);
        var mixed = new CheckMix(full ? "20-100 docs of 50-2,000 tokens" : "4-8 docs of 20-300 tokens",
            Enumerable.Range(0, full ? 8 : 2).Select(_ => Request(random,
                Enumerable.Range(0, random.Next(minDocs, maxDocs + 1)).Select(_ => LogUniform(random, minTokens, maxTokens)).ToArray())).ToArray());
        var longest = full ? 8192 : 1024;
        var single = new CheckMix($"one {longest:N0}-token document", Enumerable.Range(0, 3).Select(_ => Request(random, [longest])).ToArray());
        return [uniform, mixed, single];
    }

    /// <summary>A request whose prompts have the given lengths (each at least the prefix and suffix plus one token).</summary>
    public static CheckRequest Request(Random random, int[] promptLengths)
    {
        var prefix = Tokens(random, PrefixTokens);
        return new CheckRequest(promptLengths.Select(length =>
        {
            var document = Tokens(random, Math.Max(1, length - PrefixTokens - Suffix.Length));
            return prefix.Concat(document).Concat(Suffix).ToArray();
        }).ToArray());
    }

    private static int[] Tokens(Random random, int count) => Enumerable.Range(0, count).Select(_ => random.Next(OrdinaryVocabulary)).ToArray();

    private static int LogSpaced(int index, int count, int min, int max) =>
        (int)Math.Round(Math.Exp(Math.Log(min) + index * (Math.Log(max) - Math.Log(min)) / (count - 1)));

    private static int LogUniform(Random random, int min, int max) =>
        (int)Math.Round(Math.Exp(Math.Log(min) + random.NextDouble() * (Math.Log(max) - Math.Log(min))));
}
