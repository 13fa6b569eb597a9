#!/bin/bash
# bench/compare.sh REV [SECONDS] [ROUNDS]: this tree's pgiris against the one
# built from commit REV, and pgbouncer (transaction mode) and PostgreSQL
# itself, in one run: pgbench -S -c 16 -j 2 -T SECONDS (default 5) for each
# mode in MODES (default "simple extended"; "churn" is -M simple -C, a new
# connection per transaction; "login" is -C with no query at all, the cost
# of a login alone; "txread" is -M simple with the -S lookup inside
# BEGIN ... END), ROUNDS rounds (default 3), the
# targets alternating within a round.  For each pooler it also reports the
# CPU its processes (pgiris: broker and workers; from /proc) used per transaction,
# which the load of a shared machine moves much less than tps, and the
# context switches of its processes' threads per transaction; and for
# every target, the CPU PostgreSQL's processes used per transaction behind
# it (backends that exited are counted through the postmaster's cutime), and
# for churn and login pgbench's average connection time.
# With -M prepared, pgbouncer in transaction mode fails (recorded as 0).
# CLIENTS (default 16) is pgbench's -c.  REV_WORKERS=N runs REV's pgiris
# with N workers (REV may be HEAD, to compare worker counts alone);
# REV_ENV="VAR=VALUE ..." runs REV's pgiris with that environment (HEAD
# again, to compare a setting such as GLIBC_TUNABLES alone).
#
# REV is built in a temporary git worktree (removed at the end).  Prints one
# line per run, then the medians; writes nothing else.
. "$(dirname "$0")/lib.sh"

rev=${1:?usage: bench/compare.sh REV [SECONDS] [ROUNDS]}
T=${2:-5}
ROUNDS=${3:-3}
build_both "$rev"
PGPORT=$(free_port); BPORT=$(free_port); NPORT=$(free_port); OPORT=$(free_port)
start_postgres "$PGPORT"
pgbench_init "$PGPORT"
write_userlist
start_pgbouncer bouncer "$BPORT" transaction
start_pgiris "$NPORT"
NEWPID=$IPID
PGIRIS_ENV=${REV_ENV:-} PGIRIS_WORKERS=${REV_WORKERS:-${PGIRIS_WORKERS:-auto}} PGIRIS=$old/build/pgiris start_pgiris "$OPORT"
OLDPID=$IPID
export PGPASSWORD=bench


pg_ticks() {  # CPU clock ticks of the PostgreSQL server: live processes, and exited ones
    local t pm
    pm=$(head -1 "$work/pg/postmaster.pid")
    t=$(awk '{print $16 + $17}' "/proc/$pm/stat")
    echo $((t + $(cpu_ticks "$pm" $(pgrep -P "$pm" || true))))
}
pg_children() { pgrep -c -P "$(head -1 "$work/pg/postmaster.pid")" || true; }
pg_settle() {  # COUNT: wait (3 s at most) until the backends a run started have exited and been reaped
    local i
    for i in $(seq 30); do
        [ "$(pg_children)" -le "$1" ] && return 0
        sleep 0.1
    done
}
per_tx() {  # TICKS_BEFORE TICKS_AFTER TPS: microseconds of CPU per transaction
    awk -v a="$1" -v b="$2" -v n="$3" -v t="$T" -v hz="$(getconf CLK_TCK)" \
        'BEGIN {printf "%.1f", (b - a) / hz * 1e6 / (n * t)}'
}

echo '\set x 1' > "$work/login.sql"    # a script needs a command; this one sends nothing
write_txread_script "$work/txread.sql"
results=$work/compare.tsv
: > "$results"
for r in $(seq 1 "$ROUNDS"); do
    for m in ${MODES:-simple extended}; do
        for t in "this:$NPORT:bench:$NEWPID" "$rev:$OPORT:bench:$OLDPID" \
                 "pgbouncer:$BPORT:bench:$(cat "$work/bouncer.pid")" "postgres:$PGPORT:postgres:"; do
            IFS=: read -r name port db pid <<<"$t"
            user=bench; [ "$name" = postgres ] && user=postgres
            [ -n "$pid" ] && c0=$(tree_ticks "$pid") s0=$(tree_switches "$pid")
            p0=$(pg_ticks) nb=$(pg_children)
            # A run that fails is recorded as 0 tps, and the comparison goes on.
            case $m in
                churn) mode=(-S -M simple -C) ;;
                login) mode=(-C -f "$work/login.sql") ;;
                txread) mode=(-M simple -f "$work/txread.sql") ;;
                *) mode=(-S -M "$m") ;;
            esac
            out=$(pgbench -n "${mode[@]}" -c "${CLIENTS:-16}" -j 2 -T "$T" -h 127.0.0.1 -p "$port" -U "$user" "$db" 2>&1) || true
            tps=$(awk '/^tps/ {print $3}' <<<"$out")
            conn=$(awk '/^average connection time/ {print $5}' <<<"$out")
            # A backend's CPU reaches the postmaster's cutime only once it is reaped.
            pg_settle "$nb"
            cpu=- pcpu=- sw=-
            if [ -n "$tps" ]; then
                [ -n "$pid" ] && cpu=$(per_tx "$c0" "$(tree_ticks "$pid")" "$tps") &&
                    sw=$(awk -v a="$s0" -v b="$(tree_switches "$pid")" -v n="$tps" -v t="$T" \
                         'BEGIN {printf "%.2f", (b - a) / (n * t)}')
                pcpu=$(per_tx "$p0" "$(pg_ticks)" "$tps")
            fi
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$m" "$name" "${tps:-0}" "$cpu" "$pcpu" "${conn:--}" "$sw" >> "$results"
            printf 'round %s  -M %-8s %-12s %10.0f tps  pooler CPU us/tx %-5s  switches/tx %-5s  PostgreSQL CPU us/tx %-6s  connect ms %s\n' \
                "$r" "$m" "$name" "${tps:-0}" "$cpu" "$sw" "$pcpu" "${conn:--}"
        done
    done
done
echo "medians over $ROUNDS rounds:"
for m in ${MODES:-simple extended}; do
    for name in this "$rev" pgbouncer postgres; do
        printf '  -M %-8s %-12s %10.0f tps  pooler CPU us/tx %-5s  switches/tx %-5s  PostgreSQL CPU us/tx %-6s  connect ms %s\n' \
            "$m" "$name" "$(median 3 "$m" "$name")" "$(median 4 "$m" "$name")" "$(median 7 "$m" "$name")" \
            "$(median 5 "$m" "$name")" "$(median 6 "$m" "$name")"
    done
done
