/*
 * Tests for common/sql_lexer: every token kind and its edge cases against
 * PostgreSQL's scan.l rules, unterminated constructs and where they are
 * reported, statement splitting (semicolons inside literals, comments,
 * parentheses and BEGIN ATOMIC bodies; large and many statements), and
 * command naming for the statements a pooler has to recognise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/sql_lexer.h"

static const char *const tok_names[] = {
    [SQL_TOK_IDENT] = "IDENT",   [SQL_TOK_QIDENT] = "QIDENT",   [SQL_TOK_STRING] = "STRING",
    [SQL_TOK_ESTRING] = "ESTRING", [SQL_TOK_BSTRING] = "BSTRING", [SQL_TOK_DOLLAR] = "DOLLAR",
    [SQL_TOK_NUMBER] = "NUMBER", [SQL_TOK_PARAM] = "PARAM",     [SQL_TOK_OP] = "OP",
    [SQL_TOK_PUNCT] = "PUNCT",   [SQL_TOK_COMMENT] = "COMMENT",
};

/*
 * The tokens of text as "KIND(text) KIND(text) ...", or "ERROR@off: message"
 * after the tokens that came before a lexical error.
 */
static const char *render(const char *text)
{
    static char out[4096];
    struct sql_token toks[128];
    struct sql_lex_error err = { 0, NULL };
    size_t n = 0, used = 0;
    int rc = sql_lex(text, strlen(text), toks, 128, &n, &err);

    assert_true(n <= 128);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        used += (size_t)snprintf(out + used, sizeof(out) - used, "%s%s(%.*s)", i ? " " : "",
                                 tok_names[toks[i].type], (int)toks[i].len, text + toks[i].off);
        assert_true(used < sizeof(out));
    }
    if (rc != 0) {
        assert_int_equal(rc, -1);
        assert_non_null(err.message);
        snprintf(out + used, sizeof(out) - used, "%sERROR@%u: %s", n ? " " : "", err.off,
                 err.message);
    }
    return out;
}

struct lex_case {
    const char *in;
    const char *want;
};

static void run_lex_cases(const struct lex_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *got = render(cases[i].in);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("input [%s]\n  want %s\n  got  %s", cases[i].in, cases[i].want, got);
    }
}

#define RUN_LEX(cases) run_lex_cases(cases, sizeof(cases) / sizeof(cases[0]))

static void test_identifiers(void **state)
{
    static const struct lex_case cases[] = {
        { "SELECT a.b, \"C\" from t;",
          "IDENT(SELECT) IDENT(a) PUNCT(.) IDENT(b) PUNCT(,) QIDENT(\"C\") IDENT(from) IDENT(t) PUNCT(;)" },
        { "_x1$ a$$b ab$1 \xc3\x9cn\xc3\xaf", "IDENT(_x1$) IDENT(a$$b) IDENT(ab$1) IDENT(\xc3\x9cn\xc3\xaf)" },
        { "\"a\"\"b\"", "QIDENT(\"a\"\"b\")" },
        { "\"with space; and -- stuff\"", "QIDENT(\"with space; and -- stuff\")" },
        { "U&\"d\\0061t\" u&\"x\"", "QIDENT(U&\"d\\0061t\") QIDENT(u&\"x\")" },
        { "U&x", "IDENT(U) OP(&) IDENT(x)" },
        { "E x", "IDENT(E) IDENT(x)" },
        /* a prefix letter only counts at the start of a word */
        { "xe'a' abcE'b'", "IDENT(xe) STRING('a') IDENT(abcE) STRING('b')" },
        { " \t\r\n\f\v", "" },
        { "", "" },
    };
    RUN_LEX(cases);
}

static void test_strings(void **state)
{
    static const struct lex_case cases[] = {
        { "'it''s'", "STRING('it''s')" },
        { "''", "STRING('')" },
        { "'-- not a comment' '/* nor */'", "STRING('-- not a comment') STRING('/* nor */')" },
        { "'a\\' x", "STRING('a\\') IDENT(x)" },
        { "E'\\''", "ESTRING(E'\\'')" },
        { "e'a\\\\' x", "ESTRING(e'a\\\\') IDENT(x)" },
        { "E'x''y\\n'", "ESTRING(E'x''y\\n')" },
        { "B'0101' b'1' X'1F' x'ff'", "BSTRING(B'0101') BSTRING(b'1') BSTRING(X'1F') BSTRING(x'ff')" },
        /* a bit string has no '' escape: the second quote starts a new string */
        { "B'01''10'", "BSTRING(B'01') STRING('10')" },
        { "N'abc' n''", "STRING(N'abc') STRING(n'')" },
        { "U&'d\\0061t' UESCAPE '!'", "STRING(U&'d\\0061t') IDENT(UESCAPE) STRING('!')" },
        /* continuation: each part is its own token but keeps the first part's rules */
        { "'a'\n'b'", "STRING('a') STRING('b')" },
        { "E'a'\n'b\\'c'", "ESTRING(E'a') ESTRING('b\\'c')" },
        { "E'a' -- note\n  'b\\'c'", "ESTRING(E'a') COMMENT(-- note) ESTRING('b\\'c')" },
        { "B'01'\r\n'10'", "BSTRING(B'01') BSTRING('10')" },
        /* no newline, or a block comment in between: not a continuation */
        { "E'a' 'b\\' x", "ESTRING(E'a') STRING('b\\') IDENT(x)" },
        { "E'a' /* c */\n'b\\' x", "ESTRING(E'a') COMMENT(/* c */) STRING('b\\') IDENT(x)" },
    };
    RUN_LEX(cases);
}

