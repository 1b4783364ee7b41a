#!/usr/bin/env bash
# Lays out .retain/gpu-check: gpu-check.js with only what it needs at run time (the engine's dist,
# onnxruntime-node for linux-x64 and the engine's two small dependencies), about 50 MB, so that
# a machine with a GPU and plain node runs it without npm:
#   bash test/bench/pack-gpu-check.sh && cd .retain/gpu-check && node gpu-check.js --device webgpu
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/.retain/gpu-check"
cd "$root"
npx tsc -b test
rm -rf "$out"
mkdir -p "$out/node_modules/@retain/engine" "$out/node_modules/onnxruntime-node/bin/napi-v6/linux"
cp test/dist/bench/gpu-check.js "$out/"
cp -r packages/engine/package.json packages/engine/dist "$out/node_modules/@retain/engine/"
ort=node_modules/onnxruntime-node
cp -r "$ort/package.json" "$ort/dist" "$out/node_modules/onnxruntime-node/"
cp -r "$ort/bin/napi-v6/linux/x64" "$out/node_modules/onnxruntime-node/bin/napi-v6/linux/"
for dep in onnxruntime-common protobufjs long pure-rand; do cp -r "node_modules/$dep" "$out/node_modules/"; done
# Drop what is not run: declaration files and source maps.
find "$out" \( -name '*.d.ts' -o -name '*.map' -o -name '*.test.js' \) -delete
du -sh "$out"
