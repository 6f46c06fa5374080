using System.Text;
using System.Text.Json;

namespace FuncRerank.Cli;

/// <summary>Reads JSONL from stdin and writes one compact JSON line per input line, in order.</summary>
internal static class JsonLines
{
    public static void Transform(TextReader input, TextWriter output, Func<JsonElement, int, object> handleLine)
    {
        var lineNumber = 0;
        while (input.ReadLine() is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
                continue;
            JsonElement element;
            try
            {
                using var document = JsonDocument.Parse(line);
                element = document.RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw new UsageException($"stdin line {lineNumber}: not valid JSON ({e.Message})");
            }

            if (element.ValueKind != JsonValueKind.Object)
                throw new UsageException($"stdin line {lineNumber}: expected a JSON object");
            output.WriteLine(JsonSerializer.Serialize(handleLine(element, lineNumber)));
        }

        output.Flush();
    }

    public static string RequiredString(JsonElement line, string name, int lineNumber) =>
        OptionalString(line, name, lineNumber) ?? throw new UsageException($"stdin line {lineNumber}: \"{name}\" is required and must be a string");

    public static string? OptionalString(JsonElement line, string name, int lineNumber)
    {
        if (!line.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            return null;
        return value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : throw new UsageException($"stdin line {lineNumber}: \"{name}\" must be a string");
    }

    public static TextWriter StandardOutput() => new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = false };

    public static TextReader StandardInput() => new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false, throwOnInvalidBytes: true));
}
