#!/usr/bin/env bash
# Seeded simulation soak: runs the scheduler and the store under random faults for N seeds.
#   ./scripts/simulate.sh --seeds 1000 [--from 5000]
# A failing seed is printed with the actions before its first violation; it replays exactly
# (`--seeds 1 --from SEED`). Add it to `SimulationTests.regressions` once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=200
from=1000
while [ $# -gt 0 ]; do
    case "$1" in
        --seeds) seeds="$2"; shift 2 ;;
        --from) from="$2"; shift 2 ;;
        *) echo "usage: $0 [--seeds N] [--from SEED]" >&2; exit 2 ;;
    esac
done
./scripts/setup.sh
swift build --build-tests
# Same hash seed in every process, so that a seed replays the same history.
export SWIFT_DETERMINISTIC_HASHING=1 TETHER_SIM_SEEDS="$seeds" TETHER_SIM_FROM="$from"
swift test --skip-build --filter SimulationTests 2>&1 | grep -E 'simulation:|seed [0-9]+:|^ +[0-9]+ |✘|✔ Test run|error' || true
