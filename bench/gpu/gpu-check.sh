#!/usr/bin/env bash
# The GPU check kit's one entry point (bench/gpu/README.md).
#
# On the GPU machine, once every part has arrived (the last device call runs it):
#     bench/gpu/gpu-check.sh
# Here, in CI, on the CPU, with the driver dotnet built (tests/FuncRerank.Tests/Bench/GpuCheckKitTests.cs):
#     bench/gpu/gpu-check.sh --device cpu --driver "dotnet bench/FuncRerank.GpuCheck/bin/Debug/net10.0/funcrerank-gpucheck.dll"
#
# It joins and checks the parts into the self-contained driver (unless --driver names one), makes the random-weight
# checkpoint with the fixture generator (the full Qwen3-Reranker-0.6B shape on cuda, a tiny one on cpu), puts the CUDA 13
# and cuDNN 9 libraries of the machine's PyTorch wheels on the loader path, and runs the driver, which writes
# $OUT/gpu-check.json (and the log beside it).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
device=cuda
parts="$repo/artifacts/gpu-kit/parts"
out="${OUT:-$repo/artifacts/gpu-kit/out}"
work="${TMPDIR:-/tmp}/funcrerank-gpu-check"
driver=""
python="${PYTHON:-python3}"
usage="usage: bench/gpu/gpu-check.sh [--device cuda|cpu] [--parts DIR] [--out DIR] [--work DIR] [--driver COMMAND]"
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device=$2; shift 2 ;;
    --parts) parts=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --driver) driver=$2; shift 2 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
case "$device" in
  cuda) scale=full; checkpoint=qwen3-0.6b-shape ;;
  cpu) scale=small; checkpoint=tiny-bf16-sharded-untied ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
mkdir -p "$out" "$work"
started=$SECONDS

# 1. The driver: the published kit, joined from its parts (each checked against its SHA-256) and unpacked once per machine.
if [ -z "$driver" ]; then
  if [ ! -x "$work/kit/funcrerank-gpucheck" ]; then
    "$python" "$repo/bench/gpu/parts.py" join "$parts" --to "$work/kit.tar.xz"
    rm -rf "$work/kit"
    "$python" -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2], filter="data")' "$work/kit.tar.xz" "$work/kit"
    rm "$work/kit.tar.xz"
  fi
  driver="$work/kit/funcrerank-gpucheck"
fi
echo "driver ready after $((SECONDS - started)) s"

# 2. The checkpoint: random weights of the real shape, made here, so no weights travel.
if [ ! -f "$work/checkpoints/$checkpoint/config.json" ]; then
  "$python" "$repo/tests/fixtures/models/make_checkpoints.py" --only "$checkpoint" --weights-only --out "$work/checkpoints"
fi
echo "checkpoint ready after $((SECONDS - started)) s"

# 3. CUDA 13, cuBLAS, cuDNN 9 and the rest that ONNX Runtime's CUDA provider loads: the lib folders of the nvidia-* wheels
#    beside the machine's PyTorch (the driver's libcuda.so.1 comes with the machine).
extra=()
if [ "$device" = cuda ]; then
  libraries=$("$python" -c 'import glob, os, nvidia
print(":".join(sorted({os.path.dirname(p) for d in nvidia.__path__ for p in glob.glob(os.path.join(d, "**", "lib*.so*"), recursive=True)})))')
  export LD_LIBRARY_PATH="$libraries${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap,clocks.max.sm --format=csv > "$out/nvidia-smi.csv" || true
  extra=(--nvidia-smi "$out/nvidia-smi.csv")
fi

# 4. The check itself.
# shellcheck disable=SC2086 # the driver may be a command with arguments ("dotnet path.dll")
$driver --checkpoint "$work/checkpoints/$checkpoint" --device "$device" --scale "$scale" --work "$work/run" \
  --out "$out/gpu-check.json" "${extra[@]}" 2>&1 | tee "$out/gpu-check.log"
echo "done after $((SECONDS - started)) s: $out/gpu-check.json"
