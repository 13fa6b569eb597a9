/*
 * copy: COPY statements, and the text and CSV data formats, as PostgreSQL
 * defines them (gram.y's CopyStmt, commands/copy.c's ProcessCopyOptions,
 * copyfromparse.c's line and attribute readers, copyto.c's attribute
 * writers).  The statement is read from sql_lexer tokens; data is decoded
 * by a small state machine that survives arbitrary CopyData boundaries.
 *
 * Decoding runs in two passes over each line, like PostgreSQL's: find the
 * end of the line (tracking backslashes, or CSV quotes), then split it into
 * fields.  A line that lies within one fed chunk is split in place; only a
 * line that crosses chunks is gathered into a buffer first.  All buffers
 * belong to the decoder and are reused, so a row costs no allocation.
 */
#include "common/copy.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sql_lexer.h"

/* PostgreSQL's MAX_COPY_DATA_DISPLAY: how much of a bad line goes into CONTEXT. */
#define COPY_CONTEXT_BYTES 100

/* ---- small helpers ----------------------------------------------------- */

static void copy_set_error(char sqlstate[6], char *msg, size_t msglen, const char *state,
                           const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void copy_set_error(char sqlstate[6], char *msg, size_t msglen, const char *state,
                           const char *fmt, ...)
{
    va_list ap;

    memcpy(sqlstate, state, 5);
    sqlstate[5] = '\0';
    if (msglen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
}

static char *copy_memdup(const char *s, size_t n)
{
    char *p = malloc(n + 1);

    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static unsigned char copy_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* ASCII-only, so the result does not depend on the locale. */
static bool copy_caseeq(const char *a, size_t alen, const char *b)
{
    size_t i;

    for (i = 0; i < alen; i++)
        if (b[i] == '\0' || copy_lower((unsigned char)a[i]) != copy_lower((unsigned char)b[i]))
            return false;
    return b[i] == '\0';
}

static void copy_free_list(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* A growable byte string. */
struct copy_str {
    char *p;
    size_t len;
    size_t cap;
};

static int copy_str_reserve(struct copy_str *s, size_t more)
{
    size_t cap;
    char *p;

    if (more > SIZE_MAX / 2 - s->len)
        return -1;
    if (s->len + more <= s->cap)
        return 0;
    cap = s->cap ? s->cap : 64;
    while (cap < s->len + more)
        cap *= 2;
    p = realloc(s->p, cap);
    if (!p)
        return -1;
    s->p = p;
    s->cap = cap;
    return 0;
}

static int copy_str_add(struct copy_str *s, const void *p, size_t n)
{
    if (copy_str_reserve(s, n + 1) < 0)
        return -1;
    memcpy(s->p + s->len, p, n);
    s->len += n;
    s->p[s->len] = '\0';
    return 0;
}

/* ---- identifiers ------------------------------------------------------- */

/* Is the identifier as written a quoted one ("x" or U&"x")? */
static bool copy_ident_quoted(const char *s, size_t n)
{
    return (n >= 1 && s[0] == '"') || (n >= 3 && (s[0] == 'U' || s[0] == 'u') && s[1] == '&');
}

/*
 * The name an identifier as written stands for: quotes removed and doubled
 * quotes undone, or folded to lower case (ASCII, as PostgreSQL's
 * downcase_identifier does for a UTF-8 database).
 */
static char *copy_ident_plain(const char *s, size_t n)
{
    char *out, *o;

    if (!copy_ident_quoted(s, n)) {
        out = copy_memdup(s, n);
        if (out)
            for (o = out; *o; o++)
                *o = (char)copy_lower((unsigned char)*o);
        return out;
    }
    if (s[0] != '"') {
        s += 2;
        n -= 2;
    }
    out = malloc(n + 1);
    if (!out)
        return NULL;
    o = out;
    for (size_t i = 1; i + 1 < n; i++) {
        *o++ = s[i];
        if (s[i] == '"')
            i++;
    }
    *o = '\0';
    return out;
}

/* The identifier as written that names plain: "plain" with inner quotes doubled. */
static char *copy_ident_quote(const char *plain, size_t n)
{
    struct pgbuf b;

    pgbuf_init(&b);
    pgproto_put_ident(&b, plain, n);
    pgproto_put_u8(&b, '\0');
    if (b.oom) {
        pgbuf_free(&b);
        return NULL;
    }
    return (char *)b.data;
}

/* ---- string constants -------------------------------------------------- */

static int copy_put_utf8(struct copy_str *s, uint32_t cp)
{
    unsigned char b[4];
    size_t n;

    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | (cp >> 18));
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return copy_str_add(s, b, n);
}

static int copy_hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* ndigits hex digits at s[*i...] into *cp; false if they are not all there. */
static bool copy_hex_run(const char *s, size_t n, size_t *i, int ndigits, uint32_t *cp)
{
    uint32_t v = 0;

    if (n - *i < (size_t)ndigits)
        return false;
    for (int k = 0; k < ndigits; k++) {
        int h = copy_hexval((unsigned char)s[*i + (size_t)k]);
        if (h < 0)
            return false;
        v = (v << 4) | (uint32_t)h;
    }
    *i += (size_t)ndigits;
    *cp = v;
    return true;
}

enum copy_lit { COPY_LIT_STD, COPY_LIT_ESC, COPY_LIT_UNICODE };

struct copy_parser {
    const char *sql;
    struct sql_token *t;        /* comments removed */
    size_t n;
    size_t i;
    char *sqlstate;
    char *msg;
    size_t msglen;
};

/*
 * Append the value of one quoted body (between the quotes, '' still
 * doubled) to out under the rules of its kind of literal.
 */
static int copy_unescape(struct copy_parser *p, enum copy_lit kind, const char *s, size_t n,
                         struct copy_str *out)
{
    size_t i = 0;
    uint32_t high = 0;          /* a pending UTF-16 high surrogate */

    while (i < n) {
        unsigned char c = (unsigned char)s[i++];
        uint32_t cp;

        if (c == '\'') {
            i++;                /* the second quote of '' */
        } else if (c == '\\' && kind == COPY_LIT_UNICODE) {
            bool ok;
            if (i < n && s[i] == '\\') {
                i++;            /* \\ is a backslash */
            } else {
                ok = i < n && s[i] == '+' ? (i++, copy_hex_run(s, n, &i, 6, &cp))
                                          : copy_hex_run(s, n, &i, 4, &cp);
                if (!ok)
                    goto bad_escape;
                goto codepoint;
            }
        } else if (c == '\\' && kind == COPY_LIT_ESC && i < n) {
            c = (unsigned char)s[i++];
            switch (c) {
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'v': c = '\v'; break;
            case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
                unsigned v = c - '0';
                for (int k = 0; k < 2 && i < n && s[i] >= '0' && s[i] <= '7'; k++)
                    v = (v << 3) + (unsigned)(s[i++] - '0');
                c = (unsigned char)v;
                break;
            }
            case 'x': {
                int h = i < n ? copy_hexval((unsigned char)s[i]) : -1;
                if (h >= 0) {
                    unsigned v = (unsigned)h;
                    i++;
                    if (i < n && (h = copy_hexval((unsigned char)s[i])) >= 0) {
                        v = (v << 4) | (unsigned)h;
                        i++;
                    }
                    c = (unsigned char)v;
                }
                break;
            }
            case 'u':
            case 'U':
                if (!copy_hex_run(s, n, &i, c == 'u' ? 4 : 8, &cp))
                    goto bad_escape;
                goto codepoint;
            default:
                break;
            }
        }
        if (high)
            goto bad_surrogate;
        if (c == '\0')
            goto nul;
        if (copy_str_add(out, &c, 1) < 0)
            goto oom;
        continue;

    codepoint:
        if (high) {
            if (cp < 0xDC00 || cp > 0xDFFF)
                goto bad_surrogate;
            cp = 0x10000 + ((high - 0xD800) << 10) + (cp - 0xDC00);
            high = 0;
        } else if (cp >= 0xD800 && cp <= 0xDBFF) {
            high = cp;
            continue;
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            goto bad_surrogate;
        }
        if (cp > 0x10FFFF)
            goto bad_escape;
        if (cp == 0)
            goto nul;
        if (copy_put_utf8(out, cp) < 0)
            goto oom;
    }
    if (high)
        goto bad_surrogate;
    return 0;

bad_escape:
    copy_set_error(p->sqlstate, p->msg, p->msglen, "22025", "invalid Unicode escape");
    return -1;
bad_surrogate:
    copy_set_error(p->sqlstate, p->msg, p->msglen, "22P06", "invalid Unicode surrogate pair");
    return -1;
nul:
    copy_set_error(p->sqlstate, p->msg, p->msglen, "22021",
                   "invalid byte sequence for encoding \"UTF8\": 0x00");
    return -1;
oom:
    copy_set_error(p->sqlstate, p->msg, p->msglen, "53200", "out of memory");
    return -1;
}

/* ---- statement parser -------------------------------------------------- */

static const struct sql_token *copy_peek(const struct copy_parser *p)
{
    return p->i < p->n ? &p->t[p->i] : NULL;
}

static bool copy_tok_kw(const struct copy_parser *p, const struct sql_token *t, const char *kw)
{
    return t && t->type == SQL_TOK_IDENT && copy_caseeq(p->sql + t->off, t->len, kw);
}

static bool copy_tok_punct(const struct copy_parser *p, const struct sql_token *t, char c)
{
    return t && t->type == SQL_TOK_PUNCT && p->sql[t->off] == c;
}

static bool copy_tok_op(const struct copy_parser *p, const struct sql_token *t, char c)
{
    return t && t->type == SQL_TOK_OP && t->len == 1 && p->sql[t->off] == c;
}

static bool copy_tok_ident(const struct sql_token *t)
{
    return t && (t->type == SQL_TOK_IDENT || t->type == SQL_TOK_QIDENT);
}

static bool copy_tok_sconst(const struct sql_token *t)
{
    return t && (t->type == SQL_TOK_STRING || t->type == SQL_TOK_ESTRING ||
                 t->type == SQL_TOK_DOLLAR);
}

static bool copy_accept_kw(struct copy_parser *p, const char *kw)
{
    if (!copy_tok_kw(p, copy_peek(p), kw))
        return false;
    p->i++;
    return true;
}

static bool copy_accept_punct(struct copy_parser *p, char c)
{
    if (!copy_tok_punct(p, copy_peek(p), c))
        return false;
    p->i++;
    return true;
}

/* PostgreSQL's message for the token the grammar could not take. */
static int copy_syntax_error(struct copy_parser *p)
{
    const struct sql_token *t = copy_peek(p);

    if (!t)
        copy_set_error(p->sqlstate, p->msg, p->msglen, "42601", "syntax error at end of input");
    else
        copy_set_error(p->sqlstate, p->msg, p->msglen, "42601", "syntax error at or near \"%.*s\"",
                       (int)(t->len > 200 ? 200 : t->len), p->sql + t->off);
    return -1;
}

static int copy_oom(char sqlstate[6], char *msg, size_t msglen)
{
    copy_set_error(sqlstate, msg, msglen, "53200", "out of memory");
    return -1;
}

/*
 * Sconst: one string literal, with the continuations PostgreSQL joins to
 * it ('a'<newline>'b').  The value is NUL-terminated in *out.
 */
static int copy_sconst(struct copy_parser *p, struct copy_str *out)
{
    const struct sql_token *t = copy_peek(p);
    const char *s;
    size_t n;
    enum copy_lit kind;

    if (!copy_tok_sconst(t))
        return copy_syntax_error(p);
    if (copy_str_reserve(out, 1) < 0)
        return copy_oom(p->sqlstate, p->msg, p->msglen);
    out->p[0] = '\0';
    s = p->sql + t->off;
    n = t->len;
    if (t->type == SQL_TOK_DOLLAR) {
        size_t tag = (size_t)((const char *)memchr(s + 1, '$', n - 1) - s) + 1;
        p->i++;
        if (copy_str_add(out, s + tag, n - 2 * tag) < 0)
            return copy_oom(p->sqlstate, p->msg, p->msglen);
        return 0;
    }
    kind = t->type == SQL_TOK_ESTRING ? COPY_LIT_ESC
           : (s[0] == 'U' || s[0] == 'u') ? COPY_LIT_UNICODE : COPY_LIT_STD;
    for (;;) {
        size_t q = (size_t)((const char *)memchr(s, '\'', n) - s);
        const struct sql_token *next;

        if (copy_unescape(p, kind, s + q + 1, n - q - 2, out) < 0)
            return -1;
        p->i++;
        next = copy_peek(p);
        if (!next || next->type != t->type || p->sql[next->off] != '\'' ||
            (!memchr(s + n, '\n', next->off - (t->off + t->len)) &&
             !memchr(s + n, '\r', next->off - (t->off + t->len))))
            return 0;
        t = next;
        s = p->sql + t->off;
        n = t->len;
    }
}

enum copy_arg_kind {
    COPY_ARG_NONE,
    COPY_ARG_STRING,            /* a string constant */
    COPY_ARG_WORD,              /* an identifier or keyword, as its plain name */
    COPY_ARG_NUMBER,
    COPY_ARG_STAR,
    COPY_ARG_LIST,              /* column names, as identifiers as written */
};

/* One option as both syntaxes reduce to it: PostgreSQL's DefElem. */
struct copy_opt {
    char *name;
    enum copy_arg_kind kind;
    char *value;                /* STRING, WORD, NUMBER */
    size_t vlen;
    char **items;               /* LIST */
    int nitems;
};

struct copy_opts {
    struct copy_opt *v;
    int n;
    int cap;
};

static void copy_opts_free(struct copy_opts *o)
{
    for (int i = 0; i < o->n; i++) {
        free(o->v[i].name);
        free(o->v[i].value);
        copy_free_list(o->v[i].items, o->v[i].nitems);
    }
    free(o->v);
}

/* A new option named name, or NULL when out of memory (error set). */
static struct copy_opt *copy_opt_add(struct copy_parser *p, struct copy_opts *o, const char *name,
                                     size_t nlen)
{
    struct copy_opt *opt;

    if (o->n == o->cap) {
        int cap = o->cap ? 2 * o->cap : 8;
        struct copy_opt *v = realloc(o->v, (size_t)cap * sizeof(*v));
        if (!v)
            goto oom;
        o->v = v;
        o->cap = cap;
    }
    opt = &o->v[o->n];
    memset(opt, 0, sizeof(*opt));
    opt->name = copy_memdup(name, nlen);
    if (!opt->name)
        goto oom;
    o->n++;
    return opt;

oom:
    copy_oom(p->sqlstate, p->msg, p->msglen);
    return NULL;
}

static int copy_opt_set_value(struct copy_parser *p, struct copy_opt *opt, enum copy_arg_kind kind,
                              const char *s, size_t n)
{
    opt->kind = kind;
    opt->value = copy_memdup(s, n);
    opt->vlen = n;
    return opt->value ? 0 : copy_oom(p->sqlstate, p->msg, p->msglen);
}

/* An option whose value is the next Sconst (old syntax: DELIMITER [AS] 'x'). */
static int copy_opt_sconst(struct copy_parser *p, struct copy_opts *o, const char *name, bool as)
{
    struct copy_str s = { 0 };
    struct copy_opt *opt;
    int rc = -1;

    if (as)
        copy_accept_kw(p, "AS");
    if (copy_sconst(p, &s) == 0 && (opt = copy_opt_add(p, o, name, strlen(name))) != NULL)
        rc = copy_opt_set_value(p, opt, COPY_ARG_STRING, s.p, s.len);
    free(s.p);
    return rc;
}

static int copy_list_push(struct copy_parser *p, struct copy_opt *opt, char *item)
{
    char **v;

    if (!item)
        return copy_oom(p->sqlstate, p->msg, p->msglen);
    v = realloc(opt->items, (size_t)(opt->nitems + 1) * sizeof(*v));
    if (!v) {
        free(item);
        return copy_oom(p->sqlstate, p->msg, p->msglen);
    }
    opt->items = v;
    v[opt->nitems++] = item;
    return 0;
}

/* columnList (old syntax): ColId [, ColId ...], or '*' where star is allowed. */
static int copy_opt_columns(struct copy_parser *p, struct copy_opts *o, const char *name)
{
    struct copy_opt *opt = copy_opt_add(p, o, name, strlen(name));
    const struct sql_token *t;

    if (!opt)
        return -1;
    opt->kind = COPY_ARG_LIST;
    if (copy_tok_op(p, copy_peek(p), '*')) {
        p->i++;
        opt->kind = COPY_ARG_STAR;
        return 0;
    }
    do {
        t = copy_peek(p);
        if (!copy_tok_ident(t))
            return copy_syntax_error(p);
        if (copy_list_push(p, opt, copy_memdup(p->sql + t->off, t->len)) < 0)
            return -1;
        p->i++;
    } while (copy_accept_punct(p, ','));
    return 0;
}

/* The old option syntax: a run of keywords, as gram.y's copy_opt_item. */
static int copy_parse_old_options(struct copy_parser *p, struct copy_opts *o)
{
    /* Keyword = option name; 'as' says whether AS may come before the string. */
    static const struct { const char *name; bool as; } strings[] = {
        { "delimiter", true }, { "null", true }, { "quote", true }, { "escape", true },
        { "encoding", false },
    };

    for (;;) {
        struct copy_opt *opt;
        size_t k = 0;

        while (k < sizeof(strings) / sizeof(strings[0]) && !copy_accept_kw(p, strings[k].name))
            k++;
        if (k < sizeof(strings) / sizeof(strings[0])) {
            if (copy_opt_sconst(p, o, strings[k].name, strings[k].as) < 0)
                return -1;
        } else if (copy_accept_kw(p, "BINARY") || copy_accept_kw(p, "CSV")) {
            const char *format = copy_tok_kw(p, &p->t[p->i - 1], "CSV") ? "csv" : "binary";
            if (!(opt = copy_opt_add(p, o, "format", 6)) ||
                copy_opt_set_value(p, opt, COPY_ARG_WORD, format, strlen(format)) < 0)
                return -1;
        } else if (copy_accept_kw(p, "FREEZE") || copy_accept_kw(p, "HEADER")) {
            const char *flag = copy_tok_kw(p, &p->t[p->i - 1], "FREEZE") ? "freeze" : "header";
            if (!copy_opt_add(p, o, flag, 6))
                return -1;
        } else if (copy_accept_kw(p, "FORCE")) {
            const char *name;
            if (copy_accept_kw(p, "QUOTE"))
                name = "force_quote";
            else if (copy_accept_kw(p, "NULL"))
                name = "force_null";
            else if (copy_accept_kw(p, "NOT") && copy_accept_kw(p, "NULL"))
                name = "force_not_null";
            else
                return copy_syntax_error(p);
            if (copy_opt_columns(p, o, name) < 0)
                return -1;
        } else {
            return 0;
        }
    }
}

/* The generic syntax: '(' name [arg] [, ...] ')', as gram.y's copy_generic_opt_list. */
static int copy_parse_generic_options(struct copy_parser *p, struct copy_opts *o)
{
    do {
        const struct sql_token *t = copy_peek(p);
        struct copy_opt *opt;
        char *name;

        if (!copy_tok_ident(t))
            return copy_syntax_error(p);
        name = copy_ident_plain(p->sql + t->off, t->len);
        if (!name)
            return copy_oom(p->sqlstate, p->msg, p->msglen);
        opt = copy_opt_add(p, o, name, strlen(name));
        free(name);
        if (!opt)
            return -1;
        p->i++;

        t = copy_peek(p);
        if (!t) {
            return copy_syntax_error(p);
        } else if (copy_tok_punct(p, t, ',') || copy_tok_punct(p, t, ')')) {
            opt->kind = COPY_ARG_NONE;
        } else if (copy_tok_sconst(t)) {
            struct copy_str s = { 0 };
            int rc = copy_sconst(p, &s);
            if (rc == 0)
                rc = copy_opt_set_value(p, opt, COPY_ARG_STRING, s.p, s.len);
            free(s.p);
            if (rc < 0)
                return -1;
        } else if (t->type == SQL_TOK_NUMBER ||
                   ((copy_tok_op(p, t, '-') || copy_tok_op(p, t, '+')) && p->i + 1 < p->n &&
                    p->t[p->i + 1].type == SQL_TOK_NUMBER)) {
            const struct sql_token *num = t->type == SQL_TOK_NUMBER ? t : &p->t[p->i + 1];
            size_t start = t->off;
            if (copy_opt_set_value(p, opt, COPY_ARG_NUMBER, p->sql + start,
                                   num->off + num->len - start) < 0)
                return -1;
            p->i += num == t ? 1 : 2;
        } else if (copy_tok_op(p, t, '*')) {
            opt->kind = COPY_ARG_STAR;
            p->i++;
        } else if (copy_tok_ident(t)) {
            char *word = copy_ident_plain(p->sql + t->off, t->len);
            int rc = word ? copy_opt_set_value(p, opt, COPY_ARG_WORD, word, strlen(word))
                          : copy_oom(p->sqlstate, p->msg, p->msglen);
            free(word);
            if (rc < 0)
                return -1;
            p->i++;
        } else if (copy_accept_punct(p, '(')) {
            opt->kind = COPY_ARG_LIST;
            do {
                char *item;
                t = copy_peek(p);
                if (copy_tok_ident(t)) {
                    item = copy_memdup(p->sql + t->off, t->len);
                    p->i++;
                } else if (copy_tok_sconst(t)) {
                    /* a string names the column exactly, like a quoted identifier */
                    struct copy_str s = { 0 };
                    if (copy_sconst(p, &s) < 0) {
                        free(s.p);
                        return -1;
                    }
                    item = copy_ident_quote(s.p, s.len);
                    free(s.p);
                } else {
                    return copy_syntax_error(p);
                }
                if (copy_list_push(p, opt, item) < 0)
                    return -1;
            } while (copy_accept_punct(p, ','));
            if (!copy_accept_punct(p, ')'))
                return copy_syntax_error(p);
        } else {
            return copy_syntax_error(p);
        }
    } while (copy_accept_punct(p, ','));
    if (!copy_accept_punct(p, ')'))
        return copy_syntax_error(p);
    return 0;
}

/* ---- options: ProcessCopyOptions --------------------------------------- */

struct copy_settings {
    bool format_set, freeze_set, header_set, encoding_set;
    bool csv, binary;
    struct copy_opt *delim, *null, *quote, *escape;
    int force_quote, force_not_null, force_null;   /* seen */
};

static int copy_redundant(struct copy_parser *p)
{
    copy_set_error(p->sqlstate, p->msg, p->msglen, "42601", "conflicting or redundant options");
    return -1;
}

/* defGetString: the option's value as text, or an error if it has none. */
static const char *copy_opt_string(struct copy_parser *p, const struct copy_opt *o)
{
    switch (o->kind) {
    case COPY_ARG_STRING:
    case COPY_ARG_WORD:
    case COPY_ARG_NUMBER:
        return o->value;
    case COPY_ARG_STAR:
        return "*";
    default:
        copy_set_error(p->sqlstate, p->msg, p->msglen, "42601", "%s requires a parameter", o->name);
        return NULL;
    }
}

/* defGetBoolean, plus "match" for HEADER (2).  -1 on error. */
static int copy_opt_bool(struct copy_parser *p, const struct copy_opt *o, bool match_ok)
{
    const char *v;

    if (o->kind == COPY_ARG_NONE)
        return 1;
    if (o->kind == COPY_ARG_NUMBER && (strcmp(o->value, "0") == 0 || strcmp(o->value, "1") == 0))
        return o->value[0] == '1';
    if (o->kind == COPY_ARG_STRING || o->kind == COPY_ARG_WORD) {
        v = o->value;
        if (copy_caseeq(v, o->vlen, "true") || copy_caseeq(v, o->vlen, "on"))
            return 1;
        if (copy_caseeq(v, o->vlen, "false") || copy_caseeq(v, o->vlen, "off"))
            return 0;
        if (match_ok && copy_caseeq(v, o->vlen, "match"))
            return 2;
    }
    if (match_ok)
        copy_set_error(p->sqlstate, p->msg, p->msglen, "42601",
                       "%s requires a Boolean value or \"match\"", o->name);
    else
        copy_set_error(p->sqlstate, p->msg, p->msglen, "42601", "%s requires a Boolean value",
                       o->name);
    return -1;
}

/* Is name an encoding PostgreSQL would take as UTF8 (it ignores case and punctuation)? */
static bool copy_encoding_is_utf8(const char *name)
{
    char norm[16];
    size_t n = 0;

    for (; *name; name++) {
        unsigned char c = copy_lower((unsigned char)*name);
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            continue;
        if (n + 1 >= sizeof(norm))
            return false;
        norm[n++] = (char)c;
    }
    norm[n] = '\0';
    return strcmp(norm, "utf8") == 0 || strcmp(norm, "unicode") == 0;
}

static int copy_take_list(struct copy_parser *p, struct copy_opt *o, char ***items, int *nitems,
                          int *all)
{
    if (o->kind == COPY_ARG_STAR) {
        *all = 1;
        return 0;
    }
    if (o->kind != COPY_ARG_LIST) {
        copy_set_error(p->sqlstate, p->msg, p->msglen, "22023",
                       "argument to option \"%s\" must be a list of column names", o->name);
        return -1;
    }
    *items = o->items;
    *nitems = o->nitems;
    o->items = NULL;
    o->nitems = 0;
    return 0;
}

static int copy_apply_option(struct copy_parser *p, struct copy_opt *o, struct copy_settings *st,
                             struct copy_spec *spec)
{
    static const char *const unsupported[] = {
        "default", "on_error", "log_verbosity", "reject_limit",
    };
    const char *v;
    int b;

    if (strcmp(o->name, "format") == 0) {
        if (st->format_set)
            return copy_redundant(p);
        st->format_set = true;
        if (!(v = copy_opt_string(p, o)))
            return -1;
        if (strcmp(v, "csv") == 0)
            st->csv = true;
        else if (strcmp(v, "binary") == 0)
            st->binary = true;
        else if (strcmp(v, "text") != 0) {
            copy_set_error(p->sqlstate, p->msg, p->msglen, "22023",
                           "COPY format \"%s\" not recognized", v);
            return -1;
        }
    } else if (strcmp(o->name, "freeze") == 0) {
        /* only a hint to PostgreSQL's storage; nothing to do over ODBC */
        if (st->freeze_set)
            return copy_redundant(p);
        st->freeze_set = true;
        if (copy_opt_bool(p, o, false) < 0)
            return -1;
    } else if (strcmp(o->name, "header") == 0) {
        if (st->header_set)
            return copy_redundant(p);
        st->header_set = true;
        if ((b = copy_opt_bool(p, o, true)) < 0)
            return -1;
        if (b == 2 && spec->dir == COPY_TO) {
            copy_set_error(p->sqlstate, p->msg, p->msglen, "0A000",
                           "cannot use \"%s\" with HEADER in COPY TO", o->value);
            return -1;
        }
        spec->header = b;
    } else if (strcmp(o->name, "delimiter") == 0 || strcmp(o->name, "null") == 0 ||
               strcmp(o->name, "quote") == 0 || strcmp(o->name, "escape") == 0) {
        struct copy_opt **slot = o->name[0] == 'd' ? &st->delim
                                 : o->name[0] == 'n' ? &st->null
                                 : o->name[0] == 'q' ? &st->quote : &st->escape;
        if (*slot)
            return copy_redundant(p);
        if (!copy_opt_string(p, o))
            return -1;
        *slot = o;
    } else if (strcmp(o->name, "encoding") == 0) {
        if (st->encoding_set)
            return copy_redundant(p);
        st->encoding_set = true;
        if (!(v = copy_opt_string(p, o)))
            return -1;
        if (!copy_encoding_is_utf8(v)) {
            copy_set_error(p->sqlstate, p->msg, p->msglen, "0A000",
                           "COPY ENCODING \"%s\" is not supported by pgiris; only UTF8 is", v);
            return -1;
        }
    } else if (strcmp(o->name, "force_quote") == 0) {
        if (st->force_quote++)
            return copy_redundant(p);
        return copy_take_list(p, o, &spec->force_quote, &spec->nforce_quote,
                              &spec->force_quote_all);
    } else if (strcmp(o->name, "force_not_null") == 0) {
        if (st->force_not_null++)
            return copy_redundant(p);
        return copy_take_list(p, o, &spec->force_not_null, &spec->nforce_not_null,
                              &spec->force_not_null_all);
    } else if (strcmp(o->name, "force_null") == 0) {
        if (st->force_null++)
            return copy_redundant(p);
        return copy_take_list(p, o, &spec->force_null, &spec->nforce_null,
                              &spec->force_null_all);
    } else {
        for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
            if (strcmp(o->name, unsupported[i]) == 0) {
                copy_set_error(p->sqlstate, p->msg, p->msglen, "0A000",
                               "COPY option \"%s\" is not supported by pgiris", o->name);
                return -1;
            }
        }
        copy_set_error(p->sqlstate, p->msg, p->msglen, "42601", "option \"%s\" not recognized",
                       o->name);
        return -1;
    }
    return 0;
}

/* The checks of ProcessCopyOptions that follow the option loop, in its order. */
static int copy_check_options(struct copy_parser *p, struct copy_settings *st,
                              struct copy_spec *spec)
{
    const char *delim = st->delim ? st->delim->value : st->csv ? "," : "\t";
    size_t delim_len = st->delim ? st->delim->vlen : 1;
    const char *null = st->null ? st->null->value : st->csv ? "" : "\\N";
    const char *quote = st->quote ? st->quote->value : "\"";
    const char *escape = st->escape ? st->escape->value : quote;
    const char *state = NULL, *what = NULL;

    if (st->binary) {
        copy_set_error(p->sqlstate, p->msg, p->msglen, "0A000",
                       "COPY BINARY is not supported by pgiris; use FORMAT text or csv");
        return -1;
    }
    if (delim_len != 1)
        state = "0A000", what = "COPY delimiter must be a single one-byte character";
    else if (delim[0] == '\r' || delim[0] == '\n')
        state = "22023", what = "COPY delimiter cannot be newline or carriage return";
    else if (strchr(null, '\r') || strchr(null, '\n'))
        state = "22023", what = "COPY null representation cannot use newline or carriage return";
    else if (!st->csv && strchr("\\.abcdefghijklmnopqrstuvwxyz0123456789", delim[0])) {
        copy_set_error(p->sqlstate, p->msg, p->msglen, "22023", "COPY delimiter cannot be \"%s\"",
                       delim);
        return -1;
    } else if (!st->csv && st->quote)
        state = "0A000", what = "COPY quote available only in CSV mode";
    else if (st->csv && strlen(quote) != 1)
        state = "0A000", what = "COPY quote must be a single one-byte character";
    else if (st->csv && delim[0] == quote[0])
        state = "22023", what = "COPY delimiter and quote must be different";
    else if (!st->csv && st->escape)
        state = "0A000", what = "COPY escape available only in CSV mode";
    else if (st->csv && strlen(escape) != 1)
        state = "0A000", what = "COPY escape must be a single one-byte character";
    else if (!st->csv && st->force_quote)
        state = "0A000", what = "COPY force quote available only in CSV mode";
    else if (st->force_quote && spec->dir == COPY_FROM)
        state = "0A000", what = "COPY force quote only available using COPY TO";
    else if (!st->csv && st->force_not_null)
        state = "0A000", what = "COPY force not null available only in CSV mode";
    else if (st->force_not_null && spec->dir == COPY_TO)
        state = "0A000", what = "COPY force not null only available using COPY FROM";
    else if (!st->csv && st->force_null)
        state = "0A000", what = "COPY force null available only in CSV mode";
    else if (st->force_null && spec->dir == COPY_TO)
        state = "0A000", what = "COPY force null only available using COPY FROM";
    else if (strchr(null, delim[0]))
        state = "0A000", what = "COPY delimiter must not appear in the NULL specification";
    else if (st->csv && strchr(null, quote[0]))
        state = "0A000", what = "CSV quote character must not appear in the NULL specification";
    if (state) {
        copy_set_error(p->sqlstate, p->msg, p->msglen, state, "%s", what);
        return -1;
    }

    spec->format = st->csv ? COPY_CSV : COPY_TEXT;
    spec->delimiter = delim[0];
    spec->null_string = strdup(null);
    if (!spec->null_string)
        return copy_oom(p->sqlstate, p->msg, p->msglen);
    spec->quote = st->csv ? quote[0] : '"';
    spec->escape = st->csv ? escape[0] : '"';
    return 0;
}

/* ---- the statement ----------------------------------------------------- */

/* Tokens of sql without comments, into p->t. */
static int copy_lex(struct copy_parser *p, const char *sql, size_t len)
{
    struct sql_lex_error err = { 0, NULL };
    size_t n = 0, k = 0;

    p->sql = sql;
    if (sql_lex(sql, len, NULL, 0, &n, &err) < 0) {
        size_t rest = len - err.off;
        copy_set_error(p->sqlstate, p->msg, p->msglen, "42601", "%s at or near \"%.*s\"",
                       err.message, (int)(rest > 200 ? 200 : rest), sql + err.off);
        return -1;
    }
    p->t = malloc((n ? n : 1) * sizeof(*p->t));
    if (!p->t)
        return copy_oom(p->sqlstate, p->msg, p->msglen);
    sql_lex(sql, len, p->t, n, &n, &err);
    for (size_t i = 0; i < n; i++)
        if (p->t[i].type != SQL_TOK_COMMENT)
            p->t[k++] = p->t[i];
    p->n = k;
    p->i = 0;
    return 0;
}

/* qualified_name: ColId [. ColLabel [. ColLabel]], kept as written. */
static int copy_parse_table(struct copy_parser *p, struct copy_spec *spec)
{
    struct copy_str s = { 0 };
    int parts = 0;

    do {
        const struct sql_token *t = copy_peek(p);
        if (!copy_tok_ident(t)) {
            free(s.p);
            return copy_syntax_error(p);
        }
        if ((parts && copy_str_add(&s, ".", 1) < 0) ||
            copy_str_add(&s, p->sql + t->off, t->len) < 0) {
            free(s.p);
            return copy_oom(p->sqlstate, p->msg, p->msglen);
        }
        p->i++;
    } while (++parts < 3 && copy_accept_punct(p, '.'));
    spec->table = s.p;
    return 0;
}

static int copy_parse_columns(struct copy_parser *p, struct copy_spec *spec)
{
    do {
        const struct sql_token *t = copy_peek(p);
        char **v;

        if (!copy_tok_ident(t))
            return copy_syntax_error(p);
        v = realloc(spec->columns, (size_t)(spec->ncolumns + 1) * sizeof(*v));
        if (!v)
            return copy_oom(p->sqlstate, p->msg, p->msglen);
        spec->columns = v;
        if (!(v[spec->ncolumns] = copy_memdup(p->sql + t->off, t->len)))
            return copy_oom(p->sqlstate, p->msg, p->msglen);
        spec->ncolumns++;
        p->i++;
    } while (copy_accept_punct(p, ','));
    return copy_accept_punct(p, ')') ? 0 : copy_syntax_error(p);
}

/* '(' PreparableStmt ')': the text between the balanced parentheses. */
static int copy_parse_query(struct copy_parser *p, struct copy_spec *spec)
{
    size_t first = p->i, depth = 1;

    for (; p->i < p->n; p->i++) {
        if (copy_tok_punct(p, &p->t[p->i], '('))
            depth++;
        else if (copy_tok_punct(p, &p->t[p->i], ')') && --depth == 0)
            break;
    }
    if (p->i == p->n || p->i == first)
        return copy_syntax_error(p);
    spec->query = copy_memdup(p->sql + p->t[first].off,
                              p->t[p->i - 1].off + p->t[p->i - 1].len - p->t[first].off);
    if (!spec->query)
        return copy_oom(p->sqlstate, p->msg, p->msglen);
    p->i++;
    return 0;
}

/* Column names as written → plain names, rejecting duplicates. */
static int copy_bind_list(struct copy_parser *p, struct copy_spec *spec)
{
    char **names = calloc((size_t)spec->ncolumns, sizeof(*names));
    int rc = -1;

    if (!names)
        return copy_oom(p->sqlstate, p->msg, p->msglen);
    for (int i = 0; i < spec->ncolumns; i++) {
        names[i] = copy_ident_plain(spec->columns[i], strlen(spec->columns[i]));
        if (!names[i]) {
            copy_oom(p->sqlstate, p->msg, p->msglen);
            goto done;
        }
        for (int j = 0; j < i; j++) {
            if (strcmp(names[i], names[j]) == 0) {
                copy_set_error(p->sqlstate, p->msg, p->msglen, "42701",
                               "column \"%s\" specified more than once", names[i]);
                goto done;
            }
        }
    }
    rc = copy_spec_bind_columns(spec, (const char *const *)names, spec->ncolumns, p->sqlstate,
                                p->msg, p->msglen);
done:
    copy_free_list(names, spec->ncolumns);
    return rc;
}

/*
 * gram.y's CopyStmt:
 *   COPY [BINARY] qualified_name [(columns)] FROM|TO [PROGRAM] file
 *        [[USING] DELIMITERS 'x'] [WITH] options [WHERE cond]
 *   COPY ( query ) TO [PROGRAM] file [WITH] options
 */
static int copy_parse_stmt(struct copy_parser *p, struct copy_spec *spec, struct copy_opts *opts)
{
    const struct sql_token *t;
    bool is_query = false, file = false, where = false;

    if (!copy_accept_kw(p, "COPY"))
        return copy_syntax_error(p);
    if (copy_accept_punct(p, '(')) {
        is_query = true;
        if (copy_parse_query(p, spec) < 0)
            return -1;
    } else {
        if (copy_accept_kw(p, "BINARY")) {
            struct copy_opt *opt = copy_opt_add(p, opts, "format", 6);
            if (!opt || copy_opt_set_value(p, opt, COPY_ARG_WORD, "binary", 6) < 0)
                return -1;
        }
        if (copy_parse_table(p, spec) < 0)
            return -1;
        if (copy_accept_punct(p, '(') && copy_parse_columns(p, spec) < 0)
            return -1;
    }

    if (copy_accept_kw(p, "TO"))
        spec->dir = COPY_TO;
    else if (!is_query && copy_accept_kw(p, "FROM"))
        spec->dir = COPY_FROM;
    else
        return copy_syntax_error(p);

    if (copy_accept_kw(p, "PROGRAM"))
        file = true;
    t = copy_peek(p);
    if (copy_tok_sconst(t)) {
        struct copy_str s = { 0 };
        int rc = copy_sconst(p, &s);
        free(s.p);
        if (rc < 0)
            return -1;
        file = true;
    } else if (!copy_accept_kw(p, "STDIN") && !copy_accept_kw(p, "STDOUT")) {
        return copy_syntax_error(p);
    }

    if (!is_query) {
        bool using = copy_accept_kw(p, "USING");
        if (copy_accept_kw(p, "DELIMITERS")) {
            if (copy_opt_sconst(p, opts, "delimiter", false) < 0)
                return -1;
        } else if (using) {
            return copy_syntax_error(p);
        }
    }
    copy_accept_kw(p, "WITH");
    if (copy_accept_punct(p, '(')) {
        if (copy_parse_generic_options(p, opts) < 0)
            return -1;
    } else if (copy_parse_old_options(p, opts) < 0) {
        return -1;
    }
    if (!is_query && copy_accept_kw(p, "WHERE")) {
        where = true;
        if (spec->dir == COPY_TO) {
            copy_set_error(p->sqlstate, p->msg, p->msglen, "0A000",
                           "WHERE clause not allowed with COPY TO");
            return -1;
        }
    } else {
        copy_accept_punct(p, ';');
        if (p->i < p->n)
            return copy_syntax_error(p);
    }

    if (file) {
        copy_set_error(p->sqlstate, p->msg, p->msglen, "0A000",
                       "COPY to or from a file is not supported by pgiris; use STDIN/STDOUT");
        return -1;
    }
    if (where) {
        copy_set_error(p->sqlstate, p->msg, p->msglen, "0A000",
                       "COPY FROM with a WHERE clause is not supported by pgiris");
        return -1;
    }
    return 0;
}

int copy_parse(const char *sql, size_t len, struct copy_spec *out, char sqlstate[6], char *msg,
               size_t msglen)
{
    struct copy_parser p = { .sqlstate = sqlstate, .msg = msg, .msglen = msglen };
    struct copy_opts opts = { 0 };
    struct copy_settings st = { 0 };
    int rc = -1;

    memset(out, 0, sizeof(*out));
    out->ncolnames = -1;
    if (copy_lex(&p, sql, len) < 0 || copy_parse_stmt(&p, out, &opts) < 0)
        goto done;
    for (int i = 0; i < opts.n; i++)
        if (copy_apply_option(&p, &opts.v[i], &st, out) < 0)
            goto done;
    if (copy_check_options(&p, &st, out) < 0)
        goto done;
    if (out->ncolumns > 0 && copy_bind_list(&p, out) < 0)
        goto done;
    rc = 0;
done:
    copy_opts_free(&opts);
    free(p.t);
    if (rc < 0)
        copy_spec_free(out);
    return rc;
}

void copy_spec_free(struct copy_spec *s)
{
    free(s->table);
    free(s->query);
    copy_free_list(s->columns, s->ncolumns);
    free(s->null_string);
    copy_free_list(s->force_quote, s->nforce_quote);
    copy_free_list(s->force_not_null, s->nforce_not_null);
    copy_free_list(s->force_null, s->nforce_null);
    copy_free_list(s->colnames, s->ncolnames > 0 ? s->ncolnames : 0);
    free(s->colflags);
    memset(s, 0, sizeof(*s));
    s->ncolnames = -1;
}

/* Index of the column a FORCE_* entry names, or -1. */
static int copy_find_column(const char *item, char **names, int n)
{
    size_t len = strlen(item);
    char *plain = copy_ident_plain(item, len);
    int found = -1;

    if (!plain)
        return -2;
    for (int i = 0; i < n && found < 0; i++)
        if (strcmp(plain, names[i]) == 0)
            found = i;
    if (!copy_ident_quoted(item, len))
        for (int i = 0; i < n && found < 0; i++)
            if (copy_caseeq(plain, strlen(plain), names[i]))
                found = i;
    free(plain);
    return found;
}

int copy_spec_bind_columns(struct copy_spec *s, const char *const *names, int n, char sqlstate[6],
                           char *msg, size_t msglen)
{
    static const char *const labels[] = { "FORCE_QUOTE", "FORCE_NOT_NULL", "FORCE_NULL" };
    char **const lists[] = { s->force_quote, s->force_not_null, s->force_null };
    const int counts[] = { s->nforce_quote, s->nforce_not_null, s->nforce_null };
    const int all[] = { s->force_quote_all, s->force_not_null_all, s->force_null_all };
    char **colnames;
    unsigned char *flags;

    copy_free_list(s->colnames, s->ncolnames > 0 ? s->ncolnames : 0);
    free(s->colflags);
    s->colnames = NULL;
    s->colflags = NULL;
    s->ncolnames = -1;

    colnames = calloc((size_t)(n > 0 ? n : 1), sizeof(*colnames));
    flags = calloc((size_t)(n > 0 ? n : 1), 1);
    if (!colnames || !flags)
        goto oom;
    for (int i = 0; i < n; i++)
        if (!(colnames[i] = strdup(names[i])))
            goto oom;
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < n && all[k]; i++)
            flags[i] |= (unsigned char)(1 << k);
        for (int j = 0; j < counts[k]; j++) {
            int col = copy_find_column(lists[k][j], colnames, n);
            if (col == -2)
                goto oom;
            if (col < 0) {
                char *plain = copy_ident_plain(lists[k][j], strlen(lists[k][j]));
                copy_set_error(sqlstate, msg, msglen, "42P10",
                               "%s column \"%s\" not referenced by COPY", labels[k],
                               plain ? plain : lists[k][j]);
                free(plain);
                copy_free_list(colnames, n);
                free(flags);
                return -1;
            }
            flags[col] |= (unsigned char)(1 << k);
        }
    }
    s->colnames = colnames;
    s->colflags = flags;
    s->ncolnames = n;
    return 0;

