/*
 * sql_rules_common: rewrite rules more than one dialect uses.  Each works on
 * tokens (common/sql_rules.h); which dialect runs which rule, and in what
 * order, is decided by the sql_rules_<dialect>.c pipelines.  A rule's
 * trigger, sql_rule_<name>_when, sits beside it, where it can be checked
 * against what the rule looks for.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/pgproto.h"
#include "common/sql_rules.h"
#include "common/sql_translate.h"

/* A statement's trailing semicolons: ODBC drivers reject or misread them. */
int sql_rule_trim_semicolons(struct sql_rw *rw)
{
    for (;;) {
        size_t last = sql_prev(rw, rw->n);
        if (last == SIZE_MAX || !sql_tk_punct(rw, last, ';'))
            return 0;
        if (sql_rw_splice(rw, last, 1, NULL, 0) != 0)
            return -1;
    }
}

/* ---- string literals --------------------------------------------------- */

struct sql_buf {
    char *p;
    size_t n, cap;
};

static int sql_buf_put(struct sql_buf *b, const char *s, size_t n)
{
    if (n == 0)
        return 0;               /* $$$$: nothing to add, and b->p may still be NULL */
    if (b->n + n > b->cap) {
        size_t cap = (b->n + n) * 2 + 16;
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    return 0;
}

static int sql_buf_utf8(struct sql_buf *b, unsigned long cp)
{
    char u[4];
    size_t n;

    if (cp < 0x80)
        u[0] = (char)cp, n = 1;
    else if (cp < 0x800)
        u[0] = (char)(0xC0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    else if (cp < 0x10000)
        u[0] = (char)(0xE0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)),
        u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    else
        u[0] = (char)(0xF0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    return sql_buf_put(b, u, n);
}

static int sql_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Reads up to max hex digits at s[*i]; -1 if there is none. */
static long sql_hex(const char *s, size_t len, size_t *i, int max)
{
    long v = -1;
    for (int k = 0; k < max && *i < len && sql_hexval((unsigned char)s[*i]) >= 0; k++, (*i)++)
        v = (v < 0 ? 0 : v * 16) + sql_hexval((unsigned char)s[*i]);
    return v;
}

/* The value of an E'...' body: PostgreSQL's backslash escapes. */
static int sql_decode_escapes(struct sql_rw *rw, const char *s, size_t len, struct sql_buf *b)
{
    for (size_t i = 0; i < len;) {
        char c = s[i++];
        long v;
        if (c == '\'') {
            i++;                                /* '' inside the body */
            if (sql_buf_put(b, "'", 1) != 0)
                return -1;
            continue;
        }
        if (c != '\\' || i == len) {
            if (sql_buf_put(b, &c, 1) != 0)
                return -1;
            continue;
        }
        c = s[i++];
        switch (c) {
        case 'b': v = '\b'; break;
        case 'f': v = '\f'; break;
        case 'n': v = '\n'; break;
        case 'r': v = '\r'; break;
        case 't': v = '\t'; break;
        case 'x':
            if ((v = sql_hex(s, len, &i, 2)) < 0)
                v = 'x';
            break;
        case 'u': case 'U': {
            size_t start = i;
            v = sql_hex(s, len, &i, c == 'u' ? 4 : 8);
            if (i - start != (c == 'u' ? 4u : 8u))
                return sql_rw_fail(rw, "22025", "invalid Unicode escape in E'' string");
            if (v >= 0xD800 && v <= 0xDBFF && i + 6 <= len && s[i] == '\\' && s[i + 1] == 'u') {
                size_t k = i + 2;
                long lo = sql_hex(s, len, &k, 4);
                if (k == i + 6 && lo >= 0xDC00 && lo <= 0xDFFF) {
                    v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
                    i = k;
                }
            }
            if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
                return sql_rw_fail(rw, "22025", "invalid Unicode escape value in E'' string");
            if (sql_buf_utf8(b, (unsigned long)v) != 0)
                return -1;
            continue;
        }
        default:
            if (c >= '0' && c <= '7') {
                v = c - '0';
                for (int k = 0; k < 2 && i < len && s[i] >= '0' && s[i] <= '7'; k++)
                    v = v * 8 + (s[i++] - '0');
                v &= 0xFF;
            } else {
                v = (unsigned char)c;
            }
            break;
        }
        if (v == 0)
            return sql_rw_fail(rw, "22021", "invalid byte sequence: E'' string contains \\0");
        {
            char ch = (char)v;
            if (sql_buf_put(b, &ch, 1) != 0)
                return -1;
        }
    }
    return 0;
}

/*
 * The value of a '...' / E'...' token, including continuation segments
 * ('a'<newline>'b').  The lexer guarantees well-formed quoting.
 */
static int sql_decode_quoted(struct sql_rw *rw, const struct sql_tk *t, struct sql_buf *b)
{
    const char *s = t->s, *end = t->s + t->len;
    bool esc = t->type == SQL_TOK_ESTRING;

    while (s < end && *s != '\'')
        s++;                                    /* E / N prefix */
    while (s < end && *s == '\'') {
        const char *body = ++s;
        for (;;) {
            if (s >= end)
                return sql_rw_fail(rw, "42601", "unterminated string literal");
            if (esc && *s == '\\') {
                s += 2;
                continue;
            }
            if (*s == '\'') {
                if (s + 1 < end && s[1] == '\'') {
                    s += 2;
                    continue;
                }
                break;
            }
            s++;
        }
        if (esc) {
            if (sql_decode_escapes(rw, body, (size_t)(s - body), b) != 0)
                return -1;
        } else {
            for (const char *p = body; p < s; p++) {
                if (sql_buf_put(b, p, 1) != 0)
                    return -1;
                if (*p == '\'')
                    p++;
            }
        }
        s++;
        while (s < end && isspace((unsigned char)*s))
            s++;
    }
    return 0;
}

/*
 * The token that continues the literal at i ('a'<newline>'b', perhaps with
 * -- comments in between), or 0 if none does.
 */
static size_t sql_continuation_of(const struct sql_rw *rw, size_t i)
{
    size_t k = sql_next(rw, i);

    return k < rw->n && rw->t[k].space == SQL_SPACE_CONT ? k : 0;
}

/* Join the X'..' blob at i and its continuations into one token; b is scratch. */
static int sql_join_hex(struct sql_rw *rw, size_t i, struct sql_buf *b)
{
    size_t k;
    char *out;

    b->n = 0;
    if (sql_buf_put(b, rw->t[i].s, rw->t[i].len - 1) != 0)
        return sql_rw_fail(rw, "53200", "out of memory");
    while ((k = sql_continuation_of(rw, i)) != 0) {
        /* a bit string's body has no quotes: the part is '<body>' */
        if (sql_buf_put(b, rw->t[k].s + 1, rw->t[k].len - 2) != 0 ||
            sql_rw_splice(rw, i + 1, k - i, NULL, 0) != 0)
            return sql_rw_fail(rw, "53200", "out of memory");
    }
    if (sql_buf_put(b, "'", 1) != 0 || !(out = sql_rw_strdup(rw, b->p, b->n)))
        return sql_rw_fail(rw, "53200", "out of memory");
    rw->t[i].s = out;
    rw->t[i].len = (uint32_t)b->n;
    return 0;
}

const struct sql_trigger sql_rule_plain_strings_when =
    SQL_TRIGGER(SQL_SEEN_TYPE_ + SQL_TOK_STRING, SQL_SEEN_TYPE_ + SQL_TOK_ESTRING,
                SQL_SEEN_TYPE_ + SQL_TOK_BSTRING, SQL_SEEN_TYPE_ + SQL_TOK_DOLLAR);

int sql_rule_plain_strings(struct sql_rw *rw)
{
    struct sql_buf b = { NULL, 0, 0 }, q = { NULL, 0, 0 };

    for (size_t i = 0; i < rw->n; i++) {
        struct sql_tk *t = &rw->t[i];
        char *out;

        if (t->type == SQL_TOK_BSTRING || (t->type == SQL_TOK_STRING && t->s[0] == 'U') ||
            (t->type == SQL_TOK_STRING && t->s[0] == 'u')) {
            bool hex = t->s[0] == 'X' || t->s[0] == 'x';
            if (t->type == SQL_TOK_BSTRING && hex && rw->dialect == CFG_DIALECT_SQLITE) {
                /* X'..' is a SQLite blob too, but SQLite does not join continuations */
                if (sql_continuation_of(rw, i) && sql_join_hex(rw, i, &b) != 0)
                    goto fail;
                continue;
            }
            free(b.p);
            free(q.p);
            return sql_rw_fail(rw, "0A000", "%s literals are not supported by this backend",
                               t->type == SQL_TOK_BSTRING ? (hex ? "X'' bit string" : "B'' bit string")
                                                          : "U&'' Unicode escape string");
        }
        if (t->type == SQL_TOK_DOLLAR) {
            size_t tag = 1;
            while (t->s[tag] != '$')
                tag++;
            b.n = 0;
            if (sql_buf_put(&b, t->s + tag + 1, t->len - 2 * (tag + 1)) != 0)
                goto oom;
        } else if ((t->type == SQL_TOK_STRING || t->type == SQL_TOK_ESTRING) &&
                   (t->s[0] != '\'' || sql_continuation_of(rw, i))) {
            size_t k;
            b.n = 0;
            if (sql_decode_quoted(rw, t, &b) != 0)
                goto fail;
            /*
             * 'a'<newline>'b' is one literal; the lexer gives each part its
             * own token.  Comments between the parts go with them.
             */
            while ((k = sql_continuation_of(rw, i)) != 0) {
                if (sql_decode_quoted(rw, &rw->t[k], &b) != 0 ||
                    sql_rw_splice(rw, i + 1, k - i, NULL, 0) != 0)
                    goto fail;
                t = &rw->t[i];
            }
        } else {
            continue;
        }
        q.n = 0;
        if (sql_buf_put(&q, "'", 1) != 0)
            goto oom;
        for (size_t k = 0; k < b.n; k++)
            if (sql_buf_put(&q, b.p[k] == '\'' ? "''" : b.p + k, b.p[k] == '\'' ? 2 : 1) != 0)
                goto oom;
        if (sql_buf_put(&q, "'", 1) != 0 || !(out = sql_rw_strdup(rw, q.p, q.n)))
            goto oom;
        t->s = out;
        t->len = (uint32_t)q.n;
        t->type = SQL_TOK_STRING;
    }
    free(b.p);
    free(q.p);
    return 0;
fail:
    free(b.p);
    free(q.p);
    return -1;
oom:
    free(b.p);
    free(q.p);
    return sql_rw_fail(rw, "53200", "out of memory");
}

/* ---- casts and column types -------------------------------------------- */

char *sql_literal_value(struct sql_rw *rw, const struct sql_tk *t, size_t *len)
{
    char *v = malloc(t->len);
    size_t n = 0;

    if (!v)
        return sql_rw_fail(rw, "53200", "out of memory"), NULL;
    for (size_t k = 1; k + 1 < t->len; k++) {
        v[n++] = t->s[k];
        if (t->s[k] == '\'')
            k++;
    }
    v[n] = '\0';
    *len = n;
    return v;
}

/*
 * 'yes'::boolean: SQLite's CAST(... AS INTEGER) reads text as a number, and
 * IRIS's CAST(... AS BIT) takes only 'TRUE' (RSQL_cast), so most words
 * PostgreSQL's boolin takes were 0.  The literal becomes 1 or 0 here, as
 * boolin reads it (pgproto_bool_parse), and anything else fails with
 * boolin's error.  1, or -1.
 */
int sql_bool_literal(struct sql_rw *rw, struct sql_tk *t)
{
    size_t n;
    char *v = sql_literal_value(rw, t, &n);
    int value;

    if (!v)
        return -1;
    value = pgproto_bool_parse(v, n);
    if (value < 0) {
        sql_rw_fail(rw, "22P02", "invalid input syntax for type boolean: \"%.*s\"", (int)(n > 64 ? 64 : n), v);
        free(v);
        return -1;
    }
    free(v);
    t->s = value ? "1" : "0";
    t->len = 1;
    t->type = SQL_TOK_NUMBER;
    return 1;
}

static size_t sql_cast_apply(struct sql_rw *rw, size_t from, size_t to, size_t op_first,
                             size_t op_last, const struct sql_pgtype *ty)
{
    const char *tmpl = rw->type_tmpl(rw, ty, SQL_TYPE_CAST);
    struct sql_arg args[3];
    int done;

    if (!tmpl)
        return 0;
    if (rw->dialect == CFG_DIALECT_SQLITE && op_first == op_last && rw->t[op_first].type == SQL_TOK_STRING) {
        if ((done = sql_sqlite_cast_literal(rw, op_first, ty)) < 0)
            return 0;
        if (done) {
            struct sql_tk lit = rw->t[op_first];
            lit.space = rw->t[from].space;
            return sql_rw_splice(rw, from, to - from + 1, &lit, 1) == 0 ? from + 1 : 0;
        }
    }
    if (rw->dialect == CFG_DIALECT_IRIS && !(tmpl = sql_iris_cast_tmpl(rw, op_first, op_last, ty, tmpl)))
        return 0;
    args[0] = sql_rw_range(rw, op_first, op_last);
    args[1] = ty->mod_open ? sql_rw_range(rw, ty->mod_open, ty->mod_close) : (struct sql_arg){ 0 };
    args[2] = ty->mod_open ? sql_rw_range(rw, ty->mod_open + 1, ty->mod_close - 1)
                           : (struct sql_arg){ 0 };
    return sql_rw_template(rw, from, to, args, 3, "%s", tmpl);
}

/* CAST(x AS t), innermost first, so the CASTs made from :: are not seen again. */
static int sql_casts_call(struct sql_rw *rw)
{
    if (!sql_seen(rw, KW_CAST))
        return 0;
    for (size_t i = rw->n; i-- > 0;) {
        size_t close, as = 0;
        struct sql_pgtype ty;
        int depth = 0;

        if (!sql_tk_kw(rw, i, KW_CAST) || !sql_tk_punct(rw, i + 1, '('))
            continue;
        close = sql_match(rw, i + 1);
        if (close >= rw->n)
            return sql_rw_fail(rw, "42601", "unbalanced parentheses in CAST");
        for (size_t j = i + 2; j < close; j++) {
            if (sql_tk_punct(rw, j, '(') || sql_tk_punct(rw, j, '['))
                depth++;
            else if (sql_tk_punct(rw, j, ')') || sql_tk_punct(rw, j, ']'))
                depth--;
            else if (depth == 0 && sql_tk_kw(rw, j, KW_AS))
                as = j;
        }
        if (!as || as == i + 2 || !sql_parse_type(rw, as + 1, &ty) || ty.last != close - 1)
            return sql_rw_fail(rw, "42601", "CAST needs an expression, AS and a type name");
        if (!sql_cast_apply(rw, i, close, i + 2, as - 1, &ty))
            return -1;
    }
    return 0;
}

static int sql_casts_operator(struct sql_rw *rw)
{
    if (!sql_seen(rw, SQL_SEEN_TYPECAST))
        return 0;
    for (size_t i = 1; i < rw->n; i++) {
        struct sql_pgtype ty;
        size_t start;

        if (!sql_tk_op(rw, i, "::"))
            continue;
        start = sql_primary_start(rw, i - 1);
        if (!sql_parse_type(rw, i + 1, &ty))
            return sql_rw_fail(rw, "42601", "type name expected after ::");
        if (!sql_cast_apply(rw, start, ty.last, start, i - 1, &ty))
            return -1;
        i = start;      /* x::a::b: the second :: now follows the first's result */
    }
    return 0;
}

/*
 * Typed literals: DATE '2024-01-31' is CAST('2024-01-31' AS DATE), int '5'
 * CAST('5' AS int).  Any of them has a string; INTERVAL's are the interval
 * rules'.
 */
static int sql_casts_typed_literal(struct sql_rw *rw)
{
    if (!sql_seen(rw, SQL_SEEN_TYPE_ + SQL_TOK_STRING))
        return 0;
    for (size_t i = 0; i < rw->n; i++) {
        struct sql_pgtype ty;

        if (rw->t[i].type != SQL_TOK_IDENT || sql_tk_kw(rw, i, KW_INTERVAL) ||
            (i > 0 && sql_tk_punct(rw, i - 1, '.')) || !sql_parse_type(rw, i, &ty) ||
            ty.last + 1 >= rw->n || rw->t[ty.last + 1].type != SQL_TOK_STRING ||
            !(sql_literal_type_word(rw, i) || sql_literal_type_word(rw, sql_next(rw, i))))
            continue;
        if (!sql_cast_apply(rw, i, ty.last + 1, ty.last + 1, ty.last + 1, &ty))
            return -1;
    }
    return 0;
}

/* What any of the three passes looks for; each tests its own part again. */
const struct sql_trigger sql_rule_casts_when =
    SQL_TRIGGER(KW_CAST, SQL_SEEN_TYPECAST, SQL_SEEN_TYPE_ + SQL_TOK_STRING);

int sql_rule_casts(struct sql_rw *rw)
{
    if (sql_casts_call(rw) != 0 || sql_casts_operator(rw) != 0)
        return -1;
    return sql_casts_typed_literal(rw);
}

/* GENERATED {ALWAYS | BY DEFAULT} AS IDENTITY [( options )] within [from, to]. */
static bool sql_find_identity(const struct sql_rw *rw, size_t from, size_t to, size_t *g, size_t *end)
{
    for (size_t i = from; i <= to && i < rw->n; i++) {
        size_t j = i + 1;
        if (!sql_tk_kw(rw, i, KW_GENERATED))
            continue;
        if (sql_tk_kw(rw, j, KW_ALWAYS))
            j++;
        else if (sql_tk_kw(rw, j, KW_BY) && sql_tk_kw(rw, j + 1, KW_DEFAULT))
            j += 2;
        else
            return false;
        if (!sql_tk_kw(rw, j, KW_AS) || !sql_tk_kw(rw, j + 1, KW_IDENTITY))
            return false;
        j++;
        if (sql_tk_punct(rw, j + 1, '('))
            j = sql_match(rw, j + 1);
        *g = i;
        *end = j;
        return true;
    }
    return false;
}

static size_t sql_find_primary_key(const struct sql_rw *rw, size_t from, size_t to)
{
    for (size_t i = from; i < to && i + 1 < rw->n; i++)
        if (sql_tk_kw(rw, i, KW_PRIMARY) && sql_tk_kw(rw, i + 1, KW_KEY))
            return i + 1;
    return 0;
}

static bool sql_is_serial(const char *name)
{
    return strcmp(name, "serial") == 0 || strcmp(name, "bigserial") == 0 ||
           strcmp(name, "smallserial") == 0;
}

/* One column definition "name type constraints..." ending at t[last]. */
static int sql_column_def(struct sql_rw *rw, size_t last, size_t type_at)
{
    struct sql_pgtype ty;
    const char *tmpl;
    char buf[96];
    size_t g = 0, gend = 0, pk;
    bool identity;
    struct sql_arg args[3];

    if (!sql_parse_type(rw, type_at, &ty))
        return sql_rw_fail(rw, "42601", "column type expected");
    identity = sql_find_identity(rw, ty.last + 1, last, &g, &gend);
    pk = sql_find_primary_key(rw, ty.last + 1, last);
    if (identity) {
        /* START WITH, INCREMENT BY, ...: neither backend's identity takes them, and dropped they change the ids */
        if (sql_tk_punct(rw, gend, ')'))
            return sql_rw_fail(rw, "0A000", "identity options (START WITH, INCREMENT BY, ...) are not supported "
                                            "on %s", rw->dialect == CFG_DIALECT_SQLITE ? "SQLite" : "IRIS");
        if (rw->dialect == CFG_DIALECT_SQLITE &&
            !(pk && (strcmp(ty.name, "integer") == 0 || strcmp(ty.name, "bigint") == 0 ||
                     strcmp(ty.name, "smallint") == 0)))
            return sql_rw_fail(rw, "0A000", "GENERATED AS IDENTITY is supported on SQLite only "
                                            "for an integer PRIMARY KEY column");
        if (sql_rw_splice(rw, g, gend - g + 1, NULL, 0) != 0)
            return -1;
    }
    tmpl = rw->type_tmpl(rw, &ty, SQL_TYPE_DDL);
    if (!tmpl)
        return -1;
    if (identity && rw->dialect == CFG_DIALECT_SQLITE)
        tmpl = "INTEGER";       /* only INTEGER PRIMARY KEY is the rowid (lang_createtable.html#rowid) */
    if (identity && rw->dialect == CFG_DIALECT_IRIS) {
        snprintf(buf, sizeof(buf), "%s IDENTITY", *tmpl ? tmpl : "BIGINT");
        tmpl = buf;
    }
    /*
     * SQLite's INTEGER PRIMARY KEY generates keys; AUTOINCREMENT keeps
     * PostgreSQL's rule that a sequence never hands out a value twice.
     */
    if ((sql_is_serial(ty.name) || identity) && rw->dialect == CFG_DIALECT_SQLITE && pk) {
        /* PRIMARY KEY moved left by the identity clause removal */
        pk = sql_find_primary_key(rw, ty.last + 1, last - (identity ? gend - g + 1 : 0));
        if (pk) {
            size_t at = pk + 1;
            struct sql_tk ai = { "AUTOINCREMENT", 13, SQL_TOK_IDENT, 1, KW_NONE };
            while (sql_tk_kw(rw, at, KW_ASC) || sql_tk_kw(rw, at, KW_DESC))
                at++;
            if (sql_rw_splice(rw, at, 0, &ai, 1) != 0)
                return -1;
        }
    }
    if (!*tmpl)
        return 0;
    args[0] = (struct sql_arg){ 0 };
    args[1] = ty.mod_open ? sql_rw_range(rw, ty.mod_open, ty.mod_close) : (struct sql_arg){ 0 };
    args[2] = ty.mod_open ? sql_rw_range(rw, ty.mod_open + 1, ty.mod_close - 1)
                          : (struct sql_arg){ 0 };
    return sql_rw_template(rw, ty.first, ty.last, args, 3, "%s", tmpl) ? 0 : -1;
}

static bool sql_is_table_constraint(const struct sql_rw *rw, size_t i)
{
    return sql_tk_kw(rw, i, KW_CONSTRAINT) || sql_tk_kw(rw, i, KW_PRIMARY) ||
           sql_tk_kw(rw, i, KW_UNIQUE) || sql_tk_kw(rw, i, KW_FOREIGN) ||
           sql_tk_kw(rw, i, KW_CHECK) || sql_tk_kw(rw, i, KW_EXCLUDE) || sql_tk_kw(rw, i, KW_LIKE);
}

int sql_rule_ddl_types(struct sql_rw *rw)
{
    size_t i = 1;

    if (sql_tk_kw(rw, 0, KW_CREATE)) {
        size_t first[256], last[256], n, open;
        while (i < rw->n && !sql_tk_kw(rw, i, KW_TABLE) && !sql_tk_punct(rw, i, '(') &&
               (sql_tk_kw(rw, i, KW_TEMP) || sql_tk_kw(rw, i, KW_TEMPORARY) ||
                sql_tk_kw(rw, i, KW_UNLOGGED) || sql_tk_word(rw, i, "global") ||
                sql_tk_word(rw, i, "local")))
            i++;
        if (!sql_tk_kw(rw, i, KW_TABLE))
            return 0;
        for (open = i; open < rw->n && !sql_tk_punct(rw, open, '('); open++)
            if (sql_tk_kw(rw, open, KW_AS))
                return 0;       /* CREATE TABLE ... AS query */
        if (open >= rw->n)
            return 0;
        n = sql_args(rw, open, first, last, 256);
        if (n > 256)
            return sql_rw_fail(rw, "54011", "tables can have at most 256 columns here");
        while (n-- > 0) {
            if (sql_is_table_constraint(rw, first[n]) || last[n] == first[n])
                continue;
            if (sql_column_def(rw, last[n], first[n] + 1) != 0)
                return -1;
        }
        return 0;
    }
    if (!sql_tk_kw(rw, 0, KW_ALTER) || !sql_tk_kw(rw, 1, KW_TABLE))
        return 0;
    for (i = rw->n; i-- > 2;) {
        size_t at = i + 1, end;
        int depth = 0;
        if (sql_tk_word(rw, i, "add")) {
            if (sql_tk_kw(rw, at, KW_COLUMN))
                at++;
            if (sql_tk_kw(rw, at, KW_IF) && sql_tk_kw(rw, at + 1, KW_NOT) && sql_tk_kw(rw, at + 2, KW_EXISTS))
                at += 3;
            if (sql_is_table_constraint(rw, at))
                continue;
            for (end = at; end + 1 < rw->n; end++) {
                if (sql_tk_punct(rw, end + 1, '('))
                    depth++;
                else if (sql_tk_punct(rw, end + 1, ')'))
                    depth--;
                else if (depth == 0 && sql_tk_punct(rw, end + 1, ','))
                    break;
            }
            if (sql_column_def(rw, end, at + 1) != 0)
                return -1;
        } else if (sql_tk_word(rw, i, "type") && i >= 3 &&
                   (sql_tk_kw(rw, i - 2, KW_ALTER) || sql_tk_kw(rw, i - 3, KW_ALTER) ||
                    sql_tk_word(rw, i - 1, "data"))) {
            struct sql_pgtype ty;
            const char *tmpl;
            size_t kw_first = sql_tk_word(rw, i - 1, "data") ? i - 2 : i;
            struct sql_arg args[3];
            if (rw->dialect == CFG_DIALECT_SQLITE)
                return sql_rw_fail(rw, "0A000", "ALTER COLUMN ... TYPE is not supported by SQLite");
            if (!sql_parse_type(rw, i + 1, &ty) || !(tmpl = rw->type_tmpl(rw, &ty, SQL_TYPE_DDL)))
                return rw->failed ? -1 : sql_rw_fail(rw, "42601", "column type expected");
            args[0] = (struct sql_arg){ 0 };
            args[1] = ty.mod_open ? sql_rw_range(rw, ty.mod_open, ty.mod_close) : (struct sql_arg){ 0 };
            args[2] = ty.mod_open ? sql_rw_range(rw, ty.mod_open + 1, ty.mod_close - 1)
                                  : (struct sql_arg){ 0 };
            if (!*tmpl)
                args[0] = sql_rw_range(rw, ty.first, ty.last);
            /* IRIS: ALTER COLUMN name datatype, without TYPE */
            if (!sql_rw_template(rw, kw_first, ty.last, args, 3, "%s", *tmpl ? tmpl : "$0"))
                return -1;
        }
    }
    return 0;
}

/* ---- expressions ------------------------------------------------------- */

const struct sql_trigger sql_rule_booleans_when = SQL_TRIGGER(KW_TRUE, KW_FALSE);

int sql_rule_booleans(struct sql_rw *rw)
{
    static const char one[] = "1", zero[] = "0";

    for (size_t i = 0; i < rw->n; i++) {
        size_t p;
        if (!sql_tk_kw(rw, i, KW_TRUE) && !sql_tk_kw(rw, i, KW_FALSE))
            continue;
        p = sql_prev(rw, i);
        if (p != SIZE_MAX && sql_tk_kw(rw, p, KW_NOT))
            p = sql_prev(rw, p);
        if (p != SIZE_MAX && sql_tk_kw(rw, p, KW_IS)) {
            if (rw->dialect == CFG_DIALECT_SQLITE)
                continue;       /* SQLite has IS TRUE */
            return sql_rw_fail(rw, "0A000", "IS [NOT] TRUE/FALSE is not supported by this backend; "
                                            "compare with = instead");
        }
        rw->t[i].s = rw->t[i].kw == KW_TRUE ? one : zero;
        rw->t[i].len = 1;
        rw->t[i].type = SQL_TOK_NUMBER;
        rw->t[i].kw = KW_NONE;
    }
    return 0;
}

const struct sql_trigger sql_rule_substring_when = SQL_TRIGGER(KW_SUBSTRING);

int sql_rule_substring(struct sql_rw *rw)
{
    const char *fn = rw->dialect == CFG_DIALECT_SQLITE ? "substr" : "SUBSTRING";

    for (size_t i = rw->n; i-- > 0;) {
        size_t close, from = 0, forp = 0;
        int depth = 0;
        struct sql_arg a[3];

        if (!sql_tk_kw(rw, i, KW_SUBSTRING) || !sql_tk_punct(rw, i + 1, '('))
            continue;
        close = sql_match(rw, i + 1);
        if (close >= rw->n)
            return sql_rw_fail(rw, "42601", "unbalanced parentheses in substring");
        for (size_t j = i + 2; j < close; j++) {
            if (sql_tk_punct(rw, j, '(') || sql_tk_punct(rw, j, '['))
                depth++;
            else if (sql_tk_punct(rw, j, ')') || sql_tk_punct(rw, j, ']'))
                depth--;
            else if (depth == 0 && sql_tk_kw(rw, j, KW_FROM) && !from)
                from = j;
            else if (depth == 0 && sql_tk_kw(rw, j, KW_FOR) && !forp)
                forp = j;
            else if (depth == 0 && sql_tk_kw(rw, j, KW_SIMILAR))
                return sql_rw_fail(rw, "0A000", "substring(... SIMILAR ...) is not supported");
        }
        if (!from && !forp)
            continue;
        if (from && (forp ? forp - from : close - from) == 2 &&
            (rw->t[from + 1].type == SQL_TOK_STRING || rw->t[from + 1].type == SQL_TOK_ESTRING))
            return sql_rw_fail(rw, "0A000", "substring(x FROM pattern) with a regular expression "
                                            "is not supported");
        if ((from && forp && forp < from) || (from ? from : forp) == i + 2)
            return sql_rw_fail(rw, "42601", "substring needs FROM before FOR");
        a[0] = sql_rw_range(rw, i + 2, (from ? from : forp) - 1);
        a[1] = from ? sql_rw_range(rw, from + 1, (forp ? forp : close) - 1) : (struct sql_arg){ 0 };
        a[2] = forp ? sql_rw_range(rw, forp + 1, close - 1) : (struct sql_arg){ 0 };
        if (!sql_rw_template(rw, i, close, a, 3,
                             !from ? "%s($0, 1, $2)" : forp ? "%s($0, $1, $2)" : "%s($0, $1)", fn))
            return -1;
    }
    return 0;
}

const struct sql_trigger sql_rule_concat_when = SQL_TRIGGER(KW_CONCAT);

int sql_rule_concat(struct sql_rw *rw)
{
    for (size_t i = rw->n; i-- > 0;) {
        size_t first[10], last[10], n;
        struct sql_arg a[10];
        char tmpl[256];
        size_t used = 0;

        if (!sql_tk_kw(rw, i, KW_CONCAT) || !sql_tk_punct(rw, i + 1, '('))
            continue;
        n = sql_args(rw, i + 1, first, last, 10);
        if (n > 10)
            return sql_rw_fail(rw, "0A000", "concat() with more than 10 arguments is not supported");
        if (n == 0)
            continue;
        /* concat() skips NULLs where || would return NULL */
        used += (size_t)snprintf(tmpl, sizeof(tmpl), "(");
        for (size_t k = 0; k < n; k++) {
            a[k] = sql_rw_range(rw, first[k], last[k]);
            used += (size_t)snprintf(tmpl + used, sizeof(tmpl) - used, "%sCOALESCE($%zu, '')",
                                     k ? " || " : "", k);
        }
        snprintf(tmpl + used, sizeof(tmpl) - used, ")");
        if (!sql_rw_template(rw, i, sql_match(rw, i + 1), a, n, "%s", tmpl))
            return -1;
    }
    return 0;
}

/*
 * An interval literal INTERVAL '<n> <unit>' at i: the count, and the unit
 * canonicalised to one of year month week day hour minute second.
 */
static bool sql_interval_literal(const struct sql_rw *rw, size_t i, char *count, size_t countlen,
                                 const char **unit)
{
    static const struct { const char *name; const char *unit; } units[] = {
        { "year", "year" },     { "years", "year" },     { "yr", "year" },       { "yrs", "year" },
        { "month", "month" },   { "months", "month" },   { "mon", "month" },     { "mons", "month" },
        { "week", "week" },     { "weeks", "week" },     { "day", "day" },       { "days", "day" },
        { "hour", "hour" },     { "hours", "hour" },     { "hr", "hour" },       { "hrs", "hour" },
        { "minute", "minute" }, { "minutes", "minute" }, { "min", "minute" },    { "mins", "minute" },
        { "second", "second" }, { "seconds", "second" }, { "sec", "second" },    { "secs", "second" },
    };
    char text[64], word[16];
    const struct sql_tk *t;
    size_t n = 0, k = 0, p = 0;

    if (!sql_tk_kw(rw, i, KW_INTERVAL) || i + 1 >= rw->n || rw->t[i + 1].type != SQL_TOK_STRING)
        return false;
    t = &rw->t[i + 1];
    if (t->s[0] != '\'' || t->len - 2 >= sizeof(text))
        return false;
    memcpy(text, t->s + 1, t->len - 2);
    text[t->len - 2] = '\0';
    for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++)
        if (sql_tk_word(rw, i + 2, units[u].name))
            return false;       /* INTERVAL '1' DAY: the SQL-standard form is not handled */
    while (isspace((unsigned char)text[p]))
        p++;
    if (text[p] == '+' || text[p] == '-')
        count[n++] = text[p++];
    while (isdigit((unsigned char)text[p]) && n + 1 < countlen)
        count[n++] = text[p++];
    if (n == 0 || !isdigit((unsigned char)count[n - 1]))
        return false;
    count[n] = '\0';
    while (isspace((unsigned char)text[p]))
        p++;
    while (isalpha((unsigned char)text[p]) && k + 1 < sizeof(word))
        word[k++] = (char)tolower((unsigned char)text[p++]);
    word[k] = '\0';
    while (isspace((unsigned char)text[p]))
        p++;
    if (text[p] != '\0')
        return false;           /* several units, fractions, 'P1D' */
    for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++)
        if (strcmp(word, units[u].name) == 0) {
            *unit = units[u].unit;
            return true;
        }
    return false;
}

