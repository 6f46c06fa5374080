using System.CommandLine;
using FuncRerank.Cli;

var root = new RootCommand("FuncRerank: Qwen3-Reranker scores from a Hugging Face checkpoint, through ONNX Runtime, without Python.")
{
    BuildCommand.Create(),
    TokenizeCommand.Create(),
    ScoreCommand.Create(),
    ServeCommand.Create(),
    VersionCommand.Create(),
};
return root.Parse(args).Invoke();
