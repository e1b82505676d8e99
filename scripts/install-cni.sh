#!/bin/sh
# Installs the calico and calico-ipam CNI plugins where a container runtime looks for them (CNI_PATH,
# /opt/cni/bin by default): each is a two-line shell wrapper that execs node on this checkout, since a
# runtime execs plugins by file name.
#
#   scripts/install-cni.sh [--dest DIR] [--source]
#
# --dest DIR   where to write the wrappers (default /opt/cni/bin)
# --source     run the TypeScript sources through tsx instead of the compiled dist/ (slower start-up;
#              for development and tests). Without it, run `npm run build` first.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
dest=/opt/cni/bin
source=no
while [ $# -gt 0 ]; do
  case "$1" in
    --dest) dest=$2; shift 2 ;;
    --source) source=yes; shift ;;
    *) echo "install-cni: unknown argument $1 (use --dest DIR, --source)" >&2; exit 2 ;;
  esac
done
node=$(command -v node) || { echo "install-cni: node is not on PATH" >&2; exit 1; }
mkdir -p "$dest"
for plugin in calico calico-ipam; do
  if [ "$source" = yes ]; then
    # tsx is resolved from the checkout, wherever the runtime runs the plugin from.
    cmd="exec \"$node\" --import \"$root/node_modules/tsx/dist/loader.mjs\" \"$root/bin/$plugin.ts\" \"\$@\""
  else
    [ -f "$root/dist/bin/$plugin.js" ] || { echo "install-cni: $root/dist/bin/$plugin.js is missing; run npm run build" >&2; exit 1; }
    cmd="exec \"$node\" \"$root/dist/bin/$plugin.js\" \"\$@\""
  fi
  tmp="$dest/.$plugin.$$"
  printf '#!/bin/sh\n%s\n' "$cmd" > "$tmp"
  chmod 755 "$tmp"
  mv "$tmp" "$dest/$plugin"
done
echo "install-cni: wrote $dest/calico and $dest/calico-ipam"