/*
 * x AT TIME ZONE 'UTC' (Django with USE_TZ writes it in every date lookup):
 * pgiris takes every backend timestamp as UTC and its sessions' TimeZone
 * as UTC, so the conversion changes nothing and goes.  Another zone would
 * move the value, which neither backend can: 0A000.
 */
const struct sql_trigger sql_rule_utc_zone_when = SQL_TRIGGER(KW_AT);

int sql_rule_utc_zone(struct sql_rw *rw)
{
    static const char *const utc[] = { "'utc'", "'etc/utc'", "'gmt'", "'etc/gmt'", "'z'", "'uct'", "'zulu'",
                                       "'universal'", "'+00'", "'+00:00'", "'-00'" };

    for (size_t i = rw->n; i-- > 0;) {
        size_t t = sql_next(rw, i), z = sql_next(rw, t), v = sql_next(rw, z);
        bool is_utc = false;

        if (!sql_tk_kw(rw, i, KW_AT) || !sql_tk_kw(rw, t, KW_TIME) || !sql_tk_word(rw, z, "zone"))
            continue;
        for (size_t k = 0; v < rw->n && rw->t[v].type == SQL_TOK_STRING && k < sizeof(utc) / sizeof(utc[0]); k++)
            is_utc |= rw->t[v].len == strlen(utc[k]) && strncasecmp(rw->t[v].s, utc[k], rw->t[v].len) == 0;
        if (!is_utc)
            return sql_rw_fail(rw, "0A000", "AT TIME ZONE other than 'UTC' is not supported by %s",
                               rw->dialect == CFG_DIALECT_SQLITE ? "SQLite" : "IRIS");
        if (sql_rw_splice(rw, i, v - i + 1, NULL, 0) != 0)
            return -1;
    }
    return 0;
}

