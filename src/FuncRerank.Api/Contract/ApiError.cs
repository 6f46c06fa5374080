using System.Text.Json;

namespace FuncRerank.Api.Contract;

/// <summary>
/// One failed request: the HTTP status and the body every client parser can read. The host adds the headers
/// that go with some statuses (<c>WWW-Authenticate</c> on 401, <c>Retry-After</c> on 429 and 503).
/// </summary>
/// <param name="Param">The request field at fault (<c>documents[3].content[0]</c>), or null when no single field is.</param>
public sealed record ApiError(int Status, string Message, string? Param, string Code, string Type)
{
    /// <summary>
    /// Writes <c>{"error": {"message", "type", "param", "code"}, "message", "detail"}</c>: OpenAI, vLLM and Infinity
    /// clients read <c>error.*</c>, the Cohere SDK reads <c>message</c>, Jina-, Xinference-, LangChain- and
    /// LlamaIndex-style clients read <c>detail</c>. The one body serves them all.
    /// </summary>
    public void WriteBody(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteStartObject("error");
        writer.WriteString("message", Message);
        writer.WriteString("type", Type);
        writer.WriteString("param", Param);
        writer.WriteString("code", Code);
        writer.WriteEndObject();
        writer.WriteString("message", Message);
        writer.WriteString("detail", Message);
        writer.WriteEndObject();
    }

    /// <summary>400 for a request field that is missing, mistyped or out of range.</summary>
    public static ApiError BadRequest(string? param, string code, string message) =>
        new(400, message, param, code, ApiErrorTypes.InvalidRequest);

    public static ApiError MissingField(string param) =>
        BadRequest(param, ApiErrorCodes.MissingField, $"{param} is required");

    /// <param name="expected">What the field must be, as a phrase: "a string", "an array of strings".</param>
    public static ApiError InvalidType(string param, string expected, JsonElement actual) =>
        BadRequest(param, ApiErrorCodes.InvalidType, $"{param} must be {expected}; got {Describe(actual)}");

    public static ApiError InvalidJson(string detail) =>
        BadRequest(null, ApiErrorCodes.InvalidJson, $"the request body is not valid JSON: {detail}");

    /// <summary>401; the host adds <c>WWW-Authenticate: Bearer</c>.</summary>
    public static ApiError Unauthorized(string message) =>
        new(401, message, null, ApiErrorCodes.InvalidApiKey, ApiErrorTypes.Authentication);

    public static ApiError NotFound(string message) =>
        new(404, message, null, ApiErrorCodes.NotFound, ApiErrorTypes.InvalidRequest);

    /// <summary>404 for a <c>model</c> this server does not serve, listing the names it does.</summary>
    public static ApiError ModelNotFound(string model, IEnumerable<string> servedModels) =>
        new(404, $"the model `{model}` does not exist; this server serves: {string.Join(", ", servedModels)}", "model",
            ApiErrorCodes.ModelNotFound, ApiErrorTypes.InvalidRequest);

    /// <param name="encoding">The body's <c>Content-Encoding</c>, when the limit was passed decoding it.</param>
    public static ApiError RequestTooLarge(long limitBytes, string? encoding = null) =>
        new(413, $"the request body exceeds the limit of {limitBytes} bytes" + (encoding is null ? "" : $" once decoded from {encoding}"),
            null, ApiErrorCodes.RequestTooLarge, ApiErrorTypes.InvalidRequest);

    /// <summary>429; the host adds <c>Retry-After</c>.</summary>
    public static ApiError TooManyRequests(string message) =>
        new(429, message, null, ApiErrorCodes.TooManyRequests, ApiErrorTypes.RateLimit);

    /// <summary>503 while the model loads or warms; the host adds <c>Retry-After</c> (LlamaIndex and others retry 503).</summary>
    public static ApiError Unavailable(string message) =>
        new(503, message, null, ApiErrorCodes.ServiceUnavailable, ApiErrorTypes.Server);

    public static ApiError DeadlineExceeded(TimeSpan limit) =>
        new(504, $"the request did not finish within {limit.TotalSeconds:0.###} s", null, ApiErrorCodes.DeadlineExceeded, ApiErrorTypes.Server);

    /// <summary>
    /// An error for a status the server chose without a handler (no route, wrong method, a request Kestrel could not
    /// read): its code and type follow the status, the message says what happened.
    /// </summary>
    public static ApiError ForStatus(int status, string message)
    {
        var code = status switch
        {
            400 => ApiErrorCodes.MalformedRequest,
            404 => ApiErrorCodes.NotFound,
            405 => ApiErrorCodes.MethodNotAllowed,
            408 => ApiErrorCodes.RequestTimeout,
            411 => ApiErrorCodes.LengthRequired,
            413 => ApiErrorCodes.RequestTooLarge,
            414 => ApiErrorCodes.UriTooLong,
            415 => ApiErrorCodes.UnsupportedEncoding,
            431 => ApiErrorCodes.HeadersTooLarge,
            500 => ApiErrorCodes.InternalError,
            _ => $"http_{status}",
        };
        return new(status, message, null, code, status >= 500 ? ApiErrorTypes.Server : ApiErrorTypes.InvalidRequest);
    }

    /// <summary>415 for a <c>Content-Encoding</c> the server cannot decode, naming those it can.</summary>
    public static ApiError UnsupportedEncoding(string encoding, IEnumerable<string> supported) =>
        new(415, $"Content-Encoding {encoding} is not supported; send the body as is (identity) or encoded with one of: {string.Join(", ", supported)}",
            null, ApiErrorCodes.UnsupportedEncoding, ApiErrorTypes.InvalidRequest);

    /// <summary>500. The default message says nothing about internals; pass one only when it is safe to show any caller.</summary>
    public static ApiError Internal(string message = "internal server error") =>
        new(500, message, null, ApiErrorCodes.InternalError, ApiErrorTypes.Server);

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null => "null",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Number => $"the number {value.GetRawText()}",
        JsonValueKind.String => QuoteShort(value),
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "nothing",
    };

    /// <summary>A short string as the client wrote it, escapes and all; a long one, or one that is not UTF-8, is only named.</summary>
    private static string QuoteShort(JsonElement value)
    {
        try
        {
            return value.GetRawText() is { Length: <= 42 } raw ? $"the string {raw}" : "a long string";
        }
        catch (InvalidOperationException)
        {
            return "a string that is not UTF-8";
        }
    }
}
