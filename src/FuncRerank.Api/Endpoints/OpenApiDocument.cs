using Microsoft.AspNetCore.Http;

namespace FuncRerank.Api.Endpoints;

/// <summary><c>GET /openapi.json</c>: the API's description (openapi.json beside this file, embedded in the assembly), open to everyone.</summary>
internal static class OpenApiDocument
{
    private static readonly byte[] Utf8 = Read();

    public static async Task WriteAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.Body.WriteAsync(Utf8, context.RequestAborted);
    }

    private static byte[] Read()
    {
        using var stream = typeof(OpenApiDocument).Assembly.GetManifestResourceStream("FuncRerank.Api.openapi.json")
                           ?? throw new InvalidOperationException("openapi.json is not embedded");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
