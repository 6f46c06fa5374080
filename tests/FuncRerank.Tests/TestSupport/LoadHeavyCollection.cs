namespace FuncRerank.Tests.TestSupport;

/// <summary>
/// Test classes that saturate the CPU or measure memory (the load test, the fuzzers, overload): xunit runs them one
/// at a time, after the classes that run in parallel, so they neither starve the others' timeouts nor share a peak.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LoadHeavyCollection
{
    public const string Name = "Load-heavy (run alone)";
}