/*
 * Whether an expression starts after token p: an operator, "(", "[", ",",
 * or a word an expression follows (ON but in CREATE INDEX ... ON t (c)).
 */
bool sql_expr_starts_after(const struct sql_rw *rw, size_t p)
{
    static const int starts[] = { KW_SELECT, KW_WHERE, KW_AND, KW_OR, KW_NOT, KW_WHEN, KW_THEN, KW_ELSE,
                                  KW_HAVING, KW_BY, KW_DISTINCT, KW_RETURNING, KW_BETWEEN, KW_CASE,
                                  KW_DEFAULT, KW_LIMIT, KW_OFFSET, KW_ON };

    if (p >= rw->n)
        return false;
    if (rw->t[p].type == SQL_TOK_OP || sql_tk_punct(rw, p, '(') || sql_tk_punct(rw, p, '[') ||
        sql_tk_punct(rw, p, ','))
        return true;
    for (size_t k = 0; k < sizeof(starts) / sizeof(starts[0]); k++)
        if (sql_tk_kw(rw, p, starts[k]))
            return starts[k] != KW_ON || !sql_tk_kw(rw, 0, KW_CREATE);
    return false;
}

/*
 * Whether the name at i, followed by "(", is called there: where an
 * expression starts, and not a WITH query's name with its column list.
 * INSERT INTO log (a, b), CREATE TABLE log (...) and CREATE INDEX ON log (c)
 * name a relation.
 */
