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
set -euo pipefail
cd "$(dirname "$0")/.."
T=${1:-20}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGIRIS=${PGIRIS_BIN:-$PWD/build/pgiris}
[ -x "$PGIRIS" ] || make -s all
ulimit -n 65536 2>/dev/null || true

work=$(mktemp -d /tmp/pgiris-bench.XXXXXX)
chmod 755 "$work"
chown postgres "$work"
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PGPORT=$(free_port); BPORT=$(free_port); IPORT=$(free_port)
pids=()
cleanup() {
    for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -INT "$p" 2>/dev/null || true; done
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
    sleep 0.5
    rm -rf "$work"
}
trap cleanup EXIT

mkdir "$work/pg" && chown postgres "$work/pg"
runuser -u postgres -- "$PGBIN/initdb" -D "$work/pg" -A trust -U postgres >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w start \
    -o "-p $PGPORT -k $work -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" >/dev/null
pgbench -i -q -s 10 -h 127.0.0.1 -p "$PGPORT" -U postgres postgres >/dev/null 2>&1

printf '"bench" "bench"\n' > "$work/userlist.txt"
chmod 644 "$work/userlist.txt"
cat > "$work/pgbouncer.ini" <<INI
[databases]
bench = host=127.0.0.1 port=$PGPORT dbname=postgres user=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BPORT
unix_socket_dir =
auth_type = md5
auth_file = $work/userlist.txt
pool_mode = transaction
default_pool_size = 20
max_client_conn = 5000
logfile = $work/pgbouncer.log
pidfile = $work/pgbouncer.pid
INI
chown -R postgres "$work"
# Started as root with -u so it keeps this shell's descriptor limit
# (runuser's PAM session would reset it below what 1,000 clients need).
pgbouncer -d -u postgres "$work/pgbouncer.ini"
sleep 0.5
pids+=("$(cat "$work/pgbouncer.pid")")

cat > "$work/pgiris.ini" <<INI
[pgiris]
listen_addr = 127.0.0.1
listen_port = $IPORT
workers = auto
pool_mode = transaction
default_pool_size = 20
min_pool_size = 20
max_client_conn = 5000
auth_type = md5
auth_file = $work/userlist.txt
[database bench]
dialect = postgres
odbc = Driver=PostgreSQL Unicode;Server=127.0.0.1;Port=$PGPORT;Database=postgres;Uid=postgres;UseDeclareFetch=${USE_DECLARE_FETCH:-1};Fetch=1000;BoolsAsChar=0
INI
"$PGIRIS" -q "$work/pgiris.ini" 2> "$work/pgiris.log" &
pids+=("$!")
IPID=$!
sleep 1.5

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
