namespace FuncRerank.Api.Contract;

/// <summary><c>error.type</c> values, named as OpenAI-style clients expect them.</summary>
public static class ApiErrorTypes
{
    public const string InvalidRequest = "invalid_request_error";
    public const string Authentication = "authentication_error";
    public const string RateLimit = "rate_limit_error";
    public const string Server = "server_error";
}