bool sql_call_at(const struct sql_rw *rw, size_t i)
{
    size_t close = sql_match(rw, sql_next(rw, i)), after = sql_next(rw, close);

    return sql_expr_starts_after(rw, sql_prev(rw, i)) &&
           !(sql_tk_kw(rw, after, KW_AS) && sql_tk_punct(rw, sql_next(rw, after), '('));
}

/*
 * greatest(...) or least(...) at i as fn(...) of a backend whose function
 * is NULL when any argument is, where PostgreSQL's skip NULLs: each
 * argument is taken coalesced with the others, fn(coalesce(a, b),
 * coalesce(b, a)), NULL only when all are; an argument is evaluated again
 * only where another is NULL.  One argument is itself.  More than 8 are
 * refused (each one is written n times).
 */
int sql_greatest_least(struct sql_rw *rw, size_t i, const char *fn, const char *backend)
{
    size_t first[9], last[9], n = sql_args(rw, i + 1, first, last, 9), len;
    struct sql_arg args[8];
    char tmpl[512];

    if (n == 1) {
        rw->t[i + 1].space = rw->t[i].space;
        return sql_rw_splice(rw, i, 1, NULL, 0);        /* greatest(x) is (x) */
    }
    if (n > 8)
        return sql_rw_fail(rw, "0A000", "%s() of more than 8 arguments is not supported by %s",
                           rw->t[i].kw == KW_GREATEST ? "greatest" : "least", backend);
    len = (size_t)snprintf(tmpl, sizeof(tmpl), "%s(", fn);
    for (size_t k = 0; k < n; k++) {
        args[k] = sql_rw_range(rw, first[k], last[k]);
        len += (size_t)snprintf(tmpl + len, sizeof(tmpl) - len, "%scoalesce(", k > 0 ? ", " : "");
        for (size_t j = 0; j < n; j++)
            len += (size_t)snprintf(tmpl + len, sizeof(tmpl) - len, "%s$%zu", j > 0 ? ", " : "", (k + j) % n);
        len += (size_t)snprintf(tmpl + len, sizeof(tmpl) - len, ")");
    }
    snprintf(tmpl + len, sizeof(tmpl) - len, ")");
    return sql_rw_template(rw, i, sql_match(rw, i + 1), args, n, "%s", tmpl) ? 0 : -1;
}

const struct sql_trigger sql_rule_interval_when = SQL_TRIGGER(KW_INTERVAL);

/*
 * What follows the literal at i binds tighter than its + or -: x + INTERVAL
 * '1 day' * n adds n days, not 1 (and AT TIME ZONE would apply to the interval).
 */
static bool sql_interval_scaled(const struct sql_rw *rw, size_t i)
{
    return sql_tk_op(rw, i, "*") || sql_tk_op(rw, i, "/") || sql_tk_op(rw, i, "%") || sql_tk_op(rw, i, "^") ||
           sql_tk_op(rw, i, "::") || sql_tk_word(rw, i, "at");
}

int sql_rule_interval(struct sql_rw *rw, sql_interval_fn spell, const char *backend)
{
    for (size_t i = 1; i < rw->n; i++) {
        char count[24], tmpl[128];
        const char *unit, *form;
        long n;
        size_t op = i - 1, ls;
        struct sql_arg a;

        if (!sql_tk_kw(rw, i, KW_INTERVAL))
            continue;
        if (!sql_interval_literal(rw, i, count, sizeof(count), &unit) ||
            !(sql_tk_op(rw, op, "+") || sql_tk_op(rw, op, "-")) || op == 0 ||
            sql_interval_scaled(rw, sql_next(rw, i + 1)))
            return sql_rw_fail(rw, "0A000", "interval values are supported on %s only as "
                                            "x + INTERVAL 'n unit' or x - INTERVAL 'n unit'", backend);
        n = strtol(count, NULL, 10);
        if (sql_tk_op(rw, op, "-"))
            n = -n;
        if (strcmp(unit, "week") == 0)
            n *= 7, unit = "day";
        ls = sql_operand_left(rw, op, LV_ADD);
        if (ls >= op)
            return sql_rw_fail(rw, "42601", "operand expected before INTERVAL");
        if (!(form = spell(rw, n, unit, tmpl, sizeof(tmpl))))
            return -1;
        a = sql_rw_range(rw, ls, op - 1);
        if (!sql_rw_template(rw, ls, i + 1, &a, 1, "%s", form))
            return -1;
        i = ls;
    }
    return 0;
}

/* A unit written as a string literal or a bare word, lower-cased. */
static bool sql_date_unit_name(const struct sql_rw *rw, size_t i, char *unit, size_t size)
{
    const struct sql_tk *t = &rw->t[i];
    size_t n = 0, q = t->type == SQL_TOK_STRING && t->s[0] == '\'';

    if (!q && t->type != SQL_TOK_IDENT)
        return false;
    for (size_t k = q; k < t->len - q && n + 1 < size; k++)
        unit[n++] = (char)(t->s[k] >= 'A' && t->s[k] <= 'Z' ? t->s[k] + 32 : t->s[k]);
    unit[n] = '\0';
    return true;
}

const struct sql_trigger sql_rule_date_parts_when =
    SQL_TRIGGER(KW_DATE_TRUNC, KW_EXTRACT, KW_DATE_PART);

int sql_rule_date_parts(struct sql_rw *rw, const struct sql_date_unit *units, size_t nunits,
                        const char *backend)
{
    for (size_t i = rw->n; i-- > 0;) {
        size_t first[3], last[3], n, close, from = 0;
        char unit[24];
        bool trunc = sql_tk_kw(rw, i, KW_DATE_TRUNC), extract = sql_tk_kw(rw, i, KW_EXTRACT);
        const char *tmpl = NULL;
        struct sql_arg a;

        if (!(trunc || extract || sql_tk_kw(rw, i, KW_DATE_PART)) || !sql_tk_punct(rw, i + 1, '('))
            continue;
        close = sql_match(rw, i + 1);
        if (extract) {
            for (size_t j = i + 2; j < close; j++)
                if (sql_tk_kw(rw, j, KW_FROM)) {
                    from = j;
                    break;
                }
            if (from != i + 3 || from + 1 >= close || !sql_date_unit_name(rw, i + 2, unit, sizeof(unit)))
                return sql_rw_fail(rw, "42601", "EXTRACT(field FROM expression) expected");
            first[1] = from + 1, last[1] = close - 1;
        } else {
            n = sql_args(rw, i + 1, first, last, 3);
            if (n != 2 || first[0] != last[0] || rw->t[first[0]].type != SQL_TOK_STRING ||
                !sql_date_unit_name(rw, first[0], unit, sizeof(unit)))
                return sql_rw_fail(rw, "0A000", "%s needs a literal unit and one expression on %s",
                                   trunc ? "date_trunc" : "date_part", backend);
        }
        for (size_t u = 0; u < nunits; u++)
            if (strcmp(unit, units[u].unit) == 0)
                tmpl = trunc ? units[u].trunc : units[u].part;
        if (!tmpl)
            return sql_rw_fail(rw, "0A000", "%s('%s', ...) is not supported by %s",
                               trunc ? "date_trunc" : extract ? "extract" : "date_part", unit, backend);
        a = sql_rw_range(rw, first[1], last[1]);
        if (!sql_rw_template(rw, i, close, &a, 1, "%s", tmpl))
            return -1;
    }
    return 0;
}

/* ---- session information, system catalogs -------------------------------- */

static const char *sql_backend_name(const struct sql_rw *rw)
{
    return rw->dialect == CFG_DIALECT_IRIS ? "IRIS" : "SQLite";
}

/*
 * PostgreSQL's session information functions (functions-info.html), which
 * SQLite does not have and IRIS would answer about its own login: answered
 * with what the client knows of its session.  current_user and its kin are
 * the user the client logged in as, current_database() its database (the
 * statement is then translated for each session: SQL_FLAG_SESSION, and left
 * as written while rw->user is unknown), current_schema "public", which
 * unqualified names mean, and version() the server_version pgiris reports.
 * (sql_rule_column_names, which runs first, keeps their column names.)
 */
