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
#include "broker/odbc_int.h"
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

    if (run(c, &k, sql, verb) != ODBC_OK) {
        n = capture_messages(&k, m, MAX_MSGS);
        fail_msg("%s: %s", sql, n > 0 && m[n - 1].type == 'E' ? msg_field(&m[n - 1], 'M') : "?");
    }
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
        { "r", PG_OID_FLOAT4, 4 },       { "d", PG_OID_FLOAT8, 8 },
        { "tx", PG_OID_TEXT, -1 },       { "vc", PG_OID_VARCHAR, -1 },
        { "n", PG_OID_NUMERIC, -1 },     { "dt", PG_OID_DATE, 4 },
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

    assert_int_equal(odbc_begin(c, "BEGIN", NULL, 0, &sink), ODBC_OK);
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
    assert_int_equal(odbc_begin(c, "BEGIN", NULL, 0, &sink), ODBC_OK);
    run_ok(c, "INSERT INTO tx VALUES (2)", "INSERT", "INSERT 0 1");
    /* BEGIN inside a transaction warns and stays in it. */
    capture_reset(&k);
    assert_int_equal(odbc_begin(c, "BEGIN", NULL, 0, &sink), ODBC_OK);
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
    assert_int_equal(odbc_begin(c, "BEGIN", NULL, 0, &sink), ODBC_OK);
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
        odbc_cancel(x->c, 0);
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
    /* As the executor does once the request is answered. */
    odbc_cancel_clear(c);
    return rc;
}

static void test_sqlite_cancel(void **state)
{
    struct odbc_conn *c = *state;
    struct capture k = { 0 };
    struct pgmsg m[MAX_MSGS];
    size_t n;

    /* A cancel that comes before its statement starts still stops it ... */
    odbc_cancel(c, 0);
    assert_int_equal(run(c, &k, "SELECT 'early cancel'", "SELECT"), ODBC_ERROR);
    n = capture_messages(&k, m, MAX_MSGS);
    assert_string_equal(msg_field(&m[n - 1], 'C'), "57014");
    capture_reset(&k);
    /* ... and once cleared, it does not hit the next one. */
    odbc_cancel_clear(c);
    expect_scalar(c, "SELECT 'idle cancel'", "idle cancel");
    /* statement_timeout's cancel says so. */
    odbc_cancel(c, 1);
    assert_int_equal(run(c, &k, "SELECT 1", "SELECT"), ODBC_ERROR);
    n = capture_messages(&k, m, MAX_MSGS);
    assert_string_equal(msg_field(&m[n - 1], 'C'), "57014");
    assert_string_equal(msg_field(&m[n - 1], 'M'), "canceling statement due to statement timeout");
    capture_reset(&k);
    odbc_cancel_clear(c);

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

/*
 * Floats come back as PostgreSQL prints them: the fewest digits that read
 * back the same, NaN and Infinity spelled its way.  (SQLite's driver itself
 * keeps 15 significant digits of a double: that is all there is to print.)
 */
static void test_sqlite_float_digits(void **state)
{
    struct odbc_conn *c = *state;

    run_ok(c, "CREATE TABLE fl (d double precision, r real)", "CREATE TABLE", "CREATE TABLE");
    run_ok(c, "INSERT INTO fl VALUES (2.71828182845905, 1.1)", "INSERT", "INSERT 0 1");
    expect_scalar(c, "SELECT d FROM fl", "2.71828182845905");
    expect_scalar(c, "SELECT r FROM fl", "1.1");
    run_ok(c, "UPDATE fl SET d = 1.5e-7, r = 3.4028234e38", "UPDATE", "UPDATE 1");
    expect_scalar(c, "SELECT d FROM fl", "1.5e-07");
    expect_scalar(c, "SELECT r FROM fl", "3.4028235e+38");
    run_ok(c, "UPDATE fl SET d = 1e300 * 1e300", "UPDATE", "UPDATE 1");
    expect_scalar(c, "SELECT d FROM fl", "Infinity");
    run_ok(c, "DROP TABLE fl", "DROP TABLE", "DROP TABLE");
}

/* ---- COPY ---- */

/* An odbc_copy_source replaying scripted messages; gone (-1) after the last one if 'vanish'. */
struct script {
    const char *types;          /* one type byte per message */
    const char *const *bodies;
    size_t i;
    int vanish;
    /* or generated rows: "id\tname\n" lines, chunked */
    long gen_rows;
    long gen_next;
    char buf[8192];
};

static int script_next(void *arg, char *type, const uint8_t **body, size_t *len)
{
    struct script *sc = arg;

    if (sc->gen_rows > 0) {
        size_t n = 0;
        if (sc->gen_next > sc->gen_rows) {
            *type = 'c';
            *body = (const uint8_t *)"";
            *len = 0;
            return 0;
        }
        while (sc->gen_next <= sc->gen_rows && n + 64 < sizeof(sc->buf)) {
            n += (size_t)snprintf(sc->buf + n, sizeof(sc->buf) - n, "%ld\tname %ld\n", sc->gen_next,
                                  sc->gen_next);
            sc->gen_next++;
        }
        *type = 'd';
        *body = (const uint8_t *)sc->buf;
        *len = n;
        return 0;
    }
    if (sc->types[sc->i] == '\0') {
        assert_true(sc->vanish);
        return -1;
    }
    *type = sc->types[sc->i];
    *body = (const uint8_t *)sc->bodies[sc->i];
    *len = strlen(sc->bodies[sc->i]);
    sc->i++;
    return 0;
}

static int run_copy(struct odbc_conn *c, struct capture *k, const char *sql, struct script *sc)
{
    struct odbc_sink sink = { capture_write, k };
    struct odbc_copy_source src = { script_next, sc };

    capture_reset(k);
    return odbc_copy(c, sql, strlen(sql), &src, &sink);
}

/*
 * The COPY's messages were CopyInResponse then one ErrorResponse whose
 * CONTEXT names line ("line 3"), of SQLSTATE sqlstate unless NULL.
 */
static void expect_copy_error(const struct capture *k, const char *line, const char *sqlstate)
{
    struct pgmsg m[MAX_MSGS];
    size_t n = capture_messages(k, m, MAX_MSGS);
    if (n != 2)
        fail_msg("%zu messages; the last: %s", n, n > 0 ? msg_field(&m[n - 1], 'M') : "none");
    assert_int_equal(m[0].type, 'G');
    assert_int_equal(m[1].type, 'E');
    if (sqlstate != NULL)
        assert_string_equal(msg_field(&m[1], 'C'), sqlstate);
    const char *where = msg_field(&m[1], 'W');
    if (where == NULL || strstr(where, line) == NULL)
        fail_msg("context %s, message %s", where != NULL ? where : "(none)", msg_field(&m[1], 'M'));
}


/* The payload of a CopyData message as a string. */
static const char *copydata(const struct pgmsg *m, char *buf, size_t len)
{
    assert_int_equal(m->type, 'd');
    assert_true(m->len < len);
    memcpy(buf, m->body, m->len);
    buf[m->len] = '\0';
    return buf;
}

static void test_copy_common(struct odbc_conn *c, struct odbc_conn *other)
{
    struct capture k = { 0 };
    struct pgmsg m[MAX_MSGS];
    char buf[256];
    size_t n;

    run_ok(c, "CREATE TABLE cp (id int, name varchar(40), ok boolean, data bytea)", "CREATE TABLE",
           "CREATE TABLE");

    /* FROM STDIN: CopyInResponse first, then the rows split anywhere, then COPY n. */
    {
        static const char *const bodies[] = { "1\tone\tt\t\\\\x0102\n2\t", "\\N\tfalse\t\\N\n",
                                              "3\ttab\\there\tyes\t\\\\x\n", "" };
        struct script sc = { "dddc", bodies, 0, 0, 0, 0, { 0 } };
        assert_int_equal(run_copy(c, &k, "COPY cp FROM STDIN", &sc), ODBC_OK);
        n = capture_messages(&k, m, MAX_MSGS);
        assert_int_equal(n, 2);
        assert_int_equal(m[0].type, 'G');
        assert_int_equal(m[0].len, 1 + 2 + 4 * 2);
        assert_string_equal(complete_tag(&m[1]), "COPY 3");
        capture_reset(&k);
    }
    expect_scalar(other, "SELECT count(*) FROM cp WHERE name IS NULL AND id = 2", "1");
    expect_scalar(other, "SELECT name FROM cp WHERE id = 3", "tab\there");

    /* TO STDOUT: PostgreSQL's text format, row by row. */
    {
        struct script sc = { "", NULL, 0, 0, 0, 0, { 0 } };
        assert_int_equal(run_copy(c, &k, "COPY (SELECT id, name, ok, data FROM cp ORDER BY id) TO STDOUT", &sc),
                         ODBC_OK);
        n = capture_messages(&k, m, MAX_MSGS);
        assert_int_equal(n, 6);
        assert_int_equal(m[0].type, 'H');
        assert_string_equal(copydata(&m[1], buf, sizeof(buf)), "1\tone\tt\t\\\\x0102\n");
        assert_string_equal(copydata(&m[2], buf, sizeof(buf)), "2\t\\N\tf\t\\N\n");
        assert_string_equal(copydata(&m[3], buf, sizeof(buf)), "3\ttab\\there\tt\t\\\\x\n");
        assert_int_equal(m[4].type, 'c');
        assert_string_equal(complete_tag(&m[5]), "COPY 3");
        capture_reset(&k);
    }
    /* CSV with a header and a column list. */
    {
        struct script sc = { "", NULL, 0, 0, 0, 0, { 0 } };
        assert_int_equal(run_copy(c, &k, "COPY cp (id, name) TO STDOUT WITH (FORMAT csv, HEADER)", &sc),
                         ODBC_OK);
        n = capture_messages(&k, m, MAX_MSGS);
        assert_int_equal(n, 7);
        assert_string_equal(copydata(&m[1], buf, sizeof(buf)), "id,name\n");
        assert_string_equal(copydata(&m[3], buf, sizeof(buf)), "2,\n");
        capture_reset(&k);
    }

    /* A bad row fails the COPY at its line and leaves nothing behind. */
    {
        static const char *const bodies[] = { "10\ta\tt\t\\N\n11\tb\tt\t\\N\n12\tc\n", "13\td\tt\t\\N\n", "" };
        struct script sc = { "ddc", bodies, 0, 0, 0, 0, { 0 } };
        assert_int_equal(run_copy(c, &k, "COPY cp FROM STDIN", &sc), ODBC_ERROR);
        n = capture_messages(&k, m, MAX_MSGS);
        assert_int_equal(m[n - 1].type, 'E');
        assert_string_equal(msg_field(&m[n - 1], 'C'), "22P04");
        assert_non_null(strstr(msg_field(&m[n - 1], 'W'), "line 3"));
        /* It stopped at the bad row: the rest was not read. */
        assert_int_equal(sc.i, 1);
        capture_reset(&k);
        assert_int_equal(odbc_in_transaction(c), 0);
        expect_scalar(other, "SELECT count(*) FROM cp WHERE id >= 10", "0");
    }
    /* A value the backend refuses, in a batch: the error names its row's line, once. */
    {
        static const char *const bodies[] = { "50\ta\n51\tb\n", "50\tc\n53\td\n", "" };
        struct script sc = { "ddc", bodies, 0, 0, 0, 0, { 0 } };
        run_ok(c, "CREATE TABLE cpk (id int PRIMARY KEY, v varchar(10))", "CREATE TABLE", "CREATE TABLE");
        assert_int_equal(run_copy(c, &k, "COPY cpk FROM STDIN", &sc), ODBC_ERROR);
        expect_copy_error(&k, "line 3", NULL);
        capture_reset(&k);
        expect_scalar(other, "SELECT count(*) FROM cpk", "0");
        run_ok(c, "DROP TABLE cpk", "DROP TABLE", "DROP TABLE");
    }
    /* CopyFail. */
    {
        static const char *const bodies[] = { "20\ta\tt\t\\N\n", "client gave up" };
        struct script sc = { "df", bodies, 0, 0, 0, 0, { 0 } };
        assert_int_equal(run_copy(c, &k, "COPY cp FROM STDIN", &sc), ODBC_ERROR);
        n = capture_messages(&k, m, MAX_MSGS);
        assert_string_equal(msg_field(&m[n - 1], 'C'), "57014");
        assert_string_equal(msg_field(&m[n - 1], 'M'), "COPY from stdin failed: client gave up");
        capture_reset(&k);
        expect_scalar(other, "SELECT count(*) FROM cp WHERE id = 20", "0");
    }
    /* The client vanishes in the middle: nothing loaded, nothing sent after CopyInResponse. */
    {
        static const char *const bodies[] = { "30\ta\tt\t\\N\n" };
        struct script sc = { "d", bodies, 0, 1, 0, 0, { 0 } };
        assert_int_equal(run_copy(c, &k, "COPY cp FROM STDIN", &sc), ODBC_ABANDONED);
        capture_reset(&k);
        assert_int_equal(odbc_in_transaction(c), 0);
        expect_scalar(other, "SELECT count(*) FROM cp WHERE id = 30", "0");
    }
    /* Files and binary are refused before anything starts. */
    {
        struct script sc = { "", NULL, 0, 0, 0, 0, { 0 } };
        assert_int_equal(run_copy(c, &k, "COPY cp FROM '/etc/passwd'", &sc), ODBC_ERROR);
        n = capture_messages(&k, m, MAX_MSGS);
        assert_int_equal(n, 1);
        assert_string_equal(msg_field(&m[0], 'C'), "0A000");
        capture_reset(&k);
        assert_int_equal(run_copy(c, &k, "COPY nosuch FROM STDIN", &sc), ODBC_ERROR);
        n = capture_messages(&k, m, MAX_MSGS);
        assert_int_equal(n, 1);
        assert_string_equal(msg_field(&m[0], 'C'), "42P01");
        capture_reset(&k);
    }
    /* Many rows: several parameter-array batches. */
    run_ok(c, "CREATE TABLE cpbig (id int, name varchar(40))", "CREATE TABLE", "CREATE TABLE");
    {
        struct script sc = { "", NULL, 0, 0, 2500, 1, { 0 } };
        assert_int_equal(run_copy(c, &k, "COPY cpbig FROM STDIN", &sc), ODBC_OK);
        n = capture_messages(&k, m, MAX_MSGS);
        assert_string_equal(complete_tag(&m[n - 1]), "COPY 2500");
        capture_reset(&k);
    }
    expect_scalar(other, "SELECT count(*) FROM cpbig", "2500");
    expect_scalar(other, "SELECT sum(id) FROM cpbig", "3126250");
    expect_scalar(other, "SELECT name FROM cpbig WHERE id = 1777", "name 1777");

    /* Inside a transaction an error fails it, and leaves it open. */
    {
        struct odbc_sink sink = { capture_write, &k };
        static const char *const bodies[] = { "40\ta\tt\t\\N\n41\n", "" };
        struct script sc = { "dc", bodies, 0, 0, 0, 0, { 0 } };
        assert_int_equal(odbc_begin(c, "BEGIN", NULL, 0, &sink), ODBC_OK);
        assert_int_equal(run_copy(c, &k, "COPY cp FROM STDIN", &sc), ODBC_ERROR);
        assert_int_equal(odbc_in_transaction(c), 1);
        capture_reset(&k);
        assert_int_equal(odbc_rollback(c, "ROLLBACK", &sink), ODBC_OK);
        capture_reset(&k);
    }
    run_ok(c, "DROP TABLE cp", "DROP TABLE", "DROP TABLE");
    run_ok(c, "DROP TABLE cpbig", "DROP TABLE", "DROP TABLE");
}

static void test_sqlite_copy(void **state)
{
    struct odbc_conn *c = *state, *other = connect_or_fail(sqlite_connstr, CFG_DIALECT_SQLITE);

    test_copy_common(c, other);
    odbc_disconnect(other);
}

/* BEGIN's modes hold for that transaction only. */
static void test_sqlite_tx_modes(void **state)
{
    struct odbc_conn *c = *state;
    struct capture k = { 0 };
    struct odbc_sink sink = { capture_write, &k };
    struct pgmsg m[MAX_MSGS];
    const char *ro = "BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY";
    const char *bad = "BEGIN ISOLATION LEVEL SOMETIMES";

    run_ok(c, "CREATE TABLE txm (a int)", "CREATE TABLE", "CREATE TABLE");
    assert_int_equal(odbc_begin(c, "BEGIN", ro, strlen(ro), &sink), ODBC_OK);
    run_error(c, "INSERT INTO txm VALUES (1)", "25006", NULL);
    capture_reset(&k);
    assert_int_equal(odbc_rollback(c, "ROLLBACK", &sink), ODBC_OK);
    run_ok(c, "INSERT INTO txm VALUES (2)", "INSERT", "INSERT 0 1");
    capture_reset(&k);
    assert_int_equal(odbc_begin(c, "BEGIN", bad, strlen(bad), &sink), ODBC_ERROR);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 1);
    assert_string_equal(msg_field(&m[0], 'C'), "42601");
    assert_int_equal(odbc_in_transaction(c), 0);
    capture_reset(&k);
    run_ok(c, "DROP TABLE txm", "DROP TABLE", "DROP TABLE");
}

/* odbc_set_transaction's reply: its one message's tag, or "E " and the error's SQLSTATE. */
static const char *set_transaction(struct odbc_conn *c, const char *sql, int want)
{
    static char out[16];
    struct capture k = { 0 };
    struct odbc_sink sink = { capture_write, &k };
    struct pgmsg m[MAX_MSGS];

    assert_int_equal(odbc_set_transaction(c, "SET", sql, strlen(sql), &sink), want);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 1);
    if (m[0].type == 'E')
        snprintf(out, sizeof(out), "E %s", msg_field(&m[0], 'C'));
    else
        snprintf(out, sizeof(out), "%s", complete_tag(&m[0]));
    capture_reset(&k);
    return out;
}

