#!/usr/bin/env bash
# pool_stall.sh: checks that the 0-tps stall with many clients over a pool of 2
# stays gone (its cause, a lost result wake-up, is in bench/README.md): pgbench -S -c 16 through pgiris with pool_size 2, N runs;
# when a run does not end, prints SHOW POOLS/SERVERS/CLIENTS and every
# pgiris thread's stack (gdb), then stops.   bench/pool_stall.sh [RUNS]
. "$(dirname "$0")/lib.sh"
set +e
make_workdir
PGPORT=$(free_port); IPORT=$(free_port)
start_postgres "$PGPORT"
pgbench_init "$PGPORT"
write_userlist
printf '"admin" "admin"\n' >> "$work/userlist.txt"
start_pgiris "$IPORT"
sed -i 's/^default_pool_size = .*/default_pool_size = 2/; s/^min_pool_size = .*/min_pool_size = 2/' "$work/pgiris.ini"
sed -i 's/^\[pgiris\]/[pgiris]\nadmin_users = admin,bench/' "$work/pgiris.ini"
kill -HUP "$IPID"; sleep 1
for i in $(seq 1 "${1:-45}"); do
  PGPASSWORD=bench pgbench -n -S -M simple -c 16 -j 2 -T 3 -P 1 -h 127.0.0.1 -p "$IPORT" -U bench bench > "$work/pgb.$i" 2>&1 &
  PB=$!
  for w in $(seq 1 16); do kill -0 $PB 2>/dev/null || break; sleep 0.5; done
  if kill -0 $PB 2>/dev/null; then
    echo "STALL at run $i"
    PGPASSWORD=bench psql -X -h 127.0.0.1 -p "$IPORT" -U bench pgiris -c "show pools" -c "show servers" -c "show clients" 2>&1 | cut -c1-200 | head -60
    for p in $IPID $(pgrep -P $IPID); do echo "== $p"; gdb -p $p -batch -ex "thread apply all bt 6" 2>/dev/null | grep -E "^#|^Thread" | head -60; done
    kill $PB
    break
  fi
  echo "run $i: $(grep ^tps "$work/pgb.$i")"
done
