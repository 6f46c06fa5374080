using System.CommandLine;
using FuncRerank.Bench;

var root = new RootCommand("funcrerank-bench: FuncRerank's throughput benchmark (HTTP, in-process, torch eager), tuning measurements, and the tokenizer against Hugging Face's")
{
    BenchCommands.Run(),
    BenchCommands.Peak(),
    BenchCommands.Levers(),
    BenchCommands.Checkpoint(),
    TokenizerBench.Command(),
};
return root.Parse(args).Invoke();