/* SQLite: SET TRANSACTION's READ ONLY / READ WRITE is query_only, and ends with the block. */
static void test_sqlite_set_transaction(void **state)
{
    struct odbc_conn *c = *state;
    struct capture k = { 0 };
    struct odbc_sink sink = { capture_write, &k };

    run_ok(c, "CREATE TABLE stx (a int)", "CREATE TABLE", "CREATE TABLE");
    assert_int_equal(odbc_begin(c, "BEGIN", NULL, 0, &sink), ODBC_OK);
    run_ok(c, "INSERT INTO stx VALUES (1)", "INSERT", "INSERT 0 1");
    assert_string_equal(set_transaction(c, "SET TRANSACTION READ ONLY", ODBC_OK), "SET");
    run_error(c, "INSERT INTO stx VALUES (2)", "25006", NULL);
    assert_string_equal(set_transaction(c, "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE", ODBC_OK),
                        "SET");
    run_ok(c, "INSERT INTO stx VALUES (3)", "INSERT", "INSERT 0 1");
    assert_string_equal(set_transaction(c, "SET TRANSACTION READ ONLY", ODBC_OK), "SET");
    assert_string_equal(set_transaction(c, "SET TRANSACTION", ODBC_ERROR), "E 42601");
    assert_string_equal(set_transaction(c, "SET TRANSACTION READ SOMETIMES", ODBC_ERROR), "E 42601");
    capture_reset(&k);
    assert_int_equal(odbc_commit(c, "COMMIT", &sink), ODBC_OK);
    capture_reset(&k);
    /* The next transaction, and autocommit, write again. */
    run_ok(c, "INSERT INTO stx VALUES (4)", "INSERT", "INSERT 0 1");
    run_ok(c, "DELETE FROM stx", "DELETE", "DELETE 3");
    run_ok(c, "DROP TABLE stx", "DROP TABLE", "DROP TABLE");
}

/*
 * IRIS (its dialect, over the SQLite driver): no SET TRANSACTION reaches
 * the backend, where it would set the connection's next transactions for
 * good; what IRIS cannot give is refused as BEGIN refuses it.
 */
static void test_iris_set_transaction(void **state)
{
    struct odbc_conn *c = connect_or_fail(sqlite_connstr, CFG_DIALECT_IRIS);
    struct capture k = { 0 };
    struct odbc_sink sink = { capture_write, &k };

    (void)state;
    assert_int_equal(odbc_begin(c, "BEGIN", NULL, 0, &sink), ODBC_OK);
    /* SQLite would refuse the statement itself: a tag alone says nothing was sent. */
    assert_string_equal(set_transaction(c, "SET TRANSACTION READ WRITE", ODBC_OK), "SET");
    assert_string_equal(set_transaction(c, "SET TRANSACTION READ ONLY", ODBC_ERROR), "E 0A000");
    assert_string_equal(set_transaction(c, "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", ODBC_ERROR), "E 0A000");
    capture_reset(&k);
    assert_int_equal(odbc_rollback(c, "ROLLBACK", &sink), ODBC_OK);
    capture_reset(&k);
    odbc_disconnect(c);
}

/* ---- Extended query protocol ---- */

#define BYTES(...) (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ })

static struct odbc_param ptext(int32_t oid, const char *s)
{
    struct odbc_param p = { (const uint8_t *)s, (int32_t)strlen(s), oid, 0 };

    return p;
}

static struct odbc_param pbin(int32_t oid, const uint8_t *v, size_t n)
{
    struct odbc_param p = { v, (int32_t)n, oid, 1 };

    return p;
}

static struct odbc_param pnull(int32_t oid, int16_t format)
{
    struct odbc_param p = { NULL, -1, oid, format };

    return p;
}

static const int16_t all_binary[] = { 1 };

static int run_params(struct odbc_conn *c, struct capture *k, const char *sql, const char *verb,
                      const struct odbc_param *params, int nparams, const int16_t *formats,
                      int nformats, int flags, long max_rows)
{
    struct odbc_sink sink = { capture_write, k };

    capture_reset(k);
    return odbc_exec_params(c, sql, strlen(sql), verb, params, nparams, formats, nformats, flags,
                            max_rows, &sink);
}

/*
 * The columns of the RowDescription that starts k's messages must have these
 * types, and the first DataRow these values (NULL: SQL NULL).
 */
static void expect_untyped(struct capture *k, int n, const int32_t *oids, const char *const *values)
{
    struct pgmsg m[MAX_MSGS];
    struct coldesc cols[8];
    char buf[64];
    int i;

    assert_true(capture_messages(k, m, MAX_MSGS) >= 3);
    assert_int_equal(rowdesc_get(&m[0], cols, 8), n);
    assert_int_equal(m[1].type, 'D');
    for (i = 0; i < n; i++) {
        assert_int_equal(cols[i].oid, oids[i]);
        if (values[i] == NULL)
            assert_null(datarow_value(&m[1], i, buf, sizeof(buf)));
        else
            assert_string_equal(datarow_value(&m[1], i, buf, sizeof(buf)), values[i]);
    }
    capture_reset(k);
}

/*
 * SQLite's driver describes a column with no declared type by its value in
 * the current row, and outside a transaction before the first row: as
 * varchar.  The executor types it by its first value, the same in and out
 * of a transaction, through both protocols.
 */
static void test_sqlite_untyped_columns(void **state)
{
    struct odbc_conn *c = *state;
    struct capture k = { 0 };
    struct odbc_sink sink = { capture_write, &k };
    static const char sql[] = "SELECT 1+1 AS two, 2.5 AS r, 'x' AS t, NULL AS n, max(9000000000, 1) AS big";
    static const int32_t oids[] = { PG_OID_NUMERIC, PG_OID_FLOAT8, PG_OID_VARCHAR, PG_OID_VARCHAR, PG_OID_NUMERIC };
    static const char *const values[] = { "2", "2.5", "x", NULL, "9000000000" };
    static const int32_t counted[] = { PG_OID_NUMERIC, PG_OID_INT4 };
    static const char *const first[] = { "3", "1" };
    int round;

    run_ok(c, "CREATE TABLE untyped (a int)", "CREATE TABLE", "CREATE TABLE");
    run_ok(c, "INSERT INTO untyped VALUES (1), (2), (3)", "INSERT", "INSERT 0 3");
    /* Twice each: the second run of a text takes the answer remembered for it. */
    for (round = 0; round < 2; round++) {
        assert_int_equal(run(c, &k, sql, "SELECT"), ODBC_OK);
        expect_untyped(&k, 5, oids, values);
        /* A declared column keeps its declaration; a trailing comment does not upset the probe. */
        assert_int_equal(run(c, &k, "SELECT (SELECT count(*) FROM untyped), a FROM untyped ORDER BY a -- all",
                             "SELECT"),
                         ODBC_OK);
        expect_untyped(&k, 2, counted, first);
        assert_int_equal(run_params(c, &k, sql, "SELECT", NULL, 0, NULL, 0, ODBC_F_DESCRIBE, 0), ODBC_OK);
        expect_untyped(&k, 5, oids, values);
    }
    assert_int_equal(odbc_begin(c, "BEGIN", NULL, 0, &sink), ODBC_OK);
    capture_reset(&k);
    assert_int_equal(run(c, &k, sql, "SELECT"), ODBC_OK);
    expect_untyped(&k, 5, oids, values);
    assert_int_equal(odbc_rollback(c, "ROLLBACK", &sink), ODBC_OK);
    capture_reset(&k);

    /* An integer first and reals after it (an expression on a NUMERIC column): numeric reads them all. */
    {
        static const int32_t num[] = { PG_OID_NUMERIC };
        static const char *const first_num[] = { "114" };
        struct pgmsg m[MAX_MSGS];
        char buf[32];

        assert_int_equal(run(c, &k, "SELECT v * 2 AS p2 FROM (SELECT 57 AS v UNION ALL SELECT 136.19) ORDER BY v",
                             "SELECT"), ODBC_OK);
        assert_int_equal(capture_messages(&k, m, MAX_MSGS), 4);
        assert_string_equal(datarow_value(&m[2], 0, buf, sizeof(buf)), "272.38");
        expect_untyped(&k, 1, num, first_num);
    }

    /* A ROLLBACK after SQLite ended the transaction itself (ON CONFLICT ROLLBACK) succeeds, as PostgreSQL's would. */
    run_ok(c, "CREATE TABLE untyped_r (id integer PRIMARY KEY ON CONFLICT ROLLBACK)", "CREATE TABLE", "CREATE TABLE");
    assert_int_equal(odbc_begin(c, "BEGIN", NULL, 0, &sink), ODBC_OK);
    run_ok(c, "INSERT INTO untyped_r VALUES (1)", "INSERT", "INSERT 0 1");
    assert_int_equal(run(c, &k, "INSERT INTO untyped_r VALUES (1)", "INSERT"), ODBC_ERROR);
    capture_reset(&k);
    assert_int_equal(odbc_rollback(c, "ROLLBACK", &sink), ODBC_OK);
    capture_reset(&k);
    assert_int_equal(odbc_in_transaction(c), 0);
    run_ok(c, "DROP TABLE untyped_r", "DROP TABLE", "DROP TABLE");

    /* With no row to judge by, or a first value that is NULL, a column stays as described. */
    {
        static const int32_t text[] = { PG_OID_VARCHAR };
        static const char *const null[] = { NULL };
        struct pgmsg m[MAX_MSGS];
        struct coldesc cols[2];

        assert_int_equal(run(c, &k, "SELECT a + 1 AS b FROM untyped WHERE a > 5", "SELECT"), ODBC_OK);
        assert_int_equal(capture_messages(&k, m, MAX_MSGS), 2);
        assert_int_equal(rowdesc_get(&m[0], cols, 2), 1);
        assert_int_equal(cols[0].oid, PG_OID_VARCHAR);
        capture_reset(&k);
        assert_int_equal(run(c, &k, "SELECT CASE WHEN a = 1 THEN NULL ELSE a END AS b FROM untyped ORDER BY a",
                             "SELECT"), ODBC_OK);
        expect_untyped(&k, 1, text, null);
    }
    run_ok(c, "DROP TABLE untyped", "DROP TABLE", "DROP TABLE");
}

/*
 * SQLite: a statement with parameters runs with its values written in until
 * it has proved small (the driver would read its whole result), then bound.
 * Both ways must give SQLite the same values: the same storage class, the
 * same comparisons, the same bytes.
 */
static void test_sqlite_inlined_params(void **state)
{
    struct odbc_conn *c = *state;
    struct capture k = { 0 };
    struct pgmsg m[MAX_MSGS];
    static const uint8_t blob[] = { 0x00, 0xff, '\'', '?' };
    static const char sql[] = "SELECT typeof(?) || ':' || quote(?) || ':' || ifnull(? = ?, 'null')";
    const struct odbc_param cases[][4] = {
        { pnull(PG_OID_INT4, 0), pnull(PG_OID_INT4, 0), pnull(PG_OID_INT4, 0), pnull(PG_OID_INT4, 0) },
        { ptext(PG_OID_INT8, "-9000000000"), ptext(PG_OID_INT8, "-9000000000"),
          ptext(PG_OID_INT8, "-9000000000"), ptext(PG_OID_INT8, "-9000000000") },
        { ptext(PG_OID_FLOAT8, "2"), ptext(PG_OID_FLOAT8, "2"), ptext(PG_OID_FLOAT8, "2"),
          ptext(PG_OID_FLOAT8, "2") },
        { ptext(PG_OID_FLOAT8, "0.1"), ptext(PG_OID_FLOAT8, "0.1"), ptext(PG_OID_FLOAT8, "0.1"),
          ptext(PG_OID_FLOAT8, "0.1") },
        { ptext(PG_OID_FLOAT8, "-Infinity"), ptext(PG_OID_FLOAT8, "-Infinity"),
          ptext(PG_OID_FLOAT8, "-Infinity"), ptext(PG_OID_FLOAT8, "-Infinity") },
        { ptext(PG_OID_BOOL, "true"), ptext(PG_OID_BOOL, "true"), ptext(PG_OID_BOOL, "t"),
          ptext(PG_OID_INT4, "1") },
        { ptext(PG_OID_TEXT, "it's -- /* ?"), ptext(PG_OID_TEXT, "it's -- /* ?"),
          ptext(PG_OID_TEXT, "it's -- /* ?"), ptext(PG_OID_TEXT, "it's -- /* ?") },
        { ptext(0, "42"), ptext(0, "42"), ptext(0, "42"), ptext(PG_OID_INT4, "42") },
        { pbin(PG_OID_BYTEA, blob, sizeof(blob)), pbin(PG_OID_BYTEA, blob, sizeof(blob)),
          pbin(PG_OID_BYTEA, blob, sizeof(blob)), pbin(PG_OID_BYTEA, blob, sizeof(blob)) },
    };
    char first[128], now[128];
    size_t i;
    int run;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        /* A text of its own per case, so that each starts written in. */
        char text[160];

        snprintf(text, sizeof(text), "%s AS \"case %zu\"", sql, i);
        for (run = 0; run < ODBC_SMALL_RUNS + 2; run++) {
            assert_int_equal(run_params(c, &k, text, "SELECT", cases[i], 4, NULL, 0, ODBC_F_DESCRIBE, 0),
                             ODBC_OK);
            assert_int_equal(capture_messages(&k, m, MAX_MSGS), 3);
            assert_non_null(datarow_value(&m[1], 0, now, sizeof(now)));
            if (run == 0)
                memcpy(first, now, sizeof(first));
            else
                assert_string_equal(now, first);
        }
    }
    /* Written in where SQLite's grammar would read more into a bare number, and values it would not read back. */
    {
        static const struct {
            const char *sql;
            int n;
            struct odbc_param p[2];
            const char *want;
        } more[] = {
            /* "0-" before "-5" must not start a comment that hides the rest */
            { "SELECT count(*) FROM (SELECT 1 AS a UNION ALL SELECT 2) WHERE a > 0-? AND a > ?", 2,
              { { (const uint8_t *)"-5", 2, PG_OID_INT8, 0 }, { (const uint8_t *)"1", 1, PG_OID_INT8, 0 } }, "0" },
            /* a constant, not the second column */
            { "SELECT a FROM (SELECT 2 AS a, 'a' AS b UNION ALL SELECT 1, 'z') ORDER BY ?, a LIMIT 1", 1,
              { { (const uint8_t *)"2", 1, PG_OID_INT4, 0 } }, "1" },
            { "SELECT count(*) FROM (SELECT 1 AS a UNION ALL SELECT 2) GROUP BY ?", 1,
              { { (const uint8_t *)"1", 1, PG_OID_INT4, 0 } }, "2" },
            { "SELECT quote(?) || typeof(?)", 2,
              { { (const uint8_t *)"-9223372036854775808", 20, PG_OID_INT8, 0 },
                { (const uint8_t *)"-9223372036854775808", 20, PG_OID_INT8, 0 } },
              "-9223372036854775808integer" },
            /* SQLite does not read this double's text back as the same double: bound, not written in */
            { "SELECT quote(?), typeof(?)", 2,
              { { (const uint8_t *)"-2.2606631148481385e-299", 24, PG_OID_FLOAT8, 0 },
                { (const uint8_t *)"0", 1, PG_OID_FLOAT8, 0 } }, NULL },
        };
        char want[128];

        for (i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
            for (run = 0; run < ODBC_SMALL_RUNS + 2; run++) {
                assert_int_equal(run_params(c, &k, more[i].sql, "SELECT", more[i].p, more[i].n, NULL, 0,
                                            ODBC_F_DESCRIBE, 0),
                                 ODBC_OK);
                assert_int_equal(capture_messages(&k, m, MAX_MSGS), 3);
                assert_non_null(datarow_value(&m[1], 0, now, sizeof(now)));
                if (more[i].want != NULL)
                    assert_string_equal(now, more[i].want);
                if (run == 0)
                    memcpy(want, now, sizeof(want));
                else
                    assert_string_equal(now, want);
            }
        }
    }
    capture_reset(&k);
    /* What they are: written in and bound alike. */
    assert_int_equal(run_params(c, &k, "SELECT typeof(?), typeof(?), quote(?)", "SELECT",
                                (struct odbc_param[]){ ptext(PG_OID_FLOAT8, "2"), ptext(PG_OID_BOOL, "f"),
                                                       pbin(PG_OID_BYTEA, blob, sizeof(blob)) },
                                3, NULL, 0, ODBC_F_DESCRIBE, 0),
                     ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 3);
    assert_string_equal(datarow_value(&m[1], 0, now, sizeof(now)), "real");
    assert_string_equal(datarow_value(&m[1], 1, now, sizeof(now)), "integer");
    assert_string_equal(datarow_value(&m[1], 2, now, sizeof(now)), "X'00FF273F'");
    capture_reset(&k);
}

/* A parameterised statement that must succeed with one CommandComplete and nothing else. */
static void params_ok(struct odbc_conn *c, const char *sql, const char *verb,
                      const struct odbc_param *params, int nparams, const char *tag)
{
    struct capture k = { 0 };
    struct pgmsg m[MAX_MSGS];

    assert_int_equal(run_params(c, &k, sql, verb, params, nparams, NULL, 0, 0, 0), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 1);
    assert_string_equal(complete_tag(&m[0]), tag);
    capture_reset(&k);
}

/* A parameterised statement that must fail with exactly one ErrorResponse. */
static void params_error(struct odbc_conn *c, const char *sql, const struct odbc_param *params,
                         int nparams, const char *state, const char *msg)
{
    struct capture k = { 0 };
    struct pgmsg m[MAX_MSGS];

    assert_int_equal(run_params(c, &k, sql, "SELECT", params, nparams, NULL, 0, 0, 0),
                     ODBC_ERROR);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 1);
    assert_int_equal(m[0].type, 'E');
    assert_string_equal(msg_field(&m[0], 'C'), state);
    if (msg != NULL)
        assert_string_equal(msg_field(&m[0], 'M'), msg);
    capture_reset(&k);
}

