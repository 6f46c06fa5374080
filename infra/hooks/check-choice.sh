#!/usr/bin/env bash
# azd preprovision hook: checks the model / GPU choice, that the region offers that serverless GPU, and the tools the
# postprovision hook needs, before anything is created or billed. RERANK_MODEL_SIZE: 0.6B (default) | 4B | 8B;
# RERANK_GPU: T4 | A100 | empty (A100 for 8B, T4 otherwise); RERANK_MIN_REPLICAS: 0 (default, scale to zero) or more
# (warm, billed continuously); AZURE_LOCATION: the region azd deploys to.
set -euo pipefail

say() { printf 'check-choice: %s\n' "$*"; }
fail() { printf 'check-choice: %s\n' "$*" >&2; exit 1; }

size=${RERANK_MODEL_SIZE:-0.6B}
gpu=${RERANK_GPU:-}
min_replicas=${RERANK_MIN_REPLICAS:-0}

case "$size" in
  0.6B | 4B | 8B) ;;
  *) fail "RERANK_MODEL_SIZE=$size: choose 0.6B, 4B or 8B (azd env set RERANK_MODEL_SIZE 4B)" ;;
esac
case "$gpu" in
  "") if [ "$size" = 8B ]; then gpu=A100; else gpu=T4; fi ;;
  T4 | A100) ;;
  *) fail "RERANK_GPU=$gpu: choose T4 or A100, or leave it empty to pick by model size" ;;
esac
# fp16 weights alone: 0.6B ~1.2 GB, 4B ~8 GB, 8B ~16.4 GB; a T4 has 16 GB, and activations need room too.
if [ "$size" = 8B ] && [ "$gpu" = T4 ]; then
  fail "Qwen3-Reranker-8B does not fit a T4 (16 GB) in fp16: its weights alone are about 16.4 GB. Use the A100 (azd env set RERANK_GPU A100) or a smaller model."
fi
case "$min_replicas" in
  '' | *[!0-9]*) fail "RERANK_MIN_REPLICAS=$min_replicas: a whole number (0 scales to zero)" ;;
esac

if [ -z "${RERANK_MODEL_SOURCE:-}" ] || [ ! -f "${RERANK_MODEL_SOURCE:-}/reranker.json" ]; then
  command -v dotnet > /dev/null || fail "the .NET 10 SDK (dotnet) is needed to build the model with funcrerank build before it is uploaded"
fi
command -v az > /dev/null || fail "the Azure CLI (az) is needed to upload the model to the share: install it, then az login"
az account show --output none 2> /dev/null || fail "the Azure CLI is not logged in: run az login (azd's own login does not cover az)"

# The region must offer the GPU's serverless profile (a later "not supported" from ARM comes after resources exist).
# The regions to suggest are the ones infra/main.bicep allows, asked one by one only when the chosen one lacks it.
case "$gpu" in
  T4) profile=Consumption-GPU-NC8as-T4 ;;
  A100) profile=Consumption-GPU-NC24-A100 ;;
esac
offers() { az containerapp env workload-profile list-supported --location "$1" --query '[].name' --output tsv 2> /dev/null | grep -qxF "$profile"; }
region=${AZURE_LOCATION:-}
if [ -z "$region" ]; then
  say "no region chosen yet (AZURE_LOCATION): the check that it offers $profile is skipped"
elif ! offers "$region"; then
  allowed=$(sed -n '/^@allowed(\[/,/^\])/{/^@allowed\|^\])/!p}; /^param location /q' infra/main.bicep | tr -d " '")
  offering=()
  for candidate in $allowed; do
    if [ "$candidate" != "$region" ] && offers "$candidate"; then offering+=("$candidate"); fi
  done
  if [ ${#offering[@]} -eq 0 ]; then
    fail "$region does not offer the serverless $gpu profile ($profile), nor does any region this template allows, as far as az containerapp env workload-profile list-supported tells this subscription"
  fi
  fail "$region does not offer the serverless $gpu profile ($profile). Regions that do: ${offering[*]} (azd env set AZURE_LOCATION ${offering[0]}, in a new azd environment if this one has resources already)"
fi

if [ "$min_replicas" = 0 ]; then
  warm="scales to zero when idle (cold starts of a minute or more)"
else
  warm="keeps $min_replicas replica(s) warm (billed per second, even when idle)"
fi
say "Qwen/Qwen3-Reranker-$size as fp16 on a serverless $gpu; the app $warm"
