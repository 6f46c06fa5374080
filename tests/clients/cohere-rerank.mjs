// Calls a FuncRerank endpoint with the official Cohere TypeScript SDK, as LangChain's and LlamaIndex's Cohere
// integrations do, and prints what the SDK parsed, as one JSON line. Used by tests/FuncRerank.Tests/Http/RealClientTests.cs.
// Usage: BASE_URL=http://127.0.0.1:8012 API_KEY=... node cohere-rerank.mjs '{"query": ..., "documents": [...], "topN": 2}'
import { CohereClient, CohereClientV2 } from "cohere-ai";

const request = JSON.parse(process.argv[2]);
const options = { token: process.env.API_KEY, environment: process.env.BASE_URL };
const v1 = await new CohereClient(options).rerank({ model: "rerank-v3.5", returnDocuments: true, ...request });
const v2 = await new CohereClientV2(options).rerank({ model: "rerank-v3.5", ...request });
// The v2 client has no returnDocuments option; it sends the extra key as written, in camelCase.
const v2WithoutDocuments = await new CohereClientV2(options).rerank({ model: "rerank-v3.5", ...request, returnDocuments: false });
let rejected = null;
try {
  await new CohereClient({ ...options, token: "wrong-key" }).rerank({ model: "rerank-v3.5", ...request });
} catch (error) {
  rejected = { status: error.statusCode ?? null, name: error.constructor?.name ?? null };
}
console.log(JSON.stringify({ v1, v2, v2WithoutDocuments, rejected }));
