// Hugging Face's tokenizer (npm `tokenizers`, the Node binding of the Rust library, installed by
// `npm ci` in tests/fixtures/tokenizer) timed on the texts funcrerank-bench hands it, so that both
// tokenizers see the same strings in the same run. Protocol, one JSON object per line:
//   stdin  {"path": "text file (UTF-8)", "reps": N}
//   stdout {"count": ids, "wall_ms": [...], "cpu_ms": [...]}   (one entry per rep; CPU = the whole process)
// Usage: node bench/hf_tokenizer.mjs models/tokenizer.json
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(HERE, '../tests/fixtures/tokenizer/package.json'));
const hf = require('tokenizers');

const tokenizer = hf.Tokenizer.fromFile(process.argv[2]);
await tokenizer.encode('warm up 中文', null, { addSpecialTokens: false });
console.log(JSON.stringify({ ready: true }));

for await (const line of readline.createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const { path: file, reps } = JSON.parse(line);
  const text = fs.readFileSync(file, 'utf8');
  const wall = [];
  const cpu = [];
  let count = 0;
  for (let i = 0; i < reps; i++) {
    const cpuStart = process.cpuUsage();
    const start = process.hrtime.bigint();
    const encoding = await tokenizer.encode(text, null, { addSpecialTokens: false });
    wall.push(Number(process.hrtime.bigint() - start) / 1e6);
    const used = process.cpuUsage(cpuStart);
    cpu.push((used.user + used.system) / 1000);
    count = encoding.getIds().length;
  }
  console.log(JSON.stringify({ count, wall_ms: wall, cpu_ms: cpu }));
}
