#!/usr/bin/env python3
"""Prints an OpenAPI YAML document as compact JSON with sorted keys (scripts/generate-openapi.sh),
or, with --check JSON_FILE, fails unless that file is exactly what it would print."""
import json
import sys

import yaml


def render(path):
    with open(path, encoding="utf-8") as f:
        document = yaml.safe_load(f)
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[2] == "--check":
        with open(sys.argv[3], encoding="utf-8") as f:
            if f.read() != render(sys.argv[1]):
                sys.exit(f"{sys.argv[3]} is not {sys.argv[1]} as JSON: run scripts/generate-openapi.sh")
    elif len(sys.argv) == 2:
        sys.stdout.write(render(sys.argv[1]))
    else:
        sys.exit("usage: openapi-json.py OPENAPI.yaml [--check OPENAPI.json]")
