/*
 * sql_lexer: PostgreSQL's lexical structure (src/backend/parser/scan.l and
 * the "Lexical Structure" chapter of the PostgreSQL documentation) as a
 * single-pass scanner over the caller's text, and the two uses every query
 * has for it before translation: splitting a simple-query string at its
 * top-level semicolons and naming a statement's command.
 *
 * Nothing here allocates.  The scanner produces one token at a time, so
 * sql_split and sql_command work on statements of any size and number.
 * Character classes come from one table; no regular expressions.
 */
#include "common/sql_lexer.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum {
    CC_SPACE = 1 << 0,
    CC_IDSTART = 1 << 1,        /* may start an identifier or dollar-quote tag */
    CC_IDCONT = 1 << 2,         /* may continue an identifier ($ included) */
    CC_TAGCONT = 1 << 3,        /* may continue a dollar-quote tag ($ excluded) */
    CC_DIGIT = 1 << 4,
    CC_OP = 1 << 5,             /* may be part of an operator */
    CC_OPLONG = 1 << 6,         /* lets a multi-char operator end in + or - */
    CC_PUNCT = 1 << 7,          /* always a token of its own */
};

#define CC_LETTER (CC_IDSTART | CC_IDCONT | CC_TAGCONT)
#define SQL_NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const uint8_t sql_cc[256] = {
    [' '] = CC_SPACE, ['\t'] = CC_SPACE, ['\n'] = CC_SPACE,
    ['\r'] = CC_SPACE, ['\f'] = CC_SPACE, ['\v'] = CC_SPACE,
    ['A' ... 'Z'] = CC_LETTER, ['a' ... 'z'] = CC_LETTER, ['_'] = CC_LETTER,
    [0x80 ... 0xff] = CC_LETTER,
    ['0' ... '9'] = CC_DIGIT | CC_IDCONT | CC_TAGCONT,
    ['$'] = CC_IDCONT,
    ['+'] = CC_OP, ['-'] = CC_OP, ['*'] = CC_OP, ['/'] = CC_OP,
    ['<'] = CC_OP, ['>'] = CC_OP, ['='] = CC_OP,
    ['~'] = CC_OP | CC_OPLONG, ['!'] = CC_OP | CC_OPLONG, ['@'] = CC_OP | CC_OPLONG,
    ['#'] = CC_OP | CC_OPLONG, ['%'] = CC_OP | CC_OPLONG, ['^'] = CC_OP | CC_OPLONG,
    ['&'] = CC_OP | CC_OPLONG, ['|'] = CC_OP | CC_OPLONG, ['`'] = CC_OP | CC_OPLONG,
    ['?'] = CC_OP | CC_OPLONG,
    ['('] = CC_PUNCT, [')'] = CC_PUNCT, ['['] = CC_PUNCT, [']'] = CC_PUNCT,
    [','] = CC_PUNCT, [';'] = CC_PUNCT, [':'] = CC_PUNCT, ['.'] = CC_PUNCT,
};

static inline bool sql_is(unsigned char c, unsigned cls)
{
    return (sql_cc[c] & cls) != 0;
}

/* How the body of a '...' literal ends. */
enum sql_quote {
    SQL_QUOTE_STD,              /* '' is a quote; backslash is ordinary */
    SQL_QUOTE_ESC,              /* '' or \x; a backslash always takes the next byte */
    SQL_QUOTE_BIT,              /* B'' / X'': the first quote ends it */
};

struct sql_lexer {
    const unsigned char *s;
    size_t len;
    size_t pos;
    /*
     * A literal followed by white space holding a newline and another quote
     * continues there (SQL standard).  The continuation must be scanned
     * under the first part's rules, or E'a'\n'b\'c' would end too early.
     */
    size_t cont_at;
    enum sql_quote cont_quote;
    enum sql_tok cont_type;
    const char *cont_msg;
};

/* Internal tokens carry size_t offsets so sql_split has no 4 GB limit. */
struct sql_lexeme {
    enum sql_tok type;
    size_t off;
    size_t len;
};

static const char sql_msg_string[] = "unterminated quoted string";
static const char sql_msg_ident[] = "unterminated quoted identifier";
static const char sql_msg_dollar[] = "unterminated dollar-quoted string";
static const char sql_msg_comment[] = "unterminated /* comment";
static const char sql_msg_bit[] = "unterminated bit string literal";
static const char sql_msg_hex[] = "unterminated hexadecimal string literal";

static void sql_lexer_init(struct sql_lexer *lx, const char *text, size_t len)
{
    lx->s = (const unsigned char *)text;
    lx->len = len;
    lx->pos = 0;
    lx->cont_at = SIZE_MAX;
    lx->cont_quote = SQL_QUOTE_STD;
    lx->cont_type = SQL_TOK_STRING;
    lx->cont_msg = sql_msg_string;
}

/* The byte at i, or NUL past the end: callers only compare with non-NUL bytes. */
static inline unsigned char sql_at(const struct sql_lexer *lx, size_t i)
{
    return i < lx->len ? lx->s[i] : '\0';
}

static int sql_lex_fail(struct sql_lex_error *err, size_t off, const char *msg)
{
    if (err) {
        err->off = off > UINT32_MAX ? UINT32_MAX : (uint32_t)off;
        err->message = msg;
    }
    return -1;
}

/* End of a quoted body starting at p (after the opening quote), or SIZE_MAX. */
static size_t sql_quoted_end(const struct sql_lexer *lx, size_t p, enum sql_quote quote)
{
    const unsigned char *s = lx->s;
    size_t len = lx->len;

    while (p < len) {
        if (quote != SQL_QUOTE_ESC) {
            const unsigned char *q = memchr(s + p, '\'', len - p);
            if (!q)
                return SIZE_MAX;
            p = (size_t)(q - s);
        } else if (s[p] == '\\') {
            p += 2;
            continue;
        } else if (s[p] != '\'') {
            p++;
            continue;
        }
        if (quote != SQL_QUOTE_BIT && sql_at(lx, p + 1) == '\'') {
            p += 2;
            continue;
        }
        return p + 1;
    }
    return SIZE_MAX;
}

/*
 * Offset of the quote that continues a literal ending at p, or SIZE_MAX.
 * scan.l allows spaces and -- comments in between, with at least one
 * newline; a block comment breaks the continuation.
 */
static size_t sql_continuation(const struct sql_lexer *lx, size_t p)
{
    bool newline = false;

    while (p < lx->len) {
        unsigned char c = lx->s[p];
        if (c == '\n' || c == '\r') {
            newline = true;
            p++;
        } else if (sql_is(c, CC_SPACE)) {
            p++;
        } else if (c == '-' && sql_at(lx, p + 1) == '-') {
            while (p < lx->len && lx->s[p] != '\n' && lx->s[p] != '\r')
                p++;
        } else {
            break;
        }
    }
    return newline && sql_at(lx, p) == '\'' ? p : SIZE_MAX;
}

static int sql_lex_quoted(struct sql_lexer *lx, size_t start, size_t body, enum sql_quote quote,
                          enum sql_tok type, const char *msg, struct sql_lexeme *t,
                          struct sql_lex_error *err)
{
    size_t end = sql_quoted_end(lx, body, quote);

