#!/usr/bin/env bash
# Makes a fresh Debian machine ready for formscan: system packages, then .venv/ with the
# package installed in editable mode. Safe to run again; the Makefile runs it when needed.
set -euo pipefail
cd "$(dirname "$0")/.."

# poppler-utils: pdf2image renders PDF pages with pdftoppm.
# fonts-*: the CJK faces the corpus generator prints forms with.
# libgl1, libglib2.0-0: the OpenCV wheels link against them.
# postgresql: the store tests start a throwaway server to run on PostgreSQL as well as SQLite.
# chromium: the review server's browser tests drive it with Playwright (never `playwright install`).
# libreoffice-calc-nogui: scripts/make_sheet_corpus.py prints its spreadsheet forms with it.
apt_packages=(poppler-utils fonts-noto-cjk fonts-wqy-zenhei fonts-wqy-microhei
              fonts-arphic-uming fonts-arphic-ukai libgl1 libglib2.0-0 postgresql chromium
              libreoffice-calc-nogui)
missing=()
for pkg in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing system packages: ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# cluster: Ray, for `--executor ray`; its tests start a one-machine Ray cluster.
.venv/bin/python -m pip install -q -c constraints.txt -e '.[dev,postgres,cluster]'
# The three OpenCV distributions share one cv2 folder; put the contrib build back on top so
# the module is whole whatever order pip unpacked them in.
.venv/bin/python -m pip install -q --no-deps --force-reinstall -c constraints.txt opencv-contrib-python
.venv/bin/python -c "import cv2, pipeline; print('setup: ok, OpenCV', cv2.__version__)"
