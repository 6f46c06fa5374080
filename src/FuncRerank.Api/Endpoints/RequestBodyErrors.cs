using FuncRerank.Api.Contract;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace FuncRerank.Api.Endpoints;

/// <summary>The body limit as the server enforces it, and the server's body errors as the one error body.</summary>
internal static class RequestBodyErrors
{
    /// <summary>
    /// Makes the server's own body limit the configured one (Kestrel's default is 30,000,000 bytes, below the
    /// 32 MiB default of <c>Reranker:MaxRequestBytes</c>); the handler counts the bytes itself as well.
    /// </summary>
    public static void ApplyLimit(HttpContext context, long limit)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
            feature.MaxRequestBodySize = limit;
    }

    /// <summary>
    /// A body the server could not read: over the byte limit (413), cut short by the client, sent too slowly, and
    /// the like. Each is the client's doing, so a 4xx with the server's own (safe) message, never a 500.
    /// </summary>
    public static ApiError From(BadHttpRequestException exception, long limit) =>
        exception.StatusCode == StatusCodes.Status413PayloadTooLarge
            ? ApiError.RequestTooLarge(limit)
            : ApiError.BadRequest(null, ApiErrorCodes.UnreadableBody, $"the request body could not be read: {exception.Message}")
                with { Status = exception.StatusCode is >= 400 and < 500 ? exception.StatusCode : StatusCodes.Status400BadRequest };
}
