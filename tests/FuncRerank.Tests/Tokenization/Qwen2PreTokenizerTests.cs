using System.Text.Json;
using FuncRerank.Tests.TestSupport;
using FuncRerank.Tokenization;

namespace FuncRerank.Tests.Tokenization;

public sealed class Qwen2PreTokenizerTests
{
    public static TheoryData<string, string[]> Cases => new()
    {
        // Astral characters are whole code points: a letter, a digit, an emoji.
        { " \U0001D7CF", [" ", "\U0001D7CF"] },                       // " 𝟏": space, then the digit alone
        { "x \U0001D7CF\U0001D7D0", ["x", " ", "\U0001D7CF", "\U0001D7D0"] },
        { "\U00020BB7\u91CE\u5BB6", ["\U00020BB7\u91CE\u5BB6"] },    // "𠮷野家": one run of letters
        { "a\U0001D49Cb", ["a\U0001D49Cb"] },                         // "a𝒜b"
        { "x\U0001F600abc", ["x", "\U0001F600abc"] },                 // "x😀abc": emoji joins the letters after it
        { " \U0001F600\U0001F600!", [" \U0001F600\U0001F600!"] },
        { "\U0001F600 x", ["\U0001F600", " x"] },

        // Contractions: ASCII case-insensitive, plus U+017F (ſ) folding to s.
        { "I'm", ["I", "'m"] },
        { "he'S", ["he", "'S"] },
        { "we'LL've", ["we", "'LL", "'ve"] },
        { "it'\u017F", ["it", "'\u017F"] },
        { "'sam", ["'s", "am"] },
        { "'x", ["'x"] },
        { "'l", ["'l"] },
        { "''", ["''"] },
        { "don't'Re", ["don", "'t", "'Re"] },

        // Optional non-letter before letters.
        { "\thello", ["\thello"] },
        { "$hello", ["$hello"] },
        { "\u3000\u6F22\u5B57", ["\u3000\u6F22\u5B57"] },
        { "\nhello", ["\n", "hello"] },
        { "1abc", ["1", "abc"] },
        { "a\u0300b", ["a", "\u0300b"] },

        // Numbers one by one (N*: Nd, Nl, No).
        { "12345", ["1", "2", "3", "4", "5"] },
        { "\u00B2\u2167", ["\u00B2", "\u2167"] },

        // Symbols with an optional leading space and trailing newlines.
        { " !!", [" !!"] },
        { "!!\n\nx", ["!!\n\n", "x"] },
        { "a.\r\n\r\nb", ["a", ".\r\n\r\n", "b"] },
        { "  !!", [" ", " !!"] },
        { "\t!", ["\t", "!"] },

        // Whitespace: up to the last newline; otherwise the run minus its last character before a non-space.
        { "hello   world", ["hello", "  ", " world"] },
        { "a  \n b", ["a", "  \n", " b"] },
        { "a \n \n  b", ["a", " \n \n", " ", " b"] },
        { "end   ", ["end", "   "] },
        { "x \ty", ["x", " ", "\ty"] },
        { "x  1", ["x", " ", " ", "1"] },
        { " ", [" "] },
        { "\r\n", ["\r\n"] },
        { "\n\n  ", ["\n\n", "  "] },
        { "a\u00A0\u00A0b", ["a", "\u00A0", "\u00A0b"] },
        { "a\u0085b", ["a", "\u0085b"] },                               // NEL is \s but not [\r\n]
        { "a\u2028\nb", ["a", "\u2028\n", "b"] },

        // Non-whitespace controls and format characters are symbols.
        { "a\u001Fb", ["a", "\u001Fb"] },
        { "a\u200Bb", ["a", "\u200Bb"] },
        { "", [] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void SplitsLikeOniguruma(string text, string[] expected)
    {
        IReadOnlyList<string> pieces = Qwen2PreTokenizer.Split(text);
        Assert.Equal(expected, pieces);

        // The string (lazy) and span (eager) overloads agree and cover the text.
        (int Offset, int Length)[] fromString = Qwen2PreTokenizer.Instance.PreTokenize(text).ToArray();
        (int Offset, int Length)[] fromSpan = Qwen2PreTokenizer.Instance.PreTokenize(text.AsSpan()).ToArray();
        Assert.Equal(fromString, fromSpan);
        Assert.Equal(expected, fromString.Select(p => text.Substring(p.Offset, p.Length)));
    }

    [Fact]
    public void LoneSurrogatesAreSymbolsAndDoNotThrow()
    {
        Assert.Equal(["a", "\uD800b"], Qwen2PreTokenizer.Split("a\uD800b"));
        Assert.Equal(["\uDC00\uDC00"], Qwen2PreTokenizer.Split("\uDC00\uDC00"));
        Assert.Equal(["x", "\uD83D"], Qwen2PreTokenizer.Split("x\uD83D"));
    }

    [Fact]
    public void PatternConstantIsTheOneInTokenizerJson()
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(RepoFiles.TokenizerJsonPath));
        string regex = doc.RootElement.GetProperty("pre_tokenizer").GetProperty("pretokenizers")[0]
            .GetProperty("pattern").GetProperty("Regex").GetString()!;
        Assert.Equal(Qwen2PreTokenizer.Pattern, regex);
    }
}