    if (end == SIZE_MAX)
        return sql_lex_fail(err, start, msg);
    t->type = type;
    t->off = start;
    t->len = end - start;
    lx->pos = end;
    lx->cont_at = sql_continuation(lx, end);
    lx->cont_quote = quote;
    lx->cont_type = type;
    lx->cont_msg = msg;
    return 1;
}

static int sql_lex_qident(struct sql_lexer *lx, size_t start, size_t body, struct sql_lexeme *t,
                          struct sql_lex_error *err)
{
    const unsigned char *s = lx->s;
    size_t p = body;

    for (;;) {
        const unsigned char *q = p < lx->len ? memchr(s + p, '"', lx->len - p) : NULL;
        if (!q)
            return sql_lex_fail(err, start, sql_msg_ident);
        p = (size_t)(q - s) + 1;
        if (sql_at(lx, p) != '"')
            break;
        p++;
    }
    t->type = SQL_TOK_QIDENT;
    t->off = start;
    t->len = p - start;
    lx->pos = p;
    return 1;
}

/* $tag$ at start (its length is already known): find the same delimiter again. */
static int sql_lex_dollar(struct sql_lexer *lx, size_t start, size_t dlen, struct sql_lexeme *t,
                          struct sql_lex_error *err)
{
    const unsigned char *s = lx->s;
    size_t p = start + dlen;

    /*
     * Checking every '$' for the opening delimiter is what scan.l does too:
     * a tag cannot contain '$', so "$x$" in the body is recognised at each
     * '$' whatever came before it.
     */
    for (;;) {
        const unsigned char *q = p < lx->len ? memchr(s + p, '$', lx->len - p) : NULL;
        if (!q)
            return sql_lex_fail(err, start, sql_msg_dollar);
        p = (size_t)(q - s);
        if (lx->len - p >= dlen && memcmp(s + p, s + start, dlen) == 0)
            break;
        p++;
    }
    t->type = SQL_TOK_DOLLAR;
    t->off = start;
    t->len = p + dlen - start;
    lx->pos = p + dlen;
    return 1;
}

static int sql_lex_block_comment(struct sql_lexer *lx, size_t start, struct sql_lexeme *t,
                                 struct sql_lex_error *err)
{
    size_t p = start + 2;
    size_t depth = 1;

    while (p < lx->len) {
        unsigned char c = lx->s[p];
        if (c == '*' && sql_at(lx, p + 1) == '/') {
            p += 2;
            if (--depth == 0)
                break;
        } else if (c == '/' && sql_at(lx, p + 1) == '*') {
            p += 2;
            depth++;
        } else {
            p++;
        }
    }
    if (depth)
        return sql_lex_fail(err, start, sql_msg_comment);
    t->type = SQL_TOK_COMMENT;
    t->off = start;
    t->len = p - start;
    lx->pos = p;
    return 1;
}

/* Digits with single underscores between them (PostgreSQL 16); s[p] is a digit. */
static size_t sql_scan_decimal(const struct sql_lexer *lx, size_t p)
{
    p++;
    while (p < lx->len) {
        if (sql_is(lx->s[p], CC_DIGIT))
            p++;
        else if (lx->s[p] == '_' && sql_is(sql_at(lx, p + 1), CC_DIGIT))
            p += 2;
        else
            break;
    }
    return p;
}

static bool sql_digit_in_base(unsigned char c, int base)
{
    if (base == 16)
        return sql_is(c, CC_DIGIT) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
    return c >= '0' && c < '0' + base;
}

/*
 * A number at start (a digit, or '.' before a digit).  What scan.l calls
 * junk (1abc, 0x, 1e+) ends the number where the valid part ends, the way
 * PostgreSQL before 15 read it; the parser downstream rejects the rest.
 */
static size_t sql_scan_number(const struct sql_lexer *lx, size_t start)
{
    size_t p = start;

    if (lx->s[p] == '0') {
        unsigned char x = sql_at(lx, p + 1) | 0x20;
        int base = x == 'x' ? 16 : x == 'o' ? 8 : x == 'b' ? 2 : 0;
        if (base) {
            size_t q = p + 2;
            for (;;) {
                size_t d = q + (sql_at(lx, q) == '_');
                if (d >= lx->len || !sql_digit_in_base(lx->s[d], base))
                    break;
                q = d + 1;
            }
            if (q > p + 2)
                return q;
        }
    }
    if (lx->s[p] == '.') {
        p = sql_scan_decimal(lx, p + 1);
    } else {
        p = sql_scan_decimal(lx, p);
        if (sql_at(lx, p) == '.') {
            /* "1..5" is 1 followed by the .. token (PL/pgSQL ranges) */
            if (sql_at(lx, p + 1) == '.')
                return p;
            p++;
            if (sql_is(sql_at(lx, p), CC_DIGIT))
                p = sql_scan_decimal(lx, p);
        }
    }
    if ((sql_at(lx, p) | 0x20) == 'e') {
        size_t q = p + 1;
        if (sql_at(lx, q) == '+' || sql_at(lx, q) == '-')
            q++;
        if (sql_is(sql_at(lx, q), CC_DIGIT))
            p = sql_scan_decimal(lx, q);
    }
    return p;
}

/* An operator run at start, cut where scan.l cuts it. */
static size_t sql_scan_operator(const struct sql_lexer *lx, size_t start)
{
    size_t p = start + 1;
    size_t n;

    while (p < lx->len && sql_is(lx->s[p], CC_OP)) {
        unsigned char c = lx->s[p], next = sql_at(lx, p + 1);
        if ((c == '-' && next == '-') || (c == '/' && next == '*'))
            break;
        p++;
    }
    n = p - start;
    /*
     * "=-1" must read as = and -1, so a run may end in + or - only when it
     * holds a character no SQL-standard operator uses (then it cannot be a
     * sequence of standard operators).
     */
    if (n > 1 && (lx->s[start + n - 1] == '+' || lx->s[start + n - 1] == '-')) {
        bool keep = false;
        for (size_t i = start; i < start + n - 1; i++) {
            if (sql_is(lx->s[i], CC_OPLONG)) {
                keep = true;
                break;
            }
        }
        while (!keep && n > 1 && (lx->s[start + n - 1] == '+' || lx->s[start + n - 1] == '-'))
            n--;
    }
    return start + n;
}

static size_t sql_scan_ident(const struct sql_lexer *lx, size_t p)
{
    p++;
    while (p < lx->len && sql_is(lx->s[p], CC_IDCONT))
        p++;
    return p;
}

/*
 * The next token into *t.  Returns 1 for a token, 0 at the end of the
 * text, -1 for an unterminated construct (err filled in when not NULL).
 * Forced inline into sql_lex, whose loop is the translator's hottest: the
 * call and the saving of registers were a third of its instructions.
 */
static inline __attribute__((always_inline)) int sql_lex_token(struct sql_lexer *lx,
                                                               struct sql_lexeme *t,
                                                               struct sql_lex_error *err)
{
    const unsigned char *s = lx->s;
    size_t p = lx->pos;
    size_t start, end;
    unsigned char c, next;

    while (p < lx->len && sql_is(s[p], CC_SPACE))
        p++;
    if (p >= lx->len) {
        lx->pos = p;
        return 0;
    }
    start = p;
    c = s[p];
    next = sql_at(lx, p + 1);
    t->off = start;

