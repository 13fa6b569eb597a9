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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

static const char *db_path;
static long rows;
static double seconds;
static int each;

struct thread {
    pthread_t tid;
    unsigned long long lookups;
    unsigned long long rng;
    int failed;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long next_aid(struct thread *t)
{
    t->rng ^= t->rng << 13;   /* xorshift64 */
    t->rng ^= t->rng >> 7;
    t->rng ^= t->rng << 17;
    return (long)(t->rng % (unsigned long long)rows) + 1;
}

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
    struct thread *t = arg;
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
    end = now_s() + seconds;
    while (!t->failed) {
        for (int i = 0; i < 256; i++) {
            if (lookup(db, st, next_aid(t)) != 0) {
                fprintf(stderr, "sqlite_floor: lookup failed: %s\n", sqlite3_errmsg(db));
                t->failed = 1;
                break;
            }
            t->lookups++;
        }
        if (now_s() >= end)
            break;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return NULL;
}

int main(int argc, char **argv)
{
    unsigned long long total = 0;
    struct thread *t;
    int n, failed = 0;
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
    t = calloc(n, sizeof(*t));
    t0 = now_s();
    for (int i = 0; i < n; i++) {
        t[i].rng = 0x9E3779B97F4A7C15ull * (i + 1);
        pthread_create(&t[i].tid, NULL, run, &t[i]);
    }
    for (int i = 0; i < n; i++) {
        pthread_join(t[i].tid, NULL);
        total += t[i].lookups;
        failed |= t[i].failed;
    }
    el = now_s() - t0;
    if (failed)
        return 1;
    printf("lookups %llu %.3f %.0f\n", total, el, total / el);
    return 0;
}
