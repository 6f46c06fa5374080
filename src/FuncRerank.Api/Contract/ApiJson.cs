using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Unicode;
using System.Text.Json;

namespace FuncRerank.Api.Contract;

/// <summary>Reading request bodies and the writer settings responses use.</summary>
public static class ApiJson
{
    /// <summary>System.Text.Json's own default; no client nests a rerank body more than about six levels deep.</summary>
    public const int DefaultMaxDepth = 64;

    /// <summary>
    /// Writer settings for every response: non-ASCII text (CJK documents echoed back) stays UTF-8 instead of
    /// six-byte escapes. The HTML-sensitive characters this leaves unescaped do not matter in an API body.
    /// </summary>
    public static JsonWriterOptions WriterOptions { get; } = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// Parses a request body; malformed or empty JSON is a 400 that says where it broke, and nesting deeper than
    /// <paramref name="maxDepth"/> arrays and objects a 400 naming the depth, the limit and where it was exceeded.
    /// The caller disposes the result.
    /// </summary>
    public static JsonDocument ParseBody(ReadOnlyMemory<byte> utf8Body, int maxDepth = DefaultMaxDepth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDepth, 1);
        // A UTF-8 byte order mark (PowerShell and some .NET clients write one) is not part of the JSON.
        if (utf8Body.Span.StartsWith("\uFEFF"u8))
            utf8Body = utf8Body[3..];
        if (utf8Body.IsEmpty)
            throw new ApiException(ApiError.InvalidJson("the body is empty"));
        // The parser checks UTF-8 only where a string is read, so bytes that are not text would pass in a field nobody
        // reads or in a property name; rejected here wherever they are, with the 400 an unpaired surrogate escape gets.
        if (!Utf8.IsValid(utf8Body.Span))
            throw new ApiException(JsonFields.NotText(JsonNesting.PathAt(utf8Body.Span, FirstInvalidUtf8(utf8Body.Span))));
        try
        {
            return JsonDocument.Parse(utf8Body, new JsonDocumentOptions { MaxDepth = maxDepth });
        }
        catch (JsonException e)
        {
            // The parser's message for depth names neither the field nor how deep the body goes; find both.
            if (JsonNesting.FindTooDeep(utf8Body.Span, maxDepth) is { } tooDeep)
                throw new ApiException(ApiError.BadRequest(tooDeep.Field, ApiErrorCodes.TooDeep,
                    $"the request body nests arrays and objects {tooDeep.Depth} levels deep at {tooDeep.Path}; the limit is {maxDepth}"));
            throw new ApiException(ApiError.InvalidJson(e.Message));
        }
    }

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> utf8)
    {
        var index = 0;
        while (index < utf8.Length && Rune.DecodeFromUtf8(utf8[index..], out _, out var consumed) == OperationStatus.Done)
            index += consumed;
        return index;
    }
}
