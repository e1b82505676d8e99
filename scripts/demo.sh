#!/usr/bin/env bash
# The main job: set this machine up, then run the seed's tenant example as a two-host lab in network
# namespaces, probe every pair of workloads with real packets next to what `calicoctl policy explain`
# predicts, write the HTML report, and do it again with the profile fixed. Leaves nothing running.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
lab() { node dist/bin/calico-lab.js "$@"; }
trap 'lab down --all >/dev/null 2>&1 || true' EXIT
lab down --all >/dev/null 2>&1 || true
for scenario in tenant tenant-fixed; do
  echo
  echo "=== calico-lab up $scenario"
  lab up "$scenario"
  lab report "$scenario"
  lab routes --lab "$scenario"
  lab down "$scenario"
done
echo
echo "A short calicoctl tour over the seed's examples:"
bash scripts/tour.sh
