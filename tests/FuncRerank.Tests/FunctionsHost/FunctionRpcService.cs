using Grpc.Core;
using Microsoft.Azure.WebJobs.Script.Grpc.Messages;

namespace FuncRerank.Tests.FunctionsHost;

/// <summary>
/// The gRPC service the worker dials back to (Azure/azure-functions-host
/// <c>src/WebJobs.Script.Grpc/Server/FunctionRpcService.cs</c>): one bidirectional EventStream per worker.
/// </summary>
internal sealed class FunctionRpcService(WorkerChannel channel) : FunctionRpc.FunctionRpcBase
{
    public override Task EventStream(IAsyncStreamReader<StreamingMessage> requestStream, IServerStreamWriter<StreamingMessage> responseStream,
        ServerCallContext context) =>
        channel.RunAsync(requestStream, responseStream, context.CancellationToken);
}
