#!/usr/bin/env bash
# Protocol benchmark, in one run on one machine, through pgiris (postgres
# dialect over psqlODBC), through pgbouncer and straight to PostgreSQL:
#
#  * pgbench -S -c 16 -j 2 with -M prepared, extended and simple: tps,
#    average latency, failed transactions and aborted clients (with the first
#    error pgbench printed).  pgbouncer runs twice: in transaction mode (where
#    before 1.21 protocol-level named prepared statements do not survive a
#    change of server connection) and in session mode.
#  * COPY copy_bench FROM STDIN of ROWS rows (default 1,000,000), generated
#    once by PostgreSQL into a file, through pgiris, pgbouncer (transaction
#    mode) and straight in; after each load the rows are counted and the
#    table, read back directly, is compared with the file.  Then COPY
#    copy_bench TO STDOUT through each into /dev/null; once more through
#    pgiris into a file, whose lines are counted and compared with the file.
#
#   bench/protocol.sh [SECONDS]      (default 20 s per pgbench run)
#   ROWS=100000 bench/protocol.sh 3  (a quick smoke run)
#
# A psql through a target is stopped after COPY_TIMEOUT s (default 600).
# USE_DECLARE_FETCH=0 runs pgiris without psqlODBC's cursor-per-query mode.
# Prints a table and writes it to bench/results/protocol-<date>.txt; exits 1
# (after printing the table) if a COPY failed or a check above did not hold.
. "$(dirname "$0")/lib.sh"
T=${1:-20}
ROWS=${ROWS:-1000000}
CLIENTS=16
build_pgiris
make_workdir
PGPORT=$(free_port); BPORT=$(free_port); SPORT=$(free_port); IPORT=$(free_port)
start_postgres "$PGPORT"
pgbench_init "$PGPORT"
write_userlist

BVERSION=$(pgbouncer --version | head -1 | awk '{print $2}')
if [ "$(printf '%s\n' 1.21 "$BVERSION" | sort -V | head -1)" = 1.21 ]; then
    bouncer_note="pgbouncer $BVERSION: transaction mode with max_prepared_statements = 200"
    start_pgbouncer pgbouncer "$BPORT" transaction "max_prepared_statements = 200"
else
    bouncer_note="pgbouncer $BVERSION < 1.21: transaction mode does not track named prepared statements (no max_prepared_statements)"
    start_pgbouncer pgbouncer "$BPORT" transaction
fi
start_pgbouncer pgbouncer-session "$SPORT" session
start_pgiris "$IPORT"

export PGPASSWORD=bench       # pgiris and pgbouncer; PostgreSQL trusts
TARGETS=(pgiris pgbouncer-tx pgbouncer-session postgres)
declare -A PORT=([pgiris]=$IPORT [pgbouncer-tx]=$BPORT [pgbouncer-session]=$SPORT [postgres]=$PGPORT)
declare -A LABEL=([pgiris]=pgiris [pgbouncer-tx]="pgbouncer (transaction)"
                  [pgbouncer-session]="pgbouncer (session)" [postgres]=postgres)
user_of() { [ "$1" = postgres ] && echo postgres || echo bench; }   # also the database
pg() { psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres postgres "$@"; }
psql_via() {  # TARGET ARGS...: psql through TARGET, as its user, into its database
    local u
    u=$(user_of "$1")
    timeout "${COPY_TIMEOUT:-600}" psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${PORT[$1]}" -U "$u" "$u" "${@:2}"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f", a / b}'; }
per_s() { awk -v n="$1" -v t="$2" 'BEGIN {printf "%.0f", n / t}'; }

# --- a) pgbench -S -M PROTOCOL ---------------------------------------------
declare -A TPS LAT DONE FAILED ABORTED ERRORS FIRSTERR FIRSTABORT
run_pgbench() {  # PROTOCOL TARGET; full output in $work/pgbench-PROTOCOL-TARGET.out
    local key="$1 $2" f="$work/pgbench-$1-$2.out" u
    u=$(user_of "$2")
    timeout -s INT $((T + 60)) pgbench -n -S -M "$1" -c "$CLIENTS" -j 2 -T "$T" \
        -h 127.0.0.1 -p "${PORT[$2]}" -U "$u" "$u" > "$f" 2>&1 || true
    TPS[$key]=$(awk '/^tps = / {v = $3} END {print (v == "" ? "-" : v)}' "$f")
    LAT[$key]=$(awk '/^latency average/ {v = $4} END {print (v == "" ? "-" : v)}' "$f")
    FAILED[$key]=$(awk '/^number of failed transactions/ {v = $5} END {print (v == "" ? "-" : v)}' "$f")
    DONE[$key]=$(awk '/^number of transactions actually processed/ {v = $6} END {print (v == "" ? "-" : v)}' "$f")
    ABORTED[$key]=$(grep -cE 'client [0-9]+ .*aborted' "$f" || true)
    ERRORS[$key]=$(grep -cE 'ERROR|FATAL|error:' "$f" || true)
    FIRSTERR[$key]=$(grep -m1 -E 'ERROR|FATAL|error:' "$f" || true)
    FIRSTABORT[$key]=$(grep -m1 -E 'client [0-9]+ .*aborted' "$f" || true)
}

