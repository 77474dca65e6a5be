#!/usr/bin/env bash
# CPU per request of a running `creditlines serve` (its worker processes) and of PostgreSQL (every
# backend on this host), over one wrk run: a figure that holds on a loaded machine, where req/s
# does not (docs/BENCHMARKS.md, third speed round). Start the server first, e.g.
#   CREDITLINES_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/DB \
#     .venv/bin/python -m creditlines serve --port 8821 --workers 2 --no-migrate &
# then: scripts/bench/cpu_per_request.sh PORT KEY scripts/bench/drawings.lua [SECONDS]
# (KEY: an integration key of the `bench` distributor that scripts/bench/api_load.py's seed()
# creates; HOT=1 in the environment sends every drawing to one reseller). Linux /proc only.
set -euo pipefail
PORT=$1; KEY=$2; LUA=$3; DUR=${4:-5}
TICK_US=$((1000000 / $(getconf CLK_TCK)))
server_cpu() {
  local t=0 s
  for p in $(pgrep -f "serve --port $PORT"); do
    for c in $(pgrep -P "$p") "$p"; do
      s=$(awk '{print $14+$15}' "/proc/$c/stat" 2>/dev/null || echo 0); t=$((t + s))
    done
  done
  echo "$t"
}
postgres_cpu() {
  local t=0 s
  for c in $(pgrep -u postgres postgres); do
    s=$(awk '{print $14+$15}' "/proc/$c/stat" 2>/dev/null || echo 0); t=$((t + s))
  done
  echo "$t"
}
a=$(server_cpu); pa=$(postgres_cpu)
out=$(KEY=$KEY RESELLERS=${RESELLERS:-1000} HOT=${HOT:-} wrk -t2 -c16 -d"${DUR}s" --latency -s "$LUA" "http://127.0.0.1:$PORT")
b=$(server_cpu); pb=$(postgres_cpu)
reqs=$(echo "$out" | awk '/requests in/ {print $1}')
rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
echo "req/s $rps p99 $p99 worker_us_per_request $(( (b - a) * TICK_US / reqs )) postgres_us_per_request $(( (pb - pa) * TICK_US / reqs ))"
