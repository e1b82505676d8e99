#!/usr/bin/env bash
# The main job: set up, then a short calicoctl tour over the seed's examples in a throwaway SQLite store.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/tour.sh