# --- b) COPY -----------------------------------------------------------------
declare -A IN_S OUT_S
copy_failed=() copy_checks=()
empty_copy_table() {  # a backend still locking copy_bench after 30 s is reported, then terminated
    local holders q="FROM pg_locks WHERE relation = 'copy_bench'::regclass AND pid <> pg_backend_pid()"
    pg -c "SET lock_timeout = '30s'" -c "TRUNCATE copy_bench" -c CHECKPOINT 2> /dev/null && return
    holders=$(pg -c "SELECT string_agg(format('pid %s, %s, %s: %s', pid, backend_type, state,
                     left(query, 100)), '; ') FROM pg_stat_activity WHERE pid IN (SELECT pid $q)")
    copy_failed+=("copy_bench still locked 30 s after the previous COPY; terminated $holders")
    pg -c "SELECT pg_terminate_backend(pid) $q" > /dev/null
    pg -c "TRUNCATE copy_bench" -c CHECKPOINT
}
psql_timed() {  # TARGET SQL STDIN STDOUT ERRFILE: prints the seconds psql took; 1 if it failed
    local t0 rc=0
    t0=$EPOCHREALTIME
    psql_via "$1" -c "$2" < "$3" > "$4" 2> "$5" || rc=$?
    if [ $rc -eq 124 ]; then
        echo "(no end after ${COPY_TIMEOUT:-600} s: psql stopped)" >> "$5"
    fi
    [ $rc -eq 0 ] && awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.2f", b - a}'
}
said() { tr '\n' ' ' < "$1" | head -c 2000; }
same_as_file() {  # FILE LABEL: FILE equals the generated data?  Adds a line to copy_checks
    if cmp -s "$work/copy.dat" "$1"; then
        copy_checks+=("$2: identical to the generated file")
    else
        copy_failed+=("$2: NOT identical to the generated file; first difference:
$(diff "$work/copy.dat" "$1" | head -4 | sed 's/^/    /' || true)")
    fi
}
copy_in() {  # TARGET: empty the table, load the file through TARGET, check what was loaded
    local n err="$work/copy-in-$1.err"
    empty_copy_table
    if ! IN_S[$1]=$(psql_timed "$1" "COPY copy_bench FROM STDIN" "$work/copy.dat" /dev/null "$err"); then
        IN_S[$1]=-
    fi
    n=$(pg -c "SELECT count(*) FROM copy_bench")
    if [ "${IN_S[$1]}" = - ] || [ "$n" -ne "$ROWS" ]; then
        IN_S[$1]=-
        copy_failed+=("COPY FROM STDIN through ${LABEL[$1]}: $n rows loaded, not $ROWS; psql said: $(said "$err")")
        return
    fi
    pg -c "COPY (SELECT * FROM copy_bench ORDER BY id) TO STDOUT" > "$work/copy.out"
    same_as_file "$work/copy.out" "the table loaded through ${LABEL[$1]}"
}
copy_out() {  # TARGET: COPY TO STDOUT through TARGET into /dev/null
    local err="$work/copy-out-$1.err"
    if ! OUT_S[$1]=$(psql_timed "$1" "COPY copy_bench TO STDOUT" /dev/null /dev/null "$err"); then
        OUT_S[$1]=-
        copy_failed+=("COPY TO STDOUT through ${LABEL[$1]}: psql said: $(said "$err")")
    fi
}
copy_check_out() {  # TARGET: the output through TARGET has ROWS lines, the rows loaded?
    local n err="$work/copy-check-$1.err"
    if ! psql_timed "$1" "COPY copy_bench TO STDOUT" /dev/null "$work/copy.out" "$err" > /dev/null; then
        copy_failed+=("COPY TO STDOUT (check) through ${LABEL[$1]}: psql said: $(said "$err")")
        return
    fi
    n=$(wc -l < "$work/copy.out")
    if [ "$n" -ne "$ROWS" ]; then
        copy_failed+=("COPY TO STDOUT through ${LABEL[$1]}: $n lines, not $ROWS")
    else
        same_as_file "$work/copy.out" "COPY TO STDOUT through ${LABEL[$1]} ($n lines)"
    fi
}

pg -c "CREATE TABLE copy_bench (id int primary key, name text, amount numeric(12,2), created timestamp)"
pg -c "COPY (SELECT g, 'name ' || g, (g * 1.5)::numeric(12,2), timestamp '2024-01-01' + g * interval '1 second'
             FROM generate_series(1, $ROWS) g) TO '$work/copy.dat'"

for proto in prepared extended simple; do
    for tgt in "${TARGETS[@]}"; do run_pgbench "$proto" "$tgt"; done
done
for tgt in pgiris pgbouncer-tx postgres; do copy_in "$tgt"; done
for tgt in pgiris pgbouncer-tx postgres; do copy_out "$tgt"; done
copy_check_out pgiris