static void test_dollar_quotes(void **state)
{
    static const struct lex_case cases[] = {
        { "$$a;b$$", "DOLLAR($$a;b$$)" },
        { "$$$$", "DOLLAR($$$$)" },
        { "$a$ x $b$ y $a$", "DOLLAR($a$ x $b$ y $a$)" },
        { "$fn$ BEGIN RETURN $$x$$; END $fn$ z", "DOLLAR($fn$ BEGIN RETURN $$x$$; END $fn$) IDENT(z)" },
        { "$a$ x $A$ y $a$", "DOLLAR($a$ x $A$ y $a$)" },
        { "$q$ $qq$ $q$", "DOLLAR($q$ $qq$ $q$)" },
        { "$_1$'\"--/*$_1$", "DOLLAR($_1$'\"--/*$_1$)" },
        { "$a$b$a$", "DOLLAR($a$b$a$)" },
        /* the closing delimiter is found even inside a longer $...$ */
        { "$a$ $b$a$", "DOLLAR($a$ $b$a$)" },
        { "$\xc3\xa9$x$\xc3\xa9$", "DOLLAR($\xc3\xa9$x$\xc3\xa9$)" },
        { "$1 $12::int", "PARAM($1) PARAM($12) OP(::) IDENT(int)" },
        { "$1$", "PARAM($1) OP($)" },
        { "$ x $abc", "OP($) IDENT(x) OP($) IDENT(abc)" },
        { "a$$b$$", "IDENT(a$$b$$)" },
    };
    RUN_LEX(cases);
}

static void test_numbers(void **state)
{
    static const struct lex_case cases[] = {
        { "42 3.14 .5 5. 1e-5 1E+10 1.5e3 1.e5",
          "NUMBER(42) NUMBER(3.14) NUMBER(.5) NUMBER(5.) NUMBER(1e-5) NUMBER(1E+10) NUMBER(1.5e3) "
          "NUMBER(1.e5)" },
        { "0x1F 0X1f 0o17 0b101 0x_FF", "NUMBER(0x1F) NUMBER(0X1f) NUMBER(0o17) NUMBER(0b101) NUMBER(0x_FF)" },
        { "1_000_000 1.000_5", "NUMBER(1_000_000) NUMBER(1.000_5)" },
        { "1__0 1_", "NUMBER(1) IDENT(__0) NUMBER(1) IDENT(_)" },
        { "123abc 1ex 1.x", "NUMBER(123) IDENT(abc) NUMBER(1) IDENT(ex) NUMBER(1.) IDENT(x)" },
        { "1e 1e+", "NUMBER(1) IDENT(e) NUMBER(1) IDENT(e) OP(+)" },
        { "0x 0xZ 0b2", "NUMBER(0) IDENT(x) NUMBER(0) IDENT(xZ) NUMBER(0) IDENT(b2)" },
        { "1..10", "NUMBER(1) OP(..) NUMBER(10)" },
        { "1.2.3", "NUMBER(1.2) NUMBER(.3)" },
        { "-1", "OP(-) NUMBER(1)" },
        { "a.b.5", "IDENT(a) PUNCT(.) IDENT(b) NUMBER(.5)" },
    };
    RUN_LEX(cases);
}

static void test_operators(void **state)
{
    static const struct lex_case cases[] = {
        { "a<=>b", "IDENT(a) OP(<=>) IDENT(b)" },
        { "j->>'k' j->'k' j#>>'{a}'", "IDENT(j) OP(->>) STRING('k') IDENT(j) OP(->) STRING('k') IDENT(j) "
                                     "OP(#>>) STRING('{a}')" },
        { "a @> b || c", "IDENT(a) OP(@>) IDENT(b) OP(||) IDENT(c)" },
        { "a::int[]", "IDENT(a) OP(::) IDENT(int) PUNCT([) PUNCT(])" },
        { "f(a := 1, b => 2)", "IDENT(f) PUNCT(() IDENT(a) OP(:=) NUMBER(1) PUNCT(,) IDENT(b) OP(=>) "
                               "NUMBER(2) PUNCT())" },
        { "a[1:2]", "IDENT(a) PUNCT([) NUMBER(1) PUNCT(:) NUMBER(2) PUNCT(])" },
        { "a<>b a!=b a>=b", "IDENT(a) OP(<>) IDENT(b) IDENT(a) OP(!=) IDENT(b) IDENT(a) OP(>=) IDENT(b)" },
        /* a run may end in + or - only if it holds one of ~ ! @ # % ^ & | ` ? */
        { "a=-1", "IDENT(a) OP(=) OP(-) NUMBER(1)" },
        { "a*-b a+-b", "IDENT(a) OP(*) OP(-) IDENT(b) IDENT(a) OP(+) OP(-) IDENT(b)" },
        { "a<=-+b", "IDENT(a) OP(<=) OP(-) OP(+) IDENT(b)" },
        { "@-1 ?- !=- #-", "OP(@-) NUMBER(1) OP(?-) OP(!=-) OP(#-)" },
        /* a comment start ends an operator run */
        { "+--x\n-", "OP(+) COMMENT(--x) OP(-)" },
        { "*/*x*/", "OP(*) COMMENT(/*x*/)" },
        { "a</*c*/b", "IDENT(a) OP(<) COMMENT(/*c*/) IDENT(b)" },
        { "|/ 25 ~~* %", "OP(|/) NUMBER(25) OP(~~*) OP(%)" },
        { "\\ { }", "OP(\\) OP({) OP(})" },
    };
    RUN_LEX(cases);
}

static void test_comments(void **state)
{
    static const struct lex_case cases[] = {
        { "/* a /* nested */ b */ x", "COMMENT(/* a /* nested */ b */) IDENT(x)" },
        { "-- c\nx", "COMMENT(-- c) IDENT(x)" },
        { "-- a\r\nb", "COMMENT(-- a) IDENT(b)" },
        { "x --", "IDENT(x) COMMENT(--)" },
        { "/**/ /*/ x */ /***/", "COMMENT(/**/) COMMENT(/*/ x */) COMMENT(/***/)" },
        { "/* 'not a string */ y", "COMMENT(/* 'not a string */) IDENT(y)" },
        { "/* -- */ z", "COMMENT(/* -- */) IDENT(z)" },
        { "/*+ hint */ SELECT", "COMMENT(/*+ hint */) IDENT(SELECT)" },
    };
    RUN_LEX(cases);
}

