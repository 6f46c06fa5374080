using System.CommandLine;
using FuncRerank.Api.Endpoints;
using FuncRerank.Api.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;

namespace FuncRerank.Cli;

/// <summary>
/// The standalone host: plain ASP.NET Core on Kestrel, for machines without Azure Functions Core Tools, containers
/// outside Azure, and end-to-end tests. It maps the same handlers as the function app; nothing about reranking is here.
/// </summary>
internal static class ServeCommand
{
    public const string DefaultUrls = "http://0.0.0.0:8012";

    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "A Hugging Face Qwen3-Reranker directory or a directory made by `funcrerank build` (Reranker:ModelPath)" };
        var modelId = new Option<string?>("--model-id") { Description = $"A Hugging Face Hub id, downloaded on first start (Reranker:ModelId; default {RerankerSettings.DefaultModelId})" };
        var urls = new Option<string>("--urls") { Description = "Where to listen", DefaultValueFactory = _ => DefaultUrls };
        var dtype = CliOptions.Dtype();
        var device = CliOptions.Device();
        var maxLength = CliOptions.MaxLength();
        var cache = CliOptions.Cache();
        var command = new Command("serve", "Serve the rerank API (POST /v1/rerank and the rest; see README) over HTTP")
        {
            model, modelId, urls, dtype, device, maxLength, cache,
        };
        command.SetAction(result => CommandRunner.Run(() =>
        {
            if (result.GetValue(model) is not null && result.GetValue(modelId) is not null)
                throw new UsageException("give either --model or --model-id, not both");
            // A malformed id fails here, as a usage error, rather than in the loader once the server is up.
            if (result.GetValue(modelId) is { } id)
                _ = ModelSource.HubLocation(id);

            CliOptions.ParseDtype(result.GetValue(dtype)!);
            CliOptions.ParseDevice(result.GetValue(device)!);

            var builder = WebApplication.CreateSlimBuilder();
            // Options given on the command line win over appsettings and Reranker__* environment variables.
            var overrides = new Dictionary<string, string?>();
            void Set(string key, string? value, bool given)
            {
                if (given)
                    overrides[$"{RerankerSettings.SectionName}:{key}"] = value;
            }

            Set(nameof(RerankerSettings.ModelPath), result.GetValue(model), result.GetValue(model) is not null);
            Set(nameof(RerankerSettings.ModelId), result.GetValue(modelId), result.GetValue(modelId) is not null);
            Set(nameof(RerankerSettings.Dtype), result.GetValue(dtype), result.GetResult(dtype) is { Implicit: false });
            Set(nameof(RerankerSettings.Device), result.GetValue(device), result.GetResult(device) is { Implicit: false });
            Set(nameof(RerankerSettings.MaxLength), result.GetValue(maxLength).ToString(), result.GetResult(maxLength) is { Implicit: false });
            Set(nameof(RerankerSettings.CacheDirectory), result.GetValue(cache), result.GetValue(cache) is not null);
            builder.Configuration.AddInMemoryCollection(overrides);
            builder.WebHost.UseUrls(result.GetValue(urls)!);
            builder.WebHost.ConfigureKestrel((context, kestrel) =>
            {
                // Kestrel's own limits, e.g. Kestrel__Limits__RequestHeadersTimeout=00:00:10 behind a slow proxy.
                context.Configuration.GetSection("Kestrel:Limits").Bind(kestrel.Limits);
                kestrel.ConfigureEndpointDefaults(listen => listen.UseJsonRejections());
            });
            builder.Services.AddFuncRerank(builder.Configuration);

            var app = builder.Build();
            app.UseRequestLog();
            app.UseErrorReplies();
            app.MapFuncRerank();
            app.Run();
            return 0;
        }));
        return command;
    }
}
