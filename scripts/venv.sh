#!/usr/bin/env bash
# Prints the path of the scripts' Python venv (.build-venv), made on first use, after installing
# the PyPI packages given as arguments that it does not have yet.
# Usage: venv="$(./scripts/venv.sh openapi-spec-validator pyyaml)"
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.build-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >&2 2>/dev/null || {
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null && python3 -m venv "$venv" >&2
    }
fi
missing=()
for package in "$@"; do
    "$venv/bin/pip" show -q "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    "$venv/bin/pip" install -q "${missing[@]}" >&2
fi
echo "$PWD/$venv"
