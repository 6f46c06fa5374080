using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using Duration = Google.Protobuf.WellKnownTypes.Duration;
using FuncRerank.Launcher;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Azure.WebJobs.Script.Grpc.Messages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MsgType = Microsoft.Azure.WebJobs.Script.Grpc.Messages.StreamingMessage.ContentOneofCase;

namespace FuncRerank.Tests.FunctionsHost;

/// <summary>
/// A stand-in for the Azure Functions host (what <c>func start</c> and Functions on Container Apps run in front of the
/// app), small and only as far as an HTTP-only .NET isolated app with ASP.NET Core integration needs it. It starts the
/// built worker as its own process with the host's command line and environment, speaks the host's side of the
/// worker protocol over gRPC on 127.0.0.1, and serves the functions' routes over HTTP by forwarding each request to the
/// worker's own HTTP endpoint while it sends the matching InvocationRequest. docs/functions-host.md ("The function app under the
/// Functions host's protocol") lists what it follows in the host's and the worker's source.
/// </summary>
internal sealed class FunctionsTestHost : IAsyncDisposable
{
    /// <summary>The host version whose source this follows (azure-functions-host build/common.props, commit 89dc438).</summary>
    public const string HostVersion = "4.1037.0.0";

    /// <summary>WorkerConstants.WorkerTerminateGracePeriodInSeconds.</summary>
    public static readonly TimeSpan TerminateGracePeriod = TimeSpan.FromSeconds(5);

    private static readonly string[] HopByHopHeaders = ["Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade"];

    private readonly WorkerChannel _channel;
    private readonly WebApplication _grpc;
    private readonly StringBuilder _output = new();
    private readonly HttpMessageInvoker _forwarder = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
    private Process? _worker;
    private WebApplication? _http;
    private string _routePrefix = "api";

    private FunctionsTestHost(WorkerChannel channel, WebApplication grpc)
    {
        _channel = channel;
        _grpc = grpc;
    }