oom:
    if (colnames)
        copy_free_list(colnames, n);
    free(flags);
    return copy_oom(sqlstate, msg, msglen);
}

/* ---- decoder ----------------------------------------------------------- */

enum copy_eol { COPY_EOL_UNKNOWN, COPY_EOL_NL, COPY_EOL_CR, COPY_EOL_CRNL };

enum copy_dec_state { COPY_DEC_READING, COPY_DEC_DONE, COPY_DEC_FAILED };

struct copy_decoder {
    /* options */
    bool csv;
    unsigned char delim, quote, escape;
    bool escape_pairs;          /* CSV ESCAPE differs from QUOTE: it pairs with the next byte */
    char *null_str;
    size_t null_len;
    bool header;                /* the header line is still to be skipped */
    bool header_match;          /* HEADER MATCH: its fields must be the column names */
    int ncolumns;
    unsigned char *colflags;    /* COPY_COL_* per column, or NULL */
    char **colnames;            /* for messages, or NULL */
    char *relname;              /* for CONTEXT */
    size_t max_row;
    unsigned char special[256]; /* bytes the line scanner stops at */

    /* line scanner, carried from one chunk to the next */
    enum copy_eol eol;
    bool esc;                   /* text: a chunk ended on a backslash, so the next byte is data */
    bool in_quote;              /* CSV */
    bool esc_pending;           /* CSV: a chunk ended on ESCAPE inside quotes */
    bool cr_pending;            /* d->line ended on CR at a chunk's end: the next byte decides */
    uint64_t lineno;            /* the line being read, from 1 */
    enum copy_dec_state state;
    int stop_rc;                /* what feed returns once failed */

