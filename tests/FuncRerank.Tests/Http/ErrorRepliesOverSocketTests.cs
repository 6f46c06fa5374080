using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using FuncRerank.Launcher;
using FuncRerank.Tests.TestSupport;

namespace FuncRerank.Tests.Http;

/// <summary>A <c>funcrerank serve</c> with keys and a 2 s header timeout (set as an operator sets Kestrel's limits), for raw-socket tests.</summary>
public sealed class RawSocketServerFixture : IAsyncLifetime
{
    public const string Key = "raw-socket-key-0123";
    public const long MaxRequestBytes = 256 * 1024;

    public StandaloneServer Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await StandaloneServer.StartAsync(new Dictionary<string, string?>
        {
            ["Reranker__ApiKeys"] = Key,
            ["Reranker__MaxRequestBytes"] = MaxRequestBytes.ToString(),
            ["Kestrel__Limits__RequestHeadersTimeout"] = "00:00:02",
        }, waitUntilReady: true, "--model", RepoFiles.Checkpoint(ServedModelFixture.Checkpoint), "--cache", RepoFiles.NewTemporaryDirectory());
    }

    public Task DisposeAsync()
    {
        Server.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>
/// Every reply that is not a success, whoever chose its status (the handlers, routing, or Kestrel itself before any
/// middleware), carries the one error body and an <c>X-Request-Id</c>, and no reply names the server software. Sent
/// byte for byte over a TCP socket, as HttpClient cannot send most of these requests. Run alone: one test keeps the
/// model busy for seconds, and another waits on a 2 s header timeout.
/// </summary>
[Collection(LoadHeavyCollection.Name)]
public class ErrorRepliesOverSocketTests(RawSocketServerFixture fixture) : IClassFixture<RawSocketServerFixture>
{
    private const string Rerank = """{"query":"q","documents":["d"]}""";

    /// <summary>A reply as it came off the wire.</summary>
    internal sealed record RawReply(int Status, Dictionary<string, string> Headers, string Body)
    {
        public JsonNode Json => JsonNode.Parse(Body)!;
    }

    /// <summary>
    /// Writes <paramref name="request"/> as is and reads until the server closes (<c>Connection: close</c>, or a request
    /// the server rejects) or <paramref name="patience"/> runs out. The socket is not half-closed: Kestrel takes that as
    /// the client leaving.
    /// </summary>
    internal static async Task<RawReply> Send(StandaloneServer server, byte[] request, TimeSpan? patience = null)
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port);
        var stream = socket.GetStream();
        await stream.WriteAsync(request);
        using var timeout = new CancellationTokenSource(patience ?? TimeSpan.FromSeconds(30));
        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0)
                received.Write(buffer, 0, read);
        }
        catch (IOException) when (received.Length > 0)
        {
            // A reset after the reply: Kestrel stops waiting for a body the client announced and never sent.
        }

        return Parse(Encoding.UTF8.GetString(received.ToArray()));
    }

    internal static Task<RawReply> Send(StandaloneServer server, string request, TimeSpan? patience = null) =>
        Send(server, Encoding.UTF8.GetBytes(request), patience);

    private static RawReply Parse(string response)
    {
        var headEnd = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(headEnd > 0, $"no complete response head: {response}");
        var lines = response[..headEnd].Split("\r\n");
        var headers = lines[1..].Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
        return new RawReply(int.Parse(lines[0].Split(' ')[1]), headers, response[(headEnd + 4)..]);
    }

    private string Head(string method, string target, string extra = "") =>
        $"{method} {target} HTTP/1.1\r\nHost: {fixture.Server.BaseAddress.Authority}\r\n{extra}";

    private string Post(string target, string body, string extra = "") =>
        Head("POST", target, $"Content-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n{extra}") + "\r\n" + body;

    /// <summary>The one error body (<c>error.*</c>, <c>message</c>, <c>detail</c>), its length, its type and a request id.</summary>
    private static void AssertErrorReply(RawReply reply, int status, string code)
    {
        Assert.True(reply.Status == status, $"expected {status}, got {reply.Status}: {reply.Body}");
        Assert.StartsWith("application/json", reply.Headers["Content-Type"]);
        Assert.Equal(Encoding.UTF8.GetByteCount(reply.Body), int.Parse(reply.Headers["Content-Length"]));
        Assert.Matches("^[0-9a-f]{32}$", reply.Headers["X-Request-Id"]);
        Assert.False(reply.Headers.ContainsKey("Server"));
        var body = reply.Json;
        Assert.Equal(code, body["error"]!["code"]!.GetValue<string>());
        var message = body["error"]!["message"]!.GetValue<string>();
        Assert.False(string.IsNullOrWhiteSpace(message));
        Assert.Equal(message, body["message"]!.GetValue<string>());
        Assert.Equal(message, body["detail"]!.GetValue<string>());
        Assert.Equal(status >= 500 ? "server_error" : status == 401 ? "authentication_error" : "invalid_request_error",
            body["error"]!["type"]!.GetValue<string>());
    }

    public static TheoryData<string, int, string> Requests => new()
    {
        // Routing: no endpoint, and an endpoint without the method.
        { "GET /no/such/endpoint HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", 404, "not_found" },
        { "GET /v1/rerank HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", 405, "method_not_allowed" },
        // Kestrel itself: a malformed header line, a request line that is not HTTP, too many header bytes, too long a target.
        { "GET /health HTTP/1.1\r\nHost: h\r\nthis is no header\r\n\r\n", 400, "malformed_request" },
        { "NOT AN HTTP REQUEST\r\n\r\n", 400, "malformed_request" },
        { $"GET /health HTTP/1.1\r\nHost: h\r\nX-Big: {new string('a', 40_000)}\r\n\r\n", 431, "headers_too_large" },
        { $"GET /{new string('a', 10_000)} HTTP/1.1\r\nHost: h\r\n\r\n", 414, "uri_too_long" },
        // The handlers: no key, and a declared body over the limit.
        { $"POST /v1/rerank HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: {Rerank.Length}\r\nConnection: close\r\n\r\n{Rerank}", 401, "invalid_api_key" },
        { $"POST /v1/rerank HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer {RawSocketServerFixture.Key}\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\nConnection: close\r\n\r\n", 413, "request_too_large" },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task Every_error_status_has_the_error_body_and_a_request_id(string request, int status, string code)
    {
        var reply = await Send(fixture.Server, request);

        AssertErrorReply(reply, status, code);
        if (status == 405)
        {
            Assert.Equal("POST", reply.Headers["Allow"]);
            Assert.Contains("GET is not allowed on /v1/rerank; allowed: POST", reply.Json["message"]!.GetValue<string>());
        }

        if (status == 431)
            Assert.Contains("limit of 32768 bytes", reply.Json["message"]!.GetValue<string>());
        Assert.False(fixture.Server.HasExited);
    }

    [Fact]
    public async Task Headers_that_stop_arriving_get_408_with_the_body_after_the_configured_timeout()
    {
        // Half a head, and the connection left open: Kestrel's header timeout (2 s here) answers.
        var reply = await Send(fixture.Server, "GET /health HTTP/1.1\r\nHost: h\r\nX-Slow: ", TimeSpan.FromSeconds(30));

        AssertErrorReply(reply, 408, "request_timeout");
        Assert.Contains("within 2 s", reply.Json["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Kestrels_own_rejections_are_in_the_request_log()
    {
        var reply = await Send(fixture.Server, "GET /health HTTP/1.1\r\nHost: h\r\nthis is no header\r\n\r\n");

        var id = reply.Headers["X-Request-Id"];
        await Poll.UntilAsync(() => fixture.Server.Output.Contains(id), "the rejection's log line");
        Assert.Contains($"- - 400 rejected by the server before routing: Bad Request (request {id})", fixture.Server.Output);
    }

    [Fact]
    public async Task A_success_names_no_server_and_echoes_the_request_id()
    {
        var reply = await Send(fixture.Server, Post("/v1/rerank", Rerank, $"Authorization: Bearer {RawSocketServerFixture.Key}\r\nX-Request-Id: my-id-7\r\nConnection: close\r\n"));

        Assert.True(reply.Status == 200, reply.Body);
        Assert.False(reply.Headers.ContainsKey("Server"));
        Assert.Equal("my-id-7", reply.Headers["X-Request-Id"]);
    }

    [Fact]
    public async Task Xinference_s_auth_probe_is_open_and_says_a_key_is_needed()
    {
        var reply = await Send(fixture.Server, Head("GET", "/v1/cluster/auth", "Connection: close\r\n\r\n"));

        Assert.Equal(200, reply.Status);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"auth": true}"""), reply.Json));
    }

    [Fact]
    public async Task Info_reports_the_enforced_limits_and_not_the_model_s_path()
    {
        var reply = await Send(fixture.Server, Head("GET", "/info", $"Authorization: Bearer {RawSocketServerFixture.Key}\r\nConnection: close\r\n\r\n"));

        Assert.Equal(200, reply.Status);
        var info = reply.Json;
        Assert.Equal(ServedModelFixture.Checkpoint, info["model_id"]!.GetValue<string>());
        Assert.DoesNotContain(RepoFiles.Checkpoint(ServedModelFixture.Checkpoint), reply.Body);
        Assert.Null(info["max_concurrent_requests"]);
        Assert.Equal(RawSocketServerFixture.MaxRequestBytes, info["max_request_bytes"]!.GetValue<long>());
        Assert.Equal(8_388_608, info["max_queued_tokens"]!.GetValue<long>());
        Assert.Equal(1000, info["max_client_batch_size"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_client_that_leaves_while_its_request_waits_is_logged_as_499_with_the_time_and_leaves_the_queue()
    {
        // Four documents of about 5,000 words, each cut to an 8,192-token prompt: seconds of work for the tiny model.
        var document = string.Concat(Enumerable.Repeat("the capital of China is Beijing and gravity pulls ", 700));
        var body = new JsonObject
        {
            ["query"] = "What is the capital of China?",
            ["documents"] = new JsonArray(Enumerable.Range(0, 4).Select(i => (JsonNode)JsonValue.Create($"{i} {document}")).ToArray()),
            ["return_documents"] = false,
        }.ToJsonString();
        using var leave = new CancellationTokenSource();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/rerank") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("Authorization", $"Bearer {RawSocketServerFixture.Key}");
        request.Headers.Add("X-Request-Id", "leaving-client-1");
        var sent = fixture.Server.Client.SendAsync(request, leave.Token);

        await Poll.UntilAsync(async () => sent.IsCompleted || await QueuedTokens() > 0, "the request reaching the queue");
        Assert.False(sent.IsCompleted, "the request finished before the client could leave");
        await leave.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sent);

        await Poll.UntilAsync(() => fixture.Server.Output.Contains("(request leaving-client-1)"), "the request's log line");
        Assert.Matches(@"POST /v1/rerank 499 in \d+(\.\d+)? ms \(request leaving-client-1\)", fixture.Server.Output);
        await Poll.UntilAsync(async () => await QueuedTokens() == 0, "the queue emptying");
    }

    private async Task<long> QueuedTokens()
    {
        using var health = await fixture.Server.Client.GetAsync("health");
        return JsonNode.Parse(await health.Content.ReadAsStringAsync())!["queue"]!["tokens"]!.GetValue<long>();
    }
}
