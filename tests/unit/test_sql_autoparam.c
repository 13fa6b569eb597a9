/*
 * Tests for common/sql_autoparam: which literals a simple-protocol
 * statement gives up as parameters, the shape text written for them, the
 * type each number keeps, and the statements left alone (markers already
 * there, a '?' anywhere, literals whose parameter would not read the same).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/pgproto.h"
#include "common/sql_autoparam.h"

/* The shape and its parameters as "shape | type:value type:value". */
static const char *render_as(const char *sql, int casts)
{
    static char out[4096];
    struct sql_literal lits[SQL_AUTOPARAM_MAX];
    struct pgbuf b;
    size_t used;
    int n, i;

    pgbuf_init(&b);
    n = sql_autoparam(sql, strlen(sql), casts, &b, lits);
    assert_true(n >= 0 && n <= SQL_AUTOPARAM_MAX);
    if (n == 0) {
        assert_int_equal(b.len, 0);
        pgbuf_free(&b);
        return "(none)";
    }
    used = (size_t)snprintf(out, sizeof(out), "%.*s |", (int)b.len, (const char *)b.data);
    for (i = 0; i < n; i++) {
        const char *type = lits[i].oid == PG_OID_INT4   ? "int4"
                           : lits[i].oid == PG_OID_INT8 ? "int8"
                           : lits[i].oid == PG_OID_NUMERIC ? "numeric" : "unknown";
        assert_true(lits[i].off + lits[i].len <= strlen(sql));
        used += (size_t)snprintf(out + used, sizeof(out) - used, " %s:%.*s", type, (int)lits[i].len,
                                 sql + lits[i].off);
        assert_true(used < sizeof(out));
    }
    pgbuf_free(&b);
    return out;
}

static const char *render(const char *sql)
{
    return render_as(sql, 1);
}

struct ap_case {
    const char *in;
    const char *want;
};

static void run_cases(const struct ap_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *got = render(cases[i].in);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("input [%s]\n  want %s\n  got  %s", cases[i].in, cases[i].want, got);
    }
}

#define RUN(cases) run_cases(cases, sizeof(cases) / sizeof(cases[0]))

static void test_comparisons(void **state)
{
    static const struct ap_case cases[] = {
        { "SELECT abalance FROM pgbench_accounts WHERE aid = 42",
          "SELECT abalance FROM pgbench_accounts WHERE aid = ?::pg_catalog.int4 | int4:42" },
        { "select * from t where a.b <> 'x' and \"C\" >= 7 or d != 1.5;",
          "select * from t where a.b <> ? and \"C\" >= ?::pg_catalog.int4 or d != "
          "?::pg_catalog.numeric; | unknown:x int4:7 numeric:1.5" },
        { "SELECT 1 FROM t WHERE x < 3 ORDER BY x LIMIT 10",
          "SELECT 1 FROM t WHERE x < ?::pg_catalog.int4 ORDER BY x LIMIT 10 | int4:3" },
        { "UPDATE t SET v = 'new', n = 5 WHERE id = 9 RETURNING v",
          "UPDATE t SET v = ?, n = ?::pg_catalog.int4 WHERE id = ?::pg_catalog.int4 RETURNING v"
          " | unknown:new int4:5 int4:9" },
        { "DELETE FROM t WHERE (id = 3)",
          "DELETE FROM t WHERE (id = ?::pg_catalog.int4) | int4:3" },
        { "SELECT CASE WHEN k = 1 THEN 'a' END FROM t JOIN u ON u.k = 2 LEFT JOIN v ON v.k = 3 WHERE z > ''",
          "SELECT CASE WHEN k = 1 THEN 'a' END FROM t JOIN u ON u.k = ?::pg_catalog.int4"
          " LEFT JOIN v ON v.k = ?::pg_catalog.int4 WHERE z > ? | int4:2 int4:3 unknown:" },
        /* Subqueries in filtering clauses, derived tables and CTEs. */
        { "SELECT * FROM (SELECT a FROM t WHERE b = 1) s WHERE a IN (SELECT c FROM u WHERE d = 'x')",
          "SELECT * FROM (SELECT a FROM t WHERE b = ?::pg_catalog.int4) s WHERE a IN (SELECT c FROM u WHERE d = ?)"
          " | int4:1 unknown:x" },
        { "WITH w AS (SELECT a FROM t WHERE b = 2) SELECT a FROM w WHERE (a = 3 OR a = 4)",
          "WITH w AS (SELECT a FROM t WHERE b = ?::pg_catalog.int4) SELECT a FROM w WHERE "
          "(a = ?::pg_catalog.int4 OR a = ?::pg_catalog.int4) | int4:2 int4:3 int4:4" },
        { "DELETE FROM t USING u WHERE t.k = u.k AND u.v = 7",
          "DELETE FROM t USING u WHERE t.k = u.k AND u.v = ?::pg_catalog.int4 | int4:7" },
        /* Comments between the parts are kept and skipped over. */
        { "SELECT 1 FROM t WHERE x /* c */ = /* d */ 5 -- end",
          "SELECT 1 FROM t WHERE x /* c */ = /* d */ ?::pg_catalog.int4 -- end | int4:5" },
        /* Non-ASCII bytes are the value's own. */
        { "SELECT 1 FROM t WHERE name = '\xc3\xa9t\xc3\xa9'",
          "SELECT 1 FROM t WHERE name = ? | unknown:\xc3\xa9t\xc3\xa9" },
    };
    RUN(cases);
}

