#!/usr/bin/env bash
# The checks a contributor runs before sending a change: formatting (swift format, with the
# repository's .swift-format) and generated protobuf code matching proto/.
set -euo pipefail
cd "$(dirname "$0")/.."
swift format lint --recursive --strict Sources Tests Examples 2>&1 | grep -v "^$" | grep -v "Generated/" || true
if command -v protoc >/dev/null; then
  tmp=$(mktemp -d)
  swift build --product protoc-gen-swift >/dev/null
  protoc --plugin=protoc-gen-swift="$(swift build --show-bin-path)/protoc-gen-swift" \
    --swift_opt=Visibility=Public --swift_opt=FileNaming=PathToUnderscores \
    --swift_out="$tmp" -I proto proto/tether/v1/*.proto
  if diff -r -q "$tmp" Sources/TetherProtocol/Generated --exclude=README.md >/dev/null; then
    echo "generated code is up to date"
  else
    echo "generated code is stale: run scripts/generate-proto.sh" >&2
    exit 1
  fi
else
  echo "protoc not installed (apt-get install protobuf-compiler): skipped the generated-code check"
fi
