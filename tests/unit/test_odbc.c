/*
 * Tests for broker/odbc.c against real drivers: SQLite through Debian's
 * SQLite ODBC driver always, and PostgreSQL through psqlODBC when
 * PGIRIS_TEST_PG_CONNSTR names a server (those tests skip otherwise).
 * What odbc_exec sends is captured by a sink and parsed back with the
 * pgproto reader, so every check is on the bytes a client would get.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker/odbc.h"
#include "common/pgproto.h"

/* A sink that keeps everything it accepts and can refuse after n writes. */
struct capture {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t writes;
    size_t max_write;
    size_t refuse_after;    /* 0: never refuse */
    size_t refused;
};

static int capture_write(void *arg, const void *p, size_t n)
{
    struct capture *k = arg;

    if (k->refuse_after != 0 && k->writes >= k->refuse_after) {
        k->refused++;
        return -1;
    }
    k->writes++;
    if (n > k->max_write)
        k->max_write = n;
    if (k->len + n > k->cap) {
        size_t cap = k->cap ? k->cap : 4096;

        while (cap < k->len + n)
            cap *= 2;
        k->data = realloc(k->data, cap);
        assert_non_null(k->data);
        k->cap = cap;
    }
    memcpy(k->data + k->len, p, n);
    k->len += n;
    return 0;
}

static void capture_reset(struct capture *k)
{
    free(k->data);
    memset(k, 0, sizeof(*k));
}

struct pgmsg {
    char type;
    const uint8_t *body;
    size_t len;
};

#define MAX_MSGS 64

/* Split the captured bytes into messages; the framing must be exact. */
static size_t capture_messages(const struct capture *k, struct pgmsg *out, size_t max)
{
    size_t pos = 0, n = 0;

    while (pos < k->len) {
        uint32_t len;

        assert_true(k->len - pos >= 5);
        len = pgproto_load_u32(k->data + pos + 1);
        assert_true(len >= 4 && k->len - pos - 1 >= len);
        if (n < max) {
            out[n].type = (char)k->data[pos];
            out[n].body = k->data + pos + 5;
            out[n].len = len - 4;
        }
        n++;
        pos += 1 + len;
    }
    return n;
}

/* The value of field 'code' of an ErrorResponse or NoticeResponse, or NULL. */
static const char *msg_field(const struct pgmsg *m, char code)
{
    struct pgproto_reader r;
    uint8_t c;
    const char *s;

    pgproto_reader_init(&r, m->body, m->len);
    while (pgproto_get_u8(&r, &c) == 0 && c != 0) {
        assert_int_equal(pgproto_get_cstr(&r, &s), 0);
        if (c == code)
            return s;
    }
    assert_int_equal(r.err, 0);
    return NULL;
}

struct coldesc {
    const char *name;
    int32_t oid;
    int16_t len;
    int32_t mod;
    int16_t format;
};

static int16_t rowdesc_get(const struct pgmsg *m, struct coldesc *cols, int16_t max)
{
    struct pgproto_reader r;
    int16_t n, i, attnum;
    int32_t table;

    assert_int_equal(m->type, 'T');
    pgproto_reader_init(&r, m->body, m->len);
    pgproto_get_i16(&r, &n);
    assert_true(n <= max);
    for (i = 0; i < n; i++) {
        pgproto_get_cstr(&r, &cols[i].name);
        pgproto_get_i32(&r, &table);
        pgproto_get_i16(&r, &attnum);
        pgproto_get_i32(&r, &cols[i].oid);
        pgproto_get_i16(&r, &cols[i].len);
        pgproto_get_i32(&r, &cols[i].mod);
        pgproto_get_i16(&r, &cols[i].format);
    }
    assert_int_equal(r.err, 0);
    assert_int_equal(pgproto_remaining(&r), 0);
    return n;
}

/* Column i of a DataRow as a NUL-terminated copy in buf, or NULL for SQL NULL. */
static const char *datarow_value(const struct pgmsg *m, int16_t i, char *buf, size_t buflen)
{
    struct pgproto_reader r;
    int16_t n, j;
    int32_t len = -1;
    const uint8_t *p = NULL;

    assert_int_equal(m->type, 'D');
    pgproto_reader_init(&r, m->body, m->len);
    pgproto_get_i16(&r, &n);
    assert_true(i < n);
    for (j = 0; j <= i; j++) {
        pgproto_get_i32(&r, &len);
        if (len >= 0)
            pgproto_get_bytes(&r, &p, (size_t)len);
    }
    assert_int_equal(r.err, 0);
    if (len < 0)
        return NULL;
    assert_true((size_t)len < buflen);
    memcpy(buf, p, (size_t)len);
    buf[len] = '\0';
    return buf;
}

static int16_t datarow_ncols(const struct pgmsg *m)
{
    struct pgproto_reader r;
    int16_t n;

    pgproto_reader_init(&r, m->body, m->len);
    pgproto_get_i16(&r, &n);
    return n;
}

static const char *complete_tag(const struct pgmsg *m)
{
    assert_int_equal(m->type, 'C');
    return (const char *)m->body;
}

static int run(struct odbc_conn *c, struct capture *k, const char *sql, const char *verb)
{
    struct odbc_sink sink = { capture_write, k };

    capture_reset(k);
    return odbc_exec(c, sql, strlen(sql), verb, &sink);
}

/* Run a statement that must succeed with exactly one CommandComplete. */
static void run_ok(struct odbc_conn *c, const char *sql, const char *verb, const char *tag)
{
    struct capture k = { 0 };
    struct pgmsg m[MAX_MSGS];
    size_t n;

    assert_int_equal(run(c, &k, sql, verb), ODBC_OK);
    n = capture_messages(&k, m, MAX_MSGS);
    assert_true(n >= 1);
    assert_string_equal(complete_tag(&m[n - 1]), tag);
    capture_reset(&k);
}

