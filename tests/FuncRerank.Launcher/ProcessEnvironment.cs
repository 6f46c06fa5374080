using System.Diagnostics;

namespace FuncRerank.Launcher;

public static class ProcessEnvironment
{
    /// <summary>Sets a child process's variables on top of this one's; a null value removes one.</summary>
    public static void Apply(this ProcessStartInfo start, IReadOnlyDictionary<string, string?> environment)
    {
        foreach (var (name, value) in environment)
        {
            if (value is null)
                start.Environment.Remove(name);
            else
                start.Environment[name] = value;
        }
    }
}
