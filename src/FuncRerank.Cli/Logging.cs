using Microsoft.Extensions.Logging;

namespace FuncRerank.Cli;

internal static class Logging
{
    /// <summary>Everything to stderr, so stdout carries only the JSON lines a caller parses.</summary>
    public static ILoggerFactory CreateFactory() => LoggerFactory.Create(builder => builder
        .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
        .AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        })
        .AddFilter("Microsoft", LogLevel.Warning));
}