/* Run a statement that must fail; returns its ErrorResponse's C and M. */
static void run_error(struct odbc_conn *c, const char *sql, const char *state, const char *msg)
{
    struct capture k = { 0 };
    struct pgmsg m[MAX_MSGS];
    size_t n;

    assert_int_equal(run(c, &k, sql, "SELECT"), ODBC_ERROR);
    n = capture_messages(&k, m, MAX_MSGS);
    assert_true(n >= 1);
    assert_int_equal(m[n - 1].type, 'E');
    assert_string_equal(msg_field(&m[n - 1], 'S'), "ERROR");
    assert_string_equal(msg_field(&m[n - 1], 'C'), state);
    if (msg != NULL)
        assert_string_equal(msg_field(&m[n - 1], 'M'), msg);
    capture_reset(&k);
}

/* The single value of a one-row, one-column query. */
static void expect_scalar(struct odbc_conn *c, const char *sql, const char *want)
{
    struct capture k = { 0 };
    struct pgmsg m[MAX_MSGS];
    char buf[256];

    assert_int_equal(run(c, &k, sql, "SELECT"), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 3);
    assert_string_equal(datarow_value(&m[1], 0, buf, sizeof(buf)), want);
    assert_string_equal(complete_tag(&m[2]), "SELECT 1");
    capture_reset(&k);
}

static struct odbc_conn *connect_or_fail(const char *connstr, enum cfg_dialect d)
{
    struct odbc_conn *c = NULL;
    char err[512];

    if (odbc_connect(connstr, d, 5, &c, err, sizeof(err)) != 0)
        fail_msg("odbc_connect: %s", err);
    return c;
}

/* ---- SQLite ---- */

static char sqlite_path[64];
static char sqlite_connstr[128];

static int sqlite_setup(void **state)
{
    snprintf(sqlite_path, sizeof(sqlite_path), "/tmp/pgiris-test-odbc-%d.db", (int)getpid());
    unlink(sqlite_path);
    snprintf(sqlite_connstr, sizeof(sqlite_connstr), "Driver=SQLite3;Database=%s;StepAPI=1",
             sqlite_path);
    *state = connect_or_fail(sqlite_connstr, CFG_DIALECT_SQLITE);
    return 0;
}

static int sqlite_teardown(void **state)
{
    odbc_disconnect(*state);
    unlink(sqlite_path);
    return 0;
}

static void test_sqlite_types(void **state)
{
    struct odbc_conn *c = *state;
    struct capture k = { 0 };
    struct pgmsg m[MAX_MSGS];
    struct coldesc cols[16];
    char buf[256];
    static const struct {
        const char *name;
        int32_t oid;
        int16_t len;
    } want_cols[] = {
        { "i", PG_OID_INT4, 4 },         { "b", PG_OID_INT8, 8 },
        { "r", PG_OID_FLOAT8, 8 },       { "d", PG_OID_FLOAT8, 8 },
        { "tx", PG_OID_TEXT, -1 },       { "vc", PG_OID_VARCHAR, -1 },
        { "n", PG_OID_FLOAT8, 8 },       { "dt", PG_OID_DATE, 4 },
        { "ts", PG_OID_TIMESTAMP, 8 },   { "bl", PG_OID_BYTEA, -1 },
        { "bo", PG_OID_BOOL, 1 },        { "si", PG_OID_INT2, 2 },
    };
    static const char *const row1[] = {
        "1", "9000000000", "1.5", "2.25", "héllo ✓", "vc", "12.34", "2024-01-02",
        "2024-01-02 03:04:05.12", "\\x00ff10", "t", "7",
    };
    static const char *const row3_ts = "2024-01-02 03:04:05";
    int16_t i;

    run_ok(c,
           "CREATE TABLE types (i int, b bigint, r real, d double, tx text, vc varchar(10), "
           "n numeric(10,2), dt date, ts timestamp, bl blob, bo boolean, si smallint)",
           "CREATE TABLE", "CREATE TABLE");
    run_ok(c,
           "INSERT INTO types VALUES (1, 9000000000, 1.5, 2.25, 'héllo ✓', 'vc', 12.34, "
           "'2024-01-02', '2024-01-02 03:04:05.120000', x'00ff10', 1, 7)",
           "INSERT", "INSERT 0 1");
    run_ok(c,
           "INSERT INTO types VALUES (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
           "NULL, 0, NULL)",
           "INSERT", "INSERT 0 1");
    run_ok(c, "INSERT INTO types (i, ts, bl, bo) VALUES (3, '2024-01-02 03:04:05.000', x'', 1)",
           "INSERT", "INSERT 0 1");

    assert_int_equal(run(c, &k, "SELECT * FROM types ORDER BY i IS NULL, i", "SELECT"), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 5);

    assert_int_equal(rowdesc_get(&m[0], cols, 16), 12);
    for (i = 0; i < 12; i++) {
        assert_string_equal(cols[i].name, want_cols[i].name);
        assert_int_equal(cols[i].oid, want_cols[i].oid);
        assert_int_equal(cols[i].len, want_cols[i].len);
        assert_int_equal(cols[i].mod, -1);
        assert_int_equal(cols[i].format, 0);
    }

    assert_int_equal(datarow_ncols(&m[1]), 12);
    for (i = 0; i < 12; i++)
        assert_string_equal(datarow_value(&m[1], i, buf, sizeof(buf)), row1[i]);

    assert_string_equal(datarow_value(&m[2], 0, buf, sizeof(buf)), "3");
    assert_string_equal(datarow_value(&m[2], 8, buf, sizeof(buf)), row3_ts);
    assert_string_equal(datarow_value(&m[2], 9, buf, sizeof(buf)), "\\x");
    assert_string_equal(datarow_value(&m[2], 10, buf, sizeof(buf)), "t");

    for (i = 0; i < 12; i++) {
        if (i == 10)
            assert_string_equal(datarow_value(&m[3], i, buf, sizeof(buf)), "f");
        else
            assert_null(datarow_value(&m[3], i, buf, sizeof(buf)));
    }
    assert_string_equal(complete_tag(&m[4]), "SELECT 3");

    /* Untyped expressions come back as varchar, as the driver describes them. */
    assert_int_equal(run(c, &k, "SELECT 1+1 AS two", "SELECT"), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 3);
    rowdesc_get(&m[0], cols, 16);
    assert_string_equal(cols[0].name, "two");
    assert_int_equal(cols[0].oid, PG_OID_VARCHAR);
    assert_string_equal(datarow_value(&m[1], 0, buf, sizeof(buf)), "2");
    capture_reset(&k);

    run_ok(c, "DROP TABLE types", "DROP TABLE", "DROP TABLE");
}

