using FuncRerank.Api.Endpoints;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace FuncRerank.Functions;

/// <summary>vLLM's score API and TEI's tokenize.</summary>
public sealed class ScoreFunctions(RerankHandlers handlers)
{
    [Function("score")]
    public Task<IActionResult> Score([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "score")] HttpRequest request) =>
        handlers.Score(request.HttpContext).AsActionResult();

    [Function("score_v1")]
    public Task<IActionResult> ScoreV1([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "v1/score")] HttpRequest request) =>
        handlers.Score(request.HttpContext).AsActionResult();

    [Function("tokenize")]
    public Task<IActionResult> Tokenize([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "tokenize")] HttpRequest request) =>
        handlers.Tokenize(request.HttpContext).AsActionResult();
}