int sql_rule_session_info(struct sql_rw *rw)
{
    size_t first = sql_next(rw, SIZE_MAX);
    char lit[512];

    if (!(sql_tk_kw(rw, first, KW_SELECT) || sql_tk_kw(rw, first, KW_WITH) || sql_tk_kw(rw, first, KW_VALUES) ||
          sql_tk_kw(rw, first, KW_INSERT) || sql_tk_kw(rw, first, KW_UPDATE) || sql_tk_kw(rw, first, KW_DELETE) ||
          sql_tk_punct(rw, first, '(')))
        return 0;
    for (size_t i = 0; i < rw->n; i++) {
        const struct sql_tk *t = &rw->t[i];
        bool call = sql_tk_punct(rw, i + 1, '(') && sql_tk_punct(rw, i + 2, ')');
        bool qualified = i >= 2 && sql_tk_punct(rw, i - 1, '.') && sql_tk_kw(rw, i - 2, KW_PG_CATALOG);
        const char *value = NULL;
        size_t start = qualified ? i - 2 : i, end = call ? i + 2 : i;

        /* t.user is a column, AS user a column label */
        if (t->type != SQL_TOK_IDENT || (i >= 1 && sql_tk_punct(rw, i - 1, '.') && !qualified) ||
            (i >= 1 && sql_tk_kw(rw, i - 1, KW_AS)))
            continue;
        switch (t->kw) {
        case KW_CURRENT_USER: case KW_SESSION_USER: case KW_USER: case KW_CURRENT_ROLE:
            if (sql_tk_punct(rw, i + 1, '(') || qualified)
                continue;
            value = rw->user;
            break;
        case KW_CURRENT_CATALOG:
            if (sql_tk_punct(rw, i + 1, '(') || qualified)
                continue;
            value = rw->database;
            break;
        case KW_CURRENT_DATABASE:
            if (!call)
                continue;
            value = rw->database;
            break;
        case KW_CURRENT_SCHEMA:
            if (sql_tk_punct(rw, i + 1, '(') && !call)
                continue;
            value = "public";
            break;
        case KW_VERSION:
            if (!call)
                continue;
            value = rw->dialect == CFG_DIALECT_IRIS ? "PostgreSQL " PGIRIS_SERVER_VERSION " on InterSystems IRIS"
                                                    : "PostgreSQL " PGIRIS_SERVER_VERSION " on SQLite";
            break;
        default:
            continue;
        }
        if (t->kw != KW_CURRENT_SCHEMA && t->kw != KW_VERSION) {
            rw->flags |= SQL_FLAG_SESSION;
            if (value == NULL)
                continue;
        }
        size_t n = 0;
        lit[n++] = '\'';
        for (const char *s = value; *s && n < sizeof(lit) - 64; s++) {
            if (*s == '\'')
                lit[n++] = '\'';
            lit[n++] = *s;
        }
        if (n >= sizeof(lit) - 64)
            return sql_rw_fail(rw, "54000", "%s is too long to answer on %s", sql_kw_name(t->kw),
                               sql_backend_name(rw));
        lit[n++] = '\'';
        lit[n] = '\0';
        if (!sql_rw_template(rw, start, end, NULL, 0, "%s", lit))
            return -1;
        i = start;
    }
    return 0;
}
const struct sql_trigger sql_rule_session_info_when =
    SQL_TRIGGER(KW_CURRENT_USER, KW_SESSION_USER, KW_USER, KW_CURRENT_ROLE, KW_CURRENT_CATALOG,
                KW_CURRENT_DATABASE, KW_CURRENT_SCHEMA, KW_VERSION);

/*
 * PostgreSQL's system catalogs (pg_catalog.pg_class and the rest), which
 * psql's \d commands and many tools read: neither backend has them, and
 * SQLite has no information_schema either.  Refused by name, before the
 * backend answers with a syntax error about something else.
 */
int sql_rule_catalogs(struct sql_rw *rw)
{
    for (size_t i = 0; i + 2 < rw->n; i++) {
        bool pg = sql_tk_kw(rw, i, KW_PG_CATALOG);
        if ((!pg && !sql_tk_kw(rw, i, KW_INFORMATION_SCHEMA)) || !sql_tk_punct(rw, i + 1, '.') ||
            rw->t[i + 2].type != SQL_TOK_IDENT || (i >= 1 && sql_tk_punct(rw, i - 1, '.')))
            continue;
        /*
         * Its relations are all named pg_*; a function (pg_catalog.version())
         * or a type (x::pg_catalog.int4) is another matter.
         */
        if (pg && (sql_tk_punct(rw, i + 3, '(') || rw->t[i + 2].len < 3 || strncasecmp(rw->t[i + 2].s, "pg_", 3) != 0 ||
                   (i >= 1 && (sql_tk_op(rw, i - 1, "::") || sql_tk_kw(rw, i - 1, KW_AS)))))
            continue;
        if (!pg && rw->dialect == CFG_DIALECT_IRIS)
            continue;           /* IRIS has its INFORMATION_SCHEMA */
        return sql_rw_fail(rw, "0A000", "%s (%s.%.*s) %s not available on %s",
                           pg ? "PostgreSQL's system catalogs" : "information_schema",
                           pg ? "pg_catalog" : "information_schema", (int)rw->t[i + 2].len, rw->t[i + 2].s,
                           pg ? "are" : "is", sql_backend_name(rw));
    }
    return 0;
}
const struct sql_trigger sql_rule_catalogs_when = SQL_TRIGGER(KW_PG_CATALOG, KW_INFORMATION_SCHEMA);

/* ---- result column names ------------------------------------------------- */

/* A result column's name as PostgreSQL figures it; strength as in parse_target.c (0: "?column?"). */
struct sql_colname {
    const char *s;
    size_t len;
    int strength;               /* 2: a column, function or the like; 1: a type's or "case" */
    bool fold;                  /* an unquoted name: lower case */
    bool column;                /* the name of a column the expression reads */
};

static struct sql_colname sql_colname_of(const char *s, size_t len, int strength, bool fold)
{
    struct sql_colname c = { s, len, strength, fold, false };
    return c;
}

/* The name a cast to ty gives a constant: the type's internal name. */
static struct sql_colname sql_colname_type(const struct sql_pgtype *ty)
{
    static const struct { const char *canon, *name; } internal[] = {
        { "integer", "int4" }, { "bigint", "int8" }, { "smallint", "int2" }, { "double", "float8" },
        { "real", "float4" },  { "boolean", "bool" }, { "char", "bpchar" },
        { "timestamp without time zone", "timestamp" }, { "timestamp with time zone", "timestamptz" },
        { "time without time zone", "time" }, { "time with time zone", "timetz" },
    };
    for (size_t i = 0; i < SQL_NELEM(internal); i++)
        if (strcmp(ty->name, internal[i].canon) == 0)
            return sql_colname_of(internal[i].name, strlen(internal[i].name), 1, false);
    return sql_colname_of(ty->name, strlen(ty->name), 1, false);
}

/* The last top-level token of t[a..b] that is op (SIZE_MAX: none). */
static size_t sql_last_top(const struct sql_rw *rw, size_t a, size_t b, const char *op, int kw)
{
    size_t found = SIZE_MAX;
    for (size_t i = a; i <= b && i < rw->n; i++) {
        if (sql_tk_punct(rw, i, '(') || sql_tk_punct(rw, i, '[')) {
            i = sql_match(rw, i);
        } else if (sql_tk_kw(rw, i, KW_CASE)) {
            i = sql_case_end(rw, i);
        } else if (op ? sql_tk_op(rw, i, op) : sql_tk_kw(rw, i, kw)) {
            found = i;
        }
    }
    return found;
}

/* Keywords that are a value without parentheses, and name their column after themselves. */
static bool sql_value_keyword(int kw)
{
    switch (kw) {
    case KW_CURRENT_DATE: case KW_CURRENT_TIME: case KW_CURRENT_TIMESTAMP: case KW_LOCALTIME:
    case KW_LOCALTIMESTAMP: case KW_CURRENT_USER: case KW_SESSION_USER: case KW_USER:
    case KW_CURRENT_ROLE: case KW_CURRENT_CATALOG: case KW_CURRENT_SCHEMA:
        return true;
    default:
        return false;
    }
}

/* Whether t[a..b] is a column reference: a name, maybe qualified. */
static bool sql_column_ref(const struct sql_rw *rw, size_t a, size_t b)
{
    for (size_t i = a; i <= b; i += 2) {
        int kw = rw->t[i].kw;
        bool name = rw->t[i].type == SQL_TOK_QIDENT;
        /* a name the rules know as a keyword (key, date, version) is still a column */
        if (rw->t[i].type == SQL_TOK_IDENT)
            name = sql_level_of(rw, i) == LV_OPERAND && !sql_value_keyword(kw) && kw != KW_NULL &&
                   kw != KW_TRUE && kw != KW_FALSE && kw != KW_DEFAULT;
        if (!name || (i < b && !sql_tk_punct(rw, i + 1, '.')))
            return false;
    }
    return true;
}

static bool sql_item_aliased(const struct sql_rw *rw, size_t a, size_t b);
static size_t sql_item_end(const struct sql_rw *rw, size_t i);

static struct sql_colname sql_colname_expr(const struct sql_rw *rw, size_t a, size_t b);

/* Whether t[a..b] holds no operator looser than :: at its top level: a cast after it casts all of it. */
static bool sql_binds_tight(const struct sql_rw *rw, size_t a, size_t b)
{
    for (size_t i = a; i <= b && i < rw->n; i++) {
        if (sql_tk_punct(rw, i, '(') || sql_tk_punct(rw, i, '['))
            i = sql_match(rw, i);
        else if (sql_tk_kw(rw, i, KW_CASE))
            i = sql_case_end(rw, i);
        else if (sql_level_of(rw, i) < LV_EXP)
            return false;
    }
    return true;
}

/*
 * The name of the single item of the subquery that opens at t[sel]
 * (SELECT), as PostgreSQL names a scalar subquery: the item's name, or
 * none, at full strength either way ((SELECT 1)::int is "?column?").
 */
static struct sql_colname sql_colname_subquery(const struct sql_rw *rw, size_t sel, size_t close)
{
    struct sql_colname c = { 0 };
    size_t a = sql_next(rw, sel), b;

    if (sql_tk_kw(rw, a, KW_DISTINCT) || sql_tk_kw(rw, a, KW_ALL))
        a = sql_next(rw, a);
    b = sql_item_end(rw, a);
    if (b > a && b <= close) {
        b = sql_prev(rw, b);
        if (sql_item_aliased(rw, a, b))
            c = sql_colname_of(rw->t[b].s, rw->t[b].len, 2, rw->t[b].type == SQL_TOK_IDENT);
        else
            c = sql_colname_expr(rw, a, b);
    }
    c.strength = 2;
    return c;
}

/*
 * What PostgreSQL names the result column of the expression t[a..b]
 * (FigureColname): a column reference its column, a function call its
 * function, a cast what it casts (a constant the type), CASE its ELSE or
 * "case", a scalar subquery its column, keywords such as current_date
 * themselves.  Strength 0 for anything else ("?column?").
 */
static struct sql_colname sql_colname_expr(const struct sql_rw *rw, size_t a, size_t b)
{
    struct sql_colname none = { 0 }, inner;
    struct sql_pgtype ty;
    size_t i;

