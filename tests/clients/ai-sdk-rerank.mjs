// Calls a FuncRerank endpoint with the Vercel AI SDK's rerank(), through the Together AI provider (@ai-sdk/togetherai)
// and the Voyage AI provider (voyage-ai-provider), and prints what each parsed, as one JSON line. Used by
// tests/FuncRerank.Tests/Http/AiSdkClientTests.cs. The providers validate every reply against their own schema, so a
// field FuncRerank leaves out, or one of the wrong type, fails here as it would in an application.
// Usage: BASE_URL=http://127.0.0.1:8012/v1 API_KEY=... node ai-sdk-rerank.mjs '{"query": ..., "documents": [...], "topN": 2}'
import { rerank } from "ai";
import { createTogetherAI } from "@ai-sdk/togetherai";
import { createVoyage } from "voyage-ai-provider";

const { query, documents, topN } = JSON.parse(process.argv[2]);
const baseURL = process.env.BASE_URL;
const providers = {
  together: (apiKey) => createTogetherAI({ apiKey, baseURL }).rerankingModel("Salesforce/Llama-Rank-v1"),
  voyage: (apiKey) => createVoyage({ apiKey, baseURL }).rerankingModel("rerank-2.5"),
};

async function call(provider, options, apiKey = process.env.API_KEY) {
  try {
    const result = await rerank({ model: providers[provider](apiKey), query, documents, maxRetries: 0, ...options });
    return { ranking: result.ranking, body: result.response.body, modelId: result.response.modelId ?? null };
  } catch (error) {
    return { error: { name: error.name ?? null, status: error.statusCode ?? null, message: error.message ?? null } };
  }
}

console.log(JSON.stringify({
  together: await call("together", { topN }),
  togetherAll: await call("together", {}),
  voyage: await call("voyage", { topN }),
  // No topN: the provider sends neither top_k nor top_n, only Voyage's truncation.
  voyageAll: await call("voyage", { providerOptions: { voyage: { returnDocuments: true } } }),
  togetherWrongKey: await call("together", { topN }, "wrong-key"),
  voyageWrongKey: await call("voyage", { topN }, "wrong-key"),
}));
