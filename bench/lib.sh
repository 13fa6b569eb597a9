# bench/lib.sh: the set-up every benchmark in bench/ shares.  Source it:
#
#   . "$(dirname "$0")/lib.sh"
#
# On sourcing it turns on `set -Eeuo pipefail`, moves to the repository root
# and sets PGBIN (newest PostgreSQL bin directory) and PGIRIS (PGIRIS_BIN or
# build/pgiris).  Then, in this order:
#
#   build_pgiris                    make, if the binary is missing
#   build_both REV                  this tree and REV (in $old) built, then
#                                   make_workdir (compare.sh, large_compare.sh)
#   make_workdir                    $work, owned by postgres; stopped and
#                                   removed on exit, failure or Ctrl-C
#   P=$(free_port)                  a free loopback TCP port
#   start_postgres PORT             initdb + pg_ctl (fsync=off,
#                                   max_connections=300); user postgres, trust
#   pgbench_init PORT               pgbench -i -s 10 into database postgres
#   large_bench_init PORT ROWS      table large_bench: ROWS rows of ~100 bytes
#                                   (int, int, numeric, timestamp, two texts)
#   write_userlist                  $work/userlist.txt: user bench, password bench
#   start_pgbouncer NAME PORT MODE [INI LINE...]
#                                   pgbouncer serving database bench (=
#                                   postgres on $PGPORT) in pool mode MODE,
#                                   default_pool_size 20; extra lines are
#                                   appended to its [pgbouncer] section
#   start_pgiris PORT               pgiris (postgres dialect over psqlODBC,
#                                   connected with psqlodbc_conn's string)
#                                   serving database bench; sets IPID.
#                                   PGIRIS_EXTRA_INI, if set, is appended to
#                                   its ini (more [database ...] sections)
#   psqlodbc_conn [DECLARE_FETCH]   the psqlODBC connection string pgiris
#                                   uses (UseDeclareFetch DECLARE_FETCH,
#                                   default ${USE_DECLARE_FETCH:-1}; driver
#                                   ${PSQLODBC_DRIVER:-PostgreSQL Unicode};
#                                   PSQLODBC_EXTRA appended: more options)
#   rss_kb PID / hwm_kb PID         VmRSS / VmHWM of a process, in kB
#   reset_hwm PID...                reset VmHWM to the current RSS (clear_refs 5)
#
# start_pgbouncer and start_pgiris read the backend's port from PGPORT;
# both accept MAX_CLIENT_CONN clients (default 5000).  The descriptor limit
# is raised to 65536, or to the hard limit where that is lower.
#
# Logs are $work/pg.log, $work/NAME.log and $work/pgiris.log; when the
# script fails (not when interrupted) their last lines are printed before
# $work is removed (KEEP_WORK=1 keeps it).
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGIRIS=${PGIRIS_BIN:-$PWD/build/pgiris}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
MAX_CLIENT_CONN=${MAX_CLIENT_CONN:-5000}
pids=()     # processes cleanup stops (pgbouncer, pgiris)
work=

build_pgiris() { [ -x "$PGIRIS" ] || make -s all; }

as_postgres() { runuser -u postgres -- "$@"; }