static void test_sqlite_command_tags(void **state)
{
    struct odbc_conn *c = *state;
    struct capture k = { 0 };
    struct pgmsg m[MAX_MSGS];

    run_ok(c, "CREATE TABLE tags (a int)", "CREATE TABLE", "CREATE TABLE");
    run_ok(c, "INSERT INTO tags VALUES (1), (2), (3)", "INSERT", "INSERT 0 3");
    run_ok(c, "UPDATE tags SET a = a + 10 WHERE a < 3", "UPDATE", "UPDATE 2");
    run_ok(c, "UPDATE tags SET a = 0 WHERE a = 99", "UPDATE", "UPDATE 0");
    run_ok(c, "DELETE FROM tags WHERE a = 99", "DELETE", "DELETE 0");
    run_ok(c, "DELETE FROM tags WHERE a > 10", "DELETE", "DELETE 2");

    /* An empty result still describes its columns. */
    assert_int_equal(run(c, &k, "SELECT a FROM tags WHERE a > 100", "SELECT"), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 2);
    assert_int_equal(m[0].type, 'T');
    assert_string_equal(complete_tag(&m[1]), "SELECT 0");
    capture_reset(&k);

    run_ok(c, "DROP TABLE tags", "DROP TABLE", "DROP TABLE");
}

static void test_sqlite_errors(void **state)
{
    struct odbc_conn *c = *state;

    run_error(c, "SELECT * FROM nope", "42P01", "no such table: nope");
    run_error(c, "SELEC 1", "42601", "near \"SELEC\": syntax error");
    run_error(c, "SELECT nocol FROM sqlite_master", "42703", "no such column: nocol");
    run_ok(c, "CREATE TABLE uniq (a int PRIMARY KEY, b int NOT NULL, c int CHECK (c > 0))",
           "CREATE TABLE", "CREATE TABLE");
    run_ok(c, "INSERT INTO uniq VALUES (1, 1, 1)", "INSERT", "INSERT 0 1");
    run_error(c, "INSERT INTO uniq VALUES (1, 1, 1)", "23505", "UNIQUE constraint failed: uniq.a");
    run_error(c, "INSERT INTO uniq VALUES (2, NULL, 1)", "23502", NULL);
    run_error(c, "INSERT INTO uniq VALUES (3, 1, -1)", "23514", NULL);
    run_error(c, "CREATE TABLE uniq (x int)", "42P07", "table uniq already exists");
    /* The connection is still good after errors. */
    expect_scalar(c, "SELECT count(*) FROM uniq", "1");
    run_ok(c, "DROP TABLE uniq", "DROP TABLE", "DROP TABLE");
}

