#!/usr/bin/env bash
# The benchmark suite (`make bench`): pgiris (postgres dialect over psqlODBC),
# pgbouncer (transaction mode) and PostgreSQL itself, all started here on
# loopback, each scenario run against all three in the same run, the targets
# alternating within each of ROUNDS rounds; median and min-max of the rounds.
#
#   1. OLTP reads      pgbench -S -c 16, -M simple/extended/prepared, and the same
#                      lookup inside BEGIN ... END (txread, -M simple): tps, p50/p99;
#                      and the same lookups through psqlODBC alone (bench/odbc_floor.c):
#                      tps, the driver's CPU per lookup
#   2. churn           pgbench -S -C: connections/s, average connection time
#   3. many clients    2,000 clients over a pool of 20 (and 10,000): tps, p99, errors
#   4. idle clients    RSS of every pgiris process and of pgbouncer, 5,000 idle clients
#   5. large results   1,000,000 rows (~100 MB): COPY TO STDOUT and a SELECT read in
#                      single-row mode: MB/s, peak RSS of every process; and the
#                      same rows read through psqlODBC alone, the driver's ceiling
#   6. bulk load       COPY FROM STDIN of the same 1,000,000 rows: rows/s
#   7. embedded        the OLTP read through pgiris to SQLite, next to the same
#                      lookups in-process with the sqlite3 library (the floor)
#   8. translation     build/translate_bench, fewer rounds
#
# Writes bench/results/suite-<date>.txt (the table, also printed), .json
# (machine, versions, commit, every round) and .png (the ratios).  Exits 1
# after writing them when a check failed (errors where there must be none, a
# stall, a result or load that does not add up, a pooler process whose RSS
# rose by more than half a large result while it was read).  bench/README.md
# has the details; the report is made by bench/suite_report.py and
# bench/suite_plot.gp.
#
# Environment (defaults for `make bench`; QUICK=1 for a smoke run of a minute
# or two with small figures):
#   ROUNDS=3 T=5 CHURN_T=4 MANY_CLIENTS=2000 MANY_T=5 MANY_BIG=10000
#   MANY_BIG_T=8 MANY_BIG_ROUNDS=3 IDLE_CLIENTS=5000 IDLE_WARMUP=300
#   ROWS=1000000 BULK_ROUNDS=$ROUNDS SQLITE_T=4 SQLITE_ROWS=100000
#   XLATE_ROUNDS=20 GRACE=30 KEEP_WORK=1 (keep the work directory under /tmp)
#   MANY_BIG=0 skips the 10,000-client run.
. "$(dirname "$0")/lib.sh"

if [ -n "${QUICK:-}" ]; then
    : "${ROUNDS:=2}" "${T:=2}" "${CHURN_T:=2}" "${MANY_CLIENTS:=200}" "${MANY_T:=2}"
    : "${MANY_BIG:=500}" "${MANY_BIG_T:=3}" "${MANY_BIG_ROUNDS:=1}" "${IDLE_CLIENTS:=300}" "${IDLE_WARMUP:=50}"
    : "${ROWS:=50000}" "${SQLITE_T:=2}" "${SQLITE_ROWS:=20000}" "${XLATE_ROUNDS:=2}"
fi
ROUNDS=${ROUNDS:-3}
T=${T:-5}                       # seconds per OLTP pgbench run
CHURN_T=${CHURN_T:-4}
MANY_CLIENTS=${MANY_CLIENTS:-2000}
MANY_T=${MANY_T:-5}
MANY_BIG=${MANY_BIG:-10000}
MANY_BIG_T=${MANY_BIG_T:-8}
MANY_BIG_ROUNDS=${MANY_BIG_ROUNDS:-3}
IDLE_CLIENTS=${IDLE_CLIENTS:-5000}
IDLE_WARMUP=${IDLE_WARMUP:-300}
ROWS=${ROWS:-1000000}
BULK_ROUNDS=${BULK_ROUNDS:-$ROUNDS}
SQLITE_T=${SQLITE_T:-4}
SQLITE_ROWS=${SQLITE_ROWS:-100000}
XLATE_ROUNDS=${XLATE_ROUNDS:-20}
CLIENTS=16
GRACE=${GRACE:-30}              # a pgbench still running T + GRACE (+ connecting) s later is stopped
MAX_CLIENT_CONN=$(( (MANY_BIG > IDLE_CLIENTS + IDLE_WARMUP ? MANY_BIG : IDLE_CLIENTS + IDLE_WARMUP) + 500 ))
[ "$MAX_CLIENT_CONN" -ge 5000 ] || MAX_CLIENT_CONN=5000

