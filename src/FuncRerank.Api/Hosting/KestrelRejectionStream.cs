using System.Buffers;
using System.Text;

namespace FuncRerank.Api.Hosting;

/// <summary>
/// The outgoing bytes of one connection. What is written between two flushes passes straight through, unless it begins
/// like an error reply's status line; then it is held until the flush, and, if it is a head alone with
/// <c>Content-Length: 0</c>, replaced by what <c>rewrite</c> makes of it. Response bodies never carry a raw CR LF (they
/// are JSON), so a held run that is not exactly such a head is sent on unchanged.
/// </summary>
internal sealed class KestrelRejectionStream(Stream inner, Func<KestrelRejectionStream.Head, byte[]> rewrite) : Stream
{
    /// <summary>Kestrel's own error heads are a few hundred bytes; anything longer is not one.</summary>
    private const int MaxHeld = 4096;

    private readonly ArrayBufferWriter<byte> _held = new();
    private bool _atFlushStart = true;
    private bool _holding;

    /// <param name="StatusLine">As sent: <c>HTTP/1.1 431 Request Header Fields Too Large</c>.</param>
    /// <param name="Headers">Each header line as sent, without its CR LF.</param>
    internal sealed record Head(string StatusLine, int Status, string Reason, IReadOnlyList<string> Headers);

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (Hold(buffer, out var spilled))
            return;
        if (spilled is not null)
            inner.Write(spilled);
        inner.Write(buffer);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (Hold(buffer.Span, out var spilled))
            return;
        if (spilled is not null)
            await inner.WriteAsync(spilled, cancellationToken);
        await inner.WriteAsync(buffer, cancellationToken);
    }

    public override void Flush()
    {
        if (Release() is { } held)
            inner.Write(held);
        _atFlushStart = true;
        inner.Flush();
    }

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (Release() is { } held)
            await inner.WriteAsync(held, cancellationToken);
        _atFlushStart = true;
        await inner.FlushAsync(cancellationToken);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            if (Release() is { } held)
                inner.Write(held);
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (Release() is { } held)
            await inner.WriteAsync(held);
        await inner.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>Whether <paramref name="buffer"/> was kept back; when the held run outgrows the limit, what was held goes out first.</summary>
    private bool Hold(ReadOnlySpan<byte> buffer, out byte[]? spilled)
    {
        spilled = null;
        if (_atFlushStart)
        {
            _atFlushStart = false;
            _holding = buffer.Length >= 12 && buffer.StartsWith("HTTP/1."u8) && buffer[9] is (byte)'4' or (byte)'5';
        }

        if (!_holding)
            return false;
        if (_held.WrittenCount + buffer.Length <= MaxHeld)
        {
            _held.Write(buffer);
            return true;
        }

        _holding = false;
        spilled = _held.WrittenSpan.ToArray();
        _held.Clear();
        return false;
    }

    /// <summary>The held bytes to send now, rewritten when they are a bodiless error head; null when nothing is held.</summary>
    private byte[]? Release()
    {
        _holding = false;
        if (_held.WrittenCount == 0)
            return null;
        var held = _held.WrittenSpan.ToArray();
        _held.Clear();
        return Parse(held) is { } head ? rewrite(head) : held;
    }

    /// <summary>The head when <paramref name="bytes"/> is exactly one response head with <c>Content-Length: 0</c>.</summary>
    internal static Head? Parse(byte[] bytes)
    {
        var text = Encoding.ASCII.GetString(bytes);
        if (text.IndexOf("\r\n\r\n", StringComparison.Ordinal) != text.Length - 4)
            return null;
        var lines = text[..^4].Split("\r\n");
        var statusLine = lines[0];
        var parts = statusLine.Split(' ', 3);
        if (parts.Length < 2 || !int.TryParse(parts[1], out var status) || status is < 400 or > 599)
            return null;
        var headers = lines[1..];
        if (!headers.Any(h => h.Replace(" ", "").Equals("Content-Length:0", StringComparison.OrdinalIgnoreCase)))
            return null;
        return new Head(statusLine, status, parts.Length == 3 ? parts[2] : "", headers);
    }
}
