using FuncRerank.Api.Endpoints;
using FuncRerank.Api.Hosting;
using FuncRerank.Inference;
using FuncRerank.Tests.Inference;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FuncRerank.Tests.TestSupport;

/// <summary>
/// The standalone host's pipeline (the same <c>AddFuncRerank</c>, <c>UseRequestLog</c> and <c>MapFuncRerank</c> as
/// <c>funcrerank serve</c>) on Kestrel on a free 127.0.0.1 port, in this process, over a real model whose batches a
/// <see cref="ScriptedScorer"/> can hold. A test over real sockets then decides when the model answers, so what it sees
/// (429, 504, a disconnect) does not depend on how fast the machine is.
/// </summary>
internal sealed class ScriptedServer : IAsyncDisposable
{
    public const string Checkpoint = ScriptedReranker.Checkpoint;

    private readonly WebApplication _app;

    private ScriptedServer(WebApplication app, ScriptedScorer scorer, Qwen3Reranker reranker)
    {
        _app = app;
        Scorer = scorer;
        Reranker = reranker;
        BaseAddress = new Uri(app.Urls.Single() + "/");
        Client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
    }

    public ScriptedScorer Scorer { get; }

    public Qwen3Reranker Reranker { get; }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    /// <summary>
    /// Starts the host with the queue's options and <c>Reranker:*</c> settings (keys without the section name, e.g.
    /// <c>RequestTimeoutSeconds</c>), read from configuration as both hosts read them.
    /// </summary>
    public static async Task<ScriptedServer> StartAsync(BatchSchedulerOptions batching, IReadOnlyDictionary<string, string?> settings)
    {
        var (scorer, reranker) = ScriptedReranker.Create(batching);
        var state = new RerankerState();
        state.SetReady(reranker);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(settings
            .Select(s => KeyValuePair.Create($"{RerankerSettings.SectionName}:{s.Key}", s.Value))
            .Append(KeyValuePair.Create($"{RerankerSettings.SectionName}:{nameof(RerankerSettings.ModelPath)}", (string?)RepoFiles.Checkpoint(Checkpoint))));
        builder.Services.AddFuncRerank(builder.Configuration);
        // The reranker is given, not loaded: no loader, and a state that is ready from the start.
        builder.Services.Remove(builder.Services.Single(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(RerankerLoader)));
        builder.Services.Replace(ServiceDescriptor.Singleton(state));
        var app = builder.Build();
        app.UseRequestLog();
        app.MapFuncRerank();
        await app.StartAsync();
        return new ScriptedServer(app, scorer, reranker);
    }

    public async ValueTask DisposeAsync()
    {
        // A test that failed while a batch was held must not leave the host's shutdown waiting on it.
        Scorer.Release();
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Reranker.Dispose();
    }
}
