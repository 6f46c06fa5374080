using System.CommandLine;
using System.Reflection;
using FuncRerank.Model.Building;

namespace FuncRerank.Cli;

/// <summary>
/// `funcrerank version`: this tool's version and the model builder's. A directory built by another builder version still
/// loads, but without that version's graph changes; the deploy hook compares this line with what the share holds.
/// </summary>
internal static class VersionCommand
{
    public static Command Create()
    {
        var command = new Command("version", "Print FuncRerank's version and the version of the ONNX graph it builds (\"builder ...\")");
        command.SetAction(_ =>
        {
            var version = typeof(VersionCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";
            Console.WriteLine($"funcrerank {version}");
            Console.WriteLine($"builder {Qwen3OnnxBuilder.Version}");
            return 0;
        });
        return command;
    }
}
