#!/usr/bin/env bash
# Installs PyTorch from PyPI into .retain/bench-venv for `npm run bench:engine` (optional: without
# it the bench runs and its torch columns are null). PyPI's Linux torch wheel is a CUDA build whose
# import loads the CUDA libraries even on a CPU-only machine, so they come along (about 4.5 GB);
# only the CPU is used. The versions are those torch 2.15.0 itself requires.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="$root/.retain/bench-venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --no-deps torch==2.15.0
"$venv/bin/pip" install filelock typing-extensions sympy networkx jinja2 fsspec numpy \
  "cuda-toolkit[cublas,cudart,cufft,cufile,cupti,cusolver,cusparse,nvjitlink,nvrtc,nvtx]==13.2.2" \
  nvidia-cudnn-cu13==9.26.0.51 nvidia-cusparselt-cu13==0.8.1 nvidia-nccl-cu13==2.30.7 nvidia-nvshmem-cu13==3.7.2
"$venv/bin/python" -c 'import torch; print("torch", torch.__version__, "ready in", torch.__file__)'
