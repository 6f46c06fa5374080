using FuncRerank.Model.Building;
using FuncRerank.Model.Hub;

namespace FuncRerank.Cli;

/// <summary>
/// Download and build progress on stderr, one line per file or stage: redrawn in place on a terminal, a line per 10 %
/// otherwise (logs, CI).
/// </summary>
internal sealed class ConsoleProgress : IProgress<BuildProgress>, IProgress<DownloadProgress>
{
    private readonly bool _interactive = !Console.IsErrorRedirected;
    private string? _label;
    private int _lastPercent = -1;

    public void Report(BuildProgress value) =>
        Show("building", value.BytesDone, value.BytesTotal, $"{value.BytesTotal / 1e6:N0} MB of weights");

    public void Report(DownloadProgress value) =>
        Show($"downloading {value.File}", value.BytesDone, value.BytesTotal, $"{value.BytesTotal / 1e6:N1} MB");

    private void Show(string label, long done, long total, string size)
    {
        if (label != _label)
        {
            if (_interactive && _lastPercent is >= 0 and < 100)
                Console.Error.WriteLine(); // leave the unfinished line as it stopped
            _label = label;
            _lastPercent = -1;
        }

        var percent = total == 0 ? 100 : (int)(done * 100 / total);
        if (percent == _lastPercent || (!_interactive && percent / 10 == _lastPercent / 10 && percent != 100))
            return;
        _lastPercent = percent;
        var line = $"{label}: {percent,3}% of {size}";
        if (_interactive)
            Console.Error.Write($"\r{line}{(percent == 100 ? "\n" : "")}");
        else
            Console.Error.WriteLine(line);
    }
}