static void test_semicolons_inside_literals(void **state)
{
    static const struct lex_case cases[] = {
        { "';' \";\" E'\\';' B';' X';' N';' U&';' U&\";\" $$;$$ $t$;$t$ -- ;\n/* ; */;",
          "STRING(';') QIDENT(\";\") ESTRING(E'\\';') BSTRING(B';') BSTRING(X';') STRING(N';') "
          "STRING(U&';') QIDENT(U&\";\") DOLLAR($$;$$) DOLLAR($t$;$t$) COMMENT(-- ;) "
          "COMMENT(/* ; */) PUNCT(;)" },
    };
    RUN_LEX(cases);
}

static void test_unterminated(void **state)
{
    static const struct lex_case cases[] = {
        { "'abc", "ERROR@0: unterminated quoted string" },
        { "SELECT 'it''s", "IDENT(SELECT) ERROR@7: unterminated quoted string" },
        { "E'\\'", "ERROR@0: unterminated quoted string" },
        { "e'\\", "ERROR@0: unterminated quoted string" },
        { "N'a", "ERROR@0: unterminated quoted string" },
        { "U&'a", "ERROR@0: unterminated quoted string" },
        { "B'01", "ERROR@0: unterminated bit string literal" },
        { "x X'1", "IDENT(x) ERROR@2: unterminated hexadecimal string literal" },
        { "\"abc", "ERROR@0: unterminated quoted identifier" },
        { "x \"a\"\"", "IDENT(x) ERROR@2: unterminated quoted identifier" },
        { "U&\"a", "ERROR@0: unterminated quoted identifier" },
        { "$$abc", "ERROR@0: unterminated dollar-quoted string" },
        { "SELECT $a$ x $b$", "IDENT(SELECT) ERROR@7: unterminated dollar-quoted string" },
        { "$a$ $b$a$ $a$", "DOLLAR($a$ $b$a$) ERROR@10: unterminated dollar-quoted string" },
        { "/* a /* b */", "ERROR@0: unterminated /* comment" },
        { "x /*", "IDENT(x) ERROR@2: unterminated /* comment" },
        { "x /*/", "IDENT(x) ERROR@2: unterminated /* comment" },
        /* the unterminated part of a continued literal is what is reported */
        { "'a'\n'b", "STRING('a') ERROR@4: unterminated quoted string" },
        { "E'a' /* c */\n'b\\' y'", "ESTRING(E'a') COMMENT(/* c */) STRING('b\\') IDENT(y) "
                                   "ERROR@19: unterminated quoted string" },
        /* x' right after a word boundary starts a hex string */
        { "'b\\' x'", "STRING('b\\') ERROR@5: unterminated hexadecimal string literal" },
    };
    RUN_LEX(cases);
}

