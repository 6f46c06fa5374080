#!/usr/bin/python3
"""Plain PyTorch-eager Qwen3-Reranker scorer: the benchmark's peer (funcrerank-bench run).

    /usr/bin/python3 bench/torch_scorer.py --checkpoint DIR --batches FILE --out FILE [--threads N]

Reads a Hugging Face Qwen3 checkpoint (config.json + model.safetensors, or the sharded index; bf16/f16/f32) and scores
the batches of FILE (JSON Lines, one {"rows": [[id, ...], ...]} per batch) exactly as FuncRerank's graph does:
left-padded rows, positions from the mask, causal + key-padding mask, logit = RMSNorm(h_last) . (W_yes - W_no). The
forward pass is what transformers' eager Qwen3 code does (every position through every layer), in float32, with
torch.inference_mode(). It writes {"batches": [{"seconds", "logits"}], "warmup_seconds", "environment"} to --out.

Only Debian's python3-torch and python3-numpy are needed. Speed depends on the BLAS setup: the benchmark starts this
script with OPENBLAS_CORETYPE set to the CPU's real kernel and the thread variables it reports (see
docs/performance.md).
"""

import argparse
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

YES_ID = 9693
NO_ID = 2152
PAD_ID = 151643


def load_tensors(directory):
    """name -> float32 tensor, from model.safetensors or the shards an index names."""
    index = os.path.join(directory, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    tensors = {}
    for name in files:
        with open(os.path.join(directory, name), "rb") as f:
            data = f.read()
        (length,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8:8 + length])
        base = 8 + length
        for key, info in header.items():
            if key == "__metadata__":
                continue
            start, end = info["data_offsets"]
            raw = np.frombuffer(data, dtype=np.uint8, count=end - start, offset=base + start)
            if info["dtype"] == "BF16":
                values = (raw.view("<u2").astype(np.uint32) << 16).view(np.float32)
            elif info["dtype"] == "F16":
                values = raw.view("<f2").astype(np.float32)
            elif info["dtype"] == "F32":
                values = raw.view("<f4").copy()
            else:
                raise SystemExit(f"{name}: {key} has unsupported dtype {info['dtype']}")
            tensors[key] = torch.from_numpy(values.reshape(info["shape"]))
    return tensors