    struct copy_str line;       /* a line begun in an earlier chunk */
    struct copy_str out;        /* the current row's fields */
    char **fields;
    size_t *lengths;

    char sqlstate[6];
    char msg[256];
    char detail[512];
    const char *hint;
};

/* The relation's name as PostgreSQL's CONTEXT shows it: unqualified, unquoted. */
static char *copy_relname(const char *table)
{
    const char *s = table, *last = table;

    if (!table)
        return strdup("");
    while (*s) {
        if (*s == '"') {
            for (s++; *s && !(*s == '"' && s[1] != '"'); s += *s == '"' ? 2 : 1)
                ;
            if (*s)
                s++;
        } else if (*s == '.') {
            last = ++s;
        } else {
            s++;
        }
    }
    return copy_ident_plain(last, strlen(last));
}

struct copy_decoder *copy_decoder_new(const struct copy_spec *spec, int ncolumns)
{
    struct copy_decoder *d;
    bool bound = spec->ncolnames == ncolumns && ncolumns >= 0;
    size_t slots = (size_t)(ncolumns > 0 ? ncolumns : 1);

    if (ncolumns < 0 || spec->format == COPY_BINARY ||
        ((spec->nforce_not_null || spec->nforce_null) && !bound))
        return NULL;
    d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->csv = spec->format == COPY_CSV;
    d->delim = (unsigned char)spec->delimiter;
    d->quote = (unsigned char)spec->quote;
    d->escape = (unsigned char)spec->escape;
    d->escape_pairs = d->csv && d->escape != d->quote;
    d->null_str = strdup(spec->null_string ? spec->null_string : d->csv ? "" : "\\N");
    d->null_len = d->null_str ? strlen(d->null_str) : 0;
    d->header = spec->header != 0;
    d->header_match = spec->header == 2;
    d->ncolumns = ncolumns;
    d->relname = copy_relname(spec->table);
    d->max_row = COPY_MAX_ROW_BYTES;
    d->lineno = 1;
    d->fields = calloc(slots, sizeof(*d->fields));
    d->lengths = calloc(slots, sizeof(*d->lengths));
    d->colflags = calloc(slots, 1);
    if (!d->null_str || !d->relname || !d->fields || !d->lengths || !d->colflags)
        goto failed;
    for (int i = 0; i < ncolumns; i++) {
        d->colflags[i] = bound ? spec->colflags[i] : 0;
        if (spec->force_not_null_all)
            d->colflags[i] |= COPY_COL_FORCE_NOT_NULL;
        if (spec->force_null_all)
            d->colflags[i] |= COPY_COL_FORCE_NULL;
    }
    if (bound && ncolumns > 0) {
        d->colnames = calloc(slots, sizeof(*d->colnames));
        if (!d->colnames)
            goto failed;
        for (int i = 0; i < ncolumns; i++)
            if (!(d->colnames[i] = strdup(spec->colnames[i])))
                goto failed;
    }
    d->special['\n'] = d->special['\r'] = 1;
    if (d->csv) {
        d->special[d->quote] = 1;
        d->special[d->escape] = 1;
    } else {
        d->special['\\'] = 1;
    }
    return d;

failed:
    copy_decoder_free(d);
    return NULL;
}

