using FuncRerank.Tests.TestSupport;
using FuncRerank.Tokenization;

namespace FuncRerank.Tests.Tokenization;

/// <summary>Load-time verification: a wrong or doctored tokenizer.json must fail loudly, never load quietly.</summary>
public sealed class Qwen3TokenizerLoadTests : IDisposable
{
    private readonly string _tempDirectory = Directory.CreateTempSubdirectory("funcrerank-tokenizer-").FullName;

    public void Dispose() => Directory.Delete(_tempDirectory, recursive: true);

    [Fact]
    public void RealTokenizerLoads()
    {
        Qwen3Tokenizer tokenizer = Qwen3Tokenizer.Load(RepoFiles.TokenizerJsonPath);
        Assert.Equal([9693], tokenizer.EncodeToIds("yes"));
    }

    [Fact]
    public void SwappedYesAndNoIdsFail()
    {
        string path = Doctor("swapped-yes-no.json", json => ReplaceOnce(ReplaceOnce(json, "\"yes\": 9693", "\"yes\": 2152"), "\"no\": 2152", "\"no\": 9693"));
        TokenizerLoadException ex = Assert.Throws<TokenizerLoadException>(() => Qwen3Tokenizer.Load(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("\"yes\"", ex.Message);
        Assert.Contains("9693", ex.Message);
    }

    [Fact]
    public void MovedAddedTokenFails()
    {
        string path = Doctor("moved-im-end.json", json => ReplaceOnce(json, "\"id\": 151645", "\"id\": 151700"));
        TokenizerLoadException ex = Assert.Throws<TokenizerLoadException>(() => Qwen3Tokenizer.Load(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("<|im_end|>", ex.Message);
        Assert.Contains("151645", ex.Message);
    }

    [Fact]
    public void MissingThinkTokenFails()
    {
        string path = Doctor("no-think.json", json => ReplaceOnce(json, "\"content\": \"<think>\"", "\"content\": \"<thinking>\""));
        TokenizerLoadException ex = Assert.Throws<TokenizerLoadException>(() => Qwen3Tokenizer.Load(path));
        Assert.Contains("<think>", ex.Message);
        Assert.Contains("missing", ex.Message);
    }

    [Fact]
    public void DifferentPreTokenizerPatternFails()
    {
        string path = Doctor("other-regex.json", json => ReplaceOnce(json, "|\\\\s+(?!\\\\S)|\\\\s+\"", "|\\\\s+\""));
        TokenizerLoadException ex = Assert.Throws<TokenizerLoadException>(() => Qwen3Tokenizer.Load(path));
        Assert.Contains("pre_tokenizer", ex.Message);
    }

    [Fact]
    public void NormalizedAddedTokenIsRejected()
    {
        string path = Doctor("normalized-added.json", json => ReplaceFirst(json, "\"normalized\": false", "\"normalized\": true"));
        TokenizerLoadException ex = Assert.Throws<TokenizerLoadException>(() => Qwen3Tokenizer.Load(path));
        Assert.Contains("normalized", ex.Message);
    }

    [Fact]
    public void BrokenMergeFails()
    {
        string path = Doctor("broken-merge.json", json => ReplaceOnce(json, "\"merges\": [\n      [\n        \"Ġ\",\n        \"Ġ\"\n      ]", "\"merges\": [\n      [\n        \"Ġ\",\n        \"nosuchtoken\"\n      ]"));
        TokenizerLoadException ex = Assert.Throws<TokenizerLoadException>(() => Qwen3Tokenizer.Load(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("nosuchtoken", ex.Message);
    }

    [Fact]
    public void InvalidJsonAndMissingFileFail()
    {
        string truncated = Doctor("truncated.json", json => json[..(json.Length / 2)]);
        TokenizerLoadException ex = Assert.Throws<TokenizerLoadException>(() => Qwen3Tokenizer.Load(truncated));
        Assert.Contains(truncated, ex.Message);

        string missing = Path.Combine(_tempDirectory, "does-not-exist.json");
        ex = Assert.Throws<TokenizerLoadException>(() => Qwen3Tokenizer.Load(missing));
        Assert.Contains(missing, ex.Message);
    }

    [Fact]
    public void NormalizationCheckPassesOnThisRuntime()
    {
        Assert.True(UnicodeNormalization.IsNfcAvailable(), "ICU normalization must work where the tests run");
        UnicodeNormalization.EnsureAvailable();
    }

    private string Doctor(string fileName, Func<string, string> change)
    {
        string original = File.ReadAllText(RepoFiles.TokenizerJsonPath);
        string doctored = change(original);
        Assert.NotEqual(original, doctored);
        string path = Path.Combine(_tempDirectory, fileName);
        File.WriteAllText(path, doctored);
        return path;
    }

    private static string ReplaceFirst(string text, string oldValue, string newValue)
    {
        int index = text.IndexOf(oldValue, StringComparison.Ordinal);
        Assert.True(index >= 0, $"'{oldValue}' not found in tokenizer.json");
        return string.Concat(text.AsSpan(0, index), newValue, text.AsSpan(index + oldValue.Length));
    }

    private static string ReplaceOnce(string text, string oldValue, string newValue)
    {
        int index = text.IndexOf(oldValue, StringComparison.Ordinal);
        Assert.True(index >= 0, $"'{oldValue}' not found in tokenizer.json");
        Assert.True(text.IndexOf(oldValue, index + 1, StringComparison.Ordinal) < 0, $"'{oldValue}' occurs more than once in tokenizer.json");
        return string.Concat(text.AsSpan(0, index), newValue, text.AsSpan(index + oldValue.Length));
    }
}
