#!/usr/bin/env bash
# Checks Sources/TetherAPI/openapi.yaml, the single description of the HTTP API: it is a valid
# OpenAPI 3.1 document (openapi-spec-validator), and the generated openapi.json, which
# `GET /openapi.json` serves, is exactly it (else run scripts/generate-openapi.sh).
# The tools go into a venv in .build-venv (PyPI), made on the first run.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.build-venv
if [ ! -x "$venv/bin/openapi-spec-validator" ]; then
    python3 -m venv "$venv" 2>/dev/null || { apt-get install -y -qq python3-venv >/dev/null && python3 -m venv "$venv"; }
    "$venv/bin/pip" install -q openapi-spec-validator pyyaml
fi
spec=Sources/TetherAPI/openapi.yaml
"$venv/bin/openapi-spec-validator" "$spec"
"$venv/bin/python" scripts/openapi-json.py "$spec" --check Sources/TetherAPI/Generated/openapi.json
echo "openapi.yaml: valid, and openapi.json is it"
