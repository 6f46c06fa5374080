using System.Text;
using System.Text.Json.Nodes;
using FuncRerank.Api.Endpoints;
using FuncRerank.Api.Hosting;
using FuncRerank.Api.Security;
using FuncRerank.Functions;
using FuncRerank.Tests.Model;
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

    /// <summary>
    /// The routes the README documents, written out here rather than taken from the code's own list, so that a route
    /// dropped or added on either side fails (<c>{*id}</c> is the README's <c>/v1/models/{id}</c>: a catch-all, since
    /// model ids contain a slash).
    /// </summary>
    private static readonly (string Method, string Path)[] ReadmeRoutes =
    [
        ("POST", "v1/rerank"), ("POST", "rerank"), ("POST", "v2/rerank"), ("POST", "v1/v1/rerank"), ("POST", "v1/v2/rerank"),
        ("POST", "score"), ("POST", "v1/score"),
        ("POST", "tokenize"),
        ("GET", "info"), ("GET", "v1/models"), ("GET", "v1/models/{*id}"),
        ("GET", "health"),
        ("GET", "openapi.json"),
        ("GET", "v1/cluster/auth"),
    ];

    /// <summary>functions.metadata is what the Functions host reads; the Worker SDK writes it from the [Function] attributes.</summary>
    private static JsonNode[] FunctionMetadata() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "functions.metadata")))!.AsArray().Select(f => f!).ToArray();

    private static JsonNode HttpTrigger(JsonNode function) =>
        function["bindings"]!.AsArray().Single(b => b!["type"]!.GetValue<string>() == "httpTrigger")!;

    /// <summary>Calls the function that the built metadata binds to this method and route, by its entry point, as the Functions host does.</summary>
    private static async Task<(HttpContext Context, MemoryStream Response)> CallRoute(string method, string route, string? body)
    {
        var function = FunctionMetadata().Single(f => HttpTrigger(f)["route"]!.GetValue<string>() == route
            && HttpTrigger(f)["methods"]!.AsArray().Single()!.GetValue<string>().Equals(method, StringComparison.OrdinalIgnoreCase));
        var entryPoint = function["entryPoint"]!.GetValue<string>();
        var type = typeof(ScoreFunctions).Assembly.GetType(entryPoint[..entryPoint.LastIndexOf('.')], throwOnError: true)!;
        var call = type.GetMethod(entryPoint[(entryPoint.LastIndexOf('.') + 1)..])!;
        var (context, response) = Request(method, route, body);
        Assert.IsType<EmptyResult>(await (Task<IActionResult>)call.Invoke(Activator.CreateInstance(type, Handlers.Value), [context.Request])!);
        return (context, response);
    }

    [Theory]
    [InlineData("score")]
    [InlineData("v1/score")]
    public async Task The_score_routes_give_the_torch_reference_scores_in_input_order(string route)
    {
        var checkpoint = ReferenceCheckpoint.Load("tiny-f32-tied");
        var group = checkpoint.Pairs.Where(p => p.Group == 2).ToArray();
        var body = new JsonObject { ["text_1"] = group[0].Query, ["text_2"] = new JsonArray(group.Select(p => (JsonNode)JsonValue.Create(p.Document)).ToArray()) };

        var (context, response) = await CallRoute("POST", route, body.ToJsonString());

        Assert.Equal(StatusCodes.Status200OK, context.Response.StatusCode);
        var data = Body(response)["data"]!.AsArray();
        Assert.Equal(Enumerable.Range(0, group.Length), data.Select(d => d!["index"]!.GetValue<int>()));
        for (var i = 0; i < group.Length; i++)
            Assert.InRange(Math.Abs(data[i]!["score"]!.GetValue<double>() - 1 / (1 + Math.Exp(-group[i].LogitFp32))), 0, 1e-4);
    }

    [Fact]
    public async Task Tokenize_info_models_health_and_openapi_functions_answer_with_the_right_values()
    {
        var score = new ScoreFunctions(Handlers.Value);
        var info = new InfoFunctions(Handlers.Value);
        var model = Path.GetFileName(RepoFiles.Checkpoint("tiny-f32-tied"));
        async Task<JsonNode> Call(Func<HttpRequest, Task<IActionResult>> call, string method, string? body = null)
        {
            var (context, response) = Request(method, "x", body);
            await call(context.Request);
            Assert.Equal(StatusCodes.Status200OK, context.Response.StatusCode);
            return Body(response);
        }

        // Hugging Face's ids for a fixture text (npm tokenizers), one array per input.
        var text = RepoFiles.ReadJsonLines(RepoFiles.TokenizerFixture("texts.jsonl")).First(r => r.GetProperty("name").GetString() == "mixed-001");
        var tokens = (await Call(score.Tokenize, "POST", new JsonObject { ["inputs"] = text.GetProperty("text").GetString() }.ToJsonString())).AsArray();
        Assert.Equal(text.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()), Assert.Single(tokens)!.AsArray().Select(t => t!["id"]!.GetValue<int>()));

        var served = await Call(info.Info, "GET");
        Assert.Equal("tiny-f32-tied", served["model_id"]!.GetValue<string>()); // the directory's name, never its path
        Assert.Equal(model, served["served_model_name"]!.GetValue<string>());
        Assert.Equal("float32", served["model_dtype"]!.GetValue<string>());
        Assert.Equal(8192, served["max_input_length"]!.GetValue<int>());
        Assert.Equal("yes", served["model_type"]!["reranker"]!["id2label"]!["0"]!.GetValue<string>());

        var models = (await Call(info.Models, "GET"))["data"]!.AsArray();
        Assert.Equal(model, Assert.Single(models)!["id"]!.GetValue<string>());
        // Any model name is accepted; the one model served is what it is told about.
        Assert.Equal(model, (await Call(r => info.Model(r, "some/model"), "GET"))["id"]!.GetValue<string>());

        var health = await Call(info.Health, "GET");
        Assert.Equal("ok", health["status"]!.GetValue<string>());
        Assert.Equal("cpu", health["device"]!.GetValue<string>());
        Assert.Equal(0, health["queue"]!["pairs"]!.GetValue<int>());

        var openApi = await Call(info.OpenApi, "GET");
        Assert.StartsWith("3.1", openApi["openapi"]!.GetValue<string>());
        // It documents each endpoint once (not the aliases), each a route of the README's.
        var documented = openApi["paths"]!.AsObject().Select(p => p.Key).ToArray();
        Assert.Contains("/v1/rerank", documented);
        Assert.Contains("/score", documented);
        Assert.All(documented, path => Assert.Contains(path, ReadmeRoutes.Select(r => "/" + r.Path.Replace("{*id}", "{id}"))));
    }

    [Fact]
    public void The_built_function_metadata_and_the_standalone_host_serve_exactly_the_readmes_routes()
    {
        var declared = FunctionMetadata().Select(f => (Function: f, Trigger: HttpTrigger(f)))
            .Select(f => (Method: f.Trigger["methods"]!.AsArray().Single()!.GetValue<string>().ToUpperInvariant(),
                Path: f.Trigger["route"]!.GetValue<string>(), Auth: f.Trigger["authLevel"]!.GetValue<string>()))
            .ToArray();

        Assert.Equal(ReadmeRoutes.Order(), declared.Select(d => (d.Method, d.Path)).Order());
        Assert.Equal(ReadmeRoutes.Order(), RerankRoutes.All.Select(r => (r.Method, r.Path)).Order());
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
