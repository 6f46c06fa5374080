using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace FuncRerank.Model.Hub;

/// <summary>
/// The Hub's HTTP conventions in one place: the token goes only to the Hub's own origin (never to the CDN a file
/// redirects to, as huggingface_hub does), redirects are followed here rather than by the handler so that rule holds,
/// statuses become messages a user can act on, and transient failures are retried with backoff, a bounded number of times.
/// </summary>
internal sealed class HubHttp
{
    private const int MaxRedirects = 10;

    private readonly HttpClient _client;
    private readonly HubOptions _options;
    private readonly ILogger _logger;
    private readonly Uri _endpoint;

    public HubHttp(HttpClient client, HubOptions options, ILogger logger)
    {
        _client = client;
        _options = options;
        _logger = logger;
        if (!Uri.TryCreate(options.Endpoint.TrimEnd('/') + "/", UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
            throw new ArgumentException($"Hub endpoint '{options.Endpoint}' (HF_ENDPOINT) is not an http(s) URL");
        _endpoint = endpoint;
    }

    public TimeSpan Timeout => _options.Timeout;

    public Uri ApiUri(HubModelId id, string revision) => new(_endpoint, $"api/models/{id}/revision/{Uri.EscapeDataString(revision)}");

    public Uri ResolveUri(HubModelId id, string commit, string file) => new(_endpoint, $"{id}/resolve/{commit}/{Uri.EscapeDataString(file)}");

    /// <summary>
    /// Sends a request and follows redirects. With <paramref name="stopAtOtherOrigin"/> a redirect away from the Hub is
    /// returned instead of followed: its headers carry the file's metadata and its Location the download URL.
    /// </summary>
    public async Task<(HttpResponseMessage Response, Uri Uri)> SendAsync(HttpMethod method, Uri uri, long rangeStart, bool stopAtOtherOrigin, CancellationToken ct)
    {
        for (var redirects = 0; ; redirects++)
        {
            var response = await SendOnceAsync(method, uri, rangeStart, ct);
            if ((int)response.StatusCode is < 300 or >= 400)
                return (response, uri);
            var location = response.Headers.Location;
            if (location is not null && stopAtOtherOrigin && !IsHub(new Uri(uri, location)))
                return (response, uri);
            response.Dispose();
            if (location is null)
                throw new HubDownloadException($"{Describe(uri)} answered {(int)response.StatusCode} without a Location");
            if (redirects == MaxRedirects)
                throw new HubDownloadException($"{Describe(uri)}: more than {MaxRedirects} redirects");
            uri = new Uri(uri, location);
        }
    }

    /// <summary>Turns a failed status into the exception a user can act on; 5xx, 408 and 429 are left to the retry.</summary>
    public void EnsureSuccess(HttpResponseMessage response, Uri uri, HubModelId id, string notFound)
    {
        var status = (int)response.StatusCode;
        if (status is >= 200 and < 400)
            return;
        var serverSays = response.Headers.TryGetValues("X-Error-Message", out var messages) ? $": {string.Join(' ', messages)}" : "";
        var where = $"(HTTP {status} from {Describe(uri)}{serverSays})";
        if (status is >= 500 or 408 or 429)
            throw new TransientHubException($"{Describe(uri)} answered HTTP {status}");
        if (!IsHub(uri))
            throw new HubDownloadException($"{id}: download failed {where}");
        throw status switch
        {
            401 when _options.Token is null => new HubDownloadException(
                $"{id}: gated or private model, or no such model: set HF_TOKEN to a token that may read it {where}"),
            401 => new HubDownloadException($"{id}: the Hub refused HF_TOKEN; check that it is valid {where}"),
            403 => new HubDownloadException(
                $"{id}: gated or private model that this token may not read: accept its terms on the model page and set HF_TOKEN to a token of that account {where}"),
            404 => new HubDownloadException($"{id}: {notFound} {where}"),
            _ => new HubDownloadException($"{id}: unexpected answer {where}"),
        };
    }

    public Task WithRetriesAsync(Func<Task> attempt, CancellationToken ct) =>
        WithRetriesAsync(async () =>
        {
            await attempt();
            return true;
        }, ct);

    /// <summary>Runs <paramref name="attempt"/> again after each transient failure, waiting twice as long each time.</summary>
    public async Task<T> WithRetriesAsync<T>(Func<Task<T>> attempt, CancellationToken ct)
    {
        var delay = _options.FirstRetryDelay;
        for (var number = 1; ; number++)
        {
            try
            {
                return await attempt();
            }
            catch (TransientHubException e) when (number < _options.MaxAttempts)
            {
                _logger.LogWarning("{Problem}; retrying in {Seconds:0.#} s (attempt {Number} of {Attempts})",
                    e.Message, delay.TotalSeconds, number + 1, _options.MaxAttempts);
                await Task.Delay(delay, ct);
                delay *= 2;
            }
            catch (TransientHubException e)
            {
                throw new HubDownloadException($"{e.Message} (gave up after {number} attempts)", e);
            }
        }
    }

    /// <summary>Reads a small JSON answer under the same timeout as the headers.</summary>
    public async Task<JsonDocument> ReadJsonAsync(HttpResponseMessage response, Uri uri, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_options.Timeout);
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(timeout.Token);
            return await JsonDocument.ParseAsync(body, cancellationToken: timeout.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TransientHubException($"{Describe(uri)} did not finish its answer within {_options.Timeout.TotalSeconds:0.#} s");
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            throw new TransientHubException($"the answer from {Describe(uri)} broke off: {e.Message}", e);
        }
        catch (JsonException e)
        {
            throw new HubDownloadException($"{Describe(uri)} did not answer with JSON ({e.Message})", e);
        }
    }

    /// <summary>A URL for messages: without the query, which for a CDN is a long signature.</summary>
    public static string Describe(Uri uri) => uri.GetLeftPart(UriPartial.Path);

    private async Task<HttpResponseMessage> SendOnceAsync(HttpMethod method, Uri uri, long rangeStart, CancellationToken ct)
    {
        var request = new HttpRequestMessage(method, uri);
        request.Headers.UserAgent.ParseAdd("funcrerank");
        // The size a Hub's HEAD reports is the file's only when nothing is compressed on the way.
        request.Headers.AcceptEncoding.ParseAdd("identity");
        if (_options.Token is { } token && IsHub(uri))
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (rangeStart > 0)
            request.Headers.Range = new RangeHeaderValue(rangeStart, null);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_options.Timeout);
        HttpResponseMessage response;
        try
        {
            response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TransientHubException($"{Describe(uri)} did not answer within {_options.Timeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException e)
        {
            throw new TransientHubException($"could not reach {Describe(uri)}: {e.Message}", e);
        }

        if (response.RequestMessage?.RequestUri != uri)
        {
            response.Dispose();
            throw new InvalidOperationException(
                "the HttpClient given to HubDownloader follows redirects itself; create its handler with AllowAutoRedirect = false");
        }

        return response;
    }

    private bool IsHub(Uri uri) =>
        Uri.Compare(uri, _endpoint, UriComponents.SchemeAndServer, UriFormat.UriEscaped, StringComparison.OrdinalIgnoreCase) == 0;
}
