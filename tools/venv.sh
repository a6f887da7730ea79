# Sourced by ./run and ./test: make .venv in the checkout on first use, refresh it when
# pyproject.toml changes, and install emstudio into it (editable) with the given extras.
# Usage: ensure_venv "" | ensure_venv "test"
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

pick_python() {
    # Python 3.11 is the tested version (DESIGN.md's toolchain facts); any 3.11+ will do.
    for candidate in python3.11 python3 python3.12 python3.13; do
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            echo "$candidate"; return 0
        fi
    done
    echo "emstudio: no Python 3.11 or newer found on PATH" >&2
    return 1
}

ensure_venv() {
    local extras="$1"
    local target="$ROOT"
    [ -n "$extras" ] && target="$ROOT[$extras]"
    local stamp="$VENV/.emstudio-installed-${extras:-run}"
    local want
    want="$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
    if [ -x "$VENV/bin/python" ] && [ -x "$VENV/bin/emstudio" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        local python
        python="$(pick_python)"
        echo "emstudio: creating $VENV with $($python --version)" >&2
        "$python" -m venv "$VENV"
    fi
    echo "emstudio: installing emstudio${extras:+ with its $extras dependencies} into .venv (once)" >&2
    local log="$VENV/pip-install.log"
    if ! "$VENV/bin/python" -m pip install --disable-pip-version-check -e "$target" >"$log" 2>&1; then
        grep -v "is ignored: it is neither a file nor a directory" "$log" >&2
        echo "emstudio: installing into .venv failed (log: $log)" >&2
        return 1
    fi
    "$VENV/bin/python" -c "import emstudio" >/dev/null
    echo "$want" > "$stamp"
}
