using System.CommandLine;
using FuncRerank.Model;
using FuncRerank.Model.Store;
using FuncRerank.Tokenization;

namespace FuncRerank.Cli;

internal static class BuildCommand
{
    public static Command Create()
    {
        var model = new ModelSource("A Hugging Face Qwen3-Reranker directory (config.json, *.safetensors, tokenizer.json)");
        var output = new Option<string>("--out") { Description = "Directory to write model.onnx, model.onnx_data and reranker.json into", Required = true };
        var dtype = CliOptions.Dtype();
        var cache = CliOptions.Cache();
        cache.Description = "Where source-file hashes are remembered (default: $FUNCRERANK_CACHE or ~/.cache/funcrerank)";
        var command = new Command("build", "Convert a Hugging Face checkpoint into a FuncRerank ONNX model directory") { model.Directory, model.Id, output, dtype, cache };
        command.SetAction(result => CommandRunner.Run(() =>
        {
            var target = result.GetValue(output)!;
            var precision = CliOptions.ParseDtype(result.GetValue(dtype)!);
            if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
                throw new UsageException($"--out: {target} exists and is not empty");
            using var logging = Logging.CreateFactory();
            var logger = logging.CreateLogger("funcrerank");
            var progress = new ConsoleProgress();
            var source = model.Resolve(result, logger, progress);
            if (RerankerManifest.Exists(source))
                throw new UsageException($"--model: {source} is already a built model");
            var tokenizer = Qwen3Tokenizer.Load(Path.Combine(source, "tokenizer.json"));
            var started = System.Diagnostics.Stopwatch.StartNew();
            var store = new ModelStore(result.GetValue(cache) ?? ModelStore.DefaultCacheRoot(), logger);
            store.Build(source, target, precision, tokenizer.RerankerTokenIds, progress);
            Console.Error.WriteLine($"built {precision.ToName()} model in {target} ({started.Elapsed.TotalSeconds:F1} s)");
            return 0;
        }));
        return command;
    }
}
