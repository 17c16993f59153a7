#!/usr/bin/env bash
# Interop between tokenctl and PyJWT, in both directions (see pyjwt_interop.py).
#
# Usage: tests/interop/run.sh [PATH_TO_TOKENCTL]
#
# Without an argument, builds tokenctl with cargo and uses the debug binary. Installs
# PyJWT with the cryptography extra only if `import jwt, cryptography` fails. Ends with
# `interop: N passed, M failed`; exits non-zero if any check failed.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [[ $# -ge 1 ]]; then
  tokenctl="$1"
else
  echo "interop: building tokenctl" >&2
  cargo build --quiet --manifest-path "$root/Cargo.toml" -p tokenctl
  target="$(cargo metadata --format-version 1 --no-deps --manifest-path "$root/Cargo.toml" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
  tokenctl="$target/debug/tokenctl"
fi
if [[ ! -x "$tokenctl" || -d "$tokenctl" ]]; then
  echo "interop: no tokenctl binary at $tokenctl" >&2
  exit 2
fi
tokenctl="$(cd "$(dirname "$tokenctl")" && pwd)/$(basename "$tokenctl")"

work="$(mktemp -d "${TMPDIR:-/tmp}/tokenctl-interop.XXXXXX")"
trap 'rm -rf "$work"' EXIT

if ! python3 -c 'import jwt, cryptography' 2>/dev/null; then
  echo "interop: installing PyJWT with cryptography" >&2
  python3 -m pip install --quiet 'pyjwt[crypto]>=2.8'
fi

python3 "$here/pyjwt_interop.py" "$tokenctl" "$work"
