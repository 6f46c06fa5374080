using FuncRerank.Api.Security;
using FuncRerank.Tests.TestSupport;
using Microsoft.AspNetCore.Http;

namespace FuncRerank.Tests.Security;

public class ApiKeyAuthenticatorTests
{
    private static HttpRequest Request(string? authorization = null, string? header = null, string? value = null, string? query = null)
    {
        var context = new DefaultHttpContext();
        if (authorization is not null)
            context.Request.Headers.Authorization = authorization;
        if (header is not null)
            context.Request.Headers[header] = value;
        if (query is not null)
            context.Request.QueryString = new QueryString(query);
        return context.Request;
    }

    [Fact]
    public void Container_apps_function_key_files_are_accepted_but_system_keys_are_not()
    {
        var directory = RepoFiles.NewTemporaryDirectory();
        File.WriteAllText(Path.Combine(directory, "host.master"), "master-secret");
        File.WriteAllText(Path.Combine(directory, "host.function.default"), "host-function-secret\n");
        File.WriteAllText(Path.Combine(directory, "functions.rerank_v1.default"), "per-function-secret");
        File.WriteAllText(Path.Combine(directory, "host.systemKey.durabletask_extension"), "system-secret");

        var keys = ApiKeyAuthenticator.FromSettings("configured-key", directory, runningInAzure: true);

        Assert.Equal(4, keys.KeyCount);
        Assert.Null(keys.Misconfiguration);
        foreach (var key in new[] { "configured-key", "master-secret", "host-function-secret", "per-function-secret" })
            Assert.True(keys.IsAuthorized(Request($"Bearer {key}")), key);
        Assert.False(keys.IsAuthorized(Request("Bearer system-secret")));
    }

    [Theory]
    [InlineData("Bearer k1", null, null, null, true)]
    [InlineData("bearer k2", null, null, null, true)]
    [InlineData("Bearer   k1  ", null, null, null, true)]
    [InlineData(null, "x-api-key", "k1", null, true)]
    [InlineData(null, "api-key", "k2", null, true)]
    [InlineData(null, "x-functions-key", "k1", null, true)]
    [InlineData(null, null, null, "?code=k2", true)]
    [InlineData("Bearer ", null, null, null, false)]
    [InlineData("Bearer", null, null, null, false)]
    [InlineData("Basic azE=", null, null, null, false)]
    [InlineData("Bearer None", null, null, null, false)]
    [InlineData("Bearer k", null, null, null, false)]
    [InlineData("Bearer k1k1", null, null, null, false)]
    [InlineData(null, "x-api-key", "", null, false)]
    [InlineData(null, null, null, "?code=", false)]
    [InlineData(null, null, null, null, false)]
    public void Keys_are_read_from_every_place_clients_put_them(string? authorization, string? header, string? value, string? query, bool accepted)
    {
        var keys = new ApiKeyAuthenticator(["k1", "k2"]);
        Assert.Equal(accepted, keys.IsAuthorized(Request(authorization, header, value, query)));
    }

    [Fact]
    public void Without_keys_the_service_is_open_locally_and_refused_in_azure()
    {
        var local = ApiKeyAuthenticator.FromSettings(" , ", RepoFiles.NewTemporaryDirectory(), runningInAzure: false);
        var azure = ApiKeyAuthenticator.FromSettings(null, RepoFiles.NewTemporaryDirectory(), runningInAzure: true);

        Assert.True(local.IsOpen);
        Assert.True(local.IsAuthorized(Request()));
        Assert.Null(local.Misconfiguration);
        Assert.Contains("Reranker__ApiKeys", azure.Misconfiguration);
    }
}
