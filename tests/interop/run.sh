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

# The regular expression published in docs/api-keys.md matches every key tokenctl mints.
python3 - "$tokenctl" "$root/docs/api-keys.md" <<'PY'
import re, subprocess, sys
tokenctl, doc = sys.argv[1], sys.argv[2]
lines = open(doc, encoding="utf-8").read().splitlines()
pattern = next(l.strip() for l in lines if l.strip().startswith(r"\b[a-z0-9]+"))
regex = re.compile(pattern)
failed = 0
for prefix in ["tk_live", "tk_test", "acme2_prod_v3", "x"]:
    for _ in range(25):
        key = subprocess.run([tokenctl, "key", "mint", "--prefix", prefix, "--scopes", "read:x"],
                             check=True, capture_output=True, text=True).stdout.strip()
        if not regex.fullmatch(key) or not regex.search(f"token={key};"):
            failed += 1
            print(f"regex: no match for a key with prefix {prefix}", file=sys.stderr)
print(f"key regex: {100 - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
