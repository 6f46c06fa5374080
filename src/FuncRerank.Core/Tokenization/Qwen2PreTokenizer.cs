using System.Globalization;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace FuncRerank.Tokenization;

/// <summary>
/// The Qwen2/Qwen3 pre-tokenizer: splits text into the pieces that Hugging Face's
/// <c>Split(pattern, behavior: Isolated)</c> produces with this pattern from <c>tokenizer.json</c>:
/// <code>
/// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
/// </code>
/// </summary>
/// <remarks>
/// <para>
/// Evaluated by hand over Unicode code points (<see cref="Rune"/>), as Oniguruma does. A .NET
/// <see cref="System.Text.RegularExpressions.Regex"/> classifies UTF-16 code units, so astral letters and
/// digits (surrogate pairs, category Cs) fall into <c>[^\s\p{L}\p{N}]</c> and pieces come out wrong
/// (for example <c>" 𝟏"</c> must split as <c>" " | "𝟏"</c>).
/// </para>
/// <para>
/// Alternatives are tried in the pattern's order at each position; since the pattern covers every
/// character, every match starts where the previous one ended. Classes: <c>\p{L}</c> and <c>\p{N}</c> are
/// the general categories L* and N*; <c>\s</c> is Unicode White_Space (<see cref="Rune.IsWhiteSpace"/>).
/// The contraction branch is ASCII case-insensitive and, like Oniguruma's case folding, also accepts
/// U+017F (ſ) for <c>s</c>. A lone surrogate (never produced after normalization) is treated as a
/// symbol.
/// </para>
/// </remarks>
public sealed class Qwen2PreTokenizer : PreTokenizer
{
    /// <summary>The split pattern this class implements, exactly as it appears in Qwen's <c>tokenizer.json</c>.</summary>
    public const string Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private const char LongS = '\u017F';

    private enum CharClass : byte
    {
        /// <summary>Anything not below: punctuation, symbols, marks, controls, format characters.</summary>
        Other = 0,

        /// <summary><c>\p{L}</c>.</summary>
        Letter,

        /// <summary><c>\p{N}</c>.</summary>
        Number,

        /// <summary><c>\s</c> other than CR and LF.</summary>
        Space,

        /// <summary>CR or LF (also <c>\s</c>).</summary>
        Newline,
    }

    private static readonly CharClass[] AsciiClasses = BuildAsciiTable();

    /// <summary>A shared instance; the class is stateless and thread-safe.</summary>
    public static Qwen2PreTokenizer Instance { get; } = new();