    switch (c) {
    case '\'':
        if (start == lx->cont_at)
            return sql_lex_quoted(lx, start, start + 1, lx->cont_quote, lx->cont_type,
                                  lx->cont_msg, t, err);
        return sql_lex_quoted(lx, start, start + 1, SQL_QUOTE_STD, SQL_TOK_STRING,
                              sql_msg_string, t, err);
    case '"':
        return sql_lex_qident(lx, start, start + 1, t, err);
    case 'E': case 'e':
        if (next == '\'')
            return sql_lex_quoted(lx, start, start + 2, SQL_QUOTE_ESC, SQL_TOK_ESTRING,
                                  sql_msg_string, t, err);
        break;
    case 'B': case 'b':
        if (next == '\'')
            return sql_lex_quoted(lx, start, start + 2, SQL_QUOTE_BIT, SQL_TOK_BSTRING,
                                  sql_msg_bit, t, err);
        break;
    case 'X': case 'x':
        if (next == '\'')
            return sql_lex_quoted(lx, start, start + 2, SQL_QUOTE_BIT, SQL_TOK_BSTRING,
                                  sql_msg_hex, t, err);
        break;
    case 'N': case 'n':
        if (next == '\'')
            return sql_lex_quoted(lx, start, start + 2, SQL_QUOTE_STD, SQL_TOK_STRING,
                                  sql_msg_string, t, err);
        break;
    case 'U': case 'u':
        if (next == '&' && sql_at(lx, start + 2) == '\'')
            return sql_lex_quoted(lx, start, start + 3, SQL_QUOTE_STD, SQL_TOK_STRING,
                                  sql_msg_string, t, err);
        if (next == '&' && sql_at(lx, start + 2) == '"')
            return sql_lex_qident(lx, start, start + 3, t, err);
        break;
    case '$':
        if (sql_is(next, CC_DIGIT)) {
            end = start + 1;
            while (end < lx->len && sql_is(s[end], CC_DIGIT))
                end++;
            t->type = SQL_TOK_PARAM;
            goto done;
        }
        end = start + 1;
        if (sql_is(next, CC_IDSTART)) {
            end++;
            while (end < lx->len && sql_is(s[end], CC_TAGCONT))
                end++;
        }
        if (sql_at(lx, end) == '$')
            return sql_lex_dollar(lx, start, end + 1 - start, t, err);
        /* a stray '$' is scan.l's {other}: a one-byte token the parser rejects */
        end = start + 1;
        t->type = SQL_TOK_OP;
        goto done;
    case '.':
        if (sql_is(next, CC_DIGIT)) {
            end = sql_scan_number(lx, start);
            t->type = SQL_TOK_NUMBER;
            goto done;
        }
        /* scan.l's DOT_DOT */
        end = start + (next == '.' ? 2 : 1);
        t->type = next == '.' ? SQL_TOK_OP : SQL_TOK_PUNCT;
        goto done;
    case ':':
        /* scan.l's TYPECAST and COLON_EQUALS */
        end = start + (next == ':' || next == '=' ? 2 : 1);
        t->type = end - start == 2 ? SQL_TOK_OP : SQL_TOK_PUNCT;
        goto done;
    case '-':
        if (next == '-') {
            end = start + 2;
            while (end < lx->len && s[end] != '\n' && s[end] != '\r')
                end++;
            t->type = SQL_TOK_COMMENT;
            goto done;
        }
        break;
    case '/':
        if (next == '*')
            return sql_lex_block_comment(lx, start, t, err);
        break;
    default:
        break;
    }

    if (sql_is(c, CC_IDSTART)) {
        end = sql_scan_ident(lx, start);
        t->type = SQL_TOK_IDENT;
    } else if (sql_is(c, CC_DIGIT)) {
        end = sql_scan_number(lx, start);
        t->type = SQL_TOK_NUMBER;
    } else if (sql_is(c, CC_OP)) {
        end = sql_scan_operator(lx, start);
        t->type = SQL_TOK_OP;
    } else {
        /* punctuation, or a byte scan.l passes through alone as {other} */
        end = start + 1;
        t->type = sql_is(c, CC_PUNCT) ? SQL_TOK_PUNCT : SQL_TOK_OP;
    }
done:
    t->len = end - start;
    lx->pos = end;
    return 1;
}

/* sql_lex_token for the callers that go a token at a time. */
static int sql_lex_next(struct sql_lexer *lx, struct sql_lexeme *t, struct sql_lex_error *err)
{
    return sql_lex_token(lx, t, err);
}

int sql_lex(const char *text, size_t len, struct sql_token *toks, size_t max, size_t *ntok,
            struct sql_lex_error *err)
{
    struct sql_lexer lx;
    struct sql_lexeme t;
    size_t n = 0;
    int rc;

    /* token offsets are 32-bit; max_message_size keeps real queries far below */
    if (len > UINT32_MAX) {
        *ntok = 0;
        return sql_lex_fail(err, 0, "query string too long");
    }
    sql_lexer_init(&lx, text, len);
    while ((rc = sql_lex_token(&lx, &t, err)) > 0) {
        if (n < max) {
            toks[n].type = t.type;
            toks[n].off = (uint32_t)t.off;
            toks[n].len = (uint32_t)t.len;
        }
        n++;
    }
    *ntok = n;
    return rc < 0 ? -1 : 0;
}

/* The first operator token outside quotes and comments holding one of chars: its offset (its length in *n), or -1. */
static long sql_find_op_with(const char *text, size_t len, const char *chars, size_t *n)
{
    struct sql_lexer lx;
    struct sql_lexeme t;
    const char *c;

    for (c = chars; *c != '\0' && memchr(text, *c, len) == NULL; c++)
        ;
    if (*c == '\0')
        return -1;
    sql_lexer_init(&lx, text, len);
    while (sql_lex_token(&lx, &t, NULL) > 0) {
        if (t.type != SQL_TOK_OP)
            continue;
        for (size_t i = 0; i < t.len; i++)
            if (strchr(chars, lx.s[t.off + i]) != NULL) {
                *n = t.len;
                return (long)t.off;
            }
    }
    return -1;
}

long sql_find_brace(const char *text, size_t len)
{
    size_t n;
    /* A brace lexes as an operator of its own. */
    return sql_find_op_with(text, len, "{}", &n);
}

long sql_find_qmark_op(const char *text, size_t len, size_t *oplen)
{
    return sql_find_op_with(text, len, "?", oplen);
}

/* ---- statements -------------------------------------------------------- */

/* ASCII-only, so the result does not depend on the locale (Turkish i). */
static bool sql_word_is(const unsigned char *w, size_t n, const char *kw)
{
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = w[i];
        if (kw[i] == '\0')
            return false;
        if (c >= 'a' && c <= 'z')
            c -= 'a' - 'A';
        if (c != (unsigned char)kw[i])
            return false;
    }
    return kw[i] == '\0';
}

/*
 * Whether t is the keyword kw (upper case, starting with a letter).  The
 * classifier asks this of most tokens it walks, mostly to hear no: the first
 * letter settles that before the word is compared.
 */
