/*
 * Tests for common/copy: COPY statement parsing in both option syntaxes
 * and every refusal; the text and CSV decoders against PostgreSQL's rules
 * (escapes, NULL markers, quoting, HEADER, the \. marker, newline styles,
 * field-count errors and their CONTEXT lines), fed in one piece, a byte at
 * a time, split at every offset and in random chunks; the encoders' exact
 * output; and random rows round-tripped through encoder and decoder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/copy.h"
#include "common/pgproto.h"
#include "common/sql_lexer.h"

/* ---- helpers ----------------------------------------------------------- */

static void parse_ok(const char *sql, struct copy_spec *s)
{
    char state[6] = "", msg[256] = "";

    if (copy_parse(sql, strlen(sql), s, state, msg, sizeof(msg)) != 0)
        fail_msg("parse of [%s] failed: %s %s", sql, state, msg);
}

struct bad_case {
    const char *sql;
    const char *state;
    const char *msg;
};

static void parse_bad(const struct bad_case *c)
{
    struct copy_spec s;
    char state[6] = "", msg[256] = "";

    if (copy_parse(c->sql, strlen(c->sql), &s, state, msg, sizeof(msg)) != -1)
        fail_msg("parse of [%s] succeeded", c->sql);
    if (strcmp(state, c->state) != 0 || strcmp(msg, c->msg) != 0)
        fail_msg("[%s]\n  want %s %s\n  got  %s %s", c->sql, c->state, c->msg, state, msg);
    /* a failed parse leaves nothing to free, and freeing again is harmless */
    assert_null(s.table);
    copy_spec_free(&s);
}

/* The rows a decoder produced, as "[a|b|NULL]@line" lines, or the error. */
struct render {
    char *buf;
    size_t len;
    size_t cap;
    int stop_after;             /* stop with 7 after this many rows; 0: never */
    int rows;
};

static void render_add(struct render *r, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(r->buf + r->len, r->cap - r->len, fmt, ap);
        va_end(ap);
        assert_true(n >= 0);
        if ((size_t)n < r->cap - r->len)
            break;
        r->cap = 2 * r->cap + (size_t)n + 64;
        r->buf = realloc(r->buf, r->cap);
        assert_non_null(r->buf);
    }
    r->len += (size_t)n;
}

static int render_row(void *arg, char **fields, size_t *lengths, int nfields, uint64_t lineno)
{
    struct render *r = arg;

    render_add(r, "[");
    for (int i = 0; i < nfields; i++) {
        if (i)
            render_add(r, "|");
        if (!fields[i]) {
            assert_int_equal(lengths[i], 0);
            render_add(r, "NULL");
            continue;
        }
        assert_int_equal(fields[i][lengths[i]], '\0');
        for (size_t k = 0; k < lengths[i]; k++) {
            unsigned char c = (unsigned char)fields[i][k];
            if (c < 0x20 || c == '|' || c == '\\' || c >= 0x7f)
                render_add(r, "\\x%02x", c);
            else
                render_add(r, "%c", c);
        }
    }
    render_add(r, "]@%llu\n", (unsigned long long)lineno);
    r->rows++;
    return r->stop_after && r->rows == r->stop_after ? 7 : 0;
}

static void render_error(struct render *r, struct copy_decoder *d, int rc)
{
    char state[6] = "";
    const char *detail = NULL;
    const char *msg = copy_decoder_error(d, state, &detail);

    if (rc == -1) {
        assert_non_null(msg);
        render_add(r, "ERROR %s %s (%s)", state, msg, detail);
        if (copy_decoder_hint(d))
            render_add(r, " HINT %s", copy_decoder_hint(d));
        render_add(r, "\n");
    } else {
        assert_null(msg);
        render_add(r, "STOP %d\n", rc);
    }
}

enum chunking { ONE_SHOT, BYTEWISE, RANDOM };

/* Decode data fed in the given way; a split < len feeds [0, split) and [split, len). */
static char *decode(const struct copy_spec *spec, int ncols, const char *data, size_t len,
                    enum chunking how, size_t split, unsigned seed, int stop_after)
{
    struct copy_decoder *d = copy_decoder_new(spec, ncols);
    struct render r = { .cap = 256, .stop_after = stop_after };
    size_t pos = 0;
    bool first = true;
    int rc = 0;

    assert_non_null(d);
    r.buf = malloc(r.cap);
    r.buf[0] = '\0';
    srand(seed);
    /* the first feed may be empty (split 0) */
    while ((pos < len || first) && rc == 0) {
        size_t n;
        if (how == BYTEWISE)
            n = 1;
        else if (how == RANDOM)
            n = 1 + (size_t)rand() % 17;
        else if (split < len)
            n = first ? split : len - pos;
        else
            n = len - pos;
        first = false;
        if (n > len - pos)
            n = len - pos;
        rc = copy_decoder_feed(d, data + pos, n, render_row, &r);
        pos += n;
    }
    if (rc == 0)
        rc = copy_decoder_finish(d, render_row, &r);
    if (rc != 0) {
        render_error(&r, d, rc);
        /* once failed, the decoder refuses everything */
        assert_int_equal(copy_decoder_feed(d, "x\n", 2, render_row, &r), rc);
        assert_int_equal(copy_decoder_finish(d, render_row, &r), rc);
    }
    copy_decoder_free(d);
    return r.buf;
}

/*
 * Decode data every way there is (one shot, byte by byte, split at every
 * offset, random chunks) and check all agree with want.
 */
static void check_decode(const char *sql, int ncols, const char *data, size_t len, const char *want)
{
    struct copy_spec spec;
    char *got;

    parse_ok(sql, &spec);
    got = decode(&spec, ncols, data, len, ONE_SHOT, len, 0, 0);
    if (strcmp(got, want) != 0)
        fail_msg("%s on [%.*s]\n  want:\n%s  got:\n%s", sql, (int)len, data, want, got);
    free(got);
    got = decode(&spec, ncols, data, len, BYTEWISE, len, 0, 0);
    if (strcmp(got, want) != 0)
        fail_msg("%s bytewise on [%.*s]\n  want:\n%s  got:\n%s", sql, (int)len, data, want, got);
    free(got);
    for (size_t split = 0; split < len; split++) {
        got = decode(&spec, ncols, data, len, ONE_SHOT, split, 0, 0);
        if (strcmp(got, want) != 0)
            fail_msg("%s split at %zu on [%.*s]\n  want:\n%s  got:\n%s", sql, split, (int)len,
                     data, want, got);
        free(got);
    }
    for (unsigned seed = 1; seed <= 20; seed++) {
        got = decode(&spec, ncols, data, len, RANDOM, len, seed, 0);
        if (strcmp(got, want) != 0)
            fail_msg("%s random %u on [%.*s]\n  want:\n%s  got:\n%s", sql, seed, (int)len, data,
                     want, got);
        free(got);
    }
    copy_spec_free(&spec);
}