static void test_sqlite_transactions(void **state)
{
    struct odbc_conn *c = *state, *other = connect_or_fail(sqlite_connstr, CFG_DIALECT_SQLITE);
    struct capture k = { 0 };
    struct odbc_sink sink = { capture_write, &k };
    struct pgmsg m[MAX_MSGS];

    run_ok(c, "CREATE TABLE tx (a int)", "CREATE TABLE", "CREATE TABLE");

    assert_int_equal(odbc_begin(c, "BEGIN", &sink), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 1);
    assert_string_equal(complete_tag(&m[0]), "BEGIN");
    assert_int_equal(odbc_in_transaction(c), 1);
    run_ok(c, "INSERT INTO tx VALUES (1)", "INSERT", "INSERT 0 1");
    capture_reset(&k);
    assert_int_equal(odbc_rollback(c, "ROLLBACK", &sink), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 1);
    assert_string_equal(complete_tag(&m[0]), "ROLLBACK");
    assert_int_equal(odbc_in_transaction(c), 0);
    expect_scalar(other, "SELECT count(*) FROM tx", "0");

    capture_reset(&k);
    assert_int_equal(odbc_begin(c, "BEGIN", &sink), ODBC_OK);
    run_ok(c, "INSERT INTO tx VALUES (2)", "INSERT", "INSERT 0 1");
    /* BEGIN inside a transaction warns and stays in it. */
    capture_reset(&k);
    assert_int_equal(odbc_begin(c, "BEGIN", &sink), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 2);
    assert_int_equal(m[0].type, 'N');
    assert_string_equal(msg_field(&m[0], 'S'), "WARNING");
    assert_string_equal(msg_field(&m[0], 'C'), "25001");
    assert_string_equal(msg_field(&m[0], 'M'), "there is already a transaction in progress");
    assert_string_equal(complete_tag(&m[1]), "BEGIN");
    assert_int_equal(odbc_in_transaction(c), 1);
    capture_reset(&k);
    assert_int_equal(odbc_commit(c, "COMMIT", &sink), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 1);
    assert_string_equal(complete_tag(&m[0]), "COMMIT");
    assert_int_equal(odbc_in_transaction(c), 0);
    expect_scalar(other, "SELECT a FROM tx", "2");

    /* COMMIT and ROLLBACK outside a transaction warn and succeed. */
    capture_reset(&k);
    assert_int_equal(odbc_commit(c, "COMMIT", &sink), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 2);
    assert_int_equal(m[0].type, 'N');
    assert_string_equal(msg_field(&m[0], 'C'), "25P01");
    assert_string_equal(msg_field(&m[0], 'M'), "there is no transaction in progress");
    assert_string_equal(complete_tag(&m[1]), "COMMIT");
    capture_reset(&k);
    assert_int_equal(odbc_rollback(c, "ROLLBACK", &sink), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 2);
    assert_string_equal(msg_field(&m[0], 'C'), "25P01");
    assert_string_equal(complete_tag(&m[1]), "ROLLBACK");

    /* odbc_reset rolls back what a vanished client left open. */
    capture_reset(&k);
    assert_int_equal(odbc_begin(c, "BEGIN", &sink), ODBC_OK);
    run_ok(c, "INSERT INTO tx VALUES (3)", "INSERT", "INSERT 0 1");
    assert_int_equal(odbc_reset(c), 0);
    assert_int_equal(odbc_in_transaction(c), 0);
    expect_scalar(other, "SELECT count(*) FROM tx", "1");
    /* ... and autocommit is back on: this insert is visible at once. */
    run_ok(c, "INSERT INTO tx VALUES (4)", "INSERT", "INSERT 0 1");
    expect_scalar(other, "SELECT count(*) FROM tx", "2");

    capture_reset(&k);
    odbc_disconnect(other);
    run_ok(c, "DROP TABLE tx", "DROP TABLE", "DROP TABLE");
}

#define SERIES(n)                                                                  \
    "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < " #n \
    ") SELECT x, 'row ' || x AS label FROM s"

static void test_sqlite_abandon(void **state)
{
    struct odbc_conn *c = *state;
    struct capture k = { 0 };
    struct odbc_sink sink = { capture_write, &k };
    const char *sql = SERIES(100000);

    k.refuse_after = 3;
    assert_int_equal(odbc_exec(c, sql, strlen(sql), "SELECT", &sink), ODBC_ABANDONED);
    /* One refusal stops it: nothing is offered after that. */
    assert_int_equal(k.writes, 3);
    assert_int_equal(k.refused, 1);
    capture_reset(&k);
    expect_scalar(c, "SELECT 'still here'", "still here");
}

static void test_sqlite_large_result(void **state)
{
    struct odbc_conn *c = *state;
    struct capture k = { 0 };
    struct pgmsg last[1];
    size_t pos = 0, rows = 0;
    char buf[64];

    assert_int_equal(run(c, &k, SERIES(200000), "SELECT"), ODBC_OK);
    /* Streamed in bounded pieces, not built up in memory. */
    assert_true(k.writes > 50);
    assert_true(k.max_write <= 64 * 1024);
    while (pos < k.len) {
        uint32_t len = pgproto_load_u32(k.data + pos + 1);

        if (k.data[pos] == 'D') {
            rows++;
            if (rows == 200000) {
                last[0].type = 'D';
                last[0].body = k.data + pos + 5;
                last[0].len = len - 4;
                assert_string_equal(datarow_value(&last[0], 1, buf, sizeof(buf)), "row 200000");
            }
        }
        pos += 1 + len;
    }
    assert_int_equal(pos, k.len);
    assert_int_equal(rows, 200000);
    /* The stream ends with CommandComplete "SELECT 200000". */
    assert_int_equal(k.data[k.len - 19], 'C');
    assert_string_equal((const char *)k.data + k.len - 14, "SELECT 200000");
    capture_reset(&k);
}

/* Values much longer than one SQLGetData buffer arrive whole. */
static void test_sqlite_long_values(void **state)
{
    struct odbc_conn *c = *state;
    struct capture k = { 0 };
    struct pgmsg m[MAX_MSGS];
    struct pgproto_reader r;
    const uint8_t *p;
    int16_t n;
    int32_t len;
    size_t i;

    /* A blob column, not an expression: SQLite describes those as varchar. */
    run_ok(c, "CREATE TABLE lv (t text, b blob)", "CREATE TABLE", "CREATE TABLE");
    run_ok(c,
           "INSERT INTO lv VALUES (replace(hex(zeroblob(100000)), '00', 'ab'), "
           "CAST(replace(hex(zeroblob(50000)), '00', 'yz') AS blob))",
           "INSERT", "INSERT 0 1");
    assert_int_equal(run(c, &k, "SELECT t, b FROM lv", "SELECT"), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 3);
    pgproto_reader_init(&r, m[1].body, m[1].len);
    pgproto_get_i16(&r, &n);
    assert_int_equal(n, 2);
    pgproto_get_i32(&r, &len);
    assert_int_equal(len, 200000);
    pgproto_get_bytes(&r, &p, (size_t)len);
    for (i = 0; i < (size_t)len; i += 2)
        assert_memory_equal(p + i, "ab", 2);
    pgproto_get_i32(&r, &len);
    assert_int_equal(len, 2 + 2 * 100000);
    pgproto_get_bytes(&r, &p, (size_t)len);
    assert_memory_equal(p, "\\x", 2);
    for (i = 2; i < (size_t)len; i += 4)
        assert_memory_equal(p + i, "797a", 4);
    assert_int_equal(r.err, 0);
    capture_reset(&k);
    run_ok(c, "DROP TABLE lv", "DROP TABLE", "DROP TABLE");
}

