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

# 3. Machine packages the tests use, from Debian, when missing: python3 with venv/ensurepip (the Python
#    client's tests), unshare/nsenter (util-linux) and script (bsdutils) for the PID-1 and terminal tests. QEMU and the kernel
#    are installed by the QEMU tests themselves.
need_pkgs() {
  pkgs=""
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || pkgs="$pkgs python3 python3-venv"
  for t in unshare nsenter; do command -v "$t" >/dev/null 2>&1 || pkgs="$pkgs util-linux"; done
  command -v script >/dev/null 2>&1 || pkgs="$pkgs bsdutils"
  echo $pkgs | tr ' ' '\n' | sort -u | tr '\n' ' '
}
if [ "$job" = test ] && [ -n "$(need_pkgs | tr -d ' ')" ]; then
  missing="$(need_pkgs)"
  echo "bootstrap: installing Debian packages:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >&2
fi

# 4. The job.
case "$job" in
  build) ;;
  start) exec ./dist/vector-boot boot --config examples/demo.json "$@" ;;
  test) exec "$BUN" test --timeout 120000 "$@" ;;
  bench) exec "$BUN" bench/run-all.ts "$@" ;;
  qemu) exec "$BUN" scripts/qemu-smoke.ts "$@" ;;
  typecheck) exec "$BUN" x tsc -p tsconfig.json ;;
  *) echo "bootstrap: unknown job '$job' (start|test|build|bench|qemu|typecheck)" >&2; exit 64 ;;
esac
