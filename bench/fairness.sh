#!/bin/bash
# bench/fairness.sh [CLIENTS] [SECONDS] [ROUNDS] [REV]: how evenly a pool's
# slots go round when many clients wait.  pgbench -S -c CLIENTS (default
# 2000) -j 2 -T SECONDS (default 8) through pgiris and pgbouncer
# (transaction mode, pool 20) in turn, ROUNDS rounds (default 2), with
# per-transaction logs: the spread of transactions per client (min, 1st
# percentile, median, 99th, max, coefficient of variation), of latency, and
# the context switches of the pooler's threads per transaction.  A pooler
# that starved some clients would show a wide spread at the same tps.  With
# REV, the pgiris built from that commit (in a temporary worktree) runs in
# the same rounds too.  Each round starts with the next target in turn.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
CLIENTS=${1:-2000}
T=${2:-8}
ROUNDS=${3:-2}
REV=${4:-}
if [ -n "$REV" ]; then
    build_both "$REV"       # its own exit trap removes the worktree, then cleans up
else
    make_workdir
    trap cleanup EXIT INT TERM HUP ERR
fi
PGPORT=$(free_port); IPORT=$(free_port); BPORT=$(free_port)
start_postgres "$PGPORT"
pgbench_init "$PGPORT"
write_userlist
start_pgiris "$IPORT"
targets=("pgiris:$IPORT:$IPID")
if [ -n "$REV" ]; then
    OPORT=$(free_port)
    PGIRIS=$old/build/pgiris start_pgiris "$OPORT"
    targets+=("pgiris@$REV:$OPORT:$IPID")
fi
start_pgbouncer bouncer "$BPORT" transaction
targets+=("pgbouncer:$BPORT:$(cat "$work/bouncer.pid")")
export PGPASSWORD=bench
for ((r = 1; r <= ROUNDS; r++)); do
    # Each round starts with the next target: the first run of a round is not always the same one's.
    for ((k = 0; k < ${#targets[@]}; k++)); do
        t=${targets[$(((k + r - 1) % ${#targets[@]}))]}
        IFS=: read -r name port pid <<<"$t"
        rm -f "$work"/pgbench_log.*
        s0=$(tree_switches "$pid")
        tps=$(cd "$work" && pgbench -n -S -c "$CLIENTS" -j 2 -T "$T" -l -h 127.0.0.1 -p "$port" -U bench bench 2>&1 |
            awk '/^tps/ {print $3}')
        echo "round $r $name: tps = ${tps:-0}, context switches per transaction $(awk -v a="$s0" \
            -v b="$(tree_switches "$pid")" -v n="${tps:-0}" -v t="$T" 'BEGIN {printf "%.2f", (n > 0 ? (b - a) / (n * t) : 0)}')"
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
