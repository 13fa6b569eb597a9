/*
 * Tests for common/sql_translate and its rule sets: every golden file under
 * tests/sql/<dialect>/ (run from the repository root), the rules' triggers
 * against every golden and bench/corpus statement, then the record,
 * parameter counting, errors, options and the invariants every translation
 * keeps (the output lexes; freeing is idempotent).
 *
 * Golden file format, one case after another:
 *   -- in: SQL            (or "-- in:" and the SQL on the following lines)
 *   -- out: SQL           expected backend SQL (same one-or-more-lines form)
 *   -- error: 0A000 text  expected failure: SQLSTATE and a message fragment
 *   -- record: kind=...   optional: expected sql_translation_describe line
 * Lines starting with "-- #" are comments.  The cases run as a client "alice"
 * connected to database "shop" (current_user, current_database()).
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

static const struct sql_translate_opts golden_session = { .user = "alice", .database = "shop" };

/* Runs one case; returns 1 on failure after printing why. */
static int run_case(void *arg, enum cfg_dialect d, const char *path, const struct golden_case *c)
{
    struct sql_translation t;
    int rc = sql_translate_opts(d, &golden_session, c->in, strlen(c->in), &t), bad = 0;
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

/* Checks one case; returns 1 on failure after printing why. */
typedef int (*case_fn)(void *arg, enum cfg_dialect d, const char *path, const struct golden_case *c);

/* Runs every case of one file through check; adds to *cases and *failures. */
static void run_file(enum cfg_dialect d, const char *path, case_fn check, void *arg, int *cases,
                     int *failures)
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
                    *failures += check(arg, d, path, &c);
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

static int run_dir(enum cfg_dialect d, const char *dir, case_fn check, void *arg, int *failures)
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
        run_file(d, path, check, arg, &cases, failures);
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
    assert_true(run_dir(CFG_DIALECT_POSTGRES, "tests/sql/postgres", run_case, NULL, &failures) >= 10);
    assert_int_equal(failures, 0);
}

static void test_golden_sqlite(void **state)
{
    int failures = 0;
    assert_true(run_dir(CFG_DIALECT_SQLITE, "tests/sql/sqlite", run_case, NULL, &failures) >= 40);
    assert_int_equal(failures, 0);
}

static void test_golden_iris(void **state)
{
    int failures = 0;
    assert_true(run_dir(CFG_DIALECT_IRIS, "tests/sql/iris", run_case, NULL, &failures) >= 80);
    assert_int_equal(failures, 0);
}

/*
 * A rule runs only when the statement holds one of its trigger's keywords
 * or marks.  One that misses something its rule rewrites or rejects makes
 * the translation differ from the one that runs every rule regardless;
 * every statement of the golden files and the bench corpus, in every
 * dialect, must translate alike both ways.
 */
static const enum cfg_dialect all_dialects[] = { CFG_DIALECT_IRIS, CFG_DIALECT_SQLITE,
                                                 CFG_DIALECT_POSTGRES };
static const char *const dialect_names[] = { [CFG_DIALECT_IRIS] = "iris",
                                             [CFG_DIALECT_SQLITE] = "sqlite",
                                             [CFG_DIALECT_POSTGRES] = "postgres" };

struct trigger_run {
    const char *path;
    int statements, failures;
};

/* One statement in every dialect; counts a failure after printing the two translations. */
static void check_triggers(struct trigger_run *run, const char *in, size_t len)
{
    for (size_t k = 0; k < sizeof(all_dialects) / sizeof(all_dialects[0]); k++) {
        struct sql_translation a, b;
        char rec_a[1024], rec_b[1024];
        int rc_a = sql_translate(all_dialects[k], in, len, &a);
        int rc_b = sql_translate_every_rule(all_dialects[k], in, len, &b);

        sql_translation_describe(&a, rec_a, sizeof(rec_a));
        sql_translation_describe(&b, rec_b, sizeof(rec_b));
        if (rc_a != rc_b || strcmp(rc_a ? a.error : a.sql, rc_b ? b.error : b.sql) != 0 ||
            strcmp(a.sqlstate, b.sqlstate) != 0 || strcmp(rec_a, rec_b) != 0) {
            printf("%s: %s: a trigger stops a rule that rewrites\n  %.*s\n"
                   "  with triggers: %s %s\n  every rule:    %s %s\n",
                   run->path, dialect_names[all_dialects[k]], (int)len, in, a.sqlstate,
                   rc_a ? a.error : a.sql, b.sqlstate, rc_b ? b.error : b.sql);
            run->failures++;
        }
        run->statements++;
        sql_translation_free(&a);
        sql_translation_free(&b);
    }
}

