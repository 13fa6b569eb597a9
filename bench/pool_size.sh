#!/bin/bash
# bench/pool_size.sh [SECONDS] [ROUNDS]: this tree's pgiris with each pool
# size in SIZES (default "20 8 4 2"; pool_size = min_pool_size) against
# pgbouncer (transaction mode, pool 20), alternating within a round:
# pgbench -S -c CLIENTS (default 16) -j 2 -T SECONDS (default 5) for each
# mode in MODES (default "simple"), ROUNDS rounds (default 3): tps, the CPU
# the pooler's processes used per transaction and their context switches
# per transaction.  Prints one line per run, then the medians.
. "$(dirname "$0")/lib.sh"

T=${1:-5}
ROUNDS=${2:-3}
SIZES=${SIZES:-20 8 4 2}
build_pgiris
make_workdir
PGPORT=$(free_port); BPORT=$(free_port)
start_postgres "$PGPORT"
pgbench_init "$PGPORT"
write_userlist
start_pgbouncer bouncer "$BPORT" transaction
declare -A port pid
for n in $SIZES; do
    port[$n]=$(free_port)
    PGIRIS_EXTRA_INI="pool_size = $n
min_pool_size = $n" start_pgiris "${port[$n]}"
    pid[$n]=$IPID
done
port[pgbouncer]=$BPORT
pid[pgbouncer]=$(cat "$work/bouncer.pid")
export PGPASSWORD=bench
results=$work/pool_size.tsv
: > "$results"
for r in $(seq 1 "$ROUNDS"); do
    for m in ${MODES:-simple}; do
        for t in $SIZES pgbouncer; do
            c0=$(tree_ticks "${pid[$t]}") s0=$(tree_switches "${pid[$t]}")
            tps=$(pgbench -n -S -M "$m" -c "${CLIENTS:-16}" -j 2 -T "$T" -h 127.0.0.1 -p "${port[$t]}" \
                  -U bench bench 2>&1 | awk '/^tps/ {print $3}') || true
            c1=$(tree_ticks "${pid[$t]}") s1=$(tree_switches "${pid[$t]}")
            awk -v m="$m" -v t="$t" -v tps="${tps:-0}" -v c=$((c1 - c0)) -v s=$((s1 - s0)) -v T="$T" \
                -v hz="$(getconf CLK_TCK)" 'BEGIN {
                    n = tps * T
                    printf "%s\t%s\t%.0f\t%s\t%s\n", m, t, tps, n ? sprintf("%.1f", c / hz * 1e6 / n) : "-",
                           n ? sprintf("%.2f", s / n) : "-" }' >> "$results"
            tail -n 1 "$results" | awk -F'\t' -v r="$r" \
                '{printf "round %s  -M %-8s %-9s pool %-3s %8s tps  pooler CPU us/tx %-5s  switches/tx %s\n",
                      r, $1, $2 == "pgbouncer" ? $2 : "pgiris", $2 == "pgbouncer" ? 20 : $2, $3, $4, $5}'
        done
    done
done
echo "medians over $ROUNDS rounds:"
for m in ${MODES:-simple}; do
    for t in $SIZES pgbouncer; do
        name=pgiris size=$t
        [ "$t" = pgbouncer ] && name=pgbouncer size=20
        printf '  -M %-8s %-9s pool %-3s %8s tps  pooler CPU us/tx %-5s  switches/tx %s\n' \
            "$m" "$name" "$size" "$(median 3 "$m" "$t")" "$(median 4 "$m" "$t")" "$(median 5 "$m" "$t")"
    done
done
