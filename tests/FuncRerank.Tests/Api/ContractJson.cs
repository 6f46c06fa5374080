using System.Buffers;
using System.Text.Json;
using FuncRerank.Api.Contract;

namespace FuncRerank.Tests.Api;

/// <summary>JSON in and out of the contract layer for tests: parse a literal, capture what a writer wrote, catch an <see cref="ApiError"/>.</summary>
internal static class ContractJson
{
    public static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    /// <summary>Runs a writer with the production writer settings and parses what it wrote, so tests assert on JSON, not on bytes.</summary>
    public static JsonElement Written(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, ApiJson.WriterOptions))
            write(writer);
        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }

    public static ApiError Fails(Action action) => Assert.Throws<ApiException>(action).Error;

    public static RerankRequest Rerank(string json, RerankLimits? limits = null) =>
        RerankRequestParser.Parse(Parse(json), limits ?? RerankLimits.Default);
}
