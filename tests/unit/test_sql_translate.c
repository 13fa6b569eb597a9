/*
 * Tests for common/sql_translate and its rule sets: every golden file under
 * tests/sql/<dialect>/ (run from the repository root), then the record,
 * parameter counting, errors, options and the invariants every translation
 * keeps (the output lexes; freeing is idempotent).
 *
 * Golden file format, one case after another:
 *   -- in: SQL            (or "-- in:" and the SQL on the following lines)
 *   -- out: SQL           expected backend SQL (same one-or-more-lines form)
 *   -- error: 0A000 text  expected failure: SQLSTATE and a message fragment
 *   -- record: kind=...   optional: expected sql_translation_describe line
 * Lines starting with "-- #" are comments.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/sql_lexer.h"
#include "common/sql_rules.h"
#include "common/sql_translate.h"

struct golden_case {
    int line;
    char *in, *out, *error, *record;
};

static char *trimdup(const char *s, size_t n)
{
    char *p;
    while (n > 0 && (*s == ' ' || *s == '\n' || *s == '\t'))
        s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    p = malloc(n + 1);
    assert_non_null(p);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static const char *const markers[] = { "-- in:", "-- out:", "-- error:", "-- record:" };

static int marker_of(const char *line)
{
    for (int m = 0; m < 4; m++)
        if (strncmp(line, markers[m], strlen(markers[m])) == 0)
            return m;
    return -1;
}

/* Runs one case; returns 1 on failure after printing why. */
static int run_case(enum cfg_dialect d, const char *path, const struct golden_case *c)
{
    struct sql_translation t;
    int rc = sql_translate(d, c->in, strlen(c->in), &t), bad = 0;
    char rec[1024];

    if (!c->out && !c->error) {
        printf("%s:%d: case has neither -- out: nor -- error:\n", path, c->line);
        sql_translation_free(&t);
        return 1;
    }
    if (c->error) {
        size_t n = strcspn(c->error, " ");
        if (rc == 0 || strncmp(t.sqlstate, c->error, n) != 0 || n != strlen(t.sqlstate) ||
            (c->error[n] && !strstr(t.error, c->error + n + 1))) {
            printf("%s:%d: want error %s\n   got %s %s%s\n", path, c->line, c->error,
                   rc ? t.sqlstate : "success:", rc ? t.error : t.sql, "");
            bad = 1;
        }
    } else if (rc != 0) {
        printf("%s:%d: want %s\n   got error %s %s\n", path, c->line, c->out, t.sqlstate, t.error);
        bad = 1;
    } else if (strcmp(t.sql, c->out) != 0) {
        printf("%s:%d: want %s\n    got %s\n", path, c->line, c->out, t.sql);
        bad = 1;
    }
    if (!bad && rc == 0) {
        struct sql_token toks[1024];
        struct sql_lex_error err;
        size_t ntok;
        if (sql_lex(t.sql, t.len, toks, 1024, &ntok, &err) != 0) {
            printf("%s:%d: output does not lex: %s\n", path, c->line, err.message);
            bad = 1;
        }
    }
    if (!bad && c->record) {
        sql_translation_describe(&t, rec, sizeof(rec));
        if (strcmp(rec, c->record) != 0) {
            printf("%s:%d: want record %s\n           got %s\n", path, c->line, c->record, rec);
            bad = 1;
        }
    }
    sql_translation_free(&t);
    return bad;
}

static void free_case(struct golden_case *c)
{
    free(c->in);
    free(c->out);
    free(c->error);
    free(c->record);
    memset(c, 0, sizeof(*c));
}