/* Column i of a DataRow as it is on the wire: *len -1 for NULL. */
static const uint8_t *datarow_raw(const struct pgmsg *m, int16_t i, int32_t *len)
{
    struct pgproto_reader r;
    const uint8_t *p = NULL;
    int16_t n, j;

    assert_int_equal(m->type, 'D');
    pgproto_reader_init(&r, m->body, m->len);
    pgproto_get_i16(&r, &n);
    assert_true(i < n);
    for (j = 0; j <= i; j++) {
        pgproto_get_i32(&r, len);
        if (*len >= 0)
            pgproto_get_bytes(&r, &p, (size_t)*len);
    }
    assert_int_equal(r.err, 0);
    return p;
}

/*
 * SQLite: the untyped columns of a statement with parameters are typed in a
 * run that describes its portal (the probe runs with the values written
 * in), rows continued after a row limit included; a run without Describe
 * keeps the statement's own description, which a client that described the
 * statement reads its rows by, binary ones too.
 */
static void test_sqlite_portal_types(void **state)
{
    struct odbc_conn *c = *state;
    struct capture k = { 0 };
    struct odbc_sink sink = { capture_write, &k };
    struct pgmsg m[MAX_MSGS];
    struct coldesc cols[2];
    static const char counted[] = "SELECT count(*) AS n, sum(a) * 1.5 AS s FROM untyped_p WHERE a > ?";
    static const char doubled[] = "SELECT a * 2 AS d FROM untyped_p WHERE a > ? ORDER BY a";
    static const int32_t oids[] = { PG_OID_NUMERIC, PG_OID_FLOAT8 };
    static const char *const values[] = { "2", "7.5" };
    static const int16_t binary[] = { 1 };
    const struct odbc_param one = ptext(PG_OID_INT4, "1"), zero = ptext(PG_OID_INT4, "0");
    const uint8_t *raw;
    int32_t len;
    int round;

    run_ok(c, "CREATE TABLE untyped_p (a int)", "CREATE TABLE", "CREATE TABLE");
    run_ok(c, "INSERT INTO untyped_p VALUES (1), (2), (3)", "INSERT", "INSERT 0 3");
    /* The first run probes, the later ones take the types kept on the handle. */
    for (round = 0; round < 3; round++) {
        assert_int_equal(run_params(c, &k, counted, "SELECT", &one, 1, NULL, 0, ODBC_F_DESCRIBE, 0), ODBC_OK);
        expect_untyped(&k, 2, oids, values);
        capture_reset(&k);
    }

    /* Binary, with a row limit: the numeric's binary form, before the limit and after it. */
    assert_int_equal(run_params(c, &k, doubled, "SELECT", &zero, 1, binary, 1, ODBC_F_DESCRIBE, 1), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 3);     /* T, D, s */
    assert_int_equal(rowdesc_get(&m[0], cols, 2), 1);
    assert_int_equal(cols[0].oid, PG_OID_NUMERIC);
    raw = datarow_raw(&m[1], 0, &len);
    assert_int_equal(len, 10);      /* one base-10000 digit: 2 */
    assert_int_equal(raw[9], 2);
    assert_int_equal(m[2].type, 's');
    capture_reset(&k);
    assert_int_equal(odbc_fetch_more(c, 0, 5, &sink), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 3);     /* D, D, C */
    raw = datarow_raw(&m[1], 0, &len);
    assert_int_equal(len, 10);
    assert_int_equal(raw[9], 6);
    capture_reset(&k);

    /* Described again while a row limit keeps it open, the portal keeps the columns its rows go by. */
    assert_int_equal(run_params(c, &k, doubled, "SELECT", &zero, 1, NULL, 0, ODBC_F_DESCRIBE, 1), ODBC_OK);
    capture_reset(&k);
    assert_int_equal(odbc_describe(c, doubled, strlen(doubled), 1, NULL, 0, NULL, 0, &sink), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 1);
    assert_int_equal(rowdesc_get(&m[0], cols, 2), 1);
    assert_int_equal(cols[0].oid, PG_OID_NUMERIC);
    capture_reset(&k);
    /* Described as a statement, it is the statement's own description. */
    assert_int_equal(odbc_describe(c, doubled, strlen(doubled), 1, NULL, ODBC_DESCRIBE_PARAMS, NULL, 0, &sink),
                     ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 2);
    assert_int_equal(rowdesc_get(&m[1], cols, 2), 1);
    assert_int_equal(cols[0].oid, PG_OID_VARCHAR);
    capture_reset(&k);
    odbc_close_cursor(c);

    /* Values of another kind probe again: "SELECT ?" is a number for 1, text for 'abc'. */
    {
        const struct odbc_param abc = ptext(0, "abc");
        struct coldesc one_col[1];
        char buf[16];

        assert_int_equal(run_params(c, &k, "SELECT ? + 0 AS v", "SELECT", &one, 1, NULL, 0, ODBC_F_DESCRIBE, 0),
                         ODBC_OK);
        assert_int_equal(capture_messages(&k, m, MAX_MSGS), 3);
        assert_int_equal(rowdesc_get(&m[0], one_col, 1), 1);
        assert_int_equal(one_col[0].oid, PG_OID_NUMERIC);
        capture_reset(&k);
        assert_int_equal(run_params(c, &k, "SELECT ? + 0 AS v", "SELECT", &abc, 1, NULL, 0, ODBC_F_DESCRIBE, 0),
                         ODBC_OK);
        assert_int_equal(capture_messages(&k, m, MAX_MSGS), 3);
        assert_int_equal(rowdesc_get(&m[0], one_col, 1), 1);
        assert_int_equal(one_col[0].oid, PG_OID_NUMERIC);      /* 'abc' + 0 is 0: an integer */
        assert_string_equal(datarow_value(&m[1], 0, buf, sizeof(buf)), "0");
        capture_reset(&k);
        assert_int_equal(run_params(c, &k, "SELECT ? AS v", "SELECT", &one, 1, NULL, 0, ODBC_F_DESCRIBE, 0), ODBC_OK);
        assert_int_equal(capture_messages(&k, m, MAX_MSGS), 3);
        assert_int_equal(rowdesc_get(&m[0], one_col, 1), 1);
        assert_int_equal(one_col[0].oid, PG_OID_NUMERIC);
        capture_reset(&k);
        assert_int_equal(run_params(c, &k, "SELECT ? AS v", "SELECT", &abc, 1, NULL, 0, ODBC_F_DESCRIBE, 0), ODBC_OK);
        assert_int_equal(capture_messages(&k, m, MAX_MSGS), 3);
        assert_int_equal(rowdesc_get(&m[0], one_col, 1), 1);
        assert_int_not_equal(one_col[0].oid, PG_OID_NUMERIC);
        assert_string_equal(datarow_value(&m[1], 0, buf, sizeof(buf)), "abc");
        capture_reset(&k);
    }

    /* A first run with only a NULL to judge by: the next one probes again. */
    {
        const struct odbc_param nine = ptext(PG_OID_INT4, "9");
        static const int32_t num[] = { PG_OID_NUMERIC };
        static const char *const six[] = { "6" };

        assert_int_equal(run_params(c, &k, "SELECT max(a) * 2 AS m FROM untyped_p WHERE a > ?", "SELECT", &nine, 1,
                                    NULL, 0, ODBC_F_DESCRIBE, 0), ODBC_OK);
        capture_reset(&k);
        assert_int_equal(run_params(c, &k, "SELECT max(a) * 2 AS m FROM untyped_p WHERE a > ?", "SELECT", &zero, 1,
                                    NULL, 0, ODBC_F_DESCRIBE, 0), ODBC_OK);
        expect_untyped(&k, 1, num, six);
        capture_reset(&k);
    }

    /* Without Describe: the statement's description, text, whose binary form is its bytes. */
    assert_int_equal(run_params(c, &k, doubled, "SELECT", &zero, 1, binary, 1, 0, 0), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 4);     /* D, D, D, C */
    raw = datarow_raw(&m[0], 0, &len);
    assert_int_equal(len, 1);
    assert_memory_equal(raw, "2", 1);
    capture_reset(&k);
    run_ok(c, "DROP TABLE untyped_p", "DROP TABLE", "DROP TABLE");
}

/*
 * SQLite: the columns the translator noted as booleans ("pgiris:bool" in a
 * comment that ends the statement) are bool, 1 and 0 sent as t and f, in
 * the simple and the extended protocol, text and binary; the rest keep
 * their types, and a note naming no column of the result changes nothing.
 */
static void test_sqlite_bool_hint(void **state)
{
    struct odbc_conn *c = *state;
    struct capture k = { 0 };
    struct pgmsg m[MAX_MSGS];
    struct coldesc cols[4];
    static const char sql[] = "SELECT 1 < 2 AS lt, 2 < 1 AS gt, NULL = 1 AS n, 7 AS seven /*pgiris:bool 1,2,3,9*/ ;";
    static const int32_t oids[] = { PG_OID_BOOL, PG_OID_BOOL, PG_OID_BOOL, PG_OID_NUMERIC };
    static const char *const values[] = { "t", "f", NULL, "7" };
    static const int16_t binary[] = { 1 };
    const struct odbc_param one = ptext(PG_OID_INT4, "1");
    const uint8_t *raw;
    int32_t len;

    assert_int_equal(run(c, &k, sql, "SELECT"), ODBC_OK);
    expect_untyped(&k, 4, oids, values);
    capture_reset(&k);
    assert_int_equal(run_params(c, &k, sql, "SELECT", NULL, 0, NULL, 0, ODBC_F_DESCRIBE, 0), ODBC_OK);
    expect_untyped(&k, 4, oids, values);
    capture_reset(&k);
    /* A statement with a parameter, described before its values: bool all the same, binary too. */
    assert_int_equal(run_params(c, &k, "SELECT ? > 0 AS pos /*pgiris:bool 1*/", "SELECT", &one, 1, binary, 1,
                                ODBC_F_DESCRIBE, 0), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 3);
    assert_int_equal(rowdesc_get(&m[0], cols, 4), 1);
    assert_int_equal(cols[0].oid, PG_OID_BOOL);
    raw = datarow_raw(&m[1], 0, &len);
    assert_int_equal(len, 1);
    assert_int_equal(raw[0], 1);
    capture_reset(&k);
    /* Any other number is true unless it is zero (x::boolean of 5 is 5 on SQLite); text stays. */
    {
        static const int32_t b3[] = { PG_OID_BOOL, PG_OID_BOOL, PG_OID_BOOL };
        static const char *const v3[] = { "t", "f", "x" };

        static const char *const words[] = { "t", "f", "t" };

        assert_int_equal(run(c, &k, "SELECT 5 AS five, 0.0 AS z, 'x' AS t /*pgiris:bool 1,2,3*/", "SELECT"), ODBC_OK);
        expect_untyped(&k, 3, b3, v3);
        capture_reset(&k);
        /* boolin's words, as SQLite keeps them in a BOOLEAN column */
        assert_int_equal(run(c, &k, "SELECT ' Yes' AS y, 'off' AS o, 'TRUE' AS t /*pgiris:bool 1,2,3*/", "SELECT"),
                         ODBC_OK);
        expect_untyped(&k, 3, b3, words);
        capture_reset(&k);
        /* the same in binary */
        assert_int_equal(run_params(c, &k, "SELECT 5 AS five, 'off' AS o /*pgiris:bool 1,2*/", "SELECT", NULL, 0,
                                    binary, 1, ODBC_F_DESCRIBE, 0), ODBC_OK);
        assert_int_equal(capture_messages(&k, m, MAX_MSGS), 3);
        raw = datarow_raw(&m[1], 0, &len);
        assert_int_equal(len, 1);
        assert_int_equal(raw[0], 1);
        raw = datarow_raw(&m[1], 1, &len);
        assert_int_equal(len, 1);
        assert_int_equal(raw[0], 0);
        capture_reset(&k);
    }
    /* Not a note: another comment, or one in the middle. */
    assert_int_equal(run(c, &k, "SELECT 1 < 2 AS lt /* pgiris:bool 1 */", "SELECT"), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 3);
    assert_int_equal(rowdesc_get(&m[0], cols, 4), 1);
    assert_int_equal(cols[0].oid, PG_OID_NUMERIC);
    capture_reset(&k);
}

/*
 * SQLite: integer notes ("pgiris:bool 4 int4 1,3 int8 2 int2 5") type
 * those columns, in text and binary, past the probe that would make them
 * numeric; groups of any order, and a column past the result's changes
 * nothing.
 */