struct canceller {
    struct odbc_conn *c;
    volatile int done;
};

static void *cancel_loop(void *arg)
{
    struct canceller *x = arg;
    struct timespec ts = { 0, 100 * 1000 * 1000 };

    while (!x->done) {
        nanosleep(&ts, NULL);
        odbc_cancel(x->c);
    }
    return NULL;
}

/* Cancel a long query from another thread; returns the query's result. */
static int run_cancelled(struct odbc_conn *c, struct capture *k, const char *sql)
{
    struct canceller x = { c, 0 };
    pthread_t t;
    int rc;

    assert_int_equal(pthread_create(&t, NULL, cancel_loop, &x), 0);
    rc = run(c, k, sql, "SELECT");
    x.done = 1;
    pthread_join(t, NULL);
    return rc;
}

static void test_sqlite_cancel(void **state)
{
    struct odbc_conn *c = *state;
    struct capture k = { 0 };
    struct pgmsg m[MAX_MSGS];
    size_t n;

    /* A cancel that finds nothing running must not hit the next statement. */
    odbc_cancel(c);
    expect_scalar(c, "SELECT 'idle cancel'", "idle cancel");

    assert_int_equal(run_cancelled(c, &k,
                                   "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
                                   "FROM s WHERE x < 2000000000) SELECT sum(x) FROM s"),
                     ODBC_ERROR);
    n = capture_messages(&k, m, MAX_MSGS);
    assert_int_equal(m[n - 1].type, 'E');
    assert_string_equal(msg_field(&m[n - 1], 'C'), "57014");
    assert_string_equal(msg_field(&m[n - 1], 'M'), "canceling statement due to user request");
    capture_reset(&k);
    expect_scalar(c, "SELECT 42", "42");
}

static void test_connect_failure(void **state)
{
    struct odbc_conn *c = (struct odbc_conn *)1;
    char err[256];

    assert_int_equal(odbc_connect("Driver=NoSuchDriver;Database=x;UID=u;PWD=hunter2",
                                  CFG_DIALECT_SQLITE, 1, &c, err, sizeof(err)),
                     -1);
    assert_null(c);
    /* "SQLSTATE: message", and never the password. */
    assert_true(strlen(err) > 7);
    assert_int_equal(err[5], ':');
    assert_null(strstr(err, "hunter2"));
    assert_non_null(strstr(err, "NoSuchDriver"));
}

static void test_map_sqlstate(void **state)
{
    static const struct {
        enum cfg_dialect d;
        const char *state;
        const char *msg;
        const char *want;
    } cases[] = {
        { CFG_DIALECT_SQLITE, "42S01", "", "42P07" },
        { CFG_DIALECT_SQLITE, "42S02", "", "42P01" },
        { CFG_DIALECT_SQLITE, "42S21", "", "42701" },
        { CFG_DIALECT_SQLITE, "42S22", "", "42703" },
        { CFG_DIALECT_SQLITE, "42S11", "", "42P07" },
        { CFG_DIALECT_SQLITE, "42S12", "", "42704" },
        { CFG_DIALECT_IRIS, "23000", "duplicate key in unique index", "23505" },
        { CFG_DIALECT_IRIS, "23000", "column cannot be NOT NULL", "23502" },
        { CFG_DIALECT_IRIS, "23000", "violates FOREIGN KEY constraint", "23503" },
        { CFG_DIALECT_IRIS, "23000", "CHECK failed", "23514" },
        { CFG_DIALECT_IRIS, "23000", "integrity", "23000" },
        { CFG_DIALECT_SQLITE, "22018", "", "22P02" },
        { CFG_DIALECT_SQLITE, "22012", "", "22012" },
        { CFG_DIALECT_SQLITE, "08S01", "", "08006" },
        { CFG_DIALECT_SQLITE, "HYT00", "", "57014" },
        { CFG_DIALECT_SQLITE, "HY008", "Operation canceled", "57014" },
        { CFG_DIALECT_SQLITE, "40001", "", "40001" },
        { CFG_DIALECT_SQLITE, "HY000", "no such table: t", "42P01" },
        { CFG_DIALECT_SQLITE, "HY000", "no such column: c", "42703" },
        { CFG_DIALECT_SQLITE, "HY000", "near \"x\": syntax error", "42601" },
        { CFG_DIALECT_SQLITE, "HY000", "UNIQUE constraint failed: t.a", "23505" },
        { CFG_DIALECT_SQLITE, "HY000", "NOT NULL constraint failed: t.b", "23502" },
        { CFG_DIALECT_SQLITE, "HY000", "FOREIGN KEY constraint failed", "23503" },
        { CFG_DIALECT_SQLITE, "S1000", "CHECK constraint failed: c>0", "23514" },
        { CFG_DIALECT_SQLITE, "HY000", "table t already exists", "42P07" },
        { CFG_DIALECT_SQLITE, "HY000", "database is locked", "55P03" },
        { CFG_DIALECT_SQLITE, "HY000", "datatype mismatch", "42804" },
        { CFG_DIALECT_SQLITE, "00000", "interrupted", "57014" },
        { CFG_DIALECT_SQLITE, "HY000", "something else entirely", "XX000" },
        { CFG_DIALECT_SQLITE, NULL, NULL, "XX000" },
        { CFG_DIALECT_SQLITE, "HY010", "Function sequence error", "XX000" },
        /* SQLite's words mean nothing coming from another backend. */
        { CFG_DIALECT_POSTGRES, "HY000", "no such table: t", "XX000" },
        /* States psqlODBC passes through from PostgreSQL stay. */
        { CFG_DIALECT_POSTGRES, "42P01", "relation \"t\" does not exist", "42P01" },
        { CFG_DIALECT_POSTGRES, "22012", "division by zero", "22012" },
        { CFG_DIALECT_POSTGRES, "23505", "duplicate key value", "23505" },
        { CFG_DIALECT_IRIS, "S1000", "[SQLCODE: <-30>:<Table or view not found>]", "42P01" },
        { CFG_DIALECT_IRIS, "42000", "[SQLCODE: <-119>:<UNIQUE or PRIMARY KEY failed>]", "23505" },
        { CFG_DIALECT_IRIS, "S1000", "[SQLCODE: <-400>:<Fatal error occurred>]", "XX000" },
    };
    char out[6];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(out, '?', sizeof(out));
        odbc_map_sqlstate(cases[i].d, cases[i].state, cases[i].msg, out);
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("case %zu (%s, \"%s\"): got %s, want %s", i, cases[i].state,
                     cases[i].msg ? cases[i].msg : "(null)", out, cases[i].want);
    }
}

