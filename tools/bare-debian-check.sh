#!/usr/bin/env bash
# Follow the README's "Setting up" on a bare Debian 12, as a newcomer would: debootstrap a minimal
# system into a folder, add a user who has sudo, then run the set-up section's commands exactly as
# written (only URL is replaced, by a bare copy of this checkout's HEAD), as that user:
#   block 1: python3 python3-venv git, git clone, Qt's libraries, ./test   (must pass)
#   block 2: the X libraries, then ./run                                 (on a virtual screen)
#   block 3: xvfb xauth, then xvfb-run ... ./run                         (the window must open)
# and ./run with no display (must explain itself and exit 1).
#
# Usage, as root on a Debian or Ubuntu machine:  tools/bare-debian-check.sh [FOLDER]
# FOLDER (default /tmp/emstudio-bare) is made once and reused; remove it for a new start.
# It takes a while: debootstrap, every wheel downloaded, the whole suite.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${1:-/tmp/emstudio-bare}"
USER_NAME=newcomer

if [ "$(id -u)" != 0 ]; then
    echo "bare-debian-check: run as root (debootstrap and chroot need it)" >&2
    exit 1
fi
command -v debootstrap >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq debootstrap; }

if [ ! -x "$TARGET/bin/bash" ]; then
    echo "== debootstrap --variant=minbase bookworm $TARGET" >&2
    debootstrap --variant=minbase bookworm "$TARGET" http://deb.debian.org/debian >&2
fi

mounted=()
cleanup() {
    local m
    for m in "${mounted[@]}"; do umount -R "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
}
trap cleanup EXIT
for m in proc sys dev; do
    if ! mountpoint -q "$TARGET/$m"; then
        case "$m" in proc) mount -t proc proc "$TARGET/proc";; *) mount --rbind "/$m" "$TARGET/$m"; mount --make-rslave "$TARGET/$m";; esac
        mounted+=("$TARGET/$m")
    fi
done
cp /etc/resolv.conf "$TARGET/etc/resolv.conf"
grep -q "$(hostname)" "$TARGET/etc/hosts" 2>/dev/null || echo "127.0.1.1 $(hostname)" >> "$TARGET/etc/hosts"
# Certificate authorities this machine trusts locally (a network that inspects HTTPS has one):
# the chroot's ca-certificates (installed with git) takes them in, and pip is told to use them.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    mkdir -p "$TARGET/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$TARGET/usr/local/share/ca-certificates/"
    printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > "$TARGET/etc/pip.conf"
fi

in_chroot() { chroot "$TARGET" /bin/bash -c "$1"; }
as_user() { chroot "$TARGET" su - "$USER_NAME" -c "$1"; }

# The bare machine: only sudo and a user who may use it (python3 and git come from the README).
in_chroot "command -v sudo >/dev/null || { apt-get update -qq && apt-get install -y -qq sudo >/dev/null; }"
in_chroot "id $USER_NAME >/dev/null 2>&1 || useradd -m -s /bin/bash $USER_NAME;
           echo '$USER_NAME ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/$USER_NAME"
rm -rf "$TARGET/srv/emstudio.git"
git clone -q --bare "$ROOT" "$TARGET/srv/emstudio.git"
in_chroot "chown -R $USER_NAME /srv/emstudio.git; rm -rf /home/$USER_NAME/emstudio"

# The set-up section's sh blocks, as written, with URL replaced by the copy of this checkout.
blocks="$(mktemp -d)"
python3 - "$ROOT/README.md" "$blocks" <<'EOF'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
section = text.split("## Setting up", 1)[1].split("\n## ", 1)[0]
for i, block in enumerate(re.findall(r"```sh\n(.*?)```", section, flags=re.S)[:3], start=1):
    block = block.replace("git clone URL ", "git clone /srv/emstudio.git ")
    open(f"{sys.argv[2]}/block{i}.sh", "w").write("set -ex\n" + block)
EOF
cp "$blocks"/block*.sh "$TARGET/home/$USER_NAME/"
rm -rf "$blocks"
in_chroot "chown $USER_NAME /home/$USER_NAME/block*.sh"

status=0
echo "== block 1: set up, ./test" >&2
if ! as_user "cd ~ && time bash block1.sh"; then
    echo "bare-debian-check: FAILED: block 1 (set-up and ./test)" >&2
    status=1
fi

echo "== ./run with no display must explain itself and exit 1" >&2
if as_user "cd ~/emstudio && env -u DISPLAY -u WAYLAND_DISPLAY ./run"; then
    echo "bare-debian-check: FAILED: ./run with no display exited 0" >&2
    status=1
fi

echo "== blocks 2 and 3: the X libraries, Xvfb, and the window on a virtual screen" >&2
# Their apt lines as written; their ./run lines are run below on a virtual screen, for 60 s.
grep -h "apt-get" "$TARGET/home/$USER_NAME/block2.sh" "$TARGET/home/$USER_NAME/block3.sh" > "$TARGET/home/$USER_NAME/apt-lines.sh"
as_user "cd ~/emstudio && bash -ex ~/apt-lines.sh >/dev/null && sudo apt-get install -y -qq x11-utils >/dev/null"
xvfb_line="$(grep -h "xvfb-run" "$TARGET/home/$USER_NAME/block3.sh" | head -1)"
cat > "$TARGET/home/$USER_NAME/check-window.sh" <<'CHECK'
# Under xvfb-run: ./run must show its main window within 60 s (then it is closed).
./run > run.log 2>&1 & pid=$!
found=1
for _ in $(seq 60); do
    sleep 1
    if xwininfo -root -tree | grep '"EM Studio": ("emstudio"'; then found=0; break; fi
done
kill "$pid"; wait "$pid" 2>/dev/null
cat run.log
exit "$found"
CHECK
if ! as_user "cd ~/emstudio && ${xvfb_line% ./run} bash ~/check-window.sh"; then
    echo "bare-debian-check: FAILED: the window did not open under xvfb-run" >&2
    status=1
fi

[ "$status" = 0 ] && echo "bare-debian-check: the README's set-up works on a bare Debian 12" >&2
exit "$status"
