using System.Text;
using System.Text.Json.Nodes;
using FuncRerank.Functions;
using FuncRerank.Tests.TestSupport;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace FuncRerank.Tests.Functions;

/// <summary>
/// The function app's worker middleware, called as the worker calls it after the ASP.NET Core integration has put the
/// request's HttpContext in the invocation: a function that throws gets the 500 body and a request id.
/// </summary>
public sealed class ErrorReplyMiddlewareTests
{
    /// <summary>Only what the middleware reads: the items, where the ASP.NET Core integration keeps the HttpContext.</summary>
    private sealed class Invocation(HttpContext? http) : FunctionContext
    {
        public override string InvocationId => "invocation-1";
        public override string FunctionId => "rerank_v1";
        public override TraceContext TraceContext => throw new NotSupportedException();
        public override BindingContext BindingContext => throw new NotSupportedException();
        public override RetryContext RetryContext => throw new NotSupportedException();
        public override IServiceProvider InstanceServices { get; set; } = null!;
        public override FunctionDefinition FunctionDefinition => throw new NotSupportedException();

        // The key Microsoft.Azure.Functions.Worker.Extensions.Http.AspNetCore stores the HttpContext under (GetHttpContext reads it).
        public override IDictionary<object, object> Items { get; set; } =
            http is null ? new Dictionary<object, object>() : new Dictionary<object, object> { ["HttpRequestContext"] = http };

        public override IInvocationFeatures Features => throw new NotSupportedException();
    }

    [Fact]
    public async Task A_function_that_throws_gets_the_500_body_and_a_request_id()
    {
        var http = new DefaultHttpContext();
        var body = new MemoryStream();
        http.Response.Body = body;
        var logger = new ListLogger<ErrorReplyMiddleware>();
        var invocation = new Invocation(http);
        Assert.Same(http, invocation.GetHttpContext());

        await new ErrorReplyMiddleware(logger).Invoke(invocation, _ => throw new InvalidOperationException("binding failed"));

        Assert.Equal(StatusCodes.Status500InternalServerError, http.Response.StatusCode);
        Assert.Matches("^[0-9a-f]{32}$", http.Response.Headers["X-Request-Id"].ToString());
        var reply = JsonNode.Parse(Encoding.UTF8.GetString(body.ToArray()))!;
        Assert.Equal("internal_error", reply["error"]!["code"]!.GetValue<string>());
        Assert.Equal(LogLevel.Error, Assert.Single(logger.Entries).Level);
    }

    [Fact]
    public async Task An_invocation_without_an_http_context_is_passed_on_untouched()
    {
        var called = false;
        await new ErrorReplyMiddleware(new ListLogger<ErrorReplyMiddleware>()).Invoke(new Invocation(null), _ =>
        {
            called = true;
            return Task.CompletedTask;
        });

        Assert.True(called);
    }
}
