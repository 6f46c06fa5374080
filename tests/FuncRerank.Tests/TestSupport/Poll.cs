namespace FuncRerank.Tests.TestSupport;

/// <summary>
/// Waiting for something another thread or process does, without guessing how long it takes: check often, give up
/// only after a deadline far beyond any normal delay (a loaded CI machine included), and say what never happened.
/// </summary>
internal static class Poll
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public static Task UntilAsync(Func<bool> condition, string what) => UntilAsync(() => Task.FromResult(condition()), what);

    public static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            if (watch.Elapsed > Patience)
                throw new TimeoutException($"{what} did not happen within {Patience.TotalSeconds:0} s");
            await Task.Delay(10);
        }
    }
}
