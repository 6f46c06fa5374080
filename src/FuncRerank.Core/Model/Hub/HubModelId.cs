namespace FuncRerank.Model.Hub;

/// <summary>
/// A Hugging Face model id, <c>owner/name</c>. It becomes part of URLs and of a cache folder name, so only what the Hub
/// itself allows gets through: letters, digits, <c>-</c>, <c>_</c> and <c>.</c>, never a path step such as <c>..</c>.
/// </summary>
internal sealed record HubModelId
{
    private const int MaxLength = 96;

    private HubModelId(string owner, string name)
    {
        Owner = owner;
        Name = name;
    }

    public string Owner { get; }

    public string Name { get; }

    /// <summary>The folder huggingface_hub keeps the model in, which is why <c>--</c> cannot appear in an id.</summary>
    public string CacheFolderName => $"models--{Owner}--{Name}";

    public override string ToString() => $"{Owner}/{Name}";

    /// <exception cref="ArgumentException">The id is not <c>owner/name</c> made of safe characters.</exception>
    public static HubModelId Parse(string modelId)
    {
        var parts = modelId.Split('/');
        if (modelId.Length > MaxLength || parts.Length != 2 || !parts.All(IsValidPart))
            throw new ArgumentException(
                $"'{modelId}' is not a Hugging Face model id: expected owner/name such as Qwen/Qwen3-Reranker-0.6B, " +
                "made of letters, digits, '-', '_' and '.' (no '..' or '--', not starting or ending with '-' or '.')");
        return new HubModelId(parts[0], parts[1]);
    }

    private static bool IsValidPart(string part) =>
        part.Length > 0
        && part.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')
        && part[0] is not ('-' or '.') && part[^1] is not ('-' or '.')
        && !part.Contains("..", StringComparison.Ordinal) && !part.Contains("--", StringComparison.Ordinal);
}