static inline bool sql_tok_is(const struct sql_lexer *lx, const struct sql_lexeme *t, const char *kw)
{
    return t->type == SQL_TOK_IDENT && (lx->s[t->off] & ~0x20) == (unsigned char)kw[0] &&
           sql_word_is(lx->s + t->off, t->len, kw);
}

static bool sql_tok_punct(const struct sql_lexer *lx, const struct sql_lexeme *t, char c)
{
    return t->type == SQL_TOK_PUNCT && lx->s[t->off] == (unsigned char)c;
}

/*
 * What makes a ';' part of a statement rather than its end: parentheses,
 * and the BEGIN ATOMIC ... END body of a SQL-standard routine (psql tracks
 * the same two things, so a script that works there splits the same way).
 */
struct sql_split_state {
    size_t start;               /* first token's offset, SIZE_MAX before it */
    size_t end;
    size_t parens;
    size_t atomic;              /* BEGIN ATOMIC / CASE nesting inside a routine body */
    int prefix;                 /* words of CREATE [OR REPLACE] FUNCTION|PROCEDURE seen */
    bool routine;
    bool after_begin;
};

enum {
    SQL_PREFIX_NONE = -1,
    SQL_PREFIX_START = 0,
    SQL_PREFIX_CREATE,
    SQL_PREFIX_OR,
    SQL_PREFIX_REPLACE,
};

static void sql_split_reset(struct sql_split_state *st)
{
    memset(st, 0, sizeof(*st));
    st->start = SIZE_MAX;
    st->prefix = SQL_PREFIX_START;
}

static void sql_split_word(struct sql_split_state *st, const struct sql_lexer *lx,
                           const struct sql_lexeme *t)
{
    bool after_begin = st->after_begin;

    st->after_begin = false;
    if (t->type != SQL_TOK_IDENT) {
        if (!st->routine)
            st->prefix = SQL_PREFIX_NONE;
        return;
    }
    if (!st->routine) {
        bool routine_word = sql_tok_is(lx, t, "FUNCTION") || sql_tok_is(lx, t, "PROCEDURE");
        switch (st->prefix) {
        case SQL_PREFIX_START:
            st->prefix = sql_tok_is(lx, t, "CREATE") ? SQL_PREFIX_CREATE : SQL_PREFIX_NONE;
            return;
        case SQL_PREFIX_CREATE:
            st->routine = routine_word;
            st->prefix = sql_tok_is(lx, t, "OR") ? SQL_PREFIX_OR : SQL_PREFIX_NONE;
            return;
        case SQL_PREFIX_OR:
            st->prefix = sql_tok_is(lx, t, "REPLACE") ? SQL_PREFIX_REPLACE : SQL_PREFIX_NONE;
            return;
        case SQL_PREFIX_REPLACE:
            st->routine = routine_word;
            st->prefix = SQL_PREFIX_NONE;
            return;
        default:
            return;
        }
    }
    if (st->parens)
        return;
    if (sql_tok_is(lx, t, "BEGIN"))
        st->after_begin = true;
    else if (sql_tok_is(lx, t, "ATOMIC") && after_begin)
        st->atomic++;
    else if (sql_tok_is(lx, t, "CASE") && st->atomic)
        st->atomic++;
    else if (sql_tok_is(lx, t, "END") && st->atomic)
        st->atomic--;
}

int sql_split(const char *text, size_t len,
              int (*fn)(void *arg, const char *stmt, size_t stmt_len), void *arg,
              struct sql_lex_error *err)
{
    struct sql_lexer lx;
    struct sql_lexeme t;
    struct sql_split_state st;
    int rc;

    /* fn must not see any statement of a string that does not lex */
    sql_lexer_init(&lx, text, len);
    while ((rc = sql_lex_next(&lx, &t, err)) > 0)
        ;
    if (rc < 0)
        return -1;

    sql_lexer_init(&lx, text, len);
    sql_split_reset(&st);
    while (sql_lex_next(&lx, &t, NULL) > 0) {
        if (t.type == SQL_TOK_COMMENT)
            continue;
        if (sql_tok_punct(&lx, &t, ';') && st.parens == 0 && st.atomic == 0) {
            if (st.start != SIZE_MAX) {
                rc = fn(arg, text + st.start, st.end - st.start);
                if (rc)
                    return rc;
            }
            sql_split_reset(&st);
            continue;
        }
        if (st.start == SIZE_MAX)
            st.start = t.off;
        st.end = t.off + t.len;
        if (sql_tok_punct(&lx, &t, '('))
            st.parens++;
        else if (sql_tok_punct(&lx, &t, ')') && st.parens)
            st.parens--;
        sql_split_word(&st, &lx, &t);
    }
    if (st.start != SIZE_MAX)
        return fn(arg, text + st.start, st.end - st.start);
    return 0;
}

/* ---- command names ----------------------------------------------------- */

/* The verb being built: always NUL-terminated, silently truncated. */
struct sql_verb {
    char *buf;
    size_t cap;
    size_t n;
};

static void sql_verb_add(struct sql_verb *v, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n && v->n + 1 < v->cap; i++) {
        unsigned char c = s[i];
        v->buf[v->n++] = (char)(c >= 'a' && c <= 'z' ? c - ('a' - 'A') : c);
    }
    if (v->cap)
        v->buf[v->n] = '\0';
}

static void sql_verb_str(struct sql_verb *v, const char *s)
{
    sql_verb_add(v, (const unsigned char *)s, strlen(s));
}

/*
 * Comment-free token cursor; copying it is how the classifier looks ahead.
 * It lexes as it goes, or walks tokens lexed before (toks).
 */
struct sql_cursor {
    struct sql_lexer lx;
    const struct sql_token *toks;
    size_t ntoks, ti;
};

static bool sql_cur_lex_next(struct sql_cursor *c, struct sql_lexeme *t)
{
    while (sql_lex_next(&c->lx, t, NULL) > 0)
        if (t->type != SQL_TOK_COMMENT)
            return true;
    return false;
}

/* Inline: sql_cur_find walks whole statements through it. */
static inline bool sql_cur_next(struct sql_cursor *c, struct sql_lexeme *t)
{
    if (c->toks == NULL)
        return sql_cur_lex_next(c, t);
    while (c->ti < c->ntoks) {
        const struct sql_token *k = &c->toks[c->ti++];
        if (k->type == SQL_TOK_COMMENT)
            continue;
        t->type = k->type;
        t->off = k->off;
        t->len = k->len;
        return true;
    }
    return false;
}

/* Consume the next token if it is keyword kw. */
static bool sql_cur_accept(struct sql_cursor *c, const char *kw)
{
    struct sql_cursor save = *c;
    struct sql_lexeme t;

    if (sql_cur_next(c, &t) && sql_tok_is(&c->lx, &t, kw))
        return true;
    *c = save;
    return false;
}

static bool sql_cur_accept_any(struct sql_cursor *c, const char *const *kws, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (sql_cur_accept(c, kws[i]))
            return true;
    return false;
}

static bool sql_cur_accept_punct(struct sql_cursor *c, char p)
{
    struct sql_cursor save = *c;
    struct sql_lexeme t;

    if (sql_cur_next(c, &t) && sql_tok_punct(&c->lx, &t, p))
        return true;
    *c = save;
    return false;
}

