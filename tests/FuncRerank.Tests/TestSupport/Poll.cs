using System.Diagnostics;

namespace FuncRerank.Tests.TestSupport;

/// <summary>Waiting for something another process does: poll with a deadline, never a fixed sleep.</summary>
public static class Poll
{
    public static async Task Until(Func<bool> condition, string what, TimeSpan? patience = null)
    {
        var limit = patience ?? TimeSpan.FromSeconds(30);
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > limit)
                throw new TimeoutException($"waited {limit.TotalSeconds} s for {what}");
            await Task.Delay(20);
        }
    }
}