    if (a > b || b >= rw->n)
        return none;
    while (sql_tk_punct(rw, a, '(') && sql_match(rw, a) == b) {
        if (sql_tk_kw(rw, sql_next(rw, a), KW_SELECT))
            return sql_colname_subquery(rw, sql_next(rw, a), b);
        a = sql_next(rw, a);
        b = sql_prev(rw, b);
        if (a > b)
            return none;
    }
    if (sql_column_ref(rw, a, b)) {
        inner = sql_colname_of(rw->t[b].s, rw->t[b].len, 2, rw->t[b].type == SQL_TOK_IDENT);
        inner.column = true;
        return inner;
    }
    /* a[1]: what is subscripted */
    if (sql_tk_punct(rw, b, ']')) {
        i = sql_match_back(rw, b);
        if (i != SIZE_MAX && i > a)
            return sql_colname_expr(rw, a, sql_prev(rw, i));
    }
    if (a == b)
        return rw->t[a].type == SQL_TOK_IDENT && sql_value_keyword(rw->t[a].kw)
                   ? sql_colname_of(rw->t[a].s, rw->t[a].len, 2, true)
                   : none;
    /* x::type: what x is called, or the type's name */
    i = sql_last_top(rw, a, b, "::", KW_NONE);
    if (i != SIZE_MAX && i > a && sql_parse_type(rw, i + 1, &ty) && ty.last == b && sql_binds_tight(rw, a, i - 1)) {
        inner = sql_colname_expr(rw, a, sql_prev(rw, i));
        return inner.strength >= 2 ? inner : sql_colname_type(&ty);
    }
    /* CAST(x AS type) */
    if (sql_tk_kw(rw, a, KW_CAST) && sql_tk_punct(rw, a + 1, '(') && sql_match(rw, a + 1) == b) {
        i = sql_last_top(rw, a + 2, b - 1, NULL, KW_AS);
        if (i == SIZE_MAX || !sql_parse_type(rw, i + 1, &ty) || ty.last != b - 1)
            return none;
        inner = sql_colname_expr(rw, a + 2, sql_prev(rw, i));
        return inner.strength >= 2 ? inner : sql_colname_type(&ty);
    }
    /* date '2024-01-01', interval '1 day' */
    if (rw->t[b].type == SQL_TOK_STRING && sql_level_of(rw, a) == LV_OPERAND && sql_parse_type(rw, a, &ty) &&
        sql_next(rw, ty.last) == b && !sql_tk_punct(rw, a + 1, '.'))
        return sql_colname_type(&ty);
    if (sql_tk_kw(rw, a, KW_CASE) && sql_case_end(rw, a) == b) {
        i = sql_last_top(rw, a + 1, b - 1, NULL, KW_ELSE);
        inner = i == SIZE_MAX ? none : sql_colname_expr(rw, sql_next(rw, i), sql_prev(rw, b));
        return inner.strength >= 2 ? inner : sql_colname_of("case", 4, 1, false);
    }
    if (sql_tk_kw(rw, a, KW_ARRAY) && (sql_tk_punct(rw, a + 1, '[') || sql_tk_punct(rw, a + 1, '(')) &&
        sql_match(rw, a + 1) == b)
        return sql_colname_of("array", 5, 2, false);
    /* f(...) [FILTER (...)] [WITHIN GROUP (...)] [OVER (...) | OVER w], f maybe qualified */
    for (i = a; i + 1 <= b && sql_tk_punct(rw, i + 1, '.'); i += 2)
        if (rw->t[i].type != SQL_TOK_IDENT && rw->t[i].type != SQL_TOK_QIDENT)
            return none;
    if (i + 1 > b || !sql_tk_punct(rw, i + 1, '(') ||
        (rw->t[i].type != SQL_TOK_IDENT && rw->t[i].type != SQL_TOK_QIDENT) ||
        (rw->t[i].type == SQL_TOK_IDENT && sql_level_of(rw, i) != LV_OPERAND))
        return none;            /* NOT (x), (SELECT ...) */
    size_t fn = i, end = sql_match(rw, i + 1);
    for (;;) {
        size_t n = sql_next(rw, end);
        if (n > b || end >= rw->n)
            break;
        if (sql_tk_kw(rw, n, KW_FILTER) && sql_tk_punct(rw, n + 1, '('))
            end = sql_match(rw, n + 1);
        else if (sql_tk_word(rw, n, "within") && sql_tk_kw(rw, n + 1, KW_GROUP) && sql_tk_punct(rw, n + 2, '('))
            end = sql_match(rw, n + 2);
        else if (sql_tk_kw(rw, n, KW_OVER) && sql_tk_punct(rw, n + 1, '('))
            end = sql_match(rw, n + 1);
        else if (sql_tk_kw(rw, n, KW_OVER) && n + 1 <= b)
            end = n + 1;
        else
            break;
    }
    if (end != b)
        return none;
    if (sql_tk_word(rw, fn, "trim")) {
        /* trim() is btrim(), ltrim() or rtrim() to PostgreSQL */
        if (sql_tk_word(rw, fn + 2, "leading"))
            return sql_colname_of("ltrim", 5, 2, false);
        if (sql_tk_word(rw, fn + 2, "trailing"))
            return sql_colname_of("rtrim", 5, 2, false);
        return sql_colname_of("btrim", 5, 2, false);
    }
    return sql_colname_of(rw->t[fn].s, rw->t[fn].len, 2, rw->t[fn].type == SQL_TOK_IDENT);
}

/* Whether the item t[a..b] of a SELECT list ends in an alias, with AS or without. */
static bool sql_item_aliased(const struct sql_rw *rw, size_t a, size_t b)
{
    struct sql_pgtype ty;
    size_t p = sql_prev(rw, b), cast = sql_last_top(rw, a, b, "::", KW_NONE);

    if (sql_last_top(rw, a, b, NULL, KW_AS) != SIZE_MAX)
        return true;
    if (a == b || p == SIZE_MAX || p < a)
        return false;
    if (cast != SIZE_MAX && sql_parse_type(rw, cast + 1, &ty) && ty.last == b)
        return false;           /* x::double precision: no alias "precision" */
    if (rw->t[b].type != SQL_TOK_QIDENT &&
        !(rw->t[b].type == SQL_TOK_IDENT && sql_level_of(rw, b) == LV_OPERAND && rw->t[b].kw != KW_NULL &&
          rw->t[b].kw != KW_TRUE && rw->t[b].kw != KW_FALSE))
        return false;
    /* what comes before the alias ends an expression */
    switch (rw->t[p].type) {
    case SQL_TOK_IDENT:
        return sql_level_of(rw, p) == LV_OPERAND || sql_tk_kw(rw, p, KW_END);
    case SQL_TOK_PUNCT:
        return sql_tk_punct(rw, p, ')') || sql_tk_punct(rw, p, ']');
    case SQL_TOK_OP:
        return false;
    default:
        return true;            /* a literal, a quoted name, a parameter */
    }
}

/* The first item of the list after SELECT (or RETURNING) at t[s]: past ALL, DISTINCT [ON (...)]. */
static size_t sql_list_first(const struct sql_rw *rw, size_t s)
{
    size_t i = sql_next(rw, s);

    if (sql_tk_kw(rw, i, KW_ALL)) {
        i = sql_next(rw, i);
    } else if (sql_tk_kw(rw, i, KW_DISTINCT)) {
        i = sql_next(rw, i);
        if (sql_tk_kw(rw, i, KW_ON) && sql_tk_punct(rw, sql_next(rw, i), '('))
            i = sql_next(rw, sql_match(rw, sql_next(rw, i)));
    }
    return i;
}

/* Where the SELECT list item starting at t[i] ends: the token after it. */
static size_t sql_item_end(const struct sql_rw *rw, size_t i)
{
    for (; i < rw->n; i++) {
        const struct sql_tk *t = &rw->t[i];
        if (sql_tk_punct(rw, i, '(') || sql_tk_punct(rw, i, '[')) {
            i = sql_match(rw, i);
            if (i >= rw->n)
                return rw->n;
            continue;
        }
        if (sql_tk_kw(rw, i, KW_CASE)) {
            i = sql_case_end(rw, i);
            if (i >= rw->n)
                return rw->n;
            continue;
        }
        if (t->type == SQL_TOK_PUNCT && t->s[0] != '.')
            return i;           /* , ) ; */
        switch (t->kw) {
        case KW_FROM:
            /* a IS [NOT] DISTINCT FROM b */
            if (i > 0 && sql_tk_kw(rw, sql_prev(rw, i), KW_DISTINCT))
                continue;
            return i;
        case KW_GROUP:
            /* agg(x) WITHIN GROUP (ORDER BY y) */
            if (!sql_tk_kw(rw, sql_next(rw, i), KW_BY))
                continue;
            return i;
        case KW_INTO: case KW_WHERE: case KW_HAVING: case KW_WINDOW: case KW_ORDER:
        case KW_LIMIT: case KW_OFFSET: case KW_FETCH: case KW_UNION: case KW_INTERSECT: case KW_EXCEPT:
        case KW_FOR:
            if (t->type == SQL_TOK_IDENT)
                return i;
            break;
        default:
            break;
        }
    }
    return i;
}

/*
 * "NULL AS name, ..." for each item of the SELECT list of the SELECT at
 * t[sel], named by its alias or column (after sql_rule_column_names, an
 * expression's name is its alias), "?column?" otherwise, into out.  The
 * count of items, or 0 if one is a * or out is too small.
 */
size_t sql_select_nulls(const struct sql_rw *rw, size_t sel, char *out, size_t size)
{
    size_t n = 0, len = 0;

    if (!sql_tk_kw(rw, sel, KW_SELECT) || size == 0)
        return 0;
    out[0] = '\0';
    for (size_t i = sql_list_first(rw, sel); i < rw->n;) {
        size_t end = sql_item_end(rw, i), last = sql_prev(rw, end);
        if (end == i || last == SIZE_MAX || last < i || sql_tk_op(rw, last, "*"))
            return 0;
        const struct sql_tk *t = &rw->t[last];
        int w;
        if (t->type == SQL_TOK_QIDENT)
            w = snprintf(out + len, size - len, "%sNULL AS %.*s", n ? ", " : "", (int)t->len, t->s);
        else if (t->type == SQL_TOK_IDENT && sql_level_of(rw, last) == LV_OPERAND && t->len < 64 &&
                 t->kw != KW_NULL && t->kw != KW_TRUE && t->kw != KW_FALSE)
            w = snprintf(out + len, size - len, "%sNULL AS \"%.*s\"", n ? ", " : "", (int)t->len, t->s);
        else
            w = snprintf(out + len, size - len, "%sNULL AS \"?column?\"", n ? ", " : "");
        if (w < 0 || (size_t)w >= size - len)
            return 0;
        len += (size_t)w;
        n++;
        if (end >= rw->n || !sql_tk_punct(rw, end, ','))
            break;
        i = end + 1;
    }
    return n;
}

/*
 * Result column names as PostgreSQL gives them.  SQLite names an
 * expression's column by its text ("count(*)", "CAST(x AS TEXT)") and IRIS
 * by its kind ("Aggregate_1"), where PostgreSQL says "count" and "x", and
 * clients read columns by name.  A SELECT item that is not a column and has
 * no alias gets PostgreSQL's name as one, before the other rules rewrite the
 * expression; items PostgreSQL calls "?column?" keep the backend's name.
 */
int sql_rule_column_names(struct sql_rw *rw)
{
    char name[160];
    bool grouping = false;

    for (size_t i = 0; i < rw->n && !grouping; i++)
        grouping = (sql_tk_kw(rw, i, KW_GROUP) && sql_tk_kw(rw, sql_next(rw, i), KW_BY)) ||
                   sql_tk_kw(rw, i, KW_HAVING);

    /* SELECT lists, and RETURNING lists, which PostgreSQL names alike */
    for (size_t s = 0; s < rw->n; s++) {
        if (!sql_tk_kw(rw, s, KW_SELECT) && !sql_tk_kw(rw, s, KW_RETURNING))
            continue;
        size_t i = sql_list_first(rw, s);
        while (i < rw->n) {
            size_t end = sql_item_end(rw, i), last = sql_prev(rw, end);
            if (end > i && last != SIZE_MAX && last >= i && !sql_item_aliased(rw, i, last) &&
                !sql_column_ref(rw, i, last) && !sql_tk_op(rw, last, "*")) {
                struct sql_colname c = sql_colname_expr(rw, i, last);
                /*
                 * x::int named x: where GROUP BY or HAVING may name x, a
                 * backend could take the alias for the column (PostgreSQL
                 * takes the column), so the backend's name stays there.
                 */
                bool grouped = c.column && grouping;
                bool unicode = c.len > 0 && c.s[0] != '"' && !c.fold && c.s[c.len - 1] == '"';  /* U&"d\0061" */
                if (c.strength > 0 && c.len > 0 && c.len < sizeof(name) - 3 && !grouped && !unicode) {
                    size_t n = 0;
                    /* a quoted name (its token, quotes and all) as written, another in lower case */
                    if (c.s[0] != '"')
                        name[n++] = '"';
                    for (size_t k = 0; k < c.len; k++)
                        name[n++] = c.fold ? (char)tolower((unsigned char)c.s[k]) : c.s[k];
                    if (c.s[0] != '"')
                        name[n++] = '"';
                    /* AS "name", spliced in as tokens: no template to lex */
                    struct sql_tk alias[2] = {
                        { "AS", 2, SQL_TOK_IDENT, SQL_SPACE_BLANK, KW_AS },
                        { sql_rw_strdup(rw, name, n), (uint32_t)n, SQL_TOK_QIDENT, SQL_SPACE_BLANK, KW_NONE },
                    };
                    if (alias[1].s == NULL || sql_rw_splice(rw, last + 1, 0, alias, 2) != 0)
                        return -1;
                    end += 2;
                }
            }
            if (end >= rw->n || !sql_tk_punct(rw, end, ','))
                break;
            i = end + 1;
        }
    }
    return 0;
}
const struct sql_trigger sql_rule_column_names_when = SQL_TRIGGER(KW_SELECT, KW_RETURNING);

