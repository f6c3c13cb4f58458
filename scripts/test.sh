#!/usr/bin/env bash
# Runs every test file with Node's own runner. Node 20 does not expand globs nor pick up .ts files
# by itself, so the list is built here.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s globstar nullglob
files=(test/**/*.test.ts)
exec node --import tsx --test --test-concurrency=1 "$@" "${files[@]}"