/*
 * Each holds one keyword of a trigger that the golden files write only
 * beside another of the same trigger, where the trigger could lose it
 * unnoticed (found by dropping each keyword of each trigger in turn).  The
 * golden files check what these translate to; here they only need to
 * translate alike both ways.
 */
static const char *const trigger_alone[] = {
    "SELECT transaction_timestamp()", "SELECT statement_timestamp()", "SELECT clock_timestamp()",
    "SELECT localtimestamp", "SELECT current_time", "SELECT btrim(s) FROM t",
    "SELECT ltrim(s) FROM t", "SELECT rtrim(s) FROM t", "SELECT character_length(s) FROM t",
    "SELECT least(a, b) FROM t", "SELECT * FROM t OFFSET 5", "SELECT * FROM t LIMIT 10 OFFSET 5 ROWS",
    "SELECT date '2024-01-31'", "SELECT timestamp '2024-01-31 10:00:00'",
    "SELECT timestamptz '2024-01-31 10:00:00+02'", "SELECT date_part('day', d) FROM t",
};

/* A golden case in every dialect, whichever directory it is in. */
static int check_triggers_case(void *arg, enum cfg_dialect d, const char *path,
                               const struct golden_case *c)
{
    struct trigger_run *run = arg;

    run->path = path;
    check_triggers(run, c->in, strlen(c->in));
    return 0;
}

static int check_triggers_stmt(void *arg, const char *stmt, size_t len)
{
    check_triggers(arg, stmt, len);
    return 0;
}

static void test_triggers(void **state)
{
    static const char *const golden[] = { "tests/sql/postgres", "tests/sql/sqlite", "tests/sql/iris" };
    struct trigger_run run = { NULL, 0, 0 };
    DIR *dp = opendir("bench/corpus");
    struct dirent *e;
    int unused = 0;

    for (size_t k = 0; k < sizeof(golden) / sizeof(golden[0]); k++)
        run_dir(CFG_DIALECT_POSTGRES, golden[k], check_triggers_case, &run, &unused);
    assert_non_null(dp);
    while ((e = readdir(dp)) != NULL) {
        char path[512], *text;
        size_t n = strlen(e->d_name), len;
        struct sql_lex_error err;
        FILE *f;
        if (n < 5 || strcmp(e->d_name + n - 4, ".sql") != 0)
            continue;
        snprintf(path, sizeof(path), "bench/corpus/%s", e->d_name);
        f = fopen(path, "rb");
        assert_non_null(f);
        assert_int_equal(fseek(f, 0, SEEK_END), 0);
        len = (size_t)ftell(f);
        rewind(f);
        text = malloc(len + 1);
        assert_non_null(text);
        assert_int_equal(fread(text, 1, len, f), len);
        fclose(f);
        run.path = path;
        assert_int_equal(sql_split(text, len, check_triggers_stmt, &run, &err), 0);
        free(text);
    }
    closedir(dp);
    run.path = "trigger_alone";
    for (size_t k = 0; k < sizeof(trigger_alone) / sizeof(trigger_alone[0]); k++)
        check_triggers(&run, trigger_alone[k], strlen(trigger_alone[k]));
    printf("triggers: %d translations compared\n", run.statements);
    assert_true(run.statements >= 3 * (300 + 250));
    assert_int_equal(run.failures, 0);
}

/* SQL_TRIGGER sets the bits sql_seen reads, in every word, and no others. */
static void test_trigger_bits(void **state)
{
    static const struct sql_trigger t =
        SQL_TRIGGER(KW_ABORT, KW_RETURNING, KW_SELECT, SQL_SEEN_TYPE_ + SQL_TOK_COMMENT);
    struct sql_rw rw;
    int set = 0;

    memset(&rw, 0, sizeof(rw));
    memcpy(rw.seen, t.bits, sizeof(rw.seen));
    for (unsigned id = 0; id < SQL_SEEN_COUNT_; id++)
        set += sql_seen(&rw, id);
    assert_int_equal(set, 4);
    assert_true(sql_seen(&rw, KW_ABORT) && sql_seen(&rw, KW_RETURNING) && sql_seen(&rw, KW_SELECT) &&
                sql_seen(&rw, SQL_SEEN_TYPE_ + SQL_TOK_COMMENT));
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
    struct sql_translate_opts o = { .default_schema = "App" };
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
    assert_non_null(strstr(t.sql, "SELECT TOP 3 UPPER(CAST(ROUND(c0, 0) AS INTEGER)) LIKE UPPER('x')"));
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
        cmocka_unit_test(test_triggers),        cmocka_unit_test(test_trigger_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
