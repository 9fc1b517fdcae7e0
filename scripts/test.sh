#!/usr/bin/env bash
# Sets up what is missing, builds everything (the CLI and the example worker are run by the
# integration tests as child processes) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
swift build --build-tests
swift test --skip-build --no-parallel "$@"
