using System.Net;
using System.Net.Sockets;
using FuncRerank.Model.Hub;
using FuncRerank.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace FuncRerank.Tests.Model;

/// <summary><see cref="HubDownloader"/> against <see cref="FakeHub"/> on 127.0.0.1; nothing here reaches the internet.</summary>
public class HubDownloaderTests
{
    private const string ModelId = "test-org/tiny-reranker";
    private const string FirstShard = "model-00001-of-00003.safetensors";

    private static readonly string[] CheckpointFiles =
    [
        "config.json", FirstShard, "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors",
        "model.safetensors.index.json", "tokenizer.json", "tokenizer_config.json",
    ];

    private static string Source => RepoFiles.Checkpoint("tiny-bf16-sharded-untied");

    private static HubOptions Options(FakeHub hub, string? cache = null) => new()
    {
        Endpoint = hub.Endpoint,
        Token = null,
        CacheDirectory = cache ?? RepoFiles.NewTemporaryDirectory(),
        FirstRetryDelay = TimeSpan.FromMilliseconds(10),
        Timeout = TimeSpan.FromSeconds(10),
    };

    private static Task<string> DownloadAsync(HubOptions options, IProgress<DownloadProgress>? progress = null) =>
        new HubDownloader(options).DownloadAsync(ModelId, progress, CancellationToken.None);

    private static string Blobs(HubOptions options) => Path.Combine(options.CacheDirectory, "models--test-org--tiny-reranker", "blobs");