/* ---- boolean result columns ---------------------------------------------- */

/* Whether the type name at t[i] (pg_catalog. allowed before it) is boolean. */
static bool sql_bool_type_at(const struct sql_rw *rw, size_t i)
{
    struct sql_pgtype ty;
    return sql_parse_type(rw, i, &ty) && (strcmp(ty.name, "bool") == 0 || strcmp(ty.name, "boolean") == 0) && !ty.array;
}

/*
 * Whether the SELECT item t[a..b] has a PostgreSQL boolean value: a
 * comparison, AND, OR, NOT, IS, LIKE, IN, BETWEEN or EXISTS at its top
 * level (every operator looser than a comparison gives a boolean, and ::
 * binds tighter than all of them), TRUE or FALSE, a cast to boolean, or
 * one of these in parentheses.
 */
/* a ... b without a trailing alias (AS name, or a bare name); b < a when nothing is left. */
static size_t sql_item_unaliased_end(const struct sql_rw *rw, size_t a, size_t b)
{
    size_t as = sql_last_top(rw, a, b, NULL, KW_AS);

    if (as != SIZE_MAX)
        return as == a ? SIZE_MAX : sql_prev(rw, as);
    return sql_item_aliased(rw, a, b) ? sql_prev(rw, b) : b;
}

static bool sql_item_boolean(const struct sql_rw *rw, size_t a, size_t b);

/*
 * A CASE ... END from a to end one of whose results (THEN, ELSE) is a
 * boolean: PostgreSQL gives all of them one type, so the others are
 * booleans too (or NULLs, or literals read as booleans).
 */
static bool sql_case_boolean(const struct sql_rw *rw, size_t a, size_t end)
{
    size_t from = SIZE_MAX;     /* the result being read */

    for (size_t i = sql_next(rw, a); i <= end && i < rw->n; i = sql_next(rw, i)) {
        size_t skip = sql_skip_nested(rw, i);
        if (skip != i && i != end) {
            i = skip;
            continue;
        }
        bool stop = i == end || sql_tk_kw(rw, i, KW_WHEN) || sql_tk_kw(rw, i, KW_ELSE);
        if (stop && from != SIZE_MAX) {
            size_t last = sql_prev(rw, i);
            if (last != SIZE_MAX && last >= from && sql_item_boolean(rw, from, last))
                return true;
            from = SIZE_MAX;
        }
        if (sql_tk_kw(rw, i, KW_ELSE) || sql_tk_kw(rw, i, KW_THEN))
            from = sql_next(rw, i);
    }
    return false;
}

/* coalesce, greatest or least (a ... b) of which one argument is a boolean (so all are); nullif of one. */
static bool sql_call_boolean(const struct sql_rw *rw, size_t a, size_t b)
{
    size_t open = sql_next(rw, a), first[16], last[16], n;
    bool nullif = sql_tk_word(rw, a, "nullif");

    if (!(nullif || sql_tk_word(rw, a, "coalesce") || sql_tk_kw(rw, a, KW_GREATEST) ||
          sql_tk_kw(rw, a, KW_LEAST)) || (a > 0 && sql_tk_punct(rw, a - 1, '.')) ||
        !sql_tk_punct(rw, open, '(') || sql_match(rw, open) != b)
        return false;
    n = sql_args(rw, open, first, last, SQL_NELEM(first));
    if (n > SQL_NELEM(first))
        n = SQL_NELEM(first);
    for (size_t k = 0; k < (nullif ? 1 : n); k++)
        if (sql_item_boolean(rw, first[k], last[k]))
            return true;
    return false;
}

static bool sql_item_boolean(const struct sql_rw *rw, size_t a, size_t b)
{
    size_t cast = SIZE_MAX;

    b = sql_item_unaliased_end(rw, a, b);
    if (b == SIZE_MAX || b < a)
        return false;
    if (sql_tk_punct(rw, a, '(') && sql_match(rw, a) == b) {
        size_t in = sql_next(rw, a);
        if (sql_tk_kw(rw, in, KW_SELECT) || sql_tk_kw(rw, in, KW_WITH) || sql_tk_kw(rw, in, KW_VALUES))
            return false;       /* a scalar subquery: its own item decides, not seen from here */
        return in < b && sql_item_boolean(rw, in, sql_prev(rw, b));
    }
    if (a == b && (sql_tk_kw(rw, a, KW_TRUE) || sql_tk_kw(rw, a, KW_FALSE)))
        return true;
    /* boolean 'yes' */
    if (sql_next(rw, a) == b && rw->t[b].type == SQL_TOK_STRING && sql_bool_type_at(rw, a))
        return true;
    if (sql_tk_kw(rw, a, KW_CASE) && sql_case_end(rw, a) == b)
        return sql_case_boolean(rw, a, b);
    if (sql_call_boolean(rw, a, b))
        return true;
    /* a boolean column of PostgreSQL's catalogs, which SQLite's emulation of them keeps as 0 and 1 */
    if (sql_seen(rw, KW_PG_CATALOG) && rw->t[b].type == SQL_TOK_IDENT &&
        (a == b || (b == a + 2 && sql_tk_punct(rw, a + 1, '.')))) {
        static const char *const flags[] = {
            "relhasindex", "relhasrules", "relhastriggers", "relrowsecurity", "relforcerowsecurity",
            "relispartition", "relisshared", "attnotnull", "atthasdef", "attisdropped", "attislocal",
            "indisprimary", "indisunique", "indisclustered", "indisvalid", "indisreplident", "indimmediate",
            "indnullsnotdistinct", "condeferrable", "condeferred", "convalidated", "datistemplate",
            "datallowconn",
        };
        for (size_t k = 0; k < SQL_NELEM(flags); k++)
            if (sql_tk_word(rw, b, flags[k]))
                return true;
    }
    if (sql_tk_kw(rw, a, KW_CAST) && sql_tk_punct(rw, sql_next(rw, a), '(') &&
        sql_match(rw, sql_next(rw, a)) == b) {
        size_t in = sql_last_top(rw, sql_next(rw, a) + 1, sql_prev(rw, b), NULL, KW_AS);
        return in != SIZE_MAX && sql_bool_type_at(rw, sql_next(rw, in));
    }
    for (size_t i = a; i <= b && i < rw->n; i++) {
        size_t skip = sql_skip_nested(rw, i);
        if (skip != i) {
            i = skip;
            continue;
        }
        if (sql_tk_kw(rw, i, KW_EXISTS))
            return true;
        if (sql_tk_op(rw, i, "::")) {
            cast = i;
            continue;
        }
        /* regular expression matches; ~ with no operand before it is bitwise NOT */
        if (sql_tk_op(rw, i, "!~") || sql_tk_op(rw, i, "~*") || sql_tk_op(rw, i, "!~*"))
            return true;
        if (sql_tk_op(rw, i, "~") && i > a) {
            size_t p = sql_prev(rw, i);
            const struct sql_tk *pt = &rw->t[p];
            if (p != SIZE_MAX && p >= a &&
                (sql_tk_punct(rw, p, ')') || sql_tk_punct(rw, p, ']') || pt->type == SQL_TOK_NUMBER ||
                 pt->type == SQL_TOK_STRING || pt->type == SQL_TOK_QIDENT || pt->type == SQL_TOK_PARAM ||
                 (pt->type == SQL_TOK_IDENT && sql_level_of(rw, p) == LV_OPERAND)))
                return true;
        }
        switch (sql_level_of(rw, i)) {
        case LV_OR: case LV_AND: case LV_NOT: case LV_IS: case LV_CMP:
            return true;
        case LV_LIKE:
            if (!sql_tk_kw(rw, i, KW_ESCAPE))
                return true;
            break;
        default:
            break;
        }
    }
    /* x::boolean, the whole item one operand cast last ('a' || x::boolean is text) */
    struct sql_pgtype ty;
    return cast != SIZE_MAX && cast > a && sql_bool_type_at(rw, sql_next(rw, cast)) &&
           sql_parse_type(rw, sql_next(rw, cast), &ty) && ty.last == b && sql_binds_tight(rw, a, cast - 1);
}

/*
 * Result columns that are PostgreSQL booleans or integers, for a backend
 * whose expressions have no boolean type and whose integers may share a
 * column with reals: SQLite's comparisons give the integers 0 and 1, which
 * reached clients as numbers ("SELECT EXISTS (...)" as Decimal('1') in
 * Python), and count(*) came as a numeric.  The items of the statement's
 * own SELECT list (after any WITH; the first of a UNION's, which names the
 * result) that sql_item_boolean or sql_item_int finds are noted in a
 * comment at the end of the statement, by type, their positions counted
 * from 1: "SELECT a, b > 2 AS big, count(*), EXISTS (SELECT 1) FROM t"
 * gets a block comment holding "pgiris:bool 2,4 int8 3", which the
 * executor reads when it types the result (odbc_type_hint) and the backend
 * ignores.  Integers are not noted for a UNION, INTERSECT or EXCEPT, whose
 * other queries may give reals in the same column.  Items after a * are
 * left out: their positions are not known here.
 */
size_t sql_main_select(const struct sql_rw *rw)
{
    size_t s = sql_next(rw, SIZE_MAX);

    if (sql_tk_kw(rw, s, KW_WITH)) {
        /* the CTEs' own statements are in parentheses; what follows them is the statement */
        for (s = sql_next(rw, s); s < rw->n && !sql_tk_kw(rw, s, KW_SELECT); s = sql_next(rw, s)) {
            if (sql_tk_punct(rw, s, '(') || sql_tk_punct(rw, s, '['))
                s = sql_match(rw, s);
            else if (sql_tk_kw(rw, s, KW_INSERT) || sql_tk_kw(rw, s, KW_UPDATE) || sql_tk_kw(rw, s, KW_DELETE) ||
                     sql_tk_kw(rw, s, KW_MERGE) || sql_tk_kw(rw, s, KW_VALUES))
                return SIZE_MAX;
        }
    }
    return sql_tk_kw(rw, s, KW_SELECT) ? s : SIZE_MAX;
}

/* 2, 4 or 8 for smallint, integer or bigint (by any of their names), else 0. */
static int sql_int_type_size(const struct sql_pgtype *ty)
{
    static const struct { const char *name; int size; } ints[] = {
        { "smallint", 2 }, { "int2", 2 }, { "integer", 4 }, { "int", 4 }, { "int4", 4 },
        { "bigint", 8 }, { "int8", 8 },
    };
    for (size_t k = 0; k < SQL_NELEM(ints) && !ty->array; k++)
        if (strcmp(ty->name, ints[k].name) == 0)
            return ints[k].size;
    return 0;
}

/*
 * The integer type PostgreSQL gives select item a ... b whose SQLite value
 * is an integer too (or NULL): 8 for count(), row_number(), rank() and
 * dense_rank() (bigint), 4 for ntile(), an integer literal of int4's range, length(),
 * char_length(), position() and strpos(), 8 for a longer integer literal,
 * and the size of the integer type the whole item is cast to (SQLite's
 * CAST AS INTEGER); 0 for anything else, left to the backend's description.
 */
