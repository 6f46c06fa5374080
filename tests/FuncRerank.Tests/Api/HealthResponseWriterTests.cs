using System.Text.Json;
using FuncRerank.Api.Contract;
using FuncRerank.Inference;
using static FuncRerank.Tests.Api.ContractJson;

namespace FuncRerank.Tests.Api;

/// <summary><c>GET /health</c>'s 200 body: the replica's device and why, its GPU, what waits in its queue and what is still being tokenized.</summary>
public sealed class HealthResponseWriterTests
{
    [Fact]
    public void HealthNamesTheDeviceTheProviderTheGpuAndTheQueue()
    {
        var health = new ServerHealth("Qwen3-Reranker-0.6B", ExecutionDevice.Cuda, "CUDAExecutionProvider",
            "the device asked for is cuda and the CUDA provider loaded on device 0",
            "Tesla T4, 15,360 MiB; driver 580.65.06 (CUDA 13.0); CUDA runtime 13.0", new QueueStatus(Requests: 3, Pairs: 120, Tokens: 51_234, Tokenizing: 2, ReservedTokens: 9_876));

        var body = Written(writer => HealthResponseWriter.Write(writer, health));

        Assert.Equal(["status", "model", "device", "execution_provider", "execution_provider_reason", "gpu", "queue"],
            body.EnumerateObject().Select(p => p.Name));
        Assert.True(JsonElement.DeepEquals(Parse("""
            {
              "status": "ok",
              "model": "Qwen3-Reranker-0.6B",
              "device": "cuda",
              "execution_provider": "CUDAExecutionProvider",
              "execution_provider_reason": "the device asked for is cuda and the CUDA provider loaded on device 0",
              "gpu": "Tesla T4, 15,360 MiB; driver 580.65.06 (CUDA 13.0); CUDA runtime 13.0",
              "queue": {"requests": 3, "pairs": 120, "tokens": 51234, "tokenizing": 2, "reserved_tokens": 9876}
            }
            """), body), body.GetRawText());
    }

    [Fact]
    public void AnIdleCpuReplicaWithNoGpuReportHasANullGpuAndAnEmptyQueue()
    {
        var health = new ServerHealth("reranker", ExecutionDevice.Cpu, "CPUExecutionProvider", "the device asked for is cpu", Gpu: null, default);

        var body = Written(writer => HealthResponseWriter.Write(writer, health));

        Assert.Equal("cpu", body.GetProperty("device").GetString());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("gpu").ValueKind);
        Assert.True(JsonElement.DeepEquals(Parse("""{"requests": 0, "pairs": 0, "tokens": 0, "tokenizing": 0, "reserved_tokens": 0}"""), body.GetProperty("queue")));
    }
}