    [Fact]
    public async Task Downloads_the_checkpoint_byte_for_byte_into_the_huggingface_hub_cache_layout()
    {
        await using var hub = await FakeHub.StartAsync(ModelId, Source);
        var options = Options(hub);
        var progress = new RecordingProgress();

        var snapshot = await DownloadAsync(options, progress);

        var repository = Path.Combine(options.CacheDirectory, "models--test-org--tiny-reranker");
        Assert.Equal(Path.Combine(repository, "snapshots", hub.Commit), snapshot);
        Assert.Equal(hub.Commit, File.ReadAllText(Path.Combine(repository, "refs", "main")));
        Assert.Equal(CheckpointFiles, Directory.GetFiles(snapshot).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (var file in CheckpointFiles)
        {
            var downloaded = Path.Combine(snapshot, file);
            Assert.Equal(File.ReadAllBytes(Path.Combine(Source, file)), File.ReadAllBytes(downloaded));
            Assert.Equal(Path.Combine("..", "..", "blobs", hub.Etag(file)), new FileInfo(downloaded).LinkTarget);
            Assert.Equal(FakeHub.IsLfs(file) ? 64 : 40, hub.Etag(file).Length);
            var reports = progress.Reports.Where(r => r.File == file).ToArray();
            Assert.Equal(new DownloadProgress(file, reports[^1].BytesTotal, reports[^1].BytesTotal), reports[^1]);
            Assert.Equal(File.ReadAllBytes(downloaded).Length, reports[^1].BytesTotal);
            Assert.InRange(reports.Length, 1, reports[^1].BytesTotal / (256 * 1024) + 2); // a bar's worth, not a report per read
        }

        Assert.Empty(Directory.GetFiles(Blobs(options), "*.incomplete"));
        Assert.DoesNotContain(hub.Requests, r => r.Path.EndsWith("reference.json", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_complete_snapshot_is_served_without_a_single_request_even_with_the_hub_down()
    {
        var hub = await FakeHub.StartAsync(ModelId, Source);
        var options = Options(hub);
        var first = await DownloadAsync(options);
        var requests = hub.Requests.Count;

        var second = await DownloadAsync(options);
        Assert.Equal(requests, hub.Requests.Count);
        await hub.DisposeAsync();
        var offline = await DownloadAsync(options);

        Assert.Equal(first, second);
        Assert.Equal(first, offline);
    }

    [Fact]
    public async Task Refresh_follows_a_moved_branch_and_reuses_the_blobs_it_has()
    {
        await using var hub = await FakeHub.StartAsync(ModelId, Source);
        var options = Options(hub);
        var first = await DownloadAsync(options);
        var requests = hub.Requests.Count;

        var unchanged = await DownloadAsync(options with { Refresh = true });
        Assert.Equal(first, unchanged);
        Assert.Single(hub.Requests.Skip(requests)); // the revision API only
        hub.Commit = "fedcba9876543210fedcba9876543210fedcba98";
        var servedBefore = CheckpointFiles.Sum(hub.BytesServed);
        var moved = await DownloadAsync(options with { Refresh = true });

        Assert.EndsWith(hub.Commit, moved);
        Assert.Equal(servedBefore, CheckpointFiles.Sum(hub.BytesServed)); // same etags: linked, not downloaded again
        Assert.Equal(File.ReadAllBytes(Path.Combine(first, FirstShard)), File.ReadAllBytes(Path.Combine(moved, FirstShard)));
        Assert.Equal(moved, await DownloadAsync(options)); // the ref now names the new commit
    }

    [Fact]
    public async Task A_partial_download_is_resumed_with_a_range_request()
    {
        await using var hub = await FakeHub.StartAsync(ModelId, Source);
        var options = Options(hub);
        var content = File.ReadAllBytes(Path.Combine(Source, FirstShard));
        var half = content.Length / 2;
        Directory.CreateDirectory(Blobs(options));
        File.WriteAllBytes(Path.Combine(Blobs(options), $"{hub.Etag(FirstShard)}.incomplete"), content[..half]);

        var snapshot = await DownloadAsync(options);

        Assert.Equal(content, File.ReadAllBytes(Path.Combine(snapshot, FirstShard)));
        Assert.Equal(content.Length - half, hub.BytesServed(FirstShard));
        Assert.Contains(hub.Requests, r => r.Server == "cdn" && r.Range == $"bytes={half}-");
    }

    [Fact]
    public async Task A_server_that_ignores_range_is_downloaded_again_from_the_start()
    {
        await using var hub = await FakeHub.StartAsync(ModelId, Source);
        hub.IgnoreRange = true;
        var options = Options(hub);
        var content = File.ReadAllBytes(Path.Combine(Source, FirstShard));
        Directory.CreateDirectory(Blobs(options));
        File.WriteAllBytes(Path.Combine(Blobs(options), $"{hub.Etag(FirstShard)}.incomplete"), content[..(content.Length / 3)]);

        var snapshot = await DownloadAsync(options);

        Assert.Equal(content, File.ReadAllBytes(Path.Combine(snapshot, FirstShard)));
        Assert.Equal(content.Length, hub.BytesServed(FirstShard));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_transfer_that_breaks_off_or_goes_silent_is_retried_from_where_it_stopped(bool stall)
    {
        await using var hub = await FakeHub.StartAsync(ModelId, Source);
        // The timeout that notices the stall also bounds ordinary answers, so on a loaded machine an ordinary answer
        // may outlast it and cost a retry more: the number of attempts is not fixed (room is left for several), but
        // where each one starts is.
        const int interruptedAfter = 8 << 20;
        var options = Options(hub) with { Timeout = TimeSpan.FromSeconds(2), MaxAttempts = 10 };
        var content = File.ReadAllBytes(Path.Combine(Source, FirstShard));
        hub.InterruptOnce(FirstShard, afterBytes: interruptedAfter, stall);

        var snapshot = await DownloadAsync(options);

        Assert.Equal(content, File.ReadAllBytes(Path.Combine(snapshot, FirstShard)));
        var downloads = hub.Requests.Where(r => r.Server == "cdn" && r.Path.EndsWith(hub.Etag(FirstShard), StringComparison.Ordinal)).ToArray();
        Assert.Null(downloads[0].Range);
        // Once bytes were kept, every later attempt resumed after them (never from the start), at a point that only
        // moves forward, the first of them no further than where the transfer broke off.
        var resumedAt = downloads.Select(d => d.Range).SkipWhile(r => r is null)
            .Select(r => long.Parse(Assert.Single(System.Text.RegularExpressions.Regex.Matches(r ?? "", "^bytes=([0-9]+)-$")).Groups[1].Value))
            .ToArray();
        Assert.NotEmpty(resumedAt);
        Assert.InRange(resumedAt[0], 1, interruptedAfter);
        Assert.Equal(resumedAt.Order(), resumedAt);
        Assert.All(resumedAt, at => Assert.InRange(at, 1, content.Length - 1));
        Assert.True(hub.BytesServed(FirstShard) < 2 * content.Length);
    }

    [Fact]
    public async Task Content_that_does_not_match_its_sha256_fails_and_leaves_nothing_behind()
    {
        await using var hub = await FakeHub.StartAsync(ModelId, Source);
        hub.CorruptFiles.Add(FirstShard);
        var options = Options(hub);

        var error = await Assert.ThrowsAsync<HubDownloadException>(() => DownloadAsync(options));

        Assert.Contains(FirstShard, error.Message);
        Assert.Contains("SHA-256", error.Message);
        Assert.Contains(hub.Etag(FirstShard), error.Message);
        Assert.Empty(Directory.GetFiles(Blobs(options), $"{hub.Etag(FirstShard)}*"));
        hub.CorruptFiles.Clear();
        var snapshot = await DownloadAsync(options);
        Assert.Equal(File.ReadAllBytes(Path.Combine(Source, FirstShard)), File.ReadAllBytes(Path.Combine(snapshot, FirstShard)));
    }

    [Fact]
    public async Task A_gated_model_asks_for_HF_TOKEN_and_the_token_goes_to_the_hub_but_never_to_the_cdn()
    {
        await using var hub = await FakeHub.StartAsync(ModelId, Source);
        hub.RequiredToken = "hf_secret";
        var options = Options(hub);

        var missing = await Assert.ThrowsAsync<HubDownloadException>(() => DownloadAsync(options));
        var wrong = await Assert.ThrowsAsync<HubDownloadException>(() => DownloadAsync(options with { Token = "hf_wrong" }));
        var snapshot = await DownloadAsync(options with { Token = "hf_secret" });

        Assert.Contains("gated or private model", missing.Message);
        Assert.Contains("set HF_TOKEN", missing.Message);
        Assert.Contains("HTTP 401", missing.Message);
        Assert.Contains("refused HF_TOKEN", wrong.Message);
        Assert.DoesNotContain("hf_wrong", wrong.Message);
        Assert.True(File.Exists(Path.Combine(snapshot, FirstShard)));
        var hubRequests = hub.Requests.Where(r => r.Server == "hub").SkipWhile(r => r.Authorization != "Bearer hf_secret").ToArray();
        var cdnRequests = hub.Requests.Where(r => r.Server == "cdn").ToArray();
        Assert.NotEmpty(cdnRequests);
        Assert.All(hubRequests, r => Assert.Equal("Bearer hf_secret", r.Authorization));
        Assert.All(cdnRequests, r => Assert.Null(r.Authorization));
    }

    [Theory]
    [InlineData("test-org/no-such-model", "main")]
    [InlineData(ModelId, "v9")]
    public async Task An_unknown_model_or_revision_says_so(string modelId, string revision)
    {
        await using var hub = await FakeHub.StartAsync(ModelId, Source);

        var error = await Assert.ThrowsAsync<HubDownloadException>(() =>
            new HubDownloader(Options(hub) with { Revision = revision }).DownloadAsync(modelId, null, CancellationToken.None));

        Assert.Contains($"{modelId}: no such model or revision '{revision}'", error.Message);
        Assert.Contains("HTTP 404", error.Message);
    }

    [Theory]
    [InlineData("Qwen3-Reranker-0.6B")]
    [InlineData("Qwen/Qwen3/Reranker")]
    [InlineData("../etc")]
    [InlineData("Qwen/..")]
    [InlineData("Qwen/a..b")]
    [InlineData("/Qwen/model")]
    [InlineData("Qwen//model")]
    [InlineData("Qwen/model ")]
    [InlineData("Qwen\\model")]
    [InlineData("Qwen/mo--del")]
    [InlineData("-Qwen/model")]
    [InlineData("Qwen/model.")]
    [InlineData("Qwen/mödel")]
    [InlineData("")]
    public async Task A_malformed_model_id_is_refused_before_anything_is_fetched_or_written(string modelId)
    {
        var cache = Path.Combine(RepoFiles.NewTemporaryDirectory(), "cache");
        var downloader = new HubDownloader(new HubOptions { Endpoint = "http://127.0.0.1:9", CacheDirectory = cache });

        var error = await Assert.ThrowsAsync<ArgumentException>(() => downloader.DownloadAsync(modelId, null, CancellationToken.None));

        Assert.Contains("expected owner/name such as Qwen/Qwen3-Reranker-0.6B", error.Message);
        Assert.False(Directory.Exists(cache));
    }

    [Theory]
    [InlineData("Qwen/Qwen3-Reranker-0.6B")]
    [InlineData("a/b")]
    [InlineData("some_user/model.v2-final")]
    public void Well_formed_model_ids_are_accepted(string modelId) => HubDownloader.ValidateModelId(modelId);

    [Theory]
    [InlineData("../main")]
    [InlineData("refs//pr")]
    [InlineData("main branch")]
    [InlineData("")]
    public async Task A_malformed_revision_is_refused(string revision)
    {
        var downloader = new HubDownloader(new HubOptions { Endpoint = "http://127.0.0.1:9", CacheDirectory = RepoFiles.NewTemporaryDirectory(), Revision = revision });

        var error = await Assert.ThrowsAsync<ArgumentException>(() => downloader.DownloadAsync(ModelId, null, CancellationToken.None));

        Assert.Contains("is not a revision", error.Message);
    }

    [Fact]
    public async Task Server_errors_are_retried_a_bounded_number_of_times()
    {
        await using var hub = await FakeHub.StartAsync(ModelId, Source);
        var options = Options(hub);

        hub.FailNextRequests(2);
        var snapshot = await DownloadAsync(options);
        Assert.True(File.Exists(Path.Combine(snapshot, "config.json")));

        hub.FailNextRequests(100);
        var requests = hub.Requests.Count;
        var error = await Assert.ThrowsAsync<HubDownloadException>(() => DownloadAsync(Options(hub)));
        Assert.Contains($"{hub.Endpoint}/api/models/{ModelId}/revision/main answered HTTP 503", error.Message);
        Assert.Contains("gave up after 4 attempts", error.Message);
        Assert.Equal(4, hub.Requests.Count - requests);
    }

    [Fact]
    public async Task An_unreachable_hub_is_a_message_naming_the_url()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var options = new HubOptions
        {
            Endpoint = $"http://127.0.0.1:{port}",
            CacheDirectory = RepoFiles.NewTemporaryDirectory(),
            FirstRetryDelay = TimeSpan.FromMilliseconds(10),
        };

        var error = await Assert.ThrowsAsync<HubDownloadException>(() => DownloadAsync(options));

        Assert.Contains($"could not reach http://127.0.0.1:{port}/api/models/{ModelId}/revision/main", error.Message);
    }

    [Fact]
    public async Task An_http_client_that_follows_redirects_itself_is_refused_rather_than_trusted()
    {
        await using var hub = await FakeHub.StartAsync(ModelId, Source);
        using var client = new HttpClient();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            new HubDownloader(Options(hub), client).DownloadAsync(ModelId, null, CancellationToken.None));

        Assert.Contains("AllowAutoRedirect = false", error.Message);
    }

    [Fact]
    public async Task The_downloaded_snapshot_scores_like_the_original_directory_and_keys_the_same_build()
    {
        await using var hub = await FakeHub.StartAsync(ModelId, Source);
        var snapshot = await DownloadAsync(Options(hub));
        var checkpoint = ReferenceCheckpoint.Load("tiny-bf16-sharded-untied");
        var pairs = checkpoint.Pairs.Where(p => p.Group == checkpoint.Pairs[0].Group).ToArray();

        using var original = Qwen3Reranker.Load(Source, new RerankerOptions { CacheRoot = RepoFiles.NewTemporaryDirectory() }, NullLogger.Instance);
        using var downloaded = Qwen3Reranker.Load(snapshot, new RerankerOptions { CacheRoot = RepoFiles.NewTemporaryDirectory() }, NullLogger.Instance);
        var expected = original.Score(pairs[0].Query, pairs.Select(p => p.Document).ToArray(), pairs[0].Instruction);
        var actual = downloaded.Score(pairs[0].Query, pairs.Select(p => p.Document).ToArray(), pairs[0].Instruction);

        Assert.Equal(expected, actual);
        // The blob names stood in for hashing the LFS files; they must be the very SHA-256s hashing gives.
        Assert.Equal(original.Manifest.SourceFiles, downloaded.Manifest.SourceFiles);
    }

    private sealed class RecordingProgress : IProgress<DownloadProgress>
    {
        public List<DownloadProgress> Reports { get; } = [];

        public void Report(DownloadProgress value) => Reports.Add(value);
    }
}
