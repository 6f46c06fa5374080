using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using FuncRerank.Tests.Model;
using FuncRerank.Tests.TestSupport;
using Microsoft.Azure.WebJobs.Script.Grpc.Messages;

namespace FuncRerank.Tests.FunctionsHost;

/// <summary>
/// The built function app as the Functions host runs it: its own process, driven over the worker protocol, every
/// request forwarded to it by the (test) host. What the worker tells the host is checked too, since the real host
/// serves what the worker reports and nothing else.
/// </summary>
public class FunctionAppUnderHostTests(HostedFunctionAppFixture fixture) : IClassFixture<HostedFunctionAppFixture>
{
    /// <summary>The README's endpoint table ("Serving the API"), written out: function name, method, route.</summary>
    public static TheoryData<string, string, string> ReadmeRoutes => new()
    {
        { "rerank_v1", "POST", "v1/rerank" },
        { "rerank", "POST", "rerank" },
        { "rerank_v2", "POST", "v2/rerank" },
        { "rerank_v1_v1", "POST", "v1/v1/rerank" },
        { "rerank_v1_v2", "POST", "v1/v2/rerank" },
        { "score", "POST", "score" },
        { "score_v1", "POST", "v1/score" },
        { "tokenize", "POST", "tokenize" },
        { "info", "GET", "info" },
        { "models", "GET", "v1/models" },
        { "model", "GET", "v1/models/{*id}" },
        { "health", "GET", "health" },
        { "openapi", "GET", "openapi.json" },
        { "cluster_auth", "GET", "v1/cluster/auth" },
    };

    /// <summary>Every way a client sends its key, with each kind of key the app accepts.</summary>
    public static TheoryData<string, string> KeyForms => new()
    {
        { "x-functions-key", HostedFunctionAppFixture.DefaultFunctionKey },
        { "?code=", HostedFunctionAppFixture.MasterKey },
        { "Bearer", HostedFunctionAppFixture.AppKey },
        { "x-api-key", HostedFunctionAppFixture.DefaultFunctionKey },
    };

    private static readonly ReferencePair Reference = ReferenceCheckpoint.Load("tiny-f32-tied").Pairs[0];

    private FunctionsTestHost Host => fixture.Host;

    [Fact]
    public void The_worker_reports_every_README_route_to_the_host_anonymous_with_its_method()
    {
        var expected = ReadmeRoutes.Select(r => ((string)r[0], (string)r[1], (string)r[2])).Order();
        var reported = Host.Functions.Select(f => (f.Name, Assert.Single(f.Methods), f.Route)).Order();

        Assert.Equal(expected, reported);
        Assert.All(Host.Functions, f => Assert.Equal("Anonymous", f.AuthLevel));
        Assert.All(Host.Functions, f => Assert.Equal("request", f.TriggerBindingName));
        // The HTTP reply is the function's return value, an http output binding.
        Assert.All(Host.Functions, f => Assert.Contains(f.Metadata.RawBindings, b =>
            JsonNode.Parse(b) is { } binding && (string?)binding["name"] == "$return" && (string?)binding["type"] == "http"
            && (string?)binding["direction"] == "Out"));
        Assert.Empty(HttpFunction.HostValidationErrors(Host.Functions));
    }

    [Fact]
    public void The_worker_took_the_host_protocol_the_host_expects()
    {
        // Proxied HTTP (ASP.NET Core integration) on a loopback port of its own, and a clean WorkerTerminate.
        var httpUri = new Uri(Host.WorkerCapabilities["HttpUri"]);
        Assert.True(httpUri.IsLoopback, httpUri.ToString());
        Assert.Equal("True", Host.WorkerCapabilities["HandlesWorkerTerminateMessage"]);
        var loads = Host.Received.Where(m => m.ContentCase == StreamingMessage.ContentOneofCase.FunctionLoadResponse).ToArray();
        Assert.Equal(Host.Functions.Select(f => f.FunctionId).Order(), loads.Select(m => m.FunctionLoadResponse.FunctionId).Order());
        Assert.All(loads, m => Assert.Equal(StatusResult.Types.Status.Success, m.FunctionLoadResponse.Result.Status));
    }

