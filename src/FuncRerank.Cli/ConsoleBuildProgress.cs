using FuncRerank.Model;

namespace FuncRerank.Cli;

/// <summary>Build progress on stderr: a redrawn line on a terminal, a line per 10 % otherwise (logs, CI).</summary>
internal sealed class ConsoleBuildProgress : IProgress<BuildProgress>
{
    private readonly bool _interactive = !Console.IsErrorRedirected;
    private int _lastPercent = -1;

    public void Report(BuildProgress value)
    {
        var percent = value.BytesTotal == 0 ? 100 : (int)(value.BytesDone * 100 / value.BytesTotal);
        if (percent == _lastPercent || (!_interactive && percent / 10 == _lastPercent / 10 && percent != 100))
            return;
        _lastPercent = percent;
        var line = $"building: {percent,3}% of {value.BytesTotal / 1e6:N0} MB of weights";
        if (_interactive)
            Console.Error.Write($"\r{line}{(percent == 100 ? "\n" : "")}");
        else
            Console.Error.WriteLine(line);
    }
}
