using System.CommandLine;
using FuncRerank.Model;
using Microsoft.Extensions.Logging;

namespace FuncRerank.Cli;

/// <summary>The checkpoint a command works on: a directory (<c>--model</c>) or a Hub model id (<c>--model-id</c>), exactly one.</summary>
internal sealed class ModelSource(string directoryDescription)
{
    public Option<string?> Directory { get; } = new("--model") { Description = directoryDescription };

    public Option<string?> Id { get; } = new("--model-id")
    {
        Description = "A Hugging Face model id such as Qwen/Qwen3-Reranker-0.6B, downloaded once into the Hub cache " +
                      "($HF_HUB_CACHE, else $HF_HOME/hub, else hub/ in $FUNCRERANK_CACHE or ~/.cache/funcrerank); $HF_TOKEN for gated models, $HF_ENDPOINT for a mirror",
    };

    /// <summary>The directory to read: <c>--model</c> as given, or the Hub snapshot of <c>--model-id</c>, downloaded if needed.</summary>
    public string Resolve(ParseResult result, ILogger logger, ConsoleProgress progress)
    {
        var directory = result.GetValue(Directory);
        var id = result.GetValue(Id);
        if ((directory is null) == (id is null))
            throw new UsageException("give either --model DIR or --model-id ID (exactly one of them)");
        var location = directory is not null ? ModelLocation.Local(directory) : HubLocation(id!);
        return location.Resolve(progress, logger);
    }

    /// <summary>A <c>--model-id</c> as a Hub location; one that is not an <c>owner/name</c> id is a usage error.</summary>
    public static ModelLocation HubLocation(string id)
    {
        try
        {
            return ModelLocation.Hub(id);
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"--model-id: {e.Message}");
        }
    }
}
