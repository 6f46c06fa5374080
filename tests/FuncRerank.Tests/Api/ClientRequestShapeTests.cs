using FuncRerank.Api.Contract;
using static FuncRerank.Tests.Api.ContractJson;

namespace FuncRerank.Tests.Api;

/// <summary>
/// Every request body the clients in the API research send (shared/research/api.md §5 and table (b)) parses into the
/// request the client meant. Bodies are written from the research's description of each client, field for field.
/// </summary>
public sealed class ClientRequestShapeTests
{
    private const string Q = "What is the capital of France?";
    private static readonly string[] Docs = ["Paris is the capital of France.", "Berlin is in Germany.", "Gravity pulls."];
    private const string DocsJson = """["Paris is the capital of France.", "Berlin is in Germany.", "Gravity pulls."]""";

    /// <summary>What a body should parse into; defaults are the standard dialect's.</summary>
    internal sealed record Expected(string Body)
    {
        public RerankDialect Dialect { get; init; } = RerankDialect.Standard;
        public string? Model { get; init; }
        public string Query { get; init; } = Q;
        public string[] Texts { get; init; } = Docs;
        public int? TopN { get; init; }
        public bool ReturnDocuments { get; init; } = true;
        public bool Raw { get; init; }
        public string? Instruction { get; init; }
        public bool Truncate { get; init; } = true;
        public TruncationSide Side { get; init; } = TruncationSide.Right;
        public int? MaxTokensPerDocument { get; init; }
        public bool DocumentsAreObjects { get; init; }
    }

