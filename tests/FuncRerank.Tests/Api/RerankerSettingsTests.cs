using FuncRerank.Api.Hosting;
using FuncRerank.Inference;
using FuncRerank.Model;
using Microsoft.Extensions.Configuration;

namespace FuncRerank.Tests.Api;

/// <summary>
/// The one mapping from the <c>Reranker</c> configuration to what the model loads with, which the hosts' loader, the
/// CLI's score command and the benchmark share: every setting arrives where Core reads it.
/// </summary>
public class RerankerSettingsTests
{
    [Fact]
    public void Every_configured_setting_reaches_the_options_the_model_loads_with()
    {
        var settings = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Reranker:Dtype"] = "fp16",
            ["Reranker:Device"] = "cuda",
            ["Reranker:RequireCuda"] = "true",
            ["Reranker:MaxLength"] = "4096",
            ["Reranker:MaxBatchTokens"] = "32768",
            ["Reranker:MaxAttentionCells"] = "1000000",
            ["Reranker:MaxQueuedTokens"] = "20000",
            ["Reranker:CacheDirectory"] = "/cache",
        }).Build().GetSection(RerankerSettings.SectionName).Get<RerankerSettings>()!;

        var options = settings.ToRerankerOptions();

        Assert.Equal(ModelPrecision.Float16, options.Precision);
        Assert.Equal(4096, options.MaxLength);
        Assert.Equal(new BatchSchedulerOptions { MaxBatchTokens = 32768, MaxAttentionCells = 1_000_000, MaxQueuedTokens = 20000 }, options.Batching);
        Assert.Equal(new ScorerOptions { Device = ExecutionDevice.Cuda, RequireCuda = true }, options.Scorer);
        Assert.Equal("/cache", options.CacheRoot);
    }

    [Fact]
    public void Unset_settings_are_the_options_defaults_and_leave_the_batch_budgets_to_the_execution_provider()
    {
        var options = new RerankerSettings().ToRerankerOptions();

        Assert.Equal(new RerankerOptions(), options);
        Assert.Null(options.Batching.MaxBatchTokens);
        Assert.Null(options.Batching.MaxAttentionCells);
    }

    [Theory]
    [InlineData("fp8", "cpu", "fp8")]
    [InlineData("fp32", "tpu", "tpu")]
    public void An_unknown_dtype_or_device_is_refused_by_name(string dtype, string device, string named)
    {
        var error = Assert.Throws<ArgumentException>(() => new RerankerSettings { Dtype = dtype, Device = device }.ToRerankerOptions());
        Assert.Contains($"'{named}'", error.Message);
    }
}
