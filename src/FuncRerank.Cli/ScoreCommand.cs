using System.CommandLine;
using System.Text.Json;
using FuncRerank.Api.Hosting;
using Microsoft.Extensions.Logging;

namespace FuncRerank.Cli;

internal static class ScoreCommand
{
    public static Command Create()
    {
        var model = new ModelSource(CliOptions.ModelDescription);
        var dtype = CliOptions.Dtype();
        var device = CliOptions.Device();
        var maxLength = CliOptions.MaxLength();
        var cache = CliOptions.Cache();
        var command = new Command("score",
            "Read JSONL on stdin, {\"query\", \"documents\": [...], \"instruction\"?} per line, and print " +
            "{\"scores\": [...], \"logits\": [...]} in the documents' order (score = P(yes) = sigmoid(logit)).")
        {
            model.Directory, model.Id, dtype, device, maxLength, cache,
        };
        command.SetAction(result => CommandRunner.Run(() =>
        {
            using var logging = Logging.CreateFactory();
            var logger = logging.CreateLogger("funcrerank");
            CliOptions.ParseDtype(result.GetValue(dtype)!);
            CliOptions.ParseDevice(result.GetValue(device)!);
            var options = new RerankerSettings
            {
                Dtype = result.GetValue(dtype)!,
                Device = result.GetValue(device)!,
                MaxLength = result.GetValue(maxLength),
                CacheDirectory = result.GetValue(cache),
            }.ToRerankerOptions();
            var progress = new ConsoleProgress();
            var directory = model.Resolve(result, logger, progress);
            using var reranker = Qwen3Reranker.Load(directory, options, logger, progress);
            using var output = JsonLines.StandardOutput();
            JsonLines.Transform(JsonLines.StandardInput(), output, (line, number) =>
            {
                var query = JsonLines.RequiredString(line, "query", number);
                var instruction = JsonLines.OptionalString(line, "instruction", number);
                if (!line.TryGetProperty("documents", out var documents) || documents.ValueKind != JsonValueKind.Array)
                    throw new UsageException($"stdin line {number}: \"documents\" is required and must be an array of strings");
                var texts = documents.EnumerateArray()
                    .Select((d, i) => d.ValueKind == JsonValueKind.String
                        ? d.GetString()!
                        : throw new UsageException($"stdin line {number}: documents[{i}] must be a string"))
                    .ToArray();
                var scores = texts.Length == 0 ? [] : reranker.Score(query, texts, instruction);
                return new { scores = scores.Select(s => s.Score).ToArray(), logits = scores.Select(s => s.Logit).ToArray() };
            });
            return 0;
        }));
        return command;
    }
}
