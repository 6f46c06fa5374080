using FuncRerank.Inference;

namespace FuncRerank.Tests.Inference;

/// <summary>
/// A batch scorer for scheduling tests: every row's logit is its first id (so a result names the row it came from,
/// whatever batch it ran in), every batch is recorded, batches can be held until the test releases them, and a batch
/// can be made to fail. Optionally it forwards to a real scorer instead of inventing logits.
/// </summary>
internal sealed class ScriptedScorer(IBatchScorer? inner = null) : IBatchScorer
{
    private readonly List<int[][]> _batches = [];
    private readonly SemaphoreSlim _started = new(0);
    private ManualResetEventSlim _gate = new(true);

    /// <summary>Called inside each batch with its number (1-based), before it is held or scored.</summary>
    public Action<int>? OnBatch { get; set; }

    /// <summary>Batches for which this returns true throw, as a failing forward pass would.</summary>
    public Func<int[][], bool>? FailWhen { get; set; }

    /// <summary>Set when a held batch saw its cancellation token fire.</summary>
    public bool SawCancellation { get; private set; }

    public IReadOnlyList<int[][]> Batches
    {
        get
        {
            lock (_batches)
                return _batches.ToArray();
        }
    }

    /// <summary>From now on, batches wait until <see cref="Release"/>.</summary>
    public void Hold() => _gate = new ManualResetEventSlim(false);

    public void Release() => _gate.Set();

    /// <summary>Waits until a batch has started (count them: each call waits for one more).</summary>
    public void WaitForBatch()
    {
        if (!_started.Wait(TimeSpan.FromSeconds(30)))
            throw new TimeoutException("no batch started within 30 s");
    }

    public float[] ComputeLogits(IReadOnlyList<int[]> rows, CancellationToken cancellationToken = default)
    {
        int number;
        lock (_batches)
        {
            _batches.Add(rows.ToArray());
            number = _batches.Count;
        }

        OnBatch?.Invoke(number);
        _started.Release();
        try
        {
            _gate.Wait(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            SawCancellation = true;
            throw;
        }

        if (FailWhen?.Invoke(rows.ToArray()) == true)
            throw new InvalidOperationException("injected failure in /secret/internal/path.cs");
        return inner?.ComputeLogits(rows, cancellationToken) ?? rows.Select(r => (float)r[0]).ToArray();
    }

    /// <summary>A row of <paramref name="length"/> tokens whose logit (as scored here) is <paramref name="id"/>.</summary>
    public static int[] Row(int id, int length) => [id, .. Enumerable.Repeat(7, length - 1)];
}
