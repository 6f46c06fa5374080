using FuncRerank.Api.Hosting;
using FuncRerank.Api.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FuncRerank.Api.Endpoints;

/// <summary>What both hosts call: the same services, and (for ASP.NET Core) the same routes.</summary>
public static class FuncRerankServices
{
    public static IServiceCollection AddFuncRerank(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<RerankerSettings>(configuration.GetSection(RerankerSettings.SectionName));
        services.AddSingleton<RerankerState>();
        services.AddHostedService<RerankerLoader>();
        services.AddSingleton(provider =>
        {
            var settings = provider.GetRequiredService<IOptions<RerankerSettings>>().Value;
            return ApiKeyAuthenticator.FromSettings(settings.ApiKeys, settings.FunctionsKeyDirectory, ApiKeyAuthenticator.IsRunningInAzure());
        });
        services.AddSingleton<RerankHandlers>();
        services.AddRedactedRequestLogging();
        services.AddFuncRerankTelemetry(configuration);
        // No "Server: Kestrel" on replies (the standalone host's, and the worker's behind the Functions host).
        services.Configure<KestrelServerOptions>(kestrel => kestrel.AddServerHeader = false);
        return services;
    }

    public static IEndpointRouteBuilder MapFuncRerank(this IEndpointRouteBuilder endpoints)
    {
        foreach (var route in RerankRoutes.All)
        {
            RequestDelegate handle = route.Handler switch
            {
                RerankRoutes.Handler.Rerank => c => Handlers(c).Rerank(c),
                RerankRoutes.Handler.Score => c => Handlers(c).Score(c),
                RerankRoutes.Handler.Tokenize => c => Handlers(c).Tokenize(c),
                RerankRoutes.Handler.Info => c => Handlers(c).Info(c),
                RerankRoutes.Handler.ListModels => c => Handlers(c).ListModels(c),
                RerankRoutes.Handler.GetModel => c => Handlers(c).GetModel(c, (string?)c.GetRouteValue("id") ?? ""),
                RerankRoutes.Handler.Health => c => Handlers(c).Health(c),
                RerankRoutes.Handler.OpenApi => c => Handlers(c).OpenApi(c),
                RerankRoutes.Handler.ClusterAuth => c => Handlers(c).ClusterAuth(c),
                _ => throw new InvalidOperationException($"no handler for {route.Handler}"),
            };
            endpoints.MapMethods("/" + route.Path, [route.Method], handle);
        }

        return endpoints;
    }

    private static RerankHandlers Handlers(HttpContext context) => context.RequestServices.GetRequiredService<RerankHandlers>();
}
