using FuncRerank.Inference;

namespace FuncRerank.Tests.Inference;

public class BatchPlannerTests
{
    [Fact]
    public void Every_batch_holds_its_anchor_and_keeps_to_the_budget_and_the_padding_cap()
    {
        var random = new Random(3);
        for (var trial = 0; trial < 500; trial++)
        {
            var lengths = Enumerable.Range(0, random.Next(1, 200)).Select(_ => random.Next(1, 3000)).Order().ToArray();
            var anchor = random.Next(lengths.Length);
            var budget = random.Next(1, 20_000);

            var (start, end) = BatchPlanner.Grow(lengths, anchor, budget);

            Assert.InRange(anchor, start, end - 1);
            long padded = (long)(end - start) * lengths[end - 1], real = lengths[start..end].Sum(l => (long)l);
            Assert.True(padded <= budget || end - start == 1, $"{end - start} rows pad to {padded} tokens over a budget of {budget}");
            Assert.True(padded <= BatchPlanner.MaxPaddingRatio * real, $"{real} tokens padded to {padded}");
        }
    }

    [Fact]
    public void The_attention_budget_bounds_rows_times_width_squared()
    {
        int[] lengths = [5000, 5000, 6000, 6000];

        // Two 6,000-token rows fit 16,384 padded tokens, but their squares (72 M cells) do not fit one 8,192-token row's (67 M).
        Assert.Equal((2, 4), BatchPlanner.Grow(lengths, 2, 16384));
        Assert.Equal((2, 3), BatchPlanner.Grow(lengths, 2, 16384, BatchSchedulerOptions.DefaultMaxAttentionCells));
        Assert.Equal((0, 2), BatchPlanner.Grow(lengths, 0, 16384, BatchSchedulerOptions.DefaultMaxAttentionCells));
        // A row over the budget still runs, alone.
        Assert.Equal((0, 1), BatchPlanner.Grow([9000, 9000], 0, 65536, BatchSchedulerOptions.DefaultMaxAttentionCells));

        var random = new Random(4);
        for (var trial = 0; trial < 300; trial++)
        {
            var sorted = Enumerable.Range(0, random.Next(1, 60)).Select(_ => random.Next(1, 9000)).Order().ToArray();
            var cells = (long)random.Next(1, 100_000_000);
            var (start, end) = BatchPlanner.Grow(sorted, random.Next(sorted.Length), 1 << 20, cells);
            Assert.True(end - start == 1 || (long)(end - start) * sorted[end - 1] * sorted[end - 1] <= cells);
        }
    }

    [Fact]
    public void Similar_lengths_fill_the_whole_budget()
    {
        int[] lengths = [98, 99, 100, 100, 100, 101, 102, 103, 104, 105];

        Assert.Equal((0, 9), BatchPlanner.Grow(lengths, 4, 950));
    }

    [Fact]
    public void Long_outliers_do_not_join_a_batch_of_short_pairs_nor_short_ones_a_batch_of_long_pairs()
    {
        int[] lengths = [100, 100, 105, 110, 400, 420];

        Assert.Equal((0, 4), BatchPlanner.Grow(lengths, 0, 16384));
        // 110 would fit the ratio cap (3 × 420 = 1,260 for 930 real), but it would pad 310 tokens to score 110.
        Assert.Equal((4, 6), BatchPlanner.Grow(lengths, 5, 16384));
    }

    [Fact]
    public void Evenly_spread_lengths_stop_at_the_padding_cap()
    {
        int[] lengths = [100, 110, 120, 130, 140, 155, 160, 170, 180, 190];

        // 100-140 pad to 700 for 600 real (1.17); with 155 it would be 930 for 755 (1.23, over 1.2).
        Assert.Equal((0, 5), BatchPlanner.Grow(lengths, 0, 16384));
        // From 170: 160, 155, 140, 130, 120 (ties go to the shorter side), then 110 would pass 1.2 but 180 does not
        // (1,260 for 1,055); then neither 110 nor 190 fits.
        Assert.Equal((2, 9), BatchPlanner.Grow(lengths, 7, 16384));
    }

    [Fact]
    public void The_side_that_adds_less_padding_is_taken_first()
    {
        // From 200: the 190 below adds 10 padding, the 260 above adds 60; with room for two rows only, 190 wins.
        int[] lengths = [120, 190, 200, 260, 300];

        Assert.Equal((1, 3), BatchPlanner.Grow(lengths, 2, 400));
    }

    [Fact]
    public void A_prompt_over_the_budget_runs_alone()
    {
        Assert.Equal((1, 2), BatchPlanner.Grow([50, 20_000, 20_001], 1, 1000));
    }
}