/* Runs every case of one file; adds to *cases and *failures. */
static void run_file(enum cfg_dialect d, const char *path, int *cases, int *failures)
{
    FILE *f = fopen(path, "r");
    char line[8192], block[16384];
    struct golden_case c = { 0 };
    int lineno = 0, cur = -1;
    size_t used = 0;

    assert_non_null(f);
    block[0] = '\0';
    for (;;) {
        bool eof = !fgets(line, sizeof(line), f);
        int m = eof ? 0 : marker_of(line);
        lineno += !eof;
        if (!eof && m < 0 && strncmp(line, "-- #", 4) == 0)
            continue;
        if (eof || m >= 0) {
            if (cur >= 0) {
                char **slot[4] = { &c.in, &c.out, &c.error, &c.record };
                *slot[cur] = trimdup(block, used);
            }
            if (eof || m == 0) {
                if (c.in) {
                    (*cases)++;
                    *failures += run_case(d, path, &c);
                }
                free_case(&c);
                c.line = lineno;
            }
            if (eof)
                break;
            cur = m;
            used = (size_t)snprintf(block, sizeof(block), "%s", line + strlen(markers[m]));
            continue;
        }
        if (cur >= 0 && used + strlen(line) < sizeof(block))
            used += (size_t)snprintf(block + used, sizeof(block) - used, "%s", line);
    }
    free_case(&c);
    fclose(f);
}

static int run_dir(enum cfg_dialect d, const char *dir, int *failures)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    int cases = 0, files = 0;

    if (!dp) {
        printf("cannot open %s: run the tests from the repository root\n", dir);
        fail();
    }
    while ((e = readdir(dp)) != NULL) {
        char path[512];
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".sql") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        run_file(d, path, &cases, failures);
        files++;
    }
    closedir(dp);
    printf("%s: %d files, %d cases\n", dir, files, cases);
    assert_true(files > 0);
    return cases;
}

static void test_golden_postgres(void **state)
{
    int failures = 0;
    assert_true(run_dir(CFG_DIALECT_POSTGRES, "tests/sql/postgres", &failures) >= 10);
    assert_int_equal(failures, 0);
}

static void test_golden_sqlite(void **state)
{
    int failures = 0;
    assert_true(run_dir(CFG_DIALECT_SQLITE, "tests/sql/sqlite", &failures) >= 40);
    assert_int_equal(failures, 0);
}

static void test_golden_iris(void **state)
{
    int failures = 0;
    assert_true(run_dir(CFG_DIALECT_IRIS, "tests/sql/iris", &failures) >= 80);
    assert_int_equal(failures, 0);
}

/* The keyword table stays sorted and every keyword is found (none too long for the lookup). */
static void test_keywords_sorted(void **state)
{
    for (int k = 2; k < KW_COUNT_; k++) {
        if (strcmp(sql_kw_name(k - 1), sql_kw_name(k)) >= 0)
            fail_msg("keyword %s sorts before %s", sql_kw_name(k), sql_kw_name(k - 1));
        assert_int_equal(sql_kw_lookup(sql_kw_name(k), strlen(sql_kw_name(k))), k);
    }
    assert_int_equal(sql_kw_lookup("SeLeCt", 6), KW_SELECT);
    assert_int_equal(sql_kw_lookup("DATE_Part", 9), KW_DATE_PART);
    assert_int_equal(sql_kw_lookup("selects", 7), KW_NONE);
    assert_int_equal(sql_kw_lookup("", 0), KW_NONE);
    /* the hash folds bit 5 of every byte: '_' and DEL hash alike, but only '_' matches */
    assert_int_equal(sql_kw_lookup("date\x7fpart", 9), KW_NONE);
}

static void test_params(void **state)
{
    struct sql_translation t;
    const char *q = "SELECT $2, '$9', $1 -- $7\n FROM t WHERE a = $3";

    assert_int_equal(sql_translate(CFG_DIALECT_IRIS, q, strlen(q), &t), 0);
    assert_int_equal(t.nparams, 3);
    assert_non_null(strstr(t.sql, "$2"));      /* markers stay for the caller to map */
    sql_translation_free(&t);
    q = "SELECT $0";
    assert_int_equal(sql_translate(CFG_DIALECT_POSTGRES, q, strlen(q), &t), -1);
    assert_string_equal(t.sqlstate, "42P02");
    sql_translation_free(&t);
    q = "SELECT $99999999999999999999";
    assert_int_equal(sql_translate(CFG_DIALECT_POSTGRES, q, strlen(q), &t), -1);
    assert_string_equal(t.sqlstate, "42P02");
    sql_translation_free(&t);
}

