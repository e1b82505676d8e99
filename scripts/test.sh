#!/usr/bin/env bash
# The whole test suite on a fresh machine: setup, build, lint, unit, integration and interop tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run lint
node scripts/run-tests.mjs unit integration interop
