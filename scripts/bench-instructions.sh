#!/bin/bash
# Main-thread user-space instructions per request of a server under callgrind: steadier than
# CPU time on a shared machine (other load does not change it), though batching still moves it
# by a few percent between runs. V8's background threads are distorted by valgrind: read only
# the main thread (01) and php-0.
#   bash scripts/bench-instructions.sh fastify|phpasync [requests=4000] [connections=10] [path=hello]
# Needs valgrind (callgrind_control) and a built tree (./build.sh).
set -euo pipefail
WHO=${1:?fastify or phpasync}; N=${2:-4000}; C=${3:-10}; P=${4:-hello}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cat > "$T/Caddyfile" <<CADDY
{
	frankenphp {
		worker {
			file $ROOT/src/bench/php/app.php
			num 1
			async
			buffer_size 20
			match *
		}
	}
}
http://127.0.0.1:0 {
	route {
		php_server {
			index off
			file_server off
		}
	}
}
CADDY
if [ "$WHO" = fastify ]; then CMD=("$ROOT/dist/src/bench/servers/fastify-app.js"); else CMD=("$ROOT/dist/src/cli/main.js" run --config "$T/Caddyfile"); fi
valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$T/cg.out" --dump-instr=no node "${CMD[@]}" > "$T/server.log" 2>&1 &
VPID=$!
for _ in $(seq 300); do grep -q listening "$T/server.log" && break; sleep 0.5; done
URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$T/server.log" | head -1)
AC="$ROOT/node_modules/.bin/autocannon"
"$AC" -c "$C" -a 3000 "$URL/$P" > /dev/null 2>&1   # warm-up: the JIT settles
callgrind_control -z "$VPID" > /dev/null
"$AC" -c "$C" -a "$N" "$URL/$P" 2>&1 | grep -E 'requests in|non 2xx' || true
callgrind_control -d "$VPID" > /dev/null
sleep 1
kill -TERM "$VPID"; wait "$VPID" 2>/dev/null || true
for F in "$T"/cg.out.1-*; do
  TOT=$(grep -m1 '^summary:\|^totals:' "$F" | awk '{print $2}')
  [ "${TOT:-0}" -gt 1000000 ] && echo "thread ${F##*-}: $((TOT / N)) instructions per request"
done
