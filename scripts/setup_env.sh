#!/usr/bin/env bash
# One-time set-up on a fresh Debian/Ubuntu machine (or any machine with python3 and ffmpeg):
# ffmpeg, a virtual environment, PyTorch (CPU unless asked otherwise), then avcurr itself.
#
# Environment knobs:
#   VENV=.venv            where the virtual environment goes
#   PYTHON=python3        the interpreter that creates it (3.10+)
#   TORCH_VERSION=2.13.0  the PyTorch release to install when none is installed yet
#   TORCH_INDEX=auto      auto: CPU build unless `nvidia-smi` finds a GPU;
#                         cpu: always the CPU build; pypi: PyPI's default (CUDA on Linux x86_64);
#                         or a full index URL, e.g. https://download.pytorch.org/whl/cu126
set -euo pipefail

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
TORCH_INDEX=${TORCH_INDEX:-auto}
CPU_INDEX=https://download.pytorch.org/whl/cpu

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

apt_install() {
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "error: please install $* (Debian/Ubuntu: sudo apt-get install $*)" >&2
    exit 1
  fi
  say "installing $* from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || apt_install ffmpeg

if [ ! -x "$VENV/bin/python" ]; then
  say "creating virtual environment $VENV"
  "$PYTHON" -m venv "$VENV" 2>/dev/null || { apt_install python3-venv; rm -rf "$VENV"; "$PYTHON" -m venv "$VENV"; }
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install -q --upgrade pip

# PyTorch goes in before avcurr, so that avcurr's `torch>=2.1` requirement is already met and
# pip never replaces the chosen build with PyPI's multi-GB CUDA one.
if "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  say "PyTorch already installed: $("$VENV/bin/python" -c 'import torch; print(torch.__version__)')"
else
  if [ "$TORCH_INDEX" = auto ]; then
    if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then TORCH_INDEX=pypi; else TORCH_INDEX=cpu; fi
  fi
  case "$TORCH_INDEX" in
    pypi) say "installing torch==$TORCH_VERSION from PyPI (CUDA build)"
          "${PIP[@]}" install -q "torch==$TORCH_VERSION" ;;
    cpu)  say "installing torch==$TORCH_VERSION, CPU build"
          # Local wheels (pip's find-links) or the CPU index; a short timeout so that a machine
          # that cannot reach the CPU index falls back quickly to what pip's own config offers.
          "${PIP[@]}" install -q --timeout 15 --retries 1 --extra-index-url "$CPU_INDEX" "torch==$TORCH_VERSION" ;;
    *)    say "installing torch==$TORCH_VERSION from $TORCH_INDEX"
          "${PIP[@]}" install -q --index-url "$TORCH_INDEX" --extra-index-url https://pypi.org/simple "torch==$TORCH_VERSION" ;;
  esac
fi

say "installing avcurr and its test tools"
"${PIP[@]}" install -q -e ".[test]"
"$VENV/bin/avcurr" --version
touch "$VENV/.avcurr-installed"