static void test_sqlite_int_hint(void **state)
{
    struct odbc_conn *c = *state;
    struct capture k = { 0 };
    struct pgmsg m[MAX_MSGS];
    struct coldesc cols[6];
    static const char sql[] =
        "SELECT 5 AS five, 9000000000 AS big, 7 AS seven, 1 < 2 AS lt, 3 AS small, 8 AS plain"
        " /*pgiris:bool 4 int4 1,3,9 int8 2 int2 5*/";
    static const int32_t oids[] = { PG_OID_INT4, PG_OID_INT8, PG_OID_INT4, PG_OID_BOOL, PG_OID_INT2,
                                    PG_OID_NUMERIC };
    static const char *const values[] = { "5", "9000000000", "7", "t", "3", "8" };
    static const int16_t binary[] = { 1 };
    const uint8_t *raw;
    int32_t len;

    assert_int_equal(run(c, &k, sql, "SELECT"), ODBC_OK);
    expect_untyped(&k, 6, oids, values);
    capture_reset(&k);
    assert_int_equal(run_params(c, &k, sql, "SELECT", NULL, 0, binary, 1, ODBC_F_DESCRIBE, 0), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 3);
    assert_int_equal(rowdesc_get(&m[0], cols, 6), 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal(cols[i].oid, oids[i]);
    raw = datarow_raw(&m[1], 0, &len);
    assert_int_equal(len, 4);
    assert_int_equal(pgproto_load_u32(raw), 5);
    raw = datarow_raw(&m[1], 1, &len);
    assert_int_equal(len, 8);
    assert_int_equal(pgproto_load_u32(raw), 2);
    assert_int_equal(pgproto_load_u32(raw + 4), 410065408);     /* 9000000000 = 2 << 32 | 410065408 */
    raw = datarow_raw(&m[1], 4, &len);
    assert_int_equal(len, 2);
    capture_reset(&k);
    /* A note's word with no number, or a number before any word, ends the reading. */
    assert_int_equal(run(c, &k, "SELECT 5 AS five /*pgiris:1 int4*/", "SELECT"), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 3);
    assert_int_equal(rowdesc_get(&m[0], cols, 6), 1);
    assert_int_equal(cols[0].oid, PG_OID_NUMERIC);
    capture_reset(&k);
}

/* "SELECT ?" with one parameter: SQLite hands back the text it was bound with. */
static void expect_bound_text(struct odbc_conn *c, struct odbc_param p, const char *want)
{
    struct capture k = { 0 };
    struct pgmsg m[MAX_MSGS];
    char buf[256];

    assert_int_equal(run_params(c, &k, "SELECT ?", "SELECT", &p, 1, NULL, 0, 0, 0), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 2);
    assert_string_equal(datarow_value(&m[0], 0, buf, sizeof(buf)), want);
    capture_reset(&k);
}

/*
 * One column of the round trip: the value as a text and as a binary
 * parameter, and what comes back in each format.
 */
struct rt_case {
    const char *col;
    int32_t oid;
    const char *text;
    const uint8_t *bin;
    size_t bin_len;
    const char *out;
    int32_t res_oid;
    const uint8_t *res;
    size_t res_len;
};

/*
 * Insert the same values as text parameters (k = 1) and as binary ones
 * (k = 2), then NULLs typed (k = 3) and untyped (k = 4); read each row back
 * by a parameter in WHERE, in text and in binary, and compare the bytes.
 */
static void roundtrip(struct odbc_conn *c, const char *table, const struct rt_case *cases,
                      int n)
{
    struct capture k = { 0 };
    struct pgmsg m[MAX_MSGS];
    struct coldesc cols[32];
    struct odbc_param params[32];
    char insert[1024], select[1024], keybuf[16], buf[256];
    const uint8_t *v;
    int32_t len;
    int i, key, fmt;
    size_t used;

    assert_true(n < 31);
    used = (size_t)snprintf(insert, sizeof(insert), "INSERT INTO %s (k", table);
    for (i = 0; i < n; i++)
        used += (size_t)snprintf(insert + used, sizeof(insert) - used, ", %s", cases[i].col);
    used += (size_t)snprintf(insert + used, sizeof(insert) - used, ") VALUES (?");
    for (i = 0; i < n; i++)
        used += (size_t)snprintf(insert + used, sizeof(insert) - used, ", ?");
    snprintf(insert + used, sizeof(insert) - used, ")");
    used = (size_t)snprintf(select, sizeof(select), "SELECT ");
    for (i = 0; i < n; i++)
        used += (size_t)snprintf(select + used, sizeof(select) - used, "%s%s", i ? ", " : "",
                                 cases[i].col);
    snprintf(select + used, sizeof(select) - used, " FROM %s WHERE k = ?", table);

    for (key = 1; key <= 4; key++) {
        snprintf(keybuf, sizeof(keybuf), "%d", key);
        params[0] = ptext(PG_OID_INT4, keybuf);
        for (i = 0; i < n; i++)
            params[i + 1] = key == 1   ? ptext(cases[i].oid, cases[i].text)
                            : key == 2 ? pbin(cases[i].oid, cases[i].bin, cases[i].bin_len)
                            : key == 3 ? pnull(cases[i].oid, 0)
                                       : pnull(0, 1);
        params_ok(c, insert, "INSERT", params, n + 1, "INSERT 0 1");
    }

    for (key = 1; key <= 4; key++) {
        for (fmt = 0; fmt <= 1; fmt++) {
            snprintf(keybuf, sizeof(keybuf), "%d", key);
            params[0] = ptext(PG_OID_INT4, keybuf);
            assert_int_equal(run_params(c, &k, select, "SELECT", params, 1,
                                        fmt ? all_binary : NULL, fmt, ODBC_F_DESCRIBE, 0),
                             ODBC_OK);
            assert_int_equal(capture_messages(&k, m, MAX_MSGS), 3);
            assert_int_equal(rowdesc_get(&m[0], cols, 32), n);
            assert_string_equal(complete_tag(&m[2]), "SELECT 1");
            for (i = 0; i < n; i++) {
                assert_string_equal(cols[i].name, cases[i].col);
                if (cols[i].oid != cases[i].res_oid)
                    fail_msg("column %s: type %d, want %d", cases[i].col, cols[i].oid,
                             cases[i].res_oid);
                assert_int_equal(cols[i].format, fmt);
                v = datarow_raw(&m[1], (int16_t)i, &len);
                if (key >= 3) {
                    assert_int_equal(len, -1);
                } else if (fmt == 0) {
                    if (strcmp(datarow_value(&m[1], (int16_t)i, buf, sizeof(buf)),
                               cases[i].out) != 0)
                        fail_msg("row %d column %s: \"%s\", want \"%s\"", key, cases[i].col, buf,
                                 cases[i].out);
                } else if ((size_t)len != cases[i].res_len ||
                           memcmp(v, cases[i].res, cases[i].res_len) != 0) {
                    fail_msg("row %d column %s: binary value of %d bytes differs", key,
                             cases[i].col, len);
                }
            }
            capture_reset(&k);
        }
    }
}

#define TX_UTF8 0x68, 0xc3, 0xa9, 0x6c, 0x6c, 0x6f, 0x20, 0xe2, 0x9c, 0x93
#define UUID_BYTES                                                                         \
    0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, \
        0x11
#define UUID_TEXT "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
#define DATE_BYTES 0x00, 0x00, 0x22, 0x3f                                   /* 2024-01-02 */
#define TIME_BYTES 0x00, 0x00, 0x00, 0x02, 0x92, 0x57, 0x35, 0x80           /* 03:04:05.123456 */
#define TS_BYTES 0x00, 0x02, 0xb0, 0xec, 0x85, 0x17, 0xd5, 0x80             /* 2024-01-02 + that */
#define TZ_BYTES 0x00, 0x02, 0xb0, 0xea, 0xd7, 0xf6, 0x4c, 0x60             /* 01:04:05.5 UTC */
#define NUMERIC_12_34 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x0c, 0x0d, 0x48

static void test_sqlite_params_roundtrip(void **state)
{
    struct odbc_conn *c = *state;
    const struct rt_case cases[] = {
        { "i2", PG_OID_INT2, "7", BYTES(0, 7), "7", PG_OID_INT2, BYTES(0, 7) },
        { "i4", PG_OID_INT4, " -42 ", BYTES(0xff, 0xff, 0xff, 0xd6), "-42", PG_OID_INT4,
          BYTES(0xff, 0xff, 0xff, 0xd6) },
        { "i8", PG_OID_INT8, "9000000000", BYTES(0, 0, 0, 2, 0x18, 0x71, 0x1a, 0), "9000000000",
          PG_OID_INT8, BYTES(0, 0, 0, 2, 0x18, 0x71, 0x1a, 0) },
        { "f8", PG_OID_FLOAT8, "2.25", BYTES(0x40, 2, 0, 0, 0, 0, 0, 0), "2.25", PG_OID_FLOAT8,
          BYTES(0x40, 2, 0, 0, 0, 0, 0, 0) },
        /* SQLite's driver describes numeric columns as double; the declared name says numeric. */
        { "nu", PG_OID_NUMERIC, "12.34", BYTES(NUMERIC_12_34), "12.34", PG_OID_NUMERIC,
          BYTES(NUMERIC_12_34) },
        { "bo", PG_OID_BOOL, "true", BYTES(1), "t", PG_OID_BOOL, BYTES(1) },
        { "by", PG_OID_BYTEA, "\\x00FF10", BYTES(0, 0xff, 0x10), "\\x00ff10", PG_OID_BYTEA,
          BYTES(0, 0xff, 0x10) },
        { "dt", PG_OID_DATE, "2024-01-02", BYTES(DATE_BYTES), "2024-01-02", PG_OID_DATE,
          BYTES(DATE_BYTES) },
        { "tm", PG_OID_TIME, "03:04:05.123456", BYTES(TIME_BYTES), "03:04:05.123456",
          PG_OID_TIME, BYTES(TIME_BYTES) },
        { "ts", PG_OID_TIMESTAMP, "2024-01-02 03:04:05.123456", BYTES(TS_BYTES),
          "2024-01-02 03:04:05.123456", PG_OID_TIMESTAMP, BYTES(TS_BYTES) },
        { "tz", PG_OID_TIMESTAMPTZ, "2024-01-02 01:04:05.5", BYTES(TZ_BYTES),
          "2024-01-02 01:04:05.5+00", PG_OID_TIMESTAMPTZ, BYTES(TZ_BYTES) },
        /* No uuid type in SQLite: the column is varchar and keeps the text. */
        { "u", PG_OID_UUID, UUID_TEXT, BYTES(UUID_BYTES), UUID_TEXT, PG_OID_VARCHAR,
          (const uint8_t *)UUID_TEXT, 36 },
        { "tx", PG_OID_TEXT, "héllo ✓", BYTES(TX_UTF8), "héllo ✓", PG_OID_TEXT, BYTES(TX_UTF8) },
        { "vc", 0, "vc", BYTES('v', 'c'), "vc", PG_OID_VARCHAR, BYTES('v', 'c') },
    };

    run_ok(c,
           "CREATE TABLE rt (k int, i2 smallint, i4 int, i8 bigint, f8 double, "
           "nu numeric(10,2), bo boolean, by blob, dt date, tm time, ts timestamp, "
           "tz timestamptz, u uuid, tx text, vc varchar(20))",
           "CREATE TABLE", "CREATE TABLE");
    roundtrip(c, "rt", cases, (int)(sizeof(cases) / sizeof(cases[0])));
    run_ok(c, "DROP TABLE rt", "DROP TABLE", "DROP TABLE");
}

/* Binary parameters rendered as the character data they are bound as. */
static void test_sqlite_binary_params(void **state)
{
    struct odbc_conn *c = *state;

    expect_bound_text(c, pbin(PG_OID_INT2, BYTES(0x80, 0)), "-32768");
    expect_bound_text(c, pbin(PG_OID_INT8, BYTES(0x80, 0, 0, 0, 0, 0, 0, 0)),
                      "-9223372036854775808");
    expect_bound_text(c, pbin(PG_OID_BOOL, BYTES(2)), "1");
    expect_bound_text(c, pbin(PG_OID_BOOL, BYTES(0)), "0");
    expect_bound_text(c, pbin(PG_OID_DATE, BYTES(0xff, 0xff, 0xff, 0xff)), "1999-12-31");
    expect_bound_text(c, pbin(PG_OID_DATE, BYTES(0x7f, 0xff, 0xff, 0xff)), "infinity");
    /* -730119 is 0001-01-01; the day before is in 1 BC, PostgreSQL's year 0. */
    expect_bound_text(c, pbin(PG_OID_DATE, BYTES(0xff, 0xf4, 0xdb, 0xf9)), "0001-01-01");
    expect_bound_text(c, pbin(PG_OID_DATE, BYTES(0xff, 0xf4, 0xdb, 0xf8)), "0001-12-31 BC");
    /* 5 BC was a leap year (PostgreSQL's date_send: -731887). */
    expect_bound_text(c, pbin(PG_OID_DATE, BYTES(0xff, 0xf4, 0xd5, 0x11)), "0005-02-29 BC");
    expect_bound_text(c, pbin(PG_OID_TIME, BYTES(0, 0, 0, 0x14, 0x1d, 0xd7, 0x60, 0)),
                      "24:00:00");
    expect_bound_text(c, pbin(PG_OID_TIME, BYTES(0, 0, 0, 0, 0, 0, 0, 1)), "00:00:00.000001");
    expect_bound_text(c, pbin(PG_OID_TIMESTAMP, BYTES(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                                      0xff)),
                      "1999-12-31 23:59:59.999999");
    expect_bound_text(c, pbin(PG_OID_TIMESTAMP, BYTES(0, 0, 0, 0, 0, 0, 0, 0)),
                      "2000-01-01 00:00:00");
    expect_bound_text(c, pbin(PG_OID_TIMESTAMPTZ, BYTES(0x80, 0, 0, 0, 0, 0, 0, 0)),
                      "-infinity");
    expect_bound_text(c, pbin(PG_OID_UUID, BYTES(UUID_BYTES)), UUID_TEXT);
    expect_bound_text(c, pbin(PG_OID_VARCHAR, BYTES('a', 'b', 'c')), "abc");
    /* timetz: the zone is seconds west of UTC, printed as an offset east. */
    expect_bound_text(c, pbin(PG_OID_TIMETZ, BYTES(0, 0, 0, 0x0a, 0x0e, 0xeb, 0xb0, 0, 0xff, 0xff, 0xb2, 0xa8)),
                      "12:00:00+05:30");
    expect_bound_text(c, pbin(PG_OID_TIMETZ, BYTES(0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0x9a, 0xb0)),
                      "00:00:00.000001-11");
    /* interval: microseconds, days, months; hours past 24 (and past 2^31) stay hours. */
    expect_bound_text(c, pbin(PG_OID_INTERVAL, BYTES(0xff, 0xff, 0xff, 0xeb, 0xe2, 0x28, 0xa0, 0x05,
                                                     0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0)),
                      "0 mons -1 days -23:59:59.999995");
    expect_bound_text(c, pbin(PG_OID_INTERVAL, BYTES(0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                                     0, 0, 0, 1, 0xff, 0xff, 0xff, 0xf2)),
                      "-14 mons 1 days 2562047788:00:54.775807");
    expect_bound_text(c, pbin(PG_OID_JSON, BYTES('[', '1', ']')), "[1]");
    expect_bound_text(c, pbin(PG_OID_JSONB, BYTES(1, '{', '}')), "{}");
    /* numeric_send's bytes (taken from PostgreSQL) back to numeric_out's text. */
    expect_bound_text(c, pbin(PG_OID_NUMERIC, BYTES(NUMERIC_12_34)), "12.34");
    expect_bound_text(c, pbin(PG_OID_NUMERIC, BYTES(0, 3, 0, 1, 0x40, 0, 0, 4, 0, 0x7b, 0x11, 0xd7,
                                                    0, 0x59)),
                      "-1234567.0089");
    expect_bound_text(c, pbin(PG_OID_NUMERIC, BYTES(0, 1, 0xff, 0xff, 0, 0, 0, 4, 0, 1)),
                      "0.0001");
    expect_bound_text(c, pbin(PG_OID_NUMERIC, BYTES(0, 1, 0xff, 0xfe, 0, 0, 0, 5, 0x03, 0xe8)),
                      "0.00001");
    expect_bound_text(c, pbin(PG_OID_NUMERIC, BYTES(0, 0, 0, 0, 0, 0, 0, 2)), "0.00");
    expect_bound_text(c, pbin(PG_OID_NUMERIC, BYTES(0, 1, 0, 1, 0, 0, 0, 0, 0, 0x0a)), "100000");
    expect_bound_text(c, pbin(PG_OID_NUMERIC, BYTES(0, 0, 0, 0, 0xc0, 0, 0, 0)), "NaN");
    expect_bound_text(c, pbin(PG_OID_NUMERIC, BYTES(0, 0, 0, 0, 0xf0, 0, 0, 0x20)), "-Infinity");
    expect_bound_text(c, pbin(PG_OID_NUMERIC, BYTES(0, 6, 0, 4, 0, 0, 0, 1, 0, 0x0c, 0x0d, 0x80,
                                                    0x1e, 0xd2, 0x04, 0xd2, 0x16, 0x2e, 0x23,
                                                    0x28)),
                      "123456789012345678.9");
    expect_bound_text(c, ptext(PG_OID_BOOL, " Off "), "0");

    /* Numbers reach SQLite as numbers, whatever the format: as text, 5 < '10' would be false. */
    {
        struct capture k = { 0 };
        struct pgmsg m[MAX_MSGS];
        const struct odbc_param four[] = { ptext(PG_OID_INT4, "5"), ptext(PG_OID_FLOAT8, "1.5"),
                                           pbin(PG_OID_BOOL, BYTES(1)), ptext(0, "5") };
        static const char *const want[] = { "integer", "real", "integer", "text" };
        char buf[16];
        int16_t i;

        assert_int_equal(run_params(c, &k, "SELECT typeof(?), typeof(?), typeof(?), typeof(?)",
                                    "SELECT", four, 4, NULL, 0, 0, 0),
                         ODBC_OK);
        assert_int_equal(capture_messages(&k, m, MAX_MSGS), 2);
        for (i = 0; i < 4; i++)
            assert_string_equal(datarow_value(&m[0], i, buf, sizeof(buf)), want[i]);
        capture_reset(&k);
    }

    /* bytea's escape form, and hex with spaces between the pairs. */
    run_ok(c, "CREATE TABLE bx (k int, b blob)", "CREATE TABLE", "CREATE TABLE");
    {
        struct odbc_param two[2] = { ptext(PG_OID_INT4, "1"),
                                     ptext(PG_OID_BYTEA, "a\\\\b\\001\\377") };

        params_ok(c, "INSERT INTO bx VALUES (?, ?)", "INSERT", two, 2, "INSERT 0 1");
        two[0] = ptext(PG_OID_INT4, "2");
        two[1] = ptext(PG_OID_BYTEA, "\\x 0a 0B ");
        params_ok(c, "INSERT INTO bx VALUES (?, ?)", "INSERT", two, 2, "INSERT 0 1");
    }
    expect_scalar(c, "SELECT hex(b) FROM bx WHERE k = 1", "615C6201FF");
    expect_scalar(c, "SELECT hex(b) FROM bx WHERE k = 2", "0A0B");
    run_ok(c, "DROP TABLE bx", "DROP TABLE", "DROP TABLE");
}

static void test_sqlite_param_errors(void **state)
{
    struct odbc_conn *c = *state;
    struct odbc_param two[2];

    /* A binary value of the wrong size names the parameter, counting from 1. */
    two[0] = ptext(PG_OID_INT4, "1");
    two[1] = pbin(PG_OID_INT4, BYTES(0, 0, 1));
    params_error(c, "SELECT ?, ?", two, 2, "22P03",
                 "incorrect binary data format in bind parameter 2");
    two[1] = pbin(PG_OID_UUID, BYTES(1, 2, 3));
    params_error(c, "SELECT ?, ?", two, 2, "22P03",
                 "incorrect binary data format in bind parameter 2");
    two[1] = pbin(PG_OID_BOOL, BYTES(1, 0));
    params_error(c, "SELECT ?, ?", two, 2, "22P03", NULL);
    /* ndigits says 2, one digit follows; a base-10000 digit above 9999; a bad sign. */
    two[1] = pbin(PG_OID_NUMERIC, BYTES(0, 2, 0, 0, 0, 0, 0, 0, 0, 1));
    params_error(c, "SELECT ?, ?", two, 2, "22P03", NULL);
    two[1] = pbin(PG_OID_NUMERIC, BYTES(0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10));
    params_error(c, "SELECT ?, ?", two, 2, "22P03", NULL);
    two[1] = pbin(PG_OID_NUMERIC, BYTES(0, 0, 0, 0, 0x12, 0x34, 0, 0));
    params_error(c, "SELECT ?, ?", two, 2, "22P03", NULL);
    two[1] = pbin(PG_OID_TIME, BYTES(0, 0, 0, 0x14, 0x1d, 0xd7, 0x60, 1));
    params_error(c, "SELECT ?, ?", two, 2, "22P03", NULL);
    two[1] = pbin(PG_OID_JSONB, BYTES(2, '{', '}'));
    params_error(c, "SELECT ?, ?", two, 2, "22P03", NULL);
    two[1] = pbin(PG_OID_TIMETZ, BYTES(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xe1, 0));
    params_error(c, "SELECT ?, ?", two, 2, "22P03", NULL);
    /* int4[] (OID 1007) has a binary form, but not one pgiris decodes. */
    two[1] = pbin(1007, BYTES(0, 0, 0, 0));
    params_error(c, "SELECT ?, ?", two, 2, "0A000",
                 "binary format is not supported for bind parameter 2 (type OID 1007)");

    /* Text values are held to PostgreSQL's input rules: SQLite would store anything. */
    two[1] = ptext(PG_OID_INT4, "abc");
    params_error(c, "SELECT ?, ?", two, 2, "22P02",
                 "invalid input syntax for type integer: \"abc\"");
    two[1] = ptext(PG_OID_INT2, "40000");
    params_error(c, "SELECT ?, ?", two, 2, "22003",
                 "value \"40000\" is out of range for type smallint");
    two[1] = ptext(PG_OID_INT8, "9223372036854775808");
    params_error(c, "SELECT ?, ?", two, 2, "22003", NULL);
    two[1] = ptext(PG_OID_FLOAT8, "1e999");
    params_error(c, "SELECT ?, ?", two, 2, "22003",
                 "value \"1e999\" is out of range for type double precision");
    two[1] = ptext(PG_OID_FLOAT4, "1.5x");
    params_error(c, "SELECT ?, ?", two, 2, "22P02",
                 "invalid input syntax for type real: \"1.5x\"");
    two[1] = ptext(PG_OID_NUMERIC, "1.2.3");
    params_error(c, "SELECT ?, ?", two, 2, "22P02",
                 "invalid input syntax for type numeric: \"1.2.3\"");
    two[1] = ptext(PG_OID_BOOL, "o");
    params_error(c, "SELECT ?, ?", two, 2, "22P02",
                 "invalid input syntax for type boolean: \"o\"");
    two[1] = ptext(PG_OID_BYTEA, "\\xabc");
    params_error(c, "SELECT ?, ?", two, 2, "22P02",
                 "invalid hexadecimal data: odd number of digits");
    two[1] = ptext(PG_OID_BYTEA, "a\\9");
    params_error(c, "SELECT ?, ?", two, 2, "22P02", "invalid input syntax for type bytea");
    two[1] = two[0];
    two[1].format = 2;
    params_error(c, "SELECT ?, ?", two, 2, "22023", "unsupported format code: 2");

    /* Parameter and result-format counts must match the statement. */
    params_error(c, "SELECT ?, ?", two, 1, "08P01",
                 "bind message supplies 1 parameters, but the statement requires 2");
    {
        struct capture k = { 0 };
        struct pgmsg m[MAX_MSGS];
        const int16_t formats[] = { 0, 1, 0 }, bad[] = { 3 };

        two[1] = two[0];
        assert_int_equal(run_params(c, &k, "SELECT ?, ?", "SELECT", two, 2, formats, 3, 0, 0),
                         ODBC_ERROR);
        assert_int_equal(capture_messages(&k, m, MAX_MSGS), 1);
        assert_string_equal(msg_field(&m[0], 'C'), "08P01");
        assert_string_equal(msg_field(&m[0], 'M'),
                            "bind message has 3 result formats but query has 2 columns");
        assert_int_equal(run_params(c, &k, "SELECT ?, ?", "SELECT", two, 2, bad, 1, 0, 0),
                         ODBC_ERROR);
        assert_int_equal(capture_messages(&k, m, MAX_MSGS), 1);
        assert_string_equal(msg_field(&m[0], 'C'), "22023");
        capture_reset(&k);
    }
    /* The backend's own errors come through as from odbc_exec, and the connection goes on. */
    params_error(c, "SELECT * FROM nope WHERE a = ?", two, 1, "42P01", "no such table: nope");
    expect_bound_text(c, ptext(0, "after errors"), "after errors");
}

/* Values SQLite holds that are not what the column's type says have no binary form. */
static void test_sqlite_binary_results(void **state)
{
    struct odbc_conn *c = *state;
    struct capture k = { 0 };
    struct pgmsg m[MAX_MSGS];
    const uint8_t *v;
    int32_t len;

    run_ok(c, "CREATE TABLE br (i int, d date, t timestamp, t2 timestamp)", "CREATE TABLE",
           "CREATE TABLE");
    run_ok(c,
           "INSERT INTO br VALUES (1, '1999-12-31', '1999-12-31T23:59:59.9999996', "
           "'0044-03-15 BC'), (2, '0001-12-31 BC', '2024-01-02 03:04:05+02:00', '2024-01-02'), "
           "(3.5, NULL, NULL, NULL)",
           "INSERT", "INSERT 0 3");
    assert_int_equal(run_params(c, &k, "SELECT d, t, t2 FROM br WHERE i < ? ORDER BY i", "SELECT",
                                (struct odbc_param[]){ ptext(PG_OID_INT4, "3") }, 1, all_binary,
                                1, 0, 0),
                     ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 3);
    v = datarow_raw(&m[0], 0, &len);
    assert_int_equal(len, 4);
    assert_int_equal((int32_t)pgproto_load_u32(v), -1);
    /* A seventh fractional digit rounds, into the next day here. */
    v = datarow_raw(&m[0], 1, &len);
    assert_int_equal(len, 8);
    assert_int_equal(pgproto_load_u32(v), 0);
    assert_int_equal(pgproto_load_u32(v + 4), 0);
    v = datarow_raw(&m[1], 0, &len);
    assert_int_equal((int32_t)pgproto_load_u32(v), -730120);
    /* An offset in the text is applied: 03:04:05+02 is 01:04:05 UTC. */
    v = datarow_raw(&m[1], 1, &len);
    assert_int_equal(((uint64_t)pgproto_load_u32(v) << 32 | pgproto_load_u32(v + 4)),
                     UINT64_C(757472645000000));
    /* A timestamp without its time is midnight, BC or not (PostgreSQL: day -746117). */
    v = datarow_raw(&m[0], 2, &len);
    assert_int_equal((int64_t)((uint64_t)pgproto_load_u32(v) << 32 | pgproto_load_u32(v + 4)),
                     INT64_C(-746117) * 86400000000);
    v = datarow_raw(&m[1], 2, &len);
    assert_int_equal(((uint64_t)pgproto_load_u32(v) << 32 | pgproto_load_u32(v + 4)),
                     UINT64_C(8767) * 86400000000);

    /* 3.5 in an int column: the rows before it arrive, then the error. */
    assert_int_equal(run_params(c, &k, "SELECT i FROM br ORDER BY i", "SELECT", NULL, 0,
                                all_binary, 1, 0, 0),
                     ODBC_ERROR);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 3);
    assert_int_equal(m[0].type, 'D');
    assert_int_equal(m[1].type, 'D');
    assert_int_equal(m[2].type, 'E');
    assert_string_equal(msg_field(&m[2], 'C'), "22P02");
    assert_string_equal(msg_field(&m[2], 'M'), "invalid input syntax for type integer: \"3.5\"");
    assert_string_equal(msg_field(&m[2], 'D'),
                        "The backend returned it for column \"i\", requested in binary format.");
    capture_reset(&k);
    run_ok(c, "DROP TABLE br", "DROP TABLE", "DROP TABLE");
}

