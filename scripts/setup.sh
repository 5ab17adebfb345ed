#!/usr/bin/env bash
# Set up weihai_gis on a fresh Debian machine with Python >= 3.11.
#   scripts/setup.sh          virtual environment in .venv with the toolkit
#   scripts/setup.sh --test   the same plus test tools, the data-build packages and the Debian packages the
#                             tests drive (chromium + chromium-driver for map tests, fonts-noto-cjk so Chinese
#                             renders as glyphs in them and in the printed PDF, gdal-bin for viewshed
#                             cross-checks, npm for the statistics-bureau division codes used by the rebuild)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
with_test=0
[ "${1:-}" = "--test" ] && with_test=1

if [ "$with_test" = 1 ]; then
  need=()
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
  fc-list 2>/dev/null | grep -q "Noto Sans CJK" || need+=(fonts-noto-cjk)
  command -v gdal_viewshed >/dev/null 2>&1 || need+=(gdal-bin)
  command -v npm >/dev/null 2>&1 || need+=(npm)
  if [ ${#need[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "setup: installing Debian packages: ${need[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
  fi
fi

[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [ "$with_test" = 1 ]; then
  .venv/bin/python -m pip install -q -e ".[test]"
  .venv/bin/python -m ipykernel install --sys-prefix --name python3 >/dev/null
  # npm china-division, pinned as in scripts/build_data.py, for the rebuild test of data/weihai.gpkg
  if [ ! -d .cache/china-division/node_modules/china-division ]; then
    npm install --silent --no-audit --no-fund --prefix .cache/china-division china-division@2.7.0
  fi
else
  .venv/bin/python -m pip install -q -e .
fi
echo "setup: ready (.venv)"
