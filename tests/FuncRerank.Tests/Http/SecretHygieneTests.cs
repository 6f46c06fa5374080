using System.Net;
using System.Net.Http.Headers;
using System.Text;
using FuncRerank.Api.Endpoints;
using FuncRerank.Api.Hosting;
using FuncRerank.Launcher;
using FuncRerank.Tests.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FuncRerank.Tests.Http;

/// <summary>
/// <c>funcrerank serve</c> logging at Debug, with keys: whatever clients send, right or wrong, in headers or in the
/// query string, no key and no query or document text reaches the log, and no error body echoes a key.
/// </summary>
public sealed class SecretHygieneTests
{
    private const string FirstKey = "first-secret-key-Zq81";
    private const string SecondKey = "second-secret-key-Px42";
    private const string WrongKey = "wrong-secret-key-Lm07";
    private const string DocumentMarker = "DOCUMENT-MARKER-93c1";
    private const string QueryMarker = "QUERY-MARKER-55aa";

    private static HttpRequestMessage Post(string path, string body, Action<HttpRequestMessage>? authorize = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        authorize?.Invoke(request);
        return request;
    }

    [Fact]
    public async Task No_key_and_no_request_text_is_ever_logged_or_echoed()
    {
        using var server = await StandaloneServer.StartAsync(new Dictionary<string, string?>
        {
            ["Reranker__ApiKeys"] = $"{FirstKey},{SecondKey}",
            ["Logging__LogLevel__Default"] = "Debug",
            ["Logging__LogLevel__Microsoft"] = "Debug",
            ["Logging__LogLevel__Microsoft.AspNetCore"] = "Debug",
        }, waitUntilReady: true, "--model", RepoFiles.Checkpoint("tiny-f32-tied"), "--cache", ScratchDirectory.SharedBuildCache);

        var rerank = $$"""{"query":"{{QueryMarker}}","documents":["{{DocumentMarker}} one","{{DocumentMarker}} two"],"top_n":1}""";
        var sent = new List<(HttpRequestMessage Request, HttpStatusCode Expected)>
        {
            (Post("v1/rerank", rerank, r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", FirstKey)), HttpStatusCode.OK),
            (Post("v1/rerank", rerank, r => r.Headers.Add("x-api-key", SecondKey)), HttpStatusCode.OK),
            (Post($"v1/rerank?code={FirstKey}", rerank), HttpStatusCode.OK),
            (Post($"rerank?api-version=1&code={SecondKey}&x=1", rerank), HttpStatusCode.OK),
            (Post($"score?code={FirstKey}", $$"""{"text_1":"{{QueryMarker}}","text_2":["{{DocumentMarker}}"]}"""), HttpStatusCode.OK),
            (Post($"tokenize?code={FirstKey}", $$"""{"inputs":"{{DocumentMarker}}"}"""), HttpStatusCode.OK),
            (Post($"v1/rerank?code={FirstKey}", $$"""{"query":"{{QueryMarker}}","documents":["{{DocumentMarker}}"],"top_n":"{{DocumentMarker}}"}"""), HttpStatusCode.BadRequest),
            (Post($"v1/rerank?code={FirstKey}", $$"""{"query":"{{QueryMarker}}","documents":["{{DocumentMarker}}" """), HttpStatusCode.BadRequest),
            (Post("v1/rerank", rerank, r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", WrongKey)), HttpStatusCode.Unauthorized),
            (Post($"v1/rerank?code={WrongKey}", rerank), HttpStatusCode.Unauthorized),
            (Post("v1/rerank", rerank, r => r.Headers.Add("x-functions-key", WrongKey)), HttpStatusCode.Unauthorized),
            (Post($"v1/rerank?code={WrongKey}", rerank, r => r.Headers.Add("api-key", $"{FirstKey}x")), HttpStatusCode.Unauthorized),
            (new HttpRequestMessage(HttpMethod.Get, $"info?code={WrongKey}"), HttpStatusCode.Unauthorized),
            (new HttpRequestMessage(HttpMethod.Get, $"v1/models?code={FirstKey}"), HttpStatusCode.OK),
            (new HttpRequestMessage(HttpMethod.Get, $"health?code={SecondKey}"), HttpStatusCode.OK),
            (new HttpRequestMessage(HttpMethod.Get, $"no/such/route?code={FirstKey}"), HttpStatusCode.NotFound),
        };

        foreach (var (request, expected) in sent)
        {
            var target = request.RequestUri!.ToString();
            using var response = await server.Client.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(expected == response.StatusCode, $"{target}: {response.StatusCode} {body}");
            foreach (var key in new[] { FirstKey, SecondKey, WrongKey })
                Assert.DoesNotContain(key, body);
        }

        // The process logs each request when its response is done, through the console logger's queue: wait until
        // every request sent has its line, then look at everything the process wrote.
        var logLines = sent.Select(s => $"{s.Request.Method} {new Uri(server.BaseAddress, s.Request.RequestUri!).AbsolutePath} {(int)s.Expected} in ")
            .GroupBy(line => line).ToDictionary(g => g.Key, g => g.Count());
        await Poll.UntilAsync(() => logLines.All(l => server.Output.Split(l.Key).Length - 1 >= l.Value), "a request log line for every request");
        var output = server.Output;
        Assert.Contains("dbug:", output); // really at Debug: the assertions below are not vacuous
        Assert.Contains("POST /v1/rerank 200 in", output); // the request log replaces ASP.NET Core's lines, without the query
        Assert.Contains("POST /v1/rerank 401 in", output);
        foreach (var secret in new[] { FirstKey, SecondKey, WrongKey, DocumentMarker, QueryMarker })
            Assert.False(output.Contains(secret, StringComparison.Ordinal), $"the log contains {secret}:\n{output}");
    }

    /// <summary>The Functions worker gets the same rule from AddFuncRerank, and configuration cannot lift it.</summary>
    [Fact]
    public void AspNetCores_url_logging_stays_off_even_when_configuration_asks_for_it()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Trace",
            [$"Logging:LogLevel:{RequestLog.HostingDiagnosticsCategory}"] = "Trace",
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.AddConfiguration(configuration.GetSection("Logging")).AddProvider(new ListLoggerProvider()));
        services.AddFuncRerank(configuration);
        using var provider = services.BuildServiceProvider();
        var factory = provider.GetRequiredService<ILoggerFactory>();

        var hosting = factory.CreateLogger(RequestLog.HostingDiagnosticsCategory);
        Assert.False(hosting.IsEnabled(LogLevel.Information));
        Assert.True(hosting.IsEnabled(LogLevel.Warning));
        Assert.True(factory.CreateLogger("Microsoft.AspNetCore.Routing").IsEnabled(LogLevel.Trace));
        Assert.True(factory.CreateLogger(RequestLog.Category).IsEnabled(LogLevel.Information));
    }

    private sealed class ListLoggerProvider : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new ListLogger();

        public void Dispose()
        {
        }
    }
}