static bool sql_cur_accept_type(struct sql_cursor *c, enum sql_tok type)
{
    struct sql_cursor save = *c;
    struct sql_lexeme t;

    if (sql_cur_next(c, &t) && t.type == type)
        return true;
    *c = save;
    return false;
}

/* After a '(': consume through its matching ')'.  False if there is none. */
static bool sql_cur_skip_parens(struct sql_cursor *c)
{
    struct sql_lexeme t;
    size_t depth = 1;

    while (sql_cur_next(c, &t)) {
        if (sql_tok_punct(&c->lx, &t, '('))
            depth++;
        else if (sql_tok_punct(&c->lx, &t, ')') && --depth == 0)
            return true;
    }
    return false;
}

/* Consume tokens through keyword kw outside parentheses.  False if there is none. */
static bool sql_cur_find(struct sql_cursor *c, const char *kw)
{
    struct sql_lexeme t;
    size_t depth = 0, kwlen = strlen(kw);

    while (sql_cur_next(c, &t)) {
        if (sql_tok_punct(&c->lx, &t, '('))
            depth++;
        else if (sql_tok_punct(&c->lx, &t, ')') && depth)
            depth--;
        else if (depth == 0 && t.len == kwlen && sql_tok_is(&c->lx, &t, kw))
            return true;
    }
    return false;
}

/* Words that may come between CREATE and the kind of object it makes. */
static const char *const sql_create_modifiers[] = {
    "TEMP", "TEMPORARY", "UNLOGGED", "UNIQUE", "GLOBAL", "LOCAL", "TRUSTED",
    "PROCEDURAL", "DEFAULT", "RECURSIVE", "CONSTRAINT",
};

/* Objects named by more than one word, or whose tag is not their name. */
static const struct sql_ddl_object {
    const char *words[3];
    const char *tag;
} sql_ddl_objects[] = {
    { { "ACCESS", "METHOD" }, "ACCESS METHOD" },
    { { "DEFAULT", "PRIVILEGES" }, "DEFAULT PRIVILEGES" },
    { { "EVENT", "TRIGGER" }, "EVENT TRIGGER" },
    { { "FOREIGN", "DATA", "WRAPPER" }, "FOREIGN DATA WRAPPER" },
    { { "FOREIGN", "TABLE" }, "FOREIGN TABLE" },
    { { "LARGE", "OBJECT" }, "LARGE OBJECT" },
    { { "MATERIALIZED", "VIEW" }, "MATERIALIZED VIEW" },
    { { "OPERATOR", "CLASS" }, "OPERATOR CLASS" },
    { { "OPERATOR", "FAMILY" }, "OPERATOR FAMILY" },
    { { "TEXT", "SEARCH", "CONFIGURATION" }, "TEXT SEARCH CONFIGURATION" },
    { { "TEXT", "SEARCH", "DICTIONARY" }, "TEXT SEARCH DICTIONARY" },
    { { "TEXT", "SEARCH", "PARSER" }, "TEXT SEARCH PARSER" },
    { { "TEXT", "SEARCH", "TEMPLATE" }, "TEXT SEARCH TEMPLATE" },
    { { "USER", "MAPPING" }, "USER MAPPING" },
    { { "USER" }, "ROLE" },
    { { "GROUP" }, "ROLE" },
};

static bool sql_cur_accept_object(struct sql_cursor *c, const struct sql_ddl_object *o)
{
    struct sql_cursor save = *c;

    for (size_t i = 0; i < 3 && o->words[i]; i++) {
        if (!sql_cur_accept(c, o->words[i])) {
            *c = save;
            return false;
        }
    }
    return true;
}

/* CREATE / ALTER / DROP: the verb is PostgreSQL's command tag. */
static enum sql_command sql_cmd_ddl(struct sql_cursor *c, const char *action, struct sql_verb *v)
{
    bool create = strcmp(action, "CREATE") == 0;
    struct sql_lexeme t;

    sql_verb_str(v, action);
    while (create) {
        if (sql_cur_accept(c, "OR"))
            sql_cur_accept(c, "REPLACE");
        else if (!sql_cur_accept_any(c, sql_create_modifiers, SQL_NELEM(sql_create_modifiers)))
            break;
    }
    for (size_t i = 0; i < SQL_NELEM(sql_ddl_objects); i++) {
        if (sql_cur_accept_object(c, &sql_ddl_objects[i])) {
            sql_verb_str(v, " ");
            sql_verb_str(v, sql_ddl_objects[i].tag);
            return SQL_CMD_DDL;
        }
    }
    if (!sql_cur_next(c, &t) || t.type != SQL_TOK_IDENT)
        return SQL_CMD_DDL;
    sql_verb_str(v, " ");
    sql_verb_add(v, c->lx.s + t.off, t.len);
    /* CREATE TABLE ... AS query has its own tag; AS never appears at top level otherwise */
    if (create && sql_tok_is(&c->lx, &t, "TABLE") && sql_cur_find(c, "AS"))
        sql_verb_str(v, " AS");
    return SQL_CMD_DDL;
}

/*
 * SELECT ... INTO t creates a table (tag "SELECT INTO"); calling it a
 * query would let a cache or a read-only route take it.
 */
static enum sql_command sql_cmd_select(struct sql_cursor *c, struct sql_verb *v)
{
    if (sql_cur_find(c, "INTO")) {
        sql_verb_str(v, "SELECT INTO");
        return SQL_CMD_DDL;
    }
    sql_verb_str(v, "SELECT");
    return SQL_CMD_SELECT;
}

/* The statement a WITH list belongs to; false if the list does not parse. */
static bool sql_cmd_with(struct sql_cursor *c, struct sql_verb *v, enum sql_command *cmd)
{
    struct sql_lexeme t;

    sql_cur_accept(c, "RECURSIVE");
    do {
        if (!sql_cur_accept_type(c, SQL_TOK_IDENT) && !sql_cur_accept_type(c, SQL_TOK_QIDENT))
            return false;
        if (sql_cur_accept_punct(c, '(') && !sql_cur_skip_parens(c))
            return false;
        if (!sql_cur_accept(c, "AS"))
            return false;
        sql_cur_accept(c, "NOT");
        sql_cur_accept(c, "MATERIALIZED");
        if (!sql_cur_accept_punct(c, '(') || !sql_cur_skip_parens(c))
            return false;
        /* SEARCH ... SET col and CYCLE ... USING col (PostgreSQL 14) */
        if (sql_cur_accept(c, "SEARCH") && (!sql_cur_find(c, "SET") || !sql_cur_next(c, &t)))
            return false;
        if (sql_cur_accept(c, "CYCLE") && (!sql_cur_find(c, "USING") || !sql_cur_next(c, &t)))
            return false;
    } while (sql_cur_accept_punct(c, ','));

    while (sql_cur_accept_punct(c, '('))
        ;
    if (!sql_cur_next(c, &t))
        return false;
    if (sql_tok_is(&c->lx, &t, "SELECT")) {
        *cmd = sql_cmd_select(c, v);
    } else if (sql_tok_is(&c->lx, &t, "VALUES") || sql_tok_is(&c->lx, &t, "TABLE")) {
        sql_verb_str(v, "SELECT");
        *cmd = SQL_CMD_SELECT;
    } else if (sql_tok_is(&c->lx, &t, "INSERT")) {
        sql_verb_str(v, "INSERT");
        *cmd = SQL_CMD_INSERT;
    } else if (sql_tok_is(&c->lx, &t, "UPDATE")) {
        sql_verb_str(v, "UPDATE");
        *cmd = SQL_CMD_UPDATE;
    } else if (sql_tok_is(&c->lx, &t, "DELETE")) {
        sql_verb_str(v, "DELETE");
        *cmd = SQL_CMD_DELETE;
    } else if (sql_tok_is(&c->lx, &t, "MERGE")) {
        sql_verb_str(v, "MERGE");
        *cmd = SQL_CMD_OTHER;
    } else {
        return false;
    }
    return true;
}