static void test_type_oid(void **state)
{
    assert_int_equal(odbc_type_oid(5 /* SQL_SMALLINT */), PG_OID_INT2);
    assert_int_equal(odbc_type_oid(-6 /* SQL_TINYINT */), PG_OID_INT2);
    assert_int_equal(odbc_type_oid(4 /* SQL_INTEGER */), PG_OID_INT4);
    assert_int_equal(odbc_type_oid(-5 /* SQL_BIGINT */), PG_OID_INT8);
    assert_int_equal(odbc_type_oid(7 /* SQL_REAL */), PG_OID_FLOAT4);
    assert_int_equal(odbc_type_oid(6 /* SQL_FLOAT */), PG_OID_FLOAT8);
    assert_int_equal(odbc_type_oid(8 /* SQL_DOUBLE */), PG_OID_FLOAT8);
    assert_int_equal(odbc_type_oid(2 /* SQL_NUMERIC */), PG_OID_NUMERIC);
    assert_int_equal(odbc_type_oid(3 /* SQL_DECIMAL */), PG_OID_NUMERIC);
    assert_int_equal(odbc_type_oid(-7 /* SQL_BIT */), PG_OID_BOOL);
    assert_int_equal(odbc_type_oid(1 /* SQL_CHAR */), PG_OID_BPCHAR);
    assert_int_equal(odbc_type_oid(-8 /* SQL_WCHAR */), PG_OID_BPCHAR);
    assert_int_equal(odbc_type_oid(12 /* SQL_VARCHAR */), PG_OID_VARCHAR);
    assert_int_equal(odbc_type_oid(-9 /* SQL_WVARCHAR */), PG_OID_VARCHAR);
    assert_int_equal(odbc_type_oid(-1 /* SQL_LONGVARCHAR */), PG_OID_TEXT);
    assert_int_equal(odbc_type_oid(-10 /* SQL_WLONGVARCHAR */), PG_OID_TEXT);
    assert_int_equal(odbc_type_oid(-2 /* SQL_BINARY */), PG_OID_BYTEA);
    assert_int_equal(odbc_type_oid(-3 /* SQL_VARBINARY */), PG_OID_BYTEA);
    assert_int_equal(odbc_type_oid(-4 /* SQL_LONGVARBINARY */), PG_OID_BYTEA);
    assert_int_equal(odbc_type_oid(91 /* SQL_TYPE_DATE */), PG_OID_DATE);
    assert_int_equal(odbc_type_oid(9 /* SQL_DATE */), PG_OID_DATE);
    assert_int_equal(odbc_type_oid(92 /* SQL_TYPE_TIME */), PG_OID_TIME);
    assert_int_equal(odbc_type_oid(10 /* SQL_TIME */), PG_OID_TIME);
    assert_int_equal(odbc_type_oid(93 /* SQL_TYPE_TIMESTAMP */), PG_OID_TIMESTAMP);
    assert_int_equal(odbc_type_oid(11 /* SQL_TIMESTAMP */), PG_OID_TIMESTAMP);
    assert_int_equal(odbc_type_oid(-11 /* SQL_GUID */), PG_OID_UUID);
    assert_int_equal(odbc_type_oid(12345), PG_OID_TEXT);
}

/* ---- PostgreSQL through psqlODBC ---- */

static const char *pg_connstr(void)
{
    const char *s = getenv("PGIRIS_TEST_PG_CONNSTR");

    return s != NULL && *s != '\0' ? s : NULL;
}

static int pg_setup(void **state)
{
    *state = pg_connstr() != NULL ? connect_or_fail(pg_connstr(), CFG_DIALECT_POSTGRES) : NULL;
    return 0;
}

static int pg_teardown(void **state)
{
    odbc_disconnect(*state);
    return 0;
}

static struct odbc_conn *pg_conn(void **state)
{
    if (*state == NULL)
        skip();
    return *state;
}

