using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using FuncRerank.Launcher;
using FuncRerank.Tests.TestSupport;

namespace FuncRerank.Tests.Http;

/// <summary>Bodies at the byte limit and connections that break off, against <c>funcrerank serve</c> over real sockets.</summary>
public sealed class HostileConnectionTests
{
    private const long MaxRequestBytes = 40_000_000;

    private static Task<StandaloneServer> Start() => StandaloneServer.StartAsync(new Dictionary<string, string?>
    {
        ["Reranker__MaxRequestBytes"] = MaxRequestBytes.ToString(),
        ["Reranker__ApiKeys"] = null,
    }, waitUntilReady: true, "--model", RepoFiles.Checkpoint("tiny-f32-tied"), "--cache", ScratchDirectory.SharedBuildCache);

    private static ByteArrayContent Json(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    [Fact]
    public async Task The_configured_byte_limit_is_the_one_enforced_even_above_kestrels_own_30_MB_default()
    {
        using var server = await Start();
        // 31 MB of JSON whitespace: over Kestrel's 30,000,000-byte default, under the configured 40,000,000.
        var under = Encoding.UTF8.GetBytes("""{"query":"q","documents":["d"]}""" + new string(' ', 31_000_000));
        var over = Encoding.UTF8.GetBytes("""{"query":"q","documents":["d"]}""" + new string(' ', (int)MaxRequestBytes));

        using var accepted = await server.Client.PostAsync("v1/rerank", Json(under));
        // With Expect: 100-continue the client waits for the verdict before sending 40 MB the server will not read.
        using var overRequest = new HttpRequestMessage(HttpMethod.Post, "v1/rerank") { Content = Json(over) };
        overRequest.Headers.ExpectContinue = true;
        using var refused = await server.Client.SendAsync(overRequest);

        Assert.True(accepted.StatusCode == HttpStatusCode.OK, await accepted.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
        Assert.Contains($"limit of {MaxRequestBytes} bytes", await refused.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_client_that_breaks_off_mid_body_is_no_server_error_and_the_server_serves_on()
    {
        using var server = await Start();

        const int brokenOff = 3;
        for (var i = 0; i < brokenOff; i++)
        {
            using var socket = new TcpClient();
            await socket.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port);
            var stream = socket.GetStream();
            // Expect: 100-continue makes the server say when the handler starts reading the body: break off only then,
            // so every one of these requests reaches the handler, however slowly the server gets to it.
            var head = $"POST /v1/rerank HTTP/1.1\r\nHost: {server.BaseAddress.Authority}\r\nContent-Type: application/json\r\n" +
                       "Content-Length: 5000\r\nExpect: 100-continue\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
            Assert.StartsWith("HTTP/1.1 100 Continue", await ReadHead(stream).WaitAsync(Poll.Patience));
            await stream.WriteAsync(Encoding.ASCII.GetBytes("""{"query":"q","documents":["""));
            await stream.FlushAsync();
            socket.Client.Shutdown(SocketShutdown.Both);
        }

        using var health = await server.Client.GetAsync("health");
        using var rerank = await server.Client.PostAsync("v1/rerank", new StringContent("""{"query":"q","documents":["d"]}"""));
        // The request log line is written when a response is done: wait for all four.
        await Poll.UntilAsync(() => Count(server.Output, "POST /v1/rerank ") == brokenOff + 1, "the request log lines of all four requests");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.OK, rerank.StatusCode);
        Assert.DoesNotContain("fail:", server.Output);
        Assert.DoesNotContain("crit:", server.Output);
        Assert.Equal(brokenOff, Count(server.Output, "POST /v1/rerank 400 in")); // answered (to nobody) as the client's error
        Assert.Equal(1, Count(server.Output, "POST /v1/rerank 200 in"));
    }

    private static int Count(string text, string part) => text.Split(part).Length - 1;

    /// <summary>Reads a response head (up to the blank line) byte by byte, leaving whatever follows unread.</summary>
    private static async Task<string> ReadHead(NetworkStream stream)
    {
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await stream.ReadAsync(one) == 0)
                break;
            head.Append((char)one[0]);
        }

        return head.ToString();
    }

    [Fact]
    public async Task A_request_id_that_cannot_be_echoed_as_a_header_is_replaced_not_a_500()
    {
        using var server = await Start();

        foreach (var id in new[] { "caf\u00e9-\u4e2d", "tab\tinside", "ok-id-42" })
        {
            var response = await RawPost(server, $"X-Request-Id: {id}\r\n", """{"query":"q","documents":["d"]}""");

            Assert.StartsWith("HTTP/1.1 200", response);
            var echoed = response.Split("\r\n").Single(l => l.StartsWith("X-Request-Id:", StringComparison.OrdinalIgnoreCase))["X-Request-Id:".Length..].Trim();
            if (id == "ok-id-42")
                Assert.Equal(id, echoed);
            else
                Assert.Matches("^[0-9a-f]{32}$", echoed);
        }

        Assert.DoesNotContain("fail:", server.Output);
    }

    /// <summary>One HTTP/1.1 request written byte for byte (headers as UTF-8, which HttpClient refuses to send); returns the response text.</summary>
    private static async Task<string> RawPost(StandaloneServer server, string extraHeaders, string body)
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port);
        var stream = socket.GetStream();
        var bodyBytes = Encoding.UTF8.GetBytes(body);
        var head = $"POST /v1/rerank HTTP/1.1\r\nHost: {server.BaseAddress.Authority}\r\nContent-Type: application/json\r\n" +
                   $"Content-Length: {bodyBytes.Length}\r\nConnection: close\r\n{extraHeaders}\r\n";
        await stream.WriteAsync(Encoding.UTF8.GetBytes(head).Concat(bodyBytes).ToArray());
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync();
    }
}
