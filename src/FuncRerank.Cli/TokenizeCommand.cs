using System.CommandLine;
using FuncRerank.Model;
using FuncRerank.Prompting;
using FuncRerank.Tokenization;

namespace FuncRerank.Cli;

internal static class TokenizeCommand
{
    public static Command Create()
    {
        var model = CliOptions.Model();
        var maxLength = CliOptions.MaxLength();
        var command = new Command("tokenize",
            "Read JSONL on stdin: {\"text\"} gives the text's ids (no special tokens added); {\"query\", \"document\", \"instruction\"?} " +
            "gives the full reranker prompt's ids after truncation. Prints {\"ids\": [...]} per line, in order.") { model, maxLength };
        command.SetAction(result => CommandRunner.Run(() =>
        {
            var directory = result.GetValue(model)!;
            var tokenizerPath = Path.Combine(directory, "tokenizer.json");
            if (!File.Exists(tokenizerPath))
                throw new ModelFormatException($"{directory}: tokenizer.json is missing");
            var tokenizer = Qwen3Tokenizer.Load(tokenizerPath);
            var prompt = new RerankPrompt(tokenizer, result.GetValue(maxLength));
            using var output = JsonLines.StandardOutput();
            JsonLines.Transform(JsonLines.StandardInput(), output, (line, number) =>
            {
                if (line.TryGetProperty("text", out _))
                    return new { ids = tokenizer.EncodeToIds(JsonLines.RequiredString(line, "text", number)) };
                var query = JsonLines.RequiredString(line, "query", number);
                var document = JsonLines.RequiredString(line, "document", number);
                return new { ids = prompt.Build(query, document, JsonLines.OptionalString(line, "instruction", number)) };
            });
            return 0;
        }));
        return command;
    }
}