# build_both REV: this tree's pgiris as it is now (not a binary left from
# before), and REV's in a temporary git worktree, $old, removed on exit;
# then make_workdir.  For the scripts that compare two builds.
build_both() {
    make -s all >/dev/null
    old=$(mktemp -d /tmp/pgiris-compare.XXXXXX)
    trap 'rc=$?; remove_old; exit $rc' EXIT
    git worktree add -q --detach "$old" "$1"
    make -s -C "$old" all >/dev/null
    make_workdir
    # cleanup reads the status the script ends with, so that comes to it unchanged.
    trap 'rc=$?; remove_old; (exit $rc); cleanup' EXIT
}
remove_old() {
    git worktree remove --force "$old" >/dev/null 2>&1 || rm -rf "$old"
    git worktree prune
}

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {  # PORT [SECONDS]: until something accepts on 127.0.0.1:PORT
    local i
    for ((i = 0; i < ${2:-10} * 10; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on port $1" >&2
    return 1
}

make_workdir() {
    work=$(mktemp -d /tmp/pgiris-bench.XXXXXX)
    chmod 755 "$work"
    chown postgres "$work"
    trap cleanup EXIT
    trap 'echo "${BASH_SOURCE[0]}: line $LINENO: failed: $BASH_COMMAND" >&2' ERR
    trap 'exit 130' INT
    trap 'exit 143' TERM HUP
}

show_logs() {  # the end of every log, to stderr
    local f
    for f in "$work"/*.log; do
        [ -s "$f" ] || continue
        echo "--- last lines of $(basename "$f")" >&2
        tail -n 15 "$f" >&2
    done
}

cpu_ticks() {  # PID...: CPU clock ticks (user + system) these processes have used; 0 for any gone
    local t=0 p
    for p in "$@"; do
        t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo "$t"
}

tree_ticks() { cpu_ticks "$1" $(pgrep -P "$1" || true); }  # PID: it and its children

proc_switches() {  # PID...: context switches of these processes' threads so far
    local p
    for p in "$@"; do
        cat /proc/"$p"/task/*/status 2>/dev/null || true
    done | awk '/^(non)?voluntary_ctxt_switches:/ {n += $2} END {print n + 0}'
}

tree_switches() { proc_switches "$1" $(pgrep -P "$1" || true); }  # PID: it and its children

stop_pids() {  # SIGINT the processes in pids (and their children); KILL stragglers after 5 s
    local all=() p i
    for p in "${pids[@]:-}"; do
        [ -n "$p" ] || continue
        all+=("$p")
        all+=($(pgrep -P "$p" || true))
    done
    [ ${#all[@]} -gt 0 ] || return 0
    for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    for ((i = 0; i < 50; i++)); do
        kill -0 "${all[@]}" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "${all[@]}" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP ERR
    [ -n "$work" ] || exit "$rc"
    case $rc in 0|130|143) ;; *) show_logs ;; esac   # not after success or Ctrl-C
    stop_pids
    as_postgres "$PGBIN/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
    sleep 0.5
    if [ -n "${KEEP_WORK:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
    exit "$rc"
}

start_postgres() {  # PORT
    mkdir "$work/pg" && chown postgres "$work/pg"
    as_postgres "$PGBIN/initdb" -D "$work/pg" -A trust -U postgres >/dev/null
    as_postgres "$PGBIN/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w start \
        -o "-p $1 -k $work -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" >/dev/null
}

pgbench_init() {  # PORT
    pgbench -i -q -s 10 -h 127.0.0.1 -p "$1" -U postgres postgres >/dev/null 2>&1
}

# FILE: pgbench's -S lookup inside BEGIN ... END ("txread"), as drivers outside autocommit send it
write_txread_script() {
    printf '%s\n' '\set aid random(1, 1000000)' 'BEGIN;' \
        'SELECT abalance FROM pgbench_accounts WHERE aid = :aid;' 'END;' > "$1"
}

large_bench_init() {  # PORT ROWS: large_bench, ROWS rows of about 100 bytes in text, typed columns
    psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres postgres \
        -c "CREATE TABLE large_bench (id int, k int, amount numeric(12,2), created timestamp, tag text, payload text)" \
        -c "INSERT INTO large_bench SELECT g, (g::bigint * 7919) % 1000003, (g * 1.25)::numeric(12,2),
                timestamp '2024-01-01' + g * interval '1 second', 'tag-' || (g % 1000),
                md5(g::text) || left(md5((g + 1)::text), 16) FROM generate_series(1, $2) g" \
        -c "VACUUM ANALYZE large_bench"
}

write_userlist() {
    printf '"bench" "bench"\n' > "$work/userlist.txt"
    chmod 644 "$work/userlist.txt"
}

start_pgbouncer() {  # NAME PORT MODE [INI LINE...]; needs PGPORT and the userlist
    local name=$1 port=$2 mode=$3 line
    shift 3
    {
        cat <<INI
[databases]
bench = host=127.0.0.1 port=$PGPORT dbname=postgres user=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = md5
auth_file = $work/userlist.txt
pool_mode = $mode
default_pool_size = 20
max_client_conn = $MAX_CLIENT_CONN
logfile = $work/$name.log
pidfile = $work/$name.pid
INI
        for line in "$@"; do echo "$line"; done
    } > "$work/$name.ini"
    chown -R postgres "$work"
    # Started as root with -u so it keeps this shell's descriptor limit
    # (runuser's PAM session would reset it below what 1,000 clients need).
    pgbouncer -d -u postgres "$work/$name.ini"
    sleep 0.5
    wait_port "$port"
    pids+=("$(cat "$work/$name.pid")")
}

psqlodbc_conn() {  # [DECLARE_FETCH]; needs PGPORT
    echo "Driver=${PSQLODBC_DRIVER:-PostgreSQL Unicode};Server=127.0.0.1;Port=$PGPORT;Database=postgres;Uid=postgres;UseDeclareFetch=${1:-${USE_DECLARE_FETCH:-1}};Fetch=1000;BoolsAsChar=0${PSQLODBC_EXTRA:+;$PSQLODBC_EXTRA}"
}

start_pgiris() {  # PORT; needs PGPORT and the userlist
    cat > "$work/pgiris.ini" <<INI
[pgiris]
listen_addr = 127.0.0.1
listen_port = $1
workers = ${PGIRIS_WORKERS:-auto}
pool_mode = transaction
default_pool_size = 20
min_pool_size = 20
max_client_conn = $MAX_CLIENT_CONN
auth_type = md5
auth_file = $work/userlist.txt
[database bench]
dialect = postgres
odbc = $(psqlodbc_conn)
INI
    [ -z "${PGIRIS_EXTRA_INI:-}" ] || printf '%s\n' "$PGIRIS_EXTRA_INI" >> "$work/pgiris.ini"
    # PGIRIS_ENV: VAR=VALUE words for pgiris's environment (env execs, so $! stays pgiris)
    env ${PGIRIS_ENV:-} "$PGIRIS" -q "$work/pgiris.ini" 2> "$work/pgiris.log" &
    IPID=$!
    pids+=("$IPID")
    sleep 1.5
    wait_port "$1"
}

# COLUMN MODE NAME: the median of that column over the rows of the
# tab-separated file $results whose first two columns are MODE and NAME; "-" if none
median() {
    awk -F'\t' -v c="$1" -v m="$2" -v n="$3" '$1 == m && $2 == n && $c != "-" {print $c}' "$results" |
        sort -g | awk '{v[NR] = $1} END {print NR ? v[int((NR + 1) / 2)] : "-"}'
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

reset_hwm() {  # PID...: VmHWM := VmRSS (Linux >= 4.0; root or the owner)
    local p
    for p in "$@"; do echo 5 2>/dev/null > "/proc/$p/clear_refs" || true; done
}
