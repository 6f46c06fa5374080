using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FuncRerank.Api.Contract;
using FuncRerank.Api.Endpoints;
using FuncRerank.Api.Hosting;
using FuncRerank.Inference;
using FuncRerank.Tests.Inference;
using FuncRerank.Tests.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace FuncRerank.Tests.Endpoints;

/// <summary>
/// openapi.json is written by hand, so it is held to the code: its paths and methods are <see cref="RerankRoutes.All"/>;
/// its request schemas name exactly the fields the parsers read; each operation lists exactly the error statuses its
/// route answers; every field of every reply is in the reply's schema. The replies come from the routes the standalone
/// host maps (<see cref="FuncRerankServices.MapFuncRerank"/>), called in process on a real model.
/// </summary>
public sealed class OpenApiContractTests : IAsyncLifetime
{
    private const string Key = "openapi-contract-key";
    private const long MaxRequestBytes = 64 * 1024;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private static readonly OpenApiDocument Document = OpenApiDocument.Served;

    private readonly ScriptedScorer _scorer;
    private readonly Qwen3Reranker _reranker;
    private readonly WebApplication _ready;
    private readonly WebApplication _loading;
    private readonly WebApplication _shortDeadline;

    public OpenApiContractTests()
    {
        // A queue bound of one token: a request that arrives while another waits is refused (one alone always gets in).
        (_scorer, _reranker) = ScriptedReranker.Create(new BatchSchedulerOptions { MaxQueuedTokens = 1 });
        _ready = Serve(_reranker, requestTimeoutSeconds: 0);
        _loading = Serve(null, requestTimeoutSeconds: 0);
        _shortDeadline = Serve(_reranker, requestTimeoutSeconds: 0.2);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _scorer.Release();
        foreach (var app in new[] { _ready, _loading, _shortDeadline })
            await app.DisposeAsync();
        _reranker.Dispose();
    }

    [Fact]
    public void The_documented_paths_and_methods_are_the_routes()
    {
        var routes = RerankRoutes.All.Select(r => $"{r.Method} {Documented(r.Path)}").Order().ToArray();
        var documented = Document.Operations().Select(o => $"{o.Method} {o.Path}").Order().ToArray();

        Assert.Equal(routes, documented);
    }

    public static TheoryData<string> RequestBodies => ["v1/rerank", "score", "tokenize"];

    /// <summary>
    /// Which fields a parser reads is found by asking it: a field it reads fails with a 400 naming that field when its
    /// value is of a type no field takes, one it ignores does not. The names asked about are every schema field and
    /// every identifier-like string in the contract's sources, so a field read under a new name is found too.
    /// </summary>
    [Theory]
    [MemberData(nameof(RequestBodies))]
    public void A_request_schema_names_exactly_the_fields_its_parser_reads(string path)
    {
        var (parse, bodies) = Parser(path);
        var schema = Document.RequestSchema("POST", path);
        var documented = schema["properties"]!.AsObject().Select(p => p.Key).ToHashSet();
        foreach (var body in bodies)
            parse(Element(body)); // each starting body is itself valid

        var read = documented.Union(ContractStrings()).Where(field => Reads(parse, bodies, field)).ToHashSet();

        Assert.Empty(read.Except(documented).Select(f => $"{f}: read by the parser, not in the schema"));
        Assert.Empty(documented.Except(read).Select(f => $"{f}: in the schema, ignored by the parser"));
        // The schema's ways to be complete (required, with one anyOf alternative's) are the starting bodies, and each
        // of those is minimal: without any one of its fields the parser says a field is missing.
        Assert.Equal(bodies.Select(b => string.Join(", ", b.Select(f => f.Key).Order())).Order(), RequiredFieldSets(schema).Order());
        foreach (var body in bodies)
        {
            foreach (var field in body.Select(f => f.Key))
            {
                var without = body.DeepClone().AsObject();
                without.Remove(field);
                Assert.Equal(ApiErrorCodes.MissingField, Assert.Throws<ApiException>(() => parse(Element(without))).Error.Code);
            }
        }

        foreach (var (field, property) in schema["properties"]!.AsObject())
        {
            if (property!["enum"] is not JsonArray values)
                continue;
            foreach (var value in values.Where(v => v is not null))
                parse(Element(With(bodies[0], field, value!.DeepClone())));
            var refused = Assert.Throws<ApiException>(() => parse(Element(With(bodies[0], field, JsonValue.Create("sideways"))))).Error;
            Assert.Equal(field, refused.Param);
        }
    }