/* The ParameterDescription of sql, in oids[] (at most max); returns the count. */
static int describe_params(struct odbc_conn *c, const char *sql, int nparams, int32_t *oids, int max)
{
    struct capture k = { 0 };
    struct odbc_sink sink = { capture_write, &k };
    struct pgmsg m[MAX_MSGS];
    struct pgproto_reader r;
    int16_t n;

    if (odbc_describe(c, sql, strlen(sql), nparams, NULL, 1, NULL, 0, &sink) != ODBC_OK)
        fail_msg("describe %s failed", sql);
    assert_true(capture_messages(&k, m, MAX_MSGS) >= 1);
    assert_int_equal(m[0].type, 't');
    pgproto_reader_init(&r, m[0].body, m[0].len);
    pgproto_get_i16(&r, &n);
    for (int i = 0; i < n && i < max; i++)
        pgproto_get_i32(&r, &oids[i]);
    capture_reset(&k);
    return n;
}

/* SQLite's driver says text for every parameter; the columns they meet say more. */
static void test_sqlite_param_inference(void **state)
{
    struct odbc_conn *c = *state;
    int32_t o[8];

    run_ok(c, "CREATE TABLE pt (i integer, b bigint, r real, d double precision, n numeric(10,2), "
              "bo boolean, ts timestamp, by blob, tx text)", "CREATE TABLE", "CREATE TABLE");
    assert_int_equal(describe_params(c, "INSERT INTO pt (i, b, r, d, n, bo, ts, by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                     8, o, 8), 8);
    assert_int_equal(o[0], PG_OID_INT4);
    assert_int_equal(o[1], PG_OID_INT8);
    assert_int_equal(o[2], PG_OID_FLOAT4);
    assert_int_equal(o[3], PG_OID_FLOAT8);
    assert_int_equal(o[4], PG_OID_NUMERIC);
    assert_int_equal(o[5], PG_OID_BOOL);
    assert_int_equal(o[6], PG_OID_TIMESTAMP);
    assert_int_equal(o[7], PG_OID_BYTEA);
    assert_int_equal(describe_params(c, "SELECT tx FROM pt x WHERE x.i = ? AND b >= ? AND x.d IN (?, ?) AND tx LIKE ?",
                                     5, o, 8), 5);
    assert_int_equal(o[0], PG_OID_INT4);
    assert_int_equal(o[1], PG_OID_INT8);
    assert_int_equal(o[2], PG_OID_FLOAT8);
    assert_int_equal(o[3], PG_OID_FLOAT8);
    assert_int_equal(o[4], PG_OID_TEXT);
    assert_int_equal(describe_params(c, "UPDATE pt SET d=? WHERE i BETWEEN ? AND ?", 3, o, 8), 3);
    assert_int_equal(o[0], PG_OID_FLOAT8);
    assert_int_equal(o[1], PG_OID_INT4);
    assert_int_equal(o[2], PG_OID_INT4);
    assert_int_equal(describe_params(c, "SELECT i FROM pt ORDER BY i LIMIT ? OFFSET ?", 2, o, 8), 2);
    assert_int_equal(o[0], PG_OID_INT8);
    assert_int_equal(o[1], PG_OID_INT8);
    /* Nothing to go by: text, as before. */
    assert_int_equal(describe_params(c, "SELECT ? || 'x'", 1, o, 8), 1);
    assert_int_equal(o[0], PG_OID_TEXT);
    run_ok(c, "DROP TABLE pt", "DROP TABLE", "DROP TABLE");
}

static void test_sqlite_describe(void **state)
{
    struct odbc_conn *c = *state;
    struct capture k = { 0 };
    struct odbc_sink sink = { capture_write, &k };
    struct pgmsg m[MAX_MSGS];
    struct coldesc cols[8];
    struct pgproto_reader r;
    const char *sel = "SELECT a, b FROM dsc WHERE a = ? AND b = ?";
    const char *ins = "INSERT INTO dsc VALUES (?, ?)";
    const int32_t oids[] = { PG_OID_INT4, 0 };
    const int16_t formats[] = { 1, 0 };
    int16_t n;
    int32_t oid;

    run_ok(c, "CREATE TABLE dsc (a int, b text)", "CREATE TABLE", "CREATE TABLE");
    assert_int_equal(odbc_describe(c, sel, strlen(sel), 2, oids, 1, NULL, 0, &sink), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 2);
    /* Parse's type where given; SQLite's driver says text for the rest. */
    assert_int_equal(m[0].type, 't');
    pgproto_reader_init(&r, m[0].body, m[0].len);
    pgproto_get_i16(&r, &n);
    assert_int_equal(n, 2);
    pgproto_get_i32(&r, &oid);
    assert_int_equal(oid, PG_OID_INT4);
    pgproto_get_i32(&r, &oid);
    assert_int_equal(oid, PG_OID_TEXT);
    assert_int_equal(pgproto_remaining(&r), 0);
    assert_int_equal(rowdesc_get(&m[1], cols, 8), 2);
    assert_string_equal(cols[0].name, "a");
    assert_int_equal(cols[0].oid, PG_OID_INT4);
    assert_int_equal(cols[0].format, 0);
    assert_string_equal(cols[1].name, "b");
    assert_int_equal(cols[1].oid, PG_OID_TEXT);

    /* A portal: no ParameterDescription, its result formats. */
    capture_reset(&k);
    assert_int_equal(odbc_describe(c, sel, strlen(sel), 2, NULL, 0, formats, 2, &sink), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 1);
    rowdesc_get(&m[0], cols, 8);
    assert_int_equal(cols[0].format, 1);
    assert_int_equal(cols[1].format, 0);

    capture_reset(&k);
    assert_int_equal(odbc_describe(c, ins, strlen(ins), 2, NULL, 1, NULL, 0, &sink), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 2);
    assert_int_equal(m[0].type, 't');
    assert_int_equal(m[1].type, 'n');
    assert_int_equal(m[1].len, 0);

    /* Execute sends RowDescription or NoData only when asked to. */
    assert_int_equal(run_params(c, &k, ins, "INSERT",
                                (struct odbc_param[]){ ptext(0, "1"), ptext(0, "x") }, 2, NULL, 0,
                                ODBC_F_DESCRIBE, 0),
                     ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 2);
    assert_int_equal(m[0].type, 'n');
    assert_string_equal(complete_tag(&m[1]), "INSERT 0 1");
    assert_int_equal(run_params(c, &k, sel, "SELECT",
                                (struct odbc_param[]){ ptext(0, "1"), ptext(0, "x") }, 2, NULL, 0,
                                0, 0),
                     ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 2);
    assert_int_equal(m[0].type, 'D');
    assert_string_equal(complete_tag(&m[1]), "SELECT 1");
    /* A statement that matches nothing: CommandComplete only. */
    assert_int_equal(run_params(c, &k, "DELETE FROM dsc WHERE a = ?", "DELETE",
                                (struct odbc_param[]){ ptext(PG_OID_INT4, "99") }, 1, NULL, 0, 0,
                                0),
                     ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 1);
    assert_string_equal(complete_tag(&m[0]), "DELETE 0");

    /* A statement that does not prepare is described by its error. */
    assert_int_equal(run_params(c, &k, "SELECT nocol FROM dsc", "SELECT", NULL, 0, NULL, 0,
                                ODBC_F_DESCRIBE, 0),
                     ODBC_ERROR);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 1);
    assert_string_equal(msg_field(&m[0], 'C'), "42703");
    capture_reset(&k);
    run_ok(c, "DROP TABLE dsc", "DROP TABLE", "DROP TABLE");
}

/* Describe answers from the cache: a table dropped since preparing shows whether it did. */
static int describe_result(struct odbc_conn *c, const char *sql)
{
    struct capture k = { 0 };
    struct odbc_sink sink = { capture_write, &k };
    int rc = odbc_describe(c, sql, strlen(sql), 0, NULL, 0, NULL, 0, &sink);

    capture_reset(&k);
    return rc;
}

static void test_sqlite_prepared_cache(void **state)
{
    struct odbc_conn *c = *state;
    struct capture k = { 0 };
    struct pgmsg m[MAX_MSGS];
    struct odbc_param key = ptext(PG_OID_INT4, "2");
    char sql[128], want[32], buf[32];
    int i;

    run_ok(c, "CREATE TABLE pc (a int)", "CREATE TABLE", "CREATE TABLE");
    run_ok(c, "INSERT INTO pc VALUES (1), (2), (3)", "INSERT", "INSERT 0 3");
    params_ok(c, "DELETE FROM pc WHERE a = ?", "DELETE", &key, 1, "DELETE 1");
    /* The same text again runs the prepared handle, with the new value. */
    key = ptext(PG_OID_INT4, "3");
    params_ok(c, "DELETE FROM pc WHERE a = ?", "DELETE", &key, 1, "DELETE 1");
    run_ok(c, "INSERT INTO pc VALUES (2)", "INSERT", "INSERT 0 1");

    odbc_set_max_prepared(c, 100);
    key = ptext(PG_OID_INT4, "2");
    for (i = 0; i < 150; i++) {
        snprintf(sql, sizeof(sql), "SELECT a + %d FROM pc WHERE a = ?", i);
        assert_int_equal(run_params(c, &k, sql, "SELECT", &key, 1, NULL, 0, 0, 0), ODBC_OK);
        assert_int_equal(capture_messages(&k, m, MAX_MSGS), 2);
        snprintf(want, sizeof(want), "%d", 2 + i);
        assert_string_equal(datarow_value(&m[0], 0, buf, sizeof(buf)), want);
    }
    /* The first was evicted (the cache holds 50..149); it prepares again, evicting 50. */
    assert_int_equal(run_params(c, &k, "SELECT a + 0 FROM pc WHERE a = ?", "SELECT", &key, 1,
                                NULL, 0, 0, 0),
                     ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 2);
    assert_string_equal(datarow_value(&m[0], 0, buf, sizeof(buf)), "2");
    capture_reset(&k);

    /*
     * Dropped behind the cache's back, as another program would: a DROP run
     * through the connection counts as a schema change, after which every
     * cached statement is prepared again (test_schema_change).
     */
    assert_int_equal(odbc_exec_quiet(c, "DROP TABLE pc"), 0);
    /* Cached statements are described without the backend, which no longer knows pc. */
    assert_int_equal(describe_result(c, "SELECT a + 0 FROM pc WHERE a = ?"), ODBC_OK);
    assert_int_equal(describe_result(c, "SELECT a + 51 FROM pc WHERE a = ?"), ODBC_OK);
    assert_int_equal(describe_result(c, "SELECT a + 149 FROM pc WHERE a = ?"), ODBC_OK);
    /* Evicted ones are prepared again, which fails now, and evicts nothing. */
    assert_int_equal(describe_result(c, "SELECT a + 50 FROM pc WHERE a = ?"), ODBC_ERROR);
    assert_int_equal(describe_result(c, "SELECT a + 1 FROM pc WHERE a = ?"), ODBC_ERROR);
    assert_int_equal(describe_result(c, "SELECT a + 52 FROM pc WHERE a = ?"), ODBC_OK);
    /* A smaller bound evicts at once, least recently used first. */
    odbc_set_max_prepared(c, 2);
    assert_int_equal(describe_result(c, "SELECT a + 149 FROM pc WHERE a = ?"), ODBC_OK);
    assert_int_equal(describe_result(c, "SELECT a + 0 FROM pc WHERE a = ?"), ODBC_ERROR);
    assert_int_equal(describe_result(c, "SELECT a + 52 FROM pc WHERE a = ?"), ODBC_OK);
    assert_int_equal(describe_result(c, "SELECT a + 51 FROM pc WHERE a = ?"), ODBC_ERROR);
    /* A describe made once has a handle of its own: the full cache keeps what it had. */
    struct odbc_prep *kept[2] = { c->preps[0], c->preps[1] };
    struct odbc_sink sink = { capture_write, &k };
    assert_int_equal(c->npreps, 2);
    assert_int_equal(odbc_describe(c, "SELECT 7 AS seven", 17, 0, NULL, ODBC_DESCRIBE_ONCE, NULL, 0, &sink),
                     ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 1);
    assert_int_equal(m[0].type, 'T');
    capture_reset(&k);
    assert_int_equal(c->npreps, 2);
    assert_ptr_equal(c->preps[0], kept[0]);
    assert_ptr_equal(c->preps[1], kept[1]);
    assert_int_equal(describe_result(c, "SELECT a + 149 FROM pc WHERE a = ?"), ODBC_OK);
    assert_int_equal(describe_result(c, "SELECT a + 52 FROM pc WHERE a = ?"), ODBC_OK);
    odbc_set_max_prepared(c, 100);
}

/*
 * A schema change counted by the connection's counter sends its cached
 * statements to be prepared again; one whose columns changed runs only in
 * a reply that describes them.
 */
static void test_schema_change(void **state)
{
    struct odbc_conn *c = *state;
    struct capture k = { 0 };
    struct pgmsg m[MAX_MSGS];
    struct odbc_param key = ptext(PG_OID_INT4, "1");
    const char *sql = "SELECT * FROM sch WHERE a = ?";
    uint32_t shared = 0;

    odbc_set_schema_counter(c, &shared);
    run_ok(c, "CREATE TABLE sch (a int, b text)", "CREATE TABLE", "CREATE TABLE");
    run_ok(c, "INSERT INTO sch VALUES (1, 'one')", "INSERT", "INSERT 0 1");
    assert_int_equal(run_params(c, &k, sql, "SELECT", &key, 1, NULL, 0, 0, 0), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 2);
    assert_int_equal(datarow_ncols(&m[0]), 2);
    uint64_t held = odbc_take_sig(c);

    /* Through the connection: counted (on SQLite a new table counts too: it may hide another). */
    uint32_t created = shared;
    run_ok(c, "ALTER TABLE sch ADD COLUMN c int DEFAULT 7", "ALTER TABLE", "ALTER TABLE");
    assert_int_equal(shared, created + 1);
    odbc_set_seen_sig(c, held);
    assert_int_equal(run_params(c, &k, sql, "SELECT", &key, 1, NULL, 0, 0, 0), ODBC_ERROR);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 1);
    assert_string_equal(msg_field(&m[0], 'C'), "0A000");
    assert_int_equal(run_params(c, &k, sql, "SELECT", &key, 1, NULL, 0, ODBC_F_ROWDESC, 0), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 3);
    assert_int_equal(m[0].type, 'T');
    assert_int_equal(datarow_ncols(&m[1]), 3);
    assert_string_equal(datarow_value(&m[1], 2, (char[8]){ 0 }, 8), "7");

    /* Behind its back, then counted by another connection to the database. */
    assert_int_equal(odbc_exec_quiet(c, "ALTER TABLE sch DROP COLUMN b"), 0);
    shared++;
    assert_int_equal(run_params(c, &k, sql, "SELECT", &key, 1, NULL, 0, ODBC_F_ROWDESC, 0), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 3);
    assert_int_equal(datarow_ncols(&m[1]), 2);
    assert_string_equal(datarow_value(&m[1], 1, (char[8]){ 0 }, 8), "7");
    /* A change that leaves the columns as they were does not stop a described statement. */
    held = odbc_take_sig(c);
    run_ok(c, "CREATE INDEX sch_a ON sch (a)", "CREATE INDEX", "CREATE INDEX");
    run_ok(c, "DROP INDEX sch_a", "DROP INDEX", "DROP INDEX");
    assert_int_equal(shared, created + 3);
    odbc_set_seen_sig(c, held);
    assert_int_equal(run_params(c, &k, sql, "SELECT", &key, 1, NULL, 0, 0, 0), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 2);

    run_ok(c, "DROP TABLE sch", "DROP TABLE", "DROP TABLE");
    capture_reset(&k);
    odbc_set_schema_counter(c, NULL);
}

