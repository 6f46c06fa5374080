using System.Collections.Concurrent;
using System.Threading.Channels;
using Grpc.Core;
using Microsoft.Azure.WebJobs.Script.Grpc.Messages;

namespace FuncRerank.Tests.FunctionsHost;

/// <summary>
/// The host's end of one worker's <c>FunctionRpc.EventStream</c>: what the worker sent (every message, kept for the
/// tests), what the host still waits for (init, metadata, loads, invocations), and how the stream ended. The host
/// follows the same order (Azure/azure-functions-host <c>src/WebJobs.Script.Grpc/Channel/GrpcWorkerChannel.cs</c>):
/// StartStream → WorkerInitRequest → FunctionsMetadataRequest → FunctionLoadRequest per function → InvocationRequest.
/// </summary>
internal sealed class WorkerChannel(string workerId)
{
    private readonly Channel<StreamingMessage> _outbound = Channel.CreateUnbounded<StreamingMessage>();
    private readonly TaskCompletionSource<StartStream> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<string> _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<string, TaskCompletionSource<StreamingMessage>> _awaited = new();

    public string WorkerId => workerId;

    /// <summary>Every message the worker sent, in order.</summary>
    public ConcurrentQueue<StreamingMessage> Received { get; } = new();

    public Task<StartStream> Started => _started.Task;

    /// <summary>Completes with the reason when the worker's stream ends (the worker stopped, died or broke the protocol).</summary>
    public Task<string> Ended => _ended.Task;

    public void Send(StreamingMessage message) => _outbound.Writer.TryWrite(message);

    /// <summary>The worker's next answer of this kind (and, for loads and invocations, for this function or invocation id).</summary>
    public Task<StreamingMessage> Expect(StreamingMessage.ContentOneofCase kind, string id = "")
    {
        var waiting = _awaited.GetOrAdd(Key(kind, id), _ => new(TaskCreationOptions.RunContinuationsAsynchronously));
        if (_ended.Task.IsCompleted)
            waiting.TrySetException(new InvalidOperationException(_ended.Task.Result));
        return waiting.Task;
    }

    /// <summary>Runs one EventStream call: the worker's first message must be StartStream with the id it was started with.</summary>
    public async Task RunAsync(IAsyncStreamReader<StreamingMessage> fromWorker, IServerStreamWriter<StreamingMessage> toWorker, CancellationToken cancellationToken)
    {
        var writer = Task.Run(async () =>
        {
            await foreach (var message in _outbound.Reader.ReadAllAsync(cancellationToken))
                await toWorker.WriteAsync(message, cancellationToken);
        }, cancellationToken);
        string reason;
        try
        {
            while (await fromWorker.MoveNext(cancellationToken))
                Receive(fromWorker.Current);
            reason = "the worker closed its EventStream";
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or Grpc.Core.RpcException or InvalidOperationException)
        {
            reason = $"the worker's EventStream broke off ({e.GetType().Name}: {e.Message})";
        }

        End(reason);
        _outbound.Writer.TryComplete();
        await writer.ContinueWith(_ => { }, TaskScheduler.Default);
    }

    /// <summary>Ends the stream from the host's side (the worker process is gone): every wait fails with the reason.</summary>
    public void End(string reason)
    {
        if (!_ended.TrySetResult(reason))
            return;
        _started.TrySetException(new InvalidOperationException(reason));
        foreach (var waiting in _awaited.Values)
            waiting.TrySetException(new InvalidOperationException(reason));
    }

    private void Receive(StreamingMessage message)
    {
        Received.Enqueue(message);
        switch (message.ContentCase)
        {
            case StreamingMessage.ContentOneofCase.StartStream when message.StartStream.WorkerId == workerId:
                _started.TrySetResult(message.StartStream);
                break;
            case StreamingMessage.ContentOneofCase.StartStream:
                End($"the worker said it is {message.StartStream.WorkerId}, but was started as {workerId}");
                break;
            case StreamingMessage.ContentOneofCase.FunctionLoadResponse:
                Answer(message, message.FunctionLoadResponse.FunctionId);
                break;
            case StreamingMessage.ContentOneofCase.InvocationResponse:
                Answer(message, message.InvocationResponse.InvocationId);
                break;
            case StreamingMessage.ContentOneofCase.RpcLog:
                break; // kept in Received; the host writes these to its own log
            default:
                Answer(message, "");
                break;
        }
    }

    private void Answer(StreamingMessage message, string id) =>
        _awaited.GetOrAdd(Key(message.ContentCase, id), _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(message);

    private static string Key(StreamingMessage.ContentOneofCase kind, string id) => $"{kind}/{id}";
}
