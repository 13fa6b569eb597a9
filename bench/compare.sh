#!/bin/bash
# bench/compare.sh REV [SECONDS] [ROUNDS]: this tree's pgiris against the one
# built from commit REV, and pgbouncer (transaction mode) and PostgreSQL
# itself, in one run: pgbench -S -c 16 -j 2 -T SECONDS (default 5) for each of
# -M simple and -M extended, ROUNDS rounds (default 3), the targets
# alternating within a round.  For each pgiris it also reports the CPU its
# processes (broker and workers, from /proc) used per transaction, which the
# load of a shared machine moves much less than tps.
#
# REV is built in a temporary git worktree (removed at the end).  Prints one
# line per run, then the medians; writes nothing else.
. "$(dirname "$0")/lib.sh"

rev=${1:?usage: bench/compare.sh REV [SECONDS] [ROUNDS]}
T=${2:-5}
ROUNDS=${3:-3}
make -s all >/dev/null     # this tree as it is now, not a binary left from before

old=$(mktemp -d /tmp/pgiris-compare.XXXXXX)
remove_old() {
    git worktree remove --force "$old" >/dev/null 2>&1 || rm -rf "$old"
    git worktree prune
}
trap 'rc=$?; remove_old; exit $rc' EXIT
git worktree add -q --detach "$old" "$rev"
make -s -C "$old" all >/dev/null

make_workdir
# cleanup reads the status the script ends with, so that comes to it unchanged.
trap 'rc=$?; remove_old; (exit $rc); cleanup' EXIT
PGPORT=$(free_port); BPORT=$(free_port); NPORT=$(free_port); OPORT=$(free_port)
start_postgres "$PGPORT"
pgbench_init "$PGPORT"
write_userlist
start_pgbouncer bouncer "$BPORT" transaction
start_pgiris "$NPORT"
NEWPID=$IPID
PGIRIS=$old/build/pgiris start_pgiris "$OPORT"
OLDPID=$IPID
export PGPASSWORD=bench

tree_ticks() {  # PID: CPU clock ticks of it and its children
    local t=0 p
    for p in "$1" $(pgrep -P "$1"); do
        t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
    done
    echo "$t"
}

results=$work/compare.tsv
: > "$results"
for r in $(seq 1 "$ROUNDS"); do
    for m in simple extended; do
        for t in "this:$NPORT:bench:$NEWPID" "$rev:$OPORT:bench:$OLDPID" \
                 "pgbouncer:$BPORT:bench:" "postgres:$PGPORT:postgres:"; do
            IFS=: read -r name port db pid <<<"$t"
            user=bench; [ "$name" = postgres ] && user=postgres
            [ -n "$pid" ] && c0=$(tree_ticks "$pid")
            # A run that fails is recorded as 0 tps, and the comparison goes on.
            tps=$(pgbench -n -S -M "$m" -c 16 -j 2 -T "$T" -h 127.0.0.1 -p "$port" -U "$user" "$db" 2>&1 |
                  awk '/^tps/ {print $3}') || true
            cpu=-
            [ -n "$pid" ] && [ -n "$tps" ] &&
                cpu=$(awk -v a="$c0" -v b="$(tree_ticks "$pid")" -v n="$tps" -v t="$T" -v hz="$(getconf CLK_TCK)" \
                      'BEGIN {printf "%.1f", (b - a) / hz * 1e6 / (n * t)}')
            printf '%s\t%s\t%s\t%s\n' "$m" "$name" "${tps:-0}" "$cpu" >> "$results"
            printf 'round %s  -M %-8s %-12s %10.0f tps  pgiris CPU us/tx %s\n' "$r" "$m" "$name" "${tps:-0}" "$cpu"
        done
    done
done
median() {  # COLUMN MODE NAME: the median of that column of the results, "-" if none
    awk -F'\t' -v c="$1" -v m="$2" -v n="$3" '$1 == m && $2 == n && $c != "-" {print $c}' "$results" |
        sort -g | awk '{v[NR] = $1} END {print NR ? v[int((NR + 1) / 2)] : "-"}'
}
echo "medians over $ROUNDS rounds:"
for m in simple extended; do
    for name in this "$rev" pgbouncer postgres; do
        printf '  -M %-8s %-12s %10.0f tps  pgiris CPU us/tx %s\n' "$m" "$name" \
            "$(median 3 "$m" "$name")" "$(median 4 "$m" "$name")"
    done
done
