#!/usr/bin/env bash
# Create or reuse the saip-dpal Python environment, idempotently.
#
#   bash tools/setup_env.sh            # ensure the environment, print nothing else on success
#   bash tools/setup_env.sh --print    # ensure it, then print the venv path on the last line
#   bash tools/setup_env.sh --path     # only print where the venv is (installs nothing)
#
# Everything is pinned in requirements.txt. The venv and the mmcv wheel live outside the clone,
# under $SAIP_DPAL_CACHE (default ~/.cache/saip-dpal), so clean clones and CI reuse them. mmcv
# 2.1.0 is built once from its PyPI sdist with ops, the C++ standard raised to C++20 (torch 2.14
# headers need it), with CUDA ops when a CUDA toolkit and GPU are present.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
req="$root/requirements.txt"
cache="${SAIP_DPAL_CACHE:-$HOME/.cache/saip-dpal}"
py="${PYTHON:-python3}"
pyver="$("$py" -c 'import sys; print("py%d%d" % sys.version_info[:2])')"
venv="${SAIP_DPAL_VENV:-$cache/venv-$pyver}"
stamp="$venv/.saip-dpal-stamp"
want="$(cat "$req" "$0" | sha256sum | cut -c1-16)"
print=0; [[ "${1:-}" == "--print" ]] && print=1
if [[ "${1:-}" == "--path" ]]; then echo "$venv"; exit 0; fi

log() { echo "[setup_env] $*" >&2; }
quiet() { "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }

# Lines of requirements.txt with a given tag ('' = untagged).
reqs() {
  local tag="$1"
  sed -e 's/\r$//' "$req" | awk -v tag="$tag" '
    /^[[:space:]]*#/ || NF == 0 { next }
    { spec = $1; t = ""; if (match($0, /\[[a-z]+\]/)) t = substr($0, RSTART + 1, RLENGTH - 2)
      if (t == tag) print spec }'
}

# This clone, installed editable, so that `projects.saip_dpal` imports from any directory (the
# toolboxes' own tools/train.py, mim). Clones share the venv: it serves the clone that last ran
# this script, which re-points it in a few seconds when another clone did.
install_clone() {
  local at
  at="$(cd / && "$venv/bin/python" -c 'import importlib.util as u, os
print(os.path.dirname(os.path.dirname(os.path.dirname(u.find_spec("projects.saip_dpal").origin))))' \
    2>/dev/null || true)"
  if [[ "$at" != "$root" ]]; then
    log "installing $root (editable)"
    quiet "$venv/bin/python" -m pip install --disable-pip-version-check -q --no-deps \
      --no-build-isolation -e "$root"
  fi
}

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  install_clone
  (( print )) && echo "$venv"
  exit 0
fi

mkdir -p "$cache/wheels"
if [[ ! -x "$venv/bin/python" ]]; then
  log "creating $venv"
  "$py" -m venv "$venv"
fi
vpy="$venv/bin/python"
pipi() { quiet "$vpy" -m pip install --disable-pip-version-check -q "$@"; }

log "installing torch: $(reqs torch | tr '\n' ' ')"
pipi $(reqs torch)
log "installing build tools and numpy"
pipi $(reqs build) $(reqs '' | grep -E '^(numpy|opencv-python)==')

mmcv_spec="$(reqs mmcv)"
mmcv_ver="${mmcv_spec#mmcv==}"
torch_ver="$("$vpy" -c 'import torch; print(torch.__version__.split("+")[0])')"
cuda=0
if command -v nvcc >/dev/null 2>&1 && "$vpy" -c 'import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  cuda=1
fi
flavour="cpu"; (( cuda )) && flavour="cuda"
wheeldir="$cache/wheels/mmcv-$mmcv_ver-torch$torch_ver-$pyver-$flavour"
if ! "$vpy" -c "import mmcv, mmcv.ops, sys; sys.exit(mmcv.__version__ != '$mmcv_ver')" 2>/dev/null; then
  if ! ls "$wheeldir"/mmcv-*.whl >/dev/null 2>&1; then
    log "building mmcv $mmcv_ver with ops ($flavour) once; about 15 minutes on 2 cores"
    work="$(mktemp -d)"
    quiet "$vpy" -m pip download --disable-pip-version-check -q --no-deps --no-binary :all: \
      -d "$work" "mmcv==$mmcv_ver"
    tar -xzf "$work"/mmcv-*.tar.gz -C "$work"
    src="$(ls -d "$work"/mmcv-*/)"
    sed -i -e 's/-std=c++14/-std=c++20/g' -e 's/-std=c++17/-std=c++20/g' "$src/setup.py"
    grep -q 'c++20' "$src/setup.py" || { log "could not raise the C++ standard in mmcv's setup.py"; exit 1; }
    mkdir -p "$wheeldir.tmp"
    (cd "$src" && quiet env MMCV_WITH_OPS=1 FORCE_CUDA=$cuda MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
      "$vpy" -m pip wheel --disable-pip-version-check -q --no-build-isolation --no-deps \
      -w "$wheeldir.tmp" .)
    rm -rf "$wheeldir"; mv "$wheeldir.tmp" "$wheeldir"; rm -rf "$work"
  else
    log "reusing cached mmcv wheel in $wheeldir"
  fi
  pipi --no-deps "$wheeldir"/mmcv-*.whl
fi

log "installing the OpenMMLab stack"
pipi $(reqs '')
pipi --no-deps $(reqs nodeps)
"$vpy" -c 'import mmcv.ops, mmpretrain.models, mmseg.models, mmdet.models, mmpose.models' \
  || { log "the OpenMMLab stack does not import together"; exit 1; }
install_clone
echo "$want" > "$stamp"
log "environment ready: $venv"
(( print )) && echo "$venv"
exit 0