class EagerQwen3Scorer:
    def __init__(self, directory):
        with open(os.path.join(directory, "config.json")) as f:
            self.cfg = json.load(f)
        w = load_tensors(directory)
        c = self.cfg
        self.layers = c["num_hidden_layers"]
        self.heads = c["num_attention_heads"]
        self.kv_heads = c["num_key_value_heads"]
        self.head_dim = c.get("head_dim") or c["hidden_size"] // self.heads
        self.eps = c["rms_norm_eps"]
        self.embed = w["model.embed_tokens.weight"]
        head = w["model.embed_tokens.weight"] if c.get("tie_word_embeddings", True) or "lm_head.weight" not in w \
            else w["lm_head.weight"]
        self.score_vector = (head[YES_ID] - head[NO_ID]).clone()
        self.final_norm = w["model.norm.weight"]
        self.w = w
        half = torch.arange(0, self.head_dim, 2, dtype=torch.int64).float() / self.head_dim
        self.inv_freq = 1.0 / (float(c["rope_theta"]) ** half)

    def rms_norm(self, x, weight):
        variance = x.pow(2).mean(-1, keepdim=True)
        return weight * (x * torch.rsqrt(variance + self.eps))

    @staticmethod
    def rotate_half(x):
        half = x.shape[-1] // 2
        return torch.cat((-x[..., half:], x[..., :half]), dim=-1)

    def logits(self, ids, mask):
        b, s = ids.shape
        h, kv, d = self.heads, self.kv_heads, self.head_dim
        n = h // kv
        positions = (mask.cumsum(-1) - 1) * mask
        freqs = positions[:, :, None].float() * self.inv_freq[None, None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[:, None], emb.sin()[:, None]  # [b, 1, s, d]
        allowed = torch.ones(s, s, dtype=torch.bool).tril()[None] & mask.bool()[:, None, :]
        allowed |= torch.eye(s, dtype=torch.bool)[None]
        bias = torch.zeros(b, 1, 1, s, s).masked_fill_(~allowed[:, None, None], torch.finfo(torch.float32).min)
        x = F.embedding(ids, self.embed)
        for i in range(self.layers):
            p = f"model.layers.{i}."
            w = self.w
            t = self.rms_norm(x, w[p + "input_layernorm.weight"])
            q = F.linear(t, w[p + "self_attn.q_proj.weight"]).view(b, s, h, d)
            k = F.linear(t, w[p + "self_attn.k_proj.weight"]).view(b, s, kv, d)
            v = F.linear(t, w[p + "self_attn.v_proj.weight"]).view(b, s, kv, d).transpose(1, 2)
            q = self.rms_norm(q, w[p + "self_attn.q_norm.weight"]).transpose(1, 2)
            k = self.rms_norm(k, w[p + "self_attn.k_norm.weight"]).transpose(1, 2)
            q = q * cos + self.rotate_half(q) * sin
            k = k * cos + self.rotate_half(k) * sin
            # grouped-query attention: query head kv*n + r reads kv head kv (repeat_kv), by broadcasting over n
            scores = torch.matmul(q.reshape(b, kv, n, s, d), k[:, :, None].transpose(-1, -2))
            scores.mul_(d ** -0.5).add_(bias)
            context = torch.matmul(scores.softmax(-1), v[:, :, None])  # [b, kv, n, s, d]
            del scores
            context = context.reshape(b, h, s, d).transpose(1, 2).reshape(b, s, h * d)
            x = x + F.linear(context, w[p + "self_attn.o_proj.weight"])
            t = self.rms_norm(x, w[p + "post_attention_layernorm.weight"])
            gate = F.linear(t, w[p + "mlp.gate_proj.weight"])
            up = F.linear(t, w[p + "mlp.up_proj.weight"])
            x = x + F.linear(F.silu(gate) * up, w[p + "mlp.down_proj.weight"])
        last = self.rms_norm(x[:, -1, :], self.final_norm)
        return last @ self.score_vector


def left_pad(rows):
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), PAD_ID, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, width - len(row):] = torch.tensor(row, dtype=torch.long)
        mask[i, width - len(row):] = 1
    return ids, mask


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--batches", required=True, help="JSON Lines, one {\"rows\": [[ids]]} per batch")
    parser.add_argument("--out", required=True)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    with open(args.batches) as f:
        batches = [json.loads(line)["rows"] for line in f if line.strip()]
    if not batches:
        raise SystemExit(f"{args.batches}: no batches")

    loaded = time.perf_counter()
    model = EagerQwen3Scorer(args.checkpoint)
    load_seconds = time.perf_counter() - loaded

    results = []
    with torch.inference_mode():
        # One warm-up pass on the first batch (allocator and BLAS threads), not counted.
        started = time.perf_counter()
        model.logits(*left_pad(batches[0]))
        warmup = time.perf_counter() - started
        for rows in batches:
            ids, mask = left_pad(rows)
            started = time.perf_counter()
            logits = model.logits(ids, mask)
            results.append({"seconds": time.perf_counter() - started, "logits": logits.tolist()})

    environment = {k: os.environ[k] for k in sorted(os.environ)
                   if k.startswith(("OPENBLAS", "OMP_", "GOTO", "MKL", "GLIBC_TUNABLES"))}
    with open(args.out, "w") as f:
        json.dump({
            "torch_version": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "load_seconds": load_seconds,
            "warmup_seconds": warmup,
            "environment": environment,
            "batches": results,
        }, f)


if __name__ == "__main__":
    sys.exit(main())
