using FuncRerank.Tokenization;

namespace FuncRerank.Tests.Tokenization;

public sealed class UnicodeNormalizationTests
{
    [Theory]
    [InlineData("plain ascii", "plain ascii")]
    [InlineData("e\u0301", "\u00E9")]
    [InlineData("\u1100\u1161\u11A8", "\uAC01")]
    [InlineData("caf\u00E9 na\u00EFve", "caf\u00E9 na\u00EFve")]
    [InlineData("\u212B", "\u00C5")]                                    // singleton decomposition (Angstrom sign)
    [InlineData("a\uFFFEb", "a\uFFFEb")]                                // kept, never throws
    [InlineData("e\u0301\uFFFEe\u0301", "\u00E9\uFFFE\u00E9")]           // runs around U+FFFE normalized separately
    [InlineData("\uFFFE\u0301", "\uFFFE\u0301")]                        // U+FFFE composes with nothing
    [InlineData("\uFFFE\uFFFE", "\uFFFE\uFFFE")]
    [InlineData("\uFFFF\uFDD0", "\uFFFF\uFDD0")]                        // other noncharacters pass through ICU
    [InlineData(">\u0338", "\u226F")]
    public void ToNfcMatchesHuggingFace(string input, string expected)
    {
        Assert.Equal(expected, UnicodeNormalization.ToNfc(input));
        Assert.Equal(expected, UnicodeNormalization.ToNfc(input.AsSpan(), out _).ToString());
    }

    [Fact]
    public void LoneSurrogatesBecomeReplacementCharacters()
    {
        // Not [InlineData]: xunit's test-case serialization does not preserve lone surrogates.
        (string Input, string Expected)[] cases =
        [
            ("a\uD800b", "a\uFFFDb"),                                  // lone high surrogate
            ("\uDC00e\u0301", "\uFFFD\u00E9"),                         // lone low surrogate
            ("\uD83D\uDE00e\u0301\uD83D", "\uD83D\uDE00\u00E9\uFFFD"), // pair kept, trailing half replaced
            ("\uDFFF\uD800", "\uFFFD\uFFFD"),                          // reversed pair
            ("x\uD800\uFFFEe\u0301", "x\uFFFD\uFFFE\u00E9"),              // both guards at once
        ];
        foreach ((string input, string expected) in cases)
        {
            Assert.Equal(expected, UnicodeNormalization.ToNfc(input));
            Assert.Equal(expected, UnicodeNormalization.ToNfc(input.AsSpan(), out _).ToString());
        }
    }

    [Fact]
    public void AlreadyNormalizedTextIsReturnedAsIs()
    {
        string text = "d\u00E9j\u00E0 vu \u4E2D\u6587";
        Assert.Same(text, UnicodeNormalization.ToNfc(text));
        _ = UnicodeNormalization.ToNfc(text.AsSpan(), out string? allocated);
        Assert.Null(allocated);
    }

    [Fact]
    public void IcuIsAvailableHere() => Assert.True(UnicodeNormalization.IsNfcAvailable());
}
