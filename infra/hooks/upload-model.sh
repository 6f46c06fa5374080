#!/usr/bin/env bash
# azd postprovision hook: puts the chosen Qwen3-Reranker on the Azure Files share that the app mounts read-only.
#
# The model is built once, as fp16, with `funcrerank build` (from the Hugging Face Hub, or from RERANK_MODEL_SOURCE:
# a local checkpoint or an already built directory), and the built directory is uploaded as it is: the app serves
# it without building anything at startup. A marker file, uploaded after everything else, records what the share
# holds; when it already holds the same model built by the same builder version, nothing is downloaded, built or uploaded.
#
# From azd (outputs of infra/main.bicep): AZURE_RESOURCE_GROUP, MODEL_STORAGE_ACCOUNT, MODEL_SHARE_NAME,
#   RERANK_MODEL_ID, RERANK_MODEL_DIR, SERVICE_API_NAME.
# Yours (azd env set NAME VALUE): RERANK_MODEL_SOURCE (a local directory instead of the Hub),
#   RERANK_MODEL_FORCE_UPLOAD=true (upload even when the share holds the same model), RERANK_WORK_DIR (where the
#   build goes; default ~/.cache/funcrerank/azd), HF_TOKEN / HF_ENDPOINT (read by funcrerank's Hub downloader),
#   FUNCRERANK (the command that runs the CLI; default `dotnet run --project src/FuncRerank.Cli -c Release --`).
set -euo pipefail

say() { printf 'upload-model: %s\n' "$*"; }
fail() { printf 'upload-model: %s\n' "$*" >&2; exit 1; }
need() { [ -n "${!1:-}" ] || fail "$1 is not set (run this through azd: it comes from the provisioning outputs)"; }

for name in AZURE_RESOURCE_GROUP MODEL_STORAGE_ACCOUNT MODEL_SHARE_NAME RERANK_MODEL_ID RERANK_MODEL_DIR; do need "$name"; done
command -v az > /dev/null || fail "the Azure CLI (az) is needed to upload the model: install it and run \`az login\`"

group=$AZURE_RESOURCE_GROUP
share=$MODEL_SHARE_NAME
model_id=$RERANK_MODEL_ID
directory=$RERANK_MODEL_DIR
source_dir=${RERANK_MODEL_SOURCE:-}
force=${RERANK_MODEL_FORCE_UPLOAD:-false}
work=${RERANK_WORK_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/funcrerank/azd}
marker=.funcrerank-upload
placeholder_image=mcr.microsoft.com/k8se/quickstart-functions:latest
read -r -a funcrerank <<< "${FUNCRERANK:-dotnet run --project src/FuncRerank.Cli -c Release --}"

sha256() { if command -v sha256sum > /dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi; }
megabytes() { echo $(( ($(wc -c < "$1") + 999999) / 1000000 )); }

# The share's key is read for this script's az storage commands only: exported, never printed.
AZURE_STORAGE_KEY=$(az storage account keys list --resource-group "$group" --account-name "$MODEL_STORAGE_ACCOUNT" \
  --query '[0].value' --output tsv)
[ -n "$AZURE_STORAGE_KEY" ] || fail "could not read the key of storage account $MODEL_STORAGE_ACCOUNT (are you logged in with az login?)"
export AZURE_STORAGE_ACCOUNT=$MODEL_STORAGE_ACCOUNT AZURE_STORAGE_KEY

# What the share holds now: the marker's lines (key=value), or nothing.
remote_marker=$(mktemp)
trap 'rm -f "$remote_marker"' EXIT
remote() { sed -n "s/^$1=//p" "$remote_marker"; }
if [ "$(az storage file exists --share-name "$share" --path "$directory/$marker" --query exists --output tsv)" = true ]; then
  az storage file download --share-name "$share" --path "$directory/$marker" --dest "$remote_marker" --no-progress --output none
fi

# The graph this FuncRerank builds: a model built by another version still loads, but without that version's changes.
builder=$("${funcrerank[@]}" version | sed -n 's/^builder //p')
[ -n "$builder" ] || fail "\`${funcrerank[*]} version\` printed no builder version"
built_by() { sed -n 's/^ *"builder": *"\([^"]*\)".*/\1/p' "$1/reranker.json" 2> /dev/null; }

if [ -z "$source_dir" ] && [ "$force" != true ] && [ "$(remote source)" = hub ] && [ "$(remote model_id)" = "$model_id" ] \
   && [ "$(remote dtype)" = fp16 ] && [ "$(remote builder)" = "$builder" ]; then
  say "the share already holds $model_id (fp16, $builder, uploaded $(remote uploaded)) in $share/$directory: nothing to do"
  say "(azd env set RERANK_MODEL_FORCE_UPLOAD true to upload it again)"
  exit 0
fi

