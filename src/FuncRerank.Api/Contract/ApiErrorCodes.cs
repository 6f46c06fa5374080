namespace FuncRerank.Api.Contract;

/// <summary>Machine-readable <c>error.code</c> values; clients branch on these, so they never change once shipped.</summary>
public static class ApiErrorCodes
{
    public const string InvalidJson = "invalid_json";
    public const string MissingField = "missing_field";
    public const string InvalidType = "invalid_type";
    public const string InvalidValue = "invalid_value";
    public const string EmptyValue = "empty_value";
    public const string TooLong = "too_long";
    public const string TooManyDocuments = "too_many_documents";
    public const string TooManyTokens = "too_many_tokens";
    public const string TooDeep = "too_deep";
    public const string UnreadableBody = "unreadable_body";
    public const string LengthMismatch = "length_mismatch";
    public const string UnsupportedContent = "unsupported_content";
    public const string InvalidApiKey = "invalid_api_key";
    public const string NotFound = "not_found";
    public const string ModelNotFound = "model_not_found";
    public const string RequestTooLarge = "request_too_large";
    public const string TooManyRequests = "too_many_requests";
    public const string ServiceUnavailable = "service_unavailable";
    public const string DeadlineExceeded = "deadline_exceeded";
    public const string InternalError = "internal_error";
    public const string MalformedRequest = "malformed_request";
    public const string MethodNotAllowed = "method_not_allowed";
    public const string RequestTimeout = "request_timeout";
    public const string LengthRequired = "length_required";
    public const string UriTooLong = "uri_too_long";
    public const string UnsupportedEncoding = "unsupported_content_encoding";
    public const string HeadersTooLarge = "headers_too_large";
}
