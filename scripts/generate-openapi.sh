#!/usr/bin/env bash
# Regenerates Sources/TetherAPI/Generated from Sources/TetherAPI/openapi.yaml: the Swift types,
# the server protocol the coordinator implements and the client `TetherClient` wraps, and
# openapi.json, the document `GET /openapi.json` serves.
#
# The generated files are committed (docs/architecture.md says why). The first run builds
# swift-openapi-generator into .build-openapi-generator (about 3 minutes here); later runs take
# seconds. Needs python3 with PyYAML (Debian: python3-yaml) for the JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
version=1.14.3
tools=.build-openapi-generator
generator="$tools/swift-openapi-generator/.build/release/swift-openapi-generator"
if [ ! -x "$generator" ] || [ "$(cat "$tools/version" 2>/dev/null)" != "$version" ]; then
    rm -rf "$tools" && mkdir -p "$tools"
    git -c advice.detachedHead=false clone -q --depth 1 --branch "$version" \
        https://github.com/apple/swift-openapi-generator.git "$tools/swift-openapi-generator"
    swift build -c release --product swift-openapi-generator --package-path "$tools/swift-openapi-generator" >&2
    echo "$version" > "$tools/version"
fi
target=Sources/TetherAPI
out="$target/Generated"
find "$out" -name '*.swift' -delete
"$generator" generate "$target/openapi.yaml" --config "$target/openapi-generator-config.yaml" \
    --output-directory "$out" >/dev/null
# The served document: the YAML as compact JSON with sorted keys, as every other answer.
python3 scripts/openapi-json.py "$target/openapi.yaml" > "$out/openapi.json"
echo "generated: $(cd "$out" && ls | tr '\n' ' ')"