    /// <inheritdoc />
    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return [];
        }

        return Enumerate(text);
    }

    /// <inheritdoc />
    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return [];
        }

        // A span cannot be captured by a lazy iterator: split eagerly.
        var pieces = new List<(int Offset, int Length)>(text.Length / 4 + 1);
        int position = 0;
        while (position < text.Length)
        {
            int length = NextPieceLength(text, position);
            pieces.Add((position, length));
            position += length;
        }

        return pieces;
    }

    /// <summary>The pieces of <paramref name="text"/> as strings (for tests and diagnostics).</summary>
    public static IReadOnlyList<string> Split(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new List<string>();
        int position = 0;
        while (position < text.Length)
        {
            int length = NextPieceLength(text, position);
            result.Add(text.Substring(position, length));
            position += length;
        }

        return result;
    }

    private static IEnumerable<(int Offset, int Length)> Enumerate(string text)
    {
        int position = 0;
        while (position < text.Length)
        {
            int length = NextPieceLength(text, position);
            yield return (position, length);
            position += length;
        }
    }

    /// <summary>Length in UTF-16 code units of the piece that starts at <paramref name="start"/> (always &gt; 0).</summary>
    internal static int NextPieceLength(ReadOnlySpan<char> text, int start)
    {
        // 1. (?i:'s|'t|'re|'ve|'m|'ll|'d)
        if (text[start] == '\'' && start + 1 < text.Length)
        {
            int contraction = ContractionLength(text, start);
            if (contraction > 0)
            {
                return contraction;
            }
        }

        CharClass first = Classify(text, start, out int firstLength);
        int afterFirst = start + firstLength;

        // 2. [^\r\n\p{L}\p{N}]?\p{L}+
        if (first == CharClass.Letter)
        {
            return SkipLetters(text, afterFirst) - start;
        }

        if ((first == CharClass.Other || first == CharClass.Space)
            && afterFirst < text.Length
            && Classify(text, afterFirst, out int secondLength) == CharClass.Letter)
        {
            return SkipLetters(text, afterFirst + secondLength) - start;
        }

        // 3. \p{N}
        if (first == CharClass.Number)
        {
            return firstLength;
        }

        // 4. ' '?[^\s\p{L}\p{N}]+[\r\n]*
        int symbolsStart = -1;
        if (first == CharClass.Other)
        {
            symbolsStart = start;
        }
        else if (text[start] == ' '
            && afterFirst < text.Length
            && Classify(text, afterFirst, out _) == CharClass.Other)
        {
            symbolsStart = afterFirst;
        }

        if (symbolsStart >= 0)
        {
            int end = symbolsStart;
            while (end < text.Length)
            {
                if (Classify(text, end, out int length) != CharClass.Other)
                {
                    break;
                }

                end += length;
            }

            while (end < text.Length && (text[end] == '\r' || text[end] == '\n'))
            {
                end++;
            }

            return end - start;
        }

        // What is left starts with whitespace (Space or Newline). All White_Space characters are in the
        // BMP, so the run is measured in code units = code points.
        int runEnd = start;
        int lastNewline = -1;
        while (runEnd < text.Length)
        {
            CharClass cls = Classify(text, runEnd, out int length);
            if (cls == CharClass.Newline)
            {
                lastNewline = runEnd;
            }
            else if (cls != CharClass.Space)
            {
                break;
            }

            runEnd += length;
        }

        // 5. \s*[\r\n]+  (greedy \s* backs off to the last CR/LF of the run; [\r\n]+ then ends right after it)
        if (lastNewline >= 0)
        {
            return lastNewline + 1 - start;
        }

        // 6. \s+(?!\S)  (the whole run at the end of the text; otherwise the run minus its last character)
        if (runEnd == text.Length)
        {
            return runEnd - start;
        }

        if (runEnd - start >= 2)
        {
            return runEnd - 1 - start;
        }

        // 7. \s+  (a single whitespace character before a non-space)
        return runEnd - start;
    }

    private static int ContractionLength(ReadOnlySpan<char> text, int start)
    {
        char c1 = FoldAscii(text[start + 1]);
        switch (c1)
        {
            case 's':
            case 't':
            case 'm':
            case 'd':
                return 2;
            case 'r':
            case 'v':
                return start + 2 < text.Length && FoldAscii(text[start + 2]) == 'e' ? 3 : 0;
            case 'l':
                return start + 2 < text.Length && FoldAscii(text[start + 2]) == 'l' ? 3 : 0;
            default:
                return 0;
        }
    }

    /// <summary>Simple case folding restricted to what the contraction branch can meet: ASCII letters and ſ → s.</summary>
    private static char FoldAscii(char c)
    {
        if (c is >= 'A' and <= 'Z')
        {
            return (char)(c + ('a' - 'A'));
        }

        return c == LongS ? 's' : c;
    }

    private static int SkipLetters(ReadOnlySpan<char> text, int position)
    {
        while (position < text.Length)
        {
            if (Classify(text, position, out int length) != CharClass.Letter)
            {
                break;
            }

            position += length;
        }

        return position;
    }

    private static CharClass Classify(ReadOnlySpan<char> text, int index, out int length)
    {
        char c = text[index];
        if (c < 0x80)
        {
            length = 1;
            return AsciiClasses[c];
        }

        if (!char.IsSurrogate(c))
        {
            length = 1;
            return ClassifyRune(new Rune(c));
        }

        if (Rune.DecodeFromUtf16(text.Slice(index), out Rune rune, out int consumed) == System.Buffers.OperationStatus.Done)
        {
            length = consumed;
            return ClassifyRune(rune);
        }

        length = 1; // lone surrogate
        return CharClass.Other;
    }

    private static CharClass ClassifyRune(Rune rune)
    {
        switch (Rune.GetUnicodeCategory(rune))
        {
            case UnicodeCategory.UppercaseLetter:
            case UnicodeCategory.LowercaseLetter:
            case UnicodeCategory.TitlecaseLetter:
            case UnicodeCategory.ModifierLetter:
            case UnicodeCategory.OtherLetter:
                return CharClass.Letter;
            case UnicodeCategory.DecimalDigitNumber:
            case UnicodeCategory.LetterNumber:
            case UnicodeCategory.OtherNumber:
                return CharClass.Number;
            default:
                if (Rune.IsWhiteSpace(rune))
                {
                    return rune.Value is '\r' or '\n' ? CharClass.Newline : CharClass.Space;
                }

                return CharClass.Other;
        }
    }

    private static CharClass[] BuildAsciiTable()
    {
        var table = new CharClass[128];
        for (int c = 0; c < table.Length; c++)
        {
            table[c] = ClassifyRune(new Rune(c));
        }

        return table;
    }
}
