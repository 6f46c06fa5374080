using FuncRerank.Api.Endpoints;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using Microsoft.Extensions.Logging;

namespace FuncRerank.Functions;

/// <summary>
/// The worker's part of the one error shape, the same guard the standalone host runs: a function that throws gets the
/// 500 body and <c>X-Request-Id</c> instead of the Functions host's empty 500. Unknown routes and wrong methods never
/// reach the worker: the Functions host answers those itself (see docs/functions-host.md).
/// </summary>
public sealed class ErrorReplyMiddleware(ILogger<ErrorReplyMiddleware> logger) : IFunctionsWorkerMiddleware
{
    public Task Invoke(FunctionContext context, FunctionExecutionDelegate next) =>
        context.GetHttpContext() is { } http ? ErrorReplies.GuardAsync(http, () => next(context), logger) : next(context);
}
