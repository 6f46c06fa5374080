using FuncRerank.Api.Endpoints;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace FuncRerank.Functions;

/// <summary>What clients probe before they rerank (TEI's info, the model list, Xinference's auth probe), plus health and the OpenAPI document.</summary>
public sealed class InfoFunctions(RerankHandlers handlers)
{
    [Function("info")]
    public Task<IActionResult> Info([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "info")] HttpRequest request) =>
        handlers.Info(request.HttpContext).AsActionResult();

    [Function("models")]
    public Task<IActionResult> Models([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/models")] HttpRequest request) =>
        handlers.ListModels(request.HttpContext).AsActionResult();

    [Function("model")]
    public Task<IActionResult> Model([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/models/{*id}")] HttpRequest request, string id) =>
        handlers.GetModel(request.HttpContext, id).AsActionResult();

    [Function("health")]
    public Task<IActionResult> Health([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health")] HttpRequest request) =>
        handlers.Health(request.HttpContext).AsActionResult();

    [Function("cluster_auth")]
    public Task<IActionResult> ClusterAuth([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/cluster/auth")] HttpRequest request) =>
        handlers.ClusterAuth(request.HttpContext).AsActionResult();

    [Function("openapi")]
    public Task<IActionResult> OpenApi([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "openapi.json")] HttpRequest request) =>
        handlers.OpenApi(request.HttpContext).AsActionResult();
}
