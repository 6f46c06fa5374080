using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FuncRerank.Launcher;

/// <summary>
/// A real <c>funcrerank serve</c> process on a free 127.0.0.1 port, driven over real sockets. It is killed (with its
/// children) on dispose; its output (stdout and stderr) is kept for assertions and failure messages.
/// </summary>
public sealed class StandaloneServer : IDisposable
{
    /// <summary>How long <see cref="StartAsync(IReadOnlyDictionary{string, string?}, bool, string[])"/> waits for /health.</summary>
    public static readonly TimeSpan DefaultStartTimeout = TimeSpan.FromSeconds(90);

    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private StandaloneServer(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
        Client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(2) };
    }

    public Uri BaseAddress { get; }

    /// <summary>A client for the server (2-minute timeout); callers with other needs make their own on <see cref="BaseAddress"/>.</summary>
    public HttpClient Client { get; }

    public int ProcessId => _process.Id;

    /// <summary>Whether the server process has ended (it never should on its own).</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The server's peak resident memory so far (Linux VmHWM), in bytes; null where /proc is not there.</summary>
    public long? PeakResidentBytes
    {
        get
        {
            try
            {
                var line = File.ReadLines($"/proc/{_process.Id}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
                return line is null ? null : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
            }
            catch (IOException)
            {
                return null;
            }
        }
    }

    /// <summary>CPU time the server process has used so far (all its threads).</summary>
    public TimeSpan CpuTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    /// <inheritdoc cref="StartAsync(IReadOnlyDictionary{string, string?}, bool, TimeSpan, string[])"/>
    public static Task<StandaloneServer> StartAsync(IReadOnlyDictionary<string, string?> environment, bool waitUntilReady, params string[] arguments) =>
        StartAsync(environment, waitUntilReady, DefaultStartTimeout, arguments);

    /// <summary>
    /// Starts <c>funcrerank serve --urls http://127.0.0.1:PORT ARGS</c> and returns once /health answers: with
    /// <paramref name="waitUntilReady"/>, once it answers 200 (the model is loaded), otherwise once it answers at all.
    /// Fails with the server's output if it exits or <paramref name="timeout"/> passes first (and kills it then).
    /// </summary>
    /// <param name="environment">Variables for the server on top of this process's; a null value removes one.</param>
    public static async Task<StandaloneServer> StartAsync(IReadOnlyDictionary<string, string?> environment, bool waitUntilReady, TimeSpan timeout,
        params string[] arguments)
    {
        var port = FreePort();
        var start = FuncRerankCommand.StartInfo(environment, ["serve", "--urls", $"http://127.0.0.1:{port}", .. arguments]);

        var server = new StandaloneServer(Process.Start(start)!, new Uri($"http://127.0.0.1:{port}/"));
        server._process.OutputDataReceived += (_, e) => server.Append(e.Data);
        server._process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();
        try
        {
            await server.WaitForAsync(waitUntilReady ? HttpStatusCode.OK : null, timeout);
        }
        catch
        {
            server.Dispose();
            throw;
        }

        return server;
    }

    public void Dispose()
    {
        Client.Dispose();
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
        _process.Dispose();
    }

    private async Task WaitForAsync(HttpStatusCode? wanted, TimeSpan timeout)
    {
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < timeout)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"funcrerank serve exited with {_process.ExitCode}:\n{Output}");
            try
            {
                using var response = await Client.GetAsync("health");
                if (wanted is null || response.StatusCode == wanted)
                    return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet, or a poll that outlived the client's timeout: try again until the deadline.
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"funcrerank serve did not report {wanted?.ToString() ?? "anything"} on /health within {timeout.TotalSeconds:F0} s:\n{Output}");
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_output)
            _output.AppendLine(line);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
