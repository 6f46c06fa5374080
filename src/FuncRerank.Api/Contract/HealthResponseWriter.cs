using System.Text.Json;

namespace FuncRerank.Api.Contract;

/// <summary>
/// Writes <c>GET /health</c>'s 200 body, for load balancers, probes and whoever reads a replica's state: which device and
/// provider it got, why, and how much waits in its queue. A replica that would not serve answers the one error body instead.
/// </summary>
public static class HealthResponseWriter
{
    public static void Write(Utf8JsonWriter writer, ServerHealth health)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(health);
        writer.WriteStartObject();
        writer.WriteString("status", "ok");
        writer.WriteString("model", health.Model);
        writer.WriteString("device", health.Device.ToString().ToLowerInvariant());
        writer.WriteString("execution_provider", health.ExecutionProvider);
        writer.WriteString("execution_provider_reason", health.ExecutionProviderReason);
        writer.WriteString("gpu", health.Gpu);
        // What waits for the model now (pairs in the running batch are not counted), and the requests still being
        // tokenized with the tokens they reserved so far: max_queued_tokens bounds tokens + reserved_tokens.
        var queue = health.Queue;
        writer.WriteStartObject("queue");
        writer.WriteNumber("requests", queue.Requests);
        writer.WriteNumber("pairs", queue.Pairs);
        writer.WriteNumber("tokens", queue.Tokens);
        writer.WriteNumber("tokenizing", queue.Tokenizing);
        writer.WriteNumber("reserved_tokens", queue.ReservedTokens);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }
}
