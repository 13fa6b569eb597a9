#!/usr/bin/env bash
# Foundation benchmark: pgbench -S through pgiris (postgres dialect over
# psqlODBC), through pgbouncer in transaction mode, and straight to
# PostgreSQL, in one run; then the same with -C (a new connection per
# transaction); then the RSS of every pgiris process (and of pgbouncer) with
# 1,000 idle clients.  Everything runs on loopback and is stopped on exit.
#
#   bench/foundation.sh [SECONDS]        (default 20 s per pgbench run)
#
# Prints a table and writes it to bench/results/foundation-<date>.txt.
. "$(dirname "$0")/lib.sh"
T=${1:-20}
build_pgiris
make_workdir
PGPORT=$(free_port); BPORT=$(free_port); IPORT=$(free_port)
start_postgres "$PGPORT"
pgbench_init "$PGPORT"
write_userlist
start_pgbouncer pgbouncer "$BPORT" transaction
start_pgiris "$IPORT"

export PGPASSWORD=bench
run() {  # target port user extra-args -> prints tps and connection time
    local port=$1 user=$2; shift 2
    PGPASSWORD=$([ "$user" = postgres ] && echo x || echo bench) \
        pgbench -n -S -c 16 -j 2 -T "$T" "$@" -h 127.0.0.1 -p "$port" -U "$user" \
        "$([ "$user" = postgres ] && echo postgres || echo bench)" 2>&1 |
        awk '/^tps/ {tps=$3} /average connection time/ {ct=$5} /latency average/ {lat=$4}
             END {printf "%s %s %s\n", tps, (ct==""?"-":ct), lat}'
}

out="bench/results/foundation-$(date +%Y%m%d-%H%M%S).txt"
mkdir -p bench/results
{
echo "pgiris foundation benchmark  $(date -u '+%Y-%m-%d %H:%M UTC')  commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "machine: $(nproc) cores, $(uname -r); $(pgbench --version); $(pgbouncer --version | head -1)"
echo "pgbench -S -c 16 -j 2 -T $T, scale 10; pgiris UseDeclareFetch=${USE_DECLARE_FETCH:-1}"
echo
printf '%-28s %12s %14s %12s\n' "target" "tps" "conn time ms" "latency ms"
for mode in "" "-C"; do
    for tgt in pgiris pgbouncer postgres; do
        case $tgt in
            pgiris) r=$(run "$IPORT" bench $mode) ;;
            pgbouncer) r=$(run "$BPORT" bench $mode) ;;
            postgres) r=$(run "$PGPORT" postgres $mode) ;;
        esac
        read -r tps ct lat <<<"$r"
        eval "tps_${tgt}${mode:+_C}=$tps"
        printf '%-28s %12s %14s %12s\n' "$tgt ${mode:-(persistent)}" "$tps" "$ct" "$lat"
    done
done
echo
awk -v a="$tps_pgiris" -v b="$tps_pgbouncer" -v c="$tps_postgres" \
    'BEGIN {printf "ratios (persistent): pgiris/pgbouncer %.2f  pgiris/direct %.2f\n", a/b, a/c}'
awk -v a="$tps_pgiris_C" -v b="$tps_pgbouncer_C" -v c="$tps_postgres_C" \
    'BEGIN {printf "ratios (-C):         pgiris/pgbouncer %.2f  pgiris/direct %.2f\n", a/b, a/c}'
echo
echo "RSS with 1000 idle clients (kB): pid before after"
/usr/bin/python3 bench/idle_clients.py 127.0.0.1 "$IPORT" bench bench bench 1000 \
    "$IPID" $(pgrep -P "$IPID") | sed 's/^/  pgiris    /'
/usr/bin/python3 bench/idle_clients.py 127.0.0.1 "$BPORT" bench bench bench 1000 \
    "$(cat "$work/pgbouncer.pid")" | sed 's/^/  pgbouncer /'
} | tee "$out"
