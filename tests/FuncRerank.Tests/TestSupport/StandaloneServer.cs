using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using FuncRerank.Tests.Cli;

namespace FuncRerank.Tests.TestSupport;

/// <summary>
/// A real <c>funcrerank serve</c> process on a free 127.0.0.1 port, for tests over real sockets. It is killed on
/// dispose; its output is kept for failure messages.
/// </summary>
public sealed class StandaloneServer : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private StandaloneServer(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
        Client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(2) };
    }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    /// <summary>Whether the server process has ended (it never should on its own).</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The server's peak resident memory so far (Linux VmHWM), in bytes.</summary>
    public long PeakResidentBytes
    {
        get
        {
            var line = File.ReadLines($"/proc/{_process.Id}/status").Single(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
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

    /// <summary>Starts the server; with <paramref name="waitUntilReady"/>, returns once /health answers 200 (or fails with the log).</summary>
    public static async Task<StandaloneServer> StartAsync(IReadOnlyDictionary<string, string?> environment, bool waitUntilReady, params string[] arguments)
    {
        var port = FreePort();
        var start = FuncRerankProcess.StartInfo(environment, ["serve", "--urls", $"http://127.0.0.1:{port}", .. arguments]);

        var server = new StandaloneServer(Process.Start(start)!, new Uri($"http://127.0.0.1:{port}/"));
        server._process.OutputDataReceived += (_, e) => server.Append(e.Data);
        server._process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();
        await server.WaitForAsync(waitUntilReady ? HttpStatusCode.OK : null);
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

    private async Task WaitForAsync(HttpStatusCode? wanted)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"funcrerank serve exited with {_process.ExitCode}:\n{Output}");
            try
            {
                using var response = await Client.GetAsync("health");
                if (wanted is null || response.StatusCode == wanted)
                    return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"funcrerank serve did not report {wanted?.ToString() ?? "anything"} on /health within 90 s:\n{Output}");
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