#define CHECK(sql, ncols, data, want) check_decode(sql, ncols, data, sizeof(data) - 1, want)

/* ---- parsing ----------------------------------------------------------- */

static void test_parse_defaults(void **state)
{
    struct copy_spec s;

    parse_ok("COPY t FROM STDIN", &s);
    assert_int_equal(s.dir, COPY_FROM);
    assert_string_equal(s.table, "t");
    assert_null(s.query);
    assert_int_equal(s.ncolumns, 0);
    assert_int_equal(s.format, COPY_TEXT);
    assert_int_equal(s.delimiter, '\t');
    assert_string_equal(s.null_string, "\\N");
    assert_int_equal(s.header, 0);
    assert_int_equal(s.ncolnames, -1);
    copy_spec_free(&s);

    parse_ok("copy t to stdout csv", &s);
    assert_int_equal(s.dir, COPY_TO);
    assert_int_equal(s.format, COPY_CSV);
    assert_int_equal(s.delimiter, ',');
    assert_string_equal(s.null_string, "");
    assert_int_equal(s.quote, '"');
    assert_int_equal(s.escape, '"');
    copy_spec_free(&s);

    /* PostgreSQL takes STDIN and STDOUT in either direction */
    parse_ok("COPY t TO STDIN;", &s);
    assert_int_equal(s.dir, COPY_TO);
    copy_spec_free(&s);
}

static void test_parse_names(void **state)
{
    struct copy_spec s;

    parse_ok("COPY public.\"My T\" (a, \"B c\", \"d\"\"q\") FROM STDIN", &s);
    assert_string_equal(s.table, "public.\"My T\"");
    assert_int_equal(s.ncolumns, 3);
    assert_string_equal(s.columns[0], "a");
    assert_string_equal(s.columns[1], "\"B c\"");
    assert_string_equal(s.columns[2], "\"d\"\"q\"");
    /* a column list binds the spec, with plain names for messages */
    assert_int_equal(s.ncolnames, 3);
    assert_string_equal(s.colnames[0], "a");
    assert_string_equal(s.colnames[1], "B c");
    assert_string_equal(s.colnames[2], "d\"q");
    copy_spec_free(&s);

    parse_ok("/* lead */ COPY -- note\n db . sch . Tab (Col) TO STDOUT", &s);
    assert_string_equal(s.table, "db.sch.Tab");
    assert_string_equal(s.columns[0], "Col");
    assert_string_equal(s.colnames[0], "col");
    copy_spec_free(&s);

    parse_ok("COPY (SELECT a, (b) FROM t WHERE c = ')' ) TO STDOUT WITH CSV", &s);
    assert_null(s.table);
    assert_string_equal(s.query, "SELECT a, (b) FROM t WHERE c = ')'");
    assert_int_equal(s.dir, COPY_TO);
    assert_int_equal(s.format, COPY_CSV);
    copy_spec_free(&s);
}

static void test_parse_new_syntax(void **state)
{
    struct copy_spec s;

    parse_ok("COPY t FROM STDIN WITH (FORMAT csv, DELIMITER ';', NULL 'NULL', HEADER, "
             "QUOTE '''', ESCAPE '\\', FORCE_NOT_NULL (a, \"B\"), FORCE_NULL (c), "
             "ENCODING 'utf-8', FREEZE false)", &s);
    assert_int_equal(s.format, COPY_CSV);
    assert_int_equal(s.delimiter, ';');
    assert_string_equal(s.null_string, "NULL");
    assert_int_equal(s.header, 1);
    assert_int_equal(s.quote, '\'');
    assert_int_equal(s.escape, '\\');
    assert_int_equal(s.nforce_not_null, 2);
    assert_string_equal(s.force_not_null[0], "a");
    assert_string_equal(s.force_not_null[1], "\"B\"");
    assert_int_equal(s.nforce_null, 1);
    assert_string_equal(s.force_null[0], "c");
    copy_spec_free(&s);

    /* WITH is optional; values may be identifiers, strings, numbers, on/off */
    parse_ok("COPY t TO STDOUT (format 'csv', header on, force_quote *, delimiter E'\\t')", &s);
    assert_int_equal(s.format, COPY_CSV);
    assert_int_equal(s.header, 1);
    assert_int_equal(s.force_quote_all, 1);
    assert_int_equal(s.delimiter, '\t');
    copy_spec_free(&s);

    parse_ok("COPY t FROM STDIN (FORMAT text, HEADER 0, DELIMITER '|')", &s);
    assert_int_equal(s.format, COPY_TEXT);
    assert_int_equal(s.header, 0);
    assert_int_equal(s.delimiter, '|');
    copy_spec_free(&s);

    parse_ok("COPY t FROM STDIN (HEADER match, FORMAT csv)", &s);
    assert_int_equal(s.header, 2);
    copy_spec_free(&s);

    /* string continuation, dollar quoting, E'' and U&'' escapes */
    parse_ok("COPY t FROM STDIN (NULL 'a'\n  'b', DELIMITER $x$;$x$)", &s);
    assert_string_equal(s.null_string, "ab");
    assert_int_equal(s.delimiter, ';');
    copy_spec_free(&s);
    parse_ok("COPY t FROM STDIN (NULL E'\\x41\\101\\u00e9', DELIMITER U&'\\007C')", &s);
    assert_string_equal(s.null_string, "AA\xc3\xa9");
    assert_int_equal(s.delimiter, '|');
    copy_spec_free(&s);

    /* FORCE lists in strings name columns exactly */
    parse_ok("COPY t (\"Ab\") TO STDOUT (FORMAT csv, FORCE_QUOTE ('Ab'))", &s);
    assert_string_equal(s.force_quote[0], "\"Ab\"");
    assert_int_equal(s.colflags[0], COPY_COL_FORCE_QUOTE);
    copy_spec_free(&s);
}

