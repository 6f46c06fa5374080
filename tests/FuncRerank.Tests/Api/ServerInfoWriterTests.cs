using System.Text.Json;
using FuncRerank.Api.Contract;
using static FuncRerank.Tests.Api.ContractJson;

namespace FuncRerank.Tests.Api;

/// <summary>The small bodies: TEI's <c>/info</c>, OpenAI's <c>/v1/models</c>, TEI's <c>/tokenize</c> answer, and Xinference's auth probe.</summary>
public sealed class ServerInfoWriterTests
{
    private static readonly DateTimeOffset Created = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);

    [Fact]
    public void InfoIsTeiShapedWithAReranker()
    {
        var info = new ServerInfo("Qwen/Qwen3-Reranker-0.6B", "Qwen3-Reranker-0.6B", "float32", MaxInputLength: 8192,
            MaxBatchTokens: 16384, MaxClientBatchSize: 1000, MaxQueuedTokens: 8388608, MaxRequestBytes: 33554432, AutoTruncate: true,
            TokenizationWorkers: 4, Version: "0.1.0",
            ExecutionProvider: "CUDAExecutionProvider", Gpu: "Tesla T4, 15,360 MiB; driver 580.65.06 (CUDA 13.0); CUDA runtime 13.0");
        var body = Written(writer => InfoResponseWriter.Write(writer, info));

        Assert.Equal("Qwen/Qwen3-Reranker-0.6B", body.GetProperty("model_id").GetString());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("model_sha").ValueKind);
        Assert.Equal("float32", body.GetProperty("model_dtype").GetString());
        Assert.Equal("Qwen3-Reranker-0.6B", body.GetProperty("served_model_name").GetString());
        var modelType = body.GetProperty("model_type");
        Assert.Equal("reranker", Assert.Single(modelType.EnumerateObject()).Name);
        Assert.True(JsonElement.DeepEquals(
            Parse("""{"id2label": {"0": "yes"}, "label2id": {"yes": 0}}"""), modelType.GetProperty("reranker")));
        Assert.False(body.TryGetProperty("max_concurrent_requests", out _)); // FuncRerank has no such limit
        Assert.Equal(8192, body.GetProperty("max_input_length").GetInt32());
        Assert.Equal(16384, body.GetProperty("max_batch_tokens").GetInt32());
        Assert.Equal(1000, body.GetProperty("max_client_batch_size").GetInt32());
        Assert.Equal(8388608, body.GetProperty("max_queued_tokens").GetInt64());
        Assert.Equal(33554432, body.GetProperty("max_request_bytes").GetInt64());
        Assert.True(body.GetProperty("auto_truncate").GetBoolean());
        Assert.Equal(4, body.GetProperty("tokenization_workers").GetInt32());
        Assert.Equal("0.1.0", body.GetProperty("version").GetString());
        Assert.Equal("CUDAExecutionProvider", body.GetProperty("execution_provider").GetString());
        Assert.Equal(info.Gpu, body.GetProperty("gpu").GetString());
    }

    [Fact]
    public void ModelListAndModel()
    {
        var list = Written(writer => ModelsResponseWriter.WriteList(writer, ["Qwen3-Reranker-0.6B", "alias"], Created));
        Assert.Equal("list", list.GetProperty("object").GetString());
        Assert.Equal(["Qwen3-Reranker-0.6B", "alias"], list.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));

        var model = Written(writer => ModelsResponseWriter.WriteModel(writer, "Qwen3-Reranker-0.6B", Created));
        Assert.True(JsonElement.DeepEquals(
            Parse("""{"id": "Qwen3-Reranker-0.6B", "object": "model", "created": 1700000000, "owned_by": "funcrerank", "model_type": "rerank"}"""),
            model));
        Assert.True(JsonElement.DeepEquals(model, list.GetProperty("data")[0]));
    }

    [Fact]
    public void TokenizeAnswersOneArrayPerInput()
    {
        IReadOnlyList<IReadOnlyList<SimpleToken>> tokens =
        [
            [new SimpleToken(14990, "hello", false), new SimpleToken(151645, "<|im_end|>", true)],
            [],
        ];
        var body = Written(writer => TokenizeResponseWriter.Write(writer, tokens));

        Assert.Equal(2, body.GetArrayLength());
        Assert.Equal(0, body[1].GetArrayLength());
        Assert.True(JsonElement.DeepEquals(Parse("""
            [{"id": 14990, "text": "hello", "special": false, "start": null, "stop": null},
             {"id": 151645, "text": "<|im_end|>", "special": true, "start": null, "stop": null}]
            """), body[0]));
    }

    [Theory]
    [InlineData(true, """{"auth": true}""")]
    [InlineData(false, """{"auth": false}""")]
    public void ClusterAuthSaysWhetherAKeyIsRequired(bool keyRequired, string expected)
    {
        var body = Written(writer => ClusterAuthResponseWriter.Write(writer, keyRequired));
        Assert.True(JsonElement.DeepEquals(Parse(expected), body));
    }
}
