using FuncRerank.Launcher;
using FuncRerank.Tests.TestSupport;

namespace FuncRerank.Tests.Http;

/// <summary>One <c>funcrerank serve</c> on a generated checkpoint with two API keys, shared by the tests of a class.</summary>
public sealed class ServedModelFixture : IAsyncLifetime
{
    public const string Checkpoint = "tiny-bf16-tied-mqa";
    public const string FirstKey = "key-one-0123456789";
    public const string SecondKey = "key-two-abcdefghij";
    public const long MaxRequestBytes = 256 * 1024;

    public StandaloneServer Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await StandaloneServer.StartAsync(new Dictionary<string, string?>
        {
            ["Reranker__ApiKeys"] = $"{FirstKey}, {SecondKey}",
            ["Reranker__MaxRequestBytes"] = MaxRequestBytes.ToString(),
            ["Reranker__ServedModelName"] = "qwen3-reranker-test",
        }, waitUntilReady: true, "--model", RepoFiles.Checkpoint(Checkpoint), "--cache", RepoFiles.NewTemporaryDirectory());
    }

    public Task DisposeAsync()
    {
        Server.Dispose();
        return Task.CompletedTask;
    }
}
