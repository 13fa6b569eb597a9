#!/bin/bash
# bench/large_compare.sh REV [ROUNDS]: large results through this tree's
# pgiris against the one built from commit REV, pgbouncer (transaction
# mode), PostgreSQL itself and psqlODBC alone (bench/odbc_floor.c, no
# pooler), in one run: ROWS (default 1,000,000) rows of large_bench read
# as they arrive by bench/bigread.c, as COPY TO STDOUT and as a SELECT in
# single-row mode, ROUNDS rounds (default 3), the targets alternating.
# Reports seconds, MB/s and the CPU seconds the pooler's processes used
# (pgiris: broker and workers), then the medians.
. "$(dirname "$0")/lib.sh"

rev=${1:?usage: bench/large_compare.sh REV [ROUNDS]}
ROUNDS=${2:-3}
ROWS=${ROWS:-1000000}
build_both "$rev"
cc -O2 -I"$(pg_config --includedir)" bench/bigread.c -lpq -o "$work/bigread"
cc -O2 bench/odbc_floor.c -lodbc -lpthread -o "$work/odbc_floor"
PGPORT=$(free_port); BPORT=$(free_port); NPORT=$(free_port); OPORT=$(free_port)
start_postgres "$PGPORT"
large_bench_init "$PGPORT" "$ROWS"
write_userlist
start_pgbouncer bouncer "$BPORT" transaction
start_pgiris "$NPORT"
NEWPID=$IPID
PGIRIS=$old/build/pgiris start_pgiris "$OPORT"
OLDPID=$IPID
export PGPASSWORD=bench
hz=$(getconf CLK_TCK)

results=$work/large.tsv
: > "$results"
for r in $(seq 1 "$ROUNDS"); do
    for m in select copy; do
        sql="SELECT * FROM large_bench"
        [ "$m" = copy ] && sql="COPY large_bench TO STDOUT"
        for t in "this:$NPORT:bench:$NEWPID" "$rev:$OPORT:bench:$OLDPID" \
                 "pgbouncer:$BPORT:bench:$(cat "$work/bouncer.pid")" "postgres:$PGPORT:postgres:" "psqlodbc:::"; do
            IFS=: read -r name port db pid <<<"$t"
            user=bench; [ "$name" = postgres ] && user=postgres
            c0=0; [ -n "$pid" ] && c0=$(tree_ticks "$pid")
            if [ "$name" = psqlodbc ]; then
                out=$("$work/odbc_floor" "$(psqlodbc_conn 1)" read "SELECT * FROM large_bench") || out=
            else
                out=$("$work/bigread" "host=127.0.0.1 port=$port user=$user dbname=$db" "$m" "$sql") || out=
            fi
            read -r _ bytes rows secs _ <<<"${out:-x 0 0 0}"
            cpu=-
            [ -n "$pid" ] && cpu=$(awk -v a="$c0" -v b="$(tree_ticks "$pid")" -v hz="$hz" 'BEGIN {printf "%.2f", (b - a) / hz}')
            mbs=$(awk -v b="$bytes" -v s="$secs" 'BEGIN {printf "%.1f", (s > 0 ? b / 1e6 / s : 0)}')
            [ "$rows" = "$ROWS" ] || echo "round $r $m $name: $rows rows, expected $ROWS" >&2
            printf '%s\t%s\t%s\t%s\t%s\n' "$m" "$name" "$secs" "$mbs" "$cpu" >> "$results"
            printf 'round %s  %-6s %-12s %7.3f s %7s MB/s  pooler CPU %s s\n' "$r" "$m" "$name" "$secs" "$mbs" "$cpu"
        done
    done
done
echo "medians over $ROUNDS rounds ($ROWS rows):"
for m in select copy; do
    for name in this "$rev" pgbouncer postgres psqlodbc; do
        printf '  %-6s %-12s %7s s %7s MB/s  pooler CPU %s s\n' "$m" "$name" \
            "$(median 3 "$m" "$name")" "$(median 4 "$m" "$name")" "$(median 5 "$m" "$name")"
    done
done
