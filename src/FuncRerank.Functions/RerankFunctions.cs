using FuncRerank.Api.Endpoints;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace FuncRerank.Functions;

/// <summary>
/// The rerank routes. A function has one route template, so each path clients use is its own function, all calling
/// the same handler. Functions are anonymous to the host: FuncRerank checks keys itself, in every header clients use.
/// </summary>
public sealed class RerankFunctions(RerankHandlers handlers)
{
    [Function("rerank_v1")]
    public Task<IActionResult> V1([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "v1/rerank")] HttpRequest request) =>
        handlers.Rerank(request.HttpContext).AsActionResult();

    [Function("rerank")]
    public Task<IActionResult> Root([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "rerank")] HttpRequest request) =>
        handlers.Rerank(request.HttpContext).AsActionResult();

    [Function("rerank_v2")]
    public Task<IActionResult> V2([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "v2/rerank")] HttpRequest request) =>
        handlers.Rerank(request.HttpContext).AsActionResult();

    /// <summary>Cohere SDKs given a base URL that already ends in /v1 call /v1/v1/rerank and /v1/v2/rerank.</summary>
    [Function("rerank_v1_v1")]
    public Task<IActionResult> V1V1([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "v1/v1/rerank")] HttpRequest request) =>
        handlers.Rerank(request.HttpContext).AsActionResult();

    [Function("rerank_v1_v2")]
    public Task<IActionResult> V1V2([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "v1/v2/rerank")] HttpRequest request) =>
        handlers.Rerank(request.HttpContext).AsActionResult();
}
