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
        var walk = new Walk(json);
        (string? Field, string Path)? first = null;
        var deepest = 0;
        // Past a syntax error the depth reached so far is what the client sent.
        while (walk.Read())
        {
            walk.Apply();
            if (walk.Token is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
                continue;
            deepest = Math.Max(deepest, walk.Open.Count);
            if (walk.Open.Count > maxDepth && first is null)
            {
                var enclosing = walk.Open.GetRange(0, walk.Open.Count - 1);
                first = (enclosing is [{ IsArray: false } top, ..] ? top.Name : null, Render(enclosing));
            }
        }

        return first is { } f ? new TooDeep(f.Field, f.Path, deepest) : null;
    }

    /// <summary>
    /// The path of the value that holds byte <paramref name="offset"/> (<c>documents[0].meta</c>), or of the object whose
    /// property name holds it (null for the body's own names); null past the text's end or its first syntax error.
    /// </summary>
    public static string? PathAt(ReadOnlySpan<byte> json, long offset)
    {
        var walk = new Walk(json);
        while (walk.Read())
        {
            var holds = walk.BytesConsumed > offset;
            if (holds && walk.Token == JsonTokenType.PropertyName)
                return walk.Open.Count > 1 ? Render(walk.Open.GetRange(0, walk.Open.Count - 1)) : null;
            walk.Apply();
            if (holds && walk.Token is not (JsonTokenType.StartObject or JsonTokenType.StartArray or JsonTokenType.EndObject or JsonTokenType.EndArray))
                return Render(walk.Open);
        }

        return null;
    }

    /// <summary>
    /// One forward read of a JSON text, the part both searches share: <see cref="Open"/> holds the arrays and objects
    /// around the last token applied, with each array's index and each object's current property name.
    /// </summary>
    private ref struct Walk(ReadOnlySpan<byte> json)
    {
        private Utf8JsonReader _reader = new(json, new JsonReaderOptions { MaxDepth = int.MaxValue });

        public List<Frame> Open { get; } = [];

        public readonly JsonTokenType Token => _reader.TokenType;

        public readonly long BytesConsumed => _reader.BytesConsumed;

        /// <summary>The next token, not yet applied to <see cref="Open"/>; false at the end and where the text stops being JSON (the parser names that).</summary>
        public bool Read()
        {
            try
            {
                return _reader.Read();
            }
            catch (JsonException)
            {
                return false;
            }
        }

        /// <summary>Applies the token read: a property name names its object's member, a value takes its array's next index.</summary>
        public void Apply()
        {
            switch (_reader.TokenType)
            {
                case JsonTokenType.PropertyName:
                    Open[^1].Name = NameOf(ref _reader);
                    break;
                case JsonTokenType.StartObject or JsonTokenType.StartArray:
                    StartValue();
                    Open.Add(new Frame(_reader.TokenType == JsonTokenType.StartArray));
                    break;
                case JsonTokenType.EndObject or JsonTokenType.EndArray:
                    Open.RemoveAt(Open.Count - 1);
                    break;
                default:
                    StartValue();
                    break;
            }
        }

        private readonly void StartValue()
        {
            if (Open is [.., { IsArray: true } array])
                array.Index++;
        }
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
