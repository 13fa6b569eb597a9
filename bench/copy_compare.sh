#!/bin/bash
# bench/copy_compare.sh REV [ROUNDS]: COPY FROM STDIN through this tree's
# pgiris against the one built from commit REV, in one run: ROWS (default
# 1,000,000) rows of large_bench (about 100 MB as COPY text) loaded by psql
# into an emptied table, ROUNDS rounds (default 3), the two alternating.
# Reports seconds and rows/s, then the medians.
. "$(dirname "$0")/lib.sh"

rev=${1:?usage: bench/copy_compare.sh REV [ROUNDS]}
ROUNDS=${2:-3}
ROWS=${ROWS:-1000000}
build_both "$rev"
PGPORT=$(free_port); NPORT=$(free_port); OPORT=$(free_port)
start_postgres "$PGPORT"
large_bench_init "$PGPORT" "$ROWS"
pg() { psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres postgres "$@"; }
pg -c "CREATE TABLE load_bench (LIKE large_bench)" -c "\\copy large_bench TO '$work/large.dat'"
write_userlist
start_pgiris "$NPORT"
mv "$work/pgiris.ini" "$work/pgiris-this.ini"
PGIRIS=$old/build/pgiris start_pgiris "$OPORT"
export PGPASSWORD=bench

results=$work/copy.tsv
: > "$results"
for r in $(seq 1 "$ROUNDS"); do
    for t in "this:$NPORT" "$rev:$OPORT"; do
        IFS=: read -r name port <<<"$t"
        pg -c "TRUNCATE load_bench" -c CHECKPOINT
        t0=$EPOCHREALTIME
        psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U bench bench \
            -c "COPY load_bench FROM STDIN" < "$work/large.dat" > /dev/null
        secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.3f", b - a}')
        n=$(pg -c "SELECT count(*) FROM load_bench")
        [ "$n" = "$ROWS" ] || echo "round $r $name: $n rows loaded, expected $ROWS" >&2
        rps=$(awk -v n="$n" -v s="$secs" 'BEGIN {printf "%.0f", n / s}')
        printf '%s\t%s\t%s\n' "$name" "$secs" "$rps" >> "$results"
        printf 'round %s  %-12s %7.3f s %9s rows/s\n' "$r" "$name" "$secs" "$rps"
    done
done
echo "medians over $ROUNDS rounds ($ROWS rows):"
for name in this "$rev"; do
    awk -F'\t' -v n="$name" '$1 == n {print $3}' "$results" | sort -g |
        awk -v n="$name" '{v[NR] = $1} END {printf "  %-12s %9s rows/s\n", n, NR ? v[int((NR + 1) / 2)] : "-"}'
done
