namespace FuncRerank.Api.Endpoints;

/// <summary>A request's scores with where its time went (TEI's timing headers), and its prompt tokens.</summary>
internal sealed record ScoredPairs(PairScore[] Scores, TimeSpan TokenizationTime, TimeSpan QueueTime, TimeSpan InferenceTime)
{
    public long PromptTokens => Scores.Sum(s => (long)s.PromptTokens);
}
