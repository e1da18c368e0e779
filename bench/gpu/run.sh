#!/usr/bin/env bash
# The GPU check (issue 9, item 7): on an NVIDIA machine with no internet and no Node, from bench/gpu/carry/
# (built here by bench/gpu/pack.sh):
#   1. the golden tests on WebGPU through Dawn's Vulkan backend (test/model.golden.test.ts, bundled);
#   2. LoRA training samples/s and peak GPU memory on `small` and on a 3B-224-shaped model (random weights from
#      google/paligemma2-3b-pt-224's config.json), batch 4, through the Trainer (bench/gpu/bench.ts);
#   3. the same LoRA steps in PyTorch + PEFT on the same GPU, float32 and bfloat16 (bench/gpu/torch_gpu.py);
#   4. OUT/results.json and OUT/results.md (the table for the README), OUT/log.txt, OUT/golden.txt.
# Everything within BUDGET seconds (default 470: the device tool's 8-minute plan); a phase that runs out of time
# is cut and reported as such.
#
#   bash bench/gpu/run.sh --out "$OUT"                # on the GPU machine (device tool: carry ["bench/gpu/carry"])
#   bash bench/gpu/run.sh --cpu --out /tmp/gpu-check  # the same steps on this machine's CPU, tiny shapes:
#                                                     # Node's own node, dist/ (or --bundled: carry/'s bundles),
#                                                     # backend $GPU_CHECK_BACKEND (cpu; webgpu = llvmpipe),
#                                                     # PyTorch from $PYTHON (python3) on CPU
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
CARRY=$ROOT/bench/gpu/carry
MODE=gpu
BUNDLED=0
OUT=${OUT:-/tmp/paligemma-gpu-check}
BUDGET=${BUDGET:-470}
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu) MODE=cpu ;;
    --bundled) BUNDLED=1 ;;
    --out) OUT=$2; shift ;;
    --budget) BUDGET=$2; shift ;;
    *) echo "usage: bash bench/gpu/run.sh [--cpu [--bundled]] [--out DIR] [--budget SECONDS]" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$OUT"
: > "$OUT/node.jsonl"; : > "$OUT/torch.jsonl"; : > "$OUT/log.txt"
START=$(date +%s)
log() { echo "[gpu-check $(( $(date +%s) - START )) s] $*" | tee -a "$OUT/log.txt" >&2; }
# Seconds a phase may take: its own cap, or what is left of the budget (at least 5).
left() { local l=$(( BUDGET - ($(date +%s) - START) )); [ "$l" -lt "$1" ] && echo $(( l > 5 ? l : 5 )) || echo "$1"; }

