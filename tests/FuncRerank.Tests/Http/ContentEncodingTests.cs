using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace FuncRerank.Tests.Http;

/// <summary>
/// Bodies sent with <c>Content-Encoding</c>, against <c>funcrerank serve</c> (256 KiB body limit): gzip, deflate and br
/// are decoded and scored like the plain body; a plain body labelled gzip, a bomb that decodes past the limit, and an
/// encoding the server cannot decode each get their own error.
/// </summary>
public class ContentEncodingTests(RawSocketServerFixture fixture) : IClassFixture<RawSocketServerFixture>
{
    private const string Body = """{"query":"What is the capital of China?","documents":["Beijing is the capital of China.","Gravity pulls."]}""";

    private static byte[] Encode(string encoding, byte[] plain)
    {
        using var output = new MemoryStream();
        using (Stream compressor = encoding switch
               {
                   "gzip" => new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true),
                   "deflate" => new ZLibStream(output, CompressionLevel.SmallestSize, leaveOpen: true),
                   "br" => new BrotliStream(output, CompressionLevel.SmallestSize, leaveOpen: true),
                   _ => throw new ArgumentOutOfRangeException(nameof(encoding)),
               })
            compressor.Write(plain);
        return output.ToArray();
    }

    private async Task<(HttpStatusCode Status, JsonNode Body, HttpResponseMessage Response)> Post(byte[] body, params string[] encodings)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        foreach (var encoding in encodings)
            content.Headers.ContentEncoding.Add(encoding);
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/rerank") { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", RawSocketServerFixture.Key);
        var response = await fixture.Server.Client.SendAsync(request);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!, response);
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    [InlineData("br")]
    public async Task An_encoded_body_is_scored_as_the_plain_one(string encoding)
    {
        var plain = await Post(Encoding.UTF8.GetBytes(Body));
        var encoded = await Post(Encode(encoding, Encoding.UTF8.GetBytes(Body)), encoding);

        Assert.Equal(HttpStatusCode.OK, plain.Status);
        Assert.True(encoded.Status == HttpStatusCode.OK, encoded.Body.ToJsonString());
        Assert.Equal(plain.Body["results"]!.ToJsonString(), encoded.Body["results"]!.ToJsonString());
    }

    [Fact]
    public async Task A_plain_body_labelled_gzip_is_a_400_that_says_so()
    {
        var (status, body, _) = await Post(Encoding.UTF8.GetBytes(Body), "gzip");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("unreadable_body", body["error"]!["code"]!.GetValue<string>());
        Assert.Contains("labelled Content-Encoding: gzip but is not gzip data", body["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_compression_bomb_is_a_413_once_its_decoded_bytes_pass_the_limit()
    {
        // 16 MiB of JSON whitespace inside a valid body: a few KiB of gzip, 64 times the 256 KiB limit once decoded.
        var plain = Encoding.UTF8.GetBytes("""{"query":"q","documents":["d"]""" + new string(' ', 16 * 1024 * 1024) + "}");
        var bomb = Encode("gzip", plain);
        Assert.True(bomb.Length < RawSocketServerFixture.MaxRequestBytes, $"the bomb is {bomb.Length} bytes on the wire");

        var (status, body, _) = await Post(bomb, "gzip");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal($"the request body exceeds the limit of {RawSocketServerFixture.MaxRequestBytes} bytes once decoded from gzip",
            body["message"]!.GetValue<string>());
        using var health = await fixture.Server.Client.GetAsync("health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Theory]
    [InlineData("zstd")]
    [InlineData("compress")]
    [InlineData("gzip", "br")]
    public async Task An_encoding_the_server_cannot_decode_is_a_415_naming_those_it_can(params string[] encodings)
    {
        var (status, body, response) = await Post(Encoding.UTF8.GetBytes(Body), encodings);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
        Assert.Equal("unsupported_content_encoding", body["error"]!["code"]!.GetValue<string>());
        Assert.Contains("one of: gzip, deflate, br", body["message"]!.GetValue<string>());
        Assert.Equal("gzip, deflate, br", string.Join(", ", response.Headers.GetValues("Accept-Encoding")));
    }

    [Fact]
    public async Task Identity_is_no_encoding()
    {
        var (status, _, _) = await Post(Encoding.UTF8.GetBytes(Body), "identity");
        Assert.Equal(HttpStatusCode.OK, status);
    }
}
