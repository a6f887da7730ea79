#!/usr/bin/env bash
# Build EM Studio as a one-folder application with PyInstaller (packaging/emstudio.spec) into
# dist/emstudio/, then check the built program offscreen: it lists its samples, fits one on the
# command line, runs a parallel model selection, and opens the window on a sample, fits it and
# draws it (`emstudio gui DATA --check`). Prints OK at the end; any failure stops with its output.
#
#     packaging/build-bundle.sh          # a few minutes; then run dist/emstudio/emstudio
#
# PyInstaller (pinned below) is installed into the checkout's .venv, made as ./run makes it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/tools/venv.sh"
source "$ROOT/tools/system-libraries.sh"
ensure_venv ""
ensure_qt_libraries offscreen  # the check below opens the window offscreen

PYINSTALLER="pyinstaller==6.22.3 pyinstaller-hooks-contrib==2026.9"
# shellcheck disable=SC2086 # one word per requirement
if ! "$VENV/bin/python" -m pip install --disable-pip-version-check -q $PYINSTALLER 2>"$VENV/pyinstaller-install.log"; then
    cat "$VENV/pyinstaller-install.log" >&2
    echo "build-bundle.sh: could not install $PYINSTALLER into $VENV" >&2
    exit 1
fi

cd "$ROOT"
echo "== building dist/emstudio with $("$VENV/bin/pyinstaller" --version 2>/dev/null | head -1 | sed 's/^/PyInstaller /')" >&2
"$VENV/bin/pyinstaller" --noconfirm --log-level WARN --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" \
    "$ROOT/packaging/emstudio.spec"

APP="$ROOT/dist/emstudio/emstudio"
# The bundle alone: from a folder outside the checkout, with nothing of the checkout's Python on the path.
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
run() { env -u PYTHONPATH -u PYTHONHOME -u DISPLAY -u WAYLAND_DISPLAY QT_QPA_PLATFORM=offscreen "$APP" "$@"; }

echo "== checking $APP" >&2
run --version
SAMPLE="$(run samples overlapping)"
case "$SAMPLE" in
    "$ROOT/dist/emstudio/"*) ;;
    *) echo "build-bundle.sh: the bundle's sample is not inside the bundle: $SAMPLE" >&2; exit 1 ;;
esac
run fit "$SAMPLE" --k 3 --out fit.json
test -s fit.json
run select "$(run samples four_d)" --k 1-3 --covariance full,diag --jobs 2 --restarts 1 --out selection.json
test -s selection.json
run gui "$SAMPLE" --k 3 --check
echo OK
