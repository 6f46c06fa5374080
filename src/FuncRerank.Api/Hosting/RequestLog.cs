using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FuncRerank.Api.Hosting;

/// <summary>
/// One log line per request that names no secret and no caller data: method, path (never the query string, where
/// <c>?code=</c> keys travel), status, time and request id. ASP.NET Core's own request lines log the full URL, key
/// included, so <see cref="AddRedactedRequestLogging"/> keeps them to warnings and this line takes their place.
/// </summary>
public static class RequestLog
{
    public const string Category = "FuncRerank.Requests";

    /// <summary>nginx's status for a request whose client went away before its reply was complete; logged, never sent.</summary>
    public const int ClientClosedRequest = 499;

    private static readonly object ClientClosedKey = new();

    /// <summary>ASP.NET Core's "Request starting/finished" lines, which carry the query string.</summary>
    public const string HostingDiagnosticsCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

    /// <summary>
    /// Added after the configuration's rules, so it wins over a <c>Logging:LogLevel</c> that would turn those lines
    /// back on (only a provider-specific rule for that exact category could).
    /// </summary>
    public static IServiceCollection AddRedactedRequestLogging(this IServiceCollection services) =>
        services.AddLogging(logging => logging.AddFilter(HostingDiagnosticsCategory, LogLevel.Warning));

    /// <summary>Records that the client went away while its request was being served, so the log says 499 whatever status was set.</summary>
    public static void MarkClientClosed(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Items[ClientClosedKey] = true;
    }

    /// <summary>
    /// The status as the log reports it: 499 when the handler saw its client leave while the request was waiting, being
    /// scored or being answered. A body cut short stays the 400 it was answered with (to nobody), as on nginx.
    /// </summary>
    public static int LoggedStatus(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Items.ContainsKey(ClientClosedKey) ? ClientClosedRequest : context.Response.StatusCode;
    }

    /// <summary>Logs each request when its response is done, at Information (category <see cref="Category"/>), with its time.</summary>
    public static IApplicationBuilder UseRequestLog(this IApplicationBuilder app)
    {
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(Category);
        return app.Use(async (context, next) =>
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await next(context);
            }
            finally
            {
                if (logger.IsEnabled(LogLevel.Information))
                    logger.LogInformation("{Method} {Path} {Status} in {Milliseconds:F1} ms (request {RequestId})",
                        context.Request.Method, context.Request.PathBase + context.Request.Path, LoggedStatus(context),
                        Stopwatch.GetElapsedTime(started).TotalMilliseconds, context.Response.Headers["X-Request-Id"].ToString());
            }
        });
    }
}
