#!/usr/bin/env bash
# Long property-based robustness run (not part of npm test): the pool parser, the event
# decoder and the model loader on many generated inputs. Usage: scripts/fuzz.sh [cases]
# Prints the cases run per property and the wall time; any failure prints a minimal input.
set -euo pipefail
cd "$(dirname "$0")/.."
cases="${1:-20000}"
start=$(date +%s)
PROPTEST_CASES="$cases" cargo test --release --test robustness -- --test-threads=1
echo "fuzz: ${cases} cases per property, 5 properties, $(( $(date +%s) - start )) s"
