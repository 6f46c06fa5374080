using System.Security.Cryptography;
using FuncRerank.Tests.Model;
using FuncRerank.Tests.TestSupport;

namespace FuncRerank.Tests.Tokenization;

/// <summary>
/// The committed fixtures and the generated checkpoints come from the tokenizer and the pairs in this tree: a changed
/// models/tokenizer.json or pairs.jsonl cannot meet ids or torch scores made from the old one unnoticed.
/// </summary>
public class FixtureSourceTests
{
    private static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    /// <summary>What generate.mjs recorded (sha256sum format): the SHA-256 of the tokenizer.json the fixtures' ids came from.</summary>
    private static string RecordedTokenizerSha256()
    {
        var record = File.ReadAllText(RepoFiles.TokenizerFixture("tokenizer.json.sha256")).Split("  ");
        Assert.Equal("models/tokenizer.json\n", record[1]);
        return record[0];
    }

    [Fact]
    public void The_tokenizer_fixtures_came_from_the_committed_tokenizer_json()
    {
        Assert.True(RecordedTokenizerSha256() == Sha256(RepoFiles.TokenizerJsonPath),
            "models/tokenizer.json is not the file the fixtures were made from: regenerate them (tests/fixtures/tokenizer/README.md)");
    }

    [Theory]
    [MemberData(nameof(Checkpoints))]
    public void Each_checkpoint_has_that_tokenizer_and_a_reference_computed_from_the_committed_pairs(string name)
    {
        Assert.Equal(RecordedTokenizerSha256(), Sha256(Path.Combine(RepoFiles.Checkpoint(name), "tokenizer.json")));
        Assert.NotEmpty(ReferenceCheckpoint.Load(name).Pairs);
    }

    [Fact]
    public void A_reference_computed_from_other_pairs_is_refused()
    {
        var changed = Path.Combine(RepoFiles.NewTemporaryDirectory(), "pairs.jsonl");
        File.WriteAllText(changed, File.ReadAllText(ReferenceCheckpoint.PairsFile).Replace("capital of France", "capital of Spain"));

        var error = Assert.Throws<InvalidOperationException>(() => ReferenceCheckpoint.Load("tiny-f32-tied", changed));

        Assert.Contains("make_checkpoints.py", error.Message);
    }

    public static TheoryData<string> Checkpoints => new(ReferenceCheckpoint.All);
}
