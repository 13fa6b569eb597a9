/*
 * odbc_floor: what psqlODBC alone can do, in one process, with no pooler and
 * no client socket in between: the ceiling for any route to the backend
 * through the driver, measured by bench/suite.sh beside pgiris.
 *
 *   odbc_floor CONNSTR read SQL
 *       run SQL and read every row the fastest way pgiris knows, as its
 *       executor reads a long result: 64 rows a fetch into bound character
 *       buffers, a value longer than its buffer read again whole.  Prints
 *       "rows BYTES ROWS SECONDS CPU_SECONDS", BYTES counted as
 *       bench/bigread.c counts a single-row-mode SELECT (each value and a
 *       separator, the length of the COPY text of rows without NULLs).
 *
 *   odbc_floor CONNSTR oltp ROWS SECONDS THREADS
 *       pgbench -S's lookup, SELECT abalance FROM pgbench_accounts WHERE
 *       aid = ? (random aid in 1..ROWS), prepared once per thread and run
 *       with SQLExecute, SQLFetch, SQLGetData and SQLCloseCursor, by THREADS
 *       threads (a connection each) for SECONDS seconds.  Prints
 *       "lookups N SECONDS PER_SECOND CPU_US_PER_LOOKUP", the CPU being this
 *       process's (user + system).
 *
 *   odbc_floor CONNSTR async
 *       whether the driver can run a statement without blocking its thread:
 *       its SQL_ASYNC_MODE, whether SQL_ATTR_ASYNC_ENABLE set on a statement
 *       reads back on, and what SQLExecDirect of SELECT pg_sleep(0.2) first
 *       returned with it set, and after how long.  Prints "async MODE
 *       ENABLED FIRST SECONDS" (MODE none, connection or statement; ENABLED
 *       on or off; FIRST still_executing or the return code, 0 for
 *       SQL_SUCCESS).  A driver that blocks needs a thread per connection
 *       with a statement running, which is how pgiris's executors are built.
 *
 * Exit 1 with the driver's diagnostic on stderr when a call fails or a
 * lookup finds no row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <sql.h>
#include <sqlext.h>

#include "floor.h"

static SQLHENV env;
static const char *conn_str;
static long rows;
static double seconds;

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int diag(SQLSMALLINT type, SQLHANDLE h, const char *what)
{
    SQLCHAR state[6], msg[512];
    SQLINTEGER native;
    SQLSMALLINT len;

    if (SQL_SUCCEEDED(SQLGetDiagRec(type, h, 1, state, &native, msg, sizeof(msg), &len)))
        fprintf(stderr, "odbc_floor: %s: %s %s\n", what, state, msg);
    else
        fprintf(stderr, "odbc_floor: %s failed\n", what);
    return -1;
}

static int connect_to(SQLHDBC *dbc)
{
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_DBC, env, dbc)))
        return diag(SQL_HANDLE_ENV, env, "SQLAllocHandle");
    if (!SQL_SUCCEEDED(SQLDriverConnect(*dbc, NULL, (SQLCHAR *)conn_str, SQL_NTS, NULL, 0, NULL,
                                        SQL_DRIVER_NOPROMPT)))
        return diag(SQL_HANDLE_DBC, *dbc, "SQLDriverConnect");
    return 0;
}

/* A value longer than its binding, read whole with SQLGetData on its row: its length. */
static long long read_long(SQLHSTMT st, SQLULEN row, SQLSMALLINT col)
{
    static char buf[65536];
    long long bytes = 0;
    SQLRETURN rc;
    SQLLEN ind;

    if (!SQL_SUCCEEDED(SQLSetPos(st, (SQLSETPOSIROW)(row + 1), SQL_POSITION, SQL_LOCK_NO_CHANGE)))
        return diag(SQL_HANDLE_STMT, st, "SQLSetPos");
    do {
        rc = SQLGetData(st, (SQLUSMALLINT)col, SQL_C_CHAR, buf, sizeof(buf), &ind);
        if (!SQL_SUCCEEDED(rc) && rc != SQL_NO_DATA)
            return diag(SQL_HANDLE_STMT, st, "SQLGetData");
        if (rc != SQL_NO_DATA && ind != SQL_NULL_DATA)
            bytes += ind == SQL_NO_TOTAL || ind >= (SQLLEN)sizeof(buf) ? (SQLLEN)sizeof(buf) - 1 : ind;
    } while (rc == SQL_SUCCESS_WITH_INFO);
    return bytes;
}

/*
 * The fastest way through the driver that pgiris knows: ROWSET rows a
 * fetch, every column bound as character data as wide as its described
 * size within 32..1024 bytes (broker/odbc.c reads long results so).
 */
enum { ROWSET = 64, BIND_MIN = 32, BIND_MAX = 1024, MAX_COLS = 256 };