    /// <summary>
    /// Every route is sent a good request and each fault a client or the server can cause; the statuses that come back
    /// (200 aside) are the ones its operation lists, no more and no fewer, and each error body is the documented one.
    /// </summary>
    [Fact]
    public async Task Each_operation_lists_exactly_the_error_statuses_its_route_answers()
    {
        var answered = RerankRoutes.All.ToDictionary(r => r, _ => new SortedSet<int>());
        var problems = new List<string>();

        async Task Record(string fault, RerankRoutes.Route route, Task<(int Status, JsonNode? Body)> call)
        {
            var (status, body) = await call;
            answered[route].Add(status);
            if (status == StatusCodes.Status200OK)
                return;
            var responses = Document.Operation(route.Method, Documented(route.Path))["responses"]!;
            if (responses[status.ToString()] is { } response)
                problems.AddRange(Document.Undescribed(body, Document.Resolve(response)["content"]!["application/json"]!["schema"]!, $"{fault}: {route.Method} /{route.Path} {status}"));
        }

        foreach (var route in RerankRoutes.All)
        {
            await Record("good request", route, Call(_ready, route));
            await Record("no key", route, Call(_ready, route, c => c.Request.Headers.Authorization = default));
            await Record("model not loaded", route, Call(_loading, route));
            await Record("malformed JSON", route, Call(_ready, route, c => c.Request.Body = Stream("{\"query\":")));
            await Record("over the byte limit", route, Call(_ready, route, c => c.Request.ContentLength = MaxRequestBytes + 1));
            await Record("unknown Content-Encoding", route, Call(_ready, route, c => c.Request.Headers.ContentEncoding = "zstd"));
            await Record("body too slow", route, Call(_ready, route, c => c.Request.Body = new StalledBody(new BadHttpRequestException("too slow", 408))));
            await Record("deadline passed", route, Call(_shortDeadline, route, c => c.Request.Body = new StalledBody(null)));
        }

        _scorer.FailWhen = _ => true;
        foreach (var route in RerankRoutes.All)
            await Record("failing batch", route, Call(_ready, route));
        _scorer.FailWhen = null;

        // A request in the held batch and one waiting behind it: the queue is over its bound.
        _scorer.Hold();
        var rerank = RerankRoutes.All.First(r => r.Handler == RerankRoutes.Handler.Rerank);
        var batchesBefore = _scorer.Batches.Count;
        var running = Call(_ready, rerank);
        await Poll.UntilAsync(() => _scorer.Batches.Count > batchesBefore, "the first request's batch starting");
        var waiting = Call(_ready, rerank);
        await Poll.UntilAsync(() => _reranker.Queue.Requests == 1, "the second request waiting in the queue");
        foreach (var route in RerankRoutes.All)
            await Record("full queue", route, Call(_ready, route));
        _scorer.Release();
        Assert.Equal([200, 200], (await Task.WhenAll(running, waiting)).Select(r => r.Status));

        foreach (var (route, statuses) in answered)
        {
            var documented = Document.Operation(route.Method, Documented(route.Path))["responses"]!.AsObject().Select(r => int.Parse(r.Key));
            Assert.True(statuses.SetEquals(documented),
                $"{route.Method} /{route.Path} answers [{string.Join(", ", statuses)}]; openapi.json lists [{string.Join(", ", documented.Order())}]");
        }

        Assert.Empty(problems);
    }

    /// <summary>The statuses the server gives around the handlers (no route, wrong method, a request it cannot read) are named too.</summary>
    [Fact]
    public void The_statuses_the_server_gives_around_the_handlers_are_named_in_the_description()
    {
        var description = Document.Root["info"]!["description"]!.GetValue<string>();
        var perOperation = Document.Operations()
            .SelectMany(o => Document.Operation(o.Method, o.Path)["responses"]!.AsObject().Select(r => int.Parse(r.Key)))
            .ToHashSet();
        // Every status ApiError.ForStatus has a code of its own for: those the server picks without a handler.
        var serverStatuses = Enumerable.Range(400, 200).Where(s => !ApiError.ForStatus(s, "").Code.StartsWith("http_", StringComparison.Ordinal));

        var unnamed = serverStatuses.Where(s => !perOperation.Contains(s) && !Regex.IsMatch(description, $@"\b{s}\b")).ToArray();

        Assert.True(unnamed.Length == 0, $"neither an operation nor the description names {string.Join(", ", unnamed)}");
    }

