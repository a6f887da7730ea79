# Sourced by ./test after ensure_venv (tools/venv.sh): the system libraries Qt loads (Qt's wheel
# does not bring them). Without them pytest stops before any test with "INTERNALERROR>
# ImportError: libglib-2.0.so.0". As root with apt-get they are installed; otherwise the one
# command that installs them is printed and the run stops (exit 1).
# Usage: ensure_qt_libraries offscreen|x11   (emstudio.system_libraries lists what each needs)

ensure_qt_libraries() {
    local need="$1" missing
    missing="$("$VENV/bin/python" -m emstudio.system_libraries "$need")" || return 1
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "emstudio: installing the system libraries Qt needs (running as root): $missing" >&2
        # shellcheck disable=SC2086 # one word per package
        if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing; } >&2; then
            echo "emstudio: apt-get could not install them: apt-get update && apt-get install -y $missing" >&2
            return 1
        fi
        missing="$("$VENV/bin/python" -m emstudio.system_libraries "$need")" || return 1
        [ -z "$missing" ] && return 0
        echo "emstudio: still missing after apt-get: $missing" >&2
        return 1
    fi
    echo "emstudio: Qt needs system libraries this machine lacks; install them with (Debian, Ubuntu):" >&2
    echo "    sudo apt-get update && sudo apt-get install -y $missing" >&2
    return 1
}