void copy_decoder_set_limit(struct copy_decoder *d, size_t max_row_bytes)
{
    d->max_row = max_row_bytes;
}

void copy_decoder_free(struct copy_decoder *d)
{
    if (!d)
        return;
    free(d->null_str);
    free(d->colflags);
    if (d->colnames)
        copy_free_list(d->colnames, d->ncolumns);
    free(d->relname);
    free(d->line.p);
    free(d->out.p);
    free(d->fields);
    free(d->lengths);
    free(d);
}

/*
 * Fail with PostgreSQL's CONTEXT for a line: with the line's text (at most
 * 100 bytes, cut at a character boundary, then "...") when the whole line
 * has been read, without it when the error came while reading it.
 */
static int copy_dec_fail(struct copy_decoder *d, const char *state, const char *hint,
                         const unsigned char *line, size_t n, uint64_t lineno, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static int copy_dec_fail(struct copy_decoder *d, const char *state, const char *hint,
                         const unsigned char *line, size_t n, uint64_t lineno, const char *fmt, ...)
{
    va_list ap;

    memcpy(d->sqlstate, state, 6);
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
    va_end(ap);
    if (line) {
        size_t show = n;
        if (n > COPY_CONTEXT_BYTES) {
            show = COPY_CONTEXT_BYTES;
            while (show > 0 && (line[show] & 0xC0) == 0x80)
                show--;
        }
        snprintf(d->detail, sizeof(d->detail), "COPY %s, line %llu: \"%.*s%s\"", d->relname,
                 (unsigned long long)lineno, (int)show, (const char *)line,
                 show < n ? "..." : "");
    } else {
        snprintf(d->detail, sizeof(d->detail), "COPY %s, line %llu", d->relname,
                 (unsigned long long)lineno);
    }
    d->hint = hint;
    d->state = COPY_DEC_FAILED;
    d->stop_rc = -1;
    return -1;
}

static int copy_dec_oom(struct copy_decoder *d)
{
    return copy_dec_fail(d, "53200", NULL, NULL, 0, d->lineno, "out of memory");
}

static int copy_dec_too_long(struct copy_decoder *d)
{
    return copy_dec_fail(d, "54000", NULL, NULL, 0, d->lineno,
                         "COPY line is longer than the limit of %zu bytes", d->max_row);
}

static int copy_dec_missing(struct copy_decoder *d, int col, const unsigned char *line, size_t n,
                            uint64_t lineno)
{
    if (d->colnames)
        return copy_dec_fail(d, "22P04", NULL, line, n, lineno, "missing data for column \"%s\"",
                             d->colnames[col]);
    return copy_dec_fail(d, "22P04", NULL, line, n, lineno, "missing data for column %d",
                         col + 1);
}

static int copy_dec_extra(struct copy_decoder *d, const unsigned char *line, size_t n,
                          uint64_t lineno)
{
    return copy_dec_fail(d, "22P04", NULL, line, n, lineno,
                         "extra data after last expected column");
}

/* CopyReadAttributesText: split a text line into d->fields.  Returns the field count or -1. */
static int copy_split_text(struct copy_decoder *d, const unsigned char *s, size_t n,
                           uint64_t lineno)
{
    const unsigned char *line = s, *e = s + n;
    unsigned char *o = (unsigned char *)d->out.p;
    const unsigned char delim = d->delim;
    int nf = 0;

    for (;;) {
        const unsigned char *start = s, *end;
        unsigned char *ostart = o;
        bool found_delim = false;

        if (nf == d->ncolumns)
            return copy_dec_extra(d, line, n, lineno);
        for (;;) {
            unsigned char c;

            while (s < e && *s != delim && *s != '\\')
                *o++ = *s++;
            end = s;
            if (s == e)
                break;
            c = *s++;
            if (c == delim) {
                found_delim = true;
                break;
            }
            if (s == e)
                break;          /* a backslash ending the data: dropped, as PostgreSQL does */
            c = *s++;
            bool coded = c == 'x' || (c >= '0' && c <= '7');
            switch (c) {
            case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
                unsigned v = c - '0';
                for (int k = 0; k < 2 && s < e && *s >= '0' && *s <= '7'; k++)
                    v = (v << 3) + (unsigned)(*s++ - '0');
                c = (unsigned char)v;
                break;
            }
            case 'x': {
                int h = s < e ? copy_hexval(*s) : -1;
                coded = h >= 0;
                if (h >= 0) {
                    unsigned v = (unsigned)h;
                    s++;
                    if (s < e && (h = copy_hexval(*s)) >= 0) {
                        v = (v << 4) | (unsigned)h;
                        s++;
                    }
                    c = (unsigned char)v;
                }
                break;
            }
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'v': c = '\v'; break;
            case '.':
                /* "\." anywhere but alone on its line (handled before splitting) */
                return copy_dec_fail(d, "22P04", NULL, NULL, 0, lineno,
                                     "end-of-copy marker is not alone on its line");
            default:
                break;
            }
            /* \000 or \x00: PostgreSQL's text holds no NUL, and the driver would end the value there */
            if (coded && c == 0)
                return copy_dec_fail(d, "22021", NULL, NULL, 0, lineno,
                                     "invalid byte sequence for encoding \"UTF8\": 0x00");
            *o++ = c;
        }
        /* the null marker is matched on the raw field, before de-escaping */
        if ((size_t)(end - start) == d->null_len && memcmp(start, d->null_str, d->null_len) == 0) {
            d->fields[nf] = NULL;
            d->lengths[nf] = 0;
            o = ostart;
        } else {
            d->fields[nf] = (char *)ostart;
            d->lengths[nf] = (size_t)(o - ostart);
            *o++ = '\0';
        }
        nf++;
        if (!found_delim)
            return nf;
    }
}