    /// <summary>Every field of every reply, in each of the shapes a route answers with, is in its documented schema.</summary>
    [Fact]
    public async Task Every_field_of_every_reply_is_in_its_schema()
    {
        var problems = new List<string>();
        async Task Check(RerankRoutes.Route route, string? body = null)
        {
            var (status, reply) = await Call(_ready, route, body is null ? null : c => c.Request.Body = Stream(body));
            Assert.Equal(StatusCodes.Status200OK, status);
            var response = Document.Resolve(Document.Operation(route.Method, Documented(route.Path))["responses"]!["200"]!);
            if (response["content"]?["application/json"]?["schema"] is not { } schema)
                problems.Add($"{route.Method} /{route.Path}: the 200 reply has no documented schema");
            else
                problems.AddRange(Document.Undescribed(reply, schema, $"{route.Method} /{route.Path}{(body is null ? "" : $" ({body})")} reply"));
        }

        foreach (var route in RerankRoutes.All)
            await Check(route);
        var rerank = RerankRoutes.All.First(r => r.Handler == RerankRoutes.Handler.Rerank);
        await Check(rerank, """{"query":"q","documents":[{"text":"a","title":"t"},{"text":"b"}],"top_n":1,"return_documents":true}""");
        await Check(rerank, """{"query":"q","documents":["a","b"],"return_documents":false}""");
        await Check(rerank, """{"query":"q","texts":["a","b"],"return_text":true}""");
        await Check(rerank, """{"query":"q","texts":["a","b"]}""");
        await Check(rerank, """{"query":"q","documents":["a","b"],"top_k":1,"return_documents":true}""");
        await Check(rerank, """{"query":"q","documents":["a","b"],"truncation":true}""");

        Assert.Empty(problems);
    }

    /// <summary>Each set of fields that makes a body complete by the schema: its required ones, with each anyOf alternative's.</summary>
    private static IEnumerable<string> RequiredFieldSets(JsonObject schema)
    {
        static IEnumerable<string> Required(JsonNode? node) => node?["required"]?.AsArray().Select(r => r!.GetValue<string>()) ?? [];
        IEnumerable<JsonNode?> alternatives = schema["anyOf"]?.AsArray() ?? [null];
        return alternatives.Select(alternative => string.Join(", ", Required(schema).Concat(Required(alternative)).Order()));
    }

    /// <summary>A route's path as openapi.json writes it: a catch-all parameter is a plain one there.</summary>
    private static string Documented(string routePath) => routePath.Replace("{*", "{");

