/*
 * sqlite_floor: the in-process floor for bench/suite.sh's SQLite scenario.
 * The statement pgbench sends through pgiris,
 *
 *     SELECT abalance FROM pgbench_accounts WHERE aid = <random 1..ROWS>
 *
 * run straight on the database file with the sqlite3 library, by THREADS
 * threads (one connection each) for SECONDS seconds:
 *
 *   sqlite_floor DBFILE ROWS SECONDS THREADS prepared   prepare once, bind + step
 *   sqlite_floor DBFILE ROWS SECONDS THREADS each       prepare the text with the
 *                                                       value in it every time
 *                                                       (as the simple protocol does)
 *
 * Prints "lookups N SECONDS PER_SECOND"; exit 1 on an SQLite error or a
 * lookup that finds no row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "floor.h"

static const char *db_path;
static long rows;
static double seconds;
static int each;

static int lookup(sqlite3 *db, sqlite3_stmt *st, long aid)
{
    char sql[128];
    int rc, found = 0;

    if (each) {
        snprintf(sql, sizeof(sql), "SELECT abalance FROM pgbench_accounts WHERE aid = %ld", aid);
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
            return -1;
    } else {
        sqlite3_bind_int64(st, 1, aid);
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        found += sqlite3_column_int(st, 0) >= 0;
    if (each)
        sqlite3_finalize(st);
    else
        sqlite3_reset(st);
    return rc == SQLITE_DONE && found == 1 ? 0 : -1;
}

static void *run(void *arg)
{
    struct floor_thread *t = arg;
    sqlite3 *db;
    sqlite3_stmt *st = NULL;
    double end;

    /* Opened as the ODBC driver opens it (read-write, a busy timeout): the
     * first connections to a WAL database set up its -shm file. */
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        fprintf(stderr, "sqlite_floor: %s: %s\n", db_path, sqlite3_errmsg(db));
        t->failed = 1;
        return NULL;
    }
    sqlite3_busy_timeout(db, 10000);
    if (!each && sqlite3_prepare_v2(db, "SELECT abalance FROM pgbench_accounts WHERE aid = ?",
                                    -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "sqlite_floor: prepare: %s\n", sqlite3_errmsg(db));
        t->failed = 1;
        return NULL;
    }
    end = floor_now() + seconds;
    while (!t->failed) {
        for (int i = 0; i < 256; i++) {
            if (lookup(db, st, floor_next_aid(t, rows)) != 0) {
                fprintf(stderr, "sqlite_floor: lookup failed: %s\n", sqlite3_errmsg(db));
                t->failed = 1;
                break;
            }
            t->lookups++;
        }
        if (floor_now() >= end)
            break;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return NULL;
}

int main(int argc, char **argv)
{
    long long total;
    int n;
    double t0, el;

    if (argc != 6 || (strcmp(argv[5], "prepared") != 0 && strcmp(argv[5], "each") != 0)) {
        fprintf(stderr, "usage: sqlite_floor DBFILE ROWS SECONDS THREADS prepared|each\n");
        return 2;
    }
    db_path = argv[1];
    rows = atol(argv[2]);
    seconds = atof(argv[3]);
    n = atoi(argv[4]);
    each = strcmp(argv[5], "each") == 0;
    if (rows < 1 || n < 1 || seconds <= 0)
        return 2;
    t0 = floor_now();
    total = floor_threads(n, run);
    el = floor_now() - t0;
    if (total < 0)
        return 1;
    printf("lookups %lld %.3f %.0f\n", total, el, total / el);
    return 0;
}
