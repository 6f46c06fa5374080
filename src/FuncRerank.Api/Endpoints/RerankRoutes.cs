namespace FuncRerank.Api.Endpoints;

/// <summary>Which handler answers which path. The standalone host maps exactly these; a test holds the function app to them.</summary>
public static class RerankRoutes
{
    public enum Handler
    {
        Rerank,
        Score,
        Tokenize,
        Info,
        ListModels,
        GetModel,
        Health,
        OpenApi,
        ClusterAuth,
    }

    public sealed record Route(string Method, string Path, Handler Handler);

    public static IReadOnlyList<Route> All { get; } =
    [
        new("POST", "v1/rerank", Handler.Rerank),
        new("POST", "rerank", Handler.Rerank),
        new("POST", "v2/rerank", Handler.Rerank),
        // Cohere SDKs given a base URL that already ends in /v1.
        new("POST", "v1/v1/rerank", Handler.Rerank),
        new("POST", "v1/v2/rerank", Handler.Rerank),
        new("POST", "score", Handler.Score),
        new("POST", "v1/score", Handler.Score),
        new("POST", "tokenize", Handler.Tokenize),
        new("GET", "info", Handler.Info),
        new("GET", "v1/models", Handler.ListModels),
        new("GET", "v1/models/{*id}", Handler.GetModel),
        new("GET", "health", Handler.Health),
        new("GET", "openapi.json", Handler.OpenApi),
        // Xinference's clients (Dify's Xinference provider) ask this before anything else.
        new("GET", "v1/cluster/auth", Handler.ClusterAuth),
    ];
}
