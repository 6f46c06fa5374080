namespace FuncRerank.Prompting;

/// <summary>
/// Runs the tokenization of long requests on their own threads, a few at a time, so that a handful of huge documents
/// (a million characters take about a second) cannot hold the thread pool that serves <c>/health</c> and small
/// requests. Short requests do not come here: they tokenize inline, never queued behind a long one.
/// </summary>
internal sealed class LongTokenizationGate(int maxConcurrent)
{
    /// <summary>Requests with at least this many characters (queries and documents together) go through the gate.</summary>
    public const long LongRequestChars = 65_536;

    private readonly SemaphoreSlim _slots = new(maxConcurrent, maxConcurrent);

    /// <summary>One fewer than the cores (at least one): a core stays free for everything else.</summary>
    public static LongTokenizationGate ForThisMachine() => new(Math.Max(1, Environment.ProcessorCount - 1));

    /// <summary>Waits for a slot (cancellable), then runs <paramref name="work"/> on a dedicated thread.</summary>
    public async Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await Task.Factory.StartNew(work, cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        }
        finally
        {
            _slots.Release();
        }
    }
}
