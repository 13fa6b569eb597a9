#!/bin/bash
# bench/fairness.sh [CLIENTS] [SECONDS] [ROUNDS]: how evenly a pool's slots
# go round when many clients wait.  pgbench -S -c CLIENTS (default 2000)
# -j 2 -T SECONDS (default 8) through pgiris and pgbouncer (transaction
# mode, pool 20) in turn, ROUNDS rounds (default 2), with per-transaction
# logs: the spread of transactions per client (min, 1st percentile, median,
# 99th, max, coefficient of variation) and of latency.  A pooler that
# starved some clients would show a wide spread at the same tps.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
CLIENTS=${1:-2000}
T=${2:-8}
ROUNDS=${3:-2}
make_workdir
trap cleanup EXIT INT TERM HUP ERR
PGPORT=$(free_port); IPORT=$(free_port); BPORT=$(free_port)
start_postgres "$PGPORT"
pgbench_init "$PGPORT"
write_userlist
start_pgiris "$IPORT"
start_pgbouncer bouncer "$BPORT" transaction
export PGPASSWORD=bench
for ((r = 1; r <= ROUNDS; r++)); do
    for t in pgiris:$IPORT pgbouncer:$BPORT; do
        IFS=: read -r name port <<<"$t"
        rm -f "$work"/pgbench_log.*
        (cd "$work" && pgbench -n -S -c "$CLIENTS" -j 2 -T "$T" -l -h 127.0.0.1 -p "$port" -U bench bench 2>&1 |
            grep -E "^tps" | sed "s/^/round $r $name: /")
        cat "$work"/pgbench_log.* | awk -v lat="$work/latency" '
            { n[$1]++; print $3 > lat }
            END { for (c in n) print n[c] }' | sort -n | awk -v name="$name" '
            { v[NR] = $1; s += $1; q += $1 * $1 }
            END { m = s / NR
                  printf "  %s: %d clients, transactions per client min %d p1 %d p50 %d p99 %d max %d, cv %.2f\n",
                         name, NR, v[1], v[int(NR * 0.01) + 1], v[int(NR * 0.5)], v[int(NR * 0.99)], v[NR],
                         sqrt(q / NR - m * m) / m }'
        sort -n "$work/latency" | awk '{ v[NR] = $1 }
            END { printf "  latency p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
                         v[int(NR * 0.5)] / 1000, v[int(NR * 0.99)] / 1000, v[NR] / 1000 }'
    done
done
