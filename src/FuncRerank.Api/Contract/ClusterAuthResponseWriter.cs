using System.Text.Json;

namespace FuncRerank.Api.Contract;

/// <summary>
/// Writes Xinference's <c>GET /v1/cluster/auth</c>: <c>{"auth": true}</c> when keys are required. Xinference's client
/// sends its key only after an <c>auth: true</c> here, so the answer must be the truth.
/// </summary>
public static class ClusterAuthResponseWriter
{
    public static void Write(Utf8JsonWriter writer, bool keyRequired)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteBoolean("auth", keyRequired);
        writer.WriteEndObject();
    }
}