static void test_errors(void **state)
{
    struct sql_translation t;
    const char *q = "SELECT 'unterminated";

    assert_int_equal(sql_translate(CFG_DIALECT_SQLITE, q, strlen(q), &t), -1);
    assert_string_equal(t.sqlstate, "42601");
    assert_null(t.sql);
    sql_translation_free(&t);
    sql_translation_free(&t);  /* twice is harmless */
    q = "SELECT 1; SELECT 2";
    assert_int_equal(sql_translate(CFG_DIALECT_POSTGRES, q, strlen(q), &t), -1);
    assert_string_equal(t.sqlstate, "42601");
    sql_translation_free(&t);
    q = "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END";
    assert_int_equal(sql_translate(CFG_DIALECT_POSTGRES, q, strlen(q), &t), 0);
    sql_translation_free(&t);
    /* the verb survives a failure, for logs */
    q = "SELECT a FROM t FOR UPDATE";
    assert_int_equal(sql_translate(CFG_DIALECT_IRIS, q, strlen(q), &t), -1);
    assert_string_equal(t.sqlstate, "0A000");
    assert_string_equal(t.verb, "SELECT");
    sql_translation_free(&t);
}

static void test_empty(void **state)
{
    struct sql_translation t;

    assert_int_equal(sql_translate(CFG_DIALECT_IRIS, "", 0, &t), 0);
    assert_string_equal(t.sql, "");
    assert_int_equal(t.cmd, SQL_CMD_OTHER);
    sql_translation_free(&t);
    assert_int_equal(sql_translate(CFG_DIALECT_IRIS, " ; -- c\n", 8, &t), 0);
    assert_string_equal(t.sql, "-- c");
    sql_translation_free(&t);
}

static void test_schema_option(void **state)
{
    struct sql_translation t;
    struct sql_translate_opts o = { "App" };
    const char *q = "SELECT * FROM public.users";

    assert_int_equal(sql_translate_opts(CFG_DIALECT_IRIS, &o, q, strlen(q), &t), 0);
    assert_string_equal(t.sql, "SELECT * FROM App.users");
    sql_translation_free(&t);
}

/* A statement bigger than the lexer's stack buffer and the template limits. */
static void test_large(void **state)
{
    size_t cap = 200000, n = 0;
    char *q = malloc(cap);
    struct sql_translation t;

    assert_non_null(q);
    n += (size_t)snprintf(q, cap, "SELECT ");
    for (int i = 0; i < 5000; i++)
        n += (size_t)snprintf(q + n, cap - n, "%sc%d::int ILIKE 'x'", i ? ", " : "", i);
    snprintf(q + n, cap - n, " FROM t LIMIT 3");
    assert_int_equal(sql_translate(CFG_DIALECT_IRIS, q, strlen(q), &t), 0);
    assert_non_null(strstr(t.sql, "SELECT TOP 3 UPPER(CAST(c0 AS INTEGER)) LIKE UPPER('x')"));
    assert_null(strstr(t.sql, "LIMIT"));
    sql_translation_free(&t);
    free(q);
}

/*
 * The second part of E'a'<newline>'b\'c' is scanned under E'' rules; printed
 * after a blank instead of the newline it was a standard literal ending at
 * the backslash, and the output no longer lexed (found by fuzz_translate).
 */
static void test_continuation_lexes(void **state)
{
    static const enum cfg_dialect dialects[] = { CFG_DIALECT_IRIS, CFG_DIALECT_SQLITE,
                                                 CFG_DIALECT_POSTGRES };
    static const char *const want[] = { "SELECT 'ab''c'", "SELECT 'ab''c'",
                                        "SELECT E'a'\n'b\\'c'" };
    const char *q = "SELECT E'a'\n    'b\\'c'";

    for (size_t k = 0; k < 3; k++) {
        struct sql_translation t;
        struct sql_lex_error err;
        size_t ntok;
        assert_int_equal(sql_translate(dialects[k], q, strlen(q), &t), 0);
        assert_string_equal(t.sql, want[k]);
        assert_int_equal(sql_lex(t.sql, t.len, NULL, 0, &ntok, &err), 0);
        sql_translation_free(&t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keywords_sorted), cmocka_unit_test(test_golden_postgres),
        cmocka_unit_test(test_golden_sqlite),   cmocka_unit_test(test_golden_iris),
        cmocka_unit_test(test_params),          cmocka_unit_test(test_errors),
        cmocka_unit_test(test_empty),           cmocka_unit_test(test_schema_option),
        cmocka_unit_test(test_large),           cmocka_unit_test(test_continuation_lexes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