static void test_lex_api(void **state)
{
    const char *sql = "SELECT a, 'b' FROM t";
    struct sql_token toks[3];
    struct sql_lex_error err = { 0, NULL };
    size_t n = 99;

    /* *ntok is the full count even when the array is too small */
    assert_int_equal(sql_lex(sql, strlen(sql), toks, 3, &n, &err), 0);
    assert_int_equal(n, 6);
    assert_int_equal(toks[2].type, SQL_TOK_PUNCT);
    assert_int_equal(toks[2].off, 8);
    assert_int_equal(toks[2].len, 1);

    assert_int_equal(sql_lex(sql, strlen(sql), NULL, 0, &n, &err), 0);
    assert_int_equal(n, 6);

    /* only len bytes are read: the quote past it does not exist */
    assert_int_equal(sql_lex("ab'cd", 2, toks, 3, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(toks[0].type, SQL_TOK_IDENT);
    assert_int_equal(toks[0].len, 2);

    /* offsets are 32-bit: longer input is refused before it is read */
    assert_int_equal(sql_lex("x", (size_t)UINT32_MAX + 1, toks, 3, &n, &err), -1);
    assert_int_equal(n, 0);
    assert_string_equal(err.message, "query string too long");
}

/* ---- sql_split ---------------------------------------------------------- */

struct collect {
    char buf[4096];
    size_t used;
    size_t calls;
    size_t total_len;
    size_t stop_at;             /* return 7 from this call (1-based), 0 never */
    size_t first_len;
};

static int collect_fn(void *arg, const char *stmt, size_t len)
{
    struct collect *c = arg;

    assert_true(len > 0);
    c->calls++;
    c->total_len += len;
    if (c->calls == 1)
        c->first_len = len;
    if (c->used < sizeof(c->buf))
        c->used += (size_t)snprintf(c->buf + c->used, sizeof(c->buf) - c->used, "[%.*s]",
                                    (int)(len < 200 ? len : 200), stmt);
    return c->stop_at && c->calls == c->stop_at ? 7 : 0;
}

struct split_case {
    const char *in;
    const char *want;
};

static void test_split(void **state)
{
    static const struct split_case cases[] = {
        { "SELECT 1; SELECT 2", "[SELECT 1][SELECT 2]" },
        { "SELECT 1;", "[SELECT 1]" },
        { "", "" },
        { ";;  ; \n", "" },
        { "-- only\n/* comments ; */ ; -- more", "" },
        { " /* lead */ SELECT 1 /* mid ; */ + 2 -- trail ;\n ; -- after\n",
          "[SELECT 1 /* mid ; */ + 2]" },
        { "SELECT ';'; SELECT \";\"; SELECT E'\\';'; SELECT $$;$$; SELECT $t$;$t$;"
          "SELECT B'0' -- ;\n; SELECT /* ; */ 1",
          "[SELECT ';'][SELECT \";\"][SELECT E'\\';'][SELECT $$;$$][SELECT $t$;$t$][SELECT B'0']"
          "[SELECT /* ; */ 1]" },
        { "BEGIN; UPDATE t SET a = 1;COMMIT", "[BEGIN][UPDATE t SET a = 1][COMMIT]" },
        { "SELECT 'a'\n'b'; x", "[SELECT 'a'\n'b'][x]" },
        /* a ';' inside parentheses does not end the statement (psql agrees) */
        { "SELECT (1; 2); SELECT 3", "[SELECT (1; 2)][SELECT 3]" },
        { "SELECT 1); SELECT 2", "[SELECT 1)][SELECT 2]" },
        /* SQL-standard routine bodies keep their semicolons */
        { "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; "
          "SELECT CASE WHEN true THEN 2 END; END; SELECT 3",
          "[CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; "
          "SELECT CASE WHEN true THEN 2 END; END][SELECT 3]" },
        { "create or replace procedure p() begin atomic insert into t values (1); end; call p()",
          "[create or replace procedure p() begin atomic insert into t values (1); end][call p()]" },
        /* only BEGIN ATOMIC opens a body: a function named begin does not */
        { "CREATE FUNCTION begin() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql; SELECT 2",
          "[CREATE FUNCTION begin() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql][SELECT 2]" },
        { "CREATE FUNCTION atomic() RETURNS int AS 'SELECT 1' LANGUAGE sql; SELECT 2",
          "[CREATE FUNCTION atomic() RETURNS int AS 'SELECT 1' LANGUAGE sql][SELECT 2]" },
        { "BEGIN; SELECT CASE WHEN x THEN 1 END; END;", "[BEGIN][SELECT CASE WHEN x THEN 1 END][END]" },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct collect c = { .used = 0 };
        struct sql_lex_error err = { 0, NULL };
        c.buf[0] = '\0';
        assert_int_equal(sql_split(cases[i].in, strlen(cases[i].in), collect_fn, &c, &err), 0);
        if (strcmp(c.buf, cases[i].want) != 0)
            fail_msg("input [%s]\n  want %s\n  got  %s", cases[i].in, cases[i].want, c.buf);
    }
}

static void test_split_stop_and_error(void **state)
{
    const char *sql = "SELECT 1; SELECT 2; SELECT 3";
    struct collect c = { .stop_at = 2 };
    struct sql_lex_error err = { 0, NULL };

    assert_int_equal(sql_split(sql, strlen(sql), collect_fn, &c, &err), 7);
    assert_int_equal(c.calls, 2);
    assert_string_equal(c.buf, "[SELECT 1][SELECT 2]");

    /* a lexical error anywhere means no statement is handed out */
    sql = "SELECT 1; SELECT 2; SELECT 'oops";
    memset(&c, 0, sizeof(c));
    assert_int_equal(sql_split(sql, strlen(sql), collect_fn, &c, &err), -1);
    assert_int_equal(c.calls, 0);
    assert_int_equal(err.off, 27);
    assert_string_equal(err.message, "unterminated quoted string");

    sql = "SELECT 1; /* SELECT 2;";
    assert_int_equal(sql_split(sql, strlen(sql), collect_fn, &c, &err), -1);
    assert_int_equal(c.calls, 0);
    assert_int_equal(err.off, 10);
    assert_string_equal(err.message, "unterminated /* comment");
}

static void test_split_large(void **state)
{
    const size_t body = 1 << 20;
    const char *head = "SELECT '";
    const char *tail = "'; SELECT 2";
    size_t len = strlen(head) + body + strlen(tail);
    char *sql = malloc(len + 1);
    struct collect c = { .used = 0 };
    struct sql_lex_error err = { 0, NULL };

    assert_non_null(sql);
    memcpy(sql, head, strlen(head));
    for (size_t i = 0; i < body; i++)
        sql[strlen(head) + i] = i % 2 ? ';' : 'x';
    memcpy(sql + strlen(head) + body, tail, strlen(tail) + 1);

    assert_int_equal(sql_split(sql, len, collect_fn, &c, &err), 0);
    assert_int_equal(c.calls, 2);
    assert_int_equal(c.first_len, strlen(head) + body + 1);
    assert_int_equal(sql_command(sql, c.first_len, NULL, 0), SQL_CMD_SELECT);
    free(sql);

    /* many statements: nothing is kept per statement */
    const size_t count = 100000;
    const char *one = "SELECT 1;";
    len = count * strlen(one);
    sql = malloc(len + 1);
    assert_non_null(sql);
    for (size_t i = 0; i < count; i++)
        memcpy(sql + i * strlen(one), one, strlen(one));
    sql[len] = '\0';
    memset(&c, 0, sizeof(c));
    assert_int_equal(sql_split(sql, len, collect_fn, &c, &err), 0);
    assert_int_equal(c.calls, count);
    assert_int_equal(c.total_len, count * 8);
    free(sql);
}

/* ---- sql_command -------------------------------------------------------- */

struct command_case {
    const char *sql;
    enum sql_command cmd;
    const char *verb;
};

static void test_command(void **state)
{
    static const struct command_case cases[] = {
        { "SELECT 1", SQL_CMD_SELECT, "SELECT" },
        { "sElEcT 1;", SQL_CMD_SELECT, "SELECT" },
        { "  -- c\n /* d */ select 1", SQL_CMD_SELECT, "SELECT" },
        { "(SELECT 1) UNION (SELECT 2)", SQL_CMD_SELECT, "SELECT" },
        { "((values (1)))", SQL_CMD_SELECT, "SELECT" },
        { "TABLE t", SQL_CMD_SELECT, "SELECT" },
        { "SELECT 'into', \"into\" FROM t", SQL_CMD_SELECT, "SELECT" },
        { "SELECT 'unterminated", SQL_CMD_SELECT, "SELECT" },
        { "SELECT * INTO new_t FROM t", SQL_CMD_DDL, "SELECT INTO" },
        { "WITH a AS (SELECT 1) SELECT * FROM a", SQL_CMD_SELECT, "SELECT" },
        { "WITH RECURSIVE t(n) AS (VALUES (1) UNION ALL SELECT n + 1 FROM t WHERE n < 5) "
          "SELECT sum(n) FROM t", SQL_CMD_SELECT, "SELECT" },
        { "WITH a AS MATERIALIZED (SELECT 1), b AS NOT MATERIALIZED (SELECT 2) "
          "INSERT INTO t SELECT * FROM a, b", SQL_CMD_INSERT, "INSERT" },
        { "WITH d AS (DELETE FROM t RETURNING *) INSERT INTO log SELECT * FROM d",
          SQL_CMD_INSERT, "INSERT" },
        { "WITH u AS (SELECT 1) UPDATE t SET a = 1", SQL_CMD_UPDATE, "UPDATE" },
        { "with x as (select 1) delete from t", SQL_CMD_DELETE, "DELETE" },
        { "WITH \"update\" AS (SELECT 1) MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE",
          SQL_CMD_OTHER, "MERGE" },
        { "WITH RECURSIVE t(n) AS (SELECT 1) SEARCH DEPTH FIRST BY n SET ord "
          "CYCLE n SET is_cycle USING path SELECT * FROM t", SQL_CMD_SELECT, "SELECT" },
        { "WITH a AS (SELECT 1) (SELECT * FROM a)", SQL_CMD_SELECT, "SELECT" },
        { "WITH a AS (SELECT 1) SELECT * INTO b FROM a", SQL_CMD_DDL, "SELECT INTO" },
        { "WITH broken", SQL_CMD_OTHER, "WITH" },
        { "INSERT INTO t VALUES (1)", SQL_CMD_INSERT, "INSERT" },
        { "update t set a = 1", SQL_CMD_UPDATE, "UPDATE" },
        { "DELETE FROM t", SQL_CMD_DELETE, "DELETE" },
        { "MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE", SQL_CMD_OTHER, "MERGE" },
        { "BEGIN", SQL_CMD_BEGIN, "BEGIN" },
        { "begin work", SQL_CMD_BEGIN, "BEGIN" },
        { "BEGIN TRANSACTION ISOLATION LEVEL SERIALIZABLE", SQL_CMD_BEGIN, "BEGIN" },
        { "START TRANSACTION READ ONLY", SQL_CMD_BEGIN, "START TRANSACTION" },
        { "COMMIT", SQL_CMD_COMMIT, "COMMIT" },
        { "END", SQL_CMD_COMMIT, "COMMIT" },
        { "end transaction", SQL_CMD_COMMIT, "COMMIT" },
        { "COMMIT AND CHAIN", SQL_CMD_COMMIT, "COMMIT" },
        { "COMMIT PREPARED 'gid'", SQL_CMD_OTHER, "COMMIT PREPARED" },
        { "ROLLBACK", SQL_CMD_ROLLBACK, "ROLLBACK" },
        { "ABORT", SQL_CMD_ROLLBACK, "ROLLBACK" },
        { "rollback work", SQL_CMD_ROLLBACK, "ROLLBACK" },
        { "ROLLBACK TO SAVEPOINT s", SQL_CMD_SAVEPOINT, "ROLLBACK" },
        { "ROLLBACK TRANSACTION TO s", SQL_CMD_SAVEPOINT, "ROLLBACK" },
        { "rollback to s", SQL_CMD_SAVEPOINT, "ROLLBACK" },
        { "ROLLBACK PREPARED 'gid'", SQL_CMD_OTHER, "ROLLBACK PREPARED" },
        { "SET search_path = a, b", SQL_CMD_SET, "SET" },
        { "SET LOCAL statement_timeout = 0", SQL_CMD_SET, "SET" },
        { "set session DateStyle to ISO", SQL_CMD_SET, "SET" },
        { "SET TIME ZONE 'UTC'", SQL_CMD_SET, "SET" },
        { "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", SQL_CMD_OTHER, "SET" },
        { "SET CONSTRAINTS ALL DEFERRED", SQL_CMD_OTHER, "SET" },
        { "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", SQL_CMD_SET, "SET" },
        { "SET SESSION AUTHORIZATION bob", SQL_CMD_OTHER, "SET" },
        { "SET LOCAL SESSION AUTHORIZATION DEFAULT", SQL_CMD_OTHER, "SET" },
        { "SET ROLE admin", SQL_CMD_OTHER, "SET" },
        { "SET LOCAL ROLE admin", SQL_CMD_OTHER, "SET" },
        { "SHOW ALL", SQL_CMD_SHOW, "SHOW" },
        { "RESET search_path", SQL_CMD_RESET, "RESET" },
        { "RESET ROLE", SQL_CMD_OTHER, "RESET" },
        { "reset session authorization", SQL_CMD_OTHER, "RESET" },
        { "RESET ALL", SQL_CMD_RESET, "RESET" },
        { "DISCARD ALL", SQL_CMD_DISCARD, "DISCARD ALL" },
        { "discard plans", SQL_CMD_DISCARD, "DISCARD PLANS" },
        { "DISCARD TEMPORARY", SQL_CMD_DISCARD, "DISCARD TEMP" },
        { "DISCARD SEQUENCES", SQL_CMD_DISCARD, "DISCARD SEQUENCES" },
        { "CREATE TABLE t (a int)", SQL_CMD_DDL, "CREATE TABLE" },
        { "CREATE TEMP TABLE t (a int)", SQL_CMD_DDL, "CREATE TABLE" },
        { "create unlogged table t (a int)", SQL_CMD_DDL, "CREATE TABLE" },
        { "CREATE GLOBAL TEMPORARY TABLE t (a int)", SQL_CMD_DDL, "CREATE TABLE" },
        { "CREATE TABLE t (a int GENERATED ALWAYS AS (1) STORED)", SQL_CMD_DDL, "CREATE TABLE" },
        { "CREATE TABLE t AS SELECT 1", SQL_CMD_DDL, "CREATE TABLE AS" },
        { "CREATE TEMP TABLE t (x) AS VALUES (1)", SQL_CMD_DDL, "CREATE TABLE AS" },
        { "CREATE UNIQUE INDEX i ON t (a)", SQL_CMD_DDL, "CREATE INDEX" },
        { "CREATE INDEX CONCURRENTLY i ON t (a)", SQL_CMD_DDL, "CREATE INDEX" },
        { "CREATE OR REPLACE VIEW v AS SELECT 1", SQL_CMD_DDL, "CREATE VIEW" },
        { "CREATE OR REPLACE TEMP RECURSIVE VIEW v (n) AS SELECT 1", SQL_CMD_DDL, "CREATE VIEW" },
        { "CREATE MATERIALIZED VIEW mv AS SELECT 1", SQL_CMD_DDL, "CREATE MATERIALIZED VIEW" },
        { "CREATE SCHEMA s", SQL_CMD_DDL, "CREATE SCHEMA" },
        { "CREATE SEQUENCE s", SQL_CMD_DDL, "CREATE SEQUENCE" },
        { "CREATE OR REPLACE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql",
          SQL_CMD_DDL, "CREATE FUNCTION" },
        { "CREATE EXTENSION IF NOT EXISTS vector", SQL_CMD_DDL, "CREATE EXTENSION" },
        { "CREATE USER bob", SQL_CMD_DDL, "CREATE ROLE" },
        { "CREATE USER MAPPING FOR bob SERVER s", SQL_CMD_DDL, "CREATE USER MAPPING" },
        { "CREATE FOREIGN DATA WRAPPER w", SQL_CMD_DDL, "CREATE FOREIGN DATA WRAPPER" },
        { "CREATE FOREIGN TABLE f (a int) SERVER s", SQL_CMD_DDL, "CREATE FOREIGN TABLE" },
        { "CREATE TEXT SEARCH CONFIGURATION c (COPY = english)", SQL_CMD_DDL,
          "CREATE TEXT SEARCH CONFIGURATION" },
        { "CREATE CONSTRAINT TRIGGER tr AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()",
          SQL_CMD_DDL, "CREATE TRIGGER" },
        { "CREATE TRUSTED PROCEDURAL LANGUAGE plx", SQL_CMD_DDL, "CREATE LANGUAGE" },
        { "CREATE DEFAULT CONVERSION c FOR 'LATIN1' TO 'UTF8' FROM f", SQL_CMD_DDL, "CREATE CONVERSION" },
        { "CREATE EVENT TRIGGER e ON ddl_command_start EXECUTE FUNCTION f()", SQL_CMD_DDL,
          "CREATE EVENT TRIGGER" },
        { "CREATE \"quoted\"", SQL_CMD_DDL, "CREATE" },
        { "ALTER TABLE t ADD COLUMN b int", SQL_CMD_DDL, "ALTER TABLE" },
        { "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO bob", SQL_CMD_DDL,
          "ALTER DEFAULT PRIVILEGES" },
        { "ALTER SYSTEM SET work_mem = '64MB'", SQL_CMD_DDL, "ALTER SYSTEM" },
        { "alter group g add user u", SQL_CMD_DDL, "ALTER ROLE" },
        { "ALTER LARGE OBJECT 1 OWNER TO bob", SQL_CMD_DDL, "ALTER LARGE OBJECT" },
        { "DROP TABLE IF EXISTS t", SQL_CMD_DDL, "DROP TABLE" },
        { "drop index i", SQL_CMD_DDL, "DROP INDEX" },
        { "DROP MATERIALIZED VIEW mv", SQL_CMD_DDL, "DROP MATERIALIZED VIEW" },
        { "DROP OWNED BY bob", SQL_CMD_DDL, "DROP OWNED" },
        { "TRUNCATE t", SQL_CMD_DDL, "TRUNCATE TABLE" },
        { "COMMENT ON TABLE t IS 'x'", SQL_CMD_DDL, "COMMENT" },
        { "GRANT SELECT ON t TO bob", SQL_CMD_DDL, "GRANT" },
        { "GRANT SELECT (a, b) ON t TO bob", SQL_CMD_DDL, "GRANT" },
        { "GRANT admins TO bob", SQL_CMD_DDL, "GRANT ROLE" },
        { "REVOKE ALL ON t FROM bob", SQL_CMD_DDL, "REVOKE" },
        { "REVOKE admins FROM bob", SQL_CMD_DDL, "REVOKE ROLE" },
        { "SAVEPOINT s", SQL_CMD_SAVEPOINT, "SAVEPOINT" },
        { "RELEASE SAVEPOINT s", SQL_CMD_SAVEPOINT, "RELEASE" },
        { "PREPARE q (int) AS SELECT $1", SQL_CMD_OTHER, "PREPARE" },
        { "PREPARE TRANSACTION 'gid'", SQL_CMD_OTHER, "PREPARE TRANSACTION" },
        { "PREPARE transaction AS SELECT 1", SQL_CMD_OTHER, "PREPARE" },
        { "EXECUTE q(1)", SQL_CMD_OTHER, "EXECUTE" },
        { "DEALLOCATE q", SQL_CMD_OTHER, "DEALLOCATE" },
        { "DEALLOCATE ALL", SQL_CMD_OTHER, "DEALLOCATE ALL" },
        { "deallocate prepare all", SQL_CMD_OTHER, "DEALLOCATE ALL" },
        { "EXPLAIN ANALYZE SELECT 1", SQL_CMD_OTHER, "EXPLAIN" },
        { "vacuum analyze t", SQL_CMD_OTHER, "VACUUM" },
        { "COPY t FROM STDIN", SQL_CMD_COPY, "COPY" },
        { "LISTEN ch", SQL_CMD_OTHER, "LISTEN" },
        { "LOCK TABLE t IN ACCESS EXCLUSIVE MODE", SQL_CMD_OTHER, "LOCK TABLE" },
        { "DECLARE c CURSOR FOR SELECT 1", SQL_CMD_OTHER, "DECLARE CURSOR" },
        { "CLOSE ALL", SQL_CMD_OTHER, "CLOSE CURSOR ALL" },
        { "close c", SQL_CMD_OTHER, "CLOSE CURSOR" },
        { "REFRESH MATERIALIZED VIEW mv", SQL_CMD_OTHER, "REFRESH MATERIALIZED VIEW" },
        { "CALL p()", SQL_CMD_OTHER, "CALL" },
        { "DO $$ BEGIN END $$", SQL_CMD_OTHER, "DO" },
        { "START x", SQL_CMD_OTHER, "START" },
        { "", SQL_CMD_OTHER, "" },
        { "  -- only a comment", SQL_CMD_OTHER, "" },
        { "\"select\" 1", SQL_CMD_OTHER, "" },
        { "42", SQL_CMD_OTHER, "" },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char verb[64];
        memset(verb, 'Z', sizeof(verb));
        enum sql_command cmd = sql_command(cases[i].sql, strlen(cases[i].sql), verb, sizeof(verb));
        if (cmd != cases[i].cmd || strcmp(verb, cases[i].verb) != 0)
            fail_msg("[%s]: want %d \"%s\", got %d \"%s\"", cases[i].sql, cases[i].cmd,
                     cases[i].verb, cmd, verb);
    }
}

static void test_command_bounds(void **state)
{
    char verb[16];

    /* the verb is truncated, never overrun, always terminated */
    memset(verb, 'Z', sizeof(verb));
    assert_int_equal(sql_command("CREATE TABLE t ()", 17, verb, 7), SQL_CMD_DDL);
    assert_string_equal(verb, "CREATE");
    assert_int_equal(verb[7], 'Z');

    memset(verb, 'Z', sizeof(verb));
    assert_int_equal(sql_command("SELECT 1", 8, verb, 1), SQL_CMD_SELECT);
    assert_string_equal(verb, "");
    assert_int_equal(verb[1], 'Z');

    assert_int_equal(sql_command("BEGIN", 5, NULL, 0), SQL_CMD_BEGIN);

    /* only len bytes are looked at */
    assert_int_equal(sql_command("SELECT 1", 3, verb, sizeof(verb)), SQL_CMD_OTHER);
    assert_string_equal(verb, "SEL");
    assert_int_equal(sql_command("ROLLBACK TO s", 8, verb, sizeof(verb)), SQL_CMD_ROLLBACK);
    assert_string_equal(verb, "ROLLBACK");
}

static void test_tx_modes(void **state)
{
    enum { I = SQL_TX_SAID_ISOLATION, R = SQL_TX_SAID_READ, D = SQL_TX_SAID_DEFERRABLE };
    static const struct {
        const char *sql;
        enum sql_isolation iso;
        int read_only, deferrable, said, current;
    } ok[] = {
        { "BEGIN", SQL_ISO_DEFAULT, 0, 0, 0, 0 },
        { "begin work;", SQL_ISO_DEFAULT, 0, 0, 0, 0 },
        { "START TRANSACTION ISOLATION LEVEL SERIALIZABLE", SQL_ISO_SERIALIZABLE, 0, 0, I, 0 },
        { "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", SQL_ISO_REPEATABLE_READ, 1, 0, I | R, 0 },
        { "BEGIN TRANSACTION READ ONLY ISOLATION LEVEL READ COMMITTED", SQL_ISO_READ_COMMITTED, 1, 0, I | R, 0 },
        { "begin isolation level read uncommitted read write", SQL_ISO_READ_UNCOMMITTED, 0, 0, I | R, 0 },
        { "BEGIN /* c */ ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE", SQL_ISO_SERIALIZABLE, 1, 1,
          I | R | D, 0 },
        { "BEGIN NOT DEFERRABLE", SQL_ISO_DEFAULT, 0, 0, D, 0 },
        { "BEGIN READ WRITE", SQL_ISO_DEFAULT, 0, 0, R, 0 },
        { "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", SQL_ISO_DEFAULT, 1, 0, R, 0 },
        { "set session characteristics as transaction isolation level serializable, deferrable",
          SQL_ISO_SERIALIZABLE, 0, 1, I | D, 0 },
        { "SET TRANSACTION READ ONLY", SQL_ISO_DEFAULT, 1, 0, R, 1 },
        { "set local transaction isolation level repeatable read", SQL_ISO_REPEATABLE_READ, 0, 0, I, 1 },
        { "SET SESSION TRANSACTION READ WRITE, NOT DEFERRABLE", SQL_ISO_DEFAULT, 0, 0, R | D, 1 },
        { "SET TRANSACTION", SQL_ISO_DEFAULT, 0, 0, 0, 1 },
    };
    static const struct {
        const char *sql;
        const char *msg;
    } bad[] = {
        { "BEGIN ISOLATION LEVEL SOMETIMES", "syntax error at or near \"SOMETIMES\"" },
        { "BEGIN READ SOMETIMES", "syntax error at end of input" },
        { "BEGIN FOO", "syntax error at or near \"FOO\"" },
        { "BEGIN READ ONLY,", "syntax error at end of input" },
        { "START", "syntax error at end of input" },
        { "SET SESSION CHARACTERISTICS TRANSACTION READ ONLY", "syntax error at or near \"TRANSACTION\"" },
        { "SET TRANSACTION SNAPSHOT '00000003-0000001B-1'", "syntax error at or near \"SNAPSHOT\"" },
        { "SET LOCAL CHARACTERISTICS AS TRANSACTION READ ONLY", "syntax error at or near \"CHARACTERISTICS\"" },
        { "SET TRANSACTION READ", "syntax error at end of input" },
    };
    struct sql_tx_modes m;
    char msg[200];

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_int_equal(sql_tx_modes(ok[i].sql, strlen(ok[i].sql), &m, msg, sizeof(msg)), 0);
        assert_int_equal(m.isolation, ok[i].iso);
        assert_int_equal(m.read_only, ok[i].read_only);
        assert_int_equal(m.deferrable, ok[i].deferrable);
        assert_int_equal(m.said, ok[i].said);
        assert_int_equal(m.current, ok[i].current);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(sql_tx_modes(bad[i].sql, strlen(bad[i].sql), &m, msg, sizeof(msg)), -1);
        assert_string_equal(msg, bad[i].msg);
    }
}

/*
 * State left on the backend connection, read from the text alone (the
 * simple-protocol path for PostgreSQL) and from tokens (the translator):
 * both must agree.
 */
static void test_backend_state(void **state)
{
    (void)state;
    static const struct {
        const char *sql;
        int want;
    } cases[] = {
        { "CREATE TEMP TABLE t (v int)", 1 },
        { "create temporary table if not exists t (v int)", 1 },
        { "CREATE GLOBAL TEMPORARY TABLE t (v int) ON COMMIT DELETE ROWS", 1 },
        { "CREATE OR REPLACE TEMP VIEW v AS SELECT 1", 1 },
        { "CREATE TEMP SEQUENCE s", 1 },
        { "CREATE TABLE pg_temp.t (v int)", 1 },
        { "CREATE TEMP TABLE t AS SELECT * FROM u", 1 },
        { "SELECT * INTO TEMP t FROM u", 1 },
        { "(SELECT * INTO LOCAL TEMPORARY TABLE t FROM u)", 1 },
        { "DECLARE c CURSOR WITH HOLD FOR SELECT 1", 1 },
        { "DECLARE c BINARY NO SCROLL CURSOR WITH HOLD FOR SELECT 1", 1 },
        { "LISTEN chan", 1 },
        { "SELECT pg_advisory_lock(1)", 1 },
        { "SELECT x FROM t WHERE pg_catalog.PG_TRY_ADVISORY_LOCK_SHARED(id)", 1 },
        { "UPDATE t SET v = 1 WHERE pg_try_advisory_lock(id)", 1 },
        { "SET ROLE admin", 1 },
        { "SET SESSION ROLE admin", 1 },
        { "SET SESSION AUTHORIZATION bob", 1 },
        { "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE", 0 },
        { "SELECT set_config('a.b', 'x', false)", 1 },
        { "SELECT set_config('a.b', $1, $2)", 1 },
        { "SELECT set_config('a.b', f(1, 2), true)", 0 },
        { "SELECT set_config('a.b', $1, true)", 0 },
        { "CREATE TEMP TABLE t (v int CHECK (v > 0)) ON COMMIT DROP", 0 },
        { "CREATE TABLE t (v int)", 0 },
        { "CREATE TABLE temp (v int)", 0 },
        { "DECLARE c CURSOR FOR SELECT 1", 0 },
        { "DECLARE c CURSOR WITHOUT HOLD FOR SELECT 1", 0 },
        { "DECLARE c CURSOR FOR SELECT * FROM t WITH HOLD", 0 },
        { "SELECT pg_advisory_xact_lock(1)", 0 },
        { "SELECT 'pg_advisory_lock(1)', \"pg_advisory_lock\"", 0 },
        { "SELECT pg_advisory_lock", 0 },
        { "SET LOCAL ROLE admin", 0 },
        { "SET search_path TO app", 0 },
        { "SELECT * INTO t FROM u", 0 },
        { "INSERT INTO temp VALUES (1)", 0 },
        { "SELECT * FROM pg_temp.t", 0 },
        { "/* LISTEN */ SELECT 1 -- pg_advisory_lock(1)", 0 },
        { "SELECT currval('s')", SQL_STATE_READS_SEQUENCE },
        { "select LASTVAL()", SQL_STATE_READS_SEQUENCE },
        { "INSERT INTO log (id) VALUES (pg_catalog.currval('s'))", SQL_STATE_READS_SEQUENCE },
        { "SELECT currval('s'), pg_advisory_lock(1)", SQL_STATE_KEEPS | SQL_STATE_READS_SEQUENCE },
        { "SELECT pg_advisory_lock(1), lastval()", SQL_STATE_KEEPS | SQL_STATE_READS_SEQUENCE },
        { "SELECT nextval('s')", 0 },
        { "SELECT currval FROM t", 0 },
        { "", 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *q = cases[i].sql;
        struct sql_token toks[64];
        struct sql_lex_error err;
        size_t n = 0;
        assert_int_equal(sql_lex(q, strlen(q), toks, 64, &n, &err), 0);
        assert_true(n <= 64);
        if (sql_backend_state_tokens(q, strlen(q), NULL, 0) != cases[i].want ||
            sql_backend_state_tokens(q, strlen(q), toks, n) != cases[i].want)
            fail_msg("%s: want %d", q, cases[i].want);
    }
}

/* Identifiers as PostgreSQL resolves them; the one folding every name goes through. */
static void test_ident_fold(void **state)
{
    (void)state;
    char out[8];

    assert_int_equal(sql_ident_fold("MyCur", 5, 0, out, sizeof(out)), 5);
    assert_string_equal(out, "mycur");
    assert_int_equal(sql_ident_fold("\"My \"\"C\"", 8, 1, out, sizeof(out)), 5);
    assert_string_equal(out, "My \"C");
    assert_int_equal(sql_ident_fold("ABCDEFGHIJ", 10, 0, out, sizeof(out)), 7);
    assert_string_equal(out, "abcdefg");
    assert_int_equal(sql_ident_fold("\"\"", 2, 1, out, sizeof(out)), 0);
    assert_string_equal(out, "");

    const char *q = "/* c */ CLOSE \"X\"\"y\"";
    struct sql_token t[4];
    struct sql_lex_error err;
    size_t n = 0;
    assert_int_equal(sql_lex(q, strlen(q), t, 4, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_int_equal(sql_token_fold(q, &t[2], out, sizeof(out)), 3);
    assert_string_equal(out, "X\"y");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identifiers),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_dollar_quotes),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_operators),
        cmocka_unit_test(test_comments),
        cmocka_unit_test(test_semicolons_inside_literals),
        cmocka_unit_test(test_unterminated),
        cmocka_unit_test(test_lex_api),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_split_stop_and_error),
        cmocka_unit_test(test_split_large),
        cmocka_unit_test(test_command),
        cmocka_unit_test(test_command_bounds),
        cmocka_unit_test(test_tx_modes),
        cmocka_unit_test(test_backend_state),
        cmocka_unit_test(test_ident_fold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
