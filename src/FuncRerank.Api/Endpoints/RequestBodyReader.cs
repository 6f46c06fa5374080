using System.Buffers;
using System.IO.Compression;
using FuncRerank.Api.Contract;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace FuncRerank.Api.Endpoints;

/// <summary>
/// A request body as the bytes the client meant: decoded from its <c>Content-Encoding</c> (gzip, deflate, br), with the
/// byte limit counted on the decoded bytes, so a small compressed body that expands without end (a compression bomb)
/// gets 413 after at most the limit, never the memory. An encoding it cannot decode is a 415 naming those it can.
/// </summary>
internal static class RequestBodyReader
{
    /// <summary>What <c>Content-Encoding</c> may say; <c>deflate</c> is the zlib format, as HTTP defines it.</summary>
    public static IReadOnlyList<string> SupportedEncodings { get; } = ["gzip", "deflate", "br"];

    public static async Task<ReadOnlyMemory<byte>> ReadAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        var encoding = Encoding(request);
        await using var decoded = encoding switch
        {
            null => null,
            "gzip" or "x-gzip" => new GZipStream(request.Body, CompressionMode.Decompress, leaveOpen: true),
            "deflate" => new ZLibStream(request.Body, CompressionMode.Decompress, leaveOpen: true),
            "br" => (Stream)new BrotliStream(request.Body, CompressionMode.Decompress, leaveOpen: true),
            _ => throw new ApiException(ApiError.UnsupportedEncoding(encoding, SupportedEncodings)),
        };
        var source = decoded ?? request.Body;
        var buffer = new ArrayBufferWriter<byte>();
        try
        {
            while (true)
            {
                var read = await source.ReadAsync(buffer.GetMemory(64 * 1024), cancellationToken);
                if (read == 0)
                    break;
                buffer.Advance(read);
                if (buffer.WrittenCount > limit)
                    throw new ApiException(ApiError.RequestTooLarge(limit, encoding));
            }
        }
        catch (InvalidDataException) when (encoding is not null)
        {
            throw new ApiException(ApiError.BadRequest(null, ApiErrorCodes.UnreadableBody,
                $"the request body is labelled Content-Encoding: {encoding} but is not {encoding} data; send it as is, without the header, or encode it"));
        }

        return buffer.WrittenMemory;
    }

    /// <summary>The one coding applied, lower-cased; null for none or <c>identity</c>. Several codings at once are refused.</summary>
    private static string? Encoding(HttpRequest request)
    {
        var codings = request.Headers[HeaderNames.ContentEncoding].SelectMany(v => (v ?? "").Split(','))
            .Select(c => c.Trim().ToLowerInvariant()).Where(c => c.Length > 0 && c != "identity").ToArray();
        return codings.Length switch
        {
            0 => null,
            1 => codings[0],
            _ => throw new ApiException(ApiError.UnsupportedEncoding(string.Join(", ", codings), SupportedEncodings)),
        };
    }
}