/*
 * The columns a client was told travel with its statement: a run that does
 * not describe its rows is refused while they differ from the statement's
 * now, also after the handle was prepared again for someone else.
 */
static void test_columns_seen(void **state)
{
    struct odbc_conn *c = *state;
    struct capture k = { 0 };
    struct odbc_sink sink = { capture_write, &k };
    struct pgmsg m[MAX_MSGS];
    struct odbc_param key = ptext(PG_OID_INT4, "1");
    const char *sql = "SELECT * FROM seen WHERE a = ?";
    uint32_t shared = 0;
    uint64_t before, after;

    odbc_set_schema_counter(c, &shared);
    run_ok(c, "CREATE TABLE seen (a int, b text)", "CREATE TABLE", "CREATE TABLE");
    run_ok(c, "INSERT INTO seen VALUES (1, 'one')", "INSERT", "INSERT 0 1");
    assert_int_equal(run_params(c, &k, sql, "SELECT", &key, 1, NULL, 0, 0, 0), ODBC_OK);
    before = odbc_take_sig(c);
    assert_true(before != 0);
    assert_true(odbc_take_sig(c) == 0);

    /* Prepared again for a run that describes its rows: the new columns have another name. */
    run_ok(c, "ALTER TABLE seen ADD COLUMN c int DEFAULT 7", "ALTER TABLE", "ALTER TABLE");
    assert_int_equal(run_params(c, &k, sql, "SELECT", &key, 1, NULL, 0, ODBC_F_DESCRIBE, 0), ODBC_OK);
    after = odbc_take_sig(c);
    assert_true(after != 0 && after != before);

    /* A client still holding the old columns is refused each time, and told nothing new. */
    for (int i = 0; i < 2; i++) {
        odbc_set_seen_sig(c, before);
        assert_int_equal(run_params(c, &k, sql, "SELECT", &key, 1, NULL, 0, 0, 0), ODBC_ERROR);
        assert_int_equal(capture_messages(&k, m, MAX_MSGS), 1);
        assert_string_equal(msg_field(&m[0], 'C'), "0A000");
        assert_true(odbc_take_sig(c) == 0);
    }
    odbc_set_seen_sig(c, after);
    assert_int_equal(run_params(c, &k, sql, "SELECT", &key, 1, NULL, 0, 0, 0), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 2);
    assert_int_equal(datarow_ncols(&m[0]), 3);
    assert_true(odbc_take_sig(c) == after);
    /* One that describes the rows is told the new ones instead. */
    odbc_set_seen_sig(c, before);
    assert_int_equal(run_params(c, &k, sql, "SELECT", &key, 1, NULL, 0, ODBC_F_DESCRIBE, 0), ODBC_OK);
    assert_true(odbc_take_sig(c) == after);
    /* A Describe names them too. */
    capture_reset(&k);
    assert_int_equal(odbc_describe(c, sql, strlen(sql), 1, NULL, ODBC_DESCRIBE_PARAMS, NULL, 0, &sink), ODBC_OK);
    assert_true(odbc_take_sig(c) == after);

    /* A run that fails before its RowDescription tells nothing; nor does a lease left midway. */
    struct odbc_param bad = ptext(PG_OID_INT4, "abc");
    odbc_set_seen_sig(c, before);
    assert_int_equal(run_params(c, &k, sql, "SELECT", &bad, 1, NULL, 0, ODBC_F_DESCRIBE, 0), ODBC_ERROR);
    assert_true(odbc_take_sig(c) == 0);
    const char *big = SERIES(100000);
    capture_reset(&k);
    k.refuse_after = 3;
    assert_int_equal(odbc_exec_params(c, big, strlen(big), "SELECT", NULL, 0, NULL, 0, ODBC_F_DESCRIBE, 0, &sink),
                     ODBC_ABANDONED);
    capture_reset(&k);
    assert_int_equal(odbc_reset(c), 0);
    assert_true(odbc_take_sig(c) == 0);

    run_ok(c, "DROP TABLE seen", "DROP TABLE", "DROP TABLE");
    capture_reset(&k);
    odbc_set_schema_counter(c, NULL);
}

static void expect_rows(const struct capture *k, struct pgmsg *m, size_t nmsgs, int first,
                        int count, char last, const char *tag)
{
    char want[16], buf[32];
    int i;

    assert_int_equal(capture_messages(k, m, MAX_MSGS), nmsgs);
    assert_int_equal(nmsgs, (size_t)count + 1);
    for (i = 0; i < count; i++) {
        snprintf(want, sizeof(want), "%d", first + i);
        assert_string_equal(datarow_value(&m[i], 0, buf, sizeof(buf)), want);
    }
    assert_int_equal(m[count].type, last);
    if (last == 's')
        assert_int_equal(m[count].len, 0);
    else
        assert_string_equal(complete_tag(&m[count]), tag);
}

/*
 * Suspended cursors under ids stay open, in a transaction block, while
 * other statements run, two of one text included, until they end, are
 * closed, or the transaction ends; one dropped for room or by ROLLBACK TO
 * is an error when named, not an empty result.
 */
static void test_portals_set_aside(void **state)
{
    struct odbc_conn *c = *state;
    struct capture k = { 0 };
    struct odbc_sink sink = { capture_write, &k };
    struct pgmsg m[MAX_MSGS];
    struct odbc_param n10 = ptext(PG_OID_INT4, "10"), n5 = ptext(PG_OID_INT4, "5");
    const char *sql = "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < ?) "
                      "SELECT x FROM s";
    uint32_t id;

    /* Outside a transaction block the next statement closes it: PostgreSQL's portal ended at Sync. */
    odbc_set_portal(c, 1);
    assert_int_equal(run_params(c, &k, sql, "SELECT", &n10, 1, NULL, 0, 0, 3), ODBC_OK);
    run_ok(c, "SELECT 1", "SELECT", "SELECT 1");
    assert_int_equal(c->nparked, 0);
    assert_true(odbc_is_reset(c));

    assert_int_equal(odbc_begin(c, "BEGIN", NULL, 0, &sink), ODBC_OK);
    odbc_set_portal(c, 1);
    assert_int_equal(run_params(c, &k, sql, "SELECT", &n10, 1, NULL, 0, 0, 3), ODBC_OK);
    expect_rows(&k, m, 4, 1, 3, 's', NULL);
    odbc_set_portal(c, 2);
    assert_int_equal(run_params(c, &k, sql, "SELECT", &n5, 1, NULL, 0, 0, 2), ODBC_OK);
    expect_rows(&k, m, 3, 1, 2, 's', NULL);
    /* Without an id: nothing names it, and the next statement closes it. */
    assert_int_equal(run_params(c, &k, sql, "SELECT", &n5, 1, NULL, 0, 0, 1), ODBC_OK);
    run_ok(c, "SELECT 1", "SELECT", "SELECT 1");
    assert_int_equal(c->nparked, 2);
    assert_false(odbc_is_reset(c));

    /* The unnamed portal's request (id 0) does not continue a named one's cursor. */
    odbc_set_portal(c, 3);
    assert_int_equal(run_params(c, &k, sql, "SELECT", &n5, 1, NULL, 0, 0, 1), ODBC_OK);
    capture_reset(&k);
    assert_int_equal(odbc_fetch_more(c, 0, 0, &sink), ODBC_OK);
    expect_rows(&k, m, 1, 0, 0, 'C', "SELECT 0");
    capture_reset(&k);
    assert_int_equal(odbc_fetch_more(c, 3, 0, &sink), ODBC_OK);
    expect_rows(&k, m, 5, 2, 4, 'C', "SELECT 4");
    capture_reset(&k);
    assert_int_equal(odbc_fetch_more(c, 1, 2, &sink), ODBC_OK);
    expect_rows(&k, m, 3, 4, 2, 's', NULL);
    capture_reset(&k);
    assert_int_equal(odbc_fetch_more(c, 2, 0, &sink), ODBC_OK);
    expect_rows(&k, m, 4, 3, 3, 'C', "SELECT 3");
    capture_reset(&k);
    assert_int_equal(odbc_fetch_more(c, 2, 0, &sink), ODBC_OK);
    expect_rows(&k, m, 1, 0, 0, 'C', "SELECT 0");
    capture_reset(&k);
    assert_int_equal(odbc_close_portal(c, 1, &sink), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 1);
    assert_int_equal(m[0].type, '3');
    assert_int_equal(c->nparked, 0);
    capture_reset(&k);
    assert_int_equal(odbc_fetch_more(c, 1, 0, &sink), ODBC_OK);
    expect_rows(&k, m, 1, 0, 0, 'C', "SELECT 0");

    /* More than ODBC_PARKED_MAX: the oldest goes, and says so. */
    for (id = 10; id < 10 + ODBC_PARKED_MAX + 2; id++) {
        odbc_set_portal(c, id);
        assert_int_equal(run_params(c, &k, sql, "SELECT", &n10, 1, NULL, 0, 0, 1), ODBC_OK);
    }
    run_ok(c, "SELECT 1", "SELECT", "SELECT 1");
    assert_int_equal(c->nparked, ODBC_PARKED_MAX);
    capture_reset(&k);
    assert_int_equal(odbc_fetch_more(c, 10, 0, &sink), ODBC_ERROR);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 1);
    assert_string_equal(msg_field(&m[0], 'C'), "54000");
    capture_reset(&k);
    assert_int_equal(odbc_fetch_more(c, 12, 0, &sink), ODBC_OK);
    expect_rows(&k, m, 10, 2, 9, 'C', "SELECT 9");
    /* ROLLBACK TO closes them all (the rows they would go on with may be undone). */
    run_ok(c, "SAVEPOINT s", "SAVEPOINT", "SAVEPOINT");
    run_ok(c, "ROLLBACK TO SAVEPOINT s", "ROLLBACK", "ROLLBACK");
    assert_int_equal(c->nparked, 0);
    capture_reset(&k);
    assert_int_equal(odbc_fetch_more(c, 13, 0, &sink), ODBC_ERROR);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 1);
    assert_string_equal(msg_field(&m[0], 'C'), "34000");
    assert_int_equal(odbc_reset(c), 0);
    assert_int_equal(c->nparked, 0);
    assert_true(odbc_is_reset(c));
    capture_reset(&k);
}

static void test_sqlite_max_rows(void **state)
{
    struct odbc_conn *c = *state;
    struct capture k = { 0 };
    struct odbc_sink sink = { capture_write, &k };
    struct pgmsg m[MAX_MSGS];
    struct odbc_param n10 = ptext(PG_OID_INT4, "10");
    const char *sql = "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < ?) "
                      "SELECT x FROM s";

    assert_int_equal(run_params(c, &k, sql, "SELECT", &n10, 1, NULL, 0, ODBC_F_DESCRIBE, 3),
                     ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 5);
    assert_int_equal(m[0].type, 'T');
    assert_int_equal(m[4].type, 's');
    capture_reset(&k);
    assert_int_equal(odbc_fetch_more(c, 0, 3, &sink), ODBC_OK);
    expect_rows(&k, m, 4, 4, 3, 's', NULL);
    capture_reset(&k);
    assert_int_equal(odbc_fetch_more(c, 0, 3, &sink), ODBC_OK);
    expect_rows(&k, m, 4, 7, 3, 's', NULL);
    capture_reset(&k);
    /* The last Execute's count, as PostgreSQL reports it. */
    assert_int_equal(odbc_fetch_more(c, 0, 3, &sink), ODBC_OK);
    expect_rows(&k, m, 2, 10, 1, 'C', "SELECT 1");
    capture_reset(&k);
    /* An exhausted portal. */
    assert_int_equal(odbc_fetch_more(c, 0, 3, &sink), ODBC_OK);
    expect_rows(&k, m, 1, 0, 0, 'C', "SELECT 0");

    /* Exactly max_rows rows: suspended all the same, like PostgreSQL; the rest is empty. */
    assert_int_equal(run_params(c, &k, sql, "SELECT", &n10, 1, NULL, 0, 0, 10), ODBC_OK);
    expect_rows(&k, m, 11, 1, 10, 's', NULL);
    capture_reset(&k);
    assert_int_equal(odbc_fetch_more(c, 0, 0, &sink), ODBC_OK);
    expect_rows(&k, m, 1, 0, 0, 'C', "SELECT 0");

    /* Zero fetches what remains. */
    assert_int_equal(run_params(c, &k, sql, "SELECT", &n10, 1, NULL, 0, 0, 4), ODBC_OK);
    capture_reset(&k);
    assert_int_equal(odbc_fetch_more(c, 0, 0, &sink), ODBC_OK);
    expect_rows(&k, m, 7, 5, 6, 'C', "SELECT 6");

    /* Another statement, odbc_close_cursor, a transaction's end: each closes the portal. */
    assert_int_equal(run_params(c, &k, sql, "SELECT", &n10, 1, NULL, 0, 0, 2), ODBC_OK);
    expect_scalar(c, "SELECT 'between'", "between");
    capture_reset(&k);
    assert_int_equal(odbc_fetch_more(c, 0, 2, &sink), ODBC_OK);
    expect_rows(&k, m, 1, 0, 0, 'C', "SELECT 0");
    assert_int_equal(run_params(c, &k, sql, "SELECT", &n10, 1, NULL, 0, 0, 2), ODBC_OK);
    odbc_close_cursor(c);
    odbc_close_cursor(c);
    capture_reset(&k);
    assert_int_equal(odbc_fetch_more(c, 0, 2, &sink), ODBC_OK);
    expect_rows(&k, m, 1, 0, 0, 'C', "SELECT 0");
    capture_reset(&k);
    assert_int_equal(odbc_begin(c, "BEGIN", NULL, 0, &sink), ODBC_OK);
    assert_int_equal(run_params(c, &k, sql, "SELECT", &n10, 1, NULL, 0, 0, 2), ODBC_OK);
    capture_reset(&k);
    assert_int_equal(odbc_commit(c, "COMMIT", &sink), ODBC_OK);
    capture_reset(&k);
    assert_int_equal(odbc_fetch_more(c, 0, 2, &sink), ODBC_OK);
    expect_rows(&k, m, 1, 0, 0, 'C', "SELECT 0");

    /*
     * A portal outlives other work on the connection: preparing another
     * statement does not evict it, even past the cache's bound, and its
     * parameters stay bound.
     */
    assert_int_equal(run_params(c, &k, sql, "SELECT", &n10, 1, NULL, 0, 0, 5), ODBC_OK);
    odbc_set_max_prepared(c, 1);
    assert_int_equal(describe_result(c, "SELECT 'other'"), ODBC_OK);
    capture_reset(&k);
    assert_int_equal(odbc_fetch_more(c, 0, 0, &sink), ODBC_OK);
    expect_rows(&k, m, 6, 6, 5, 'C', "SELECT 5");
    capture_reset(&k);
    odbc_set_max_prepared(c, 100);
}

