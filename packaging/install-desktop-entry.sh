#!/usr/bin/env bash
# Put EM Studio in the desktop's application menu, for this user: the desktop entry, the AppStream
# metainfo and the icon (SVG and PNGs, from emstudio/icons) under ~/.local/share.
#
#   packaging/install-desktop-entry.sh                 # the menu runs `emstudio` (pipx, pip --user)
#   packaging/install-desktop-entry.sh "$PWD/dist/emstudio/emstudio"   # the bundle (build-bundle.sh)
#
# PREFIX (default ~/.local) chooses another place. Undo: delete the files it lists.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
APP_ID="io.github.emstudio.EMStudio"
COMMAND="${1:-emstudio}"
PREFIX="${PREFIX:-$HOME/.local}"
SHARE="$PREFIX/share"
ICONS="$ROOT/emstudio/icons"

case "$COMMAND" in
    *[[:space:]\"\'\\\$\`]*) echo "install-desktop-entry.sh: put the program where its path has no spaces or quotes: $COMMAND" >&2; exit 1 ;;
esac

install -d "$SHARE/applications" "$SHARE/metainfo" "$SHARE/icons/hicolor/scalable/apps"
sed "s|^Exec=emstudio |Exec=$COMMAND |" "$HERE/$APP_ID.desktop" > "$SHARE/applications/$APP_ID.desktop"
install -m 644 "$HERE/$APP_ID.metainfo.xml" "$SHARE/metainfo/$APP_ID.metainfo.xml"
install -m 644 "$ICONS/emstudio.svg" "$SHARE/icons/hicolor/scalable/apps/$APP_ID.svg"
written=("$SHARE/applications/$APP_ID.desktop" "$SHARE/metainfo/$APP_ID.metainfo.xml"
         "$SHARE/icons/hicolor/scalable/apps/$APP_ID.svg")
for png in "$ICONS"/emstudio-*.png; do
    size="$(basename "$png" .png)"; size="${size#emstudio-}"
    install -d "$SHARE/icons/hicolor/${size}x${size}/apps"
    install -m 644 "$png" "$SHARE/icons/hicolor/${size}x${size}/apps/$APP_ID.png"
    written+=("$SHARE/icons/hicolor/${size}x${size}/apps/$APP_ID.png")
done
# Menus notice new entries by themselves; these refresh the caches where the tools exist.
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$SHARE/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$SHARE/icons/hicolor" || true
printf 'installed %s\n' "${written[@]}"
