#!/bin/sh
# Entry point of the FuncRerank image: picks the CUDA driver library, says what it found, then starts the Functions
# host. ONNX Runtime 1.31 is a CUDA 13 build, which needs an R580 or newer driver; on an older host driver a
# data-center GPU (T4, A100) can run it through NVIDIA's forward-compatibility libcuda (cuda-compat-13-0), put first
# on the loader path here. FUNCRERANK_CUDA_COMPAT=auto (default) | on | off.
set -eu

compat_dir=${FUNCRERANK_CUDA_COMPAT_DIR:-/usr/local/cuda-13.0/compat}
mode=${FUNCRERANK_CUDA_COMPAT:-auto}
version_file=${FUNCRERANK_NVIDIA_VERSION_FILE:-/proc/driver/nvidia/version}
required=580

driver=""
if [ -r "$version_file" ]; then
  driver=$(grep -oE '[0-9]{3}\.[0-9]+(\.[0-9]+)?' "$version_file" | head -n 1 || true)
fi

use_compat=no
case "$mode" in
  on) use_compat=yes ;;
  off) ;;
  auto)
    if [ -n "$driver" ] && [ "${driver%%.*}" -lt "$required" ] && [ -d "$compat_dir" ]; then
      use_compat=yes
    fi ;;
  *) echo "funcrerank: FUNCRERANK_CUDA_COMPAT must be auto, on or off, not '$mode'" >&2; exit 2 ;;
esac

if [ "$use_compat" = yes ]; then
  export LD_LIBRARY_PATH="$compat_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "funcrerank: NVIDIA driver ${driver:-unknown} (CUDA 13 needs $required+): using the forward-compatibility libcuda in $compat_dir" >&2
elif [ -z "$driver" ]; then
  echo "funcrerank: no NVIDIA driver visible ($version_file is missing); Reranker__Device=cuda falls back to the CPU or, with Reranker__RequireCuda=true, refuses to serve" >&2
else
  echo "funcrerank: NVIDIA driver $driver; using the host's libcuda" >&2
fi

exec "$@"
