#!/bin/sh
# Installs the calico and calico-ipam CNI plugins where a container runtime looks for them (CNI_PATH,
# /opt/cni/bin by default): each is a two-line shell wrapper that execs node on this checkout, since a
# runtime execs plugins by file name.
#
#   scripts/install-cni.sh [--dest DIR] [--source | --bundle]
#
# --dest DIR   where to write the wrappers (default /opt/cni/bin)
# (default)    run the compiled dist/bin/<plugin>.js; run `npm run build` first
# --bundle     bundle each plugin into one file (dist/cni/<plugin>.cjs, with esbuild from node_modules)
#              and run that: Node loads one file instead of ~40 modules, which shortens every call
# --source     run the TypeScript sources through tsx (slowest start-up; for development and tests)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
dest=/opt/cni/bin
form=dist
while [ $# -gt 0 ]; do
  case "$1" in
    --dest) dest=$2; shift 2 ;;
    --source) form=source; shift ;;
    --bundle) form=bundle; shift ;;
    *) echo "install-cni: unknown argument $1 (use --dest DIR, --source, --bundle)" >&2; exit 2 ;;
  esac
done
node=$(command -v node) || { echo "install-cni: node is not on PATH" >&2; exit 1; }
mkdir -p "$dest"
for plugin in calico calico-ipam; do
  case "$form" in
    source)
      # tsx is resolved from the checkout, wherever the runtime runs the plugin from.
      cmd="exec \"$node\" --import \"$root/node_modules/tsx/dist/loader.mjs\" \"$root/bin/$plugin.ts\" \"\$@\"" ;;
    bundle)
      esbuild="$root/node_modules/.bin/esbuild"
      [ -x "$esbuild" ] || { echo "install-cni: $esbuild is missing (it comes with tsx); use the default form" >&2; exit 1; }
      case "$plugin" in calico) fn=runCalicoPlugin ;; *) fn=runCalicoIpamPlugin ;; esac
      entry=$(mktemp "${TMPDIR:-/tmp}/cni-entry.XXXXXX.ts")
      # CommonJS, so packages stay lazy: the etcd client is required only when etcd is configured.
      printf "import { runPluginProcess } from '%s/src/cni/plugin-process.js';\nimport { %s } from '%s/src/cni/run-plugin.js';\nvoid runPluginProcess(%s);\n" "$root" "$fn" "$root" "$fn" > "$entry"
      mkdir -p "$root/dist/cni"
      "$esbuild" "$entry" --bundle --platform=node --target=node20 --format=cjs --packages=external --log-level=warning --outfile="$root/dist/cni/$plugin.cjs"
      rm -f "$entry"
      cmd="exec \"$node\" \"$root/dist/cni/$plugin.cjs\" \"\$@\"" ;;
    dist)
      [ -f "$root/dist/bin/$plugin.js" ] || { echo "install-cni: $root/dist/bin/$plugin.js is missing; run npm run build" >&2; exit 1; }
      cmd="exec \"$node\" \"$root/dist/bin/$plugin.js\" \"\$@\"" ;;
  esac
  tmp="$dest/.$plugin.$$"
  printf '#!/bin/sh\n%s\n' "$cmd" > "$tmp"
  chmod 755 "$tmp"
  mv "$tmp" "$dest/$plugin"
done
echo "install-cni: wrote $dest/calico and $dest/calico-ipam ($form)"