static int read_all(const char *sql)
{
    static char buf[MAX_COLS][ROWSET * BIND_MAX];
    static SQLLEN ind[MAX_COLS][ROWSET];
    SQLULEN width[MAX_COLS], size, fetched = 0, r;
    long long bytes = 0, n = 0, len;
    SQLSMALLINT cols, i, type, digits, nullable, namelen;
    SQLCHAR name[256];
    SQLHDBC dbc;
    SQLHSTMT st;
    SQLRETURN rc;
    double t0, c0;

    if (connect_to(&dbc) < 0 || !SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, dbc, &st)))
        return -1;
    t0 = floor_now();
    c0 = cpu_s();
    if (!SQL_SUCCEEDED(SQLExecDirect(st, (SQLCHAR *)sql, SQL_NTS)))
        return diag(SQL_HANDLE_STMT, st, "SQLExecDirect");
    if (!SQL_SUCCEEDED(SQLNumResultCols(st, &cols)) || cols < 1 || cols > MAX_COLS)
        return diag(SQL_HANDLE_STMT, st, "SQLNumResultCols");
    SQLSetStmtAttr(st, SQL_ATTR_ROW_ARRAY_SIZE, (SQLPOINTER)(SQLULEN)ROWSET, 0);
    SQLSetStmtAttr(st, SQL_ATTR_ROWS_FETCHED_PTR, &fetched, 0);
    for (i = 0; i < cols; i++) {
        if (!SQL_SUCCEEDED(SQLDescribeCol(st, (SQLUSMALLINT)(i + 1), name, sizeof(name), &namelen, &type,
                                          &size, &digits, &nullable)))
            return diag(SQL_HANDLE_STMT, st, "SQLDescribeCol");
        width[i] = size == 0 || size >= BIND_MAX ? BIND_MAX : size + 1 < BIND_MIN ? BIND_MIN : size + 1;
        if (!SQL_SUCCEEDED(SQLBindCol(st, (SQLUSMALLINT)(i + 1), SQL_C_CHAR, buf[i], (SQLLEN)width[i], ind[i])))
            return diag(SQL_HANDLE_STMT, st, "SQLBindCol");
    }
    while (SQL_SUCCEEDED(rc = SQLFetch(st)) && fetched > 0) {
        for (r = 0; r < fetched; r++) {
            for (i = 0; i < cols; i++) {
                if (ind[i][r] >= 0 && (SQLULEN)ind[i][r] < width[i])
                    bytes += ind[i][r];
                else if (ind[i][r] != SQL_NULL_DATA && (len = read_long(st, r, (SQLSMALLINT)(i + 1))) >= 0)
                    bytes += len;
                else if (ind[i][r] != SQL_NULL_DATA)
                    return -1;
                bytes++;
            }
            n++;
        }
    }
    if (rc != SQL_NO_DATA && SQL_SUCCEEDED(rc) == 0)
        return diag(SQL_HANDLE_STMT, st, "SQLFetch");
    printf("rows %lld %lld %.3f %.3f\n", bytes, n, floor_now() - t0, cpu_s() - c0);
    SQLFreeHandle(SQL_HANDLE_STMT, st);
    SQLDisconnect(dbc);
    SQLFreeHandle(SQL_HANDLE_DBC, dbc);
    return 0;
}

static void *lookups(void *arg)
{
    static const char sql[] = "SELECT abalance FROM pgbench_accounts WHERE aid = ?";
    struct floor_thread *t = arg;
    SQLINTEGER aid, abalance;
    SQLLEN aid_ind = 0, ind;
    SQLHDBC dbc;
    SQLHSTMT st;
    double end;

    t->failed = 1;
    if (connect_to(&dbc) < 0 || !SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, dbc, &st)))
        return NULL;
    if (!SQL_SUCCEEDED(SQLPrepare(st, (SQLCHAR *)sql, SQL_NTS))) {
        diag(SQL_HANDLE_STMT, st, "SQLPrepare");
        return NULL;
    }
    if (!SQL_SUCCEEDED(SQLBindParameter(st, 1, SQL_PARAM_INPUT, SQL_C_SLONG, SQL_INTEGER, 0, 0, &aid, 0,
                                        &aid_ind))) {
        diag(SQL_HANDLE_STMT, st, "SQLBindParameter");
        return NULL;
    }
    end = floor_now() + seconds;
    while (floor_now() < end) {
        aid = (SQLINTEGER)floor_next_aid(t, rows);
        if (!SQL_SUCCEEDED(SQLExecute(st))) {
            diag(SQL_HANDLE_STMT, st, "SQLExecute");
            return NULL;
        }
        if (!SQL_SUCCEEDED(SQLFetch(st))) {
            fprintf(stderr, "odbc_floor: no row for aid %d\n", (int)aid);
            return NULL;
        }
        if (!SQL_SUCCEEDED(SQLGetData(st, 1, SQL_C_SLONG, &abalance, 0, &ind))) {
            diag(SQL_HANDLE_STMT, st, "SQLGetData");
            return NULL;
        }
        SQLCloseCursor(st);
        t->lookups++;
    }
    SQLFreeHandle(SQL_HANDLE_STMT, st);
    SQLDisconnect(dbc);
    SQLFreeHandle(SQL_HANDLE_DBC, dbc);
    t->failed = 0;
    return NULL;
}