/* CopyReadAttributesCSV plus FORCE_NOT_NULL / FORCE_NULL.  Returns the field count or -1. */
static int copy_split_csv(struct copy_decoder *d, const unsigned char *s, size_t n,
                          uint64_t lineno)
{
    const unsigned char *line = s, *e = s + n;
    unsigned char *o = (unsigned char *)d->out.p;
    const unsigned char delim = d->delim, quote = d->quote, escape = d->escape;
    int nf = 0;

    for (;;) {
        const unsigned char *start = s, *end;
        unsigned char *ostart = o;
        bool found_delim = false, saw_quote = false, null;
        size_t len;

        if (nf == d->ncolumns)
            return copy_dec_extra(d, line, n, lineno);
        for (;;) {
            unsigned char c;

            /* outside quotes */
            for (;;) {
                end = s;
                if (s == e)
                    goto endfield;
                c = *s++;
                if (c == delim) {
                    found_delim = true;
                    goto endfield;
                }
                if (c == quote)
                    break;
                *o++ = c;
            }
            saw_quote = true;
            /* inside quotes */
            for (;;) {
                if (s == e)
                    return copy_dec_fail(d, "22P04", NULL, line, n, lineno,
                                         "unterminated CSV quoted field");
                c = *s++;
                /* escape before closing quote: they are the same byte by default */
                if (c == escape && s < e && (*s == escape || *s == quote)) {
                    *o++ = *s++;
                    continue;
                }
                if (c == quote)
                    break;
                *o++ = c;
            }
        }
    endfield:
        len = (size_t)(o - ostart);
        if (!saw_quote && (size_t)(end - start) == d->null_len &&
            memcmp(start, d->null_str, d->null_len) == 0) {
            /* unquoted null marker: NULL, unless FORCE_NOT_NULL keeps it as the string */
            null = !(d->colflags[nf] & COPY_COL_FORCE_NOT_NULL);
        } else {
            null = (d->colflags[nf] & COPY_COL_FORCE_NULL) && len == d->null_len &&
                   memcmp(ostart, d->null_str, len) == 0;
        }
        if (null) {
            d->fields[nf] = NULL;
            d->lengths[nf] = 0;
            o = ostart;
        } else {
            d->fields[nf] = (char *)ostart;
            d->lengths[nf] = len;
            *o++ = '\0';
        }
        nf++;
        if (!found_delim)
            return nf;
    }
}