static void test_parse_old_syntax(void **state)
{
    struct copy_spec s;

    parse_ok("COPY t FROM STDIN WITH DELIMITER AS '|' NULL AS 'nil'", &s);
    assert_int_equal(s.format, COPY_TEXT);
    assert_int_equal(s.delimiter, '|');
    assert_string_equal(s.null_string, "nil");
    copy_spec_free(&s);

    parse_ok("COPY t (a, b, c) TO STDOUT WITH CSV HEADER QUOTE AS '''' ESCAPE '\\' "
             "FORCE QUOTE a, c", &s);
    assert_int_equal(s.format, COPY_CSV);
    assert_int_equal(s.header, 1);
    assert_int_equal(s.quote, '\'');
    assert_int_equal(s.escape, '\\');
    assert_int_equal(s.nforce_quote, 2);
    assert_int_equal(s.colflags[0], COPY_COL_FORCE_QUOTE);
    assert_int_equal(s.colflags[1], 0);
    assert_int_equal(s.colflags[2], COPY_COL_FORCE_QUOTE);
    copy_spec_free(&s);

    parse_ok("COPY t TO STDOUT CSV FORCE QUOTE *", &s);
    assert_int_equal(s.force_quote_all, 1);
    copy_spec_free(&s);

    parse_ok("COPY t (a, b) FROM STDIN CSV FORCE NOT NULL a FORCE NULL b ENCODING 'UTF8'", &s);
    assert_int_equal(s.colflags[0], COPY_COL_FORCE_NOT_NULL);
    assert_int_equal(s.colflags[1], COPY_COL_FORCE_NULL);
    copy_spec_free(&s);

    parse_ok("COPY t FROM STDIN USING DELIMITERS ','", &s);
    assert_int_equal(s.delimiter, ',');
    assert_int_equal(s.format, COPY_TEXT);
    copy_spec_free(&s);

    parse_ok("COPY t TO STDOUT WITH", &s);
    copy_spec_free(&s);
}

