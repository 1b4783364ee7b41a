#!/usr/bin/env bash
# The GPU check of issue 16, run on the GPU machine from the repository root once the parts that
# test/bench/pack-gpu-check.sh made (.retain/gpu-check/carry-*) are there. Needs only python3
# with PyTorch and NVIDIA's CUDA 13 wheels (the machine's image); no Node.js, no network.
#
#   bash test/bench/gpu-check.sh [--device cuda:0] [--quick]
#
# 1. unpacks node, the built workspace, the CUDA provider, the Temporal CLI and Fashion-MNIST;
# 2. points ld.so at the CUDA 13 / cuDNN 9 libraries of the machine's Python (its PyTorch's);
# 3. bench:engine on the device against PyTorch eager on the same card (same models, batch,
#    optimizers): one step per run, then K=32 steps per run, with the host<->device bytes per step,
#    then K=32 with bf16 matrix products (torch under autocast bf16);
# 4. examples/permuted-fmnist.yaml on the device, again with bf16 products (trainer
#    mixedPrecision), and on the CPU (`retain run`, an embedded Temporal server); the matrices compared;
# 5. writes gpu.json (to $OUT when set, else .bench/): the card, both bench tables, the run's
#    largest difference; exits 1 when it exceeds 0.002.
# --quick: only MLP 784-400-400-10, for trying the pipeline on a CPU (`--device cpu`).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
device=cuda:0
models=mlp-784-400-400-10,mlp-784-4096-4096-10,cnn-small,transformer-tiny
k=32
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device="$2"; shift 2 ;;
    --quick) models=mlp-784-400-400-10; k=8; shift ;;
    *) echo "gpu-check: unknown option '$1' (--device D, --quick)" >&2; exit 2 ;;
  esac
done
parts="$root/.retain/gpu-check"
work="${RETAIN_GPU_CHECK_DIR:-/tmp/retain-gpu-check}"
report_dir="${OUT:-$root/.bench}"
mkdir -p "$work" "$report_dir"
started=$(date +%s)
say() { echo "[gpu-check $(($(date +%s) - started)) s] $*"; }

say "unpacking into $work"
for piece in node app cuda-provider temporal fmnist; do
  [ -d "$work/$piece" ] && continue
  ls "$parts"/carry-*/"$piece".tar.xz.part-* >/dev/null 2>&1 || { echo "gpu-check: no parts of '$piece' under $parts/carry-*: carry every carry-N folder first" >&2; exit 2; }
  cat "$parts"/carry-*/"$piece".tar.xz.part-* >"$work/$piece.tar.xz"
  mkdir -p "$work/$piece.partial"
  # Python's tarfile reads xz itself: the machine may lack the xz tool.
  python3 -m tarfile -e "$work/$piece.tar.xz" "$work/$piece.partial"
  mv "$work/$piece.partial" "$work/$piece"
  rm "$work/$piece.tar.xz"
done
export PATH="$work/node/bin:$PATH"
ort_bin="$work/app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64"
cp "$work"/cuda-provider/*.so "$ort_bin/"
chmod +x "$work/temporal/temporal"

# The CUDA 13 and cuDNN 9 libraries of the machine's Python packages (nvidia/*/lib), before the
# process starts: ld.so reads LD_LIBRARY_PATH once.
cuda_libs="$(python3 -c 'import glob, os, nvidia; print(":".join(sorted({d for p in nvidia.__path__ for d in glob.glob(os.path.join(p, "*", "lib"))})))' 2>/dev/null || true)"
export LD_LIBRARY_PATH="${cuda_libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
say "node $(node --version); $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi'); CUDA libraries: ${cuda_libs:-none found}"
export RETAIN_BENCH_PYTHON="${RETAIN_BENCH_PYTHON:-$(command -v python3)}"

cd "$work/app"
say "bench:engine on $device, one step per run"
node test/dist/bench/engine.js --device "$device" --only "$models" --k "1,$k" --steps-per-run 1 --seconds 0.5 --out gpu-k1
say "bench:engine on $device, $k steps per run"
node test/dist/bench/engine.js --device "$device" --only "$models" --k 1 --steps-per-run "$k" --seconds 0.5 --out "gpu-k$k"

say "bench:engine on $device, $k steps per run, bf16 products (torch: autocast bf16)"
node test/dist/bench/engine.js --device "$device" --only "$models" --k 1 --steps-per-run "$k" --mixed-precision bf16 --seconds 0.5 --out "gpu-k$k-bf16" \
  || echo "gpu-check: the bf16 bench failed (a CPU has no bf16 MatMul); going on"

say "examples/permuted-fmnist.yaml on $device (fp32, then bf16 products) and on the CPU"
export RETAIN_TEMPORAL_CLI="$work/temporal/temporal" RETAIN_FASHION_MNIST_DIR="$work/fmnist" RETAIN_HOME="$work/home"
node packages/cli/bin/retain.js run examples/permuted-fmnist.yaml --device "$device" --out "$work/run-gpu"
sed 's/^    epochs: 1$/    epochs: 1\n    mixedPrecision: bf16/' examples/permuted-fmnist.yaml >"$work/permuted-fmnist-bf16.yaml"
node packages/cli/bin/retain.js run "$work/permuted-fmnist-bf16.yaml" --device "$device" --out "$work/run-gpu-bf16" \
  || echo "gpu-check: the bf16 run failed (a CPU has no bf16 MatMul); going on"
node packages/cli/bin/retain.js run examples/permuted-fmnist.yaml --out "$work/run-cpu"
node packages/cli/bin/retain.js server-stop >/dev/null

benches=".bench/gpu-k1.json,.bench/gpu-k$k.json"
[ -f ".bench/gpu-k$k-bf16.json" ] && benches="$benches,.bench/gpu-k$k-bf16.json"
node test/dist/bench/gpu-report.js --bench "$benches" \
  --gpu-run "$work/run-gpu/results.json" --cpu-run "$work/run-cpu/results.json" \
  $([ -f "$work/run-gpu-bf16/results.json" ] && echo --bf16-run "$work/run-gpu-bf16/results.json") --out "$report_dir/gpu.json"
say "wrote $report_dir/gpu.json"
