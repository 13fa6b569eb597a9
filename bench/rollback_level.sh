#!/bin/bash
# bench/rollback_level.sh [ROUNDS] [SECONDS]: pgiris over psqlODBC with the
# driver's own default level of rollback on errors, named in the connection
# string (Protocol=7.4-2, statement: a SAVEPOINT before, and a RELEASE
# after, every statement in a transaction but the first) against what
# pgiris connects with when the string names no level (Protocol=7.4-0,
# none), in one run, alternating: pgbench's TPC-B-like script (BEGIN, three
# UPDATEs, a SELECT, an INSERT, END), -c 8, tps.  First it shows whether
# SET TRANSACTION READ ONLY after a query in a block holds (PostgreSQL's
# own current_setting('transaction_read_only')) under each.  LOAD replaces
# the pgbench options (default "-b tpcb-like -c 8"; "-S -c 16" for the
# lookups, one statement outside any transaction block).
. "$(dirname "$0")/lib.sh"

ROUNDS=${1:-3}
T=${2:-5}
make_workdir
PGPORT=$(free_port); A=$(free_port); B=$(free_port)
start_postgres "$PGPORT"
pgbench_init "$PGPORT"
write_userlist
PSQLODBC_EXTRA="Protocol=7.4-2" start_pgiris "$A"
mv "$work/pgiris.ini" "$work/pgiris-7.4-2.ini"
start_pgiris "$B"
export PGPASSWORD=bench
for t in "7.4-2:$A" "7.4-0:$B"; do
    IFS=: read -r name port <<<"$t"
    ro=$(psql -X -q -At -h 127.0.0.1 -p "$port" -U bench bench -c "BEGIN" -c "SELECT 1" -c "SET TRANSACTION READ ONLY" \
              -c "SELECT current_setting('transaction_read_only')" -c "ROLLBACK" | tail -1)
    printf '%-8s SET TRANSACTION READ ONLY after a query: transaction_read_only = %s\n' "$name" "$ro"
done
for r in $(seq 1 "$ROUNDS"); do
    for t in "7.4-2:$A" "7.4-0:$B"; do
        IFS=: read -r name port <<<"$t"
        tps=$(pgbench -n ${LOAD:--b tpcb-like -c 8} -j 2 -T "$T" -h 127.0.0.1 -p "$port" -U bench bench 2>&1 | awk '/^tps/ {printf "%d", $3}')
        printf 'round %s  %-8s %s tps\n' "$r" "$name" "$tps"
    done
done