# --- c) the table --------------------------------------------------------------
out="bench/results/protocol-$(date +%Y%m%d-%H%M%S).txt"
mkdir -p bench/results
{
echo "pgiris protocol benchmark  $(date -u '+%Y-%m-%d %H:%M UTC')  commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "machine: $(nproc) cores, $(uname -r); $(pgbench --version); PgBouncer $BVERSION"
echo "pgbench -S -c $CLIENTS -j 2 -T $T, scale 10; pgiris UseDeclareFetch=${USE_DECLARE_FETCH:-1}"
echo "$bouncer_note"
echo "xacts: transactions pgbench counted; failed: its failed transactions; aborted: clients it"
echo "aborted on an error (their run stops there); errors: error lines it printed"
echo
printf '%-10s %-24s %10s %10s %10s %7s %8s %7s\n' "-M" "target" "tps" "latency ms" "xacts" "failed" "aborted" "errors"
for proto in prepared extended simple; do
    for tgt in "${TARGETS[@]}"; do
        k="$proto $tgt"
        printf '%-10s %-24s %10.0f %10s %10s %7s %8s %7s\n' "$proto" "${LABEL[$tgt]}" \
            "${TPS[$k]/-/0}" "${LAT[$k]}" "${DONE[$k]}" "${FAILED[$k]}" "${ABORTED[$k]}/$CLIENTS" "${ERRORS[$k]}"
    done
done
echo
echo "ratios of tps (- where pgbench aborted a client of either run):"
echo "  -M          pgiris/pgbouncer (transaction)  pgiris/pgbouncer (session)  pgiris/direct"
tps_ratio() {  # PROTOCOL TARGET
    if [ "${ABORTED[$1 pgiris]}" -gt 0 ] || [ "${ABORTED[$1 $2]}" -gt 0 ]; then echo -
    else ratio "${TPS[$1 pgiris]}" "${TPS[$1 $2]}"; fi
}
for proto in prepared extended simple; do
    printf '  %-10s %32s %27s %14s\n' "$proto" "$(tps_ratio "$proto" pgbouncer-tx)" \
        "$(tps_ratio "$proto" pgbouncer-session)" "$(tps_ratio "$proto" postgres)"
done
errs=0
for proto in prepared extended simple; do
    for tgt in "${TARGETS[@]}"; do
        k="$proto $tgt"
        [ -n "${FIRSTERR[$k]}" ] || continue
        [ $errs -gt 0 ] || { echo; echo "errors pgbench printed (first error, first aborted client):"; }
        errs=1
        echo "  -M $proto through ${LABEL[$tgt]}: ${FIRSTERR[$k]}"
        [ -z "${FIRSTABORT[$k]}" ] || [ "${FIRSTABORT[$k]}" = "${FIRSTERR[$k]}" ] ||
            echo "  -M $proto through ${LABEL[$tgt]}: ${FIRSTABORT[$k]}"
    done
done
echo
echo "COPY copy_bench (id int primary key, name text, amount numeric(12,2), created timestamp), $ROWS rows"
printf '%-24s %12s %12s %12s %12s\n' "target" "FROM s" "FROM rows/s" "TO s" "TO rows/s"
declare -A IN_R OUT_R
for tgt in pgiris pgbouncer-tx postgres; do
    IN_R[$tgt]=-; OUT_R[$tgt]=-
    [ "${IN_S[$tgt]}" = - ] || IN_R[$tgt]=$(per_s "$ROWS" "${IN_S[$tgt]}")
    [ "${OUT_S[$tgt]}" = - ] || OUT_R[$tgt]=$(per_s "$ROWS" "${OUT_S[$tgt]}")
    printf '%-24s %12s %12s %12s %12s\n' "${LABEL[$tgt]}" \
        "${IN_S[$tgt]}" "${IN_R[$tgt]}" "${OUT_S[$tgt]}" "${OUT_R[$tgt]}"
done
echo "ratios of rows/s, FROM STDIN: pgiris/direct $(ratio "${IN_R[pgiris]}" "${IN_R[postgres]}")" \
     " pgiris/pgbouncer $(ratio "${IN_R[pgiris]}" "${IN_R[pgbouncer-tx]}")"
echo "ratios of rows/s, TO STDOUT:  pgiris/direct $(ratio "${OUT_R[pgiris]}" "${OUT_R[postgres]}")" \
     " pgiris/pgbouncer $(ratio "${OUT_R[pgiris]}" "${OUT_R[pgbouncer-tx]}")"
for f in "${copy_checks[@]:-}"; do [ -z "$f" ] || echo "checked: $f"; done
for f in "${copy_failed[@]:-}"; do [ -z "$f" ] || echo "FAILED: $f"; done
} | tee "$out"
if [ ${#copy_failed[@]} -gt 0 ]; then
    echo "$0: ${#copy_failed[@]} COPY check(s) FAILED, see above; results in $out" >&2
    exit 1
fi
