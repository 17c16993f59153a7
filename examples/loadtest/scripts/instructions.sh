#!/usr/bin/env bash
# Instructions per request of each load-test server, counted by valgrind's callgrind:
# repeatable for the same binary and inputs, however busy the machine is.
#
#   bash examples/loadtest/scripts/instructions.sh [VARIANT ...]
#
# Each server runs under callgrind and answers N1 then N2 sequential keep-alive
# requests (two separate runs); (total(N2) - total(N1)) / (N2 - N1) cancels start-up.
# Counts user-mode instructions of every server thread (the audit worker's included);
# no kernel work. Needs valgrind and python3. Requests go one at a time, so the
# audit worker wakes per request here: its share is higher than under load.
set -euo pipefail
cd "$(dirname "$0")/../../.."
N1=${N1:-500}
N2=${N2:-2500}
variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(bare jsonwebtoken layer-hs256 layer-hs256-uncached layer-api-key)
cargo build --release -q -p loadtest
bin=$PWD/target/release/loadtest
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/drive.py" <<'PY'
import http.client, sys
port, header, value, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
c = http.client.HTTPConnection("127.0.0.1", port)
for _ in range(n):
    c.request("GET", "/hello", headers={header: value})
    r = c.getresponse()
    r.read()
    if r.status != 200:
        sys.exit(f"status {r.status}")
PY

total() { # variant requests -> instructions
    local out="$work/cg.$1.$2"
    coproc SERVER { exec valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" --serve "$1" 2>/dev/null; }
    local port header value
    read -r -u "${SERVER[0]}" port
    read -r -u "${SERVER[0]}" header
    read -r -u "${SERVER[0]}" value
    python3 "$work/drive.py" "$port" "$header" "$value" "$2"
    kill -INT "$SERVER_PID"
    wait "$SERVER_PID" || true
    awk '/^totals:/ {print $2}' "$out"
}

printf '%-24s %14s %14s\n' server "instr/request" "over bare"
bare=""
for v in bare "${variants[@]}"; do
    [ "$v" = bare ] && [ -n "$bare" ] && continue
    a=$(total "$v" "$N1")
    b=$(total "$v" "$N2")
    per=$(( (b - a) / (N2 - N1) ))
    [ -n "$bare" ] || bare=$per
    printf '%-24s %14d %14d\n' "$v" "$per" $(( per - bare ))
done