static void test_parse_errors(void **state)
{
    static const struct bad_case cases[] = {
        { "COPY t FROM '/etc/passwd'", "0A000",
          "COPY to or from a file is not supported by pgiris; use STDIN/STDOUT" },
        { "COPY t TO PROGRAM 'gzip > x'", "0A000",
          "COPY to or from a file is not supported by pgiris; use STDIN/STDOUT" },
        { "COPY (SELECT 1) TO '/tmp/x' CSV", "0A000",
          "COPY to or from a file is not supported by pgiris; use STDIN/STDOUT" },
        { "COPY t FROM STDIN (FORMAT binary)", "0A000",
          "COPY BINARY is not supported by pgiris; use FORMAT text or csv" },
        { "COPY BINARY t FROM STDIN", "0A000",
          "COPY BINARY is not supported by pgiris; use FORMAT text or csv" },
        { "COPY t TO STDOUT WITH BINARY", "0A000",
          "COPY BINARY is not supported by pgiris; use FORMAT text or csv" },
        { "COPY t FROM STDIN (DELIMITER '||')", "0A000",
          "COPY delimiter must be a single one-byte character" },
        { "COPY t FROM STDIN (DELIMITER '\xc3\xa9')", "0A000",
          "COPY delimiter must be a single one-byte character" },
        { "COPY t FROM STDIN (DELIMITER '')", "0A000",
          "COPY delimiter must be a single one-byte character" },
        { "COPY t FROM STDIN (DELIMITER E'\\n')", "22023",
          "COPY delimiter cannot be newline or carriage return" },
        { "COPY t FROM STDIN (NULL E'a\\rb')", "22023",
          "COPY null representation cannot use newline or carriage return" },
        { "COPY t FROM STDIN (DELIMITER 'a')", "22023", "COPY delimiter cannot be \"a\"" },
        { "COPY t FROM STDIN (DELIMITER '\\')", "22023", "COPY delimiter cannot be \"\\\"" },
        { "COPY t FROM STDIN (FORMAT csv, DELIMITER '\"')", "22023",
          "COPY delimiter and quote must be different" },
        { "COPY t FROM STDIN (FORMAT csv, QUOTE 'ab')", "0A000",
          "COPY quote must be a single one-byte character" },
        { "COPY t FROM STDIN (FORMAT csv, ESCAPE '')", "0A000",
          "COPY escape must be a single one-byte character" },
        { "COPY t FROM STDIN (QUOTE '\"')", "0A000", "COPY quote available only in CSV mode" },
        { "COPY t FROM STDIN (ESCAPE '\\')", "0A000", "COPY escape available only in CSV mode" },
        { "COPY t TO STDOUT (FORCE_QUOTE *)", "0A000",
          "COPY force quote available only in CSV mode" },
        { "COPY t FROM STDIN (FORMAT csv, FORCE_QUOTE *)", "0A000",
          "COPY force quote only available using COPY TO" },
        { "COPY t (a) TO STDOUT CSV FORCE NOT NULL a", "0A000",
          "COPY force not null only available using COPY FROM" },
        { "COPY t (a) FROM STDIN (FORCE_NULL (a))", "0A000",
          "COPY force null available only in CSV mode" },
        { "COPY t FROM STDIN (NULL E'a\\tb')", "0A000",
          "COPY delimiter must not appear in the NULL specification" },
        { "COPY t FROM STDIN (FORMAT csv, NULL '\"')", "0A000",
          "CSV quote character must not appear in the NULL specification" },
        { "COPY t TO STDOUT (HEADER match)", "0A000",
          "cannot use \"match\" with HEADER in COPY TO" },
        { "COPY t FROM STDIN (HEADER maybe)", "42601",
          "header requires a Boolean value or \"match\"" },
        { "COPY t FROM STDIN (FREEZE 2)", "42601", "freeze requires a Boolean value" },
        { "COPY t FROM STDIN (FORMAT)", "42601", "format requires a parameter" },
        { "COPY t FROM STDIN (FORMAT xml)", "22023", "COPY format \"xml\" not recognized" },
        { "COPY t FROM STDIN (FORMAT 'CSV')", "22023", "COPY format \"CSV\" not recognized" },
        { "COPY t FROM STDIN (FORMAT csv, FORMAT csv)", "42601",
          "conflicting or redundant options" },
        { "COPY t FROM STDIN DELIMITER ',' DELIMITER ';'", "42601",
          "conflicting or redundant options" },
        { "COPY t FROM STDIN (BOGUS 1)", "42601", "option \"bogus\" not recognized" },
        { "COPY t FROM STDIN (DEFAULT 'x')", "0A000",
          "COPY option \"default\" is not supported by pgiris" },
        { "COPY t FROM STDIN (ON_ERROR ignore)", "0A000",
          "COPY option \"on_error\" is not supported by pgiris" },
        { "COPY t FROM STDIN (ENCODING 'LATIN1')", "0A000",
          "COPY ENCODING \"LATIN1\" is not supported by pgiris; only UTF8 is" },
        { "COPY t FROM STDIN (FORMAT csv, FORCE_NOT_NULL 'a')", "22023",
          "argument to option \"force_not_null\" must be a list of column names" },
        { "COPY t FROM STDIN WHERE a > 1", "0A000",
          "COPY FROM with a WHERE clause is not supported by pgiris" },
        { "COPY t TO STDOUT WHERE a > 1", "0A000", "WHERE clause not allowed with COPY TO" },
        { "COPY (SELECT 1) FROM STDIN", "42601", "syntax error at or near \"FROM\"" },
        { "COPY () TO STDOUT", "42601", "syntax error at or near \")\"" },
        { "COPY (SELECT 1 TO STDOUT", "42601", "syntax error at end of input" },
        { "COPY t STDIN", "42601", "syntax error at or near \"STDIN\"" },
        { "COPY t FROM", "42601", "syntax error at end of input" },
        { "COPY t FROM STDERR", "42601", "syntax error at or near \"STDERR\"" },
        { "COPY t FROM STDIN CSV junk", "42601", "syntax error at or near \"junk\"" },
        { "COPY t () FROM STDIN", "42601", "syntax error at or near \")\"" },
        { "COPY t (a,) FROM STDIN", "42601", "syntax error at or near \")\"" },
        { "COPY t FROM STDIN ()", "42601", "syntax error at or near \")\"" },
        { "COPY t FROM STDIN (FORMAT csv", "42601", "syntax error at end of input" },
        { "COPY t FROM STDIN (FORMAT csv,)", "42601", "syntax error at or near \")\"" },
        { "COPY t FROM STDIN FORCE QUOTE", "42601", "syntax error at end of input" },
        { "COPY t FROM STDIN DELIMITER x", "42601", "syntax error at or near \"x\"" },
        { "COPY t FROM STDIN (NULL 'abc)", "42601",
          "unterminated quoted string at or near \"'abc)\"" },
        { "COPY t FROM STDIN (NULL E'\\000')", "22021",
          "invalid byte sequence for encoding \"UTF8\": 0x00" },
        { "COPY t FROM STDIN (NULL U&'\\00zz')", "22025", "invalid Unicode escape" },
        { "COPY t FROM STDIN (NULL E'\\uD800')", "22P06", "invalid Unicode surrogate pair" },
        { "COPY t FROM STDIN; extra", "42601", "syntax error at or near \"extra\"" },
        { "SELECT 1", "42601", "syntax error at or near \"SELECT\"" },
        { "", "42601", "syntax error at end of input" },
        { "COPY t (a, A) FROM STDIN", "42701", "column \"a\" specified more than once" },
        { "COPY t (a) FROM STDIN (FORMAT csv, FORCE_NOT_NULL (b))", "42P10",
          "FORCE_NOT_NULL column \"b\" not referenced by COPY" },
        { "COPY t (a) TO STDOUT (FORMAT csv, FORCE_QUOTE (\"A\"))", "42P10",
          "FORCE_QUOTE column \"A\" not referenced by COPY" },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        parse_bad(&cases[i]);
}

/* The worker routes a COPY by the lexer's command class: that class, as COPY sees it. */
static int is_copy(const char *sql, size_t len)
{
    char verb[8];
    return sql_command(sql, len, verb, sizeof(verb)) == SQL_CMD_COPY;
}

static void test_is_copy(void **state)
{
    char many[600] = "";

    assert_true(is_copy("COPY t FROM STDIN", 17));
    assert_true(is_copy("  copy", 6));
    assert_true(is_copy("/* x */ -- y\n Copy (select 1) to stdout", 40));
    assert_true(is_copy("COPY t FROM STDIN (NULL 'unterminated", 37));
    assert_false(is_copy("SELECT 'COPY'", 13));
    assert_false(is_copy("\"COPY\"", 6));
    assert_false(is_copy("COPYX", 5));
    assert_false(is_copy("", 0));
    assert_false(is_copy("/* only */", 10));
    /* more leading comments than the first lexing pass keeps */
    for (int i = 0; i < 40; i++)
        strcat(many, "/**/ ");
    strcat(many, "COPY t TO STDOUT");
    assert_true(is_copy(many, strlen(many)));
    many[strlen(many) - 16] = 'X';
    assert_false(is_copy(many, strlen(many)));
}

static void test_bind_columns(void **state)
{
    struct copy_spec s;
    const char *names[] = { "ID", "Name", "a\"b" };
    char st[6], msg[200];
    char *got;

    parse_ok("COPY t TO STDOUT (FORMAT csv, FORCE_QUOTE (name, \"a\"\"b\"))", &s);
    assert_int_equal(s.ncolnames, -1);
    /* unquoted names match ignoring case: backends fold case their own way */
    assert_int_equal(copy_spec_bind_columns(&s, names, 3, st, msg, sizeof(msg)), 0);
    assert_int_equal(s.ncolnames, 3);
    assert_int_equal(s.colflags[0], 0);
    assert_int_equal(s.colflags[1], COPY_COL_FORCE_QUOTE);
    assert_int_equal(s.colflags[2], COPY_COL_FORCE_QUOTE);
    assert_string_equal(s.colnames[1], "Name");
    copy_spec_free(&s);
    /* a quoted name must match exactly */
    parse_ok("COPY t TO STDOUT (FORMAT csv, FORCE_QUOTE (\"name\"))", &s);
    assert_int_equal(copy_spec_bind_columns(&s, names, 3, st, msg, sizeof(msg)), -1);
    assert_string_equal(st, "42P10");
    assert_string_equal(msg, "FORCE_QUOTE column \"name\" not referenced by COPY");
    assert_int_equal(s.ncolnames, -1);
    copy_spec_free(&s);

    /* an unbound FORCE_NOT_NULL list cannot be decoded... */
    parse_ok("COPY t FROM STDIN (FORMAT csv, FORCE_NOT_NULL (a))", &s);
    assert_null(copy_decoder_new(&s, 1));
    copy_spec_free(&s);
    /* ...but FORCE_NOT_NULL * needs no names */
    parse_ok("COPY t FROM STDIN (FORMAT csv, FORCE_NOT_NULL *)", &s);
    got = decode(&s, 2, ",x\n", 3, ONE_SHOT, 3, 0, 0);
    assert_string_equal(got, "[|x]@1\n");
    free(got);
    copy_spec_free(&s);
}

/* ---- text decoding ----------------------------------------------------- */

static void test_text_docs_example(void **state)
{
    /* the example in PostgreSQL's COPY page */
    CHECK("COPY country FROM STDIN", 2,
          "AF\tAFGHANISTAN\nAL\tALBANIA\nDZ\tALGERIA\nZM\tZAMBIA\nZW\tZIMBABWE\n",
          "[AF|AFGHANISTAN]@1\n[AL|ALBANIA]@2\n[DZ|ALGERIA]@3\n[ZM|ZAMBIA]@4\n"
          "[ZW|ZIMBABWE]@5\n");
    /* psql's end-of-data marker, and anything after it ignored */
    CHECK("COPY country FROM STDIN", 2, "AF\tAFGHANISTAN\n\\.\nAL\tALBANIA\n",
          "[AF|AFGHANISTAN]@1\n");
    CHECK("COPY country FROM STDIN", 2, "AF\tAFGHANISTAN\r\n\\.\r\ngarbage\tx\ty\n",
          "[AF|AFGHANISTAN]@1\n");
    /* at the very end without a newline, too */
    CHECK("COPY country FROM STDIN", 2, "AF\tAFGHANISTAN\n\\.", "[AF|AFGHANISTAN]@1\n");
}

static void test_text_escapes(void **state)
{
    CHECK("COPY t FROM STDIN", 1,
          "a\\bb\\fc\\nd\\re\\tf\\vg\\\\h\n"
          "\\101\\60\\0618\\7\\x41\\x4a2\\xg\\q\\N\n",
          "[a\\x08b\\x0cc\\x0ad\\x0de\\x09f\\x0bg\\x5ch]@1\n"
          "[A018\\x07AJ2xgqN]@2\n");
    /* backslash-delimiter is a literal delimiter; backslash-newline a literal newline */
    CHECK("COPY t FROM STDIN", 2, "a\\\tb\tc\\\nd\n", "[a\\x09b|c\\x0ad]@1\n");
    CHECK("COPY t FROM STDIN (DELIMITER '|')", 2, "a\\|b|c\n", "[a\\x7cb|c]@1\n");
    /* \000 is a NUL byte inside the field; the length says so */
    CHECK("COPY t FROM STDIN", 1, "a\\000b\n",
          "ERROR 22021 invalid byte sequence for encoding \"UTF8\": 0x00 (COPY t, line 1)\n");
    /* a backslash at the very end of the data is dropped */
    CHECK("COPY t FROM STDIN", 1, "ab\\", "[ab]@1\n");
}

static void test_text_nulls(void **state)
{
    CHECK("COPY t FROM STDIN", 3, "\\N\t\t\\\\N\n", "[NULL||\\x5cN]@1\n");
    /* the marker is matched on the raw field, before de-escaping */
    CHECK("COPY t FROM STDIN (NULL 'nil')", 3, "nil\tni\\l\tNIL\n", "[NULL|nil|NIL]@1\n");
    CHECK("COPY t FROM STDIN (NULL '')", 3, "\t\\N\tx\n", "[NULL|N|x]@1\n");
    /* an empty line is one empty field */
    CHECK("COPY t FROM STDIN", 1, "\n\n", "[]@1\n[]@2\n");
}

static void test_text_line_ends(void **state)
{
    CHECK("COPY t FROM STDIN", 2, "a\tb\r\nc\td\r\n", "[a|b]@1\n[c|d]@2\n");
    CHECK("COPY t FROM STDIN", 2, "a\tb\rc\td\r", "[a|b]@1\n[c|d]@2\n");
    CHECK("COPY t FROM STDIN", 2, "a\tb\nc\td", "[a|b]@1\n[c|d]@2\n");
    CHECK("COPY t FROM STDIN", 1, "a\nb\rc\n",
          "[a]@1\nERROR 22P04 literal carriage return found in data (COPY t, line 2)"
          " HINT Use \"\\r\" to represent carriage return.\n");
    CHECK("COPY t FROM STDIN", 1, "a\r\nb\nc\n",
          "[a]@1\nERROR 22P04 literal newline found in data (COPY t, line 2)"
          " HINT Use \"\\n\" to represent newline.\n");
    CHECK("COPY t FROM STDIN", 1, "a\r\nb\rc\n",
          "[a]@1\nERROR 22P04 literal carriage return found in data (COPY t, line 2)"
          " HINT Use \"\\r\" to represent carriage return.\n");
    CHECK("COPY t FROM STDIN", 1, "a\rb\r\n",
          "[a]@1\n[b]@2\nERROR 22P04 literal newline found in data (COPY t, line 3)"
          " HINT Use \"\\n\" to represent newline.\n");
}

static void test_text_field_count(void **state)
{
    CHECK("COPY t (a, b) FROM STDIN", 2, "1\t2\n3\t4\t5\n",
          "[1|2]@1\nERROR 22P04 extra data after last expected column"
          " (COPY t, line 2: \"3\t4\t5\")\n");
    CHECK("COPY s.\"My T\" (a, \"B\") FROM STDIN", 2, "1\t2\n3\n",
          "[1|2]@1\nERROR 22P04 missing data for column \"B\" (COPY My T, line 2: \"3\")\n");
    /* without names the column is numbered */
    CHECK("COPY t FROM STDIN", 3, "1\t2\n",
          "ERROR 22P04 missing data for column 3 (COPY t, line 1: \"1\t2\")\n");
    /* a table without columns takes empty lines only */
    CHECK("COPY t FROM STDIN", 0, "\n\nx\n",
          "[]@1\n[]@2\nERROR 22P04 extra data after last expected column"
          " (COPY t, line 3: \"x\")\n");
}

static void test_text_end_marker_errors(void **state)
{
    CHECK("COPY t FROM STDIN", 1, "a\nfoo\\.\nbar\n",
          "[a]@1\nERROR 22P04 end-of-copy marker is not alone on its line (COPY t, line 2)\n");
    CHECK("COPY t FROM STDIN", 1, "a\n\\.foo\n",
          "[a]@1\nERROR 22P04 end-of-copy marker is not alone on its line (COPY t, line 2)\n");
    /* an escaped backslash before a period is data */
    CHECK("COPY t FROM STDIN", 1, "a\\\\.\n", "[a\\x5c.]@1\n");
}

static void test_text_nul_escape(void **state)
{
    /* a NUL is no character of PostgreSQL's text: the driver would cut the value at it */
    CHECK("COPY t FROM STDIN", 2, "1\tab\\000cd\n",
          "ERROR 22021 invalid byte sequence for encoding \"UTF8\": 0x00 (COPY t, line 1)\n");
    CHECK("COPY t FROM STDIN", 2, "1\tab\\x00cd\n",
          "ERROR 22021 invalid byte sequence for encoding \"UTF8\": 0x00 (COPY t, line 1)\n");
    /* \x without hex digits is an x; \001 is a byte */
    CHECK("COPY t FROM STDIN", 2, "1\ta\\xg\\001\n", "[1|axg\\x01]@1\n");
}

static void test_header(void **state)
{
    CHECK("COPY t FROM STDIN (FORMAT csv, HEADER)", 2, "a,b\n1,2\n", "[1|2]@2\n");
    CHECK("COPY t FROM STDIN (HEADER true)", 2, "a\tb\n1\t2\n", "[1|2]@2\n");
    /* a quoted newline in the header is part of it */
    CHECK("COPY t FROM STDIN CSV HEADER", 2, "\"a\nx\",b\n1,2\n", "[1|2]@3\n");
    CHECK("COPY t FROM STDIN CSV HEADER", 2, "a,b\n", "");
    CHECK("COPY t FROM STDIN CSV HEADER", 2, "\\.\n1,2\n", "");
    /* MATCH checks the names, in order, when the statement lists them */
    CHECK("COPY t (a, b) FROM STDIN (FORMAT csv, HEADER MATCH)", 2, "a,b\n1,2\n", "[1|2]@2\n");
    CHECK("COPY t (a, b) FROM STDIN (FORMAT csv, HEADER MATCH)", 2, "b,a\n1,2\n",
          "ERROR 22P04 column name mismatch in header line field 1: got \"b\", expected \"a\" (COPY t, line 1)\n");
    CHECK("COPY t (a, b) FROM STDIN (HEADER MATCH)", 2, "a\n1\t2\n",
          "ERROR 22P04 wrong number of fields in header line: got 1, expected 2 (COPY t, line 1)\n");
    CHECK("COPY t FROM STDIN (FORMAT csv, HEADER MATCH)", 2, "a,b\n1,2\n",
          "ERROR 0A000 HEADER MATCH is supported by pgiris only with the columns listed in COPY (COPY t, line 1)\n");
}

/* ---- CSV decoding ------------------------------------------------------ */

static void test_csv_quoting(void **state)
{
    CHECK("COPY t FROM STDIN CSV", 3,
          "a,\"b,c\",\"d\"\"e\"\n"
          "\"multi\nline\r\nfield\",x\"y,\",\"\"\n"
          "\"\",,\n",
          "[a|b,c|d\"e]@1\n[multi\\x0aline\\x0d\\x0afield|xy,|]@4\n[|NULL|NULL]@5\n");
    /* quotes may open and close in mid-field */
    CHECK("COPY t FROM STDIN CSV", 1, "ab\"c,d\"ef\n", "[abc,def]@1\n");
    /* a different ESCAPE pairs with a quote or itself, and is literal otherwise */
    CHECK("COPY t FROM STDIN (FORMAT csv, ESCAPE '\\')", 2,
          "\"a\\\"b\\\\c\\d\",\"\"\"\"\n\\,x\n",
          "[a\"b\\x5cc\\x5cd|]@1\n[\\x5c|x]@2\n");
    CHECK("COPY t FROM STDIN (FORMAT csv, QUOTE '''', DELIMITER ';')", 2, "'a;b';'it''s'\n",
          "[a;b|it's]@1\n");
}

static void test_csv_nulls(void **state)
{
    CHECK("COPY t FROM STDIN CSV", 3, ",\"\",x\n", "[NULL||x]@1\n");
    CHECK("COPY t FROM STDIN (FORMAT csv, NULL 'N')", 3, "N,\"N\",\n", "[NULL|N|]@1\n");
    CHECK("COPY t (a, b, c) FROM STDIN (FORMAT csv, FORCE_NOT_NULL (a, c))", 3, ",,\n",
          "[|NULL|]@1\n");
    CHECK("COPY t (a, b) FROM STDIN (FORMAT csv, NULL 'N', FORCE_NULL (a, b))", 2,
          "\"N\",\"x\"\nN,\"\"\n", "[NULL|x]@1\n[NULL|]@2\n");
    CHECK("COPY t (a) FROM STDIN (FORMAT csv, FORCE_NULL (a), FORCE_NOT_NULL (a))", 1,
          "\n\"\"\n", "[]@1\n[NULL]@2\n");
    /* an empty line is one NULL field in CSV */
    CHECK("COPY t FROM STDIN CSV", 1, "\n", "[NULL]@1\n");
}

static void test_csv_errors(void **state)
{
    CHECK("COPY t FROM STDIN CSV", 2, "a,b\n\"c,d\n",
          "[a|b]@1\nERROR 22P04 unterminated CSV quoted field (COPY t, line 3: \"\"c,d\n\")\n");
    CHECK("COPY t FROM STDIN CSV", 1, "a\r\nb\nc\n",
          "[a]@1\nERROR 22P04 unquoted newline found in data (COPY t, line 2)"
          " HINT Use quoted CSV field to represent newline.\n");
    CHECK("COPY t FROM STDIN CSV", 1, "a\nb\rc\n",
          "[a]@1\nERROR 22P04 unquoted carriage return found in data (COPY t, line 2)"
          " HINT Use quoted CSV field to represent carriage return.\n");
    CHECK("COPY t FROM STDIN CSV", 2, "\"a\nb\",c,d\n",
          "ERROR 22P04 extra data after last expected column (COPY t, line 2: \"\"a\nb\",c,d\")\n");
}

static void test_csv_end_marker(void **state)
{
    CHECK("COPY t FROM STDIN CSV", 1, "a\n\\.\nb\n", "[a]@1\n");
    /* in CSV "\." is data unless alone on a line */
    CHECK("COPY t FROM STDIN CSV", 2, "\\.,x\n\"\\.\",y\n", "[\\x5c.|x]@1\n[\\x5c.|y]@2\n");
    CHECK("COPY t FROM STDIN CSV", 1, "\"a\n\\.\n\"\n", "[a\\x0a\\x5c.\\x0a]@3\n");
}

static void test_long_context_and_limit(void **state)
{
    struct copy_spec spec;
    struct copy_decoder *d;
    struct render r = { .cap = 64 };
    char line[300];
    char st[6];
    const char *detail;

    /* CONTEXT shows 100 bytes of the line, without cutting a UTF-8 character */
    memset(line, 'x', sizeof(line));
    memcpy(line + 99, "\xc3\xa9", 2);
    memcpy(line + 290, "\ty\tz\n", 5);
    parse_ok("COPY t FROM STDIN", &spec);
    d = copy_decoder_new(&spec, 2);
    r.buf = malloc(r.cap);
    assert_int_equal(copy_decoder_feed(d, line, 295, render_row, &r), -1);
    assert_string_equal(copy_decoder_error(d, st, &detail),
                        "extra data after last expected column");
    assert_string_equal(st, "22P04");
    assert_int_equal(strlen(detail), strlen("COPY t, line 1: \"...\"") + 99);
    assert_non_null(strstr(detail, "xxx...\""));
    copy_decoder_free(d);

    /* a line longer than the limit, whether in one chunk or several */
    for (int chunked = 0; chunked < 2; chunked++) {
        d = copy_decoder_new(&spec, 1);
        copy_decoder_set_limit(d, 10);
        assert_int_equal(copy_decoder_feed(d, "0123456789\n", 11, render_row, &r), 0);
        if (chunked) {
            assert_int_equal(copy_decoder_feed(d, "01234", 5, render_row, &r), 0);
            assert_int_equal(copy_decoder_feed(d, "56789", 5, render_row, &r), 0);
            assert_int_equal(copy_decoder_feed(d, "a", 1, render_row, &r), -1);
        } else {
            assert_int_equal(copy_decoder_feed(d, "0123456789a\n", 12, render_row, &r), -1);
        }
        assert_string_equal(copy_decoder_error(d, st, &detail),
                            "COPY line is longer than the limit of 10 bytes");
        assert_string_equal(st, "54000");
        copy_decoder_free(d);
    }
    free(r.buf);
    copy_spec_free(&spec);
}

static void test_callback_stop(void **state)
{
    struct copy_spec spec;
    char *got;

    parse_ok("COPY t FROM STDIN", &spec);
    got = decode(&spec, 1, "a\nb\nc\n", 6, ONE_SHOT, 6, 0, 2);
    assert_string_equal(got, "[a]@1\n[b]@2\nSTOP 7\n");
    free(got);
    /* stopping on the last line, which only finish delivers */
    got = decode(&spec, 1, "a\nb", 3, ONE_SHOT, 3, 0, 2);
    assert_string_equal(got, "[a]@1\n[b]@2\nSTOP 7\n");
    free(got);
    copy_spec_free(&spec);
}

/* ---- encoding ---------------------------------------------------------- */

static char *encode(const char *sql, const char *const *values, const size_t *lengths, int n)
{
    struct copy_spec spec;
    struct pgbuf b;
    char *s;

    parse_ok(sql, &spec);
    pgbuf_init(&b);
    assert_int_equal(copy_encode_row(&spec, &b, values, lengths, n), 0);
    s = strndup((const char *)b.data, b.len);
    pgbuf_free(&b);
    copy_spec_free(&spec);
    return s;
}

#define ENC(sql, want, ...)                                                                        \
    do {                                                                                           \
        const char *v_[] = { __VA_ARGS__ };                                                        \
        char *got_ = encode(sql, v_, NULL, (int)(sizeof(v_) / sizeof(v_[0])));                     \
        assert_string_equal(got_, want);                                                           \
        free(got_);                                                                                \
    } while (0)

static void test_encode_text(void **state)
{
    struct copy_spec spec;
    struct pgbuf b;
    const char *v[] = { "a\0b" };
    size_t len[] = { 3 };

    ENC("COPY t TO STDOUT", "a\t\\N\t\t\\\\b\\tc\\nd\\re\\bf\\fg\\vh\x01\n", "a", NULL, "",
        "\\b\tc\nd\re\bf\fg\vh\x01");
    ENC("COPY t TO STDOUT (DELIMITER '|', NULL 'nil')", "x\\|y|nil|\\\\N\n", "x|y", NULL, "\\N");
    /* a control-character delimiter is backslashed as itself */
    ENC("COPY t TO STDOUT (DELIMITER E'\\x01')", "a\\\x01" "b\x01" "c\n", "a\x01" "b", "c");

    /* a NUL byte, which only an ODBC value can hold, goes out as \000 */
    parse_ok("COPY t TO STDOUT", &spec);
    pgbuf_init(&b);
    assert_int_equal(copy_encode_row(&spec, &b, v, len, 1), 0);
    assert_int_equal(b.len, 7);
    assert_memory_equal(b.data, "a\\000b\n", 7);
    pgbuf_free(&b);
    copy_spec_free(&spec);
}

static void test_encode_csv(void **state)
{
    ENC("COPY t TO STDOUT CSV", "a,,\"\",\"b,c\",\"d\"\"e\",\"f\ng\",\"h\ri\",j\\k\n", "a", NULL,
        "", "b,c", "d\"e", "f\ng", "h\ri", "j\\k");
    ENC("COPY t TO STDOUT (FORMAT csv, NULL 'N', QUOTE '''', ESCAPE '\\')",
        "N,'N','it\\'s',a\\b,\"\n", NULL, "N", "it's", "a\\b", "\"");
    ENC("COPY t TO STDOUT (FORMAT csv, FORCE_QUOTE *)", "\"a\",,\"\"\n", "a", NULL, "");
    ENC("COPY t (a, b) TO STDOUT (FORMAT csv, FORCE_QUOTE (b))", "a,\"b\"\n", "a", "b");
    /* a lone \. is quoted so that it does not read back as the end marker */
    ENC("COPY t TO STDOUT CSV", "\"\\.\"\n", "\\.");
    ENC("COPY t TO STDOUT CSV", "\\.,x\n", "\\.", "x");
}

static void test_encode_header_and_refusals(void **state)
{
    struct copy_spec spec;
    struct pgbuf b;
    const char *names[] = { "id", "a,b", "" };
    const char *one[] = { "x" };
    const char *want = "id,\"a,b\",\"\"\nid\ta,b\n\n";

    pgbuf_init(&b);
    parse_ok("COPY t TO STDOUT (FORMAT csv, HEADER, FORCE_QUOTE *)", &spec);
    assert_int_equal(copy_encode_header(&spec, &b, names, 3), 0);
    copy_spec_free(&spec);
    parse_ok("COPY t TO STDOUT (HEADER)", &spec);
    assert_int_equal(copy_encode_header(&spec, &b, names, 2), 0);
    /* a row of no columns is an empty line */
    assert_int_equal(copy_encode_row(&spec, &b, NULL, NULL, 0), 0);
    copy_spec_free(&spec);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);

    /* FORCE_QUOTE by name needs the columns bound */
    parse_ok("COPY t TO STDOUT (FORMAT csv, FORCE_QUOTE (x))", &spec);
    assert_int_equal(copy_encode_row(&spec, &b, one, NULL, 1), -1);
    pgbuf_free(&b);
    copy_spec_free(&spec);
}

