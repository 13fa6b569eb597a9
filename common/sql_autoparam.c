/*
 * sql_autoparam: a simple-protocol statement as its shape and parameters
 * (see sql_autoparam.h for which literals are taken out, and why those).
 */
#include "common/sql_autoparam.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "common/sql_lexer.h"

/* An identifier or keyword token spelled word (any case). */
static int ap_word(const char *s, const struct sql_token *t, const char *word)
{
    size_t n = strlen(word);
    return t->type == SQL_TOK_IDENT && t->len == n && strncasecmp(s + t->off, word, n) == 0;
}

static int ap_comparison(const char *s, const struct sql_token *t)
{
    static const char *const ops[] = { "=", "<>", "!=", "<", ">", "<=", ">=" };

    if (t->type != SQL_TOK_OP)
        return 0;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (t->len == strlen(ops[i]) && memcmp(s + t->off, ops[i], t->len) == 0)
            return 1;
    return 0;
}

/*
 * What may come after a literal taken out: the end of the statement or of
 * its clause, never an operator, a cast, COLLATE or AT TIME ZONE, which
 * would apply to the literal before the comparison does.
 */
static int ap_clause_end(const char *s, const struct sql_token *t)
{
    static const char *const words[] = {
        "AND", "OR", "ORDER", "GROUP", "LIMIT", "OFFSET", "HAVING", "FOR", "RETURNING",
        "UNION", "EXCEPT", "INTERSECT", "WINDOW", "FETCH", "WHERE", "FROM", "THEN",
        "JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS", "NATURAL",
    };

    if (t == NULL)
        return 1;
    if (t->type == SQL_TOK_PUNCT)
        return t->len == 1 && (s[t->off] == ';' || s[t->off] == ')' || s[t->off] == ',');
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (ap_word(s, t, words[i]))
            return 1;
    return 0;
}

/*
 * The type PostgreSQL gives a numeric literal: int4 when it fits, then
 * int8, then numeric (as it does any literal with a point).  0 for what
 * is not a plain decimal number (0x1F, 1_000, 1e5), left in place.
 */
static int32_t ap_number_type(const char *v, size_t n)
{
    size_t i = 0, digits = 0;
    int fraction = 0;

    while (i < n && isdigit((unsigned char)v[i]))
        i++, digits++;
    if (i < n && v[i] == '.') {
        fraction = 1;
        for (i++; i < n && isdigit((unsigned char)v[i]); i++)
            digits++;
    }
    if (digits == 0)
        return 0;
    /* An exponent stays: PostgreSQL takes any, a bound numeric only up to e1000. */
    if (i != n)
        return 0;
    if (fraction)
        return PG_OID_NUMERIC;
    while (n > 1 && *v == '0')
        v++, n--;
    if (n < 10 || (n == 10 && memcmp(v, "2147483647", 10) <= 0))
        return PG_OID_INT4;
    if (n < 19 || (n == 19 && memcmp(v, "9223372036854775807", 19) <= 0))
        return PG_OID_INT8;
    return PG_OID_NUMERIC;
}

/*
 * Clauses whose literals may be taken out: those that filter or assign
 * (WHERE, JOIN ... ON, UPDATE ... SET) and those that only hold them
 * (FROM, USING, JOIN, WITH).  Elsewhere an expression may have to match
 * another one written the same way (the select list and GROUP BY,
 * DISTINCT ON and ORDER BY), which two separate parameters do not.
 */
enum ap_clause { AP_HOLD, AP_FILTER, AP_OTHER };

#define AP_DEPTH_MAX 32

/* The clause a keyword begins, or -1 when it begins none. */
static int ap_clause_of(const char *s, const struct sql_token *t, const struct sql_token *prev)
{
    static const char *const filter[] = { "WHERE", "SET" };
    static const char *const hold[] = { "FROM", "USING", "JOIN", "WITH" };
    static const char *const other[] = {
        "SELECT", "GROUP", "ORDER", "HAVING", "LIMIT", "OFFSET", "FETCH", "WINDOW", "RETURNING",
        "VALUES", "PARTITION", "UNION", "INTERSECT", "EXCEPT", "INSERT", "INTO", "UPDATE", "DELETE",
        "DISTINCT", "FILTER", "OVER",
    };
    size_t i;

    if (t->type != SQL_TOK_IDENT)
        return -1;
    /* DISTINCT ON (...) belongs to the select list; JOIN ... ON filters. */
    if (ap_word(s, t, "ON"))
        return prev != NULL && ap_word(s, prev, "DISTINCT") ? AP_OTHER : AP_FILTER;
    for (i = 0; i < sizeof(filter) / sizeof(filter[0]); i++)
        if (ap_word(s, t, filter[i]))
            return AP_FILTER;
    for (i = 0; i < sizeof(hold) / sizeof(hold[0]); i++)
        if (ap_word(s, t, hold[i]))
            return AP_HOLD;
    for (i = 0; i < sizeof(other) / sizeof(other[0]); i++)
        if (ap_word(s, t, other[i]))
            return AP_OTHER;
    return -1;
}

/* The next token from i on (i itself included) that is not a comment, or NULL. */
static const struct sql_token *ap_next(const struct sql_token *toks, size_t ntok, size_t i)
{
    for (; i < ntok; i++)
        if (toks[i].type != SQL_TOK_COMMENT)
            return &toks[i];
    return NULL;
}

