using System.Text.RegularExpressions;

namespace FuncRerank.Tests.Docs;

/// <summary>
/// A Markdown file as GitHub renders its links: the anchors its headings get and the relative links it holds, both
/// outside fenced code blocks and inline code (where a "[x](y)" is text, not a link).
/// </summary>
internal sealed partial class MarkdownPage
{
    private MarkdownPage(string path, string prose)
    {
        Path = path;
        Prose = prose;
    }

    public string Path { get; }

    /// <summary>The text with fenced code blocks removed.</summary>
    private string Prose { get; }

    public static MarkdownPage Read(string path) => new(path, FencedBlock().Replace(File.ReadAllText(path), ""));

    /// <summary>The lines of the fenced code blocks in the section under <paramref name="heading"/> (up to the next heading).</summary>
    public static IReadOnlyList<string> CodeLinesUnder(string path, string heading)
    {
        var lines = File.ReadAllLines(path);
        var start = Array.IndexOf(lines, heading);
        Assert.True(start >= 0, $"{path} has no heading \"{heading}\"");
        var code = new List<string>();
        var inCode = false;
        foreach (var line in lines.Skip(start + 1))
        {
            if (line.StartsWith("```", StringComparison.Ordinal))
                inCode = !inCode;
            else if (inCode)
                code.Add(line);
            else if (line.StartsWith('#'))
                break;
        }

        return code;
    }

    /// <summary>The anchors GitHub gives the headings: lower case, punctuation dropped, spaces as '-', repeats numbered.</summary>
    public IReadOnlySet<string> Anchors()
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (Match heading in Heading().Matches(Prose))
        {
            var text = LinkInText().Replace(heading.Groups[1].Value.Trim(), "$1").ToLowerInvariant();
            var slug = NotInSlug().Replace(text, "").Replace(' ', '-');
            var repeat = seen.GetValueOrDefault(slug);
            seen[slug] = repeat + 1;
            anchors.Add(repeat == 0 ? slug : $"{slug}-{repeat}");
        }

        return anchors;
    }

    /// <summary>Every link target that is not a URL with a scheme (https:, mailto:): a path, a path#anchor or #anchor.</summary>
    public IEnumerable<string> RelativeLinks() =>
        LinkTarget().Matches(InlineCode().Replace(Prose, ""))
            .Select(m => m.Groups[1].Value)
            .Where(target => !Scheme().IsMatch(target));

    [GeneratedRegex(@"^```.*?^```[^\n]*$", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex FencedBlock();

    [GeneratedRegex(@"^#{1,6} (.+)$", RegexOptions.Multiline)]
    private static partial Regex Heading();

    [GeneratedRegex(@"\[([^\]]*)\]\([^)]*\)")]
    private static partial Regex LinkInText();

    [GeneratedRegex(@"[^\p{L}\p{N}\p{Mn}\p{Pc}\- ]")]
    private static partial Regex NotInSlug();

    [GeneratedRegex(@"`[^`\n]*`")]
    private static partial Regex InlineCode();

    [GeneratedRegex(@"\]\(([^)\s]+)\)")]
    private static partial Regex LinkTarget();

    [GeneratedRegex(@"^[a-z][a-z0-9+.-]*:", RegexOptions.IgnoreCase)]
    private static partial Regex Scheme();
}
