using System.Text.Encodings.Web;
using System.Text.Json;

namespace FuncRerank.Api.Contract;

/// <summary>Reading request bodies and the writer settings responses use.</summary>
public static class ApiJson
{
    /// <summary>
    /// Writer settings for every response: non-ASCII text (CJK documents echoed back) stays UTF-8 instead of
    /// six-byte escapes. The HTML-sensitive characters this leaves unescaped do not matter in an API body.
    /// </summary>
    public static JsonWriterOptions WriterOptions { get; } = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Parses a request body; malformed or empty JSON is a 400 that says where it broke. The caller disposes the result.</summary>
    public static JsonDocument ParseBody(ReadOnlyMemory<byte> utf8Body)
    {
        if (utf8Body.IsEmpty)
            throw new ApiException(ApiError.InvalidJson("the body is empty"));
        try
        {
            return JsonDocument.Parse(utf8Body);
        }
        catch (JsonException e)
        {
            throw new ApiException(ApiError.InvalidJson(e.Message));
        }
    }
}
