using System.Text;

namespace FuncRerank.Tokenization;

/// <summary>
/// NFC normalization as Hugging Face's <c>tokenizers</c> applies it, made safe for inputs that
/// <see cref="string.Normalize(NormalizationForm)"/> rejects.
/// </summary>
/// <remarks>
/// <para>
/// .NET throws <see cref="ArgumentException"/> from <c>Normalize</c> and <c>IsNormalized</c> when the text
/// contains U+FFFE or a lone surrogate. Hugging Face tokenizes U+FFFE like any other character
/// (bytes <c>EF BF BE</c>), and a lone surrogate can only reach it as U+FFFD (Rust strings cannot hold one;
/// the bindings substitute U+FFFD). So: lone surrogates become U+FFFD, and the runs between U+FFFE
/// characters are normalized separately. U+FFFE is a starter that composes with nothing, so this equals
/// the NFC of the whole text.
/// </para>
/// <para>
/// NFC needs ICU. With invariant globalization (<c>InvariantGlobalization=true</c>,
/// <c>DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1</c>, or an image without libicu) .NET silently returns the
/// input unchanged; <see cref="EnsureAvailable"/> detects that.
/// </remarks>
public static class UnicodeNormalization
{
    private const char NonCharacterFffe = '\uFFFE';

    /// <summary>True when this runtime really performs NFC (ICU present, invariant globalization off).</summary>
    public static bool IsNfcAvailable()
    {
        try
        {
            return string.Equals("e\u0301".Normalize(NormalizationForm.FormC), "\u00E9", StringComparison.Ordinal)
                && string.Equals("\u1100\u1161".Normalize(NormalizationForm.FormC), "\uAC00", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is PlatformNotSupportedException or ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>
    /// Throws <see cref="TokenizerLoadException"/> unless NFC works; the tokenizer would otherwise give
    /// wrong ids for decomposed text (NFD Latin, Hangul jamo, Indic nukta letters) without any error.
    /// </summary>
    /// <param name="tokenizerPath">The tokenizer file being loaded, named in the message when given.</param>
    public static void EnsureAvailable(string? tokenizerPath = null)
    {
        if (!IsNfcAvailable())
        {
            throw new TokenizerLoadException(
                (tokenizerPath is null ? "" : $"Cannot load tokenizer file '{tokenizerPath}': ") +
                "Unicode NFC normalization does not work in this process: \"e\\u0301\".Normalize(FormC) did not give \"\u00E9\". " +
                "Invariant globalization is on (InvariantGlobalization=true in the project, or DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 " +
                "in the environment) or ICU is missing. The Qwen3 tokenizer needs ICU (install libicu in the image, for example " +
                "the Debian/Ubuntu 'libicu' package or a non-chiseled/'-extra' .NET image) and invariant globalization off; " +
                "otherwise decomposed text would silently get different token ids than Hugging Face.");
        }
    }

    /// <summary>NFC of <paramref name="text"/>; never throws for U+FFFE or lone surrogates.</summary>
    public static string ToNfc(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (IsKnownNfc(text))
        {
            return text;
        }

        return NormalizeSlow(text);
    }

    /// <summary>NFC of <paramref name="text"/>; returns the same span when it is already NFC.</summary>
    internal static ReadOnlySpan<char> ToNfc(ReadOnlySpan<char> text, out string? allocated)
    {
        if (IsKnownNfc(text))
        {
            allocated = null;
            return text;
        }

        allocated = NormalizeSlow(text.ToString());
        return allocated;
    }

    /// <summary>True when the text is certainly NFC and safe to pass through unchanged.</summary>
    private static bool IsKnownNfc(ReadOnlySpan<char> text)
    {
        // ASCII is always NFC (vectorized check; most rerank text is mostly ASCII).
        int firstNonAscii = text.IndexOfAnyExceptInRange('\u0000', '\u007F');
        if (firstNonAscii < 0)
        {
            return true;
        }

        // Below U+0300 every character is NFC_Quick_Check=Yes and composes with nothing before it, so such
        // text is NFC. Anything else needs ICU's answer on the whole text (a mark composes with the
        // character before it, which may be ASCII). First rule out the inputs ICU rejects.
        if (text.Slice(firstNonAscii).IndexOfAnyExceptInRange('\u0000', '\u02FF') < 0)
        {
            return true;
        }

        if (NeedsGuard(text))
        {
            return false;
        }

        return text.IsNormalized(NormalizationForm.FormC);
    }

    /// <summary>True if the text holds U+FFFE or a lone surrogate (what <c>string.Normalize</c> rejects).</summary>
    private static bool NeedsGuard(ReadOnlySpan<char> text) =>
        text.Contains(NonCharacterFffe) || IndexOfLoneSurrogate(text, 0) >= 0;

    /// <summary>The index of the first surrogate at or after <paramref name="start"/> that is not half of a pair, or -1.</summary>
    private static int IndexOfLoneSurrogate(ReadOnlySpan<char> text, int start)
    {
        int offset = text[start..].IndexOfAnyInRange('\uD800', '\uDFFF');
        if (offset < 0)
        {
            return -1;
        }

        for (int i = start + offset; i < text.Length; i++)
        {
            char c = text[i];
            if (!char.IsSurrogate(c))
            {
                continue;
            }

            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
                continue;
            }

            return i;
        }

        return -1;
    }

    private static string NormalizeSlow(string text)
    {
        if (!NeedsGuard(text))
        {
            return text.Normalize(NormalizationForm.FormC);
        }

        string cleaned = ReplaceLoneSurrogates(text);
        if (!cleaned.Contains(NonCharacterFffe))
        {
            return cleaned.Normalize(NormalizationForm.FormC);
        }

        var sb = new StringBuilder(cleaned.Length);
        int start = 0;
        while (start <= cleaned.Length)
        {
            int stop = cleaned.IndexOf(NonCharacterFffe, start);
            if (stop < 0)
            {
                stop = cleaned.Length;
            }

            if (stop > start)
            {
                sb.Append(cleaned.AsSpan(start, stop - start).ToString().Normalize(NormalizationForm.FormC));
            }

            if (stop < cleaned.Length)
            {
                sb.Append(NonCharacterFffe);
            }

            start = stop + 1;
        }

        return sb.ToString();
    }

    private static string ReplaceLoneSurrogates(string text)
    {
        char[]? buffer = null;
        for (int i = IndexOfLoneSurrogate(text, 0); i >= 0; i = IndexOfLoneSurrogate(text, i + 1))
        {
            buffer ??= text.ToCharArray();
            buffer[i] = '\uFFFD';
        }

        return buffer is null ? text : new string(buffer);
    }
}
