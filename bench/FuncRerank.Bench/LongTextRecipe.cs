using System.Text;
using System.Text.Json;

namespace FuncRerank.Bench;

/// <summary>
/// A long text stored as the way to build it (<c>tests/fixtures/tokenizer/long.jsonl</c>'s <c>recipe</c>), so that a
/// fixture of a million characters takes a few hundred bytes: draws from <see cref="Units"/> with the generator's
/// mulberry32 PRNG (seeded with <see cref="Seed"/>) until the text has at least <see cref="Chars"/> UTF-16 code units.
/// The generator (<c>generate.mjs</c>, <c>buildLongText</c>) and the tokenizer tests and benchmark build the same text.
/// </summary>
internal sealed record LongTextRecipe(IReadOnlyList<string> Units, uint Seed, int Chars)
{
    public static LongTextRecipe FromJson(JsonElement recipe) => new(
        recipe.GetProperty("units").EnumerateArray().Select(u => u.GetString()!).ToArray(),
        recipe.GetProperty("seed").GetUInt32(),
        recipe.GetProperty("chars").GetInt32());

    public string Build()
    {
        var text = new StringBuilder(Chars + 16);
        uint state = Seed;
        while (text.Length < Chars)
        {
            text.Append(Units[(int)(NextDouble(ref state) * Units.Count)]);
        }

        return text.ToString();
    }

    /// <summary>mulberry32, as the generator writes it in JavaScript (<c>Math.imul</c> is a wrapping 32-bit multiply).</summary>
    private static double NextDouble(ref uint state)
    {
        state += 0x6D2B79F5;
        uint t = state;
        t = (t ^ (t >> 15)) * (t | 1);
        t ^= t + (t ^ (t >> 7)) * (t | 61);
        return (t ^ (t >> 14)) / 4294967296.0;
    }
}