static void test_number_types(void **state)
{
    static const struct ap_case cases[] = {
        { "SELECT 1 FROM t WHERE a = 2147483647", "SELECT 1 FROM t WHERE a = ?::pg_catalog.int4 | int4:2147483647" },
        { "SELECT 1 FROM t WHERE a = 2147483648", "SELECT 1 FROM t WHERE a = ?::pg_catalog.int8 | int8:2147483648" },
        { "SELECT 1 FROM t WHERE a = 0002147483647", "SELECT 1 FROM t WHERE a = ?::pg_catalog.int4 | int4:0002147483647" },
        { "SELECT 1 FROM t WHERE a = 9223372036854775807",
          "SELECT 1 FROM t WHERE a = ?::pg_catalog.int8 | int8:9223372036854775807" },
        { "SELECT 1 FROM t WHERE a = 9223372036854775808",
          "SELECT 1 FROM t WHERE a = ?::pg_catalog.numeric | numeric:9223372036854775808" },
        { "SELECT 1 FROM t WHERE a = 1e3", "(none)" },
        { "SELECT 1 FROM t WHERE a = 1e1001", "(none)" },
        { "SELECT 1 FROM t WHERE a = .5", "SELECT 1 FROM t WHERE a = ?::pg_catalog.numeric | numeric:.5" },
        { "SELECT 1 FROM t WHERE a = 5.", "SELECT 1 FROM t WHERE a = ?::pg_catalog.numeric | numeric:5." },
        { "SELECT 1 FROM t WHERE a = 2.5E-3", "(none)" },
        /* Not plain decimal: left in place. */
        { "SELECT 1 FROM t WHERE a = 0x1F", "(none)" },
        { "SELECT 1 FROM t WHERE a = 1_000", "(none)" },
    };
    RUN(cases);
}

static void test_left_alone(void **state)
{
    static const struct ap_case cases[] = {
        /* Not "column op literal". */
        { "SELECT 1", "(none)" },
        { "SELECT 'a' = 'b'", "(none)" },
        { "SELECT 1 FROM t WHERE a = -5", "(none)" },
        { "SELECT 1 FROM t WHERE a IN (1, 2)", "(none)" },
        { "SELECT 1 FROM t WHERE a BETWEEN 1 AND 2", "(none)" },
        { "SELECT 1 FROM t WHERE f(a) = 1", "(none)" },
        { "SELECT 1 FROM t LIMIT 5 OFFSET 2", "(none)" },
        /* Something applies to the literal before the comparison does. */
        { "SELECT 1 FROM t WHERE a = 5 + 1", "(none)" },
        { "SELECT 1 FROM t WHERE a = '5'::int", "(none)" },
        { "SELECT 1 FROM t WHERE a = 'x' COLLATE \"C\"", "(none)" },
        { "SELECT 1 FROM t WHERE ts = '2020-01-01' AT TIME ZONE 'UTC'", "(none)" },
        { "SELECT 1 FROM t WHERE d = DATE '2020-01-01'", "(none)" },
        { "SELECT 1 FROM t WHERE a = 'x' IS TRUE", "(none)" },
        /* Strings whose value is not their bytes, or that read differently. */
        { "SELECT 1 FROM t WHERE a = 'it''s'", "(none)" },
        { "SELECT 1 FROM t WHERE a = E'x'", "(none)" },
        { "SELECT 1 FROM t WHERE a = N'x'", "(none)" },
        { "SELECT 1 FROM t WHERE a = U&'x'", "(none)" },
        { "SELECT 1 FROM t WHERE a = 'back\\slash'", "(none)" },
        { "SELECT 1 FROM t WHERE a = $$x$$", "(none)" },
        { "SELECT 1 FROM t WHERE a = B'101'", "(none)" },
        /*
         * Clauses where an expression must match another written the same
         * way: two parameters would not (GROUP BY id = $2 is not id = $1).
         */
        { "SELECT id = 1, count(*) FROM t GROUP BY id = 1 ORDER BY 1", "(none)" },
        { "SELECT DISTINCT ON (id = 3) id FROM t ORDER BY id = 3, id", "(none)" },
        { "SELECT a FROM t ORDER BY a = 2", "(none)" },
        { "SELECT a FROM t GROUP BY a HAVING a = 1", "(none)" },
        { "SELECT (SELECT max(b) FROM u WHERE u.k = 5) FROM t", "(none)" },
        { "SELECT count(*) FILTER (WHERE a = 1) FROM t", "(none)" },
        { "SELECT rank() OVER (PARTITION BY a = 1) FROM t", "(none)" },
        { "UPDATE t SET a = 1 RETURNING a = 1", "UPDATE t SET a = ?::pg_catalog.int4 RETURNING a = 1 | int4:1" },
        /* ON CONFLICT's WHERE must prove a partial index's predicate. */
        { "INSERT INTO t VALUES (1) ON CONFLICT (a) WHERE b = 1 DO NOTHING", "(none)" },
        { "INSERT INTO t VALUES (1) ON CONFLICT (a) DO UPDATE SET b = 2 WHERE t.c = 3", "(none)" },
        /* Markers already there, or a '?' the driver might take for one. */
        { "SELECT 1 FROM t WHERE a = $1 AND b = 2", "(none)" },
        { "SELECT 1 FROM t WHERE a = 'what?' AND b = 2", "(none)" },
        { "SELECT 1 FROM t WHERE j ? 'k' AND b = 2", "(none)" },
        /* Does not lex. */
        { "SELECT 1 FROM t WHERE a = 'open", "(none)" },
    };
    RUN(cases);
}

