using Azure.Identity;
using Azure.Monitor.OpenTelemetry.Exporter;
using FuncRerank.Api.Endpoints;
using FuncRerank.Inference;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace FuncRerank.Api.Hosting;

/// <summary>
/// OpenTelemetry for both hosts: HTTP server spans (query strings redacted, so a <c>?code=</c> key never leaves), the
/// <c>FuncRerank</c> spans (<see cref="RerankTracing"/>), the <c>FuncRerank</c> meter and the logs. Exported to Azure
/// Monitor when <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c> is set (with the managed identity <c>AZURE_CLIENT_ID</c>
/// names, as infra/modules/function-app.bicep sets both: Application Insights' local auth is off), over OTLP when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (<c>OTEL_EXPORTER_OTLP_PROTOCOL</c> etc. as the SDK reads them), and not
/// at all otherwise: then nothing is registered and nothing is recorded.
/// </summary>
public static class FuncRerankTelemetry
{
    public const string ServiceName = "funcrerank";

    private static readonly string HealthPath = "/" + RerankRoutes.All.Single(r => r.Handler == RerankRoutes.Handler.Health).Path;

    public static bool IsEnabled(IConfiguration configuration) => AzureMonitorConnectionString(configuration) is not null || OtlpEndpoint(configuration) is not null;

    /// <returns>The OpenTelemetry builder when telemetry is on (a host adds its own instrumentation to it), else null.</returns>
    public static IOpenTelemetryBuilder? AddFuncRerankTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        if (!IsEnabled(configuration))
            return null;
        var builder = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ServiceName, serviceVersion: typeof(FuncRerankTelemetry).Assembly.GetName().Version?.ToString()))
            // Probes call /health every few seconds on every replica: traced, they would bury the requests that matter.
            .WithTracing(tracing => tracing.AddSource(RerankTracing.SourceName)
                .AddAspNetCoreInstrumentation(options => options.Filter = context => !context.Request.Path.Equals(HealthPath, StringComparison.OrdinalIgnoreCase)))
            .WithMetrics(metrics => metrics.AddMeter(RerankTracing.SourceName))
            .WithLogging();
        if (AzureMonitorConnectionString(configuration) is { } connectionString)
        {
            builder.UseAzureMonitorExporter(options =>
            {
                options.ConnectionString = connectionString;
                // Every trace: with a per-second budget instead, the first requests after a start went unsampled in
                // TelemetryTests (3 runs of 5), and those are the ones a cold start is judged by.
                options.TracesPerSecond = null;
                options.SamplingRatio = 1.0F;
                if (configuration["AZURE_CLIENT_ID"] is { Length: > 0 } clientId)
                    options.Credential = new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId));
            });
        }

        if (OtlpEndpoint(configuration) is not null)
            builder.UseOtlpExporter();
        return builder;
    }

    private static string? AzureMonitorConnectionString(IConfiguration configuration) =>
        configuration["APPLICATIONINSIGHTS_CONNECTION_STRING"] is { Length: > 0 } value ? value : null;

    private static string? OtlpEndpoint(IConfiguration configuration) =>
        configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] is { Length: > 0 } value ? value : null;
}
