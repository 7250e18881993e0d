#!/bin/sh
# Sets up a fresh machine (npm packages, Bun among them), builds everything, then runs one job.
# Usage: sh scripts/bootstrap.sh start|test|build|bench|typecheck [ARGS...]
set -eu
cd "$(dirname "$0")/.."
job="${1:-build}"
[ $# -gt 0 ] && shift

# 1. Node packages (Bun itself comes from the npm registry as package "bun").
if [ ! -x node_modules/.bin/bun ] || [ package-lock.json -nt node_modules/.vector-boot-stamp ]; then
  echo "bootstrap: installing npm packages (bun, zod, dev tools)" >&2
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules/.vector-boot-stamp
fi
BUN="$(pwd)/node_modules/.bin/bun"
export PATH="$(pwd)/node_modules/.bin:$PATH"

# 2. Build: native shim + pre-init, default model, compiled executable with the model appended.
"$BUN" scripts/build.ts

# 3. The job.
case "$job" in
  build) ;;
  start) exec ./dist/vector-boot boot --config examples/demo.json "$@" ;;
  test) exec "$BUN" test --timeout 120000 "$@" ;;
  bench) exec "$BUN" bench/run-all.ts "$@" ;;
  qemu) exec "$BUN" scripts/qemu-smoke.ts "$@" ;;
  typecheck) exec "$BUN" x tsc -p tsconfig.json ;;
  *) echo "bootstrap: unknown job '$job' (start|test|build|bench|qemu|typecheck)" >&2; exit 64 ;;
esac
