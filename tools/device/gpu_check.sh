#!/usr/bin/env bash
# The GPU check on a bare GPU machine, from the repository root, offline:
#
#   bash tools/device/gpu_check.sh OUT_DIR [gpu_check.py args...]
#
# Installs what the machine's Python lacks from the wheel folder that
# tools/device/prepare_wheels.sh made here ($SAIP_DPAL_WHEELS, default .whl/)
# into /tmp/saip-dpal-site (first on PYTHONPATH), building mmcv's CPU ops
# there when no mmcv wheel with ops came along, then runs
# tools/device/gpu_check.py under a time limit ($GPU_CHECK_LIMIT_S, default
# 480 s); OUT_DIR gets summary.json (written part by part) and summary.txt.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:?usage: gpu_check.sh OUT_DIR [args...]}"; shift
wheels="${SAIP_DPAL_WHEELS:-$root/.whl}"
site=/tmp/saip-dpal-site
py="${PYTHON:-python3}"
mkdir -p "$out"
if ! "$py" -c 'import mmengine, mmcv, mmpretrain, mmpose, mmseg' 2>/dev/null; then
  if ! ls "$wheels"/*.whl >/dev/null 2>&1; then
    echo "error: no wheels in $wheels: run tools/device/prepare_wheels.sh first" >&2
    exit 2
  fi
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --upgrade --target "$site" "$wheels"/*.whl || exit 2
  export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
fi
if ! "$py" -c 'import mmcv.ops' 2>/dev/null; then
  # mmcv with CPU ops from its sdist, against this torch (the GPU hidden: a
  # CUDA build takes too long); the C++ standard raised as torch's headers need
  sdist="$(ls "$wheels"/mmcv-*.tar.gz 2>/dev/null | head -1)"
  [[ -n "$sdist" ]] || { echo "error: mmcv.ops missing and no mmcv sdist in $wheels" >&2; exit 2; }
  echo "building mmcv's CPU ops from $(basename "$sdist") on $(nproc) cores"
  start=$SECONDS build="$(mktemp -d)"
  tar -xzf "$sdist" -C "$build"
  src="$(ls -d "$build"/mmcv-*/)"
  sed -i -e 's/-std=c++14/-std=c++20/g' -e 's/-std=c++17/-std=c++20/g' "$src/setup.py"
  (cd "$src" && CUDA_VISIBLE_DEVICES= MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS="$(nproc)" \
    "$py" -m pip wheel -q --no-build-isolation --no-deps -w "$build/wheel" .) || exit 2
  # without its debug symbols the wheel is 1.4 MB, not 32: it comes back in
  # OUT, to put in the wheel folder next time
  "$py" -m wheel unpack -d "$build/unpacked" "$build"/wheel/*.whl >/dev/null &&
    strip --strip-debug "$build"/unpacked/*/mmcv/_ext*.so &&
    mkdir -p "$build/stripped" &&
    "$py" -m wheel pack -d "$build/stripped" "$build"/unpacked/* >/dev/null || exit 2
  "$py" -m pip install -q --no-index --no-deps --no-compile --upgrade --target "$site" \
    "$build"/stripped/*.whl || exit 2
  cp "$build"/stripped/*.whl "$out"/
  export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
  echo "mmcv built in $((SECONDS - start)) s"
fi
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 PYTHON="$py"
"$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())'
timeout --signal=TERM --kill-after=20 "${GPU_CHECK_LIMIT_S:-480}" \
  "$py" "$root/tools/device/gpu_check.py" --out "$out" "$@" 2>&1 | tee "$out/gpu_check.log"
rc=${PIPESTATUS[0]}
if (( rc == 124 )); then
  echo "gpu_check: stopped at the time limit; the parts done:" >&2
  "$py" "$root/tools/device/gpu_check.py" --out "$out" --text-only
fi
exit "$rc"
