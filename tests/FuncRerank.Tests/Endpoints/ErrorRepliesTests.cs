using System.Text;
using System.Text.Json.Nodes;
using FuncRerank.Api.Endpoints;
using FuncRerank.Tests.TestSupport;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FuncRerank.Tests.Endpoints;

/// <summary>
/// The guard both hosts run around the handlers (the standalone host as middleware, the function app as worker
/// middleware): what it does with an exception, a bodiless error status, and a reply already written.
/// </summary>
public sealed class ErrorRepliesTests
{
    private static (DefaultHttpContext Context, MemoryStream Body) NewContext()
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "GET";
        context.Request.Path = "/somewhere";
        var body = new MemoryStream();
        context.Response.Body = body;
        return (context, body);
    }

    private static JsonNode Json(MemoryStream body) => JsonNode.Parse(Encoding.UTF8.GetString(body.ToArray()))!;

    [Fact]
    public async Task An_exception_past_the_handlers_is_a_500_body_with_the_request_id_and_its_cause_only_in_the_log()
    {
        var (context, body) = NewContext();
        context.Request.Headers["X-Request-Id"] = "guarded-1";
        context.Response.Headers["x-half-set"] = "yes";
        var logger = new ListLogger();

        await ErrorReplies.GuardAsync(context, () => throw new InvalidOperationException("secret internals"), logger);

        Assert.Equal(500, context.Response.StatusCode);
        Assert.Equal("guarded-1", context.Response.Headers["X-Request-Id"].ToString());
        Assert.False(context.Response.Headers.ContainsKey("x-half-set")); // what the failed attempt set is gone
        var reply = Json(body);
        Assert.Equal("internal_error", reply["error"]!["code"]!.GetValue<string>());
        Assert.DoesNotContain("secret internals", reply.ToJsonString());
        var (level, message) = Assert.Single(logger.Entries);
        Assert.Equal(LogLevel.Error, level);
        Assert.Contains("guarded-1", message);
    }

    [Theory]
    [InlineData(404, "not_found", "no endpoint at /somewhere; GET /openapi.json lists them")]
    [InlineData(405, "method_not_allowed", "GET is not allowed on /somewhere; allowed: POST")]
    [InlineData(418, "http_418", "the request failed with HTTP 418")]
    public async Task A_status_set_without_a_body_gets_the_error_body(int status, string code, string message)
    {
        var (context, body) = NewContext();

        await ErrorReplies.GuardAsync(context, () =>
        {
            context.Response.StatusCode = status;
            if (status == 405)
                context.Response.Headers.Allow = "POST";
            return Task.CompletedTask;
        }, new ListLogger());

        Assert.Equal(status, context.Response.StatusCode);
        var reply = Json(body);
        Assert.Equal(code, reply["error"]!["code"]!.GetValue<string>());
        Assert.Equal(message, reply["message"]!.GetValue<string>());
        Assert.Matches("^[0-9a-f]{32}$", context.Response.Headers["X-Request-Id"].ToString());
    }

    [Fact]
    public async Task A_path_is_named_without_its_query_and_cut_when_long()
    {
        var (context, body) = NewContext();
        context.Request.Path = "/" + new string('p', 500);
        context.Request.QueryString = new QueryString("?code=the-key");

        await ErrorReplies.GuardAsync(context, () =>
        {
            context.Response.StatusCode = 404;
            return Task.CompletedTask;
        }, new ListLogger());

        var message = Json(body)["message"]!.GetValue<string>();
        Assert.DoesNotContain("the-key", message);
        Assert.Contains("/" + new string('p', 199) + "…", message);
    }
}
