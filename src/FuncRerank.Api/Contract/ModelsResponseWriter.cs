using System.Text.Json;

namespace FuncRerank.Api.Contract;

/// <summary>
/// Writes <c>GET /v1/models</c> (OpenAI's list) and <c>GET /v1/models/{id}</c>. <c>model_type: "rerank"</c> is what
/// Dify's Xinference provider checks before it will use a model.
/// </summary>
public static class ModelsResponseWriter
{
    /// <param name="created">When the model was loaded (unix seconds in the body).</param>
    public static void WriteList(Utf8JsonWriter writer, IReadOnlyList<string> modelIds, DateTimeOffset created)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(modelIds);
        writer.WriteStartObject();
        writer.WriteString("object", "list");
        writer.WriteStartArray("data");
        foreach (var id in modelIds)
            WriteModel(writer, id, created);
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    public static void WriteModel(Utf8JsonWriter writer, string modelId, DateTimeOffset created)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteString("id", modelId);
        writer.WriteString("object", "model");
        writer.WriteNumber("created", created.ToUnixTimeSeconds());
        writer.WriteString("owned_by", "funcrerank");
        writer.WriteString("model_type", "rerank");
        writer.WriteEndObject();
    }
}