    /// <summary>Also sent over HTTP to a real host by Http/RealClientTests.</summary>
    internal static readonly Dictionary<string, Expected> Cases = new()
    {
        ["FastGPT"] = new($$"""{"model": "Qwen3-Reranker-8B", "query": "{{Q}}", "documents": {{DocsJson}}}""") { Model = "Qwen3-Reranker-8B" },
        ["FastGPT with an instruction in defaultConfig"] = new(
            $$"""{"model": "Qwen3-Reranker-8B", "query": "{{Q}}", "documents": {{DocsJson}}, "instruction": "Find the answer", "temperature": 0}""")
        {
            Model = "Qwen3-Reranker-8B", Instruction = "Find the answer",
        },
        ["Dify OpenAI-compatible"] = new($$"""{"model": "qwen3-reranker", "query": "{{Q}}", "documents": {{DocsJson}}, "top_n": 2}""")
        {
            Model = "qwen3-reranker", TopN = 2,
        },
        ["Dify OpenAI-compatible, top_n 0"] = new($$"""{"model": "qwen3-reranker", "query": "{{Q}}", "documents": {{DocsJson}}, "top_n": 0}""")
        {
            Model = "qwen3-reranker",
        },
        ["Dify OpenAI-compatible, vision on"] = new($$"""
            {"model": "qwen3-reranker", "query": "{{Q}}", "top_n": 3, "documents": [
              {"content": [{"type": "text", "text": "Paris is the capital of France."}]},
              {"content": [{"type": "text", "text": "Berlin is "}, {"type": "text", "text": "in Germany."}]},
              {"content": [{"type": "text", "text": "Gravity pulls."}]}]}
            """)
        {
            Model = "qwen3-reranker", TopN = 3, DocumentsAreObjects = true,
        },
        ["Dify Jina"] = new($$"""{"model": "jina-reranker-v2-base-multilingual", "query": "{{Q}}", "documents": {{DocsJson}}, "top_n": null, "return_documents": false}""")
        {
            Model = "jina-reranker-v2-base-multilingual", ReturnDocuments = false,
        },
        ["Dify Cohere (SDK v1, explicit nulls)"] = new(
            $$"""{"model": "rerank-v3.5", "query": "{{Q}}", "documents": {{DocsJson}}, "top_n": null, "rank_fields": null, "return_documents": true, "max_chunks_per_doc": null}""")
        {
            Model = "rerank-v3.5",
        },
        ["Dify Xinference"] = new(
            $$"""{"model": "qwen3-reranker-uid", "documents": {{DocsJson}}, "query": "{{Q}}", "top_n": null, "max_chunks_per_doc": null, "return_documents": true, "return_len": true, "kwargs": "{}"}""")
        {
            Model = "qwen3-reranker-uid",
        },
        ["Dify TEI"] = new($$"""{"query": "{{Q}}", "texts": {{DocsJson}}, "return_text": true}""") { Dialect = RerankDialect.Tei },
        ["Dify LocalAI"] = new($$"""{"model": "qwen3-reranker", "query": "{{Q}}", "documents": {{DocsJson}}, "top_n": 3}""")
        {
            Model = "qwen3-reranker", TopN = 3,
        },
        ["Dify GPUStack (top_n default 3)"] = new($$"""{"model": "qwen3-reranker-0.6b", "query": "{{Q}}", "documents": {{DocsJson}}, "top_n": 3}""")
        {
            Model = "qwen3-reranker-0.6b", TopN = 3,
        },
        ["RAGFlow OpenAI-API-Compatible"] = new($$"""{"model": "Qwen3-Reranker-8B", "query": "{{Q}}", "documents": {{DocsJson}}, "top_n": 3}""")
        {
            Model = "Qwen3-Reranker-8B", TopN = 3,
        },
        ["RAGFlow VLLM/Cohere factory"] = new($$"""{"model": "Qwen3-Reranker-8B", "query": "{{Q}}", "documents": {{DocsJson}}, "top_n": 3, "return_documents": false}""")
        {
            Model = "Qwen3-Reranker-8B", TopN = 3, ReturnDocuments = false,
        },
        ["RAGFlow Xinference (string booleans)"] = new(
            $$"""{"model": "Qwen3-Reranker-8B", "query": "{{Q}}", "return_documents": "true", "return_len": "true", "documents": {{DocsJson}}}""")
        {
            Model = "Qwen3-Reranker-8B",
        },
        ["RAGFlow Xinference, \"False\""] = new(
            $$"""{"model": "Qwen3-Reranker-8B", "query": "{{Q}}", "return_documents": "False", "return_len": "true", "documents": {{DocsJson}}}""")
        {
            Model = "Qwen3-Reranker-8B", ReturnDocuments = false,
        },
        ["RAGFlow LocalAI"] = new($$"""{"model": "qwen3-reranker", "query": "{{Q}}", "documents": {{DocsJson}}, "top_n": 3}""")
        {
            Model = "qwen3-reranker", TopN = 3,
        },
        ["RAGFlow Jina"] = new($$"""{"model": "jina-reranker-v2-base-multilingual", "query": "{{Q}}", "documents": {{DocsJson}}, "top_n": 3}""")
        {
            Model = "jina-reranker-v2-base-multilingual", TopN = 3,
        },
        ["RAGFlow HuggingFace (TEI)"] = new($$"""{"query": "{{Q}}", "texts": {{DocsJson}}, "raw_scores": false, "truncate": true}""")
        {
            Dialect = RerankDialect.Tei, ReturnDocuments = false,
        },
        ["RAGFlow with the ___Factory suffix"] = new($$"""{"model": "BAAI/bge-reranker-v2-m3___VLLM", "query": "{{Q}}", "documents": {{DocsJson}}, "top_n": 3}""")
        {
            Model = "BAAI/bge-reranker-v2-m3___VLLM", TopN = 3,
        },
        ["Open WebUI (empty model)"] = new($$"""{"model": "", "query": "{{Q}}", "documents": {{DocsJson}}, "top_n": 3}""") { Model = "", TopN = 3 },
        ["LangChain CohereRerank (v2, max_tokens_per_doc null)"] = new($$"""
            {"model": "rerank-v3.5", "query": "{{Q}}", "documents": ["city: Paris\ncountry: France", "city: Berlin\ncountry: Germany"], "top_n": 3, "max_tokens_per_doc": null}
            """)
        {
            Model = "rerank-v3.5", TopN = 3, Texts = ["city: Paris\ncountry: France", "city: Berlin\ncountry: Germany"],
        },
        ["LangChain JinaRerank"] = new($$"""{"query": "{{Q}}", "documents": {{DocsJson}}, "model": "jina-reranker-v1-base-en", "top_n": 3}""")
        {
            Model = "jina-reranker-v1-base-en", TopN = 3,
        },
        ["LangChain InfinityRerank"] = new($$"""{"query": "{{Q}}", "documents": {{DocsJson}}, "model": "default/not-specified"}""")
        {
            Model = "default/not-specified",
        },
        ["LlamaIndex CohereRerank"] = new($$"""{"model": "rerank-english-v3.0", "top_n": 2, "query": "{{Q}}", "documents": {{DocsJson}}}""")
        {
            Model = "rerank-english-v3.0", TopN = 2,
        },
        ["LlamaIndex JinaRerank"] = new($$"""{"query": "{{Q}}", "documents": {{DocsJson}}, "model": "jina-reranker-v1-base-en", "top_n": 2}""")
        {
            Model = "jina-reranker-v1-base-en", TopN = 2,
        },
        ["LlamaIndex TEI"] = new($$"""{"query": "{{Q}}", "texts": {{DocsJson}}}""") { Dialect = RerankDialect.Tei, ReturnDocuments = false },
        ["Cherry Studio"] = new($$"""{"model": "jina-ai/jina-reranker-v3", "query": "{{Q}}", "documents": {{DocsJson}}, "top_n": 3}""")
        {
            Model = "jina-ai/jina-reranker-v3", TopN = 3,
        },
        ["Cherry Studio TEI provider on /v1/rerank"] = new($$"""{"query": "{{Q}}", "texts": {{DocsJson}}, "return_text": true}""")
        {
            Dialect = RerankDialect.Tei,
        },
        ["Cherry Studio jina-reranker-m0 (object documents)"] = new($$"""
            {"model": "jina-reranker-m0", "query": "{{Q}}", "top_n": 3, "documents": [
              {"text": "Paris is the capital of France."}, {"text": "Berlin is in Germany."}, {"text": "Gravity pulls."}]}
            """)
        {
            Model = "jina-reranker-m0", TopN = 3, DocumentsAreObjects = true,
        },
        ["Cohere v1 rank_fields"] = new($$"""
            {"query": "{{Q}}", "rank_fields": ["title", "body"], "documents": [
              {"title": "Paris", "body": "The capital of France.", "id": 7},
              {"body": "Berlin is in Germany.", "title": "Berlin", "year": 1237},
              {"title": "Physics", "extra": null}]}
            """)
        {
            Texts = ["title: Paris\nbody: The capital of France.", "title: Berlin\nbody: Berlin is in Germany.", "title: Physics"],
            DocumentsAreObjects = true,
        },
        ["Cohere v2 max_tokens_per_doc"] = new($$"""{"model": "rerank-v3.5", "query": "{{Q}}", "documents": {{DocsJson}}, "top_n": 2, "max_tokens_per_doc": 512}""")
        {
            Model = "rerank-v3.5", TopN = 2, MaxTokensPerDocument = 512,
        },
        ["vLLM use_activation false"] = new($$"""{"model": "Qwen3-Reranker-8B", "query": "{{Q}}", "documents": {{DocsJson}}, "use_activation": false}""")
        {
            Model = "Qwen3-Reranker-8B", Raw = true,
        },
        ["vLLM truncation_side left"] = new($$"""{"query": "{{Q}}", "documents": {{DocsJson}}, "truncation_side": "left", "truncate_prompt_tokens": -1}""")
        {
            Side = TruncationSide.Left,
        },
        ["vLLM query as content parts"] = new($$"""{"query": {"content": [{"type": "text", "text": "{{Q}}"}]}, "documents": {{DocsJson}}}"""),
        ["vLLM Qwen3 template instruct"] = new($$"""{"query": "{{Q}}", "documents": {{DocsJson}}, "instruct": "Retrieve city facts"}""")
        {
            Instruction = "Retrieve city facts",
        },
        ["Infinity raw_scores"] = new($$"""{"query": "{{Q}}", "documents": {{DocsJson}}, "raw_scores": true, "return_documents": false, "model": "default/not-specified"}""")
        {
            Model = "default/not-specified", Raw = true, ReturnDocuments = false,
        },
        ["Xinference kwargs instruction"] = new($$"""{"model": "uid", "query": "{{Q}}", "documents": {{DocsJson}}, "kwargs": "{\"instruction\": \"Retrieve city facts\"}"}""")
        {
            Model = "uid", Instruction = "Retrieve city facts",
        },
        ["TEI raw scores, no truncation, left"] = new(
            $$"""{"query": "{{Q}}", "texts": {{DocsJson}}, "raw_scores": true, "truncate": false, "truncation_direction": "Left", "top_n": 1}""")
        {
            Dialect = RerankDialect.Tei, ReturnDocuments = false, Raw = true, Truncate = false, Side = TruncationSide.Left,
        },
    };

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void ParsesAsTheClientMeant(string name)
    {
        var expected = Cases[name];
        var request = Rerank(expected.Body);

        Assert.Equal(expected.Dialect, request.Dialect);
        Assert.Equal(expected.Model, request.Model);
        Assert.Equal(expected.Query, request.Query);
        Assert.Equal(expected.Texts, request.Documents.Select(d => d.Text));
        Assert.Equal(expected.TopN, request.TopN);
        Assert.Equal(Math.Min(expected.TopN ?? int.MaxValue, expected.Texts.Length), request.ResultCount);
        Assert.Equal(expected.ReturnDocuments, request.ReturnDocuments);
        Assert.Equal(expected.Raw, request.Scoring.RawScores);
        Assert.Equal(expected.Instruction, request.Scoring.Instruction);
        Assert.Equal(expected.Truncate, request.Scoring.Truncate);
        Assert.Equal(expected.Side, request.Scoring.TruncationSide);
        Assert.Equal(expected.MaxTokensPerDocument, request.Scoring.MaxTokensPerDocument);
        Assert.All(request.Documents, d => Assert.Equal(expected.DocumentsAreObjects, d.Original.HasValue));
    }

    [Fact]
    public void EveryClientInTheResearchTableHasACase()
    {
        string[] clients = ["FastGPT", "Dify OpenAI-compatible", "Dify Jina", "Dify Cohere", "Dify Xinference", "Dify TEI", "Dify LocalAI",
            "Dify GPUStack", "RAGFlow OpenAI-API-Compatible", "RAGFlow VLLM/Cohere", "RAGFlow Xinference", "RAGFlow LocalAI", "RAGFlow Jina",
            "RAGFlow HuggingFace", "Open WebUI", "LangChain CohereRerank", "LangChain JinaRerank", "LlamaIndex CohereRerank",
            "LlamaIndex JinaRerank", "LlamaIndex TEI", "Cherry Studio", "Cherry Studio TEI"];
        Assert.All(clients, client => Assert.Contains(Cases.Keys, name => name.StartsWith(client, StringComparison.Ordinal)));
    }
}