static enum sql_command sql_cmd_set(struct sql_cursor *c, struct sql_verb *v)
{
    bool other;

    sql_verb_str(v, "SET");
    if (!sql_cur_accept(c, "SESSION"))
        sql_cur_accept(c, "LOCAL");
    /* SET SESSION CHARACTERISTICS: the defaults of the client's transactions (params.c). */
    other = sql_cur_accept(c, "TRANSACTION") || sql_cur_accept(c, "CONSTRAINTS") ||
            sql_cur_accept(c, "ROLE") || sql_cur_accept(c, "AUTHORIZATION") ||
            (sql_cur_accept(c, "SESSION") && sql_cur_accept(c, "AUTHORIZATION"));
    return other ? SQL_CMD_OTHER : SQL_CMD_SET;
}

static enum sql_command sql_cmd_rollback(struct sql_cursor *c, struct sql_verb *v)
{
    if (sql_cur_accept(c, "PREPARED")) {
        sql_verb_str(v, "ROLLBACK PREPARED");
        return SQL_CMD_OTHER;
    }
    sql_verb_str(v, "ROLLBACK");
    if (!sql_cur_accept(c, "WORK"))
        sql_cur_accept(c, "TRANSACTION");
    return sql_cur_accept(c, "TO") ? SQL_CMD_SAVEPOINT : SQL_CMD_ROLLBACK;
}

static enum sql_command sql_cmd_discard(struct sql_cursor *c, struct sql_verb *v)
{
    struct sql_lexeme t;

    sql_verb_str(v, "DISCARD");
    if (!sql_cur_next(c, &t) || t.type != SQL_TOK_IDENT)
        return SQL_CMD_DISCARD;
    sql_verb_str(v, " ");
    if (sql_tok_is(&c->lx, &t, "TEMPORARY"))
        sql_verb_str(v, "TEMP");
    else
        sql_verb_add(v, c->lx.s + t.off, t.len);
    return SQL_CMD_DISCARD;
}

/* GRANT/REVOKE of privileges name an object with ON; of role membership they do not. */
static enum sql_command sql_cmd_grant(struct sql_cursor *c, const char *action, struct sql_verb *v)
{
    sql_verb_str(v, action);
    if (!sql_cur_find(c, "ON"))
        sql_verb_str(v, " ROLE");
    return SQL_CMD_DDL;
}

/* Statements whose class and tag follow from the first word alone. */
static const struct sql_fixed_command {
    const char *word;
    enum sql_command cmd;
    const char *verb;
} sql_fixed_commands[] = {
    { "VALUES", SQL_CMD_SELECT, "SELECT" },
    { "TABLE", SQL_CMD_SELECT, "SELECT" },
    { "INSERT", SQL_CMD_INSERT, "INSERT" },
    { "UPDATE", SQL_CMD_UPDATE, "UPDATE" },
    { "DELETE", SQL_CMD_DELETE, "DELETE" },
    { "MERGE", SQL_CMD_OTHER, "MERGE" },
    { "BEGIN", SQL_CMD_BEGIN, "BEGIN" },
    { "END", SQL_CMD_COMMIT, "COMMIT" },
    { "SHOW", SQL_CMD_SHOW, "SHOW" },
    { "TRUNCATE", SQL_CMD_DDL, "TRUNCATE TABLE" },
    { "COMMENT", SQL_CMD_DDL, "COMMENT" },
    { "SAVEPOINT", SQL_CMD_SAVEPOINT, "SAVEPOINT" },
    { "RELEASE", SQL_CMD_SAVEPOINT, "RELEASE" },
    { "COPY", SQL_CMD_COPY, "COPY" },
    { "EXECUTE", SQL_CMD_OTHER, "EXECUTE" },
    { "LOCK", SQL_CMD_OTHER, "LOCK TABLE" },
    { "DECLARE", SQL_CMD_OTHER, "DECLARE CURSOR" },
    { "REFRESH", SQL_CMD_OTHER, "REFRESH MATERIALIZED VIEW" },
    { "SECURITY", SQL_CMD_OTHER, "SECURITY LABEL" },
    { "IMPORT", SQL_CMD_OTHER, "IMPORT FOREIGN SCHEMA" },
    { "REASSIGN", SQL_CMD_OTHER, "REASSIGN OWNED" },
    { "ANALYSE", SQL_CMD_OTHER, "ANALYZE" },
};

static enum sql_command sql_classify(struct sql_cursor *c, struct sql_verb *v)
{
    const struct sql_lexer *lx = &c->lx;
    struct sql_lexeme t;
    enum sql_command cmd;

    do {
        if (!sql_cur_next(c, &t))
            return SQL_CMD_OTHER;
    } while (sql_tok_punct(lx, &t, '('));
    if (t.type != SQL_TOK_IDENT)
        return SQL_CMD_OTHER;

