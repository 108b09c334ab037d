#!/bin/bash
# CPU time per request of each thread of a server (/proc/<pid>/task/*/schedstat) over a fixed
# number of requests after a warm-up. Alternate fastify and phpasync, several runs each: a
# single run moves by 20 % on a shared 2-core machine.
#   bash scripts/bench-thread-cpu.sh fastify|phpasync [requests=100000] [connections=50] [path=hello]
set -euo pipefail
WHO=${1:?fastify or phpasync}; N=${2:-100000}; C=${3:-50}; P=${4:-hello}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
sed -n '/^cat > "\$T\/Caddyfile" <<CADDY$/,/^CADDY$/p' "$ROOT/scripts/bench-instructions.sh" | sed '1d;$d' | sed "s|\$ROOT|$ROOT|" > "$T/Caddyfile"
if [ "$WHO" = fastify ]; then CMD=("$ROOT/dist/src/bench/servers/fastify-app.js"); else CMD=("$ROOT/dist/src/cli/main.js" run --config "$T/Caddyfile"); fi
node "${CMD[@]}" > "$T/server.log" 2>&1 &
SPID=$!
for _ in $(seq 50); do grep -q listening "$T/server.log" && break; sleep 0.2; done
URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$T/server.log" | head -1)
AC="$ROOT/node_modules/.bin/autocannon"
"$AC" -c "$C" -a 30000 "$URL/$P" > /dev/null 2>&1
snap() { for t in /proc/$SPID/task/*; do echo "$(basename "$t") $(tr ' ' _ < "$t/comm") $(awk '{print $1}' "$t/schedstat")"; done | sort; }
snap > "$T/s1"
"$AC" -c "$C" -a "$N" "$URL/$P" 2>&1 | grep -E 'requests in|non 2xx' || true
snap > "$T/s2"
kill -TERM "$SPID"; wait "$SPID" 2>/dev/null || true
join "$T/s1" "$T/s2" | awk -v n="$N" '{d=($5-$3)/1000/n; if (d>0.05) {printf "%-8s %-16s %6.2f us per request\n",$1,$2,d; s+=d}} END {printf "all threads %.2f us per request\n", s}'
