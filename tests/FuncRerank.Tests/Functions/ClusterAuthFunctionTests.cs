using System.Text;
using FuncRerank.Api.Endpoints;
using FuncRerank.Api.Hosting;
using FuncRerank.Api.Security;
using FuncRerank.Functions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FuncRerank.Tests.Functions;

/// <summary>Xinference's auth probe through the function app: open, and true exactly when keys are required.</summary>
public sealed class ClusterAuthFunctionTests
{
    [Theory]
    [InlineData(new[] { "a-key" }, """{"auth":true}""")]
    [InlineData(new string[0], """{"auth":false}""")]
    public async Task The_probe_answers_without_a_key_whether_one_is_required(string[] keys, string expected)
    {
        // No model loaded: the probe does not need one.
        var handlers = new RerankHandlers(new RerankerState(), new ApiKeyAuthenticator(keys), Options.Create(new RerankerSettings()),
            NullLogger<RerankHandlers>.Instance);
        var context = new DefaultHttpContext();
        var body = new MemoryStream();
        context.Response.Body = body;

        await new InfoFunctions(handlers).ClusterAuth(context.Request);

        Assert.Equal(StatusCodes.Status200OK, context.Response.StatusCode);
        Assert.Equal(expected, Encoding.UTF8.GetString(body.ToArray()));
    }
}
