namespace FuncRerank.Tests.TestSupport;

/// <summary>
/// Test classes that saturate the CPU or measure memory (the load test, the fuzzers, overload), and those that judge
/// a stop by a time measured in the same test (tokenization cancelled, by a token or over HTTP): xunit runs them one
/// at a time, after the classes that run in parallel, so they neither starve the others' timeouts nor share a peak.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LoadHeavyCollection
{
    public const string Name = "Load-heavy (run alone)";
}
