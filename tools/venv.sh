# Sourced by ./run and ./test: make .venv in the checkout on first use, refresh it when
# pyproject.toml changes, and install emstudio into it (editable) with the given extras.
# A half-made .venv (no python in it, no pip in it, or its last install failed) is removed and
# made again; a Python that cannot make one (Debian's python3 without python3-venv) is named
# with the package that fixes it, in one line.
# Usage: ensure_venv "" | ensure_venv "test"
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${EMSTUDIO_VENV:-$ROOT/.venv}"

pick_python() {
    # Python 3.11 is the tested version (docs/design.md, "Known facts of the toolchain"); any 3.11+ will do.
    for candidate in python3.11 python3 python3.12 python3.13 python3.14; do
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            echo "$candidate"; return 0
        fi
    done
    echo "emstudio: no Python 3.11 or newer found on PATH (Debian 12 and newer: sudo apt-get install -y python3 python3-venv)" >&2
    return 1
}

# Why .venv cannot be used as it is (empty when it can): python and pip must both run in it.
venv_problem() {
    if [ ! -e "$VENV" ]; then
        echo "missing"
    elif [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c '' >/dev/null 2>&1; then
        echo "has no working python"
    elif ! "$VENV/bin/python" -c 'import pip' >/dev/null 2>&1; then
        echo "has no pip (made by a Python without ensurepip?)"
    elif [ -f "$VENV/.emstudio-install-failed" ]; then
        echo "was left by an install that failed"
    fi
}

make_venv() {
    local python
    python="$(pick_python)" || return 1
    # Debian and Ubuntu ship venv's ensurepip in a separate package; without it `python3 -m venv`
    # leaves a .venv with no pip in it (and says so in a paragraph).
    if ! "$python" -c 'import ensurepip' >/dev/null 2>&1; then
        echo "emstudio: $python cannot make a virtual environment (no ensurepip): sudo apt-get install -y python3-venv" >&2
        return 1
    fi
    echo "emstudio: creating $VENV with $("$python" --version)" >&2
    local log
    log="$(mktemp)"
    if ! "$python" -m venv "$VENV" >"$log" 2>&1 || [ -n "$(venv_problem)" ]; then
        cat "$log" >&2
        rm -f "$log"
        rm -rf "$VENV"
        echo "emstudio: $python could not make $VENV (Debian/Ubuntu: sudo apt-get install -y python3-venv)" >&2
        return 1
    fi
    rm -f "$log"
}

ensure_venv() {
    local extras="$1"
    local target="$ROOT"
    [ -n "$extras" ] && target="$ROOT[$extras]"
    local stamp="$VENV/.emstudio-installed-${extras:-run}"
    local want
    want="$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
    # The quick test on every run; venv_problem (which starts python twice) only when it fails.
    # The test install holds everything ./run needs, so after ./test, ./run installs nothing.
    local done_stamp
    for done_stamp in "$stamp" "$VENV/.emstudio-installed-test"; do
        if [ -x "$VENV/bin/python" ] && [ -x "$VENV/bin/emstudio" ] && [ -f "$done_stamp" ] &&
           [ "$(cat "$done_stamp")" = "$want" ] && [ ! -f "$VENV/.emstudio-install-failed" ]; then
            return 0
        fi
    done
    local problem
    problem="$(venv_problem)"
    if [ -n "$problem" ]; then
        if [ "$problem" != "missing" ]; then
            echo "emstudio: $VENV $problem; making it again" >&2
            rm -rf "$VENV"
        fi
        make_venv || return 1
    fi
    echo "emstudio: installing emstudio${extras:+ with its $extras dependencies} into .venv (once)" >&2
    local log="$VENV/pip-install.log"
    if ! "$VENV/bin/python" -m pip install --disable-pip-version-check -e "$target" >"$log" 2>&1; then
        grep -v "is ignored: it is neither a file nor a directory" "$log" >&2
        : > "$VENV/.emstudio-install-failed"  # the next run starts from a new .venv
        echo "emstudio: installing into .venv failed (log: $log); the next run makes .venv again" >&2
        return 1
    fi
    "$VENV/bin/python" -c "import emstudio" >/dev/null
    echo "$want" > "$stamp"
}