/* ---- round trip -------------------------------------------------------- */

struct rt_rows {
    char ***vals;
    size_t **lens;
    int nrows;
    int ncols;
    int seen;
};

static int rt_check(void *arg, char **fields, size_t *lengths, int nfields, uint64_t lineno)
{
    struct rt_rows *rt = arg;
    int r = rt->seen++;

    assert_true(r < rt->nrows);
    assert_int_equal(nfields, rt->ncols);
    for (int i = 0; i < nfields; i++) {
        if (!rt->vals[r][i]) {
            if (fields[i])
                fail_msg("row %d col %d: want NULL, got [%s]", r, i, fields[i]);
            continue;
        }
        if (!fields[i])
            fail_msg("row %d col %d: want [%s], got NULL", r, i, rt->vals[r][i]);
        assert_int_equal(lengths[i], rt->lens[r][i]);
        assert_memory_equal(fields[i], rt->vals[r][i], lengths[i]);
    }
    return 0;
}

static void round_trip(const char *to_sql, const char *from_sql, int ncols, unsigned seed)
{
    static const char alphabet[] = "ab,;|\t\n\r\\\"'.N \x01\xc3\xa9";
    struct copy_spec to, from;
    struct rt_rows rt = { .nrows = 300, .ncols = ncols };
    struct pgbuf b;
    struct copy_decoder *d;

    parse_ok(to_sql, &to);
    parse_ok(from_sql, &from);
    srand(seed);
    pgbuf_init(&b);
    rt.vals = calloc((size_t)rt.nrows, sizeof(*rt.vals));
    rt.lens = calloc((size_t)rt.nrows, sizeof(*rt.lens));
    for (int r = 0; r < rt.nrows; r++) {
        rt.vals[r] = calloc((size_t)ncols, sizeof(char *));
        rt.lens[r] = calloc((size_t)ncols, sizeof(size_t));
        for (int c = 0; c < ncols; c++) {
            int kind = rand() % 8;
            size_t len = kind == 0 ? 0 : (size_t)(rand() % 12);
            if (kind == 1)
                continue;       /* NULL */
            rt.vals[r][c] = malloc(len + 3);
            for (size_t k = 0; k < len; k++) {
                rt.vals[r][c][k] = alphabet[rand() % (int)(sizeof(alphabet) - 1)];
            }
            /* the null markers and a lone \. are the values most likely to go wrong */
            if (kind == 2)
                memcpy(rt.vals[r][c], "\\N", (len = 2));
            if (kind == 3)
                memcpy(rt.vals[r][c], "\\.", (len = 2));
            rt.vals[r][c][len] = '\0';
            rt.lens[r][c] = len;
        }
        assert_int_equal(copy_encode_row(&to, &b, (const char *const *)rt.vals[r], rt.lens[r],
                                         ncols), 0);
    }
    d = copy_decoder_new(&from, ncols);
    assert_non_null(d);
    for (size_t pos = 0; pos < b.len;) {
        size_t n = 1 + (size_t)rand() % 40;
        if (n > b.len - pos)
            n = b.len - pos;
        if (copy_decoder_feed(d, (const char *)b.data + pos, n, rt_check, &rt) != 0) {
            char st[6];
            const char *detail;
            const char *msg = copy_decoder_error(d, st, &detail);
            fail_msg("%s: %s %s (%s)", from_sql, st, msg, detail);
        }
        pos += n;
    }
    assert_int_equal(copy_decoder_finish(d, rt_check, &rt), 0);
    assert_int_equal(rt.seen, rt.nrows);
    copy_decoder_free(d);

    for (int r = 0; r < rt.nrows; r++) {
        for (int c = 0; c < ncols; c++)
            free(rt.vals[r][c]);
        free(rt.vals[r]);
        free(rt.lens[r]);
    }
    free(rt.vals);
    free(rt.lens);
    pgbuf_free(&b);
    copy_spec_free(&to);
    copy_spec_free(&from);
}