static void test_pg_types(void **state)
{
    struct odbc_conn *c = pg_conn(state);
    struct capture k = { 0 };
    struct pgmsg m[MAX_MSGS];
    struct coldesc cols[16];
    char buf[256];
    static const struct {
        int32_t oid;
        const char *value;
    } want[] = {
        { PG_OID_INT4, "1" },
        { PG_OID_INT8, "9000000000" },
        { PG_OID_FLOAT4, "1.5" },
        { PG_OID_FLOAT8, "2.25" },
        { PG_OID_TEXT, "héllo ✓" },
        { PG_OID_VARCHAR, "vc" },
        { PG_OID_NUMERIC, "12.34" },
        { PG_OID_DATE, "2024-01-02" },
        { PG_OID_TIMESTAMP, "2024-01-02 03:04:05.12" },
        { PG_OID_BYTEA, "\\x00ff10" },
        { PG_OID_BOOL, "t" },
        { PG_OID_INT2, "7" },
        { PG_OID_TIME, "03:04:05" },
        { PG_OID_UUID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11" },
        { PG_OID_BPCHAR, "ab " },
    };
    int16_t i;

    run_ok(c, "DROP TABLE IF EXISTS pgiris_types", "DROP TABLE", "DROP TABLE");
    run_ok(c,
           "CREATE TABLE pgiris_types (i int, b bigint, r real, d double precision, tx text, "
           "vc varchar(10), n numeric(10,2), dt date, ts timestamp, bl bytea, bo boolean, "
           "si smallint, tm time, u uuid, ch char(3))",
           "CREATE TABLE", "CREATE TABLE");
    run_ok(c,
           "INSERT INTO pgiris_types VALUES (1, 9000000000, 1.5, 2.25, 'héllo ✓', 'vc', 12.34, "
           "'2024-01-02', '2024-01-02 03:04:05.12', '\\x00ff10', true, 7, '03:04:05', "
           "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'ab')",
           "INSERT", "INSERT 0 1");
    run_ok(c, "INSERT INTO pgiris_types (bo) VALUES (false)", "INSERT", "INSERT 0 1");

    assert_int_equal(run(c, &k, "SELECT * FROM pgiris_types ORDER BY i", "SELECT"), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 4);
    assert_int_equal(rowdesc_get(&m[0], cols, 16), 15);
    for (i = 0; i < 15; i++) {
        assert_int_equal(cols[i].oid, want[i].oid);
        assert_string_equal(datarow_value(&m[1], i, buf, sizeof(buf)), want[i].value);
        if (i == 10)
            assert_string_equal(datarow_value(&m[2], i, buf, sizeof(buf)), "f");
        else
            assert_null(datarow_value(&m[2], i, buf, sizeof(buf)));
    }
    assert_string_equal(complete_tag(&m[3]), "SELECT 2");
    capture_reset(&k);

    run_ok(c, "UPDATE pgiris_types SET si = 1", "UPDATE", "UPDATE 2");
    run_ok(c, "DELETE FROM pgiris_types WHERE i = 99", "DELETE", "DELETE 0");
    run_ok(c, "DROP TABLE pgiris_types", "DROP TABLE", "DROP TABLE");
}

static void test_pg_errors_and_notices(void **state)
{
    struct odbc_conn *c = pg_conn(state);
    struct capture k = { 0 };
    struct pgmsg m[MAX_MSGS];

    run_error(c, "SELECT * FROM pgiris_nope", "42P01", "relation \"pgiris_nope\" does not exist");
    run_error(c, "SELEC 1", "42601", "syntax error at or near \"SELEC\"");
    run_error(c, "SELECT 1/0", "22012", "division by zero");

    run_ok(c, "DROP TABLE IF EXISTS pgiris_uniq", "DROP TABLE", "DROP TABLE");
    run_ok(c, "CREATE TABLE pgiris_uniq (a int PRIMARY KEY)", "CREATE TABLE", "CREATE TABLE");
    run_ok(c, "INSERT INTO pgiris_uniq VALUES (1)", "INSERT", "INSERT 0 1");
    assert_int_equal(run(c, &k, "INSERT INTO pgiris_uniq VALUES (1)", "INSERT"), ODBC_ERROR);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 1);
    assert_string_equal(msg_field(&m[0], 'C'), "23505");
    assert_string_equal(msg_field(&m[0], 'M'),
                        "duplicate key value violates unique constraint \"pgiris_uniq_pkey\"");
    assert_string_equal(msg_field(&m[0], 'D'), "Key (a)=(1) already exists.");
    capture_reset(&k);
    run_ok(c, "DROP TABLE pgiris_uniq", "DROP TABLE", "DROP TABLE");

    /* The backend's notices reach the client. */
    assert_int_equal(run(c, &k, "DROP TABLE IF EXISTS pgiris_uniq", "DROP TABLE"), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 2);
    assert_int_equal(m[0].type, 'N');
    assert_string_equal(msg_field(&m[0], 'S'), "NOTICE");
    assert_string_equal(msg_field(&m[0], 'M'), "table \"pgiris_uniq\" does not exist, skipping");
    assert_string_equal(complete_tag(&m[1]), "DROP TABLE");
    capture_reset(&k);

    expect_scalar(c, "SELECT 'fine'", "fine");
}