# Build (or reuse) the fp16 model directory.
mkdir -p "$work"
if [ -n "$source_dir" ]; then
  [ -d "$source_dir" ] || fail "RERANK_MODEL_SOURCE=$source_dir is not a directory"
  origin=local
  if [ -f "$source_dir/reranker.json" ]; then
    grep -q '"dtype": "fp16"' "$source_dir/reranker.json" \
      || fail "$source_dir is a built model, but not fp16: build it with \`funcrerank build --dtype fp16\` for the GPU"
    built=$source_dir
    say "using the built model in $built"
    [ "$(built_by "$built")" = "$builder" ] \
      || say "note: $built was built by $(built_by "$built"), this FuncRerank builds $builder; it is uploaded as it is"
  else
    built=$work/$directory-local
    rm -rf "$built" "$built.partial"
    say "building $source_dir as fp16 into $built"
    "${funcrerank[@]}" build --model "$source_dir" --out "$built.partial" --dtype fp16
    mv "$built.partial" "$built"
  fi
else
  origin=hub
  built=$work/$directory
  if [ -f "$built/reranker.json" ] && [ "$(sed -n 's/^model_id=//p' "$built/.funcrerank-source" 2> /dev/null)" = "$model_id" ] \
     && [ "$(built_by "$built")" = "$builder" ]; then
    say "reusing $built (built earlier from $model_id)"
  else
    rm -rf "$built" "$built.partial"
    say "downloading $model_id from the Hugging Face Hub and building it as fp16 into $built"
    "${funcrerank[@]}" build --model-id "$model_id" --out "$built.partial" --dtype fp16
    printf 'model_id=%s\n' "$model_id" > "$built.partial/.funcrerank-source"
    mv "$built.partial" "$built"
  fi
fi
[ -f "$built/reranker.json" ] && [ -f "$built/model.onnx" ] && [ -f "$built/tokenizer.json" ] \
  || fail "$built is not a built model (reranker.json, model.onnx, tokenizer.json)"
manifest=$(sha256 "$built/reranker.json")

if [ "$origin" = local ] && [ "$force" != true ] && [ "$(remote manifest_sha256)" = "$manifest" ]; then
  say "the share already holds this model (same reranker.json, uploaded $(remote uploaded)) in $share/$directory: nothing to do"
  exit 0
fi

# Upload: the marker goes first (away) and last (back), and reranker.json just before it, so a directory that was cut
# off mid-upload is never taken for a complete model, by this hook or by the app.
say "uploading to $share/$directory (storage account $MODEL_STORAGE_ACCOUNT)"
az storage directory create --share-name "$share" --name "$directory" --output none
if [ -s "$remote_marker" ]; then
  az storage file delete --share-name "$share" --path "$directory/$marker" --output none
fi
files=()
for file in "$built"/*; do
  name=$(basename "$file")
  [ -f "$file" ] && [ "$name" != reranker.json ] && files+=("$name")
done
files+=(reranker.json)
total=0
for name in "${files[@]}"; do total=$(( total + $(megabytes "$built/$name") )); done
done_mb=0
started=$(date +%s)
for name in "${files[@]}"; do
  size=$(megabytes "$built/$name")
  say "  $name: $size MB (${done_mb} of ${total} MB done)"
  az storage file upload --share-name "$share" --source "$built/$name" --path "$directory/$name" --max-connections 8 --output none
  done_mb=$(( done_mb + size ))
done
elapsed=$(( $(date +%s) - started ))
{
  printf 'model_id=%s\n' "$model_id"
  printf 'dtype=fp16\n'
  printf 'source=%s\n' "$origin"
  printf 'manifest_sha256=%s\n' "$manifest"
  printf 'builder=%s\n' "$(built_by "$built")"
  printf 'uploaded=%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} > "$work/$directory.marker"
az storage file upload --share-name "$share" --source "$work/$directory.marker" --path "$directory/$marker" --output none
say "uploaded $total MB in ${elapsed} s ($(( total / (elapsed > 0 ? elapsed : 1) )) MB/s)"

# A running app keeps the model it loaded: restart its revision so it reads this one (azd deploy, next in `azd up`,
# starts a new revision anyway).
if [ -n "${SERVICE_API_NAME:-}" ]; then
  image=$(az containerapp show --resource-group "$group" --name "$SERVICE_API_NAME" \
    --query 'properties.template.containers[0].image' --output tsv 2> /dev/null || true)
  revision=$(az containerapp show --resource-group "$group" --name "$SERVICE_API_NAME" \
    --query 'properties.latestReadyRevisionName' --output tsv 2> /dev/null || true)
  if [ -n "$image" ] && [ "$image" != "$placeholder_image" ] && [ -n "$revision" ]; then
    if az containerapp revision restart --resource-group "$group" --name "$SERVICE_API_NAME" --revision "$revision" --output none; then
      say "restarted revision $revision so it loads the new model"
    else
      say "could not restart revision $revision; restart it to load the new model"
    fi
  fi
fi
