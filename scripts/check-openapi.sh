#!/usr/bin/env bash
# Checks Sources/TetherAPI/openapi.yaml, the single description of the HTTP API: it is a valid
# OpenAPI 3.1 document (openapi-spec-validator), and the generated openapi.json, which
# `GET /openapi.json` serves, is exactly it (else run scripts/generate-openapi.sh).
# The tools go into the scripts' venv (scripts/venv.sh, from PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$(./scripts/venv.sh openapi-spec-validator pyyaml)"
spec=Sources/TetherAPI/openapi.yaml
"$venv/bin/openapi-spec-validator" "$spec"
"$venv/bin/python" scripts/openapi-json.py "$spec" --check Sources/TetherAPI/Generated/openapi.json
echo "openapi.yaml: valid, and openapi.json is it"