    /* the commonest statement first */
    if (sql_tok_is(lx, &t, "SELECT"))
        return sql_cmd_select(c, v);
    for (size_t i = 0; i < SQL_NELEM(sql_fixed_commands); i++) {
        if (sql_tok_is(lx, &t, sql_fixed_commands[i].word)) {
            sql_verb_str(v, sql_fixed_commands[i].verb);
            return sql_fixed_commands[i].cmd;
        }
    }
    if (sql_tok_is(lx, &t, "WITH")) {
        /* sql_cmd_with writes the verb only when it succeeds */
        if (sql_cmd_with(c, v, &cmd))
            return cmd;
        sql_verb_str(v, "WITH");
        return SQL_CMD_OTHER;
    }
    if (sql_tok_is(lx, &t, "CREATE"))
        return sql_cmd_ddl(c, "CREATE", v);
    if (sql_tok_is(lx, &t, "ALTER"))
        return sql_cmd_ddl(c, "ALTER", v);
    if (sql_tok_is(lx, &t, "DROP"))
        return sql_cmd_ddl(c, "DROP", v);
    if (sql_tok_is(lx, &t, "SET"))
        return sql_cmd_set(c, v);
    if (sql_tok_is(lx, &t, "RESET")) {
        /* RESET ROLE and RESET SESSION AUTHORIZATION undo what SET sent to the backend. */
        sql_verb_str(v, "RESET");
        return sql_cur_accept(c, "ROLE") || (sql_cur_accept(c, "SESSION") && sql_cur_accept(c, "AUTHORIZATION"))
                   ? SQL_CMD_OTHER
                   : SQL_CMD_RESET;
    }
    if (sql_tok_is(lx, &t, "ROLLBACK") || sql_tok_is(lx, &t, "ABORT"))
        return sql_cmd_rollback(c, v);
    if (sql_tok_is(lx, &t, "COMMIT")) {
        if (sql_cur_accept(c, "PREPARED")) {
            sql_verb_str(v, "COMMIT PREPARED");
            return SQL_CMD_OTHER;
        }
        sql_verb_str(v, "COMMIT");
        return SQL_CMD_COMMIT;
    }
    if (sql_tok_is(lx, &t, "START")) {
        if (sql_cur_accept(c, "TRANSACTION")) {
            sql_verb_str(v, "START TRANSACTION");
            return SQL_CMD_BEGIN;
        }
        sql_verb_str(v, "START");
        return SQL_CMD_OTHER;
    }
    if (sql_tok_is(lx, &t, "DISCARD"))
        return sql_cmd_discard(c, v);
    if (sql_tok_is(lx, &t, "GRANT"))
        return sql_cmd_grant(c, "GRANT", v);
    if (sql_tok_is(lx, &t, "REVOKE"))
        return sql_cmd_grant(c, "REVOKE", v);
    if (sql_tok_is(lx, &t, "PREPARE")) {
        /* PREPARE TRANSACTION 'gid', not a statement named "transaction" */
        bool two_phase = sql_cur_accept(c, "TRANSACTION") &&
                         sql_cur_accept_type(c, SQL_TOK_STRING);
        sql_verb_str(v, two_phase ? "PREPARE TRANSACTION" : "PREPARE");
        return SQL_CMD_OTHER;
    }
    if (sql_tok_is(lx, &t, "DEALLOCATE")) {
        sql_cur_accept(c, "PREPARE");
        sql_verb_str(v, sql_cur_accept(c, "ALL") ? "DEALLOCATE ALL" : "DEALLOCATE");
        return SQL_CMD_OTHER;
    }
    if (sql_tok_is(lx, &t, "CLOSE")) {
        sql_verb_str(v, sql_cur_accept(c, "ALL") ? "CLOSE CURSOR ALL" : "CLOSE CURSOR");
        return SQL_CMD_OTHER;
    }
    sql_verb_add(v, lx->s + t.off, t.len);
    return SQL_CMD_OTHER;
}

enum sql_command sql_command(const char *stmt, size_t len, char *verb, size_t verblen)
{
    return sql_command_tokens(stmt, len, NULL, 0, verb, verblen);
}

enum sql_command sql_command_tokens(const char *stmt, size_t len, const struct sql_token *toks, size_t ntoks,
                                    char *verb, size_t verblen)
{
    struct sql_cursor c;
    struct sql_verb v = { .buf = verb, .cap = verb ? verblen : 0, .n = 0 };

    if (v.cap)
        v.buf[0] = '\0';
    sql_lexer_init(&c.lx, stmt, len);
    c.toks = toks;
    c.ntoks = ntoks;
    c.ti = 0;
    return sql_classify(&c, &v);
}

size_t sql_ident_fold(const char *s, size_t len, int quoted, char *dst, size_t size)
{
    size_t n = 0;

    if (size == 0)
        return 0;
    if (quoted && len >= 2) {
        for (size_t i = 1; i + 1 < len && n + 1 < size; i++) {
            dst[n++] = s[i];
            if (s[i] == '"')
                i++;    /* "" is one quote */
        }
    } else {
        for (size_t i = 0; i < len && n + 1 < size; i++)
            dst[n++] = (char)tolower((unsigned char)s[i]);
    }
    dst[n] = '\0';
    return n;
}

/* ---- state a statement leaves on the backend connection ---- */

/* CREATE [OR REPLACE] [GLOBAL|LOCAL] TEMP ... TABLE/VIEW/SEQUENCE, unless ON COMMIT DROP. */
static bool sql_state_create(struct sql_cursor *c)
{
    bool temp = false;
    struct sql_lexeme t;

    for (;;) {
        if (sql_cur_accept(c, "OR"))
            sql_cur_accept(c, "REPLACE");
        else if (sql_cur_accept(c, "TEMP") || sql_cur_accept(c, "TEMPORARY"))
            temp = true;
        else if (!sql_cur_accept(c, "GLOBAL") && !sql_cur_accept(c, "LOCAL") &&
                 !sql_cur_accept(c, "UNLOGGED") && !sql_cur_accept(c, "RECURSIVE"))
            break;
    }
    if (!sql_cur_accept(c, "TABLE") && !sql_cur_accept(c, "VIEW") && !sql_cur_accept(c, "SEQUENCE"))
        return false;
    if (!temp) {
        /* CREATE TABLE pg_temp.name is temporary too. */
        if (sql_cur_accept(c, "IF") && sql_cur_accept(c, "NOT"))
            sql_cur_accept(c, "EXISTS");
        if (!sql_cur_next(c, &t) || !sql_tok_is(&c->lx, &t, "PG_TEMP") || !sql_cur_accept_punct(c, '.'))
            return false;
    }
    /* A table dropped at COMMIT goes with the transaction. */
    while (sql_cur_find(c, "ON"))
        if (sql_cur_accept(c, "COMMIT") && sql_cur_accept(c, "DROP"))
            return false;
    return true;
}

/* DECLARE name ... CURSOR WITH HOLD FOR: the cursor outlives the transaction. */
static bool sql_state_declare(struct sql_cursor *c)
{
    struct sql_lexeme t;

    while (sql_cur_next(c, &t)) {
        if (sql_tok_is(&c->lx, &t, "FOR"))
            return false;
        if (sql_tok_is(&c->lx, &t, "WITH") && sql_cur_accept(c, "HOLD"))
            return true;
    }
    return false;
}

/*
 * SET [SESSION] ROLE, SET SESSION AUTHORIZATION: who the backend's session
 * is.  Not parameters the client's session keeps.
 */
static bool sql_state_set(struct sql_cursor *c)
{
    if (sql_cur_accept(c, "LOCAL"))
        return false;
    return sql_cur_accept(c, "ROLE") ||
           (sql_cur_accept(c, "SESSION") && (sql_cur_accept(c, "ROLE") || sql_cur_accept(c, "AUTHORIZATION")));
}

/* Session-level advisory locks, held until unlocked or the session ends (the _xact_ ones are not). */
static const char *const sql_session_lock_fns[] = {
    "PG_ADVISORY_LOCK", "PG_ADVISORY_LOCK_SHARED", "PG_TRY_ADVISORY_LOCK", "PG_TRY_ADVISORY_LOCK_SHARED",
};

/*
 * set_config(name, value, is_local) changes the session's setting unless
 * is_local is written true: the backend keeps it, where the client's SET
 * would have stayed with the client.
 */
static bool sql_state_set_config(struct sql_cursor *c)
{
    struct sql_lexeme t, last = { 0 };
    size_t depth = 1, commas = 0, ntok = 0;

    while (sql_cur_next(c, &t)) {
        if (sql_tok_punct(&c->lx, &t, '(')) {
            depth++;
        } else if (sql_tok_punct(&c->lx, &t, ')')) {
            if (--depth == 0)
                break;
        } else if (depth == 1 && sql_tok_punct(&c->lx, &t, ',')) {
            commas++;
            ntok = 0;
            continue;
        }
        last = t;
        ntok++;
    }
    return !(commas == 2 && ntok == 1 && last.type == SQL_TOK_IDENT && sql_tok_is(&c->lx, &last, "TRUE"));
}

