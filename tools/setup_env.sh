#!/usr/bin/env bash
# Idempotent set-up of the umt_mm development environment (used by `make setup`).
#
# * creates .venv (Python 3.11) unless it exists;
# * installs torch 2.13 unless the venv already has a torch: the CPU build here, or with
#   UMT_MM_TORCH_CUDA=cu126 (any cuXYZ) the CUDA build from download.pytorch.org/whl/cu126
#   (UMT_MM_TORCH_INDEX overrides the index root), replacing a torch of another CUDA;
# * builds mmcv 2.1.0 WITH ops once into a wheel cache outside the checkout
#   (UMT_MM_WHEEL_CACHE, default ~/.cache/umt_mm/wheels/<key>) and reuses it, also from a
#   fresh clone on the same machine. tools/misc/cuda_build_env.py decides CPU or CUDA ops
#   and the key: torch-<torch version> for CPU ops; for CUDA ops (a CUDA torch and a
#   visible GPU, FORCE_CUDA=1 or UMT_MM_TORCH_CUDA) torch-<version>-cuda<X.Y>-arch<list>,
#   with TORCH_CUDA_ARCH_LIST from the visible GPUs unless set, after checking CUDA_HOME,
#   nvcc and the host compiler (one-line errors), and the CUDA ops are run after the install;
# * installs the rest of the pinned OpenMMLab stack and openmim, re-pins
#   setuptools>=77,<82 (openmim's openxlab downgrades it; 82 removed pkg_resources);
# * installs this package in editable mode with its test extras (building its optional C
#   extension, umt_mm._affine_bicubic; a change of its source re-installs).
# With UMT_MM_WHEELHOUSE=<folder> (made by tools/misc/make_wheelhouse.py) every package
# comes from that folder, with no network (pip --no-index --find-links).
# A finished install is recorded in .venv/.umt_mm_setup; a second run then takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
VENV=${VENV:-.venv}
PIP="$VENV/bin/python -m pip"
STAMP="$VENV/.umt_mm_setup"
MMCV_KEY_FILE="$VENV/.umt_mm_mmcv"  # cache key of the installed mmcv wheel
TORCH_CUDA=${UMT_MM_TORCH_CUDA:-}
WHEELHOUSE=${UMT_MM_WHEELHOUSE:-}
say() { printf '[umt_mm setup] %s\n' "$*"; }

if [[ -n "$TORCH_CUDA" && ! "$TORCH_CUDA" =~ ^cu[0-9]{3}$ ]]; then
  say "error: UMT_MM_TORCH_CUDA=$TORCH_CUDA is not a CUDA tag like cu126 or cu128"; exit 1
fi
PIP_SRC=()
if [[ -n "$WHEELHOUSE" ]]; then
  [[ -d "$WHEELHOUSE" ]] || {
    say "error: UMT_MM_WHEELHOUSE=$WHEELHOUSE is not a folder (make one with tools/misc/make_wheelhouse.py)"
    exit 1; }
  WHEELHOUSE=$(cd "$WHEELHOUSE" && pwd)
  PIP_SRC=(--no-index --find-links "$WHEELHOUSE")
fi
pip_install() { $PIP install -q --disable-pip-version-check "${PIP_SRC[@]}" "$@"; }

# the requested build is part of the stamp (nothing is added when no variable is set)
mode=""
for var in UMT_MM_TORCH_CUDA FORCE_CUDA TORCH_CUDA_ARCH_LIST; do
  [[ -n "${!var:-}" ]] && mode+="$var=${!var};"
