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

    [Theory]
    [InlineData(2, 8, 2)] // a quota of 2 CPUs on an 8-CPU host: 2 threads
    [InlineData(1, 2, 1)]
    [InlineData(8, 8, 0)] // the whole host: ONNX Runtime's own default
    [InlineData(4, null, 0)] // no CPU list (not Linux): its own default
    public void The_pool_is_the_usable_cpus_only_when_fewer_than_the_hosts(int usable, int? online, int expected)
    {
        Assert.Equal(expected, OnnxScorer.DefaultIntraOpThreads(usable, online));
    }

    [Fact]
    public void Without_a_cpu_list_there_is_no_count()
    {
        Assert.Null(OnnxScorer.OnlineCpus(Path.Combine(RepoFiles.NewTemporaryDirectory(), "missing")));
    }
}
