using System.Text;
using System.Text.Json;

namespace FuncRerank.Api.Contract;

/// <summary>Places in a JSON text, for errors that name them: where it first nests deeper than a limit, and what holds a given byte.</summary>
internal static class JsonNesting
{
    private const int MaxPathSegments = 8;
    private const int MaxNameLength = 40;

    /// <param name="Field">The top-level field the deep value is under, or null when the body is an array.</param>
    /// <param name="Path">Where the limit was first exceeded, shortened after a few segments: <c>documents[0].meta.a…</c>.</param>
    /// <param name="Depth">How deep the text nests in all, up to its end or to where it stops being JSON.</param>
    public sealed record TooDeep(string? Field, string Path, int Depth);

    /// <summary>One open array or object: the array's current index, or the object's current property name.</summary>
    private sealed class Frame(bool isArray)
    {
        public bool IsArray { get; } = isArray;

        public int Index { get; set; } = -1;

        public string Name { get; set; } = "";
    }

    /// <summary>
    /// Null when <paramref name="json"/> stays within <paramref name="maxDepth"/> up to its end or its first syntax
    /// error, whichever comes first (the parser then failed for another reason). Reads without recursion, so any depth is safe.
    /// </summary>
    public static TooDeep? FindTooDeep(ReadOnlySpan<byte> json, int maxDepth)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = int.MaxValue });
        var open = new List<Frame>();
        (string? Field, string Path)? first = null;
        var deepest = 0;
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        open[^1].Name = NameOf(ref reader);
                        break;
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        StartValue(open);
                        if (open.Count + 1 > maxDepth && first is null)
                            first = (open is [{ IsArray: false } top, ..] ? top.Name : null, Render(open));
                        open.Add(new Frame(reader.TokenType == JsonTokenType.StartArray));
                        deepest = Math.Max(deepest, open.Count);
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        open.RemoveAt(open.Count - 1);
                        break;
                    default:
                        StartValue(open);
                        break;
                }
            }
        }
        catch (JsonException)
        {
            // The rest is not JSON; the depth reached so far is what the client sent.
        }

        return first is { } f ? new TooDeep(f.Field, f.Path, deepest) : null;
    }

    /// <summary>
    /// The path of the value that holds byte <paramref name="offset"/> (<c>documents[0].meta</c>), or of the object whose
    /// property name holds it (null for the body's own names); null past the text's end or its first syntax error.
    /// </summary>
    public static string? PathAt(ReadOnlySpan<byte> json, long offset)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = int.MaxValue });
        var open = new List<Frame>();
        try
        {
            while (reader.Read())
            {
                var holds = reader.BytesConsumed > offset;
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName when holds:
                        return open.Count > 1 ? Render(open.GetRange(0, open.Count - 1)) : null;
                    case JsonTokenType.PropertyName:
                        open[^1].Name = NameOf(ref reader);
                        break;
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        StartValue(open);
                        open.Add(new Frame(reader.TokenType == JsonTokenType.StartArray));
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        open.RemoveAt(open.Count - 1);
                        break;
                    default:
                        StartValue(open);
                        if (holds)
                            return Render(open);
                        break;
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON from here on; the parser names that.
        }

        return null;
    }

    private static void StartValue(List<Frame> open)
    {
        if (open is [.., { IsArray: true } array])
            array.Index++;
    }

    private static string NameOf(ref Utf8JsonReader reader)
    {
        try
        {
            var name = reader.GetString() ?? "";
            return name.Length > MaxNameLength ? name[..MaxNameLength] + "…" : name;
        }
        catch (InvalidOperationException)
        {
            return "?"; // Not text (an unpaired surrogate escape); it is only named here, never read.
        }
    }

    private static string Render(List<Frame> open)
    {
        if (open.Count == 0)
            return "the top level";
        var text = new StringBuilder();
        foreach (var frame in open.Take(MaxPathSegments))
        {
            if (frame.IsArray)
                text.Append('[').Append(frame.Index).Append(']');
            else
                text.Append(text.Length == 0 ? "" : ".").Append(frame.Name);
        }

        return open.Count > MaxPathSegments ? text.Append('…').ToString() : text.ToString();
    }
}