started=$EPOCHREALTIME
build_pgiris
make_workdir
mkdir "$work/out" "$work/bin"
raw=$work/raw.tsv meta=$work/meta.tsv
: > "$raw"; : > "$meta"
say() { printf '[%5.0fs] %s\n' "$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN {print b - a}')" "$*" >&2; }
clean() { printf '%s' "$*" | tr '\t\n\r' '   ' | cut -c1-400; }
record() {  # SCENARIO CASE TARGET ROUND KEY VALUE
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$(clean "$6")" >> "$raw"
}
note() { printf '%s\t%s\n' "$1" "$(clean "$2")" >> "$meta"; }   # KEY VALUE
secs_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.3f", b - a}'; }

# --- set-up ------------------------------------------------------------------
say "setting up in $work"
cc -O2 -I"$(pg_config --includedir)" bench/bigread.c -lpq -o "$work/bin/bigread"
cc -O2 bench/sqlite_floor.c -lsqlite3 -lpthread -o "$work/bin/sqlite_floor"
cc -O2 bench/odbc_floor.c -lodbc -lpthread -o "$work/bin/odbc_floor"
[ -x build/translate_bench ] || make -s build/translate_bench || true

PGPORT=$(free_port); BPORT=$(free_port); SPORT=$(free_port); IPORT=$(free_port)
start_postgres "$PGPORT"
pg() { psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres postgres "$@"; }
pgbench_init "$PGPORT"
# ~100 bytes a row in text form, typed columns (the proxy converts each value)
large_bench_init "$PGPORT" "$ROWS"
pg -c "CREATE TABLE load_bench (LIKE large_bench)" -c "VACUUM ANALYZE" -c CHECKPOINT
pg -c "COPY large_bench TO '$work/large.dat'"
LARGE_BYTES=$(stat -c %s "$work/large.dat")

# The SQLite database of scenario 7: pgbench_accounts as pgbench -i makes it
# (aid primary key), WAL as the demo database.  pgiris and the in-process
# floor both run as root: both need to write its -shm file.
sqlite3 "$work/sqlite.db" >/dev/null <<SQL
PRAGMA journal_mode = WAL;
CREATE TABLE pgbench_accounts (aid integer PRIMARY KEY, bid integer NOT NULL,
                               abalance integer NOT NULL, filler char(84));
WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < $SQLITE_ROWS)
INSERT INTO pgbench_accounts SELECT x, (x - 1) / 100000 + 1, 0, printf('%84s', '') FROM g;
SQL
printf '\\set aid random(1, %d)\nSELECT abalance FROM pgbench_accounts WHERE aid = :aid;\n' \
    "$SQLITE_ROWS" > "$work/sqlite_select.sql"

write_userlist
start_pgbouncer pgbouncer "$BPORT" transaction
start_pgbouncer pgbouncer-session "$SPORT" session
PGIRIS_EXTRA_INI="[database sqlite]
dialect = sqlite
odbc = Driver=SQLite3;Database=$work/sqlite.db;StepAPI=1"
start_pgiris "$IPORT"
BOUNCER_PID=$(cat "$work/pgbouncer.pid")
export PGPASSWORD=bench         # pgiris and pgbouncer; PostgreSQL trusts

TARGETS=(pgiris pgbouncer postgres)
declare -A PORT=([pgiris]=$IPORT [pgbouncer]=$BPORT [pgbouncer-session]=$SPORT
                 [postgres]=$PGPORT [pgiris-sqlite]=$IPORT)
