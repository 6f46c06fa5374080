using FuncRerank.GpuCheck;

// funcrerank-gpucheck --checkpoint DIR --out FILE.json [--device cuda|cpu] [--scale full|small] [--work DIR] [--nvidia-smi FILE]
try
{
    var options = CheckOptions.Parse(args);
    return CheckRun.Execute(options, Console.Out);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"funcrerank-gpucheck: {e.Message}");
    Console.Error.WriteLine(CheckOptions.Usage);
    return 2;
}