/* The token before i that is not a comment, or NULL. */
static const struct sql_token *ap_prev(const struct sql_token *toks, size_t i)
{
    while (i-- > 0)
        if (toks[i].type != SQL_TOK_COMMENT)
            return &toks[i];
    return NULL;
}

/* Whether toks[i], a number or string, can be taken out; fills lit. */
static int ap_literal(const char *s, const struct sql_token *toks, size_t ntok, size_t i,
                      struct sql_literal *lit)
{
    const struct sql_token *t = &toks[i], *op = ap_prev(toks, i), *col;

    if (op == NULL || !ap_comparison(s, op))
        return 0;
    col = ap_prev(toks, (size_t)(op - toks));
    if (col == NULL || (col->type != SQL_TOK_IDENT && col->type != SQL_TOK_QIDENT))
        return 0;
    if (!ap_clause_end(s, ap_next(toks, ntok, i + 1)))
        return 0;
    if (t->type == SQL_TOK_NUMBER) {
        lit->oid = ap_number_type(s + t->off, t->len);
        lit->off = t->off;
        lit->len = t->len;
        return lit->oid != 0;
    }
    /*
     * A plain 'string' only: not N'', U&'' or one with a doubled quote
     * (its value is not its bytes), nor one with a backslash (read
     * differently with standard_conforming_strings off).
     */
    if (t->len < 2 || s[t->off] != '\'' || memchr(s + t->off + 1, '\'', t->len - 2) != NULL ||
        memchr(s + t->off, '\\', t->len) != NULL)
        return 0;
    lit->oid = 0;
    lit->off = t->off + 1;
    lit->len = t->len - 2;
    return 1;
}

int sql_autoparam(const char *stmt, size_t len, int casts, struct pgbuf *out,
                  struct sql_literal lits[SQL_AUTOPARAM_MAX])
{
    struct sql_token toks[SQL_AUTOPARAM_TOKENS];
    struct sql_lex_error err;
    const struct sql_token *prev = NULL;
    size_t ntok, i, copied = 0;
    uint8_t clause[AP_DEPTH_MAX];   /* the clause at each parenthesis depth */
    int n = 0, depth = 0, d;

    pgbuf_reset(out);
    /* A '?' anywhere might be read as a marker by the driver: such text is left alone. */
    if (len > UINT32_MAX || memchr(stmt, '?', len) != NULL)
        return 0;
    if (sql_lex(stmt, len, toks, SQL_AUTOPARAM_TOKENS, &ntok, &err) < 0 || ntok > SQL_AUTOPARAM_TOKENS)
        return 0;
    for (i = 0; i < ntok; i++) {
        const struct sql_token *t = &toks[i];
        if (t->type == SQL_TOK_PARAM)
            return 0;
        /* SQLite's named markers (:name, @name, $name), in text that has no PostgreSQL casts. */
        if (!casts && (t->type == SQL_TOK_OP || t->type == SQL_TOK_PUNCT) &&
            (stmt[t->off] == ':' || memchr(stmt + t->off, '@', t->len) != NULL))
            return 0;
        if (!casts && t->type != SQL_TOK_STRING && t->type != SQL_TOK_QIDENT && t->type != SQL_TOK_COMMENT &&
            memchr(stmt + t->off, '$', t->len) != NULL)
            return 0;
    }
    clause[0] = AP_OTHER;
    for (i = 0; i < ntok && n < SQL_AUTOPARAM_MAX; i++) {
        const struct sql_token *t = &toks[i];
        struct sql_literal *lit = &lits[n];
        int c;

        if (t->type == SQL_TOK_COMMENT)
            continue;
        /* ON CONFLICT ... WHERE must prove a partial index's predicate: its literals stay. */
        if (prev != NULL && ap_word(stmt, prev, "ON") && ap_word(stmt, t, "CONFLICT")) {
            n = 0;
            break;
        }
        if (t->type == SQL_TOK_PUNCT && stmt[t->off] == '(') {
            if (++depth == AP_DEPTH_MAX) {
                n = 0;
                break;
            }
            clause[depth] = clause[depth - 1];
        } else if (t->type == SQL_TOK_PUNCT && stmt[t->off] == ')') {
            if (depth > 0)
                depth--;
        } else if ((c = ap_clause_of(stmt, t, prev)) >= 0) {
            clause[depth] = (uint8_t)c;
        }
        prev = t;
        if (t->type != SQL_TOK_NUMBER && t->type != SQL_TOK_STRING)
            continue;
        /* Only where every enclosing clause lets it. */
        for (d = 0; d <= depth && clause[d] != AP_OTHER; d++)
            ;
        if (d <= depth)
            continue;
        if (!ap_literal(stmt, toks, ntok, i, lit))
            continue;
        pgproto_put_bytes(out, stmt + copied, t->off - copied);
        pgproto_put_bytes(out, "?", 1);
        if (casts && lit->oid == PG_OID_INT4)
            pgproto_put_bytes(out, "::pg_catalog.int4", 17);
        else if (casts && lit->oid == PG_OID_INT8)
            pgproto_put_bytes(out, "::pg_catalog.int8", 17);
        else if (casts && lit->oid == PG_OID_NUMERIC)
            pgproto_put_bytes(out, "::pg_catalog.numeric", 20);
        copied = t->off + t->len;
        n++;
    }
    if (n > 0)
        pgproto_put_bytes(out, stmt + copied, len - copied);
    if (n == 0 || out->oom) {
        pgbuf_reset(out);
        return 0;
    }
    return n;
}