/* The line's fields into d->fields: their count, or -1 (failed). */
static int copy_dec_split(struct copy_decoder *d, const unsigned char *s, size_t n, uint64_t lineno)
{
    /* fields never outgrow the line: each drops its delimiter for a NUL */
    if (n + 1 > d->out.cap) {
        d->out.len = 0;
        if (copy_str_reserve(&d->out, n + 1) < 0)
            return copy_dec_oom(d);
    }
    return d->csv ? copy_split_csv(d, s, n, lineno) : copy_split_text(d, s, n, lineno);
}

/*
 * HEADER MATCH: the header line's fields must be the columns' names, in
 * order, as PostgreSQL checks them.  pgiris knows the names only when the
 * statement lists them.
 */
static int copy_dec_header_match(struct copy_decoder *d, const unsigned char *s, size_t n, uint64_t lineno)
{
    int nf;

    if (!d->colnames)
        return copy_dec_fail(d, "0A000", NULL, NULL, 0, lineno,
                             "HEADER MATCH is supported by pgiris only with the columns listed in COPY");
    if ((nf = copy_dec_split(d, s, n, lineno)) < 0)
        return -1;
    if (nf != d->ncolumns)
        return copy_dec_fail(d, "22P04", NULL, NULL, 0, lineno,
                             "wrong number of fields in header line: got %d, expected %d", nf, d->ncolumns);
    for (int i = 0; i < nf; i++)
        if (!d->fields[i] || strcmp(d->fields[i], d->colnames[i]) != 0)
            return copy_dec_fail(d, "22P04", NULL, NULL, 0, lineno,
                                 "column name mismatch in header line field %d: got \"%s\", expected \"%s\"",
                                 i + 1, d->fields[i] ? d->fields[i] : "null value", d->colnames[i]);
    return 0;
}

