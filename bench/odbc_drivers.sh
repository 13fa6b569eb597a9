#!/bin/bash
# bench/odbc_drivers.sh [ROUNDS]: psqlODBC's two drivers alone, no pooler
# (bench/odbc_floor.c), in one run, alternating: "PostgreSQL Unicode" (the
# one the other benchmarks use) and "PostgreSQL ANSI".  Per round, the
# seconds and CPU seconds to read ROWS (default 300,000) rows of
# large_bench as pgiris's executor reads a long result, and the lookups/s
# and CPU µs per lookup of pgbench -S's query from 4 threads for 5 s.
. "$(dirname "$0")/lib.sh"

ROUNDS=${1:-3}
ROWS=${ROWS:-300000}
make_workdir
cc -O2 bench/odbc_floor.c -lodbc -lpthread -o "$work/odbc_floor"
PGPORT=$(free_port)
start_postgres "$PGPORT"
large_bench_init "$PGPORT" "$ROWS"
pgbench_init "$PGPORT"
for r in $(seq 1 "$ROUNDS"); do
    for d in "PostgreSQL Unicode" "PostgreSQL ANSI"; do
        # odbc_floor read: "rows BYTES ROWS SECONDS CPU"; oltp: "lookups N SECONDS PER_S CPU_US"
        read -r _ _ _ secs cpu < <("$work/odbc_floor" "$(PSQLODBC_DRIVER=$d psqlodbc_conn 1)" \
                                   read "SELECT * FROM large_bench")
        read -r _ _ _ per_s us < <("$work/odbc_floor" "$(PSQLODBC_DRIVER=$d psqlodbc_conn 0)" oltp 1000000 5 4 | tail -1)
        printf 'round %s  %-19s read %s s (CPU %s s)  lookups %s/s (CPU %s us each)\n' \
            "$r" "$d" "$secs" "$cpu" "$per_s" "$us"
    done
done