    [Theory]
    [MemberData(nameof(ReadmeRoutes))]
    public async Task Every_README_route_answers_through_the_host(string function, string method, string route)
    {
        var path = route.Replace("{*id}", "Qwen/Qwen3-Reranker-0.6B");
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", HostedFunctionAppFixture.AppKey);
        if (method == "POST")
            request.Content = new StringContent(BodyFor(function).ToJsonString(), Encoding.UTF8, "application/json");

        using var response = await Host.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {text}\n{Host.Output}");
        var invocation = Host.Invocations.Last();
        Assert.Equal(function, invocation.Function);
        if (function == "model")
            Assert.Equal("Qwen/Qwen3-Reranker-0.6B", invocation.Request.TriggerMetadata["id"].String);
        var reply = JsonNode.Parse(text)!;
        switch (function)
        {
            case "score" or "score_v1":
                Assert.Equal(Reference.LogitFp32, reply["data"]![0]!["score"]!.GetValue<double>(), 1e-4);
                break;
            case "tokenize":
                Assert.NotEmpty(reply[0]!.AsArray());
                break;
            case "info":
                Assert.NotNull(reply["model_type"]!["reranker"]);
                break;
            case "models":
                Assert.Single(reply["data"]!.AsArray());
                break;
            case "model":
                Assert.Equal("rerank", reply["model_type"]!.GetValue<string>());
                break;
            case "health":
                Assert.Equal("ok", reply["status"]!.GetValue<string>());
                break;
            case "openapi":
                Assert.StartsWith("3.1", reply["openapi"]!.GetValue<string>());
                break;
            case "cluster_auth": // keys are configured
                Assert.True(reply["auth"]!.GetValue<bool>());
                break;
            default: // the five rerank routes: the torch reference's logit for the pair
                Assert.Equal(Reference.LogitFp32, reply["results"]![0]!["relevance_score"]!.GetValue<double>(), 1e-4);
                break;
        }
    }

    [Theory]
    [MemberData(nameof(KeyForms))]
    public async Task Every_key_form_clients_use_passes_the_host_to_the_app(string form, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, form == "?code=" ? $"v1/rerank?code={key}" : "v1/rerank")
        {
            Content = new StringContent(BodyFor("rerank").ToJsonString(), Encoding.UTF8, "application/json"),
        };
        if (form == "Bearer")
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        else if (form != "?code=")
            request.Headers.Add(form, key);

        using var response = await Host.Client.SendAsync(request);

        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{form}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("not-a-key")]
    public async Task Without_a_valid_key_the_app_answers_401_through_the_host(string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/rerank")
        {
            Content = new StringContent(BodyFor("rerank").ToJsonString(), Encoding.UTF8, "application/json"),
        };
        if (key is not null)
            request.Headers.Add("x-functions-key", key);

        using var response = await Host.Client.SendAsync(request);
        var reply = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.ToString());
        Assert.Equal("invalid_api_key", reply["error"]!["code"]!.GetValue<string>());
    }

    [Fact] // its /v1-suffixed base URL variant is RealClientTests'; its paths are README routes, served above
    public void The_cohere_sdk_reranks_through_the_host() =>
        CohereSdk.AssertCapitalReply(CohereSdk.Run(Host.BaseAddress.ToString().TrimEnd('/'), HostedFunctionAppFixture.AppKey, CohereSdk.CapitalRequest));

    [Fact]
    public async Task The_default_api_prefix_and_wrong_methods_are_not_routed()
    {
        var invocations = Host.Invocations.Count;

        using var prefixed = await Host.Client.PostAsync("api/v1/rerank", new StringContent(BodyFor("rerank").ToJsonString()));
        using var get = await Host.Client.GetAsync("v1/rerank");

        Assert.Equal(HttpStatusCode.NotFound, prefixed.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.Equal(invocations, Host.Invocations.Count);
    }

    /// <summary>The reference pair, with raw scores (log-odds) so they compare with the torch logit.</summary>
    private static JsonObject BodyFor(string function)
    {
        JsonObject body = function switch
        {
            "score" or "score_v1" => new JsonObject { ["text_1"] = Reference.Query, ["text_2"] = new JsonArray(Reference.Document) },
            "tokenize" => new JsonObject { ["inputs"] = Reference.Query },
            _ => new JsonObject { ["query"] = Reference.Query, ["documents"] = new JsonArray(Reference.Document) },
        };
        if (function != "tokenize")
        {
            body["raw_scores"] = true;
            if (Reference.Instruction is { } instruction)
                body["instruction"] = instruction;
        }

        return body;
    }
}
