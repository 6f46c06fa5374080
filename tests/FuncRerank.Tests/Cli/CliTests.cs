using FuncRerank.Tests.TestSupport;
using System.Text.Json;
using System.Text.Json.Nodes;
using FuncRerank.Tests.Model;

namespace FuncRerank.Tests.Cli;

/// <summary>The <c>funcrerank</c> commands end to end, against Hugging Face's ids and the torch reference scores.</summary>
public class CliTests
{
    private static string ModelsDirectory => Path.Combine(RepoFiles.RepoRoot, "models");

    private static JsonObject[] FixtureLines(string file) =>
        File.ReadAllLines(Path.Combine(RepoFiles.Fixtures, "tokenizer", file))
            .Where(l => l.Length > 0)
            .Select(l => JsonNode.Parse(l)!.AsObject())
            .ToArray();

    private static int[] Ids(JsonNode node) => node.AsArray().Select(i => i!.GetValue<int>()).ToArray();

    [Theory]
    [InlineData("texts.jsonl")]
    [InlineData("fuzz.jsonl")]
    public void Tokenize_gives_hugging_face_ids_for_every_fixture_text(string file)
    {
        var lines = FixtureLines(file);
        var input = string.Join('\n', lines.Select(l => new JsonObject { ["text"] = l["text"]!.GetValue<string>() }.ToJsonString()));

        var result = FuncRerankProcess.Run(input, "tokenize", "--model", ModelsDirectory);

        Assert.True(result.ExitCode == 0, result.StandardError);
        var output = result.OutputLines;
        Assert.Equal(lines.Length, output.Length);
        var mismatches = lines.Where((l, i) => !Ids(l["ids"]!).SequenceEqual(Ids(JsonNode.Parse(output[i])!["ids"]!)))
            .Select(l => l["name"]!.GetValue<string>()).ToArray();
        Assert.True(mismatches.Length == 0, $"{mismatches.Length} mismatches: {string.Join(", ", mismatches.Take(20))}");
    }

    [Fact]
    public void Tokenize_gives_hugging_face_ids_for_every_fixture_prompt_at_its_max_length()
    {
        foreach (var group in FixtureLines("prompts.jsonl").GroupBy(l => l["max_length"]!.GetValue<int>()))
        {
            var lines = group.ToArray();
            var input = string.Join('\n', lines.Select(l =>
            {
                var request = new JsonObject { ["query"] = l["query"]!.GetValue<string>(), ["document"] = l["document"]!.GetValue<string>() };
                if (l["instruction"] is { } instruction)
                    request["instruction"] = instruction.GetValue<string>();
                return request.ToJsonString();
            }));

            var result = FuncRerankProcess.Run(input, "tokenize", "--model", ModelsDirectory, "--max-length", group.Key.ToString());

            Assert.True(result.ExitCode == 0, result.StandardError);
            var output = result.OutputLines;
            Assert.Equal(lines.Length, output.Length);
            for (var i = 0; i < lines.Length; i++)
                Assert.True(Ids(lines[i]["ids"]!).SequenceEqual(Ids(JsonNode.Parse(output[i])!["ids"]!)), lines[i]["name"]!.GetValue<string>());
        }
    }

