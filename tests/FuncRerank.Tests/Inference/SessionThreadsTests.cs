using FuncRerank.Inference;
using FuncRerank.Tests.TestSupport;

namespace FuncRerank.Tests.Inference;

/// <summary>The intra-op pool follows the CPUs the process may use, not the host's cores (container quotas).</summary>
public class SessionThreadsTests
{
    [Theory]
    [InlineData("0-1\n", 2)]
    [InlineData("0-3,8-11", 8)]
    [InlineData("0", 1)]
    [InlineData("0,2,4-5", 4)]
    public void Online_cpus_are_counted_from_the_kernel_list(string text, int expected)
    {
        var path = Path.Combine(RepoFiles.NewTemporaryDirectory(), "online");
        File.WriteAllText(path, text);
        Assert.Equal(expected, OnnxScorer.OnlineCpus(path));
    }

    [Fact]
    public void Without_a_cpu_list_onnx_runtime_keeps_its_own_default()
    {
        Assert.Null(OnnxScorer.OnlineCpus(Path.Combine(RepoFiles.NewTemporaryDirectory(), "missing")));
        var online = OnnxScorer.OnlineCpus();
        Assert.Equal(online is { } n && Environment.ProcessorCount < n ? Environment.ProcessorCount : 0, OnnxScorer.DefaultIntraOpThreads());
    }
}