done
want=$( { cat setup.cfg setup.py MANIFEST.in pyproject.toml tools/setup_env.sh \
  tools/misc/cuda_build_env.py umt_mm/_ext/*.c; printf '%s' "$mode"; } | sha256sum | cut -c1-16)
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
pip_install 'setuptools>=77,<82' wheel ninja

have_cuda=$("$VENV/bin/python" -c 'import torch; print(torch.version.cuda or "cpu")' 2>/dev/null || echo none)
if [[ -n "$TORCH_CUDA" ]]; then
  cuda_tag=${TORCH_CUDA#cu}
  want_cuda="${cuda_tag:0:$(( ${#cuda_tag} - 1 ))}.${cuda_tag: -1}"  # cu126 -> 12.6
  if [[ "$have_cuda" == "$want_cuda" ]]; then
    say "using the CUDA $want_cuda torch already in $VENV"
  else
    say "installing torch 2.13.0+$TORCH_CUDA (the venv has: $have_cuda)"
    if [[ -n "$WHEELHOUSE" ]]; then
      pip_install "torch==2.13.0+$TORCH_CUDA"
    else
      $PIP install -q --disable-pip-version-check \
        --index-url "${UMT_MM_TORCH_INDEX:-https://download.pytorch.org/whl}/$TORCH_CUDA" \
        "torch==2.13.0+$TORCH_CUDA"
    fi
  fi
elif [[ "$have_cuda" != none ]]; then
  say "using the torch already in $VENV: $("$VENV/bin/python" -c 'import torch; print(torch.__version__)')"
else
  say "installing torch 2.13.0"
  pip_install torch==2.13.0
fi
# (no "Failed to initialize NumPy" warnings from torch before numpy is installed)
TORCH_VER=$(PYTHONWARNINGS=ignore "$VENV/bin/python" -c 'import torch; print(torch.__version__)')

# CPU or CUDA ops, the cache key and the build variables (exits with a one-line error when
# a CUDA requirement is missing)
plan=$(PYTHONWARNINGS=ignore "$VENV/bin/python" tools/misc/cuda_build_env.py plan) || exit 1
eval "$plan"
CACHE=${UMT_MM_WHEEL_CACHE:-$HOME/.cache/umt_mm/wheels}/$UMT_MM_CACHE_KEY
mkdir -p "$CACHE"

need_mmcv=0
if ! "$VENV/bin/python" -c 'import mmcv.ops' 2>/dev/null; then
  need_mmcv=1
elif [[ -f "$MMCV_KEY_FILE" ]]; then
  [[ "$(cat "$MMCV_KEY_FILE")" == "$UMT_MM_CACHE_KEY" ]] || need_mmcv=1
elif [[ "$UMT_MM_BUILD" == cuda ]] && ! "$VENV/bin/python" -c \
    'from mmcv.ops import get_compiling_cuda_version as v; assert v() != "not available"' 2>/dev/null; then
  need_mmcv=1
fi
if [[ $need_mmcv == 1 ]]; then
  wheel=$(ls "$CACHE"/mmcv-2.1.0-*.whl 2>/dev/null | head -n1 || true)
  if [[ -z "$wheel" && -n "$WHEELHOUSE" ]]; then  # a wheel built ahead into the bundle
    ahead=$(ls "$WHEELHOUSE/mmcv/$UMT_MM_CACHE_KEY"/mmcv-2.1.0-*.whl 2>/dev/null | head -n1 || true)
    [[ -n "$ahead" ]] && cp "$ahead" "$CACHE"/ && say "mmcv wheel from the wheelhouse: $ahead"
  fi
  wheel=$(ls "$CACHE"/mmcv-2.1.0-*.whl 2>/dev/null | head -n1 || true)
  if [[ -z "$wheel" ]]; then
    say "building mmcv 2.1.0 with $UMT_MM_BUILD ops against torch $TORCH_VER into $CACHE"
    say "this happens once per machine and takes about 15 minutes on 2 cores"
    start=$(date +%s)
    tmp=$(mktemp -d)
    if [[ "$UMT_MM_BUILD" == cpu ]]; then
      (cd "$tmp" && MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
        "$VENV_PY" -m pip wheel -q --disable-pip-version-check --no-deps \
        --no-build-isolation "${PIP_SRC[@]}" -w "$tmp/out" mmcv==2.1.0)
    else
      (cd "$tmp" && "$VENV_PY" -m pip download -q --disable-pip-version-check --no-deps \
        --no-binary :all: --no-build-isolation "${PIP_SRC[@]}" -d "$tmp/src" mmcv==2.1.0)
      tar -xzf "$tmp"/src/mmcv-2.1.0.tar.gz -C "$tmp/src"
      if [[ "$UMT_MM_PATCH_STD" == 1 ]]; then
        "$VENV_PY" tools/misc/cuda_build_env.py patch-mmcv "$tmp/src/mmcv-2.1.0/setup.py"
        say "mmcv's setup.py: -std=c++20 (torch $TORCH_VER's headers need C++20 under nvcc)"
      fi
      (cd "$tmp" && MAX_JOBS=${MAX_JOBS:-$(nproc)} \
        "$VENV_PY" -m pip wheel -q --disable-pip-version-check --no-deps \
        --no-build-isolation -w "$tmp/out" "$tmp/src/mmcv-2.1.0") || {
        say "error: the mmcv CUDA build failed (compiler output above; CUDA_HOME=$CUDA_HOME, TORCH_CUDA_ARCH_LIST=$TORCH_CUDA_ARCH_LIST)"
        exit 1; }
    fi
    mv "$tmp"/out/mmcv-2.1.0-*.whl "$CACHE"/
    rm -rf "$tmp"
    say "mmcv build took $(( $(date +%s) - start )) s"
    wheel=$(ls "$CACHE"/mmcv-2.1.0-*.whl | head -n1)
  else
    say "reusing cached mmcv wheel $wheel"
  fi
  pip_install --no-deps --force-reinstall "$wheel"
  echo "$UMT_MM_CACHE_KEY" > "$MMCV_KEY_FILE"
fi

say "installing the OpenMMLab stack, decord and openmim"
pip_install mmcv==2.1.0 mmengine==0.10.7 mmaction2==1.2.0 \
  mmdet==3.3.0 decord==0.6.0 importlib_metadata numpy safetensors openmim
pip_install 'setuptools>=77,<82'
say "installing umt_mm (editable) with the test, deployment and OpenVINO extras"
pip_install --no-build-isolation -e '.[tests,deploy,openvino]'
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
if [[ "$UMT_MM_BUILD" == cuda ]]; then
  "$VENV/bin/python" tools/misc/cuda_build_env.py verify --kind cuda || exit 1
fi
"$VENV/bin/python" -c 'import umt_mm, mmcv.ops, mmaction, mmdet; print("[umt_mm setup] ok: umt_mm", umt_mm.__version__, "mmaction", mmaction.__version__, "mmcv", __import__("mmcv").__version__)'
echo "$want" > "$STAMP"