/* One whole line (its terminator removed): end marker, header, or a row. */
static int copy_dec_line(struct copy_decoder *d, const unsigned char *s, size_t n,
                         copy_row_fn *row_cb, void *arg)
{
    uint64_t lineno = d->lineno++;
    int nf, rc;

    if (n == 2 && s[0] == '\\' && s[1] == '.') {
        d->state = COPY_DEC_DONE;
        return 0;
    }
    if (d->header) {
        d->header = false;
        return d->header_match ? copy_dec_header_match(d, s, n, lineno) : 0;
    }
    if (d->ncolumns == 0) {
        /* a table without columns: each empty line is a row */
        if (n != 0)
            return copy_dec_extra(d, s, n, lineno);
        nf = 0;
    } else {
        if ((nf = copy_dec_split(d, s, n, lineno)) < 0)
            return -1;
        if (nf < d->ncolumns)
            return copy_dec_missing(d, nf, s, n, lineno);
    }
    rc = row_cb(arg, d->fields, d->lengths, nf, lineno);
    if (rc) {
        d->state = COPY_DEC_FAILED;
        d->stop_rc = rc;
    }
    return rc;
}

/* Text: the first unescaped CR or LF in [q, end), or NULL. */
static const unsigned char *copy_scan_text(struct copy_decoder *d, const unsigned char *q,
                                           const unsigned char *end)
{
    const unsigned char *special = d->special;

    if (d->esc) {
        d->esc = false;
        q++;
    }
    for (;;) {
        while (q < end && !special[*q])
            q++;
        if (q == end)
            return NULL;
        if (*q != '\\')
            return q;
        if (q + 1 == end) {
            d->esc = true;
            return NULL;
        }
        q += 2;
    }
}

/* CSV: the first CR or LF outside quotes in [q, end), or NULL. */
static const unsigned char *copy_scan_csv(struct copy_decoder *d, const unsigned char *q,
                                          const unsigned char *end)
{
    const unsigned char *special = d->special;
    const unsigned char quote = d->quote, escape = d->escape;
    const unsigned char newline = d->eol == COPY_EOL_CR ? '\r' : '\n';

    if (d->esc_pending) {
        d->esc_pending = false;
        if (*q == quote || *q == escape)
            q++;
    }
    for (;;) {
        unsigned char c;

        while (q < end && !special[*q])
            q++;
        if (q == end)
            return NULL;
        c = *q;
        if (!d->in_quote) {
            if (c == '\n' || c == '\r')
                return q;
            if (c == quote)
                d->in_quote = true;
            q++;
        } else if (d->escape_pairs && c == escape) {
            if (q + 1 == end) {
                d->esc_pending = true;
                return NULL;
            }
            q += q[1] == quote || q[1] == escape ? 2 : 1;
        } else {
            if (c == quote)
                d->in_quote = false;
            else if (c == newline)
                d->lineno++;    /* PostgreSQL counts physical lines */
            q++;
        }
    }
}

static int copy_dec_eol_error(struct copy_decoder *d, bool cr, uint64_t lineno)
{
    if (cr)
        return copy_dec_fail(d, "22P04",
                             d->csv ? "Use quoted CSV field to represent carriage return."
                                    : "Use \"\\r\" to represent carriage return.",
                             NULL, 0, lineno, d->csv ? "unquoted carriage return found in data"
                                                     : "literal carriage return found in data");
    return copy_dec_fail(d, "22P04",
                         d->csv ? "Use quoted CSV field to represent newline."
                                : "Use \"\\n\" to represent newline.",
                         NULL, 0, lineno, d->csv ? "unquoted newline found in data"
                                                 : "literal newline found in data");
}