/*
 * The calls in the statement: one that leaves the session changed
 * (SQL_STATE_KEEPS), currval or lastval (SQL_STATE_READS_SEQUENCE); with
 * into, SELECT ... INTO TEMP too.
 */
static int sql_state_calls(struct sql_cursor *c, bool into)
{
    struct sql_lexeme t;
    int found = 0;

    while (sql_cur_next(c, &t)) {
        if (t.type != SQL_TOK_IDENT)
            continue;
        if (into && sql_tok_is(&c->lx, &t, "INTO")) {
            if (!sql_cur_accept(c, "GLOBAL"))
                sql_cur_accept(c, "LOCAL");
            if (sql_cur_accept(c, "TEMP") || sql_cur_accept(c, "TEMPORARY"))
                found |= SQL_STATE_KEEPS;
            continue;
        }
        bool lock = false;
        for (size_t i = 0; i < SQL_NELEM(sql_session_lock_fns) && !lock; i++)
            lock = sql_tok_is(&c->lx, &t, sql_session_lock_fns[i]);
        if ((lock && sql_cur_accept_punct(c, '(')) ||
            (sql_tok_is(&c->lx, &t, "SET_CONFIG") && sql_cur_accept_punct(c, '(') && sql_state_set_config(c)))
            found |= SQL_STATE_KEEPS;
        if ((sql_tok_is(&c->lx, &t, "CURRVAL") || sql_tok_is(&c->lx, &t, "LASTVAL")) &&
            sql_cur_accept_punct(c, '('))
            found |= SQL_STATE_READS_SEQUENCE;
    }
    return found;
}

int sql_backend_state_tokens(const char *stmt, size_t len, const struct sql_token *toks, size_t ntoks)
{
    struct sql_cursor c, start;
    struct sql_lexeme t;

    sql_lexer_init(&c.lx, stmt, len);
    c.toks = toks;
    c.ntoks = ntoks;
    c.ti = 0;
    start = c;
    do {
        if (!sql_cur_next(&c, &t))
            return 0;
    } while (sql_tok_punct(&c.lx, &t, '('));
    if (t.type == SQL_TOK_IDENT) {
        if (sql_tok_is(&c.lx, &t, "CREATE"))
            return sql_state_create(&c) ? SQL_STATE_KEEPS : 0;
        if (sql_tok_is(&c.lx, &t, "DECLARE"))
            return sql_state_declare(&c) ? SQL_STATE_KEEPS : 0;
        if (sql_tok_is(&c.lx, &t, "LISTEN"))
            return SQL_STATE_KEEPS;
        if (sql_tok_is(&c.lx, &t, "SET") && sql_state_set(&c))
            return SQL_STATE_KEEPS;
        /* SELECT ... INTO TEMP name: one pass looks for it and for the calls. */
        if (sql_tok_is(&c.lx, &t, "SELECT"))
            return sql_state_calls(&c, true);
    }
    return sql_state_calls(&start, false);
}

static int sql_tx_modes_fail(const struct sql_cursor *c, const struct sql_lexeme *t, char *msg, size_t msglen)
{
    if (t == NULL)
        snprintf(msg, msglen, "syntax error at end of input");
    else
        snprintf(msg, msglen, "syntax error at or near \"%.*s\"", (int)(t->len > 60 ? 60 : t->len),
                 c->lx.s + t->off);
    return -1;
}

int sql_tx_modes(const char *stmt, size_t len, struct sql_tx_modes *out, char *msg, size_t msglen)
{
    struct sql_cursor c;
    struct sql_lexeme t;

    memset(out, 0, sizeof(*out));
    memset(&c, 0, sizeof(c));
    sql_lexer_init(&c.lx, stmt, len);
    if (sql_cur_accept(&c, "START")) {
        if (!sql_cur_accept(&c, "TRANSACTION"))
            return sql_tx_modes_fail(&c, NULL, msg, msglen);
    } else if (sql_cur_accept(&c, "SET")) {
        int session = !sql_cur_accept(&c, "LOCAL") && sql_cur_accept(&c, "SESSION");
        if (sql_cur_accept(&c, "TRANSACTION")) {
            out->current = 1;
        } else if (!session || !sql_cur_accept(&c, "CHARACTERISTICS") || !sql_cur_accept(&c, "AS") ||
                   !sql_cur_accept(&c, "TRANSACTION")) {
            struct sql_cursor at = c;
            return sql_tx_modes_fail(&c, sql_cur_next(&at, &t) ? &t : NULL, msg, msglen);
        }
    } else if (sql_cur_accept(&c, "BEGIN")) {
        if (!sql_cur_accept(&c, "WORK"))
            sql_cur_accept(&c, "TRANSACTION");
    } else {
        return sql_tx_modes_fail(&c, NULL, msg, msglen);
    }
    for (int first = 1;; first = 0) {
        int comma = !first && sql_cur_accept_punct(&c, ',');
        if (sql_cur_accept_punct(&c, ';') || !sql_cur_next(&c, &t))
            return comma ? sql_tx_modes_fail(&c, NULL, msg, msglen) : 0;
        if (sql_tok_is(&c.lx, &t, "ISOLATION")) {
            out->said |= SQL_TX_SAID_ISOLATION;
            if (!sql_cur_accept(&c, "LEVEL"))
                return sql_tx_modes_fail(&c, NULL, msg, msglen);
            if (sql_cur_accept(&c, "SERIALIZABLE"))
                out->isolation = SQL_ISO_SERIALIZABLE;
            else if (sql_cur_accept(&c, "REPEATABLE") && sql_cur_accept(&c, "READ"))
                out->isolation = SQL_ISO_REPEATABLE_READ;
            else if (sql_cur_accept(&c, "READ") && sql_cur_accept(&c, "COMMITTED"))
                out->isolation = SQL_ISO_READ_COMMITTED;
            else if (sql_cur_accept(&c, "UNCOMMITTED"))
                out->isolation = SQL_ISO_READ_UNCOMMITTED;
            else {
                struct sql_cursor at = c;
                return sql_tx_modes_fail(&c, sql_cur_next(&at, &t) ? &t : NULL, msg, msglen);
            }
        } else if (sql_tok_is(&c.lx, &t, "READ")) {
            out->said |= SQL_TX_SAID_READ;
            if (sql_cur_accept(&c, "ONLY"))
                out->read_only = 1;
            else if (sql_cur_accept(&c, "WRITE"))
                out->read_only = 0;
            else
                return sql_tx_modes_fail(&c, NULL, msg, msglen);
        } else if (sql_tok_is(&c.lx, &t, "DEFERRABLE")) {
            out->said |= SQL_TX_SAID_DEFERRABLE;
            out->deferrable = 1;
        } else if (sql_tok_is(&c.lx, &t, "NOT") && sql_cur_accept(&c, "DEFERRABLE")) {
            out->said |= SQL_TX_SAID_DEFERRABLE;
            out->deferrable = 0;
        } else {
            return sql_tx_modes_fail(&c, &t, msg, msglen);
        }
    }
}
