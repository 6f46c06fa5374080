#!/usr/bin/env bash
# azd postdeploy hook: finishes the first deploy, then says where the endpoint is, how to fetch a key (never the key
# itself) and, unless RERANK_WAIT_READY=false, follows /health until the model is loaded so a failure (no GPU driver
# for CUDA 13, a missing model) shows here rather than on the first client call.
set -euo pipefail

say() { printf 'after-deploy: %s\n' "$*"; }
for name in AZURE_RESOURCE_GROUP SERVICE_API_NAME SERVICE_API_URI RERANK_KEY_COMMAND; do
  [ -n "${!name:-}" ] || { printf 'after-deploy: %s is not set (run this through azd)\n' "$name" >&2; exit 1; }
done

# Later provisions keep the deployed image (infra/main.bicep reads it when the app exists).
azd env set SERVICE_API_RESOURCE_EXISTS true > /dev/null

# The first provision ran the placeholder image, without probes; apply the template again now that the real image is
# deployed, so the readiness probe holds traffic until /health says the model is loaded.
readiness=$(az containerapp show --resource-group "$AZURE_RESOURCE_GROUP" --name "$SERVICE_API_NAME" \
  --query "properties.template.containers[0].probes[?type=='Readiness'].httpGet.path | [0]" --output tsv 2> /dev/null || true)
if [ "$readiness" != /health ]; then
  say "first deploy: provisioning again to add the startup and readiness probes"
  azd provision --no-prompt
fi

say "endpoint: ${SERVICE_API_URI}/v1/rerank (also /rerank, /v2/rerank, /score, /tokenize, /v1/models, /health)"
say "key:      ${RERANK_KEY_COMMAND}"
say "try:      curl -s ${SERVICE_API_URI}/v1/rerank -H \"Authorization: Bearer \$(${RERANK_KEY_COMMAND})\" -H 'Content-Type: application/json' -d '{\"query\":\"What is the capital of China?\",\"documents\":[\"Beijing is the capital of China.\",\"Gravity pulls.\"]}'"

if [ "${RERANK_WAIT_READY:-true}" = false ]; then
  exit 0
fi
command -v curl > /dev/null || exit 0
# The readiness probe holds requests until /health is 200, so while the model loads a request just waits; the reason
# for a load that failed is in the log, which is read every minute.
limit=${RERANK_WAIT_READY_SECONDS:-900}
say "waiting up to $limit s for the model to load (GET /health; a cold start pulls the image and reads the model from the share)"
started=$(date +%s)
next_log=$(( started + 60 ))
while [ $(( $(date +%s) - started )) -lt "$limit" ]; do
  code=$(curl -s -o /dev/null --max-time 20 -w '%{http_code}' "${SERVICE_API_URI}/health" || true)
  if [ "$code" = 200 ]; then
    say "ready after $(( $(date +%s) - started )) s: $(curl -s --max-time 20 "${SERVICE_API_URI}/health")"
    exit 0
  fi
  if [ "$(date +%s)" -ge "$next_log" ]; then
    next_log=$(( $(date +%s) + 60 ))
    log=$(az containerapp logs show --resource-group "$AZURE_RESOURCE_GROUP" --name "$SERVICE_API_NAME" --type console \
      --tail 200 --format text 2> /dev/null || true)
    failure=$(printf '%s\n' "$log" | grep -E 'could not be loaded|CUDA was required|refuses to serve' | tail -n 3 || true)
    if [ -n "$failure" ]; then
      say "the model did not load:"
      printf '%s\n' "$failure"
      exit 1
    fi
    say "  not ready yet after $(( $(date +%s) - started )) s (last reply: ${code:-none}); $(printf '%s\n' "$log" | grep -E 'Execution provider|funcrerank:|%|ready' | tail -n 1 || true)"
  fi
  sleep 5
done
say "not ready after $limit s; the log: az containerapp logs show -g $AZURE_RESOURCE_GROUP -n $SERVICE_API_NAME --type console"