    private static WebApplication Serve(Qwen3Reranker? reranker, double requestTimeoutSeconds)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Reranker:ModelPath"] = RepoFiles.Checkpoint(ScriptedReranker.Checkpoint),
            ["Reranker:ApiKeys"] = Key,
            ["Reranker:MaxRequestBytes"] = MaxRequestBytes.ToString(),
            ["Reranker:RequestTimeoutSeconds"] = requestTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        builder.Services.AddFuncRerank(builder.Configuration);
        var app = builder.Build();
        app.MapFuncRerank();
        if (reranker is not null)
            app.Services.GetRequiredService<RerankerState>().SetReady(reranker);
        return app;
    }

    /// <summary>One request through the endpoint the app mapped for the route.</summary>
    private static async Task<(int Status, JsonNode? Body)> Call(WebApplication app, RerankRoutes.Route route, Action<HttpContext>? fault = null)
    {
        var endpoint = ((IEndpointRouteBuilder)app).DataSources.SelectMany(s => s.Endpoints).OfType<RouteEndpoint>()
            .Single(e => e.RoutePattern.RawText == "/" + route.Path && e.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods.Contains(route.Method));
        var context = new DefaultHttpContext { RequestServices = app.Services };
        context.Request.Method = route.Method;
        context.Request.Path = "/" + route.Path.Replace("{*id}", "org/any-name");
        context.Request.RouteValues["id"] = "org/any-name";
        context.Request.Headers.Authorization = $"Bearer {Key}";
        context.Request.ContentType = "application/json";
        context.Request.Body = Stream(GoodBody(route.Handler));
        var response = new MemoryStream();
        context.Response.Body = response;
        fault?.Invoke(context);
        await endpoint.RequestDelegate!(context).WaitAsync(Patience);
        return (context.Response.StatusCode, response.Length == 0 ? null : JsonNode.Parse(response.ToArray()));
    }

    private static string GoodBody(RerankRoutes.Handler handler) => handler switch
    {
        RerankRoutes.Handler.Rerank => """{"query":"What is the capital of China?","documents":["The capital of China is Beijing.","Gravity pulls."]}""",
        RerankRoutes.Handler.Score => """{"text_1":"What is the capital of China?","text_2":["The capital of China is Beijing.","Gravity pulls."]}""",
        RerankRoutes.Handler.Tokenize => """{"inputs":["The capital of China is Beijing.","Gravity pulls."]}""",
        _ => "",
    };

    private static MemoryStream Stream(string text) => new(Encoding.UTF8.GetBytes(text));

    /// <summary>A parser for each documented request body, with a valid body for each dialect or field naming it reads.</summary>
    private static (Func<JsonElement, object> Parse, JsonObject[] Bodies) Parser(string path) => path switch
    {
        "v1/rerank" => (body => RerankRequestParser.Parse(body, RerankLimits.Default),
        [
            Json("""{"query":"q","documents":["d"]}"""),
            Json("""{"query":"q","texts":["d"]}"""),
        ]),
        "score" => (body => ScoreRequestParser.Parse(body, RerankLimits.Default),
        [
            Json("""{"text_1":"q","text_2":["d"]}"""),
            Json("""{"data_1":"q","data_2":["d"]}"""),
            Json("""{"queries":"q","items":["d"]}"""),
            Json("""{"queries":"q","documents":["d"]}"""),
        ]),
        "tokenize" => (body => TokenizeRequestParser.Parse(body, RerankLimits.Default), [Json("""{"inputs":"d"}""")]),
        _ => throw new ArgumentException(path),
    };

    /// <summary>Whether the parser reads the field: some value of a type no field takes makes it fail naming that field.</summary>
    private static bool Reads(Func<JsonElement, object> parse, JsonObject[] bodies, string field)
    {
        JsonNode[] foreign = [new JsonObject { ["unexpected"] = true }, JsonValue.Create(1.5)];
        foreach (var body in bodies)
        {
            foreach (var value in foreign)
            {
                try
                {
                    parse(Element(With(body, field, value.DeepClone())));
                }
                catch (ApiException e) when (e.Error.Param is { } param &&
                                             (param == field || param.StartsWith(field + "[", StringComparison.Ordinal) || param.StartsWith(field + ".", StringComparison.Ordinal)))
                {
                    return true;
                }
                catch (ApiException)
                {
                    // Another field's error says nothing about this one.
                }
            }
        }

        return false;
    }

    /// <summary>The identifier-like string literals of the request contract's sources: every name a parser could read.</summary>
    private static IEnumerable<string> ContractStrings() =>
        Directory.EnumerateFiles(Path.Combine(RepoFiles.RepoRoot, "src", "FuncRerank.Api", "Contract"), "*.cs")
            .SelectMany(file => Regex.Matches(File.ReadAllText(file), "\"([A-Za-z_][A-Za-z0-9_]*)\"").Select(m => m.Groups[1].Value))
            .Distinct();

    private static JsonObject With(JsonObject body, string field, JsonNode value)
    {
        var copy = body.DeepClone().AsObject();
        copy[field] = value;
        return copy;
    }

    private static JsonObject Json(string text) => JsonNode.Parse(text)!.AsObject();

    private static JsonElement Element(JsonObject body) => JsonDocument.Parse(body.ToJsonString()).RootElement;

    /// <summary>A request body that never delivers a byte: it fails with the given exception, or waits until cancelled.</summary>
    private sealed class StalledBody(Exception? failure) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => 0; set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (failure is not null)
                throw failure;
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("read asynchronously");
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
