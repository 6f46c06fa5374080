using FuncRerank.Api.Contract;
using FuncRerank.Api.Endpoints;
using FuncRerank.Tests.TestSupport;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FuncRerank.Tests.Endpoints;

/// <summary>Faults while a request is handled: the client's are 4xx, the server's one generic 500 with nothing internal in it.</summary>
public sealed class HandlerFaultTests
{
    /// <summary>A request body that fails when read, as a broken connection or a server bug would make it fail.</summary>
    private sealed class FailingStream(Exception error) : MemoryStream
    {
        public override int Read(byte[] buffer, int offset, int count) => throw error;

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => throw error;

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => throw error;
    }

    /// <summary>Collects what the handlers log, typed for <see cref="RerankHandlers"/>.</summary>
    private sealed class HandlerLog : ILogger<RerankHandlers>
    {
        public ListLogger Inner { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            Inner.Log(logLevel, eventId, state, exception, formatter);
            if (exception is not null)
                Inner.Log(logLevel, eventId, exception, null, (e, _) => e.ToString());
        }
    }

    [Fact]
    public async Task An_unexpected_exception_is_a_generic_500_with_no_type_message_or_stack_in_the_body_and_is_logged()
    {
        const string secret = "/srv/internal/path secret-detail-1234";
        var log = new HandlerLog();
        var handlers = InProcessHandlers.Create(logger: log);

        var reply = await InProcessHandlers.Send(handlers.Rerank, new FailingStream(new InvalidOperationException(secret)));

        Assert.Equal(StatusCodes.Status500InternalServerError, reply.Status);
        Assert.Equal("""{"error":{"message":"internal server error","type":"server_error","param":null,"code":"internal_error"},"message":"internal server error","detail":"internal server error"}""",
            reply.Text);
        Assert.DoesNotContain("Exception", reply.Text);
        Assert.DoesNotContain(secret, reply.Text);
        Assert.DoesNotContain(" at ", reply.Text);
        // The operator gets the whole story in the log, the caller the request id to quote.
        Assert.Contains(log.Inner.Entries, e => e.Level == LogLevel.Error && e.Message.Contains(secret) && e.Message.Contains("InvalidOperationException"));
        Assert.Contains(log.Inner.Entries, e => e.Message.Contains(reply.Headers["X-Request-Id"].ToString()));
    }

    [Theory]
    [InlineData(StatusCodes.Status400BadRequest, "Unexpected end of request content.")]
    [InlineData(StatusCodes.Status408RequestTimeout, "Reading the request body timed out due to data arriving too slowly.")]
    public async Task A_body_the_server_cannot_read_is_the_clients_4xx_not_a_500(int status, string message)
    {
        var log = new HandlerLog();
        var handlers = InProcessHandlers.Create(logger: log);

        var reply = await InProcessHandlers.Send(handlers.Rerank, new FailingStream(new BadHttpRequestException(message, status)));

        Assert.Equal(status, reply.Status);
        Assert.Equal(ApiErrorCodes.UnreadableBody, reply.Json!["error"]!["code"]!.GetValue<string>());
        Assert.Contains(message, reply.Json["message"]!.GetValue<string>());
        Assert.DoesNotContain(log.Inner.Entries, e => e.Level >= LogLevel.Error);
    }

    [Fact]
    public async Task The_servers_own_body_limit_is_the_configured_413()
    {
        var handlers = InProcessHandlers.Create(s => s.MaxRequestBytes = 5000);

        var reply = await InProcessHandlers.Send(handlers.Score,
            new FailingStream(new BadHttpRequestException("Request body too large.", StatusCodes.Status413PayloadTooLarge)));

        Assert.Equal(StatusCodes.Status413PayloadTooLarge, reply.Status);
        Assert.Contains("limit of 5000 bytes", reply.Json!["message"]!.GetValue<string>());
    }
}
