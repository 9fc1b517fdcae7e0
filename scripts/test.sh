#!/usr/bin/env bash
# Sets up what is missing, builds everything (the CLI and the example worker are run by the
# integration tests as child processes) and runs the whole test suite. When a test fails, the
# failures are repeated at the end of the output, so the last lines of a CI log name them.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
# The HTTP API's description is valid, and what the server serves is exactly it.
./scripts/check-openapi.sh
# The dashboard's files parse and fit together.
./scripts/lint-dashboard.sh
swift build --build-tests
# The cluster mode's journal: a private PostgreSQL on loopback for the whole run (installed
# from Debian's packages when missing), stopped at exit. Tests take a database each.
pgdir="$(mktemp -d -t tether-pg.XXXXXX)"
trap './scripts/postgres.sh stop "$pgdir" || true; rm -rf "$pgdir"' EXIT
TETHER_TEST_POSTGRES="$(./scripts/postgres.sh start "$pgdir" "$((20000 + RANDOM % 20000))")"
export TETHER_TEST_POSTGRES
log="$(mktemp -t tether-test.XXXXXX.log)"
# The same hash seed in every process: the seeded simulation replays a seed exactly.
export SWIFT_DETERMINISTIC_HASHING=1
status=0
swift test --skip-build --no-parallel "$@" 2>&1 | tee "$log" || status=$?
# The HTTP API fuzzed from its own document against a live coordinator (all tests only).
if [ "$status" -eq 0 ] && [ "$#" -eq 0 ]; then
    ./scripts/schemathesis.sh 2>&1 | tee -a "$log" || status=$?
fi
# The Kubernetes manifests, the Grafana dashboard and the Prometheus rules, rendered, validated
# and run against live coordinators, the cluster's on the PostgreSQL above (all tests only).
if [ "$status" -eq 0 ] && [ "$#" -eq 0 ]; then
    ./scripts/check-deploy.sh 2>&1 | tee -a "$log" || status=$?
fi
# The dashboard in headless Chromium shows what the API says (all tests only).
if [ "$status" -eq 0 ] && [ "$#" -eq 0 ]; then
    ./scripts/dashboard-browser-test.sh 2>&1 | tee -a "$log" || status=$?
fi
if [ "$status" -ne 0 ]; then
    echo
    echo "=== failures (full log: $log) ==="
    grep -E '✘|recorded an issue|error: |: error|Fatal error|Expectation failed' "$log" | grep -v '^✘ Test run with' | head -60 || true
fi
exit "$status"
