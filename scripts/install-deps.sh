#!/bin/sh
# Installs the Debian packages pgiris needs to build, run and test, skipping
# those already present.  Safe to run repeatedly; a no-op once all are there.
set -eu

PKGS="build-essential autoconf automake pkg-config
libevent-dev unixodbc unixodbc-dev libck-dev libinih-dev libcmocka-dev libssl-dev
libsqlite3-dev sqlite3 odbc-postgresql libsqliteodbc
postgresql postgresql-client pgbouncer
python3 python3-pytest python3-psycopg
clang libclang-rt-dev valgrind openssl
python3-psycopg2 default-jre-headless default-jdk-headless libpostgresql-jdbc-java
ruby-pg libdbd-pg-perl golang-go golang-github-jackc-pgx-v4-dev gnuplot-nox
libpq-dev time procps gdb"

# node-postgres comes from npm; Debian's nodejs and npm are installed unless
# some other Node.js (with its own npm) is already on the machine.
if ! command -v npm >/dev/null 2>&1; then
    PKGS="$PKGS nodejs npm"
fi

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
