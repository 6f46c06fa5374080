using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using FuncRerank.Api.Endpoints;
using FuncRerank.Tests.Model;

namespace FuncRerank.Tests.Http;

/// <summary><c>funcrerank serve</c> over real sockets: keys, every route, replies against the torch reference.</summary>
public class StandaloneHostTests(ServedModelFixture fixture) : IClassFixture<ServedModelFixture>
{
    private HttpClient Client => fixture.Server.Client;

    private static HttpRequestMessage Post(string path, string json, string? bearer = ServedModelFixture.FirstKey)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (bearer is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        return request;
    }

    private async Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> Send(HttpRequestMessage request)
    {
        var response = await Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text), response);
    }

    [Fact]
    public async Task Rerank_over_http_gives_the_torch_reference_scores_sorted()
    {
        var checkpoint = ReferenceCheckpoint.Load(ServedModelFixture.Checkpoint);
        foreach (var group in checkpoint.Pairs.GroupBy(p => p.Group))
        {
            var pairs = group.ToArray();
            var body = new JsonObject
            {
                ["model"] = "anything",
                ["query"] = pairs[0].Query,
                ["documents"] = new JsonArray(pairs.Select(p => (JsonNode)JsonValue.Create(p.Document)).ToArray()),
                ["raw_scores"] = true,
            };
            if (pairs[0].Instruction is { } instruction)
                body["instruction"] = instruction;

            var (status, reply, _) = await Send(Post("v1/rerank", body.ToJsonString()));

            Assert.Equal(HttpStatusCode.OK, status);
            var results = reply!["results"]!.AsArray();
            Assert.Equal(pairs.Length, results.Count);
            var scores = results.Select(r => r!["relevance_score"]!.GetValue<double>()).ToArray();
            Assert.Equal(scores.OrderByDescending(s => s), scores);
            foreach (var result in results)
            {
                var pair = pairs[result!["index"]!.GetValue<int>()];
                Assert.InRange(Math.Abs(result["relevance_score"]!.GetValue<double>() - pair.LogitFp32), 0, 1e-4);
                Assert.Equal(pair.Document, result["document"]!["text"]!.GetValue<string>());
            }

            Assert.Equal(pairs.Sum(p => p.Ids.Length), reply["usage"]!["prompt_tokens"]!.GetValue<int>());
            Assert.Equal("qwen3-reranker-test", reply["model"]!.GetValue<string>());
        }
    }

    [Theory]
    [InlineData("v1/rerank")]
    [InlineData("rerank")]
    [InlineData("v2/rerank")]
    [InlineData("v1/v1/rerank")]
    [InlineData("v1/v2/rerank")]
    public async Task Every_rerank_path_answers_the_same(string path)
    {
        const string body = """{"query":"What is the capital of China?","documents":["Beijing is the capital.","Paris is in France.","Gravity."],"top_n":2,"return_documents":false}""";

        var (status, reply, _) = await Send(Post(path, body));
        var (_, reference, _) = await Send(Post("v1/rerank", body));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, reply!["results"]!.AsArray().Count);
        Assert.Null(reply["results"]![0]!["document"]);
        Assert.False(reply["results"]![0]!.AsObject().ContainsKey("document"));
        Assert.Equal(reference!["results"]!.ToJsonString(), reply["results"]!.ToJsonString());
    }

    [Fact]
    public async Task A_tei_body_gets_teis_bare_array_and_score_gives_the_same_numbers_in_input_order()
    {
        var (teiStatus, tei, _) = await Send(Post("rerank", """{"query":"capital of China","texts":["Beijing.","Paris.","Rome."],"return_text":true}"""));
        var (scoreStatus, score, _) = await Send(Post("score", """{"text_1":"capital of China","text_2":["Beijing.","Paris.","Rome."]}"""));

        Assert.Equal(HttpStatusCode.OK, teiStatus);
        Assert.Equal(HttpStatusCode.OK, scoreStatus);
        var byIndex = tei!.AsArray().ToDictionary(r => r!["index"]!.GetValue<int>(), r => r!["score"]!.GetValue<double>());
        var data = score!["data"]!.AsArray();
        Assert.Equal([0, 1, 2], data.Select(d => d!["index"]!.GetValue<int>()));
        Assert.All(data, d => Assert.Equal(byIndex[d!["index"]!.GetValue<int>()], d["score"]!.GetValue<double>()));
        Assert.Equal("Beijing.", tei.AsArray().Single(r => r!["index"]!.GetValue<int>() == 0)!["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task Keys_are_accepted_in_every_header_clients_use_and_nowhere_else()
    {
        const string body = """{"query":"q","documents":["d"]}""";
        var accepted = new List<HttpRequestMessage>
        {
            Post("v1/rerank", body, ServedModelFixture.FirstKey),
            Post("v1/rerank", body, ServedModelFixture.SecondKey),
            Post($"v1/rerank?code={ServedModelFixture.FirstKey}", body, bearer: null),
        };
        foreach (var header in new[] { "x-api-key", "api-key", "x-functions-key" })
        {
            var request = Post("v1/rerank", body, bearer: null);
            request.Headers.Add(header, ServedModelFixture.SecondKey);
            accepted.Add(request);
        }

        foreach (var request in accepted)
            Assert.Equal(HttpStatusCode.OK, (await Send(request)).Status);

        var emptyBearer = Post("v1/rerank", body, bearer: null);
        emptyBearer.Headers.TryAddWithoutValidation("Authorization", "Bearer ");
        foreach (var request in new[] { Post("v1/rerank", body, bearer: null), Post("v1/rerank", body, "key-one"), Post("v1/rerank", body, "None"), emptyBearer })
        {
            var (status, reply, response) = await Send(request);
            Assert.Equal(HttpStatusCode.Unauthorized, status);
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
            Assert.Equal("authentication_error", reply!["error"]!["type"]!.GetValue<string>());
            Assert.DoesNotContain("key-one", reply.ToJsonString());
        }
    }

    [Theory]
    [InlineData("GET", "info")]
    [InlineData("GET", "v1/models")]
    [InlineData("GET", "v1/models/qwen3-reranker-test")]
    [InlineData("POST", "tokenize")]
    [InlineData("POST", "score")]
    public async Task Every_other_endpoint_needs_a_key_too(string method, string path)
    {
        var (status, _, _) = await Send(new HttpRequestMessage(new HttpMethod(method), path) { Content = new StringContent("{}") });
        Assert.Equal(HttpStatusCode.Unauthorized, status);
    }

    [Fact]
    public async Task Health_and_openapi_are_open_and_the_openapi_document_lists_every_route()
    {
        var (health, healthBody, _) = await Send(new HttpRequestMessage(HttpMethod.Get, "health"));
        var (openapi, document, _) = await Send(new HttpRequestMessage(HttpMethod.Get, "openapi.json"));

        Assert.Equal(HttpStatusCode.OK, health);
        Assert.Equal("ok", healthBody!["status"]!.GetValue<string>());
        // Which provider and GPU this replica got: on this machine the CPU, and no NVIDIA driver, said as such.
        Assert.Equal("CPUExecutionProvider", healthBody["execution_provider"]!.GetValue<string>());
        Assert.Equal("the device asked for is cpu", healthBody["execution_provider_reason"]!.GetValue<string>());
        Assert.Contains("libnvidia-ml.so.1 does not load", healthBody["gpu"]!.GetValue<string>());
        Assert.Contains($"GPU: {healthBody["gpu"]!.GetValue<string>()}", fixture.Server.Output);
        Assert.Equal(HttpStatusCode.OK, openapi);
        var paths = document!["paths"]!.AsObject().Select(p => p.Key.TrimStart('/')).ToHashSet();
        // Aliases of a documented path are named in its summary; every handler has a documented path.
        foreach (var route in RerankRoutes.All.Where(r => !r.Path.Contains("rerank") && !r.Path.StartsWith("v1/score")))
            Assert.Contains(route.Path.Replace("{*id}", "{id}"), paths);
        Assert.Contains("v1/rerank", paths);
    }

    [Fact]
    public async Task Info_and_models_describe_the_served_model()
    {
        var info = (await Send(new HttpRequestMessage(HttpMethod.Get, "info") { Headers = { { "x-api-key", ServedModelFixture.FirstKey } } })).Body!;
        var models = (await Send(new HttpRequestMessage(HttpMethod.Get, "v1/models") { Headers = { { "x-api-key", ServedModelFixture.FirstKey } } })).Body!;
        var model = (await Send(new HttpRequestMessage(HttpMethod.Get, "v1/models/org/any-name") { Headers = { { "x-api-key", ServedModelFixture.FirstKey } } })).Body!;

        Assert.NotNull(info["model_type"]!["reranker"]);
        Assert.Equal(8192, info["max_input_length"]!.GetValue<int>());
        Assert.Equal("CPUExecutionProvider", info["execution_provider"]!.GetValue<string>());
        Assert.StartsWith("no GPU visible; no NVIDIA driver", info["gpu"]!.GetValue<string>());
        Assert.Equal("qwen3-reranker-test", models["data"]![0]!["id"]!.GetValue<string>());
        Assert.Equal("rerank", model["model_type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Tokenize_returns_the_tokenizers_ids()
    {
        var (status, reply, _) = await Send(Post("tokenize", """{"inputs":["hello world","yes<|im_end|>"]}"""));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal([14990, 1879], reply![0]!.AsArray().Select(t => t!["id"]!.GetValue<int>()));
        Assert.Equal([9693, 151645], reply[1]!.AsArray().Select(t => t!["id"]!.GetValue<int>()));
        Assert.True(reply[1]![1]!["special"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Bad_bodies_get_a_400_naming_the_field_and_oversized_ones_a_413()
    {
        var cases = new (string Body, string? Param)[]
        {
            ("not json", null),
            ("", null),
            ("[1,2]", null),
            ("""{"query":"q"}""", "documents"),
            ("""{"query":"q","documents":[]}""", "documents"),
            ("""{"query":"q","documents":["a",null]}""", "documents[1]"),
            ("""{"query":"","documents":["a"]}""", "query"),
            ("""{"query":"q","documents":["a"],"top_n":1.5}""", "top_n"),
        };
        foreach (var (body, param) in cases)
        {
            var (status, reply, _) = await Send(Post("v1/rerank", body));
            Assert.True(status == HttpStatusCode.BadRequest, $"{body}: {status}");
            Assert.Equal(param, reply!["error"]!["param"]?.GetValue<string>());
            Assert.Equal(reply["message"]!.GetValue<string>(), reply["detail"]!.GetValue<string>());
        }

        var huge = $$"""{"query":"q","documents":["{{new string('x', (int)ServedModelFixture.MaxRequestBytes)}}"]}""";
        var (hugeStatus, hugeReply, _) = await Send(Post("v1/rerank", huge));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, hugeStatus);
        Assert.Contains(ServedModelFixture.MaxRequestBytes.ToString(), hugeReply!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_request_id_is_echoed_or_assigned()
    {
        var request = Post("v1/rerank", """{"query":"q","documents":["d"]}""");
        request.Headers.Add("X-Request-Id", "trace-42");

        var (_, reply, response) = await Send(request);
        var (_, _, assigned) = await Send(Post("v1/rerank", """{"query":"q","documents":["d"]}"""));

        Assert.Equal("trace-42", response.Headers.GetValues("X-Request-Id").Single());
        Assert.Equal("rerank-trace-42", reply!["id"]!.GetValue<string>());
        Assert.Equal(32, assigned.Headers.GetValues("X-Request-Id").Single().Length);
    }
}