static void test_round_trip(void **state)
{
    for (unsigned seed = 1; seed <= 10; seed++) {
        for (int ncols = 1; ncols <= 4; ncols += 3) {
            round_trip("COPY t TO STDOUT", "COPY t FROM STDIN", ncols, seed);
            /* text cannot tell the null string from an equal value: pick one unseen */
            round_trip("COPY t TO STDOUT (DELIMITER '|', NULL 'x-null')",
                       "COPY t FROM STDIN (DELIMITER '|', NULL 'x-null')", ncols, seed);
            round_trip("COPY t TO STDOUT CSV", "COPY t FROM STDIN CSV", ncols, seed);
            round_trip("COPY t TO STDOUT (FORMAT csv, NULL '\\N', DELIMITER ';', ESCAPE '\\')",
                       "COPY t FROM STDIN (FORMAT csv, NULL '\\N', DELIMITER ';', ESCAPE '\\')",
                       ncols, seed);
            round_trip("COPY t TO STDOUT (FORMAT csv, QUOTE '''', FORCE_QUOTE *)",
                       "COPY t FROM STDIN (FORMAT csv, QUOTE '''')", ncols, seed);
        }
    }
}

/* A million rows in 8 KiB messages: linear, and no allocation per row. */
static int sum_rows(void *arg, char **fields, size_t *lengths, int nfields, uint64_t lineno)
{
    *(uint64_t *)arg += lengths[0] + lengths[1] + (fields[2] == NULL);
    return 0;
}

