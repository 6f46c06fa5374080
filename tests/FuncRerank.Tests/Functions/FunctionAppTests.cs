using System.Text;
using System.Text.Json.Nodes;
using FuncRerank.Api.Endpoints;
using FuncRerank.Api.Hosting;
using FuncRerank.Api.Security;
using FuncRerank.Functions;
using FuncRerank.Tests.TestSupport;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FuncRerank.Tests.Functions;

/// <summary>The function classes (called as the Functions host calls them, with an ASP.NET Core request) and the build's metadata.</summary>
public class FunctionAppTests
{
    private static readonly Lazy<RerankHandlers> Handlers = new(() =>
    {
        var settings = new RerankerSettings { ModelPath = RepoFiles.Checkpoint("tiny-f32-tied"), ApiKeys = "function-test-key" };
        var state = new RerankerState();
        state.SetReady(Qwen3Reranker.Load(settings.ModelPath, new RerankerOptions { CacheRoot = RepoFiles.NewTemporaryDirectory() }, NullLogger.Instance));
        return new RerankHandlers(state, new ApiKeyAuthenticator(["function-test-key"]), Options.Create(settings), NullLogger<RerankHandlers>.Instance);
    });

    private static (HttpContext Context, MemoryStream Response) Request(string method, string path, string? body, string? key = "function-test-key")
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Path = "/" + path;
        if (body is not null)
            context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(body));
        if (key is not null)
            context.Request.Headers.Authorization = $"Bearer {key}";
        var response = new MemoryStream();
        context.Response.Body = response;
        return (context, response);
    }

    private static JsonNode Body(MemoryStream response) => JsonNode.Parse(Encoding.UTF8.GetString(response.ToArray()))!;

    [Fact]
    public async Task The_rerank_functions_answer_through_the_shared_handler()
    {
        var functions = new RerankFunctions(Handlers.Value);
        const string body = """{"query":"capital of China","documents":["Beijing.","Paris."]}""";
        var calls = new Func<HttpRequest, Task<IActionResult>>[] { functions.V1, functions.Root, functions.V2, functions.V1V1, functions.V1V2 };

        var replies = new List<string>();
        foreach (var call in calls)
        {
            var (context, response) = Request("POST", "v1/rerank", body);
            Assert.IsType<EmptyResult>(await call(context.Request));
            Assert.Equal(StatusCodes.Status200OK, context.Response.StatusCode);
            replies.Add(Body(response)["results"]!.ToJsonString());
        }

        Assert.Single(replies.Distinct());
    }

    [Fact]
    public async Task A_function_without_the_key_gets_the_401_body_and_header()
    {
        var (context, response) = Request("POST", "v1/rerank", """{"query":"q","documents":["d"]}""", key: null);

        await new RerankFunctions(Handlers.Value).V1(context.Request);

        Assert.Equal(StatusCodes.Status401Unauthorized, context.Response.StatusCode);
        Assert.Equal("Bearer", context.Response.Headers.WWWAuthenticate.ToString());
        Assert.Equal("invalid_api_key", Body(response)["error"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task Score_tokenize_info_models_health_and_openapi_functions_answer()
    {
        var score = new ScoreFunctions(Handlers.Value);
        var info = new InfoFunctions(Handlers.Value);
        var checks = new (Func<HttpRequest, Task<IActionResult>> Call, string Method, string? Body, string Expect)[]
        {
            (score.Score, "POST", """{"text_1":"q","text_2":["a","b"]}""", "data"),
            (score.ScoreV1, "POST", """{"text_1":"q","text_2":"a"}""", "data"),
            (score.Tokenize, "POST", """{"inputs":"hello"}""", "[["),
            (info.Info, "GET", null, "model_type"),
            (info.Models, "GET", null, "data"),
            (r => info.Model(r, "some/model"), "GET", null, "model_type"),
            (info.Health, "GET", null, "status"),
            (info.OpenApi, "GET", null, "openapi"),
        };
        foreach (var (call, method, body, expect) in checks)
        {
            var (context, response) = Request(method, "x", body);
            await call(context.Request);
            Assert.Equal(StatusCodes.Status200OK, context.Response.StatusCode);
            Assert.Contains(expect, Encoding.UTF8.GetString(response.ToArray()));
        }
    }

    [Fact]
    public void The_built_function_metadata_lists_exactly_the_shared_routes()
    {
        // functions.metadata is what the Functions host reads; the Worker SDK writes it from the [Function] attributes.
        var metadata = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "functions.metadata")))!.AsArray();
        var declared = metadata
            .Select(f => f!["bindings"]!.AsArray().Single(b => b!["type"]!.GetValue<string>() == "httpTrigger")!)
            .Select(b => (Method: b["methods"]!.AsArray().Single()!.GetValue<string>().ToUpperInvariant(), Path: b["route"]!.GetValue<string>(),
                Auth: b["authLevel"]!.GetValue<string>()))
            .ToArray();

        Assert.Equal(
            RerankRoutes.All.Select(r => (r.Method, r.Path)).Order(),
            declared.Select(d => (d.Method, d.Path)).Order());
        Assert.All(declared, d => Assert.Equal("Anonymous", d.Auth));
    }

    [Fact]
    public void Host_json_serves_the_routes_without_the_api_prefix()
    {
        var host = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "host.json")))!;
        Assert.Equal("2.0", host["version"]!.GetValue<string>());
        Assert.Equal("", host["extensions"]!["http"]!["routePrefix"]!.GetValue<string>());
    }
}