    /// <summary>The built function app (src/FuncRerank.Functions output): the script root and the worker's directory.</summary>
    public static string AppDirectory { get; } = typeof(FunctionsTestHost).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "FunctionsWorkerDirectory").Value!;

    /// <summary>The host's public HTTP address; requests to it reach the functions.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    public HttpClient Client { get; private set; } = null!;

    public Process Worker => _worker!;

    public IReadOnlyDictionary<string, string> WorkerCapabilities { get; private set; } = new Dictionary<string, string>();

    public IReadOnlyList<HttpFunction> Functions { get; private set; } = [];

    /// <summary>Every message the worker sent over its EventStream.</summary>
    public IReadOnlyCollection<StreamingMessage> Received => _channel.Received;

    /// <summary>The InvocationRequests sent (function name and request), in order.</summary>
    public ConcurrentQueue<(string Function, InvocationRequest Request)> Invocations { get; } = new();

    /// <summary>What the worker printed, the logs it sent over gRPC, and what the host logged.</summary>
    public string Output
    {
        get
        {
            var logs = _channel.Received.Where(m => m.ContentCase == MsgType.RpcLog).Select(m => $"[rpc {m.RpcLog.Level}] {m.RpcLog.Category}: {m.RpcLog.Message}");
            lock (_output)
                return $"{_output}{string.Join('\n', logs)}";
        }
    }

    /// <summary>
    /// Starts the gRPC server and the worker and runs the host's start-up conversation; the HTTP routes are served once
    /// every function loaded. <paramref name="appSettings"/> are the app settings, which the host's process has as
    /// environment variables and its worker inherits (a null value removes one).
    /// </summary>
    public static async Task<FunctionsTestHost> StartAsync(IReadOnlyDictionary<string, string?> appSettings)
    {
        var channel = new WorkerChannel(Guid.NewGuid().ToString());
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        // AspNetCoreGrpcServer: HTTP/2 without TLS on 127.0.0.1, messages up to int.MaxValue bytes.
        builder.WebHost.UseUrls("http://127.0.0.1:0").ConfigureKestrel(k => k.ConfigureEndpointDefaults(l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc(o => (o.MaxReceiveMessageSize, o.MaxSendMessageSize) = (int.MaxValue, int.MaxValue));
        builder.Services.AddSingleton(channel);
        var grpc = builder.Build();
        grpc.MapGrpcService<FunctionRpcService>();
        await grpc.StartAsync();

        var host = new FunctionsTestHost(channel, grpc);
        try
        {
            await host.StartWorkerAsync(appSettings);
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// What the host does when it shuts a worker down (GrpcWorkerChannel.StopWorkerProcess): WorkerTerminate with a
    /// 5-second grace period, when the worker said it handles one; then it waits that long for the process to exit.
    /// Returns whether the worker exited by itself; one that did not is killed.
    /// </summary>
    public async Task<bool> TerminateWorkerAsync()
    {
        if (WorkerCapabilities.ContainsKey("HandlesWorkerTerminateMessage"))
            _channel.Send(new StreamingMessage { WorkerTerminate = new WorkerTerminate { GracePeriod = Duration.FromTimeSpan(TerminateGracePeriod) } });
        using var grace = new CancellationTokenSource(TerminateGracePeriod);
        try
        {
            await _worker!.WaitForExitAsync(grace.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            KillWorker();
            return false;
        }
    }

    /// <summary>Why the worker is gone, once it is: how its EventStream ended, and how its process exited.</summary>
    public async Task<string> WorkerGoneAsync(TimeSpan timeout)
    {
        var ended = await _channel.Ended.WaitAsync(timeout);
        using var deadline = new CancellationTokenSource(timeout);
        await _worker!.WaitForExitAsync(deadline.Token);
        var code = _worker.ExitCode;
        return $"{ended}; worker process {_worker.Id} exited with code {code}{(code > 128 ? $" (signal {code - 128})" : "")}";
    }

    public async ValueTask DisposeAsync()
    {
        Client?.Dispose();
        KillWorker();
        _channel.End("the host stopped");
        if (_http is not null)
            await _http.DisposeAsync();
        await _grpc.DisposeAsync();
        _forwarder.Dispose();
        _worker?.Dispose();
    }

    private async Task StartWorkerAsync(IReadOnlyDictionary<string, string?> appSettings)
    {
        _worker = Process.Start(WorkerStartInfo(new Uri(_grpc.Urls.Single()), appSettings))!;
        _worker.EnableRaisingEvents = true;
        _worker.OutputDataReceived += (_, e) => Log(e.Data);
        _worker.ErrorDataReceived += (_, e) => Log(e.Data);
        _worker.Exited += (_, _) => OnWorkerExited();
        _worker.BeginOutputReadLine();
        _worker.BeginErrorReadLine();

        // StartStream (ProcessStartupTimeout), then WorkerInitRequest with the capabilities the host advertises.
        await Within(_channel.Started, TimeSpan.FromSeconds(60), "StartStream");
        var initResponse = Expect(MsgType.WorkerInitResponse);
        var init = new WorkerInitRequest { HostVersion = HostVersion, WorkerDirectory = AppDirectory, FunctionAppDirectory = AppDirectory };
        init.Capabilities.Add("MultiStream", "10");
        _channel.Send(new StreamingMessage { WorkerInitRequest = init });
        var initialized = (await Within(initResponse, TimeSpan.FromSeconds(30), "WorkerInitResponse")).WorkerInitResponse;
        Succeeded(initialized.Result, "WorkerInitRequest");
        WorkerCapabilities = new Dictionary<string, string>(initialized.Capabilities);
        if (!WorkerCapabilities.TryGetValue("HttpUri", out var httpUri))
            throw new NotSupportedException("The worker does not proxy HTTP (no HttpUri capability): the host would send each request inside " +
                                            $"its InvocationRequest, which this test host does not do.\n{Output}");
        if (WorkerCapabilities.ContainsKey("SupportsLoadResponseCollection"))
            throw new NotSupportedException("The worker takes FunctionLoadRequestCollection, which this test host does not send.");

        // Worker indexing: the worker reports its functions, the host validates them and sends one FunctionLoadRequest each.
        var metadataResponse = Expect(MsgType.FunctionMetadataResponse);
        _channel.Send(new StreamingMessage { FunctionsMetadataRequest = new FunctionsMetadataRequest { FunctionAppDirectory = AppDirectory } });
        var metadata = (await Within(metadataResponse, TimeSpan.FromSeconds(60), "FunctionMetadataResponse")).FunctionMetadataResponse;
        Succeeded(metadata.Result, "FunctionsMetadataRequest");
        if (metadata.UseDefaultMetadataIndexing)
            throw new NotSupportedException("The worker asked the host to index the functions itself, which this test host does not do.");
        Functions = metadata.FunctionMetadataResults.Select(m => HttpFunction.FromMetadata(m)
            ?? throw new NotSupportedException($"{m.Name} has no HTTP trigger; this test host serves HTTP functions only.")).ToArray();
        var invalid = HttpFunction.HostValidationErrors(Functions);
        if (invalid.Count > 0)
            throw new InvalidOperationException($"The host would not serve these functions: {string.Join("; ", invalid)}");

        foreach (var function in Functions)
        {
            var loaded = Expect(MsgType.FunctionLoadResponse, function.FunctionId);
            _channel.Send(new StreamingMessage { FunctionLoadRequest = LoadRequest(function.Metadata) });
            Succeeded((await Within(loaded, TimeSpan.FromSeconds(60), $"FunctionLoadResponse for {function.Name}")).FunctionLoadResponse.Result,
                $"FunctionLoadRequest for {function.Name}");
        }

        _routePrefix = (string?)JsonNode.Parse(File.ReadAllText(Path.Combine(AppDirectory, "host.json")))!["extensions"]?["http"]?["routePrefix"] ?? "api";
        await StartHttpAsync(new Uri(httpUri));
    }

    /// <summary>
    /// The worker's command line (DefaultWorkerProcessFactory.GetArguments + RpcWorkerContext.GetFormattedArguments:
    /// executable and worker path from the app's worker.config.json) and environment (RpcWorkerProcess.CreateWorkerProcess:
    /// the host's own, plus the worker and application directories), started in the script root.
    /// </summary>
    private ProcessStartInfo WorkerStartInfo(Uri grpcUri, IReadOnlyDictionary<string, string?> appSettings)
    {
        var description = JsonNode.Parse(File.ReadAllText(Path.Combine(AppDirectory, "worker.config.json")))!["description"]!;
        if ((string?)description["workerIndexing"] != "true")
            throw new NotSupportedException("worker.config.json does not ask for worker indexing; the host would read functions.metadata itself.");
        var start = new ProcessStartInfo((string)description["defaultExecutablePath"]!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppDirectory,
        };
        var requestId = Guid.NewGuid().ToString();
        const string maxMessageLength = "2147483647"; // RpcWorkerConstants.DefaultMaxMessageLengthBytes
        string[] arguments =
        [
            Path.Combine(AppDirectory, (string)description["defaultWorkerPath"]!),
            "--host", grpcUri.Host, "--port", grpcUri.Port.ToString(), "--workerId", _channel.WorkerId, "--requestId", requestId,
            "--grpcMaxMessageLength", maxMessageLength, "--functions-uri", grpcUri.AbsoluteUri, "--functions-worker-id", _channel.WorkerId,
            "--functions-request-id", requestId, "--functions-grpc-max-message-length", maxMessageLength,
        ];
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        start.Apply(appSettings);
        start.Environment["FUNCTIONS_WORKER_DIRECTORY"] = AppDirectory;
        start.Environment["FUNCTIONS_APPLICATION_DIRECTORY"] = AppDirectory;
        return start;
    }

    /// <summary>GrpcWorkerChannel.GetFunctionLoadRequest: the indexed metadata back, bindings as BindingInfo (type, direction).</summary>
    private static FunctionLoadRequest LoadRequest(RpcFunctionMetadata indexed)
    {
        var metadata = new RpcFunctionMetadata
        {
            Name = indexed.Name,
            Directory = indexed.Directory,
            EntryPoint = indexed.EntryPoint,
            ScriptFile = indexed.ScriptFile,
            IsProxy = false,
        };
        foreach (var raw in indexed.RawBindings)
        {
            var binding = JsonNode.Parse(raw)!;
            metadata.Bindings.Add((string)binding["name"]!, new BindingInfo
            {
                Type = (string)binding["type"]!,
                Direction = Enum.Parse<BindingInfo.Types.Direction>((string?)binding["direction"] ?? "in", ignoreCase: true),
            });
        }

        return new FunctionLoadRequest { FunctionId = indexed.FunctionId, Metadata = metadata };
    }

    private async Task StartHttpAsync(Uri workerHttpUri)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _http = builder.Build();
        _http.Run(context => InvokeAsync(context, workerHttpUri));
        await _http.StartAsync();
        BaseAddress = new Uri(_http.Urls.Single() + "/");
        Client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
    }

    /// <summary>
    /// One HTTP request, as the host runs an HTTP-triggered function of a proxying worker (FunctionInvocationMiddleware,
    /// GrpcWorkerChannel.SendInvocationRequest, DefaultHttpProxyService): match the route, forward the request to the
    /// worker's HttpUri with the invocation id in <c>x-ms-invocation-id</c>, then send the InvocationRequest; the
    /// worker's HTTP response goes back to the client as it is, and a failed invocation is a 500 if nothing was sent yet.
    /// </summary>
    private async Task InvokeAsync(HttpContext context, Uri workerHttpUri)
    {
        RouteValueDictionary routeValues = [];
        var function = Functions.FirstOrDefault(f => f.TryMatch(_routePrefix, context.Request.Method, context.Request.Path, out routeValues));
        if (function is null)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        var invocationId = Guid.NewGuid().ToString();
        var answered = Expect(MsgType.InvocationResponse, invocationId);
        var request = InvocationRequest(function, invocationId, routeValues, context.Request.Query);
        var forwarding = ForwardAsync(context, workerHttpUri, invocationId);
        Invocations.Enqueue((function.Name, request));
        _channel.Send(new StreamingMessage { InvocationRequest = request });
        try
        {
            await forwarding;
            var result = (await answered).InvocationResponse.Result;
            if (result.Status != StatusResult.Types.Status.Success)
                throw new InvalidOperationException($"invocation {invocationId} of {function.Name}: {result.Status} {result.Exception?.Message}");
        }
        catch (Exception e) when (e is InvalidOperationException or HttpRequestException or IOException)
        {
            Log($"[host] {function.Name} failed: {e.Message}");
            if (!context.Response.HasStarted)
                context.Response.StatusCode = StatusCodes.Status500InternalServerError;
        }
    }

    /// <summary>
    /// ScriptInvocationContextExtensions.ToRpcInvocationRequest for a proxying worker: the trigger's input is an empty
    /// RpcHttp (the request itself travels over HTTP); the binding data are the query values (but <c>code</c>) and the
    /// route values, which the worker binds to function parameters such as <c>id</c>.
    /// </summary>
    private static InvocationRequest InvocationRequest(HttpFunction function, string invocationId, RouteValueDictionary routeValues, IQueryCollection query)
    {
        var request = new InvocationRequest
        {
            FunctionId = function.FunctionId,
            InvocationId = invocationId,
            TraceContext = new RpcTraceContext { TraceParent = $"00-{ActivityTraceId.CreateRandom()}-{ActivitySpanId.CreateRandom()}-00" },
        };
        request.InputData.Add(new ParameterBinding { Name = function.TriggerBindingName, Data = new TypedData { Http = new RpcHttp() } });
        foreach (var (name, value) in query.Where(q => !string.Equals(q.Key, "code", StringComparison.OrdinalIgnoreCase)))
            request.TriggerMetadata[name] = new TypedData { String = value.ToString() };
        foreach (var (name, value) in routeValues.Where(v => v.Value is not null))
            request.TriggerMetadata[name] = new TypedData { String = value!.ToString() };
        return request;
    }

    /// <summary>The host's YARP forwarder with its default transforms: the request as it came, X-Forwarded-* added.</summary>
    private async Task ForwardAsync(HttpContext context, Uri workerHttpUri, string invocationId)
    {
        var incoming = context.Request;
        incoming.Headers.TryAdd("x-ms-invocation-id", invocationId);
        using var outgoing = new HttpRequestMessage(new HttpMethod(incoming.Method),
            $"{workerHttpUri.GetLeftPart(UriPartial.Authority)}{incoming.Path.ToUriComponent()}{incoming.QueryString.ToUriComponent()}");
        if (incoming.ContentLength > 0 || incoming.Headers.TransferEncoding.Count > 0)
            outgoing.Content = new StreamContent(incoming.Body);
        foreach (var (name, values) in incoming.Headers)
        {
            if (HopByHopHeaders.Contains(name, StringComparer.OrdinalIgnoreCase) || name.Equals("Host", StringComparison.OrdinalIgnoreCase))
                continue;
            if (!outgoing.Headers.TryAddWithoutValidation(name, values.ToArray()))
                outgoing.Content?.Headers.TryAddWithoutValidation(name, values.ToArray());
        }

        outgoing.Headers.TryAddWithoutValidation("X-Forwarded-For", context.Connection.RemoteIpAddress?.ToString());
        outgoing.Headers.TryAddWithoutValidation("X-Forwarded-Proto", incoming.Scheme);
        outgoing.Headers.TryAddWithoutValidation("X-Forwarded-Host", incoming.Host.Value);

        using var response = await _forwarder.SendAsync(outgoing, context.RequestAborted);
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (!HopByHopHeaders.Contains(name, StringComparer.OrdinalIgnoreCase))
                context.Response.Headers[name] = values.ToArray();
        }

        await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
    }

    private Task<StreamingMessage> Expect(MsgType kind, string id = "") => _channel.Expect(kind, id);

    private async Task<T> Within<T>(Task<T> task, TimeSpan timeout, string what)
    {
        try
        {
            return await task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"No {what} from the worker within {timeout.TotalSeconds:0} s.\n{Output}");
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"No {what}: {e.Message}\n{Output}", e);
        }
    }

    private void Succeeded(StatusResult result, string what)
    {
        if (result.Status != StatusResult.Types.Status.Success)
            throw new InvalidOperationException($"The worker failed {what}: {result.Exception?.Message}\n{Output}");
    }

    /// <summary>The process is gone: the stream ends with it (the host's WorkerErrorEvent), should the socket not say so first.</summary>
    private void OnWorkerExited()
    {
        var reason = $"worker process exited with code {_worker!.ExitCode} while its EventStream was open";
        _ = Task.Delay(TimeSpan.FromSeconds(2)).ContinueWith(_ => _channel.End(reason), TaskScheduler.Default);
    }

    private void KillWorker()
    {
        if (_worker is { HasExited: false })
        {
            _worker.Kill(entireProcessTree: true);
            _worker.WaitForExit(10_000);
        }
    }

    private void Log(string? line)
    {
        if (line is null)
            return;
        lock (_output)
            _output.AppendLine(line);
    }
}
