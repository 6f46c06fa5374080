using System.Net;
using System.Security.Cryptography;
using FuncRerank.Model.Store;

namespace FuncRerank.Model.Hub;

/// <summary>
/// Fetches one file into <c>blobs/{etag}</c>: metadata from a HEAD on the Hub (as huggingface_hub does), bytes into
/// <c>{blob}.incomplete</c>, resumed with <c>Range</c> after an interruption, renamed into place only once its size and,
/// for LFS files, its SHA-256 match what the Hub announced. A partial file survives only failures worth retrying.
/// </summary>
internal sealed class HubFileTransfer(HubHttp http)
{
    private const int ProgressStep = 256 * 1024;

    public async Task<HubFile> GetMetadataAsync(HubModelId id, string commit, string file, CancellationToken ct)
    {
        var (response, uri) = await http.SendAsync(HttpMethod.Head, http.ResolveUri(id, commit, file), 0, stopAtOtherOrigin: true, ct);
        using (response)
        {
            http.EnsureSuccess(response, uri, id, $"no file {file} at commit {commit}");
            var linkedEtag = Header(response, "X-Linked-Etag");
            var etag = NormalizeEtag(linkedEtag ?? Header(response, "ETag"))
                       ?? throw new HubDownloadException($"{HubHttp.Describe(uri)} sent no ETag, so {file} cannot be cached");
            if (etag.Length > 128 || !etag.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
                throw new HubDownloadException($"{HubHttp.Describe(uri)} sent ETag '{etag}', which cannot name a cache file");
            var redirected = (int)response.StatusCode is >= 300 and < 400;
            var size = long.TryParse(Header(response, "X-Linked-Size"), out var linkedSize) ? linkedSize
                : redirected ? null : response.Content.Headers.ContentLength;
            if (size is not >= 0)
                throw new HubDownloadException($"{HubHttp.Describe(uri)} sent no size (X-Linked-Size or Content-Length) for {file}");
            var download = redirected ? new Uri(uri, response.Headers.Location!) : uri;
            return new HubFile(file, etag, size.Value, linkedEtag is not null, download);
        }
    }

    public async Task DownloadAsync(HubModelId id, HubFile file, string blob, IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
        var incomplete = $"{blob}.incomplete";
        // FileShare.None is a lock on Unix too, so a second process fetching the same blob fails instead of interleaving bytes.
        var stream = new FileStream(incomplete, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1 << 16, useAsync: true);
        try
        {
            if (stream.Length > file.Size)
                stream.SetLength(0);
            if (stream.Length < file.Size)
                await TransferAsync(id, file, stream, progress, ct);
            else
                progress?.Report(new DownloadProgress(file.Name, file.Size, file.Size));
            await VerifyAsync(file, stream, ct);
            stream.Flush(flushToDisk: true);
        }
        catch (HubDownloadException)
        {
            await stream.DisposeAsync();
            File.Delete(incomplete);
            throw;
        }
        finally
        {
            await stream.DisposeAsync();
        }

        File.Move(incomplete, blob, overwrite: true);
    }

    private async Task TransferAsync(HubModelId id, HubFile file, FileStream stream, IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        var offset = stream.Length;
        var (response, uri) = await http.SendAsync(HttpMethod.Get, file.DownloadUri, offset, stopAtOtherOrigin: false, ct);
        using (response)
        {
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
            {
                stream.SetLength(0);
                throw new TransientHubException($"{HubHttp.Describe(uri)} cannot resume {file.Name} at byte {offset:N0}; starting it over");
            }

            http.EnsureSuccess(response, uri, id, $"{file.Name} is gone from the download URL");
            if (response.StatusCode == HttpStatusCode.PartialContent)
            {
                var range = response.Content.Headers.ContentRange;
                if (range?.From != offset || (range.Length is { } total && total != file.Size))
                    throw new HubDownloadException(
                        $"{file.Name}: {HubHttp.Describe(uri)} sent bytes '{range}' when asked for bytes {offset}- of {file.Size}");
            }
            else if (offset > 0)
            {
                // The server ignored Range and sends the whole file: start over rather than append it to what is there.
                stream.SetLength(0);
                offset = 0;
            }

            if (response.Content.Headers.ContentLength is { } length && offset + length != file.Size)
                throw new HubDownloadException(
                    $"{file.Name}: {HubHttp.Describe(uri)} sends {offset + length:N0} bytes, the Hub announced {file.Size:N0}");
            await CopyBodyAsync(response, uri, file, stream, progress, ct);
        }
    }

    private async Task CopyBodyAsync(HttpResponseMessage response, Uri uri, HubFile file, FileStream stream, IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        stream.Seek(0, SeekOrigin.End);
        var done = stream.Length;
        var reported = done;
        progress?.Report(new DownloadProgress(file.Name, done, file.Size));
        var buffer = new byte[1 << 16];
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(ct);
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        while (true)
        {
            stall.CancelAfter(http.Timeout);
            int read;
            try
            {
                read = await body.ReadAsync(buffer, stall.Token);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new TransientHubException(
                    $"{HubHttp.Describe(uri)} sent nothing for {http.Timeout.TotalSeconds:0.#} s ({file.Name}, at byte {done:N0} of {file.Size:N0})");
            }
            catch (Exception e) when (e is IOException or HttpRequestException)
            {
                throw new TransientHubException($"the download of {file.Name} from {HubHttp.Describe(uri)} broke off at byte {done:N0}: {e.Message}", e);
            }

            if (read == 0)
                break;
            if (done + read > file.Size)
                throw new HubDownloadException($"{file.Name}: {HubHttp.Describe(uri)} sent more than the {file.Size:N0} bytes the Hub announced");
            await stream.WriteAsync(buffer.AsMemory(0, read), ct);
            done += read;
            if (done - reported >= ProgressStep || done == file.Size)
            {
                progress?.Report(new DownloadProgress(file.Name, done, file.Size));
                reported = done;
            }
        }
    }

    /// <summary>
    /// Checks the finished file in one pass from its first byte, which covers every way it was put together (in one go,
    /// resumed, started over). <see cref="ModelStore"/> trusts an LFS blob's name as its SHA-256, so this must hold.
    /// </summary>
    private static async Task VerifyAsync(HubFile file, FileStream stream, CancellationToken ct)
    {
        if (stream.Length != file.Size)
            throw new HubDownloadException(
                $"{file.Name}: downloaded {stream.Length:N0} bytes, the Hub announced {file.Size:N0}; deleted the partial download, try again");
        if (!file.IsLfs || file.Etag.Length != 64)
            return;
        stream.Position = 0;
        var sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct));
        if (!string.Equals(sha256, file.Etag, StringComparison.OrdinalIgnoreCase))
            throw new HubDownloadException(
                $"{file.Name}: the downloaded content's SHA-256 is {sha256}, the Hub announced {file.Etag}; deleted it, try again");
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    /// <summary>huggingface_hub's normalisation: a weak validator's <c>W/</c> and the quotes go.</summary>
    private static string? NormalizeEtag(string? etag) =>
        etag is null ? null : (etag.StartsWith("W/", StringComparison.Ordinal) ? etag[2..] : etag).Trim('"') is { Length: > 0 } bare ? bare : null;
}
