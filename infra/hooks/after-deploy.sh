#!/usr/bin/env bash
# Runs after a deploy (azd postdeploy hook: `after-deploy.sh`) and after a provision (postprovision, after the model
# upload: `after-deploy.sh postprovision`). It says where the endpoint is and how to fetch a key (never the key itself)
# and, unless RERANK_WAIT_READY=false, follows /health until the model is loaded, so a failure (no GPU driver for
# CUDA 13, a missing model) shows here rather than on the first client call.
#
# It never runs azd provision itself (azd inside an azd hook is reported to hang: Azure/azure-dev #3397). The first
# provision runs the placeholder image without probes (it has no /health); azd deploy keeps the provisioned template
# and only swaps the image, so `azd up` provisions a second time after the deploy (azure.yaml `workflows.up`) to add
# the probes. A deploy therefore marks a readiness check as pending (RERANK_READY_CHECK), and the check runs as soon as
# the readiness probe is on: at once after a later deploy, after the second provision on the first `azd up`.
set -euo pipefail

stage=${1:-postdeploy}
say() { printf 'after-deploy: %s\n' "$*"; }
case "$stage" in
  postdeploy | postprovision) ;;
  *) printf 'after-deploy: unknown stage %s (postdeploy or postprovision)\n' "$stage" >&2; exit 2 ;;
esac
for name in AZURE_RESOURCE_GROUP SERVICE_API_NAME SERVICE_API_URI RERANK_KEY_COMMAND; do
  [ -n "${!name:-}" ] || { printf 'after-deploy: %s is not set (run this through azd)\n' "$name" >&2; exit 1; }
done

if [ "$stage" = postdeploy ]; then
  # Later provisions keep the deployed image (infra/main.bicep reads it when the app exists).
  azd env set SERVICE_API_RESOURCE_EXISTS true > /dev/null
  azd env set RERANK_READY_CHECK pending > /dev/null
elif [ "${RERANK_READY_CHECK:-}" != pending ]; then
  exit 0   # a provision with no new deploy to check: nothing is woken up
fi

readiness=$(az containerapp show --resource-group "$AZURE_RESOURCE_GROUP" --name "$SERVICE_API_NAME" \
  --query "properties.template.containers[0].probes[?type=='Readiness'].httpGet.path | [0]" --output tsv 2> /dev/null || true)
if [ "$readiness" != /health ]; then
  if [ "$stage" = postdeploy ]; then
    say "first deploy: the startup and readiness probes come with the provision that follows (azd up runs it; after a lone \`azd deploy\`, run \`azd provision\`); the model's load is followed then"
    exit 0
  fi
  printf 'after-deploy: the app has no readiness probe on /health after provisioning: check infra/modules/function-app.bicep and SERVICE_API_RESOURCE_EXISTS\n' >&2
  exit 1
fi

say "endpoint: ${SERVICE_API_URI}/v1/rerank (also /rerank, /v2/rerank, /score, /tokenize, /v1/models, /health)"
say "key:      ${RERANK_KEY_COMMAND}"
say "try:      curl -s ${SERVICE_API_URI}/v1/rerank -H \"Authorization: Bearer \$(${RERANK_KEY_COMMAND})\" -H 'Content-Type: application/json' -d '{\"query\":\"What is the capital of China?\",\"documents\":[\"Beijing is the capital of China.\",\"Gravity pulls.\"]}'"

if [ "${RERANK_WAIT_READY:-true}" = false ] || ! command -v curl > /dev/null; then
  azd env set RERANK_READY_CHECK skipped > /dev/null
  exit 0
fi
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
    azd env set RERANK_READY_CHECK done > /dev/null
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
    say "  not ready yet after $(( $(date +%s) - started )) s (last reply: ${code:-none}); $(printf '%s\n' "$log" | grep -E 'GPU:|Execution provider|funcrerank:|%|ready' | tail -n 1 || true)"
  fi
  sleep 5
done
say "not ready after $limit s; the log: az containerapp logs show -g $AZURE_RESOURCE_GROUP -n $SERVICE_API_NAME --type console"