    [Theory]
    [MemberData(nameof(Qwen3OnnxBuilderTests.Checkpoints), MemberType = typeof(Qwen3OnnxBuilderTests))]
    public void Score_on_a_hugging_face_checkpoint_matches_the_torch_reference_to_1e_4(string name)
    {
        var checkpoint = ReferenceCheckpoint.Load(name);
        var groups = checkpoint.Pairs.GroupBy(p => p.Group).ToArray();
        var input = string.Join('\n', groups.Select(g =>
        {
            var request = new JsonObject
            {
                ["query"] = g.First().Query,
                ["documents"] = new JsonArray(g.Select(p => (JsonNode)JsonValue.Create(p.Document)).ToArray()),
            };
            if (g.First().Instruction is { } instruction)
                request["instruction"] = instruction;
            return request.ToJsonString();
        }));

        var result = FuncRerankProcess.Run(input, "score", "--model", checkpoint.Directory, "--cache", RepoFiles.NewTemporaryDirectory());

        Assert.True(result.ExitCode == 0, result.StandardError);
        var output = result.OutputLines;
        Assert.Equal(groups.Length, output.Length);
        for (var g = 0; g < groups.Length; g++)
        {
            var line = JsonNode.Parse(output[g])!;
            var logits = line["logits"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
            var scores = line["scores"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
            var pairs = groups[g].ToArray();
            Assert.Equal(pairs.Length, logits.Length);
            for (var i = 0; i < pairs.Length; i++)
            {
                Assert.True(Math.Abs(logits[i] - pairs[i].LogitFp32) <= 1e-4, $"{pairs[i].Name}: {logits[i]} vs torch {pairs[i].LogitFp32}");
                Assert.InRange(Math.Abs(scores[i] - 1 / (1 + Math.Exp(-pairs[i].LogitFp32))), 0, 1e-4);
            }
        }
    }

    [Fact]
    public void Build_writes_a_directory_that_score_serves_as_is()
    {
        var output = Path.Combine(RepoFiles.NewTemporaryDirectory(), "built");
        var checkpoint = ReferenceCheckpoint.Load("tiny-bf16-sharded-untied");

        var build = FuncRerankProcess.Run("", "build", "--model", checkpoint.Directory, "--out", output, "--cache", RepoFiles.NewTemporaryDirectory());
        Assert.True(build.ExitCode == 0, build.StandardError);
        Assert.Contains("100%", build.StandardError);

        var pair = checkpoint.Pairs[0];
        var request = new JsonObject { ["query"] = pair.Query, ["documents"] = new JsonArray(pair.Document) };
        if (pair.Instruction is { } instruction)
            request["instruction"] = instruction;
        var cache = RepoFiles.NewTemporaryDirectory();
        var score = FuncRerankProcess.Run(request.ToJsonString(), "score", "--model", output, "--cache", cache);

        Assert.True(score.ExitCode == 0, score.StandardError);
        Assert.InRange(Math.Abs(JsonNode.Parse(score.OutputLines[0])!["logits"]![0]!.GetValue<double>() - pair.LogitFp32), 0, 1e-4);
        Assert.Empty(Directory.EnumerateFileSystemEntries(cache)); // served from --out, nothing rebuilt
    }

    [Theory]
    [InlineData("tokenize", "{\"text\": \"ok\"}\n{not json}\n", 2, "stdin line 2: not valid JSON")]
    [InlineData("tokenize", "{\"text\": 5}\n", 2, "stdin line 1: \"text\"")]
    [InlineData("tokenize", "[1]\n", 2, "expected a JSON object")]
    public void Bad_input_lines_give_one_line_naming_the_line(string command, string input, int exitCode, string expected)
    {
        var result = FuncRerankProcess.Run(input, command, "--model", ModelsDirectory);

        Assert.Equal(exitCode, result.ExitCode);
        Assert.Contains(expected, result.StandardError);
        Assert.DoesNotContain("   at ", result.StandardError); // no stack trace
    }

    [Fact]
    public void A_missing_model_directory_is_one_line_and_a_non_zero_exit()
    {
        var missing = Path.Combine(RepoFiles.NewTemporaryDirectory(), "no-such-model");
        var result = FuncRerankProcess.Run("{\"query\":\"q\",\"documents\":[\"d\"]}\n", "score", "--model", missing);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains(missing, result.StandardError);
        Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void A_corrupt_safetensors_header_names_the_file()
    {
        var source = RepoFiles.Checkpoint("tiny-f32-tied");
        var copy = RepoFiles.CopyToTemporaryDirectory(source);
        var weights = Path.Combine(copy, "model.safetensors");
        using (var stream = File.OpenWrite(weights))
            stream.Write("\xff\xff\xff\xff\xff\xff\xff\x7f"u8);

        var result = FuncRerankProcess.Run("", "build", "--model", copy, "--out", Path.Combine(copy, "out"), "--cache", RepoFiles.NewTemporaryDirectory());

        Assert.Equal(1, result.ExitCode);
        Assert.Contains(weights, result.StandardError);
        Assert.Contains("corrupt safetensors header", result.StandardError);
        Assert.DoesNotContain("   at ", result.StandardError);
    }
}
