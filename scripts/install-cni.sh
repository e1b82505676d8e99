#!/bin/sh
# Installs the calico and calico-ipam CNI plugins where a container runtime looks for them (CNI_PATH,
# /opt/cni/bin by default). A runtime execs plugins by file name, so:
#
#   DIR/calico, DIR/calico-ipam        the native shim (native/calico-cni-shim.c): hands the call to
#                                      calico-node's CNI server for this network namespace
#   DIR/calico-cni-direct/<plugin>     a two-line shell wrapper that execs node on this checkout: what
#                                      the shim runs when no calico-node serves the namespace
#
#   scripts/install-cni.sh [--dest DIR] [--source | --bundle | --snapshot] [--no-shim]
#
# --dest DIR   where to install (default /opt/cni/bin)
# --no-shim    install the Node wrappers themselves as DIR/calico and DIR/calico-ipam (every call is a
#              Node process, calico-node or not)
# The form of the Node plugin:
# (default)    run the compiled dist/bin/<plugin>.js; run `npm run build` first
# --bundle     bundle each plugin into one file (dist/cni/<plugin>.cjs, with esbuild from node_modules)
#              and run that: Node loads one file instead of ~40 modules, which shortens every call
# --snapshot   the bundle, evaluated once into a V8 start-up snapshot (dist/cni/<plugin>.blob, Node's
#              experimental --build-snapshot): a call starts with every module already loaded, so it
#              costs about a bare `node -e 0`. The blob only works with the node that built it: re-run
#              this after upgrading Node.
# --source     run the TypeScript sources through tsx (slowest start-up; for development and tests)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
dest=/opt/cni/bin
form=dist
shim=yes
while [ $# -gt 0 ]; do
  case "$1" in
    --dest) dest=$2; shift 2 ;;
    --source) form=source; shift ;;
    --bundle) form=bundle; shift ;;
    --snapshot) form=snapshot; shift ;;
    --no-shim) shim=no; shift ;;
    *) echo "install-cni: unknown argument $1 (use --dest DIR, --source, --bundle, --snapshot, --no-shim)" >&2; exit 2 ;;
  esac
done
node=$(command -v node) || { echo "install-cni: node is not on PATH" >&2; exit 1; }
mkdir -p "$dest"
if [ "$shim" = yes ]; then
  # npm run build compiles the shim; the same builder runs here (it skips what is up to date), so the
  # --source form works without a build.
  "$node" "$root/scripts/build-native.mjs" >&2 ||
    { echo "install-cni: cannot compile native/calico-cni-shim.c (install build-essential), or use --no-shim" >&2; exit 1; }
  shim_bin="$root/dist/native/calico-cni-shim"
  wrappers="$dest/calico-cni-direct"
  mkdir -p "$wrappers"
else
  wrappers="$dest"
fi
for plugin in calico calico-ipam; do
  case "$form" in
    source)
      # tsx is resolved from the checkout, wherever the runtime runs the plugin from.
      cmd="exec \"$node\" --import \"$root/node_modules/tsx/dist/loader.mjs\" \"$root/bin/$plugin.ts\" \"\$@\"" ;;
    bundle|snapshot)
      esbuild="$root/node_modules/.bin/esbuild"
      [ -x "$esbuild" ] || { echo "install-cni: $esbuild is missing (it comes with tsx); use the default form" >&2; exit 1; }
      case "$plugin" in calico) fn=runCalicoPlugin ;; *) fn=runCalicoIpamPlugin ;; esac
      entry=$(mktemp "${TMPDIR:-/tmp}/cni-entry.XXXXXX.ts")
      mkdir -p "$root/dist/cni"
      if [ "$form" = bundle ]; then
        # CommonJS, so packages stay lazy: the etcd client is required only when etcd is configured.
        printf "import { runPluginProcess } from '%s/src/cni/plugin-process.js';\nimport { %s } from '%s/src/cni/run-plugin.js';\nvoid runPluginProcess(%s);\n" "$root" "$fn" "$root" "$fn" > "$entry"
        "$esbuild" "$entry" --bundle --platform=node --target=node20 --format=cjs --packages=external --log-level=warning --outfile="$root/dist/cni/$plugin.cjs"
        cmd="exec \"$node\" \"$root/dist/cni/$plugin.cjs\" \"\$@\""
      else
        # A snapshot's own require knows only built-in modules; packages (better-sqlite3, pino, yaml,
        # etcd3, all required lazily) go through a require made when the snapshot starts.
        printf "import { createRequire } from 'node:module';\nimport { startupSnapshot } from 'node:v8';\nimport { runPluginProcess } from '%s/src/cni/plugin-process.js';\nimport { %s } from '%s/src/cni/run-plugin.js';\nstartupSnapshot.setDeserializeMainFunction(() => {\n  (globalThis as { __cniRequire?: NodeRequire }).__cniRequire = createRequire('%s/package.json');\n  void runPluginProcess(%s);\n});\n" "$root" "$fn" "$root" "$root" "$fn" > "$entry"
        out="$root/dist/cni/$plugin.snapshot.cjs"
        "$esbuild" "$entry" --bundle --platform=node --target=node20 --format=cjs --packages=external --log-level=warning --outfile="$out"
        sed -E -i 's/require\("([a-z@][^":]*)"\)/globalThis.__cniRequire("\1")/g' "$out"
        "$node" --snapshot-blob "$root/dist/cni/$plugin.blob" --build-snapshot "$out" 2>/dev/null
        cmd="exec \"$node\" --snapshot-blob \"$root/dist/cni/$plugin.blob\""
      fi
      rm -f "$entry" ;;
    dist)
      [ -f "$root/dist/bin/$plugin.js" ] || { echo "install-cni: $root/dist/bin/$plugin.js is missing; run npm run build" >&2; exit 1; }
      cmd="exec \"$node\" \"$root/dist/bin/$plugin.js\" \"\$@\"" ;;
  esac
  # Written beside and renamed into place, so a runtime never execs a half-written file.
  tmp="$wrappers/.$plugin.$$"
  printf '#!/bin/sh\n%s\n' "$cmd" > "$tmp"
  chmod 755 "$tmp"
  mv "$tmp" "$wrappers/$plugin"
  if [ "$shim" = yes ]; then
    tmp="$dest/.$plugin.$$"
    cp "$shim_bin" "$tmp"
    chmod 755 "$tmp"
    mv "$tmp" "$dest/$plugin"
  fi
done
if [ "$shim" = yes ]; then
  echo "install-cni: wrote $dest/calico and $dest/calico-ipam (shim; without calico-node: $form, in $wrappers)"
else
  echo "install-cni: wrote $dest/calico and $dest/calico-ipam ($form)"
fi