if [ "$MODE" = gpu ]; then
  BUNDLED=1
  [ -f "$CARRY/bench.mjs" ] || { log "no $CARRY/bench.mjs: run bash bench/gpu/pack.sh here first and carry bench/gpu/carry"; exit 1; }
  if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; then
    for f in "$CARRY"/debs/*.deb; do dpkg -x "$f" /; done
    ldconfig
    log "Vulkan/EGL loaders unpacked from $(ls "$CARRY"/debs | wc -l) debs"
  fi
  ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$ICD" ] && export VK_DRIVER_FILES=$ICD
  EGL=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  [ -z "${__EGL_VENDOR_LIBRARY_FILENAMES:-}" ] && [ -f "$EGL" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$EGL
  NODE=/tmp/paligemma-gpu-node
  xz -dc "$CARRY/node.xz" > "$NODE" && chmod +x "$NODE"
  BACKEND=webgpu; MODELS=(small 3b-224); BATCH=4; ITERS=3; PY=python3; DEVICE=cuda; THREADS=0
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >> "$OUT/log.txt" 2>&1 || true
else
  NODE=$(command -v node)
  BACKEND=${GPU_CHECK_BACKEND:-cpu}; MODELS=(tiny); BATCH=1; ITERS=1; PY=${PYTHON:-python3}; DEVICE=cpu; THREADS=2
  if [ "$BUNDLED" = 0 ] && [ ! -f dist/bench/gpu/bench.js ]; then node node_modules/typescript/bin/tsc -p tsconfig.json; fi
fi
if [ "$BUNDLED" = 1 ]; then
  [ -f "$CARRY/bench.mjs" ] || { log "no $CARRY/bench.mjs: run bash bench/gpu/pack.sh first"; exit 1; }
  xz -dc "$CARRY/node_modules/webgpu/dist/linux-x64/dawn.node.xz" > "$CARRY/node_modules/webgpu/dist/linux-x64/dawn.node"
  BENCH_JS=$CARRY/bench.mjs; GOLDEN_JS=$CARRY/golden.mjs
else BENCH_JS=dist/bench/gpu/bench.js; GOLDEN_JS=dist/test/model.golden.test.js; fi
log "mode $MODE, backend $BACKEND, node $("$NODE" --version), models ${MODELS[*]}, batch $BATCH, iters $ITERS, budget ${BUDGET} s"

# Peak GPU memory (MiB, nvidia-smi) while a command runs; "" where there is no nvidia-smi.
PEAKS=()
with_gpu_peak() { # $1 name, rest: the command
  local name=$1; shift
  local samples=$OUT/.smi-$name sampler=""
  if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 250 > "$samples" 2>/dev/null &
    sampler=$!
  fi
  "$@"
  local rc=$?
  if [ -n "$sampler" ]; then
    kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null
    PEAKS+=("\"$name\": $(sort -n "$samples" | tail -1 | tr -dc 0-9)")
    rm -f "$samples"
  fi
  return $rc
}

# 1. golden tests on the backend
log "golden tests on $BACKEND"
PALIGEMMA_BACKEND=$BACKEND timeout "$(left 150)" "$NODE" --test "$GOLDEN_JS" > "$OUT/golden.txt" 2>&1
log "golden: rc $? ($(grep -E '^# (pass|fail)' "$OUT/golden.txt" | tr '\n' ' '))"

# 2. ours: LoRA Trainer steps, one process per model (its own peak)
for m in "${MODELS[@]}"; do
  cap=$([ "$m" = 3b-224 ] && echo 200 || echo 120)
  log "ours: $m on $BACKEND"
  with_gpu_peak "ours-$m" env PALIGEMMA_BACKEND="$BACKEND" timeout "$(left "$cap")" "$NODE" "$BENCH_JS" train --backend "$BACKEND" \
    --models "$m" --batch "$BATCH" --iters "$ITERS" >> "$OUT/node.jsonl" 2>> "$OUT/log.txt"
  rc=$?
  [ $rc -eq 0 ] || { log "ours: $m exited $rc"; echo "{\"side\":\"ours\",\"model\":\"$m\",\"backend\":\"$BACKEND\",\"batch\":$BATCH,\"error\":\"exit $rc (124: out of time)\"}" >> "$OUT/node.jsonl"; }
done

# 3. PyTorch + PEFT on the same device, float32 and bfloat16
for m in "${MODELS[@]}"; do
  cap=$([ "$m" = 3b-224 ] && echo 120 || echo 60)
  log "torch: $m on $DEVICE"
  PYTHONUNBUFFERED=1 timeout "$(left "$cap")" "$PY" bench/gpu/torch_gpu.py --models "$m" --dtypes float32,bfloat16 --batch "$BATCH" \
    --iters "$ITERS" --device "$DEVICE" --threads "$THREADS" >> "$OUT/torch.jsonl" 2>> "$OUT/log.txt"
  rc=$?
  [ $rc -eq 0 ] || { log "torch: $m exited $rc"; echo "{\"side\":\"torch\",\"model\":\"$m\",\"dtype\":\"?\",\"device\":\"$DEVICE\",\"batch\":$BATCH,\"error\":\"exit $rc (124: out of time)\"}" >> "$OUT/torch.jsonl"; }
done

# 4. the report
(IFS=,; echo "{${PEAKS[*]:-}}") > "$OUT/gpu-peaks.json"
"$NODE" "$BENCH_JS" report --dir "$OUT" | tee -a "$OUT/log.txt"
log "done: $OUT/results.md, $OUT/results.json"
