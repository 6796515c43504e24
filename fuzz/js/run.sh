#!/usr/bin/env bash
# Fuzzes every parser of untrusted bytes in lib/ with Jazzer.js: bash fuzz/js/run.sh [SECONDS] [TARGET...]
# (SECONDS per target, default 20 or $MEDO_FUZZ_SECONDS). See run.ts.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec node --import tsx fuzz/js/run.ts "$@"