/* Only the first SQL_AUTOPARAM_MAX literals go; the rest stay in the text. */
static void test_limits(void **state)
{
    char sql[4096], want[8192];
    size_t n = 0, w = 0;
    int i;

    n += (size_t)snprintf(sql + n, sizeof(sql) - n, "SELECT 1 FROM t WHERE a = 0");
    w += (size_t)snprintf(want + w, sizeof(want) - w, "SELECT 1 FROM t WHERE a = ?::pg_catalog.int4");
    for (i = 1; i <= SQL_AUTOPARAM_MAX; i++) {
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, " OR a = %d", i);
        if (i < SQL_AUTOPARAM_MAX)
            w += (size_t)snprintf(want + w, sizeof(want) - w, " OR a = ?::pg_catalog.int4");
        else
            w += (size_t)snprintf(want + w, sizeof(want) - w, " OR a = %d", i);
    }
    w += (size_t)snprintf(want + w, sizeof(want) - w, " |");
    for (i = 0; i < SQL_AUTOPARAM_MAX; i++)
        w += (size_t)snprintf(want + w, sizeof(want) - w, " int4:%d", i);
    assert_string_equal(render(sql), want);

    /* A statement of more tokens than the lexer array holds is left alone. */
    n = (size_t)snprintf(sql, sizeof(sql), "SELECT 1 FROM t WHERE a = 1 AND b = c");
    for (i = 0; i < SQL_AUTOPARAM_TOKENS / 2; i++)
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, "+0");
    assert_string_equal(render(sql), "(none)");

    /* Parentheses nested deeper than the clause stack: left alone. */
    n = (size_t)snprintf(sql, sizeof(sql), "SELECT 1 FROM t WHERE ");
    for (i = 0; i < 40; i++)
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, "(");
    n += (size_t)snprintf(sql + n, sizeof(sql) - n, "a = 1");
    for (i = 0; i < 40; i++)
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, ")");
    assert_string_equal(render(sql), "(none)");
}

/* SQLite: bare markers, and its named markers mean the text is left alone. */
static void test_without_casts(void **state)
{
    assert_string_equal(render_as("SELECT abalance FROM pgbench_accounts WHERE aid = 42 AND n > 1.5 AND t = 'x'", 0),
                        "SELECT abalance FROM pgbench_accounts WHERE aid = ? AND n > ? AND t = ? | int4:42 "
                        "numeric:1.5 unknown:x");
    assert_string_equal(render_as("SELECT 1 FROM t WHERE a = :v AND b = 2", 0), "(none)");
    assert_string_equal(render_as("SELECT 1 FROM t WHERE a = @v AND b = 2", 0), "(none)");
    assert_string_equal(render_as("SELECT 1 FROM t WHERE a = $v AND b = 2", 0), "(none)");
    assert_string_equal(render_as("SELECT 1 FROM t WHERE a = ?1 AND b = 2", 0), "(none)");
    /* With casts, '::' is PostgreSQL's and no marker. */
    assert_string_equal(render_as("SELECT a::text FROM t WHERE b = 2", 1),
                        "SELECT a::text FROM t WHERE b = ?::pg_catalog.int4 | int4:2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_comparisons),
        cmocka_unit_test(test_number_types),
        cmocka_unit_test(test_left_alone),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_without_casts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
