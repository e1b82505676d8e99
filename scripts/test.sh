#!/usr/bin/env bash
# The whole test suite on a fresh machine: setup, build, lint, then the unit tests (in parallel) and
# the integration and interop tests (one file at a time: they share the kernel's namespaces and
# iptables). Both suites always run; the script fails if either failed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run lint
status=0
node scripts/run-tests.mjs unit || status=1
node scripts/run-tests.mjs integration interop || status=1
exit "$status"
