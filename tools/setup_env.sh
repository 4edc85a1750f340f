#!/usr/bin/env bash
# Idempotent set-up of the umt_mm development environment (used by `make setup`).
#
# * creates .venv (Python 3.11) unless it exists;
# * installs torch 2.13 (CPU build here) unless the venv already has a torch
#   (GPU users: pre-install a CUDA torch into .venv and export FORCE_CUDA=1);
# * builds mmcv 2.1.0 WITH ops once into a wheel cache outside the checkout
#   (UMT_MM_WHEEL_CACHE, default ~/.cache/umt_mm/wheels/<torch version>) and reuses it,
#   also from a fresh clone on the same machine;
# * installs the rest of the pinned OpenMMLab stack and openmim, re-pins
#   setuptools>=77,<82 (openmim's openxlab downgrades it; 82 removed pkg_resources);
# * installs this package in editable mode with its test extras (building its optional C
#   extension, umt_mm._affine_bicubic; a change of its source re-installs).
# A finished install is recorded in .venv/.umt_mm_setup; a second run then takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
VENV=${VENV:-.venv}
PIP="$VENV/bin/python -m pip"
STAMP="$VENV/.umt_mm_setup"
say() { printf '[umt_mm setup] %s\n' "$*"; }

want=$(cat setup.cfg setup.py MANIFEST.in pyproject.toml tools/setup_env.sh umt_mm/_ext/*.c | \
  sha256sum | cut -c1-16)
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" && -L umt_mm/.mim/tools && \
      -e "$VENV/lib/python3.11/site-packages/umt_mm" ]] && \
   "$VENV/bin/python" -c 'import umt_mm, mmcv.ops' 2>/dev/null; then
  say "environment in $VENV is up to date (delete $STAMP to force a re-install)"
  exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
  command -v "$PYTHON" >/dev/null || { say "error: $PYTHON not found; umt_mm needs Python 3.11"; exit 1; }
  say "creating $VENV with $($PYTHON --version)"
  "$PYTHON" -m venv "$VENV"
fi
VENV_PY="$(cd "$VENV" && pwd)/bin/python"
$PIP install -q --disable-pip-version-check 'setuptools>=77,<82' wheel ninja

if "$VENV/bin/python" -c 'import torch' 2>/dev/null; then
  say "using the torch already in $VENV: $("$VENV/bin/python" -c 'import torch; print(torch.__version__)')"
else
  say "installing torch 2.13.0"
  $PIP install -q --disable-pip-version-check torch==2.13.0
fi
TORCH_VER=$("$VENV/bin/python" -c 'import torch; print(torch.__version__)')
CACHE=${UMT_MM_WHEEL_CACHE:-$HOME/.cache/umt_mm/wheels}/torch-$TORCH_VER
mkdir -p "$CACHE"

if ! "$VENV/bin/python" -c 'import mmcv.ops' 2>/dev/null; then
  wheel=$(ls "$CACHE"/mmcv-2.1.0-*.whl 2>/dev/null | head -n1 || true)
  if [[ -z "$wheel" ]]; then
    say "building mmcv 2.1.0 with ops against torch $TORCH_VER into $CACHE"
    say "this happens once per machine and takes about 15 minutes on 2 cores"
    start=$(date +%s)
    tmp=$(mktemp -d)
    (cd "$tmp" && MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
      "$VENV_PY" -m pip wheel -q --disable-pip-version-check --no-deps \
      --no-build-isolation -w "$tmp/out" mmcv==2.1.0)
    mv "$tmp"/out/mmcv-2.1.0-*.whl "$CACHE"/
    rm -rf "$tmp"
    say "mmcv build took $(( $(date +%s) - start )) s"
    wheel=$(ls "$CACHE"/mmcv-2.1.0-*.whl | head -n1)
  else
    say "reusing cached mmcv wheel $wheel"
  fi
  $PIP install -q --disable-pip-version-check --no-deps "$wheel"
fi

say "installing the OpenMMLab stack, decord and openmim"
$PIP install -q --disable-pip-version-check mmcv==2.1.0 mmengine==0.10.7 mmaction2==1.2.0 \
  mmdet==3.3.0 decord==0.6.0 importlib_metadata numpy safetensors openmim
$PIP install -q --disable-pip-version-check 'setuptools>=77,<82'
say "installing umt_mm (editable) with the test and deployment extras"
$PIP install -q --disable-pip-version-check --no-build-isolation -e '.[tests,deploy]'
# setup.py linked configs/, tools/, action_detection/ and model-index.yml into umt_mm/.mim.
# openmim 0.3.9 looks for an installed package's files at <site-packages>/<name>; a PEP 660
# editable install (the only editable mode of setuptools >= 80) leaves them in the checkout,
# so `mim train/test/search umt_mm` need this link to it.
SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if [[ ! -e "$SITE/umt_mm" || -L "$SITE/umt_mm" ]]; then
  ln -sfn "$(pwd)/umt_mm" "$SITE/umt_mm"
else
  say "warning: $SITE/umt_mm is a real folder (a non-editable install?); mim uses it"
fi
"$VENV/bin/python" -c 'import umt_mm, mmcv.ops, mmaction, mmdet; print("[umt_mm setup] ok: umt_mm", umt_mm.__version__, "mmaction", mmaction.__version__, "mmcv", __import__("mmcv").__version__)'
echo "$want" > "$STAMP"
