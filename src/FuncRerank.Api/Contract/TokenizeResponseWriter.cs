using System.Text.Json;

namespace FuncRerank.Api.Contract;

/// <summary>Writes TEI's <c>/tokenize</c> answer: one array of tokens per input, even for a single string input.</summary>
public static class TokenizeResponseWriter
{
    /// <param name="tokens">One list per <see cref="TokenizeRequest.Inputs"/> entry, in order.</param>
    public static void Write(Utf8JsonWriter writer, IReadOnlyList<IReadOnlyList<SimpleToken>> tokens)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(tokens);
        writer.WriteStartArray();
        foreach (var input in tokens)
        {
            writer.WriteStartArray();
            foreach (var token in input)
            {
                writer.WriteStartObject();
                writer.WriteNumber("id", token.Id);
                writer.WriteString("text", token.Text);
                writer.WriteBoolean("special", token.Special);
                // Character offsets are not tracked: TEI marks them optional, and null is what it sends without them.
                writer.WriteNull("start");
                writer.WriteNull("stop");
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        writer.WriteEndArray();
    }
}
