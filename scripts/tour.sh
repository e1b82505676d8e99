#!/usr/bin/env bash
# A short calicoctl tour over the seed's examples, in a throwaway SQLite datastore: the transcript
# of the seed's "测试环境" section, replayed command by command.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/calico-tour.XXXXXX)
trap 'rm -rf "$work"' EXIT
export DATASTORE_TYPE=sqlite SQLITE_PATH="$work/datastore.sqlite"
calicoctl() { node dist/bin/calicoctl.js "$@"; }
run() {
  printf '\n$ calicoctl %s\n' "$*"
  calicoctl "$@"
}
echo "calicoctl tour: datastore $SQLITE_PATH"
run config get nodeTonodeMesh
run config get logLevel
run config get asNumber
run config get ipip
run create -f examples/seed/node.yaml
run get node
run create -f examples/seed/ippool.yaml
run get ipPool -o wide
run create -f examples/seed/bgppeer.yaml
run get bgpPeer
run create -f examples/seed/endpoints.yaml
run get workloadEndpoint
run create -f examples/seed/policy.yaml
run create -f examples/seed/profile.yaml
run get policy -o yaml
run convert -f examples/seed/profile.yaml
printf '\n$ calicoctl create -f examples/seed/endpoints.yaml   # again: refused, nothing changes\n'
calicoctl create -f examples/seed/endpoints.yaml || echo "(exit code $?)"
run config set asNumber 64513
run config get asNumber
