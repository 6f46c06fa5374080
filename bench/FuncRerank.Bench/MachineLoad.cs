using System.Diagnostics;

namespace FuncRerank.Bench;

/// <summary>
/// How busy the machine is with work that is not the benchmark's (Linux /proc): the CPU time all processes used minus the
/// time of the processes under test, per second of wall time, in cores. On a small shared VM other jobs come and go;
/// the bench waits for a quiet moment before each timed step and reports the foreign load it saw, so a figure taken
/// under contention is recognisable as such.
/// </summary>
internal sealed class MachineLoad
{
    private static readonly double TicksPerSecond = 100; // USER_HZ on Linux

    private readonly int[] _processIds;

    public MachineLoad(params int[] processIds) => _processIds = [Environment.ProcessId, .. processIds];

    public static bool Available => File.Exists("/proc/stat");

    public readonly record struct Sample(long TotalBusyTicks, long OwnTicks, long Timestamp);

    /// <summary>
    /// The bench's own time includes its children that have exited and been waited for (cutime/cstime: the torch peer,
    /// a stopped server), so a child's CPU time never counts as foreign.
    /// </summary>
    public Sample Take() =>
        new(TotalBusy(), ProcessTicks(Environment.ProcessId, withChildren: true) + _processIds.Skip(1).Sum(p => ProcessTicks(p, withChildren: false)),
            Stopwatch.GetTimestamp());

    /// <summary>Cores' worth of CPU used by other processes between two samples.</summary>
    public static double ForeignCores(Sample from, Sample to)
    {
        var seconds = Stopwatch.GetElapsedTime(from.Timestamp, to.Timestamp).TotalSeconds;
        if (seconds <= 0 || !Available)
            return 0;
        var foreign = (to.TotalBusyTicks - from.TotalBusyTicks) - (to.OwnTicks - from.OwnTicks);
        return Math.Max(0, foreign / TicksPerSecond / seconds);
    }

    /// <summary>Waits until other processes use less than <paramref name="threshold"/> cores over a short window, at most <paramref name="maxWait"/>.</summary>
    public double WaitForQuiet(double threshold, TimeSpan maxWait)
    {
        if (!Available)
            return 0;
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var a = Take();
            Thread.Sleep(300);
            var foreign = ForeignCores(a, Take());
            if (foreign < threshold || deadline.Elapsed > maxWait)
                return foreign;
        }
    }

    /// <summary>
    /// CPU time of all threads of a process in nanoseconds (the sum of /proc/PID/task/*/schedstat), or null without /proc.
    /// Unlike wall time it barely moves when other jobs share the cores, so it is the steadier way to compare the work two
    /// variants do on a busy machine.
    /// </summary>
    public static long? CpuNanoseconds(int processId)
    {
        var tasks = $"/proc/{processId}/task";
        if (!Directory.Exists(tasks))
            return null;
        long total = 0;
        foreach (var task in Directory.EnumerateDirectories(tasks))
        {
            try
            {
                total += long.Parse(File.ReadAllText(Path.Combine(task, "schedstat")).Split(' ')[0]);
            }
            catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
            {
                // the thread exited meanwhile
            }
        }

        return total;
    }

    private static long TotalBusy()
    {
        if (!Available)
            return 0;
        // cpu  user nice system idle iowait irq softirq steal ...
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(long.Parse).ToArray();
        var idle = fields[3] + (fields.Length > 4 ? fields[4] : 0);
        return fields.Take(Math.Min(8, fields.Length)).Sum() - idle;
    }

    private static long ProcessTicks(int pid, bool withChildren)
    {
        try
        {
            // utime, stime, cutime, cstime are fields 14-17; the command name (field 2) may hold spaces, so count after its ')'.
            var text = File.ReadAllText($"/proc/{pid}/stat");
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11]) + long.Parse(fields[12]);
            return withChildren ? ticks + long.Parse(fields[13]) + long.Parse(fields[14]) : ticks;
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            return 0;
        }
    }
}
