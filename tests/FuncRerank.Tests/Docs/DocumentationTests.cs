using FuncRerank.Tests.TestSupport;

namespace FuncRerank.Tests.Docs;

/// <summary>
/// The README and the pages under docs/ hold together: every relative link reaches a file and, with an anchor, one of
/// its headings; every page is linked from the README; and the README's Layout has a line for each folder of the tree
/// (and none for a folder that is gone), so moving a folder without telling the README fails here.
/// </summary>
public class DocumentationTests
{
    private static string Readme => Path.Combine(RepoFiles.RepoRoot, "README.md");

    private static IEnumerable<string> Pages() =>
        Directory.GetFiles(Path.Combine(RepoFiles.RepoRoot, "docs"), "*.md").Order(StringComparer.Ordinal).Prepend(Readme);

    /// <summary>Each relative link of <paramref name="pages"/> that does not resolve, as "page: link: why".</summary>
    private static List<string> BrokenLinks(IEnumerable<string> pages)
    {
        var broken = new List<string>();
        foreach (var page in pages.Select(MarkdownPage.Read))
        {
            foreach (var link in page.RelativeLinks())
            {
                var (target, anchor) = link.IndexOf('#') is var hash and >= 0 ? (link[..hash], link[(hash + 1)..]) : (link, "");
                var file = target.Length == 0 ? page.Path : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(page.Path)!, target));
                if (!File.Exists(file) && !Directory.Exists(file))
                    broken.Add($"{page.Path}: {link}: no such file");
                else if (anchor.Length > 0 && (!file.EndsWith(".md", StringComparison.Ordinal) || !MarkdownPage.Read(file).Anchors().Contains(anchor)))
                    broken.Add($"{page.Path}: {link}: no heading with that anchor in {file}");
            }
        }

        return broken;
    }

    [Fact]
    public void Every_relative_link_in_the_README_and_the_docs_reaches_a_file_and_its_heading()
    {
        var pages = Pages().ToList();
        Assert.True(pages.Count > 1, "docs/ holds no page");
        var broken = BrokenLinks(pages);
        Assert.True(broken.Count == 0, string.Join("\n", broken));
    }

    [Fact]
    public void The_link_check_reports_a_missing_file_a_missing_heading_and_passes_a_good_link()
    {
        var directory = RepoFiles.NewTemporaryDirectory();
        File.WriteAllText(Path.Combine(directory, "target.md"), "# The `Target`, page\n\n## Twice\n\n## Twice\n");
        var page = Path.Combine(directory, "page.md");
        File.WriteAllText(page, """
            [good](target.md#the-target-page) [repeat](target.md#twice-1) [self](#a-heading) [web](https://example.com/x)
            `[in code](nowhere.md)`

            # A heading

            [gone](nowhere.md) [no such heading](target.md#twice-2)

            ```sh
            echo "[also code](nowhere.md)"
            ```
            """);

        Assert.Equal(
            [$"{page}: nowhere.md: no such file", $"{page}: target.md#twice-2: no heading with that anchor in {Path.Combine(directory, "target.md")}"],
            BrokenLinks([page]));
    }

    [Fact]
    public void Every_page_in_docs_is_linked_from_the_README()
    {
        var linked = MarkdownPage.Read(Readme).RelativeLinks().Select(link => link.Split('#')[0]).ToHashSet(StringComparer.Ordinal);
        foreach (var page in Pages().Skip(1))
            Assert.Contains($"docs/{Path.GetFileName(page)}", linked);
    }

    /// <summary>The folders the Layout's tree names: a line's folder is inside the nearest less-indented line above it.</summary>
    private static HashSet<string> LayoutFolders()
    {
        var folders = new HashSet<string>(StringComparer.Ordinal);
        var parents = new Stack<(int Indent, string Path)>();
        foreach (var line in MarkdownPage.CodeLinesUnder(Readme, "## Layout").Where(l => l.Trim().Length > 0))
        {
            var indent = line.Length - line.TrimStart().Length;
            var name = line.Trim().Split(' ')[0];
            Assert.True(name.EndsWith('/'), $"Layout line \"{line.Trim()}\" does not start with a folder (name/)");
            while (parents.Count > 0 && parents.Peek().Indent >= indent)
                parents.Pop();
            var path = (parents.Count > 0 ? parents.Peek().Path : "") + name;
            Assert.True(folders.Add(path.TrimEnd('/')), $"Layout names {path} twice");
            parents.Push((indent, path));
        }

        return folders;
    }

    /// <summary>Folders that hold files (build output and dependencies aside): all of src/ and bench/, and tests/' own.</summary>
    private static IEnumerable<string> FoldersThatNeedALine()
    {
        static bool Counts(string directory) =>
            Path.GetFileName(directory) is not ("bin" or "obj" or "node_modules" or "generated") && !Path.GetFileName(directory).StartsWith('.')
            && Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Any();

        string Relative(string directory) => Path.GetRelativePath(RepoFiles.RepoRoot, directory).Replace('\\', '/');

        IEnumerable<string> Below(string directory, bool recursive) =>
            Directory.GetDirectories(directory).Where(Counts).SelectMany(d => recursive ? Below(d, true).Prepend(d) : [d]);

        var root = RepoFiles.RepoRoot;
        return Below(Path.Combine(root, "src"), recursive: true)
            .Concat(Below(Path.Combine(root, "bench"), recursive: true))
            .Concat(Below(Path.Combine(root, "tests"), recursive: false))
            .Select(Relative);
    }

    [Fact]
    public void The_layout_has_a_line_for_every_folder_and_none_for_a_folder_that_is_gone()
    {
        var layout = LayoutFolders();
        var missing = FoldersThatNeedALine().Where(folder => !layout.Contains(folder)).ToList();
        Assert.True(missing.Count == 0, $"README.md's Layout has no line for: {string.Join(", ", missing)}");
        var gone = layout.Where(folder => !Directory.Exists(Path.Combine(RepoFiles.RepoRoot, folder))).ToList();
        Assert.True(gone.Count == 0, $"README.md's Layout names folders that do not exist: {string.Join(", ", gone)}");
    }
}
