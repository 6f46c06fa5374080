using FuncRerank.Inference;

namespace FuncRerank.Tests.Inference;

public class LengthSortedBatchesTests
{
    [Fact]
    public void Every_prompt_lands_in_exactly_one_batch_within_the_padded_token_budget()
    {
        var random = new Random(7);
        var lengths = Enumerable.Range(0, 500).Select(_ => random.Next(1, 3000)).ToArray();

        var batches = LengthSortedBatches.Plan(lengths, 8192);

        Assert.Equal(Enumerable.Range(0, lengths.Length), batches.SelectMany(b => b).Order());
        foreach (var batch in batches)
        {
            var padded = (long)batch.Length * batch.Max(i => lengths[i]);
            Assert.True(padded <= 8192 || batch.Length == 1, $"batch of {batch.Length} pads to {padded} tokens");
        }
    }

    [Fact]
    public void Rows_are_grouped_by_length_so_padding_stays_small()
    {
        int[] lengths = [100, 900, 110, 880, 105, 890];

        var batches = LengthSortedBatches.Plan(lengths, 3000);

        Assert.Equal([[0, 4, 2], [3, 5, 1]], batches);
    }

    [Fact]
    public void A_prompt_longer_than_the_budget_gets_a_batch_of_its_own()
    {
        var batches = LengthSortedBatches.Plan([50, 20_000, 60], 1000);

        Assert.Equal([[0, 2], [1]], batches);
    }
}
