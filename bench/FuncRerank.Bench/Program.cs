using System.CommandLine;
using FuncRerank.Bench;

var root = new RootCommand("funcrerank-bench: FuncRerank's throughput benchmark (HTTP, in-process, torch eager) and tuning measurements")
{
    BenchCommands.Run(),
    BenchCommands.Peak(),
    BenchCommands.Levers(),
    BenchCommands.Checkpoint(),
};
return root.Parse(args).Invoke();
