#!/usr/bin/env bash
# A stale bundle is a broken action: rebuild src/ into a scratch dir and compare it with the committed dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
node --import tsx scripts/build.ts "$scratch" >/dev/null
if ! diff -r -q dist "$scratch" >/dev/null; then
  echo "dist/ is stale: it differs from a fresh build of src/. Run 'npm run build' and commit dist/." >&2
  diff -r -q dist "$scratch" >&2 || true
  exit 1
fi
echo "dist/ matches a fresh build of src/"