/* Keep [p, end) of a line that goes on in a later chunk. */
static int copy_dec_keep(struct copy_decoder *d, const unsigned char *p, const unsigned char *end)
{
    size_t n = (size_t)(end - p);

    if (n > d->max_row - d->line.len)
        return copy_dec_too_long(d);
    if (copy_str_add(&d->line, p, n) < 0)
        return copy_dec_oom(d);
    return 0;
}

/* The line gathered in d->line is whole. */
static int copy_dec_kept_line(struct copy_decoder *d, copy_row_fn *row_cb, void *arg)
{
    int rc = copy_dec_line(d, (const unsigned char *)d->line.p, d->line.len, row_cb, arg);

    d->line.len = 0;
    return rc;
}

int copy_decoder_feed(struct copy_decoder *d, const char *data, size_t len, copy_row_fn *row_cb,
                      void *arg)
{
    const unsigned char *p = (const unsigned char *)data, *end = p + len;

    if (d->state == COPY_DEC_FAILED)
        return d->stop_rc;
    while (p < end && d->state == COPY_DEC_READING) {
        const unsigned char *q;
        size_t term = 1;
        int rc;

        if (d->cr_pending) {
            d->cr_pending = false;
            if (*p == '\n') {
                d->eol = COPY_EOL_CRNL;
                p++;
            } else if (d->eol == COPY_EOL_CRNL) {
                return copy_dec_eol_error(d, true, d->lineno);
            } else {
                d->eol = COPY_EOL_CR;
            }
            if ((rc = copy_dec_kept_line(d, row_cb, arg)) != 0)
                return rc;
            continue;
        }
        q = d->csv ? copy_scan_csv(d, p, end) : copy_scan_text(d, p, end);
        if (!q)
            return copy_dec_keep(d, p, end);
        /* CopyReadLineText's rules: the first line fixes the newline style */
        if (*q == '\n') {
            if (d->eol == COPY_EOL_CR || d->eol == COPY_EOL_CRNL)
                return copy_dec_eol_error(d, false, d->lineno);
            d->eol = COPY_EOL_NL;
        } else if (d->eol == COPY_EOL_NL) {
            return copy_dec_eol_error(d, true, d->lineno);
        } else if (d->eol != COPY_EOL_CR) {
            if (q + 1 == end) {
                /*
                 * Whether this CR is a line end, half of one, or an error
                 * depends on the next byte: hold the line until it comes,
                 * so that chunking never changes what is delivered.
                 */
                d->cr_pending = true;
                return copy_dec_keep(d, p, q);
            }
            if (q[1] == '\n')
                d->eol = COPY_EOL_CRNL, term = 2;
            else if (d->eol == COPY_EOL_CRNL)
                return copy_dec_eol_error(d, true, d->lineno);
            else
                d->eol = COPY_EOL_CR;
        }
        if (d->line.len == 0) {
            if ((size_t)(q - p) > d->max_row)
                return copy_dec_too_long(d);
            rc = copy_dec_line(d, p, (size_t)(q - p), row_cb, arg);
        } else {
            rc = copy_dec_keep(d, p, q);
            if (rc == 0)
                rc = copy_dec_kept_line(d, row_cb, arg);
        }
        if (rc)
            return rc;
        p = q + term;
    }
    return 0;
}

int copy_decoder_finish(struct copy_decoder *d, copy_row_fn *row_cb, void *arg)
{
    int rc = 0;

    if (d->state == COPY_DEC_FAILED)
        return d->stop_rc;
    /* an open CSV quote shows up here as "unterminated CSV quoted field" */
    if (d->state == COPY_DEC_READING && (d->line.len > 0 || d->cr_pending)) {
        d->cr_pending = false;
        rc = copy_dec_kept_line(d, row_cb, arg);
    }
    if (d->state == COPY_DEC_READING)
        d->state = COPY_DEC_DONE;
    return rc;
}

const char *copy_decoder_error(const struct copy_decoder *d, char sqlstate[6], const char **detail)
{
    if (d->state != COPY_DEC_FAILED || d->msg[0] == '\0')
        return NULL;
    memcpy(sqlstate, d->sqlstate, 6);
    if (detail)
        *detail = d->detail;
    return d->msg;
}

const char *copy_decoder_hint(const struct copy_decoder *d)
{
    return d->state == COPY_DEC_FAILED && d->msg[0] ? d->hint : NULL;
}

/* ---- encoder ----------------------------------------------------------- */

/*
 * CopyAttributeOutText: control characters as C escapes, backslash and the
 * delimiter backslashed.  A NUL byte, which PostgreSQL's text type cannot
 * hold but an ODBC value can, is written \000 so that it reads back.
 */
static void copy_put_text(struct pgbuf *out, const unsigned char *s, size_t n, unsigned char delim)
{
    const unsigned char *start = s, *e = s + n;

    while (s < e) {
        unsigned char c = *s;

        if (c < 0x20) {
            switch (c) {
            case '\b': c = 'b'; break;
            case '\f': c = 'f'; break;
            case '\n': c = 'n'; break;
            case '\r': c = 'r'; break;
            case '\t': c = 't'; break;
            case '\v': c = 'v'; break;
            case '\0': c = '0'; break;
            default:
                if (c == delim)
                    goto backslash;
                s++;
                continue;
            }
            pgproto_put_bytes(out, start, (size_t)(s - start));
            pgproto_put_u8(out, '\\');
            pgproto_put_u8(out, c);
            if (c == '0')
                pgproto_put_bytes(out, "00", 2);
            start = ++s;
            continue;
        }
        if (c != '\\' && c != delim) {
            s++;
            continue;
        }
    backslash:
        /* the byte itself goes out with the next run */
        pgproto_put_bytes(out, start, (size_t)(s - start));
        pgproto_put_u8(out, '\\');
        start = s++;
    }
    pgproto_put_bytes(out, start, (size_t)(s - start));
}

/* CopyAttributeOutCSV. */
static void copy_put_csv(const struct copy_spec *spec, struct pgbuf *out, const unsigned char *s,
                         size_t n, bool use_quote, bool single)
{
    const unsigned char delim = (unsigned char)spec->delimiter;
    const unsigned char quote = (unsigned char)spec->quote, escape = (unsigned char)spec->escape;
    const unsigned char *start = s, *e = s + n;
    size_t null_len = strlen(spec->null_string);

    if (!use_quote && n == null_len && memcmp(s, spec->null_string, n) == 0)
        use_quote = true;
    /* "\." alone would read back as the end-of-data marker */
    if (!use_quote && single && n == 2 && s[0] == '\\' && s[1] == '.')
        use_quote = true;
    /* The escape character alone does not call for quotes (it means nothing outside them). */
    for (const unsigned char *t = s; !use_quote && t < e; t++)
        if (*t == delim || *t == quote || *t == '\n' || *t == '\r')
            use_quote = true;
    if (!use_quote) {
        pgproto_put_bytes(out, s, n);
        return;
    }
    pgproto_put_u8(out, quote);
    for (; s < e; s++) {
        if (*s == quote || *s == escape) {
            pgproto_put_bytes(out, start, (size_t)(s - start));
            pgproto_put_u8(out, escape);
            start = s;
        }
    }
    pgproto_put_bytes(out, start, (size_t)(s - start));
    pgproto_put_u8(out, quote);
}

int copy_encode_row(const struct copy_spec *spec, struct pgbuf *out, const char *const *values,
                    const size_t *lengths, int n)
{
    bool csv = spec->format == COPY_CSV;

    if (spec->format == COPY_BINARY || (csv && spec->nforce_quote && spec->ncolnames != n))
        return -1;
    for (int i = 0; i < n; i++) {
        const unsigned char *v = (const unsigned char *)values[i];
        size_t len;

        if (i)
            pgproto_put_u8(out, (uint8_t)spec->delimiter);
        if (!v) {
            pgproto_put_bytes(out, spec->null_string, strlen(spec->null_string));
            continue;
        }
        len = lengths ? lengths[i] : strlen(values[i]);
        if (csv)
            copy_put_csv(spec, out, v, len,
                         spec->force_quote_all ||
                             (spec->nforce_quote && (spec->colflags[i] & COPY_COL_FORCE_QUOTE)),
                         n == 1);
        else
            copy_put_text(out, v, len, (unsigned char)spec->delimiter);
    }
    pgproto_put_u8(out, '\n');
    return out->oom ? -1 : 0;
}

int copy_encode_header(const struct copy_spec *spec, struct pgbuf *out, const char *const *names,
                       int n)
{
    if (spec->format == COPY_BINARY)
        return -1;
    for (int i = 0; i < n; i++) {
        const unsigned char *v = (const unsigned char *)names[i];

        if (i)
            pgproto_put_u8(out, (uint8_t)spec->delimiter);
        if (spec->format == COPY_CSV)
            copy_put_csv(spec, out, v, strlen(names[i]), false, n == 1);
        else
            copy_put_text(out, v, strlen(names[i]), (unsigned char)spec->delimiter);
    }
    pgproto_put_u8(out, '\n');
    return out->oom ? -1 : 0;
}