static void test_sqlite_params_stream(void **state)
{
    struct odbc_conn *c = *state;
    struct capture k = { 0 };
    struct odbc_param n = ptext(PG_OID_INT4, "100000");
    const char *sql = "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < ?) "
                      "SELECT x, 'row ' || x AS label FROM s";
    size_t pos = 0, rows = 0;

    assert_int_equal(run_params(c, &k, sql, "SELECT", &n, 1, all_binary, 1, 0, 0), ODBC_OK);
    assert_true(k.max_write <= 64 * 1024);
    while (pos < k.len) {
        rows += k.data[pos] == 'D';
        pos += 1 + pgproto_load_u32(k.data + pos + 1);
    }
    assert_int_equal(rows, 100000);
    assert_string_equal((const char *)k.data + k.len - 14, "SELECT 100000");

    capture_reset(&k);
    k.refuse_after = 2;
    {
        struct odbc_sink sink = { capture_write, &k };

        assert_int_equal(odbc_exec_params(c, sql, strlen(sql), "SELECT", &n, 1, NULL, 0, 0, 0,
                                          &sink),
                         ODBC_ABANDONED);
        assert_int_equal(k.refused, 1);
        /* Abandoned while suspended-to-be: nothing stays open. */
        capture_reset(&k);
        k.refuse_after = 1;
        assert_int_equal(odbc_exec_params(c, sql, strlen(sql), "SELECT", &n, 1, NULL, 0, 0, 2000,
                                          &sink),
                         ODBC_ABANDONED);
        capture_reset(&k);
        assert_int_equal(odbc_fetch_more(c, 0, 0, &sink), ODBC_OK);
        assert_string_equal((const char *)k.data + 5, "SELECT 0");
    }
    capture_reset(&k);
    expect_bound_text(c, ptext(0, "reusable"), "reusable");
}

static void test_sqlite_params_cancel(void **state)
{
    struct odbc_conn *c = *state;
    struct capture k = { 0 };
    struct pgmsg m[MAX_MSGS];
    struct canceller x = { c, 0 };
    struct odbc_param n = ptext(PG_OID_INT8, "2000000000");
    const char *sql = "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < ?) "
                      "SELECT sum(x) FROM s";
    pthread_t t;
    int rc;
    size_t nm;

    assert_int_equal(pthread_create(&t, NULL, cancel_loop, &x), 0);
    rc = run_params(c, &k, sql, "SELECT", &n, 1, NULL, 0, 0, 0);
    x.done = 1;
    pthread_join(t, NULL);
    odbc_cancel_clear(c);
    assert_int_equal(rc, ODBC_ERROR);
    nm = capture_messages(&k, m, MAX_MSGS);
    assert_string_equal(msg_field(&m[nm - 1], 'C'), "57014");
    capture_reset(&k);
    n = ptext(PG_OID_INT8, "3");
    assert_int_equal(run_params(c, &k, sql, "SELECT", &n, 1, NULL, 0, 0, 0), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 2);
    capture_reset(&k);
}

/*
 * SQLite's driver leaves a SELECT it was stepping active when its cursor
 * closes early, and an active statement locks the table against DROP: an
 * abandoned, a suspended and a failed stream must each release it.
 */
static void test_sqlite_early_close(void **state)
{
    struct odbc_conn *c = *state;
    struct capture k = { 0 };
    struct odbc_sink sink = { capture_write, &k };
    const char *sel = "SELECT x, label FROM ec";
    int round;

    for (round = 0; round < 3; round++) {
        run_ok(c, "CREATE TABLE ec AS " SERIES(20000), "CREATE TABLE", "CREATE TABLE");
        capture_reset(&k);
        k.refuse_after = 1;
        if (round == 0) {
            assert_int_equal(odbc_exec(c, sel, strlen(sel), "SELECT", &sink), ODBC_ABANDONED);
        } else if (round == 1) {
            k.refuse_after = 0;
            assert_int_equal(odbc_exec_params(c, sel, strlen(sel), "SELECT", NULL, 0, NULL, 0, 0,
                                              10, &sink),
                             ODBC_OK);
            odbc_close_cursor(c);
        } else {
            assert_int_equal(odbc_exec_params(c, sel, strlen(sel), "SELECT", NULL, 0, NULL, 0, 0,
                                              0, &sink),
                             ODBC_ABANDONED);
        }
        capture_reset(&k);
        /* On a prepared handle: the simple one would re-prepare, which releases its own. */
        params_ok(c, "DROP TABLE ec", "DROP TABLE", NULL, 0, "DROP TABLE");
    }
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

static void test_connstr_effective(void **state)
{
    static const struct {
        const char *in;
        enum cfg_dialect d;
        const char *want;
    } cases[] = {
        { "Driver=PostgreSQL Unicode;Server=h", CFG_DIALECT_POSTGRES,
          "Driver=PostgreSQL Unicode;Server=h;Protocol=7.4-0" },
        { "Driver=PostgreSQL Unicode;Server=h;", CFG_DIALECT_POSTGRES,
          "Driver=PostgreSQL Unicode;Server=h;Protocol=7.4-0" },
        { "", CFG_DIALECT_POSTGRES, "Protocol=7.4-0" },
        /* A level chosen in the string stays, in either spelling and any case. */
        { "Driver=x;protocol=7.4-2;Uid=u", CFG_DIALECT_POSTGRES, "Driver=x;protocol=7.4-2;Uid=u" },
        { "Driver=x;A1=7.4-1", CFG_DIALECT_POSTGRES, "Driver=x;A1=7.4-1" },
        /* A version alone chooses no level; nor does a key the driver would not match (spaces). */
        { "Driver=x;Protocol=7.4", CFG_DIALECT_POSTGRES, "Driver=x;Protocol=7.4;Protocol=7.4-0" },
        { "Driver=x;protocol = 7.4-2", CFG_DIALECT_POSTGRES, "Driver=x;protocol = 7.4-2;Protocol=7.4-0" },
        { "Driver=x; A1=7.4-1", CFG_DIALECT_POSTGRES, "Driver=x; A1=7.4-1;Protocol=7.4-0" },
        /* Only as a key: not inside a braced value, nor as part of another key. */
        { "Driver=x;Pwd={a;Protocol=7.4-2}", CFG_DIALECT_POSTGRES,
          "Driver=x;Pwd={a;Protocol=7.4-2};Protocol=7.4-0" },
        { "Driver=x;MyProtocol=1;Uid=Protocol", CFG_DIALECT_POSTGRES,
          "Driver=x;MyProtocol=1;Uid=Protocol;Protocol=7.4-0" },
        /* SQLite: column names kept whole, unless the string says how to name them. */
        { "Driver=SQLite3;Database=d", CFG_DIALECT_SQLITE, "Driver=SQLite3;Database=d;LongNames=1;ShortNames=1" },
        { "Driver=SQLite3;Database=d;", CFG_DIALECT_SQLITE, "Driver=SQLite3;Database=d;LongNames=1;ShortNames=1" },
        { "Driver=SQLite3;longnames=0", CFG_DIALECT_SQLITE, "Driver=SQLite3;longnames=0" },
        { "Driver=SQLite3;ShortNames=0", CFG_DIALECT_SQLITE, "Driver=SQLite3;ShortNames=0;LongNames=1" },
        { "Driver=SQLite3;Protocol=7.4", CFG_DIALECT_SQLITE, "Driver=SQLite3;Protocol=7.4;LongNames=1;ShortNames=1" },
        /* Other backends' drivers are left alone. */
        { "Driver=PostgreSQL;LongNames=0", CFG_DIALECT_POSTGRES, "Driver=PostgreSQL;LongNames=0;Protocol=7.4-0" },
        { "DSN=iris", CFG_DIALECT_IRIS, "DSN=iris" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = odbc_connstr_effective(cases[i].in, cases[i].d);
        assert_non_null(got);
        assert_string_equal(got, cases[i].want);
        free(got);
    }
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
    assert_int_equal(odbc_begin(c, "BEGIN", NULL, 0, &sink), ODBC_OK);
    run_ok(c, "INSERT INTO pgiris_tx VALUES (1)", "INSERT", "INSERT 0 1");
    expect_scalar(other, "SELECT count(*) FROM pgiris_tx", "0");
    capture_reset(&k);
    assert_int_equal(odbc_rollback(c, "ROLLBACK", &sink), ODBC_OK);
    expect_scalar(other, "SELECT count(*) FROM pgiris_tx", "0");

    capture_reset(&k);
    assert_int_equal(odbc_begin(c, "BEGIN", NULL, 0, &sink), ODBC_OK);
    run_ok(c, "INSERT INTO pgiris_tx VALUES (2)", "INSERT", "INSERT 0 1");
    capture_reset(&k);
    assert_int_equal(odbc_commit(c, "COMMIT", &sink), ODBC_OK);
    expect_scalar(other, "SELECT a FROM pgiris_tx", "2");

    capture_reset(&k);
    assert_int_equal(odbc_begin(c, "BEGIN", NULL, 0, &sink), ODBC_OK);
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

    odbc_cancel(c, 0);
    odbc_cancel_clear(c);
    expect_scalar(c, "SELECT 'idle cancel'", "idle cancel");

    assert_int_equal(run_cancelled(c, &k, "SELECT pg_sleep(30)"), ODBC_ERROR);
    n = capture_messages(&k, m, MAX_MSGS);
    assert_string_equal(msg_field(&m[n - 1], 'C'), "57014");
    assert_string_equal(msg_field(&m[n - 1], 'M'), "canceling statement due to user request");
    capture_reset(&k);
    expect_scalar(c, "SELECT 'after cancel'", "after cancel");
}

static void test_pg_params_roundtrip(void **state)
{
    struct odbc_conn *c = pg_conn(state);
    const struct rt_case cases[] = {
        { "i2", PG_OID_INT2, "7", BYTES(0, 7), "7", PG_OID_INT2, BYTES(0, 7) },
        { "i4", PG_OID_INT4, " -42 ", BYTES(0xff, 0xff, 0xff, 0xd6), "-42", PG_OID_INT4,
          BYTES(0xff, 0xff, 0xff, 0xd6) },
        { "i8", PG_OID_INT8, "9000000000", BYTES(0, 0, 0, 2, 0x18, 0x71, 0x1a, 0), "9000000000",
          PG_OID_INT8, BYTES(0, 0, 0, 2, 0x18, 0x71, 0x1a, 0) },
        { "f4", PG_OID_FLOAT4, "1.5", BYTES(0x3f, 0xc0, 0, 0), "1.5", PG_OID_FLOAT4,
          BYTES(0x3f, 0xc0, 0, 0) },
        /* Every bit survives, both ways. */
        { "f8", PG_OID_FLOAT8, "0.30000000000000004",
          BYTES(0x3f, 0xd3, 0x33, 0x33, 0x33, 0x33, 0x33, 0x34), "0.30000000000000004",
          PG_OID_FLOAT8, BYTES(0x3f, 0xd3, 0x33, 0x33, 0x33, 0x33, 0x33, 0x34) },
        { "nu", PG_OID_NUMERIC, "12.34", BYTES(NUMERIC_12_34), "12.34", PG_OID_NUMERIC,
          BYTES(NUMERIC_12_34) },
        { "bo", PG_OID_BOOL, "true", BYTES(1), "t", PG_OID_BOOL, BYTES(1) },
        { "by", PG_OID_BYTEA, "\\x00FF10", BYTES(0, 0xff, 0x10), "\\x00ff10", PG_OID_BYTEA,
          BYTES(0, 0xff, 0x10) },
        { "dt", PG_OID_DATE, "2024-01-02", BYTES(DATE_BYTES), "2024-01-02", PG_OID_DATE,
          BYTES(DATE_BYTES) },
        { "tm", PG_OID_TIME, "03:04:05.123456", BYTES(TIME_BYTES), "03:04:05.123456",
          PG_OID_TIME, BYTES(TIME_BYTES) },
        { "ts", PG_OID_TIMESTAMP, "2024-01-02T03:04:05.123456", BYTES(TS_BYTES),
          "2024-01-02 03:04:05.123456", PG_OID_TIMESTAMP, BYTES(TS_BYTES) },
        /* The zone is the server's to apply; psqlODBC reports timestamptz as timestamp. */
        { "tz", PG_OID_TIMESTAMPTZ, "2024-01-02 03:04:05.5+02", BYTES(TZ_BYTES),
          "2024-01-02 01:04:05.5+00", PG_OID_TIMESTAMPTZ, BYTES(TZ_BYTES) },
        { "u", PG_OID_UUID, UUID_TEXT, BYTES(UUID_BYTES), UUID_TEXT, PG_OID_UUID,
          BYTES(UUID_BYTES) },
        { "tx", PG_OID_TEXT, "héllo ✓", BYTES(TX_UTF8), "héllo ✓", PG_OID_TEXT, BYTES(TX_UTF8) },
        { "vc", 0, "vc", BYTES('v', 'c'), "vc", PG_OID_VARCHAR, BYTES('v', 'c') },
    };
    struct capture k = { 0 };
    struct pgmsg m[MAX_MSGS];
    struct odbc_param p;
    char buf[64];

    /* psqlODBC renders timestamptz in the session's zone. */
    run_ok(c, "SET TIME ZONE 'UTC'", "SET", "SET");
    run_ok(c, "DROP TABLE IF EXISTS pgiris_rt", "DROP TABLE", "DROP TABLE");
    run_ok(c,
           "CREATE TABLE pgiris_rt (k int, i2 smallint, i4 int, i8 bigint, f4 real, "
           "f8 double precision, nu numeric(10,2), bo boolean, by bytea, dt date, tm time, "
           "ts timestamp, tz timestamptz, u uuid, tx text, vc varchar(20))",
           "CREATE TABLE", "CREATE TABLE");
    roundtrip(c, "pgiris_rt", cases, (int)(sizeof(cases) / sizeof(cases[0])));

    /* Booleans bound as SQL_BIT compare as booleans, in either format. */
    p = ptext(PG_OID_BOOL, "t");
    assert_int_equal(run_params(c, &k, "SELECT count(*) FROM pgiris_rt WHERE bo = ?", "SELECT",
                                &p, 1, NULL, 0, 0, 0),
                     ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 2);
    assert_string_equal(datarow_value(&m[0], 0, buf, sizeof(buf)), "2");
    p = pbin(PG_OID_BOOL, BYTES(0));
    assert_int_equal(run_params(c, &k, "SELECT count(*) FROM pgiris_rt WHERE bo = ?", "SELECT",
                                &p, 1, NULL, 0, 0, 0),
                     ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 2);
    assert_string_equal(datarow_value(&m[0], 0, buf, sizeof(buf)), "0");
    capture_reset(&k);

    /*
     * Dates and times go to the server as text, so all of PostgreSQL's forms
     * work.  (On the way back psqlODBC turns infinity into 9999-12-31.)
     */
    p = ptext(PG_OID_TIMESTAMP, "infinity");
    assert_int_equal(run_params(c, &k, "SELECT CAST(? AS timestamp) = 'infinity'", "SELECT", &p,
                                1, NULL, 0, 0, 0),
                     ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 2);
    assert_string_equal(datarow_value(&m[0], 0, buf, sizeof(buf)), "t");
    p = pbin(PG_OID_DATE, BYTES(0xff, 0xf4, 0x9d, 0x7b));
    assert_int_equal(run_params(c, &k, "SELECT CAST(CAST(? AS date) AS text)", "SELECT", &p, 1,
                                NULL, 0, 0, 0),
                     ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 2);
    assert_string_equal(datarow_value(&m[0], 0, buf, sizeof(buf)), "0044-03-15 BC");
    capture_reset(&k);
    params_error(c, "SELECT 1 / ?", (struct odbc_param[]){ ptext(PG_OID_INT4, "0") }, 1, "22012",
                 "division by zero");
    run_ok(c, "DROP TABLE pgiris_rt", "DROP TABLE", "DROP TABLE");
}

/* numeric's binary form both ways, against numeric_send's own bytes. */
static void test_pg_numeric_binary(void **state)
{
    struct odbc_conn *c = pg_conn(state);
    static const struct {
        const char *text;
        const char *out;
        uint8_t bytes[24];
        size_t len;
    } cases[] = {
        { "12.34", "12.34", { NUMERIC_12_34 }, 12 },
        { "-1234567.0089", "-1234567.0089",
          { 0, 3, 0, 1, 0x40, 0, 0, 4, 0, 0x7b, 0x11, 0xd7, 0, 0x59 }, 14 },
        { "0.0001", "0.0001", { 0, 1, 0xff, 0xff, 0, 0, 0, 4, 0, 1 }, 10 },
        { "0.00001", "0.00001", { 0, 1, 0xff, 0xfe, 0, 0, 0, 5, 0x03, 0xe8 }, 10 },
        { "0", "0", { 0, 0, 0, 0, 0, 0, 0, 0 }, 8 },
        { "-0.00", "0.00", { 0, 0, 0, 0, 0, 0, 0, 2 }, 8 },
        { "100000", "100000", { 0, 1, 0, 1, 0, 0, 0, 0, 0, 0x0a }, 10 },
        { "1.5e3", "1500", { 0, 1, 0, 0, 0, 0, 0, 0, 0x05, 0xdc }, 10 },
        { "123456789012345678.9", "123456789012345678.9",
          { 0, 6, 0, 4, 0, 0, 0, 1, 0, 0x0c, 0x0d, 0x80, 0x1e, 0xd2, 0x04, 0xd2, 0x16, 0x2e, 0x23,
            0x28 },
          20 },
        { "NaN", "NaN", { 0, 0, 0, 0, 0xc0, 0, 0, 0 }, 8 },
        { "-Infinity", "-Infinity", { 0, 0, 0, 0, 0xf0, 0, 0, 0 }, 8 },
    };
    struct capture k = { 0 };
    struct pgmsg m[MAX_MSGS];
    struct odbc_param p;
    const uint8_t *v;
    int32_t len;
    char buf[64];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        p = ptext(PG_OID_NUMERIC, cases[i].text);
        assert_int_equal(run_params(c, &k, "SELECT CAST(? AS numeric) AS n", "SELECT", &p, 1,
                                    all_binary, 1, 0, 0),
                         ODBC_OK);
        assert_int_equal(capture_messages(&k, m, MAX_MSGS), 2);
        v = datarow_raw(&m[0], 0, &len);
        if ((size_t)len != cases[i].len || memcmp(v, cases[i].bytes, cases[i].len) != 0)
            fail_msg("%s: binary result differs", cases[i].text);

        p = pbin(PG_OID_NUMERIC, cases[i].bytes, cases[i].len);
        assert_int_equal(run_params(c, &k, "SELECT CAST(CAST(? AS numeric) AS text)", "SELECT",
                                    &p, 1, NULL, 0, 0, 0),
                         ODBC_OK);
        assert_int_equal(capture_messages(&k, m, MAX_MSGS), 2);
        assert_string_equal(datarow_value(&m[0], 0, buf, sizeof(buf)), cases[i].out);
    }
    capture_reset(&k);
}

static void test_pg_describe(void **state)
{
    struct odbc_conn *c = pg_conn(state);
    struct capture k = { 0 };
    struct odbc_sink sink = { capture_write, &k };
    struct pgmsg m[MAX_MSGS];
    struct coldesc cols[8];
    struct pgproto_reader r;
    const char *sel = "SELECT a, b, nextval('pgiris_dsc_seq') AS n FROM pgiris_dsc "
                      "WHERE a = ? AND b = ?";
    const char *ins = "INSERT INTO pgiris_dsc VALUES (?, ?)";
    int16_t n;
    int32_t oid;

    run_ok(c, "DROP TABLE IF EXISTS pgiris_dsc", "DROP TABLE", "DROP TABLE");
    run_ok(c, "DROP SEQUENCE IF EXISTS pgiris_dsc_seq", "DROP SEQUENCE", "DROP SEQUENCE");
    run_ok(c, "CREATE TABLE pgiris_dsc (a int, b text)", "CREATE TABLE", "CREATE TABLE");
    run_ok(c, "CREATE SEQUENCE pgiris_dsc_seq", "CREATE SEQUENCE", "CREATE SEQUENCE");
    run_ok(c, "INSERT INTO pgiris_dsc VALUES (1, 'x')", "INSERT", "INSERT 0 1");

    /* psqlODBC knows the parameter types from the server's Describe. */
    assert_int_equal(odbc_describe(c, sel, strlen(sel), 2, NULL, 1, NULL, 0, &sink), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 2);
    assert_int_equal(m[0].type, 't');
    pgproto_reader_init(&r, m[0].body, m[0].len);
    pgproto_get_i16(&r, &n);
    assert_int_equal(n, 2);
    pgproto_get_i32(&r, &oid);
    assert_int_equal(oid, PG_OID_INT4);
    pgproto_get_i32(&r, &oid);
    assert_int_equal(oid, PG_OID_TEXT);
    assert_int_equal(rowdesc_get(&m[1], cols, 8), 3);
    assert_string_equal(cols[0].name, "a");
    assert_int_equal(cols[0].oid, PG_OID_INT4);
    assert_string_equal(cols[1].name, "b");
    assert_int_equal(cols[1].oid, PG_OID_TEXT);
    assert_string_equal(cols[2].name, "n");
    assert_int_equal(cols[2].oid, PG_OID_INT8);

    capture_reset(&k);
    assert_int_equal(odbc_describe(c, ins, strlen(ins), 2, NULL, 1, NULL, 0, &sink), ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 2);
    assert_int_equal(m[0].type, 't');
    assert_int_equal(m[1].type, 'n');
    capture_reset(&k);

    /* Described without running: nothing was inserted, nextval was never called. */
    expect_scalar(c, "SELECT count(*) FROM pgiris_dsc", "1");
    assert_int_equal(run_params(c, &k, sel, "SELECT",
                                (struct odbc_param[]){ ptext(0, "1"), ptext(0, "x") }, 2, NULL, 0,
                                0, 0),
                     ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 2);
    {
        char buf[16];

        assert_string_equal(datarow_value(&m[0], 2, buf, sizeof(buf)), "1");
    }
    capture_reset(&k);
    run_ok(c, "DROP TABLE pgiris_dsc", "DROP TABLE", "DROP TABLE");
    run_ok(c, "DROP SEQUENCE pgiris_dsc_seq", "DROP SEQUENCE", "DROP SEQUENCE");
}

static void test_pg_max_rows(void **state)
{
    struct odbc_conn *c = pg_conn(state);
    struct capture k = { 0 };
    struct odbc_sink sink = { capture_write, &k };
    struct pgmsg m[MAX_MSGS];
    struct odbc_param n = ptext(PG_OID_INT4, "7");
    const char *sql = "SELECT generate_series(1, ?) AS x";

    assert_int_equal(run_params(c, &k, sql, "SELECT", &n, 1, NULL, 0, 0, 3), ODBC_OK);
    expect_rows(&k, m, 4, 1, 3, 's', NULL);
    capture_reset(&k);
    assert_int_equal(odbc_fetch_more(c, 0, 3, &sink), ODBC_OK);
    expect_rows(&k, m, 4, 4, 3, 's', NULL);
    capture_reset(&k);
    assert_int_equal(odbc_fetch_more(c, 0, 3, &sink), ODBC_OK);
    expect_rows(&k, m, 2, 7, 1, 'C', "SELECT 1");

    /* A statement on another handle closes the portal. */
    assert_int_equal(run_params(c, &k, sql, "SELECT", &n, 1, NULL, 0, 0, 3), ODBC_OK);
    expect_bound_text(c, ptext(0, "between"), "between");
    capture_reset(&k);
    assert_int_equal(odbc_fetch_more(c, 0, 3, &sink), ODBC_OK);
    expect_rows(&k, m, 1, 0, 0, 'C', "SELECT 0");
    capture_reset(&k);
}

/* Cancel reaches the statement on its prepared handle. */
static void test_pg_params_cancel(void **state)
{
    struct odbc_conn *c = pg_conn(state);
    struct capture k = { 0 };
    struct pgmsg m[MAX_MSGS];
    struct canceller x = { c, 0 };
    struct odbc_param secs = ptext(PG_OID_FLOAT8, "30");
    pthread_t t;
    int rc;
    size_t nm;

    assert_int_equal(pthread_create(&t, NULL, cancel_loop, &x), 0);
    rc = run_params(c, &k, "SELECT pg_sleep(?)", "SELECT", &secs, 1, NULL, 0, 0, 0);
    x.done = 1;
    pthread_join(t, NULL);
    odbc_cancel_clear(c);
    assert_int_equal(rc, ODBC_ERROR);
    nm = capture_messages(&k, m, MAX_MSGS);
    assert_string_equal(msg_field(&m[nm - 1], 'C'), "57014");
    capture_reset(&k);
    expect_bound_text(c, ptext(0, "after cancel"), "after cancel");
}

/*
 * A column of a type pgiris has no binary form for.  psqlODBC reports
 * bigint as whatever SQL type BI= names; 106 is SQL_INTERVAL_MINUTE, which
 * pgiris only knows as text.
 */
static void test_pg_binary_unsupported(void **state)
{
    struct odbc_conn *c;
    struct capture k = { 0 };
    struct odbc_sink sink = { capture_write, &k };
    struct pgmsg m[MAX_MSGS];
    struct coldesc cols[4];
    const char *sql = "SELECT 1::int8 AS big";
    char connstr[512], buf[16];

    pg_conn(state);
    snprintf(connstr, sizeof(connstr), "%s;BI=106", pg_connstr());
    c = connect_or_fail(connstr, CFG_DIALECT_POSTGRES);
    assert_int_equal(run_params(c, &k, sql, "SELECT", NULL, 0, all_binary, 1, ODBC_F_DESCRIBE, 0),
                     ODBC_ERROR);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 1);
    assert_string_equal(msg_field(&m[0], 'C'), "0A000");
    assert_string_equal(msg_field(&m[0], 'M'), "binary format is not supported for column "
                                               "\"big\" of type int8 (ODBC SQL type 106)");
    capture_reset(&k);
    assert_int_equal(odbc_describe(c, sql, strlen(sql), 0, NULL, 0, all_binary, 1, &sink),
                     ODBC_ERROR);
    capture_reset(&k);
    /* In text it is fine. */
    assert_int_equal(run_params(c, &k, sql, "SELECT", NULL, 0, NULL, 0, ODBC_F_DESCRIBE, 0),
                     ODBC_OK);
    assert_int_equal(capture_messages(&k, m, MAX_MSGS), 3);
    rowdesc_get(&m[0], cols, 4);
    assert_int_equal(cols[0].oid, PG_OID_TEXT);
    assert_string_equal(datarow_value(&m[1], 0, buf, sizeof(buf)), "1");
    capture_reset(&k);
    odbc_disconnect(c);
}