user_of() { case $1 in postgres) echo postgres ;; *) echo bench ;; esac; }
db_of() { case $1 in postgres) echo postgres ;; pgiris-sqlite) echo sqlite ;; *) echo bench ;; esac; }
procs_of() {  # TARGET: "LABEL=PID ..." of the processes that are the target
    local p i=0
    case $1 in
        pgiris|pgiris-sqlite)
            echo "pgiris-broker=$IPID"
            for p in $(pgrep -P "$IPID"); do echo "pgiris-worker-$i=$p"; i=$((i + 1)); done ;;
        pgbouncer) echo "pgbouncer=$BOUNCER_PID" ;;
        pgbouncer-session) echo "pgbouncer=$(cat "$work/pgbouncer-session.pid")" ;;
    esac
}
pooler_ticks() {  # TARGET: CPU clock ticks its pooler processes have used so far; nothing for postgres
    local p pids=()
    for p in $(procs_of "$1"); do pids+=("${p#*=}"); done
    [ ${#pids[@]} -eq 0 ] || cpu_ticks "${pids[@]}"
}
pooler_switches() {  # TARGET: context switches of its pooler processes' threads so far; nothing for postgres
    local p pids=()
    for p in $(procs_of "$1"); do pids+=("${p#*=}"); done
    [ ${#pids[@]} -eq 0 ] || proc_switches "${pids[@]}"
}

# --- machine, versions -----------------------------------------------------------
git_commit() {  # read from .git without running git
    local h r
    h=$(cat .git/HEAD 2>/dev/null) || { echo '?'; return; }
    if [ "${h#ref: }" != "$h" ]; then
        r=${h#ref: }
        if [ -f ".git/$r" ]; then h=$(cat ".git/$r")
        else h=$(awk -v r="$r" '$2 == r {print $1}' .git/packed-refs 2>/dev/null); fi
    fi
    echo "${h:0:10}"
}
note date "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
note commit "$(git_commit)"
note pgiris "$("$PGIRIS" -V 2>&1 | head -1)"
note cores "$(nproc)"
note cpu "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
note memory_kb "$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
note kernel "$(uname -sr)"
note os "$( . /etc/os-release 2>/dev/null; echo "${PRETTY_NAME:-?}")"
note loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)"
note postgres "$("$PGBIN/postgres" --version)"
note pgbench "$(pgbench --version)"
note pgbouncer "$(pgbouncer --version | head -1)"
note psqlodbc "$(dpkg-query -W -f='${Version}' odbc-postgresql 2>/dev/null || echo '?')"
note sqliteodbc "$(dpkg-query -W -f='${Version}' libsqliteodbc 2>/dev/null || echo '?')"
note sqlite "$(sqlite3 --version | cut -d' ' -f1)"
note libpq "$(pg_config --version)"
note fd_limit "$(ulimit -n)"
note use_declare_fetch "${USE_DECLARE_FETCH:-1}"
for v in ROUNDS T CHURN_T CLIENTS MANY_CLIENTS MANY_T MANY_BIG MANY_BIG_T MANY_BIG_ROUNDS IDLE_CLIENTS \
         IDLE_WARMUP ROWS BULK_ROUNDS SQLITE_T SQLITE_ROWS XLATE_ROUNDS MAX_CLIENT_CONN; do
    note "param_$v" "${!v}"
done
note large_bytes "$LARGE_BYTES"
note quick "${QUICK:-0}"

# --- pgbench ---------------------------------------------------------------------
# run_pgbench SCENARIO CASE TARGET ROUND SECONDS LOG PGBENCH-ARGS...
# LOG=1 keeps per-transaction logs for exact p50/p99 (removed after).
run_pgbench() {
    local scen=$1 case=$2 tgt=$3 round=$4 secs=$5 log=$6 rc=0 t0 f k v c0 c1 s0 s1 n
    shift 6
    f="$work/out/$scen-$case-$tgt-$round"
    local logargs=()
    [ "$log" = 1 ] && logargs=(-l "--log-prefix=$f.log")
    c0=$(pooler_ticks "$tgt") s0=$(pooler_switches "$tgt")
    t0=$EPOCHREALTIME
    timeout -s INT "$((secs + GRACE))" pgbench -n -P 1 -T "$secs" "${logargs[@]}" "$@" \
        -h 127.0.0.1 -p "${PORT[$tgt]}" -U "$(user_of "$tgt")" "$(db_of "$tgt")" > "$f.out" 2>&1 || rc=$?
    record "$scen" "$case" "$tgt" "$round" wall_s "$(secs_since "$t0")"
    record "$scen" "$case" "$tgt" "$round" exit "$rc"
    # The pooler's CPU per transaction moves much less with the machine's load than tps.
    c1=$(pooler_ticks "$tgt") s1=$(pooler_switches "$tgt")
    n=$(awk '/^number of transactions actually processed/ {print $6}' "$f.out")
    [ -z "$c0" ] || [ -z "$n" ] || [ "$n" -eq 0 ] || record "$scen" "$case" "$tgt" "$round" cpu_us_per_tx \
        "$(awk -v a="$c0" -v b="$c1" -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", (b - a) / hz * 1e6 / n}')"
    # Its threads' context switches: the hand-offs between processes and threads, counted.
    [ -z "$s0" ] || [ -z "$n" ] || [ "$n" -eq 0 ] || record "$scen" "$case" "$tgt" "$round" switches_per_tx \
        "$(awk -v a="$s0" -v b="$s1" -v n="$n" 'BEGIN {printf "%.2f", (b - a) / n}')"
    [ $rc -ne 124 ] || record "$scen" "$case" "$tgt" "$round" first_error \
        "pgbench stopped: still running $((secs + GRACE)) s after its start"
    while read -r k v; do
        [ -z "$v" ] || record "$scen" "$case" "$tgt" "$round" "$k" "$v"
    done < <(awk '
        /^tps = /                                   {print "tps", $3}
        /^latency average = /                       {print "lat_avg_ms", $4}
        /^average connection time = /               {print "conn_ms", $5}
        /^initial connection time = /               {print "init_conn_ms", $5; init = $5}
        /^number of transactions actually processed/ {print "xacts", $6}
        /^number of failed transactions/            {print "failed", $5}
        /client [0-9]+ .*aborted/                   {ab++}
        /ERROR|FATAL|error:/                        {er++}
        /^progress: .* 0\.0 tps/                    {zt[++nz] = $2}
        # The seconds spent connecting (10,000 clients take about two) are not a stall.
        END {for (i = 1; i <= nz; i++) if (init == 0 || zt[i] > init / 1000 + 1) st++
             print "aborted", ab + 0; print "error_lines", er + 0; print "zero_tps_s", st + 0}' "$f.out")
    v=$(grep -m1 -E 'ERROR|FATAL|error:' "$f.out" || true)
    [ -z "$v" ] || record "$scen" "$case" "$tgt" "$round" first_error "$v"
    if [ "$log" = 1 ]; then
        # column 3: the transaction's latency in microseconds ("failed"/"skipped" otherwise)
        cat "$f".log.* 2>/dev/null | awk '$3 ~ /^[0-9]+$/ {print $3}' | sort -n |
            awk '{v[NR] = $1} END {
                if (NR == 0) exit
                i50 = int(NR * 0.50); i99 = int(NR * 0.99); if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1
                printf "p50_ms %.3f\np99_ms %.3f\nlogged %d\n", v[i50] / 1000, v[i99] / 1000, NR}' |
            while read -r k v; do record "$scen" "$case" "$tgt" "$round" "$k" "$v"; done
        rm -f "$f".log.*
    fi
    return 0
}

# --- 4. idle clients (first: later scenarios would leave freed memory behind) -------
scenario_idle() {
    local tgt pids p lab out
    say "4. idle clients: $IDLE_CLIENTS (after $IDLE_WARMUP to warm up)"
    for tgt in pgiris pgbouncer; do
        pids=()
        for p in $(procs_of "$tgt"); do pids+=("${p#*=}"); done
        out=$(/usr/bin/python3 bench/idle_rss.py 127.0.0.1 "${PORT[$tgt]}" bench bench bench \
              "$IDLE_WARMUP" "$IDLE_CLIENTS" "${pids[@]}" 2> "$work/out/idle-$tgt.err") ||
            out="{\"error\": \"$(clean "$(tail -3 "$work/out/idle-$tgt.err")" | tr -d '"\\')\"}"
        # the labels of the processes, in the order of the pids
        lab=$(procs_of "$tgt" | cut -d= -f1 | paste -sd,)
        record idle "$IDLE_CLIENTS" "$tgt" 1 labels "$lab"
        record idle "$IDLE_CLIENTS" "$tgt" 1 detail "$out"
    done
    record idle "$IDLE_CLIENTS" postgres 1 skipped "a backend process per client: 5,000 is what a pooler is for"
}

# --- 1. OLTP reads ---------------------------------------------------------------
scenario_oltp() {
    local proto r tgt tg how
    write_txread_script "$work/txread.sql"
    for proto in simple extended prepared txread; do
        say "1. OLTP reads -M $proto"
        tg=("${TARGETS[@]}")
        # pgbouncer < 1.21 cannot keep protocol-level prepared statements in
        # transaction mode: run it anyway (errors recorded) and in session mode.
        [ "$proto" = prepared ] && tg=(pgiris pgbouncer pgbouncer-session postgres)
        how=(-S -M "$proto")
        [ "$proto" = txread ] && how=(-M simple -f "$work/txread.sql")
        for ((r = 1; r <= ROUNDS; r++)); do
            for tgt in "${tg[@]}"; do
                run_pgbench oltp "$proto" "$tgt" "$r" "$T" 1 "${how[@]}" -c "$CLIENTS" -j 2
            done
            [ "$proto" != prepared ] || oltp_floor "$r"
        done
    done
}
# The same lookups through psqlODBC alone, prepared once, with the cursor off
# as pgiris runs a small result's shape: what the driver costs without a pooler.
oltp_floor() {  # ROUND
    local out
    if out=$("$work/bin/odbc_floor" "$(psqlodbc_conn 0)" oltp 1000000 "$T" "$CLIENTS" 2>&1); then
        record oltp floor psqlodbc "$1" tps "$(awk '{print $4}' <<<"$out")"
        record oltp floor psqlodbc "$1" cpu_us_per_tx "$(awk '{print $5}' <<<"$out")"
    else
        record oltp floor psqlodbc "$1" first_error "$out"
    fi
    # Whether the driver can run a statement without blocking its thread (why executors are threads)
    [ "$1" -ne 1 ] || note psqlodbc_async "$("$work/bin/odbc_floor" "$(psqlodbc_conn 0)" async 2>&1 | tail -1)"
}

# --- 2. connection churn ---------------------------------------------------------
scenario_churn() {
    local r tgt
    say "2. connection churn (-C)"
    for ((r = 1; r <= ROUNDS; r++)); do
        for tgt in "${TARGETS[@]}"; do
            run_pgbench churn C "$tgt" "$r" "$CHURN_T" 0 -S -C -c "$CLIENTS" -j 2
        done
    done
}

# --- 3. many clients -------------------------------------------------------------
scenario_many() {
    local r tgt n rounds secs need
    for n in "$MANY_CLIENTS" "$MANY_BIG"; do
        [ "$n" -gt 0 ] || continue
        rounds=$ROUNDS secs=$MANY_T
        [ "$n" = "$MANY_CLIENTS" ] || { rounds=$MANY_BIG_ROUNDS; secs=$MANY_BIG_T; }
        need=$((n + 100))       # pgbench holds every client's socket, plus its logs
        if [ "$(ulimit -n)" -lt "$need" ]; then
            record many "$n" all 1 skipped "descriptor limit $(ulimit -n) < $need (hard limit $(ulimit -Hn))"
            say "3. many clients: $n skipped: descriptor limit $(ulimit -n)"
            continue
        fi
        say "3. many clients: $n over a pool of 20, $rounds round(s)"
        record many "$n" postgres 1 skipped "max_connections = 300: a backend process per client is what a pooler avoids"
        for ((r = 1; r <= rounds; r++)); do
            for tgt in pgiris pgbouncer; do
                # connecting takes a while: allow for it in the stop-after time
                GRACE=$((GRACE + n / 100)) run_pgbench many "$n" "$tgt" "$r" "$secs" 1 -S -c "$n" -j 2
            done
        done
    done
}

# --- 5. large results --------------------------------------------------------------
large_read() {  # MODE TARGET ROUND
    local mode=$1 tgt=$2 r=$3 sql all=() p lab out err rc=0 bytes rows secs
    sql="SELECT * FROM large_bench"
    [ "$mode" = copy ] && sql="COPY large_bench TO STDOUT"
    for p in $(procs_of "$tgt"); do all+=("${p#*=}"); done
    for p in $(procs_of "$tgt"); do
        record large "$mode" "$tgt" "$r" "base_kb:${p%%=*}" "$(rss_kb "${p#*=}")"
    done
    reset_hwm "${all[@]}"
    err="$work/out/large-$mode-$tgt-$r.err"
    # the reader's own peak RSS (GNU time's %M) shows it keeps nothing
    out=$(timeout 600 /usr/bin/time -f %M -o "$work/out/large.maxrss" "$work/bin/bigread" \
          "host=127.0.0.1 port=${PORT[$tgt]} user=$(user_of "$tgt") dbname=$(db_of "$tgt")" \
          "$mode" "$sql" 2> "$err") || rc=$?
    for p in $(procs_of "$tgt"); do
        record large "$mode" "$tgt" "$r" "peak_kb:${p%%=*}" "$(hwm_kb "${p#*=}")"
    done
    record large "$mode" "$tgt" "$r" "peak_kb:client" "$(tail -1 "$work/out/large.maxrss" 2>/dev/null)"
    if [ $rc -ne 0 ]; then
        record large "$mode" "$tgt" "$r" first_error "exit $rc: $(cat "$err")"
        return 0
    fi
    read -r _ bytes rows secs <<<"$out"
    record large "$mode" "$tgt" "$r" bytes "$bytes"
    record large "$mode" "$tgt" "$r" rows "$rows"
    record large "$mode" "$tgt" "$r" seconds "$secs"
    record large "$mode" "$tgt" "$r" mb_s "$(awk -v b="$bytes" -v s="$secs" 'BEGIN {printf "%.2f", b / 1e6 / s}')"
}
scenario_large() {
    local mode r tgt
    for mode in copy select; do
        say "5. large results: $mode, $ROWS rows"
        for ((r = 1; r <= ROUNDS; r++)); do
            for tgt in "${TARGETS[@]}"; do large_read "$mode" "$tgt" "$r"; done
            large_floor "$mode" "$r"
        done
    done
}
# The same rows read through psqlODBC alone, in one process, as pgiris reads
# a long result (the cursor on, rowsets of 64 rows into bound buffers): the
# most any route through the driver delivers.  pgiris runs COPY TO as this
# SELECT.
large_floor() {  # MODE ROUND
    local out err="$work/out/large-floor.err" rc=0 bytes rows secs cpu
    out=$(timeout 600 /usr/bin/time -f %M -o "$work/out/large.maxrss" "$work/bin/odbc_floor" \
          "$(psqlodbc_conn 1)" read "SELECT * FROM large_bench" 2> "$err") || rc=$?
    record large "$1" psqlodbc "$2" "peak_kb:client" "$(tail -1 "$work/out/large.maxrss" 2>/dev/null)"
    if [ $rc -ne 0 ]; then
        record large "$1" psqlodbc "$2" first_error "exit $rc: $(cat "$err")"
        return 0
    fi
    read -r _ bytes rows secs cpu <<<"$out"
    record large "$1" psqlodbc "$2" bytes "$bytes"
    record large "$1" psqlodbc "$2" rows "$rows"
    record large "$1" psqlodbc "$2" seconds "$secs"
    record large "$1" psqlodbc "$2" cpu_s "$cpu"
    record large "$1" psqlodbc "$2" mb_s "$(awk -v b="$bytes" -v s="$secs" 'BEGIN {printf "%.2f", b / 1e6 / s}')"
}

# --- 6. bulk load --------------------------------------------------------------------
scenario_bulk() {
    local r tgt t0 rc n secs err
    say "6. bulk load: COPY FROM STDIN, $ROWS rows, $BULK_ROUNDS round(s)"
    for ((r = 1; r <= BULK_ROUNDS; r++)); do
        for tgt in "${TARGETS[@]}"; do
            pg -c "TRUNCATE load_bench" -c CHECKPOINT
            err="$work/out/bulk-$tgt-$r.err" rc=0
            t0=$EPOCHREALTIME
            timeout 600 psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${PORT[$tgt]}" \
                -U "$(user_of "$tgt")" "$(db_of "$tgt")" -c "COPY load_bench FROM STDIN" \
                < "$work/large.dat" > /dev/null 2> "$err" || rc=$?
            secs=$(secs_since "$t0")
            n=$(pg -c "SELECT count(*) FROM load_bench" 2>/dev/null || echo 0)
            record bulk copy_from "$tgt" "$r" seconds "$secs"
            record bulk copy_from "$tgt" "$r" loaded "$n"
            if [ $rc -ne 0 ]; then
                record bulk copy_from "$tgt" "$r" first_error "exit $rc: $(cat "$err")"
            elif [ "$n" -eq "$ROWS" ]; then
                record bulk copy_from "$tgt" "$r" rows_s "$(awk -v n="$n" -v s="$secs" 'BEGIN {printf "%.0f", n / s}')"
            fi
        done
    done
    pg -c "TRUNCATE load_bench"
}

# --- 7. the embedded default: SQLite ------------------------------------------------
scenario_sqlite() {
    local proto r mode out
    for proto in simple extended prepared; do
        say "7. SQLite through pgiris -M $proto"
        for ((r = 1; r <= ROUNDS; r++)); do
            run_pgbench sqlite "$proto" pgiris-sqlite "$r" "$SQLITE_T" 1 \
                -f "$work/sqlite_select.sql" -M "$proto" -c "$CLIENTS" -j 2
        done
    done
    say "7. SQLite in-process (the floor)"
    for ((r = 1; r <= ROUNDS; r++)); do
        for mode in prepared each; do
            if out=$("$work/bin/sqlite_floor" "$work/sqlite.db" "$SQLITE_ROWS" \
                     "$SQLITE_T" "$(nproc)" "$mode" 2>&1); then
                record sqlite floor "inproc-$mode" "$r" tps "$(awk '{print $4}' <<<"$out")"
            else
                record sqlite floor "inproc-$mode" "$r" first_error "$out"
            fi
        done
    done
}

# --- 8. SQL translation ----------------------------------------------------------
scenario_translate() {  # its output lines are recorded as they are; suite_report.py reads them
    local line i=0
    say "8. SQL translation (translate_bench --rounds $XLATE_ROUNDS)"
    if [ ! -x build/translate_bench ]; then
        record translate all translator 1 skipped "build/translate_bench missing (make bench-translate)"
        return 0
    fi
    build/translate_bench --rounds "$XLATE_ROUNDS" > "$work/out/translate.out" 2>&1 ||
        record translate all translator 1 first_error "translate_bench: exit $?"
    while IFS= read -r line; do
        i=$((i + 1))
        record translate output translator "$i" line "$line"
    done < "$work/out/translate.out"
}

scenario_idle
scenario_oltp
scenario_churn
scenario_many
scenario_large
scenario_bulk
scenario_sqlite
scenario_translate

note loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)"
note duration_s "$(secs_since "$started")"
stamp=$(date +%Y%m%d-%H%M%S)
mkdir -p bench/results
say "writing bench/results/suite-$stamp.{txt,json,png}"
rc=0
/usr/bin/python3 bench/suite_report.py "$raw" "$meta" "bench/results/suite-$stamp" "$work" || rc=$?
[ -z "${KEEP_WORK:-}" ] || cp "$raw" "$meta" "$work/out/" 2>/dev/null || true
exit $rc
