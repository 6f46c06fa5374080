using FuncRerank.Inference;
using FuncRerank.Model;

namespace FuncRerank.Tests.Inference;

/// <summary>
/// Default batch budgets per execution provider: the CPU's measured ones, and CUDA's from the GPU's free memory, worked
/// out by hand here for Qwen3-Reranker-0.6B (hidden 1024, 16 heads and 8 kv heads of 128, intermediate 3072).
/// </summary>
public class BatchBudgetsTests
{
    private static readonly Qwen3Config Qwen3Reranker06B = new()
    {
        VocabSize = 151669, HiddenSize = 1024, NumHiddenLayers = 28, NumAttentionHeads = 16, NumKeyValueHeads = 8, HeadDim = 128,
        IntermediateSize = 3072, RmsNormEps = 1e-6, RopeTheta = 1_000_000, TieWordEmbeddings = true, MaxPositionEmbeddings = 40960,
    };

    private const long GiB = 1L << 30;

    [Fact]
    public void The_cpu_keeps_its_measured_budgets() =>
        Assert.Equal((16384, 8192L * 8192), (BatchBudgets.Cpu.MaxBatchTokens, BatchBudgets.Cpu.MaxAttentionCells));

    [Fact]
    public void Bytes_per_token_and_per_attention_cell_follow_the_layer_shapes()
    {
        // fp16: 2 B × (4 × 1024 hidden-wide values + 2 × (2048 q + 2 × 1024 k/v) projections and their gathers
        // + 2 × 2048 attention output and its gather + 3 × 3072 MLP values) = 2 × 25,600.
        Assert.Equal(51_200, BatchBudgets.DenseBytesPerToken(Qwen3Reranker06B, ModelPrecision.Float16));
        Assert.Equal(102_400, BatchBudgets.DenseBytesPerToken(Qwen3Reranker06B, ModelPrecision.Float32));
        // float32 scores and probabilities for 16 heads (16 × 8 B) plus the shared float32 bias and its masks (8 B).
        Assert.Equal(136, BatchBudgets.AttentionBytesPerCell(Qwen3Reranker06B));
    }

    [Fact]
    public void An_H200_gets_the_largest_token_budget_and_several_long_prompts_of_attention()
    {
        var budgets = BatchBudgets.ForCuda(Qwen3Reranker06B, ModelPrecision.Float16, attentionByLengths: false, new GpuMemory(139 * GiB, 141 * GiB));
        Assert.Equal(65536, budgets.MaxBatchTokens);
        Assert.Equal(139 * GiB / 4 / 136, budgets.MaxAttentionCells); // a quarter of the free memory: 4.1 prompts of 8,192²
        Assert.InRange(budgets.MaxAttentionCells / (8192.0 * 8192), 4.0, 4.2);
        Assert.Contains("139.0 GiB free", budgets.Reason);
    }

    [Fact]
    public void A_16_GB_GPU_runs_an_8192_token_prompt_alone_and_a_small_one_keeps_the_cpu_token_budget()
    {
        var t4 = BatchBudgets.ForCuda(Qwen3Reranker06B, ModelPrecision.Float16, attentionByLengths: false, new GpuMemory(14 * GiB, 15 * GiB));
        Assert.Equal(65536, t4.MaxBatchTokens); // 3.5 GiB / 51,200 B = 73k tokens, capped
        Assert.True(t4.MaxAttentionCells < 8192L * 8192); // the planner lets a prompt over the budget run alone

        var small = BatchBudgets.ForCuda(Qwen3Reranker06B, ModelPrecision.Float16, attentionByLengths: false, new GpuMemory(2 * GiB, 4 * GiB));
        Assert.Equal(BatchBudgets.MinCudaBatchTokens, small.MaxBatchTokens);
    }

    [Fact]
    public void Attention_by_lengths_has_no_attention_budget_and_configured_values_win()
    {
        var budgets = BatchBudgets.ForCuda(Qwen3Reranker06B, ModelPrecision.Float16, attentionByLengths: true, new GpuMemory(139 * GiB, 141 * GiB));
        Assert.Equal(long.MaxValue, budgets.MaxAttentionCells);
        Assert.Contains("no attention budget", budgets.Reason);

        var applied = budgets.Apply(new BatchSchedulerOptions { MaxBatchTokens = 4096 });
        Assert.Equal((4096, long.MaxValue), (applied.MaxBatchTokens, applied.MaxAttentionCells));
        applied = budgets.Apply(new BatchSchedulerOptions { MaxAttentionCells = 123 });
        Assert.Equal((65536, 123L), (applied.MaxBatchTokens, applied.MaxAttentionCells));
    }
}