static int sql_item_int(const struct sql_rw *rw, size_t a, size_t b)
{
    b = sql_item_unaliased_end(rw, a, b);
    if (b == SIZE_MAX || b < a)
        return 0;
    if (sql_tk_punct(rw, a, '(') && sql_match(rw, a) == b) {
        size_t in = sql_next(rw, a);
        if (sql_tk_kw(rw, in, KW_SELECT) || sql_tk_kw(rw, in, KW_WITH) || sql_tk_kw(rw, in, KW_VALUES))
            return 0;
        return in < b ? sql_item_int(rw, in, sql_prev(rw, b)) : 0;
    }
    /* CAST(x AS integer), x::bigint: SQLite's CAST AS INTEGER */
    struct sql_pgtype ty;
    if (sql_tk_kw(rw, a, KW_CAST) && sql_tk_punct(rw, sql_next(rw, a), '(') &&
        sql_match(rw, sql_next(rw, a)) == b) {
        size_t in = sql_last_top(rw, sql_next(rw, a) + 1, sql_prev(rw, b), NULL, KW_AS);
        return in != SIZE_MAX && sql_parse_type(rw, sql_next(rw, in), &ty) ? sql_int_type_size(&ty) : 0;
    }
    size_t cast = sql_last_top(rw, a, b, "::", 0);
    if (cast != SIZE_MAX && cast > a && sql_parse_type(rw, sql_next(rw, cast), &ty) && ty.last == b &&
        sql_binds_tight(rw, a, cast - 1))
        return sql_int_type_size(&ty);
    size_t num = sql_tk_op(rw, a, "-") && sql_next(rw, a) == b ? b : a;
    if (num == b && rw->t[b].type == SQL_TOK_NUMBER) {
        uint64_t v = 0;
        for (size_t k = 0; k < rw->t[b].len; k++) {
            char c = rw->t[b].s[k];
            if (c < '0' || c > '9' || v > (UINT64_MAX - 9) / 10)
                return 0;
            v = v * 10 + (uint64_t)(c - '0');
        }
        uint64_t neg = num != a;
        return v <= INT32_MAX + neg ? 4 : v <= INT64_MAX + neg ? 8 : 0;
    }
    /* name(...) [FILTER (WHERE ...)] [OVER (...) | OVER name] */
    size_t open = sql_next(rw, a), end, n;
    if (rw->t[a].type != SQL_TOK_IDENT || !sql_tk_punct(rw, open, '(') ||
        (a > 0 && sql_tk_punct(rw, a - 1, '.')))
        return 0;
    end = sql_match(rw, open);
    n = sql_next(rw, end);
    if (end < b && sql_tk_kw(rw, n, KW_FILTER) && sql_tk_punct(rw, sql_next(rw, n), '(')) {
        end = sql_match(rw, sql_next(rw, n));
        n = sql_next(rw, end);
    }
    bool over = end < b && sql_tk_kw(rw, n, KW_OVER);
    if (over) {
        size_t w = sql_next(rw, n);
        end = sql_tk_punct(rw, w, '(') ? sql_match(rw, w) : w;
    }
    if (end != b)
        return 0;
    if (sql_tk_word(rw, a, "count") ||
        (over && (sql_tk_word(rw, a, "row_number") || sql_tk_word(rw, a, "rank") ||
                  sql_tk_word(rw, a, "dense_rank"))))
        return 8;
    if (over && sql_tk_word(rw, a, "ntile"))
        return 4;
    if (!over && (sql_tk_word(rw, a, "length") || sql_tk_kw(rw, a, KW_CHAR_LENGTH) ||
                  sql_tk_kw(rw, a, KW_CHARACTER_LENGTH) || sql_tk_kw(rw, a, KW_POSITION) ||
                  sql_tk_word(rw, a, "strpos")))
        return 4;
    return 0;
}

/* Whether the query from select s on joins others (UNION, INTERSECT, EXCEPT), which decide its types too. */
static bool sql_compound(const struct sql_rw *rw, size_t s)
{
    for (size_t i = s; i < rw->n; i = sql_next(rw, i)) {
        size_t skip = sql_skip_nested(rw, i);
        if (skip != i) {
            i = skip;
            continue;
        }
        if (sql_tk_kw(rw, i, KW_UNION) || sql_tk_kw(rw, i, KW_INTERSECT) || sql_tk_kw(rw, i, KW_EXCEPT))
            return true;
    }
    return false;
}

/* Append to note (at *n of size) the columns of one type: "name 2,5", space-separated from a group before. */
static void sql_note_columns(char *note, size_t size, size_t *n, const char *name, const int *cols, int ncols)
{
    bool first = note[*n - 1] == ':';

    for (int k = 0; k < ncols; k++) {
        if (*n + 24 >= size)
            return;         /* past what a note holds: the rest keep the backend's type */
        *n += (size_t)snprintf(note + *n, size - *n, "%s%s%d", k > 0 ? "," : first ? "" : " ",
                               k > 0 ? "" : name, cols[k]);
    }
}

int sql_rule_column_types(struct sql_rw *rw)
{
    char note[256];
    int bools[128], ints[3][64], nints[3] = { 0 }, nb = 0, t;
    static const char *const names[3] = { "int2 ", "int4 ", "int8 " };
    size_t n = 0, s = sql_main_select(rw), i;
    int col = 1;

    if (s == SIZE_MAX)
        return 0;
    bool typed_ints = !sql_compound(rw, s);
    i = sql_list_first(rw, s);
    /* Past what the arrays (and a note of 256 bytes) hold, the rest keep the backend's types. */
    while (i < rw->n) {
        size_t end = sql_item_end(rw, i), last = sql_prev(rw, end);
        if (end == i || last == SIZE_MAX || last < i || sql_tk_op(rw, last, "*"))
            break;
        if (sql_item_boolean(rw, i, last)) {
            if (nb < (int)SQL_NELEM(bools))
                bools[nb++] = col;
        } else if (typed_ints && (t = sql_item_int(rw, i, last)) != 0 && nints[t / 4] < 64) {
            ints[t / 4][nints[t / 4]++] = col;      /* 2, 4, 8: 0, 1, 2 */
        }
        col++;
        if (end >= rw->n || !sql_tk_punct(rw, end, ','))
            break;
        i = end + 1;
    }
    if (nb + nints[0] + nints[1] + nints[2] == 0)
        return 0;
    n = (size_t)snprintf(note, sizeof(note), "/*pgiris:");
    sql_note_columns(note, sizeof(note), &n, "bool ", bools, nb);
    for (int k = 0; k < 3; k++)
        sql_note_columns(note, sizeof(note), &n, names[k], ints[k], nints[k]);
    n += (size_t)snprintf(note + n, sizeof(note) - n, "*/");
    struct sql_tk tk = { sql_rw_strdup(rw, note, n), (uint32_t)n, SQL_TOK_COMMENT, SQL_SPACE_BLANK, KW_NONE };
    if (tk.s == NULL)
        return -1;
    return sql_rw_splice(rw, rw->n, 0, &tk, 1);
}
const struct sql_trigger sql_rule_column_types_when = SQL_TRIGGER(KW_SELECT);

/*
 * a ILIKE b -> UPPER(a) LIKE UPPER(b), for backends without ILIKE: IRIS
 * ("UPPER (SQL)", DOC?KEY=RSQL_upper; "LIKE (SQL)", DOC?KEY=RSQL_like) and
 * SQLite, whose LIKE the executor makes case-sensitive as PostgreSQL's is
 * (PRAGMA case_sensitive_like).
 */
int sql_rule_ilike(struct sql_rw *rw)
{
    for (size_t i = 1; i < rw->n; i++) {
        size_t p = sql_prev(rw, i), ls, re;
        bool neg;
        struct sql_arg a[2];

        if (!sql_tk_kw(rw, i, KW_ILIKE))
            continue;
        neg = p != SIZE_MAX && sql_tk_kw(rw, p, KW_NOT);
        ls = sql_operand_left(rw, neg ? p : i, LV_LIKE);
        re = sql_operand_right(rw, i, LV_LIKE);
        if (ls == (neg ? p : i) || re == i)
            return sql_rw_fail(rw, "42601", "operand expected around ILIKE");
        /* A letter as the ESCAPE character must survive the pattern's UPPER(). */
        size_t esc = sql_next(rw, re);
        if (sql_tk_kw(rw, esc, KW_ESCAPE) && sql_next(rw, esc) < rw->n &&
            rw->t[sql_next(rw, esc)].type == SQL_TOK_STRING) {
            struct sql_tk *e = &rw->t[sql_next(rw, esc)];
            char *up = sql_rw_strdup(rw, e->s, e->len);
            if (up == NULL)
                return -1;
            for (size_t k = 0; k < e->len; k++)
                up[k] = up[k] >= 'a' && up[k] <= 'z' ? (char)(up[k] - 32) : up[k];
            e->s = up;
        }
        a[0] = sql_rw_range(rw, ls, (neg ? p : i) - 1);
        a[1] = sql_rw_range(rw, i + 1, re);
        if (!sql_rw_template(rw, ls, re, a, 2, "UPPER($0) %sLIKE UPPER($1)", neg ? "NOT " : ""))
            return -1;
    }
    return 0;
}

/*
 * PostgreSQL's LIKE takes a backslash in the pattern as its escape unless
 * ESCAPE names another; SQLite's and IRIS's LIKE have no escape by default,
 * so 'a\_b' would match a backslash and any character.  Drivers escape %
 * and _ so (Django's contains, SQLAlchemy's autoescape).  A LIKE with a
 * left operand and no ESCAPE gets ESCAPE '\' after its pattern.
 */
int sql_rule_like_escape(struct sql_rw *rw)
{
    static const char escape[] = "ESCAPE", backslash[] = "'\\'";

    for (size_t i = rw->n; i-- > 1;) {
        size_t p = sql_prev(rw, i), re, left;

        if (!sql_tk_kw(rw, i, KW_LIKE))
            continue;
        left = p != SIZE_MAX && sql_tk_kw(rw, p, KW_NOT) ? p : i;
        re = sql_operand_right(rw, i, LV_LIKE);
        if (re == i || sql_operand_left(rw, left, LV_LIKE) == left)
            continue;       /* CREATE TABLE (LIKE t) */
        size_t esc = sql_next(rw, re);
        if (sql_tk_kw(rw, esc, KW_ESCAPE)) {
            /* ESCAPE '' is PostgreSQL's way to have none, which is the backends' own way. */
            size_t lit = sql_next(rw, esc);
            if (lit < rw->n && rw->t[lit].type == SQL_TOK_STRING && rw->t[lit].len == 2 &&
                sql_rw_splice(rw, esc, lit + 1 - esc, NULL, 0) != 0)
                return -1;
            continue;
        }
        /* A literal pattern that ends with the escape character: PostgreSQL's error. */
        const struct sql_tk *pat = &rw->t[re];
        if (re == sql_next(rw, i) && pat->type == SQL_TOK_STRING && pat->len >= 2) {
            size_t k = pat->len - 1, n = 0;
            while (k > 1 && pat->s[k - 1] == '\\') {
                k--;
                n++;
            }
            if (n % 2 == 1)
                return sql_rw_fail(rw, "22025", "LIKE pattern must not end with escape character");
        }
        struct sql_tk tk[2] = {
            { escape, 6, SQL_TOK_IDENT, SQL_SPACE_BLANK, KW_ESCAPE },
            { backslash, 3, SQL_TOK_STRING, SQL_SPACE_BLANK, KW_NONE },
        };
        if (sql_rw_splice(rw, re + 1, 0, tk, 2) != 0)
            return -1;
    }
    return 0;
}