static void test_pg_transactions(void **state)
{
    struct odbc_conn *c = pg_conn(state);
    struct odbc_conn *other = connect_or_fail(pg_connstr(), CFG_DIALECT_POSTGRES);
    struct capture k = { 0 };
    struct odbc_sink sink = { capture_write, &k };

    run_ok(c, "DROP TABLE IF EXISTS pgiris_tx", "DROP TABLE", "DROP TABLE");
    run_ok(c, "CREATE TABLE pgiris_tx (a int)", "CREATE TABLE", "CREATE TABLE");
    assert_int_equal(odbc_begin(c, "BEGIN", &sink), ODBC_OK);
    run_ok(c, "INSERT INTO pgiris_tx VALUES (1)", "INSERT", "INSERT 0 1");
    expect_scalar(other, "SELECT count(*) FROM pgiris_tx", "0");
    capture_reset(&k);
    assert_int_equal(odbc_rollback(c, "ROLLBACK", &sink), ODBC_OK);
    expect_scalar(other, "SELECT count(*) FROM pgiris_tx", "0");

    capture_reset(&k);
    assert_int_equal(odbc_begin(c, "BEGIN", &sink), ODBC_OK);
    run_ok(c, "INSERT INTO pgiris_tx VALUES (2)", "INSERT", "INSERT 0 1");
    capture_reset(&k);
    assert_int_equal(odbc_commit(c, "COMMIT", &sink), ODBC_OK);
    expect_scalar(other, "SELECT a FROM pgiris_tx", "2");

    capture_reset(&k);
    assert_int_equal(odbc_begin(c, "BEGIN", &sink), ODBC_OK);
    run_ok(c, "INSERT INTO pgiris_tx VALUES (3)", "INSERT", "INSERT 0 1");
    assert_int_equal(odbc_reset(c), 0);
    expect_scalar(other, "SELECT count(*) FROM pgiris_tx", "1");

    capture_reset(&k);
    odbc_disconnect(other);
    run_ok(c, "DROP TABLE pgiris_tx", "DROP TABLE", "DROP TABLE");
}

static void test_pg_stream_and_abandon(void **state)
{
    struct odbc_conn *c = pg_conn(state);
    struct capture k = { 0 };
    struct odbc_sink sink = { capture_write, &k };
    const char *sql = "SELECT x, 'row ' || x AS label FROM generate_series(1, 200000) x";
    size_t pos = 0, rows = 0;

    assert_int_equal(run(c, &k, sql, "SELECT"), ODBC_OK);
    assert_true(k.max_write <= 64 * 1024);
    while (pos < k.len) {
        rows += k.data[pos] == 'D';
        pos += 1 + pgproto_load_u32(k.data + pos + 1);
    }
    assert_int_equal(rows, 200000);
    assert_string_equal((const char *)k.data + k.len - 14, "SELECT 200000");

    capture_reset(&k);
    k.refuse_after = 2;
    assert_int_equal(odbc_exec(c, sql, strlen(sql), "SELECT", &sink), ODBC_ABANDONED);
    assert_int_equal(k.refused, 1);
    capture_reset(&k);
    expect_scalar(c, "SELECT 'reusable'", "reusable");
}

static void test_pg_cancel(void **state)
{
    struct odbc_conn *c = pg_conn(state);
    struct capture k = { 0 };
    struct pgmsg m[MAX_MSGS];
    size_t n;

    odbc_cancel(c);
    expect_scalar(c, "SELECT 'idle cancel'", "idle cancel");

    assert_int_equal(run_cancelled(c, &k, "SELECT pg_sleep(30)"), ODBC_ERROR);
    n = capture_messages(&k, m, MAX_MSGS);
    assert_string_equal(msg_field(&m[n - 1], 'C'), "57014");
    assert_string_equal(msg_field(&m[n - 1], 'M'), "canceling statement due to user request");
    capture_reset(&k);
    expect_scalar(c, "SELECT 'after cancel'", "after cancel");
}

/* Runs last: it kills the shared connection's backend. */
static void test_pg_connection_lost(void **state)
{
    struct odbc_conn *c = pg_conn(state);
    struct odbc_conn *killer = connect_or_fail(pg_connstr(), CFG_DIALECT_POSTGRES);
    struct capture k = { 0 };
    struct pgmsg m[MAX_MSGS];
    char sql[128], pid[32];

    assert_int_equal(run(c, &k, "SELECT pg_backend_pid()", "SELECT"), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 3);
    datarow_value(&m[1], 0, pid, sizeof(pid));
    snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%s)", pid);
    expect_scalar(killer, sql, "t");
    odbc_disconnect(killer);

    assert_int_equal(run(c, &k, "SELECT 1", "SELECT"), ODBC_BROKEN);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 1);
    assert_int_equal(m[0].type, 'E');
    assert_string_equal(msg_field(&m[0], 'S'), "ERROR");
    assert_string_equal(msg_field(&m[0], 'C'), "08006");
    assert_non_null(strstr(msg_field(&m[0], 'M'), "backend connection lost: "));
    capture_reset(&k);
    /* Later calls keep saying so instead of pretending. */
    assert_int_equal(run(c, &k, "SELECT 1", "SELECT"), ODBC_BROKEN);
    capture_reset(&k);
}

int main(void)
{
    const struct CMUnitTest sqlite_tests[] = {
        cmocka_unit_test(test_type_oid),
        cmocka_unit_test(test_map_sqlstate),
        cmocka_unit_test(test_connect_failure),
        cmocka_unit_test(test_sqlite_types),
        cmocka_unit_test(test_sqlite_command_tags),
        cmocka_unit_test(test_sqlite_errors),
        cmocka_unit_test(test_sqlite_transactions),
        cmocka_unit_test(test_sqlite_abandon),
        cmocka_unit_test(test_sqlite_large_result),
        cmocka_unit_test(test_sqlite_long_values),
        cmocka_unit_test(test_sqlite_cancel),
    };
    const struct CMUnitTest pg_tests[] = {
        cmocka_unit_test(test_pg_types),
        cmocka_unit_test(test_pg_errors_and_notices),
        cmocka_unit_test(test_pg_transactions),
        cmocka_unit_test(test_pg_stream_and_abandon),
        cmocka_unit_test(test_pg_cancel),
        cmocka_unit_test(test_pg_connection_lost),
    };
    int failed = 0;

    failed += cmocka_run_group_tests_name("odbc_sqlite", sqlite_tests, sqlite_setup,
                                          sqlite_teardown);
    failed += cmocka_run_group_tests_name("odbc_postgres", pg_tests, pg_setup, pg_teardown);
    return failed;
}