/* Runs last: it kills the shared connection's backend. */
static void test_pg_copy(void **state)
{
    struct odbc_conn *c = pg_conn(state);
    struct odbc_conn *other = connect_or_fail(pg_connstr(), CFG_DIALECT_POSTGRES);
    struct capture k = { 0 };

    test_copy_common(c, other);
    /* A value the driver or the server cannot convert: one error, naming its line. */
    {
        static const char *const bodies[] = { "1\ta\n2\tb\nxx\tc\n4\td\n", "" };
        struct script sc = { "dc", bodies, 0, 0, 0, 0, { 0 } };
        run_ok(c, "CREATE TABLE cpi (id int, v text)", "CREATE TABLE", "CREATE TABLE");
        assert_int_equal(run_copy(c, &k, "COPY cpi FROM STDIN", &sc), ODBC_ERROR);
        expect_copy_error(&k, "line 3", "22P02");
        capture_reset(&k);
        run_ok(c, "DROP TABLE cpi", "DROP TABLE", "DROP TABLE");
    }
    odbc_disconnect(other);
}

static void test_pg_tx_modes(void **state)
{
    struct odbc_conn *c = pg_conn(state);
    struct capture k = { 0 };
    struct odbc_sink sink = { capture_write, &k };
    const char *rr = "START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY";

    assert_int_equal(odbc_begin(c, "START TRANSACTION", rr, strlen(rr), &sink), ODBC_OK);
    expect_scalar(c, "SELECT current_setting('transaction_isolation')", "repeatable read");
    expect_scalar(c, "SELECT current_setting('transaction_read_only')", "on");
    run_error(c, "CREATE TABLE txm_pg (a int)", "25006", NULL);
    capture_reset(&k);
    assert_int_equal(odbc_rollback(c, "ROLLBACK", &sink), ODBC_OK);
    capture_reset(&k);
    expect_scalar(c, "SELECT current_setting('transaction_isolation')", "read committed");
    expect_scalar(c, "SELECT current_setting('transaction_read_only')", "off");
}

/*
 * UseDeclareFetch=1: a statement runs with a cursor until it has shown a
 * small result twice, then without; one large result puts the cursor back.
 */
static void test_pg_cursor_adaptive(void **state)
{
    struct odbc_conn *c = pg_conn(state);
    struct capture k = { 0 };
    const char *small = "SELECT g FROM generate_series(1, 3) g";
    const char *big = "SELECT g, g FROM generate_series(1, 5000) g";

    assert_int_equal(c->cursor_adaptive, 1);
    assert_int_equal(c->cursor_on, 1);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(run(c, &k, small, "SELECT"), ODBC_OK);
        capture_reset(&k);
        assert_int_equal(c->cursor_on, 1);
    }
    assert_int_equal(run(c, &k, small, "SELECT"), ODBC_OK);
    capture_reset(&k);
    assert_int_equal(c->cursor_on, 0);
    /* The shape counts, not the literals: other numbers and strings are the same statement. */
    assert_int_equal(run(c, &k, "SELECT g FROM generate_series(2, 4) g WHERE 'x''y' <> ''", "SELECT"), ODBC_OK);
    capture_reset(&k);
    assert_int_equal(run(c, &k, "SELECT g FROM generate_series(5, 7) g WHERE 'z' <> ''", "SELECT"), ODBC_OK);
    capture_reset(&k);
    assert_int_equal(run(c, &k, "SELECT g FROM generate_series(5, 7) g WHERE 'q' <> ''", "SELECT"), ODBC_OK);
    capture_reset(&k);
    assert_int_equal(c->cursor_on, 0);
    /* COPY TO always reads through the cursor, whatever ran before it. */
    {
        struct script sc = { "", NULL, 0, 0, 0, 0, { 0 } };
        assert_int_equal(run_copy(c, &k, "COPY (SELECT g FROM generate_series(1, 3) g) TO STDOUT", &sc), ODBC_OK);
        capture_reset(&k);
        assert_int_equal(c->cursor_on, 1);
        assert_int_equal(run(c, &k, small, "SELECT"), ODBC_OK);
        capture_reset(&k);
        assert_int_equal(c->cursor_on, 0);
    }
    /* Another statement starts with the cursor again. */
    assert_int_equal(run(c, &k, big, "SELECT"), ODBC_OK);
    capture_reset(&k);
    assert_int_equal(c->cursor_on, 1);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(run(c, &k, big, "SELECT"), ODBC_OK);
        assert_int_equal(c->cursor_on, 1);
        capture_reset(&k);
    }
    /* A shape that proved small and then returns many rows: once without the cursor, never again. */
    assert_int_equal(run(c, &k, "SELECT g FROM generate_series(1, 5000) g", "SELECT"), ODBC_OK);
    assert_int_equal(c->cursor_on, 0);
    capture_reset(&k);
    assert_int_equal(run(c, &k, small, "SELECT"), ODBC_OK);
    assert_int_equal(c->cursor_on, 1);
    capture_reset(&k);
}

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
        cmocka_unit_test(test_connstr_effective),
        cmocka_unit_test(test_sqlite_types),
        cmocka_unit_test(test_sqlite_untyped_columns),
        cmocka_unit_test(test_sqlite_inlined_params),
        cmocka_unit_test(test_sqlite_portal_types),
        cmocka_unit_test(test_sqlite_bool_hint),
        cmocka_unit_test(test_sqlite_command_tags),
        cmocka_unit_test(test_sqlite_errors),
        cmocka_unit_test(test_sqlite_transactions),
        cmocka_unit_test(test_sqlite_abandon),
        cmocka_unit_test(test_sqlite_large_result),
        cmocka_unit_test(test_sqlite_long_values),
        cmocka_unit_test(test_sqlite_cancel),
        cmocka_unit_test(test_sqlite_params_roundtrip),
        cmocka_unit_test(test_sqlite_binary_params),
        cmocka_unit_test(test_sqlite_param_errors),
        cmocka_unit_test(test_sqlite_binary_results),
        cmocka_unit_test(test_sqlite_describe),
        cmocka_unit_test(test_sqlite_param_inference),
        cmocka_unit_test(test_sqlite_prepared_cache),
        cmocka_unit_test(test_schema_change),
        cmocka_unit_test(test_columns_seen),
        cmocka_unit_test(test_sqlite_int_hint),
        cmocka_unit_test(test_portals_set_aside),
        cmocka_unit_test(test_sqlite_max_rows),
        cmocka_unit_test(test_sqlite_params_stream),
        cmocka_unit_test(test_sqlite_params_cancel),
        cmocka_unit_test(test_sqlite_early_close),
        cmocka_unit_test(test_sqlite_copy),
        cmocka_unit_test(test_sqlite_float_digits),
        cmocka_unit_test(test_sqlite_tx_modes),
        cmocka_unit_test(test_sqlite_set_transaction),
        cmocka_unit_test(test_iris_set_transaction),
    };
    const struct CMUnitTest pg_tests[] = {
        cmocka_unit_test(test_pg_types),
        cmocka_unit_test(test_pg_errors_and_notices),
        cmocka_unit_test(test_pg_transactions),
        cmocka_unit_test(test_pg_stream_and_abandon),
        cmocka_unit_test(test_pg_cancel),
        cmocka_unit_test(test_pg_params_roundtrip),
        cmocka_unit_test(test_pg_numeric_binary),
        cmocka_unit_test(test_pg_describe),
        cmocka_unit_test(test_pg_max_rows),
        cmocka_unit_test(test_pg_params_cancel),
        cmocka_unit_test(test_pg_binary_unsupported),
        cmocka_unit_test(test_pg_copy),
        cmocka_unit_test(test_pg_cursor_adaptive),
        cmocka_unit_test(test_pg_tx_modes),
        cmocka_unit_test(test_pg_connection_lost),
    };
    int failed = 0;

    failed += cmocka_run_group_tests_name("odbc_sqlite", sqlite_tests, sqlite_setup,
                                          sqlite_teardown);
    failed += cmocka_run_group_tests_name("odbc_postgres", pg_tests, pg_setup, pg_teardown);
    return failed;
}
