#!/usr/bin/env bash
# Prepares the GPU check kit for the device machine (bench/gpu/README.md): publishes the driver self-contained for
# linux-x64 with ONNX Runtime's CUDA provider, packs it as one .tar.xz and splits that into parts that each fit one
# device call beside the working tree. Run it in the checkout that the device session sends (the session's own).
#
#     bench/gpu/prepare.sh            ->  artifacts/gpu-kit/parts/1, 2, ... (each: one part + manifest.json)
#
# Not trimmed: PublishTrimmed's analysis rejects the engine's reflection-based JSON (RerankerManifest, ModelStore:
# IL2026), and the CUDA provider (284 MB, 186 MB compressed) is most of the kit either way.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
kit="$repo/artifacts/gpu-kit"
limit=$((64 * 1024 * 1024))
margin=$((2 * 1024 * 1024))

rm -rf "$kit/publish" "$kit/parts" "$kit/kit.tar.xz"
MSBUILDDISABLENODEREUSE=1 dotnet publish "$repo/bench/FuncRerank.GpuCheck" -c Release -r linux-x64 --self-contained \
  -p:InvariantGlobalization=true -o "$kit/publish" -nologo -v q
# Not used by the check: TensorRT's provider and the debug symbols.
rm -f "$kit/publish/libonnxruntime_providers_tensorrt.so" "$kit/publish"/*.pdb
tar -C "$kit/publish" -cf - . | xz -T0 -6 > "$kit/kit.tar.xz"

# What every device call sends anyway: tracked files and untracked ones git does not ignore (and shared/, if any).
tree=$(cd "$repo" && git ls-files -z -co --exclude-standard | xargs -0 -r stat -c %s 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
shared=0
if [ -d "$repo/shared" ]; then shared=$(du -sb "$repo/shared" | cut -f1); fi
part=$((limit - tree - shared - margin))
if [ "$part" -lt $((8 * 1024 * 1024)) ]; then
  echo "the working tree already sends $(( (tree + shared) / 1048576 )) MiB of the 64 MiB a call may carry: too little room for parts" >&2
  exit 1
fi
python3 "$repo/bench/gpu/parts.py" split "$kit/kit.tar.xz" --out "$kit/parts" --part-bytes "$part"
rm "$kit/kit.tar.xz"
count=$(ls "$kit/parts" | wc -l)
echo "working tree $(( (tree + shared) / 1048576 )) MiB per call; $count part(s) of at most $((part / 1048576)) MiB:"
for i in $(seq 1 "$count"); do
  echo "  call $i: carry [\"artifacts/gpu-kit/parts/$i\"]  ($(du -sh "$kit/parts/$i" | cut -f1))"
done
