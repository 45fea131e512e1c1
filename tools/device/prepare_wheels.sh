#!/usr/bin/env bash
# Prepare, here (with network), the wheels a bare GPU machine lacks for
# tools/device/gpu_check.sh: Python 3.12, x86-64, its own CUDA torch and
# numpy 2, no OpenMMLab packages, no network.
#
#   bash tools/device/prepare_wheels.sh [DIR]     # default .whl/ (git-ignored)
#
# The OpenMMLab packages at requirements.txt's pins, the few small packages
# they import that the machine lacks, setuptools and wheel as pinned here
# (mmengine and mmcv's setup.py import pkg_resources, which newer setuptools
# drop), mmcv's sdist (gpu_check.sh builds its CPU ops there, against that
# machine's torch) and xtcocotools built here for Python 3.12 (cached beside
# the environment). Prints the folder's size: it travels with the
# repository, 64 MiB in all.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-$root/.whl}"
py="$(bash "$root/tools/setup_env.sh" --print | tail -1)/bin/python"
pin() { sed -n "s/^\($1==[^ ]*\).*/\1/p" "$root/requirements.txt"; }
mkdir -p "$out"
rm -f "$out"/*.whl "$out"/*.tar.gz
download() {
  "$py" -m pip download -q --disable-pip-version-check --no-deps \
    --only-binary=:all: --python-version 3.12 --implementation cp \
    --abi cp312 --abi abi3 --abi none \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform any -d "$out" "$@"
}
download $(pin mmengine) $(pin mmpretrain) $(pin mmsegmentation) $(pin mmpose) \
  $(pin mmdet) $(pin json_tricks) $(pin munkres) \
  $(pin ftfy) $(pin terminaltables) $(pin pycocotools) $(pin shapely) \
  $(pin setuptools) $(pin wheel) \
  addict==2.4.0 yapf==0.43.0 termcolor==3.1.0 platformdirs==4.3.8 \
  prettytable==3.16.0 wcwidth==0.2.13 mat4py==0.6.0 modelindex==0.0.2 \
  ordered-set==4.1.0
# mmcv: its sdist, built with CPU ops there by gpu_check.sh (mmpose.models and
# mmseg.models import mmcv.ops; a wheel with ops must match that torch)
"$py" -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
  -d "$out" "$(pin mmcv)"
cache="${SAIP_DPAL_CACHE:-$HOME/.cache/saip-dpal}/wheels"
# xtcocotools (mmpose's COCO) has no wheel for Python 3.12: built here, with a
# Python 3.12 ($PYTHON312, else python3.12 or pyenv's) against numpy 2
xtc="$(pin xtcocotools)"
cache312="$cache/${xtc/==/-}-cp312"
if ! ls "$cache312"/*.whl >/dev/null 2>&1; then
  p312=""
  for c in ${PYTHON312:-} python3.12 "$HOME"/.pyenv/versions/3.12*/bin/python3.12; do
    if "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
      p312="$c"; break
    fi
  done
  [[ -n "$p312" ]] || { echo "error: no Python 3.12 to build $xtc with: set PYTHON312" >&2; exit 2; }
  build="$cache/build-py312"
  [[ -x "$build/bin/pip" ]] || "$p312" -m venv "$build"
  "$build/bin/pip" install -q --disable-pip-version-check numpy==2.2.6 cython==3.1.2 \
    "$(pin setuptools)" "$(pin wheel)"
  "$build/bin/pip" wheel -q --disable-pip-version-check --no-deps --no-build-isolation --no-binary :all: \
    -w "$cache312" "$xtc"
fi
cp "$cache312"/*.whl "$out"/
echo "$(ls "$out"/*.whl | wc -l) wheels and the mmcv sdist, $(du -sh "$out" | cut -f1) in $out"