static void test_many_rows(void **state)
{
    struct copy_spec spec;
    struct copy_decoder *d;
    struct pgbuf b;
    const char *v[3] = { "12345", "some text, with \"quotes\"", NULL };
    uint64_t sum = 0;
    const int rows = 1000000;

    parse_ok("COPY t FROM STDIN CSV", &spec);
    pgbuf_init(&b);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(copy_encode_row(&spec, &b, v, NULL, 3), 0);
    d = copy_decoder_new(&spec, 3);
    assert_non_null(d);
    for (int k = 0; k < rows / 1000; k++)
        for (size_t pos = 0; pos < b.len; pos += 8192)
            assert_int_equal(copy_decoder_feed(d, (const char *)b.data + pos,
                                               b.len - pos < 8192 ? b.len - pos : 8192, sum_rows,
                                               &sum), 0);
    assert_int_equal(copy_decoder_finish(d, sum_rows, &sum), 0);
    assert_int_equal(sum, (uint64_t)rows * (5 + 24 + 1));
    copy_decoder_free(d);
    pgbuf_free(&b);
    copy_spec_free(&spec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_defaults),
        cmocka_unit_test(test_parse_names),
        cmocka_unit_test(test_parse_new_syntax),
        cmocka_unit_test(test_parse_old_syntax),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_is_copy),
        cmocka_unit_test(test_bind_columns),
        cmocka_unit_test(test_text_docs_example),
        cmocka_unit_test(test_text_escapes),
        cmocka_unit_test(test_text_nulls),
        cmocka_unit_test(test_text_line_ends),
        cmocka_unit_test(test_text_field_count),
        cmocka_unit_test(test_text_end_marker_errors),
        cmocka_unit_test(test_text_nul_escape),
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_csv_quoting),
        cmocka_unit_test(test_csv_nulls),
        cmocka_unit_test(test_csv_errors),
        cmocka_unit_test(test_csv_end_marker),
        cmocka_unit_test(test_long_context_and_limit),
        cmocka_unit_test(test_callback_stop),
        cmocka_unit_test(test_encode_text),
        cmocka_unit_test(test_encode_csv),
        cmocka_unit_test(test_encode_header_and_refusals),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_many_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