static int oltp(int nthreads)
{
    double t0 = floor_now(), c0 = cpu_s(), wall, cpu;
    long long total = floor_threads(nthreads, lookups);

    wall = floor_now() - t0;
    cpu = cpu_s() - c0;
    if (total <= 0)
        return -1;
    printf("lookups %lld %.3f %.0f %.2f\n", total, wall, total / wall, cpu * 1e6 / total);
    return 0;
}

static int async_probe(void)
{
    static const char *modes[] = {"none", "connection", "statement"};
    SQLCHAR *sql = (SQLCHAR *)"SELECT pg_sleep(0.2)";
    SQLHDBC dbc;
    SQLHSTMT st;
    SQLUINTEGER mode = SQL_AM_NONE;
    SQLULEN enabled = SQL_ASYNC_ENABLE_OFF;
    char first[32];

    if (connect_to(&dbc) < 0)
        return -1;
    if (!SQL_SUCCEEDED(SQLGetInfo(dbc, SQL_ASYNC_MODE, &mode, sizeof(mode), NULL)))
        return diag(SQL_HANDLE_DBC, dbc, "SQLGetInfo(SQL_ASYNC_MODE)");
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, dbc, &st)))
        return diag(SQL_HANDLE_DBC, dbc, "SQLAllocHandle");
    /* A driver may accept the attribute and keep it off: what counts is what reads back. */
    SQLSetStmtAttr(st, SQL_ATTR_ASYNC_ENABLE, (SQLPOINTER)SQL_ASYNC_ENABLE_ON, 0);
    SQLGetStmtAttr(st, SQL_ATTR_ASYNC_ENABLE, &enabled, 0, NULL);
    double t0 = floor_now();
    SQLRETURN rc = SQLExecDirect(st, sql, SQL_NTS);
    double wall = floor_now() - t0;
    if (rc == SQL_STILL_EXECUTING)
        snprintf(first, sizeof(first), "still_executing");
    else
        snprintf(first, sizeof(first), "%d", (int)rc);
    /* Polling is calling the function again with the same arguments until it stops saying so. */
    while (rc == SQL_STILL_EXECUTING)
        rc = SQLExecDirect(st, sql, SQL_NTS);
    if (!SQL_SUCCEEDED(rc))
        return diag(SQL_HANDLE_STMT, st, "SQLExecDirect");
    printf("async %s %s %s %.3f\n", mode < 3 ? modes[mode] : "unknown",
           enabled == SQL_ASYNC_ENABLE_ON ? "on" : "off", first, wall);
    SQLFreeHandle(SQL_HANDLE_STMT, st);
    SQLDisconnect(dbc);
    SQLFreeHandle(SQL_HANDLE_DBC, dbc);
    return 0;
}

int main(int argc, char **argv)
{
    int read_mode = argc == 4 && strcmp(argv[2], "read") == 0;
    int oltp_mode = argc == 6 && strcmp(argv[2], "oltp") == 0;
    int async_mode = argc == 3 && strcmp(argv[2], "async") == 0;
    int rc;

    if (!read_mode && !oltp_mode && !async_mode) {
        fprintf(stderr, "usage: odbc_floor CONNSTR read SQL\n"
                        "       odbc_floor CONNSTR oltp ROWS SECONDS THREADS\n"
                        "       odbc_floor CONNSTR async\n");
        return 2;
    }
    conn_str = argv[1];
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &env)) ||
        !SQL_SUCCEEDED(SQLSetEnvAttr(env, SQL_ATTR_ODBC_VERSION, (SQLPOINTER)SQL_OV_ODBC3, 0))) {
        fprintf(stderr, "odbc_floor: no ODBC environment\n");
        return 1;
    }
    if (async_mode) {
        rc = async_probe();
    } else if (read_mode) {
        rc = read_all(argv[3]);
    } else {
        rows = atol(argv[3]);
        seconds = atof(argv[4]);
        rc = rows > 0 && seconds > 0 && atoi(argv[5]) > 0 ? oltp(atoi(argv[5])) : -1;
    }
    return rc < 0 ? 1 : 0;
}
