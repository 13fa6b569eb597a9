/*
 * extended: Parse / Bind / Describe / Execute / Close / Sync (see extended.h).
 *
 * Messages are handled strictly in order: while a request is on a slot the
 * session reads nothing more, so replies never overtake each other.  After
 * an error everything up to Sync is discarded, as PostgreSQL does.
 */
#include "worker/extended.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "common/log.h"
#include "common/pgproto.h"
#include "common/sql_lexer.h"
#include "common/sql_translate.h"
#include "shm/lease.h"
#include "shm/shm.h"
#include "worker/session.h"
#include "worker/xlate.h"
#include "worker/worker_internal.h"

#define EXTENDED_MAX_PARAMS 65535

struct extended_stmt {
    char *name;
    char *sql;              /* backend text, $n rewritten to '?' */
    size_t sql_len;
    char verb[64];
    enum sql_command cmd;
    int nparams;            /* highest $n */
    int32_t *oids;          /* nparams, 0 = unspecified */
    int nmarkers;
    uint16_t *marker;       /* for each '?', which parameter (0-based) */
    int empty;              /* no statement at all */
    char *source;           /* the text as the client wrote it (for SQL EXECUTE) */
    size_t source_len;
    char **types;           /* SQL PREPARE's parameter types as written, NULL for Parse */
    int ntypes;
    int no_backend;         /* nothing to run on this backend: the tag alone (SQL_FLAG_NO_BACKEND) */
    int state_flags;        /* SQL_FLAG_BACKEND_STATE, SQL_FLAG_READS_SEQUENCE: for session_backend_statement */
    struct pgbuf desc;      /* ParameterDescription + RowDescription/NoData the backend gave */
    int described;          /* desc holds them: Describe is answered without the backend */
    int set_tx;             /* SET TRANSACTION modes (params_set_transaction): the executor applies them */
    uint64_t sig;           /* the columns the client was told, as the executor names them (0: none yet) */
    int told_portal;        /* what the client was told last is a portal's Describe, not the statement's */
    int rowless;            /* INSERT, UPDATE or DELETE without RETURNING: a row limit does not stop it */
    int prepared;           /* the backend prepared it once: PostgreSQL's Parse would have succeeded */
    uint8_t *inferred;      /* per parameter, 1 where its type came from a cast in the text, or NULL */
};

struct extended_portal {
    char *name;
    struct extended_stmt *stmt;     /* owned copy-by-reference: see refs */
    struct pgbuf values;            /* the Bind message's parameter part, re-encoded per marker */
    int16_t *formats;               /* result formats */
    int nformats;
    int started;                    /* executed once with a row limit: continue with 'F' */
    uint32_t id;                    /* the executor's name for its cursor, once started (named portals) */
    int done;                       /* run to completion (no row limit): not run again */
};

struct extended_state {
    struct extended_stmt **stmts;
    int nstmts;
    struct extended_portal **portals;
    int nportals;
    struct extended_stmt *capture;  /* whose Describe the slot answers: kept as its description */
    struct extended_stmt *running;  /* the statement of the 'E' or 'D' request out, or NULL */
    int running_described;          /* that request's reply describes its rows to the client */
    uint32_t next_id;               /* the last portal id given (extended_portal.id) */
};

static struct extended_state *extended_state(struct session *s)
{
    if (s->ext == NULL)
        s->ext = calloc(1, sizeof(*s->ext));
    return s->ext;
}

static void extended_stmt_free(struct extended_stmt *st)
{
    if (st == NULL)
        return;
    free(st->name);
    free(st->sql);
    free(st->source);
    free(st->inferred);
    for (int i = 0; i < st->ntypes; i++)
        free(st->types[i]);
    free(st->types);
    free(st->oids);
    free(st->marker);
    pgbuf_free(&st->desc);
    free(st);
}

static void extended_portal_free(struct extended_portal *p)
{
    if (p == NULL)
        return;
    free(p->name);
    pgbuf_free(&p->values);
    free(p->formats);
    free(p);
}

/* Statements are shared by portals bound from them; a closed statement stays alive in its portals. */
static int extended_stmt_used(struct extended_state *x, struct extended_stmt *st)
{
    for (int i = 0; i < x->nstmts; i++)
        if (x->stmts[i] == st)
            return 1;
    for (int i = 0; i < x->nportals; i++)
        if (x->portals[i]->stmt == st)
            return 1;
    return 0;
}

/* What an aborted block still runs: COMMIT, ROLLBACK, ROLLBACK TO SAVEPOINT. */
static int extended_ends_block(const struct extended_stmt *st)
{
    return st->cmd == SQL_CMD_COMMIT || st->cmd == SQL_CMD_ROLLBACK ||
           (st->cmd == SQL_CMD_SAVEPOINT && strcmp(st->verb, "ROLLBACK") == 0);
}

static struct extended_stmt *extended_find_stmt(struct extended_state *x, const char *name, int *idx)
{
    for (int i = 0; i < x->nstmts; i++)
        if (strcmp(x->stmts[i]->name, name) == 0) {
            if (idx)
                *idx = i;
            return x->stmts[i];
        }
    return NULL;
}

static struct extended_portal *extended_find_portal(struct extended_state *x, const char *name, int *idx)
{
    for (int i = 0; i < x->nportals; i++)
        if (strcmp(x->portals[i]->name, name) == 0) {
            if (idx)
                *idx = i;
            return x->portals[i];
        }
    return NULL;
}

static void extended_drop_stmt(struct extended_state *x, int i)
{
    struct extended_stmt *st = x->stmts[i];
    x->stmts[i] = x->stmts[--x->nstmts];
    if (!extended_stmt_used(x, st))
        extended_stmt_free(st);
}

static void extended_drop_portal(struct extended_state *x, int i)
{
    struct extended_portal *p = x->portals[i];
    x->portals[i] = x->portals[--x->nportals];
    struct extended_stmt *st = p->stmt;
    extended_portal_free(p);
    if (!extended_stmt_used(x, st))
        extended_stmt_free(st);
}

int extended_deallocate(struct session *s, const char *stmt, size_t len, const char *verb,
                        struct pgbuf *out)
{
    struct extended_state *x = extended_state(s);
    if (strcmp(verb, "DEALLOCATE") == 0) {
        struct sql_token t[4];
        size_t nt = 0, k = 0;
        struct sql_lex_error err;
        sql_lex(stmt, len, t, 4, &nt, &err);
        if (nt > 4)
            nt = 4;
        /* DEALLOCATE [PREPARE] name */
        k = nt > 2 && t[1].len == 7 && strncasecmp(stmt + t[1].off, "prepare", 7) == 0 ? 2 : 1;
        char name[128] = "";
        if (k < nt)
            sql_token_fold(stmt, &t[k], name, sizeof(name));
        int idx;
        if (extended_find_stmt(x, name, &idx) == NULL) {
            char msg[200];
            snprintf(msg, sizeof(msg), "prepared statement \"%.100s\" does not exist", name);
            pgproto_error(out, 'E', "ERROR", "26000", msg, NULL, NULL);
            return -1;
        }
        extended_drop_stmt(x, idx);
        pgproto_command_complete(out, "DEALLOCATE");
        return 0;
    }
    /*
     * DEALLOCATE ALL and DISCARD ALL drop every statement (a portal keeps
     * its own, as in PostgreSQL); DISCARD ALL, outside a block, the portals
     * too, and resets parameters.
     */
    if (strcmp(verb, "DISCARD ALL") == 0)
        while (x->nportals > 0)
            extended_drop_portal(x, 0);
    while (x->nstmts > 0)
        extended_drop_stmt(x, 0);
    if (strcmp(verb, "DISCARD ALL") == 0) {
        params_reset(&s->params, NULL, out);
        session_discard_backend(s);
    }
    pgproto_command_complete(out, verb);
    return 0;
}

/* ---- SQL PREPARE and EXECUTE ----------------------------------------- */

static int extended_stmt_create(struct session *s, const char *name, const char *query, size_t qlen,
                                const int32_t *oids, int n, char sqlstate[6], char *msg, size_t msglen);

/* The statement's tokens without comments (malloc'd), or NULL with an error in out. */
static struct sql_token *extended_sql_tokens(const char *stmt, size_t len, size_t *n, struct pgbuf *out)
{
    struct sql_lex_error err;
    size_t nt = 0, k = 0;
    if (sql_lex(stmt, len, NULL, 0, &nt, &err) < 0) {
        pgproto_error(out, 'E', "ERROR", "42601", err.message, NULL, NULL);
        return NULL;
    }
    struct sql_token *t = malloc(sizeof(*t) * (nt ? nt : 1));
    if (t == NULL) {
        pgproto_error(out, 'E', "ERROR", "53200", "out of memory", NULL, NULL);
        return NULL;
    }
    sql_lex(stmt, len, t, nt, &nt, &err);
    for (size_t i = 0; i < nt; i++)
        if (t[i].type != SQL_TOK_COMMENT && !(t[i].type == SQL_TOK_PUNCT && stmt[t[i].off] == ';'))
            t[k++] = t[i];
    *n = k;
    return t;
}


/*
 * The comma-separated items inside the parentheses opening at token open:
 * their (first, last) token indexes.  Returns the count and sets *close,
 * or -1 when the parentheses do not close.
 */
static int extended_paren_items(const char *stmt, const struct sql_token *t, size_t n, size_t open, size_t *first,
                                size_t *last, int max, size_t *close)
{
    int depth = 0, count = 0;
    size_t start = open + 1;
    for (size_t i = open; i < n; i++) {
        char c = t[i].type == SQL_TOK_PUNCT ? stmt[t[i].off] : 0;
        if (c == '(' || c == '[')
            depth++;
        else if (c == ')' || c == ']')
            depth--;
        if ((depth == 0 && c == ')') || (depth == 1 && c == ',')) {
            if (i > start && count < max) {
                first[count] = start;
                last[count] = i - 1;
                count++;
            } else if (i > start || c == ',') {
                return -1;
            }
            start = i + 1;
            if (depth == 0) {
                *close = i;
                return count;
            }
        }
    }
    return -1;
}

#define EXTENDED_SQL_MAX_PARAMS 100

int extended_sql_prepare(struct session *s, const char *stmt, size_t len, struct pgbuf *out)
{
    size_t n, first[EXTENDED_SQL_MAX_PARAMS], last[EXTENDED_SQL_MAX_PARAMS], close, i = 2;
    struct sql_token *t = extended_sql_tokens(stmt, len, &n, out);
    char name[128], state[6], msg[300];
    int32_t oids[EXTENDED_SQL_MAX_PARAMS];
    int ntypes = 0, rc = -1;

    if (t == NULL)
        return -1;
    if (n < 4 || (t[1].type != SQL_TOK_IDENT && t[1].type != SQL_TOK_QIDENT)) {
        pgproto_error(out, 'E', "ERROR", "42601", "syntax error in PREPARE: PREPARE name [ ( type, ... ) ] AS statement",
                      NULL, NULL);
        goto done;
    }
    sql_token_fold(stmt, &t[1], name, sizeof(name));
    if (t[2].type == SQL_TOK_PUNCT && stmt[t[2].off] == '(') {
        ntypes = extended_paren_items(stmt, t, n, 2, first, last, EXTENDED_SQL_MAX_PARAMS, &close);
        if (ntypes < 0) {
            pgproto_error(out, 'E', "ERROR", "42601", "syntax error in PREPARE's parameter types", NULL, NULL);
            goto done;
        }
        i = close + 1;
    }
    if (i + 1 >= n || t[i].len != 2 || strncasecmp(stmt + t[i].off, "as", 2) != 0) {
        pgproto_error(out, 'E', "ERROR", "42601", "syntax error in PREPARE: AS expected", NULL, NULL);
        goto done;
    }
    size_t body = t[i + 1].off, end = t[n - 1].off + t[n - 1].len;
    for (int k = 0; k < ntypes; k++) {
        char tn[64];
        size_t tl = t[last[k]].off + t[last[k]].len - t[first[k]].off;
        snprintf(tn, sizeof(tn), "%.*s", (int)tl, stmt + t[first[k]].off);
        oids[k] = pgproto_type_oid(tn);     /* as Parse would carry them */
    }
    if (extended_stmt_create(s, name, stmt + body, end - body, oids, ntypes, state, msg, sizeof(msg)) < 0) {
        pgproto_error(out, 'E', "ERROR", state, msg, NULL, NULL);
        goto done;
    }
    struct extended_stmt *st = extended_find_stmt(extended_state(s), name, NULL);
    st->types = calloc((size_t)(ntypes ? ntypes : 1), sizeof(*st->types));
    for (int k = 0; st->types != NULL && k < ntypes; k++) {
        size_t tl = t[last[k]].off + t[last[k]].len - t[first[k]].off;
        if ((st->types[k] = strndup(stmt + t[first[k]].off, tl)) != NULL)
            st->ntypes = k + 1;
    }
    pgproto_command_complete(out, "PREPARE");
    rc = 0;
done:
    free(t);
    return rc;
}

char *extended_sql_execute(struct session *s, const char *stmt, size_t len, struct pgbuf *out)
{
    size_t n, first[EXTENDED_SQL_MAX_PARAMS], last[EXTENDED_SQL_MAX_PARAMS], close = 0;
    struct sql_token *t = extended_sql_tokens(stmt, len, &n, out), *st_tok = NULL;
    char name[128], msg[300], detail[100];
    int nargs = 0;
    struct pgbuf sql;

    pgbuf_init(&sql);
    if (t == NULL)
        return NULL;
    if (n < 2 || (t[1].type != SQL_TOK_IDENT && t[1].type != SQL_TOK_QIDENT)) {
        pgproto_error(out, 'E', "ERROR", "42601", "syntax error in EXECUTE: EXECUTE name [ ( argument, ... ) ]",
                      NULL, NULL);
        goto failed;
    }
    sql_token_fold(stmt, &t[1], name, sizeof(name));
    if (n > 2) {
        if (!(t[2].type == SQL_TOK_PUNCT && stmt[t[2].off] == '(') ||
            (nargs = extended_paren_items(stmt, t, n, 2, first, last, EXTENDED_SQL_MAX_PARAMS, &close)) < 0 ||
            close + 1 != n) {
            pgproto_error(out, 'E', "ERROR", "42601", "syntax error in EXECUTE's arguments", NULL, NULL);
            goto failed;
        }
    }
    struct extended_stmt *st = extended_find_stmt(extended_state(s), name, NULL);
    if (st == NULL || st->source == NULL) {
        snprintf(msg, sizeof(msg), "prepared statement \"%.100s\" does not exist", name);
        pgproto_error(out, 'E', "ERROR", "26000", msg, NULL, NULL);
        goto failed;
    }
    if (nargs != st->nparams) {
        snprintf(msg, sizeof(msg), "wrong number of parameters for prepared statement \"%.100s\"", name);
        snprintf(detail, sizeof(detail), "Expected %d parameters but got %d.", st->nparams, nargs);
        pgproto_error(out, 'E', "ERROR", "42601", msg, detail, NULL);
        goto failed;
    }
    /* The statement's text with each $n replaced by its argument, typed as PREPARE said. */
    size_t sn, prev = 0;
    const char *src = st->source;
    st_tok = extended_sql_tokens(src, strlen(src), &sn, out);
    if (st_tok == NULL)
        goto failed;
    for (size_t i = 0; i < sn; i++) {
        if (st_tok[i].type != SQL_TOK_PARAM)
            continue;
        long k = strtol(src + st_tok[i].off + 1, NULL, 10) - 1;
        pgproto_put_bytes(&sql, src + prev, st_tok[i].off - prev);
        prev = st_tok[i].off + st_tok[i].len;
        if (k < 0 || k >= nargs)
            continue;
        const char *arg = stmt + t[first[k]].off;
        size_t al = t[last[k]].off + t[last[k]].len - t[first[k]].off;
        if (k < st->ntypes) {
            pgproto_put_bytes(&sql, "CAST((", 6);
            pgproto_put_bytes(&sql, arg, al);
            pgproto_put_bytes(&sql, ") AS ", 5);
            pgproto_put_bytes(&sql, st->types[k], strlen(st->types[k]));
            pgproto_put_bytes(&sql, ")", 1);
        } else {
            pgproto_put_bytes(&sql, "(", 1);
            pgproto_put_bytes(&sql, arg, al);
            pgproto_put_bytes(&sql, ")", 1);
        }
    }
    pgproto_put_bytes(&sql, src + prev, strlen(src) - prev);
    pgproto_put_bytes(&sql, "", 1);
    if (sql.oom) {
        pgproto_error(out, 'E', "ERROR", "53200", "out of memory", NULL, NULL);
        goto failed;
    }
    free(t);
    free(st_tok);
    return (char *)sql.data;
failed:
    free(t);
    free(st_tok);
    pgbuf_free(&sql);
    return NULL;
}

void extended_free(struct session *s)
{
    struct extended_state *x = s->ext;
    if (x == NULL)
        return;
    while (x->nportals > 0)
        extended_drop_portal(x, 0);
    while (x->nstmts > 0)
        extended_drop_stmt(x, 0);
    free(x->stmts);
    free(x->portals);
    free(x);
    s->ext = NULL;
}

/* An error was queued for the client: it goes at once, and the batch is skipped to its Sync. */
static void extended_failed(struct session *s)
{
    /* PostgreSQL sends an error at once, whatever it holds back otherwise. */
    conn_release(&s->conn);
    s->ext_error = 1;
}

static void extended_error(struct session *s, const char *sqlstate, const char *msg)
{
    struct pgbuf b;
    pgbuf_init(&b);
    pgproto_error(&b, 'E', "ERROR", sqlstate, msg, NULL, NULL);
    session_send(s, &b);
    pgbuf_free(&b);
    extended_failed(s);
}

/* A reply the worker makes itself; it waits for the rest of the batch's (conn_hold). */
static void extended_reply(struct session *s, char type)
{
    struct pgbuf b;
    conn_hold(&s->conn);
    pgbuf_init(&b);
    pgproto_begin(&b, type);
    pgproto_end(&b);
    session_send(s, &b);
    pgbuf_free(&b);
}

/*
 * The cast that gives marker n the type Parse declared for $n (oids, n of
 * them), or NULL: PostgreSQL types an untyped marker from its context, so
 * a bare "SELECT $1" would come back as text, whatever the client said.
 */
static const char *extended_marker_cast(const int32_t *oids, int noids, long n)
{
    return oids != NULL && n >= 1 && n <= noids ? pgproto_type_name(oids[n - 1]) : NULL;
}

/*
 * Rewrite $n into '?' markers, recording which parameter each marker is;
 * the command and its verb are the translation's.  With oids (the postgres
 * dialect), a marker whose parameter has a declared type is written
 * "(?::pg_catalog.type)", which PostgreSQL reads as that declaration.
 * -1 with err for a statement in error, -2 past the markers a request
 * carries (INT16_MAX: its count is an int16).
 */
static int extended_rewrite(struct extended_stmt *st, const char *q, size_t len, const struct xlate *x,
                            const int32_t *oids, int noids, char *err, size_t errlen)
{
    size_t ntok = 0;
    struct sql_lex_error lerr;
    if (sql_lex(q, len, NULL, 0, &ntok, &lerr) < 0) {
        snprintf(err, errlen, "%s at character %u", lerr.message, lerr.off + 1);
        return -1;
    }
    struct sql_token *t = malloc(sizeof(*t) * (ntok ? ntok : 1));
    st->marker = malloc(sizeof(uint16_t) * (ntok ? ntok : 1));
    if (t == NULL || st->marker == NULL) {
        free(t);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    sql_lex(q, len, t, ntok, &ntok, &lerr);
    /* Room for the casts: "(?::pg_catalog." and ")" around each type name. */
    size_t room = len + 1;
    for (size_t i = 0; oids != NULL && i < ntok; i++) {
        const char *type = t[i].type == SQL_TOK_PARAM
                               ? extended_marker_cast(oids, noids, strtol(q + t[i].off + 1, NULL, 10))
                               : NULL;
        if (type != NULL)
            room += strlen("(?::pg_catalog.)") + strlen(type);
    }
    if ((st->sql = malloc(room)) == NULL) {
        free(t);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t o = 0, prev = 0;
    int semis = 0, after_semi = 0;
    for (size_t i = 0; i < ntok; i++) {
        if (t[i].type == SQL_TOK_COMMENT)
            continue;
        if (t[i].type == SQL_TOK_PUNCT && q[t[i].off] == ';') {
            semis++;
            continue;
        }
        if (semis > 0)
            after_semi = 1;
        if (t[i].type != SQL_TOK_PARAM)
            continue;
        long n = strtol(q + t[i].off + 1, NULL, 10);
        if (n < 1 || n > EXTENDED_MAX_PARAMS) {
            free(t);
            snprintf(err, errlen, "there is no parameter $%ld", n);
            return -1;
        }
        if (st->nmarkers == INT16_MAX) {
            free(t);
            snprintf(err, errlen, "too many parameter markers: a statement may hold at most %d", INT16_MAX);
            return -2;
        }
        memcpy(st->sql + o, q + prev, t[i].off - prev);
        o += t[i].off - prev;
        const char *type = extended_marker_cast(oids, noids, n);
        if (type != NULL)
            o += (size_t)sprintf(st->sql + o, "(?::pg_catalog.%s)", type);
        else
            st->sql[o++] = '?';
        prev = t[i].off + t[i].len;
        st->marker[st->nmarkers++] = (uint16_t)(n - 1);
        if (n > st->nparams)
            st->nparams = (int)n;
    }
    free(t);
    if (after_semi) {
        snprintf(err, errlen, "cannot insert multiple commands into a prepared statement");
        return -1;
    }
    memcpy(st->sql + o, q + prev, len - prev);
    o += len - prev;
    /* Drop a trailing ';' and blanks: drivers reject them in prepared text. */
    while (o > 0 && (st->sql[o - 1] == ';' || st->sql[o - 1] == ' ' || st->sql[o - 1] == '\n' ||
                     st->sql[o - 1] == '\t' || st->sql[o - 1] == '\r'))
        o--;
    st->sql[o] = '\0';
    st->sql_len = o;
    st->cmd = x->cmd;
    snprintf(st->verb, sizeof(st->verb), "%s", x->verb);
    st->empty = st->verb[0] == '\0';
    st->no_backend = (x->flags & SQL_FLAG_NO_BACKEND) != 0;
    st->state_flags = x->flags & (SQL_FLAG_BACKEND_STATE | SQL_FLAG_READS_SEQUENCE);
    return 0;
}

/* Whether st was made by Parse from query with these n parameter types. */
static int extended_stmt_same(const struct extended_stmt *st, const char *query, size_t qlen,
                              const int32_t *oids, int n)
{
    /* Parse's text has no NUL in it: the same text is the same qlen bytes, then the end. */
    if (st->types != NULL || n > st->nparams || strncmp(st->source, query, qlen) != 0 || st->source[qlen] != '\0')
        return 0;
    for (int i = 0; i < st->nparams; i++) {
        int32_t want = i < n ? oids[i] : 0;
        /* A type the text's cast gave was no type the client sent. */
        if (st->oids[i] != want && !(want == 0 && st->inferred != NULL && st->inferred[i]))
            return 0;
    }
    return 1;
}

/* Whether token k of text is the word w (folded). */
static int extended_word_is(const char *text, const struct sql_token *t, size_t n, size_t k, const char *w)
{
    char word[24];
    if (k >= n || t[k].type != SQL_TOK_IDENT)
        return 0;
    sql_token_fold(text, &t[k], word, sizeof(word));
    return strcmp(word, w) == 0;
}

/*
 * The type named at token i of text (t, n tokens), as the longest name
 * known: "int4", "double precision", "timestamp with time zone",
 * "timestamp(3) with time zone"; 0 if none, or for an array of it
 * (int4[], int4 ARRAY).
 */
static int32_t extended_type_at(const char *text, const struct sql_token *t, size_t n, size_t i)
{
    char name[48], word[24];
    size_t len = 0, end = 0;
    int32_t best = 0;
    for (size_t k = i; k < n && k < i + 4 && t[k].type == SQL_TOK_IDENT; k++) {
        sql_token_fold(text, &t[k], word, sizeof(word));
        len += (size_t)snprintf(name + len, sizeof(name) - len, "%s%s", k > i ? " " : "", word);
        if (len >= sizeof(name))
            break;
        int32_t oid = pgproto_type_oid(name);
        if (oid != 0) {
            best = oid;
            end = k + 1;
        }
    }
    if (best == 0)
        return 0;
    /* Its modifiers, varchar(10) or numeric(10, 2), keep the type. */
    if (end < n && t[end].type == SQL_TOK_PUNCT && text[t[end].off] == '(') {
        while (end < n && !(t[end].type == SQL_TOK_PUNCT && text[t[end].off] == ')'))
            end++;
        end++;
        /* A precision comes before the zone: time(3) with time zone, timestamp(3) without time zone. */
        if ((best == PG_OID_TIME || best == PG_OID_TIMESTAMP) && extended_word_is(text, t, n, end + 1, "time") &&
            extended_word_is(text, t, n, end + 2, "zone")) {
            if (extended_word_is(text, t, n, end, "with"))
                best = best == PG_OID_TIME ? PG_OID_TIMETZ : PG_OID_TIMESTAMPTZ;
            if (extended_word_is(text, t, n, end, "with") || extended_word_is(text, t, n, end, "without"))
                end += 3;
        }
    }
    /* Brackets, or SQL's ARRAY, make an array: another type. */
    if ((end < n && t[end].type == SQL_TOK_PUNCT && text[t[end].off] == '[') ||
        extended_word_is(text, t, n, end, "array"))
        return 0;
    return best;
}

/*
 * A parameter Parse left untyped that the text casts ($1::int4, CAST($1 AS
 * bigint)) is of that type, as PostgreSQL's server would say: a client
 * that encodes values by the described types (pgx) could not send an
 * integer for text.  SQLite's driver describes every parameter as text,
 * and psqlODBC a timestamptz as a timestamp.
 */
static void extended_cast_types(struct extended_stmt *st)
{
    struct sql_token t[256];
    size_t n = 0;
    struct sql_lex_error err;
    /* Most statements cast no parameter: no lexing for them. */
    if (memmem(st->source, st->source_len, "::", 2) == NULL && strcasestr(st->source, "cast") == NULL)
        return;
    if (sql_lex(st->source, st->source_len, t, 256, &n, &err) != 0 || n > 256)
        return;
    uint8_t *seen = calloc((size_t)st->nparams + 1, 1);
    if (seen == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        if (t[i].type != SQL_TOK_PARAM)
            continue;
        long p = strtol(st->source + t[i].off + 1, NULL, 10);
        /* PostgreSQL types a parameter by its first use: a later cast converts that type. */
        if (p < 1 || p > st->nparams || seen[p] || st->oids[p - 1] != 0)
            continue;
        seen[p] = 1;
        int32_t oid = 0;
        if (i + 2 < n && t[i + 1].type == SQL_TOK_OP && t[i + 1].len == 2 &&
            memcmp(st->source + t[i + 1].off, "::", 2) == 0)
            oid = extended_type_at(st->source, t, n, i + 2);
        else if (i >= 2 && t[i - 1].type == SQL_TOK_PUNCT && st->source[t[i - 1].off] == '(' &&
                 extended_word_is(st->source, t, n, i - 2, "cast") && extended_word_is(st->source, t, n, i + 1, "as"))
            oid = extended_type_at(st->source, t, n, i + 2);
        if (oid != 0 && (st->inferred != NULL || (st->inferred = calloc((size_t)st->nparams, 1)) != NULL)) {
            st->oids[p - 1] = oid;
            st->inferred[p - 1] = 1;
        }
    }
    free(seen);
}

/*
 * Create statement 'name' from query (PostgreSQL SQL with $n) and the
 * parameter types given (n of them, 0 = unspecified), replacing an unnamed
 * one.  0, or -1 with sqlstate and msg set.
 */
static int extended_stmt_create(struct session *s, const char *name, const char *query, size_t qlen,
                                const int32_t *oids, int n, char sqlstate[6], char *msg, size_t msglen)
{
    struct extended_state *x = extended_state(s);
    struct extended_stmt *cur;
    int idx;
    /*
     * Drivers parse the unnamed statement again before every execution:
     * the same text with the same types is the same statement, kept (its
     * description is asked of the backend again, as a new one's would be).
     */
    if (name[0] == '\0' && (cur = extended_find_stmt(x, "", NULL)) != NULL &&
        extended_stmt_same(cur, query, qlen, oids, n)) {
        pgbuf_reset(&cur->desc);
        cur->described = 0;
        cur->sig = 0;
        return 0;
    }
    if (name[0] != '\0' && extended_find_stmt(x, name, NULL) != NULL) {
        memcpy(sqlstate, "42P05", 6);
        snprintf(msg, msglen, "prepared statement \"%.100s\" already exists", name);
        return -1;
    }
    struct extended_stmt *st = calloc(1, sizeof(*st));
    if (st == NULL || (st->name = strdup(name)) == NULL || (st->source = strndup(query, qlen)) == NULL) {
        extended_stmt_free(st);
        memcpy(sqlstate, "53200", 6);
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    st->source_len = strlen(st->source);
    const struct xlate *xl = session_xlate(s, XLATE_PARSE, query, qlen);
    if (xl->error != NULL) {
        extended_stmt_free(st);
        memcpy(sqlstate, xl->sqlstate, 6);
        snprintf(msg, msglen, "%s", xl->error);
        return -1;
    }
    /* BEGIN and COPY go as written: the executor reads their options itself. */
    int as_written = xl->cmd == SQL_CMD_BEGIN || xl->cmd == SQL_CMD_COPY;
    int typed = !as_written && shm_pool(s->pool)->dialect == CFG_DIALECT_POSTGRES;
    int rw = extended_rewrite(st, as_written ? query : xl->sql, as_written ? qlen : xl->len, xl,
                              typed ? oids : NULL, n, msg, msglen);
    if (rw < 0) {
        extended_stmt_free(st);
        memcpy(sqlstate, rw == -2 ? "54000" : "42601", 6);
        return -1;
    }
    /* In an aborted block only its end parses, as in PostgreSQL. */
    if (s->txstatus == 'E' && !st->empty && !extended_ends_block(st)) {
        extended_stmt_free(st);
        memcpy(sqlstate, "25P02", 6);
        snprintf(msg, msglen, "%s", PGPROTO_TX_ABORTED);
        return -1;
    }
    st->set_tx = st->cmd == SQL_CMD_OTHER && strcmp(st->verb, "SET") == 0 &&
                 params_is_set_transaction(st->source, st->source_len);
    st->rowless = (st->cmd == SQL_CMD_INSERT || st->cmd == SQL_CMD_UPDATE || st->cmd == SQL_CMD_DELETE) &&
                  strcasestr(st->source, "returning") == NULL;
    int nt = n > st->nparams ? n : st->nparams;
    st->oids = calloc((size_t)(nt ? nt : 1), sizeof(int32_t));
    struct extended_stmt **ns = st->oids ? realloc(x->stmts, sizeof(*ns) * (size_t)(x->nstmts + 1)) : NULL;
    if (ns == NULL) {
        extended_stmt_free(st);
        memcpy(sqlstate, "53200", 6);
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++)
        st->oids[i] = oids[i];
    st->nparams = nt;
    extended_cast_types(st);
    x->stmts = ns;
    if (name[0] == '\0' && extended_find_stmt(x, "", &idx) != NULL)
        extended_drop_stmt(x, idx);
    x->stmts[x->nstmts++] = st;
    return 0;
}

static void extended_parse(struct session *s, const uint8_t *body, size_t len)
{
    struct pgproto_reader r;
    const char *name, *query;
    int16_t n;
    pgproto_reader_init(&r, body, len);
    if (pgproto_get_cstr(&r, &name) < 0 || pgproto_get_cstr(&r, &query) < 0 || pgproto_get_i16(&r, &n) < 0 ||
        n < 0) {
        extended_error(s, "08P01", "invalid Parse message");
        return;
    }
    int32_t *oids = calloc((size_t)(n ? n : 1), sizeof(int32_t));
    if (oids == NULL) {
        extended_error(s, "53200", "out of memory");
        return;
    }
    for (int i = 0; i < n; i++)
        pgproto_get_i32(&r, &oids[i]);
    if (r.err) {
        free(oids);
        extended_error(s, "08P01", "invalid Parse message");
        return;
    }
    char state[6], msg[300];
    int rc = extended_stmt_create(s, name, query, strlen(query), oids, n, state, msg, sizeof(msg));
    free(oids);
    if (rc < 0) {
        extended_error(s, state, msg);
        return;
    }
    extended_reply(s, '1');
}

static void extended_bind(struct session *s, const uint8_t *body, size_t len)
{
    struct extended_state *x = extended_state(s);
    struct pgproto_reader r;
    const char *portal, *stmt;
    int16_t nfmt, nval, nres;
    pgproto_reader_init(&r, body, len);
    if (pgproto_get_cstr(&r, &portal) < 0 || pgproto_get_cstr(&r, &stmt) < 0 ||
        pgproto_get_i16(&r, &nfmt) < 0 || nfmt < 0) {
        extended_error(s, "08P01", "invalid Bind message");
        return;
    }
    struct extended_stmt *st = extended_find_stmt(x, stmt, NULL);
    if (st == NULL) {
        char msg[200];
        snprintf(msg, sizeof(msg), "prepared statement \"%.100s\" does not exist", stmt);
        extended_error(s, "26000", msg);
        return;
    }
    const uint8_t *fmtp;
    if (pgproto_get_bytes(&r, &fmtp, (size_t)nfmt * 2) < 0 || pgproto_get_i16(&r, &nval) < 0 || nval < 0) {
        extended_error(s, "08P01", "invalid Bind message");
        return;
    }
    if (nval != st->nparams || (nfmt > 1 && nfmt != nval)) {
        char msg[200];
        snprintf(msg, sizeof(msg), "bind message supplies %d parameters, but prepared statement \"%.100s\" requires %d",
                 nval, stmt, st->nparams);
        extended_error(s, "08P01", msg);
        return;
    }
    if (s->txstatus == 'E' && (!extended_ends_block(st) || nval != 0)) {
        extended_error(s, "25P02", PGPROTO_TX_ABORTED);
        return;
    }
    /* Checked per parameter, as PostgreSQL does: with none, no code applies. */
    for (int i = 0; nval > 0 && i < nfmt; i++) {
        int16_t f = (int16_t)((fmtp[2 * i] << 8) | fmtp[2 * i + 1]);
        if (f != 0 && f != 1) {
            char msg[64];
            snprintf(msg, sizeof(msg), "unsupported format code: %d", f);
            extended_error(s, "22023", msg);
            return;
        }
    }
    /* Values as (offset, length) in the message, to re-encode in marker order. */
    const uint8_t **vals = calloc((size_t)(nval ? nval : 1), sizeof(*vals));
    int32_t *lens = calloc((size_t)(nval ? nval : 1), sizeof(*lens));
    if (vals == NULL || lens == NULL) {
        free(vals);
        free(lens);
        extended_error(s, "53200", "out of memory");
        return;
    }
    for (int i = 0; i < nval; i++) {
        if (pgproto_get_i32(&r, &lens[i]) < 0 || lens[i] < -1 ||
            (lens[i] > 0 && pgproto_get_bytes(&r, &vals[i], (size_t)lens[i]) < 0))
            break;
    }
    if (r.err || pgproto_get_i16(&r, &nres) < 0 || nres < 0) {
        free(vals);
        free(lens);
        extended_error(s, "08P01", "invalid Bind message");
        return;
    }
    /*
     * Each marker carries its parameter's value: refuse before copying a
     * request the executor would refuse (past LEASE_REQUEST_SLACK), which a
     * small Bind of a value many markers repeat could make gigabytes long.
     */
    size_t need = st->sql_len + LEASE_REQUEST_SLACK;
    for (int m = 0; m < st->nmarkers; m++)
        need += 10 + (lens[st->marker[m]] > 0 ? (size_t)lens[st->marker[m]] : 0);
    if (need > worker.cfg->max_message_size + LEASE_REQUEST_SLACK) {
        char msg[160];
        snprintf(msg, sizeof(msg), "bind message of %d parameter markers takes %zu bytes with its values, "
                 "more than max_message_size (%zu)", st->nmarkers, need, worker.cfg->max_message_size);
        free(vals);
        free(lens);
        extended_error(s, "54000", msg);
        return;
    }
    struct extended_portal *p = calloc(1, sizeof(*p));
    int16_t *formats = calloc((size_t)(nres ? nres : 1), sizeof(int16_t));
    int oom = p == NULL || formats == NULL || (p->name = strdup(portal)) == NULL;
    for (int i = 0; !oom && i < nres; i++)
        pgproto_get_i16(&r, &formats[i]);
    if (oom || r.err) {
        if (p != NULL)
            free(p->name);
        free(p);
        free(formats);
        free(vals);
        free(lens);
        if (oom)
            extended_error(s, "53200", "out of memory");
        else
            extended_error(s, "08P01", "invalid Bind message: fewer result formats than it counts");
        return;
    }
    p->formats = formats;
    p->nformats = nres;
    p->stmt = st;
    pgbuf_init(&p->values);
    /* Encoded as the 'E' request wants them: one entry per marker, in marker order. */
    pgproto_put_i16(&p->values, (int16_t)st->nmarkers);
    for (int m = 0; m < st->nmarkers; m++) {
        int i = st->marker[m];
        int16_t fmt = nfmt == 0 ? 0 : nfmt == 1 ? (int16_t)((fmtp[0] << 8) | fmtp[1])
                                                : (int16_t)((fmtp[2 * i] << 8) | fmtp[2 * i + 1]);
        pgproto_put_i32(&p->values, st->oids[i]);
        pgproto_put_i16(&p->values, fmt);
        pgproto_put_i32(&p->values, lens[i]);
        if (lens[i] > 0)
            pgproto_put_bytes(&p->values, vals[i], (size_t)lens[i]);
    }
    pgproto_put_i16(&p->values, (int16_t)nres);
    for (int i = 0; i < nres; i++)
        pgproto_put_i16(&p->values, formats[i]);
    free(vals);
    free(lens);
    if (p->values.oom) {
        extended_portal_free(p);
        extended_error(s, "53200", "out of memory");
        return;
    }
    int idx;
    if (extended_find_portal(x, portal, &idx) != NULL) {
        if (portal[0] != '\0') {
            extended_portal_free(p);
            char msg[200];
            snprintf(msg, sizeof(msg), "portal \"%.100s\" already exists", portal);
            extended_error(s, "42P03", msg);
            return;
        }
        extended_drop_portal(x, idx);
    }
    struct extended_portal **np = realloc(x->portals, sizeof(*np) * (size_t)(x->nportals + 1));
    if (np == NULL) {
        extended_portal_free(p);
        extended_error(s, "53200", "out of memory");
        return;
    }
    x->portals = np;
    x->portals[x->nportals++] = p;
    extended_reply(s, '2');
}

/* SET / SHOW / RESET and empty statements are answered here, never on a slot. */
static int extended_deallocates(const struct extended_stmt *st)
{
    return strcmp(st->verb, "DISCARD ALL") == 0 || strcmp(st->verb, "DEALLOCATE") == 0 ||
           strcmp(st->verb, "DEALLOCATE ALL") == 0;
}

static int extended_local(struct session *s, const struct extended_stmt *st)
{
    return st->empty || st->no_backend || st->cmd == SQL_CMD_SET || st->cmd == SQL_CMD_RESET ||
           (st->cmd == SQL_CMD_SHOW && !session_show_on_backend(s, st->cmd, st->source, st->source_len)) ||
           extended_deallocates(st);
}

/* Statements the executor runs without preparing them: no rows to describe. */
static int extended_control(const struct extended_stmt *st)
{
    return st->cmd == SQL_CMD_BEGIN || st->cmd == SQL_CMD_COMMIT || st->cmd == SQL_CMD_ROLLBACK ||
           st->cmd == SQL_CMD_SAVEPOINT || st->cmd == SQL_CMD_COPY || st->set_tx;
}

/* RowDescription (or NoData) of a local statement. */
static void extended_describe_local(struct session *s, const struct extended_stmt *st)
{
    struct pgbuf b;
    pgbuf_init(&b);
    if (st->cmd == SQL_CMD_SHOW) {
        /* A real SHOW gives the row description; run it on a scratch copy of the params. */
        struct pgbuf tmp;
        pgbuf_init(&tmp);
        params_execute(&s->params, st->cmd, st->sql, st->sql_len, s->txstatus != 'I', &tmp);
        if (tmp.len > 0 && tmp.data[0] == 'T') {
            size_t l = 1 + pgproto_load_u32(tmp.data + 1);
            pgproto_put_bytes(&b, tmp.data, l);
        } else {
            pgproto_begin(&b, 'n');
            pgproto_end(&b);
        }
        pgbuf_free(&tmp);
    } else {
        pgproto_begin(&b, 'n');
        pgproto_end(&b);
    }
    session_send(s, &b);
    pgbuf_free(&b);
}

static void extended_param_description(struct session *s, const struct extended_stmt *st)
{
    struct pgbuf b;
    pgbuf_init(&b);
    pgproto_begin(&b, 't');
    pgproto_put_i16(&b, (int16_t)st->nparams);
    for (int i = 0; i < st->nparams; i++)
        pgproto_put_i32(&b, st->oids[i] ? st->oids[i] : PG_OID_TEXT);
    pgproto_end(&b);
    session_send(s, &b);
    pgbuf_free(&b);
}

/* The first '?' marker that stands for parameter i, or -1 if none does. */
static int extended_first_marker(const struct extended_stmt *st, int i)
{
    for (int m = 0; m < st->nmarkers; m++)
        if (st->marker[m] == i)
            return m;
    return -1;
}

/* Ask the executor to describe: statement (with params) or portal (with its formats). */
static void extended_request_describe(struct session *s, struct extended_stmt *st,
                                      const struct extended_portal *p)
{
    /* A parameter Parse did not type and the statement does not use has no type, as in PostgreSQL. */
    for (int i = 0; p == NULL && i < st->nparams; i++)
        if (st->oids[i] == 0 && extended_first_marker(st, i) < 0) {
            char msg[80];
            snprintf(msg, sizeof(msg), "could not determine data type of parameter $%d", i + 1);
            extended_error(s, "42P18", msg);
            return;
        }
    pgbuf_reset(&s->req);
    pgproto_begin(&s->req, LEASE_REQ_DESCRIBE);
    pgproto_put_u8(&s->req, (p == NULL ? LEASE_DESCRIBE_PARAMS : 0) |
                                (strcmp(st->verb, "FETCH") == 0 ? LEASE_DESCRIBE_ONCE : 0));
    /*
     * Each parameter's type as Parse declared it, or -(m + 1): the type the
     * driver gives marker m, the first that stands for it (markers go in
     * the text's order, parameters in $n's).
     */
    pgproto_put_i16(&s->req, (int16_t)st->nparams);
    for (int i = 0; i < st->nparams; i++)
        pgproto_put_i32(&s->req, st->oids[i] != 0 ? st->oids[i] : -(extended_first_marker(st, i) + 1));
    pgproto_put_i16(&s->req, (int16_t)(p ? p->nformats : 0));
    for (int i = 0; p && i < p->nformats; i++)
        pgproto_put_i16(&s->req, p->formats[i]);
    pgproto_put_bytes(&s->req, st->sql, st->sql_len);
    pgproto_end(&s->req);
    s->ext->running = st;
    s->ext->running_described = 1;
    s->ext_busy = 1;
    session_dispatch(s);
}

/*
 * Describe of a portal the protocol did not create: in PostgreSQL a cursor
 * declared in SQL (DECLARE name CURSOR FOR ...) is a portal too, and
 * psycopg describes its server-side cursors so (odbc_describe_cursor).
 */
static void extended_describe_cursor(struct session *s, const char *name)
{
    pgbuf_reset(&s->req);
    pgproto_begin(&s->req, LEASE_REQ_DESCRIBE);
    pgproto_put_u8(&s->req, LEASE_DESCRIBE_CURSOR);
    pgproto_put_i16(&s->req, 0);
    pgproto_put_i16(&s->req, 0);
    pgproto_put_bytes(&s->req, name, strlen(name));
    pgproto_end(&s->req);
    s->ext_busy = 1;
    session_dispatch(s);
}

/*
 * Execute of a portal the protocol did not create: a cursor declared in SQL
 * (see extended_describe_cursor), run as FETCH FORWARD max_rows (ALL for 0)
 * from it.  As PostgreSQL's Execute of the cursor: a batch of max_rows rows
 * ends with PortalSuspended (the executor suspends at the row limit), the
 * last with CommandComplete tagged SELECT n.
 */
static void extended_execute_cursor(struct session *s, const char *name, int32_t max_rows)
{
    char head[48];
    if (max_rows > 0)
        snprintf(head, sizeof(head), "FETCH FORWARD %d FROM ", (int)max_rows);
    else
        snprintf(head, sizeof(head), "FETCH ALL FROM ");
    pgbuf_reset(&s->req);
    pgproto_begin(&s->req, LEASE_REQ_EXEC_PARAMS);
    pgproto_put_cstr(&s->req, "FETCH");
    pgproto_put_u8(&s->req, LEASE_EXEC_SELECT_TAG);
    pgproto_put_i32(&s->req, max_rows);
    pgproto_put_i32(&s->req, 0);       /* each Execute fetches anew: no cursor kept under an id */
    pgproto_put_i32(&s->req, 0);       /* no columns held: a FETCH's are its cursor's */
    pgproto_put_i32(&s->req, 0);
    pgproto_put_i16(&s->req, 0);
    pgproto_put_i16(&s->req, 0);
    pgproto_put_bytes(&s->req, head, strlen(head));
    pgproto_put_ident(&s->req, name, strlen(name));
    pgproto_end(&s->req);
    s->ext_busy = 1;
    session_dispatch(s);
}

/* 1 if a portal that the protocol did not create may be a cursor declared in SQL on the backend. */
static int extended_sql_cursor(struct session *s, const char *name)
{
    return name[0] != '\0' && s->slot != SHM_NONE && shm_pool(s->pool)->dialect == CFG_DIALECT_POSTGRES;
}

/* 1 if the next buffered client message is Execute of 'portal'. */
static int extended_execute_follows(struct session *s, const char *portal)
{
    struct evbuffer *in = conn_input(&s->conn);
    uint8_t hdr[5];
    if (in == NULL || evbuffer_copyout(in, hdr, 5) < 5 || hdr[0] != 'E')
        return 0;
    uint32_t len = pgproto_load_u32(hdr + 1);
    size_t nl = strlen(portal);
    if (len < 4 + nl + 1 + 4 || evbuffer_get_length(in) < (size_t)len + 1)
        return 0;
    uint8_t *m = evbuffer_pullup(in, (ssize_t)(5 + nl + 1));
    return memcmp(m + 5, portal, nl + 1) == 0;
}

static void extended_describe(struct session *s, const uint8_t *body, size_t len)
{
    struct extended_state *x = extended_state(s);
    struct pgproto_reader r;
    uint8_t kind;
    const char *name;
    pgproto_reader_init(&r, body, len);
    if (pgproto_get_u8(&r, &kind) < 0 || pgproto_get_cstr(&r, &name) < 0 || (kind != 'S' && kind != 'P')) {
        extended_error(s, "08P01", "invalid Describe message");
        return;
    }
    char msg[200];
    if (kind == 'S') {
        struct extended_stmt *st = extended_find_stmt(x, name, NULL);
        if (st == NULL) {
            snprintf(msg, sizeof(msg), "prepared statement \"%.100s\" does not exist", name);
            extended_error(s, "26000", msg);
            return;
        }
        if (extended_local(s, st) || extended_control(st)) {
            extended_param_description(s, st);
            extended_describe_local(s, st);
            return;
        }
        /* A FETCH describes whatever query its cursor is declared for now: never kept. */
        int fetch = strcmp(st->verb, "FETCH") == 0;
        st->told_portal = 0;
        if (st->described && !fetch) {
            session_send(s, &st->desc);
            return;
        }
        /* Keep what the backend says: the statement's description does not change. */
        pgbuf_reset(&st->desc);
        x->capture = fetch ? NULL : st;
        extended_request_describe(s, st, NULL);
        return;
    }
    struct extended_portal *p = extended_find_portal(x, name, NULL);
    if (p == NULL && extended_sql_cursor(s, name)) {
        extended_describe_cursor(s, name);
        return;
    }
    if (p == NULL) {
        snprintf(msg, sizeof(msg), "portal \"%.100s\" does not exist", name);
        extended_error(s, "34000", msg);
        return;
    }
    if (extended_local(s, p->stmt) || extended_control(p->stmt)) {
        extended_describe_local(s, p->stmt);
        return;
    }
    /*
     * Most drivers send Describe(portal) right before Execute: answer both
     * with one request.  Not a portal a row limit suspended: its Execute
     * only fetches on.
     */
    if (!p->started && !p->done && extended_execute_follows(s, name)) {
        s->ext_describe_next = 1;
        return;
    }
    extended_request_describe(s, p->stmt, p);
}

/*
 * Execute of a portal already run to completion runs nothing, as on
 * PostgreSQL: a query's or a FETCH's portal is at its end ("SELECT 0",
 * "FETCH 0"); any other statement's cannot be run again (55000).
 * PostgreSQL answers a RETURNING statement's with no rows and its first
 * tag; refusing it keeps the one thing that matters, that it does not run
 * twice.
 */
static void extended_execute_done(struct session *s, const struct extended_portal *p)
{
    int fetch = strcmp(p->stmt->verb, "FETCH") == 0;
    if (p->stmt->cmd == SQL_CMD_SELECT || fetch) {
        struct pgbuf b;
        pgbuf_init(&b);
        pgproto_command_complete(&b, fetch ? "FETCH 0" : "SELECT 0");
        session_send(s, &b);
        pgbuf_free(&b);
        return;
    }
    char msg[200];
    snprintf(msg, sizeof(msg), "portal \"%.100s\" cannot be run", p->name);
    extended_error(s, "55000", msg);
}

/* Run a local statement for Execute: its reply without the RowDescription unless described. */
static void extended_execute_local(struct session *s, struct extended_portal *p, int describe)
{
    struct extended_stmt *st = p->stmt;
    struct pgbuf b, out;
    pgbuf_init(&b);
    pgbuf_init(&out);
    if (st->empty) {
        pgproto_empty_query(&out);
    } else if (st->no_backend) {
        pgproto_command_complete(&out, st->verb);
    } else if (extended_deallocates(st)) {
        /* The portal (and maybe its statement) may be dropped: work on a copy of the text. */
        char *sql = strndup(st->sql, st->sql_len);
        char verb[sizeof(st->verb)];
        memcpy(verb, st->verb, sizeof(verb));
        if (sql == NULL || extended_deallocate(s, sql, strlen(sql), verb, &out) < 0)
            s->ext_error = 1;
        free(sql);
    } else {
        int rc = params_execute(&s->params, st->cmd, st->sql, st->sql_len, s->txstatus != 'I', &b);
        size_t pos = 0;
        while (pos + 5 <= b.len) {
            size_t l = 1 + pgproto_load_u32(b.data + pos + 1);
            if (b.data[pos] != 'T' || describe)
                pgproto_put_bytes(&out, b.data + pos, l);
            pos += l;
        }
        if (rc < 0)
            s->ext_error = 1;
    }
    session_send(s, &out);
    pgbuf_free(&b);
    pgbuf_free(&out);
}

static void extended_execute(struct session *s, const uint8_t *body, size_t len)
{
    struct extended_state *x = extended_state(s);
    struct pgproto_reader r;
    const char *name;
    int32_t max_rows;
    int describe = s->ext_describe_next;
    s->ext_describe_next = 0;
    pgproto_reader_init(&r, body, len);
    if (pgproto_get_cstr(&r, &name) < 0 || pgproto_get_i32(&r, &max_rows) < 0) {
        extended_error(s, "08P01", "invalid Execute message");
        return;
    }
    /* Zero or less is every row, as in PostgreSQL (the requests keep -1 for a Close). */
    if (max_rows < 0)
        max_rows = 0;
    struct extended_portal *p = extended_find_portal(x, name, NULL);
    if (p == NULL && extended_sql_cursor(s, name)) {
        extended_execute_cursor(s, name, max_rows);
        return;
    }
    if (p == NULL) {
        char msg[200];
        snprintf(msg, sizeof(msg), "portal \"%.100s\" does not exist", name);
        extended_error(s, "34000", msg);
        return;
    }
    struct extended_stmt *st = p->stmt;
    /* In an aborted block only its end runs, here or on the backend (an empty statement is no statement). */
    if (s->txstatus == 'E' && !st->empty && !extended_ends_block(st)) {
        extended_error(s, "25P02", PGPROTO_TX_ABORTED);
        return;
    }
    if (extended_local(s, st)) {
        extended_execute_local(s, p, describe);
        return;
    }
    if (p->done) {
        extended_execute_done(s, p);
        return;
    }
    char refusal[128];
    if (s->txstatus == 'I' &&
        params_refuse_write(&s->params, st->cmd, st->verb, st->sql, st->sql_len, refusal, sizeof(refusal))) {
        extended_error(s, "25006", refusal);
        return;
    }
    pgbuf_reset(&s->req);
    if (extended_control(st)) {
        struct pgbuf b;
        pgbuf_init(&b);
        int set_tx = st->set_tx ? params_set_transaction(&s->params, st->source, st->source_len, s->txstatus, &b)
                                : PARAMS_TX_NOT;
        if (set_tx == PARAMS_TX_FAILED) {
            pgbuf_free(&b);
            extended_error(s, "42601", "syntax error at end of input");
            return;
        }
        char type = st->cmd == SQL_CMD_BEGIN      ? LEASE_REQ_BEGIN
                    : st->cmd == SQL_CMD_COMMIT   ? LEASE_REQ_COMMIT
                    : st->cmd == SQL_CMD_ROLLBACK ? LEASE_REQ_ROLLBACK
                    : st->cmd == SQL_CMD_COPY     ? LEASE_REQ_COPY
                    : set_tx == PARAMS_TX_SEND    ? LEASE_REQ_TX_MODES
                                                  : LEASE_REQ_SAVEPOINT;
        if (describe || set_tx == PARAMS_TX_ANSWERED) {
            struct pgbuf nd;
            pgbuf_init(&nd);
            if (describe) {
                pgproto_begin(&nd, 'n');
                pgproto_end(&nd);
            }
            pgproto_put_bytes(&nd, b.data, b.len);
            session_send(s, &nd);
            pgbuf_free(&nd);
        }
        pgbuf_free(&b);
        if (set_tx == PARAMS_TX_ANSWERED)
            return;
        int answered = set_tx == PARAMS_TX_NOT ? session_tx_local(s, st->cmd, st->verb, st->sql, st->sql_len, &b) : 0;
        session_send(s, &b);
        pgbuf_free(&b);
        if (answered < 0)
            extended_failed(s);
        if (answered != 0)
            return;
        struct pgbuf modes;
        pgbuf_init(&modes);
        /* COMMIT of an aborted block rolls back, and says so, as PostgreSQL does. */
        int rolls_back = type == LEASE_REQ_COMMIT && s->txstatus == 'E';
        pgproto_begin(&s->req, rolls_back ? LEASE_REQ_ROLLBACK : type);
        pgproto_put_cstr(&s->req, rolls_back ? "ROLLBACK" : st->verb);
        /* A BEGIN that starts a block names the client's default modes too (params_begin). */
        if (type == LEASE_REQ_BEGIN && s->txstatus == 'I' && params_begin(&s->params, st->sql, st->sql_len, &modes))
            pgproto_put_bytes(&s->req, modes.data, modes.len);
        else if (type == LEASE_REQ_TX_MODES)
            pgproto_put_bytes(&s->req, st->source, st->source_len);
        else if (type != LEASE_REQ_COMMIT && type != LEASE_REQ_ROLLBACK)
            pgproto_put_bytes(&s->req, st->sql, st->sql_len);
        pgbuf_free(&modes);
    } else if (p->started) {
        pgproto_begin(&s->req, LEASE_REQ_FETCH);
        pgproto_put_i32(&s->req, max_rows);
        pgproto_put_i32(&s->req, (int32_t)p->id);
    } else {
        /*
         * Only a named portal gets an id: the unnamed one dies when it is
         * bound again or a Query runs, so its cursor goes when the next
         * statement runs.
         */
        /* A row limit does not stop a statement that returns no rows: it runs to its end, as in PostgreSQL. */
        p->done = max_rows <= 0 || st->rowless;
        if (max_rows > 0) {
            p->started = 1;
            if (p->name[0] != '\0') {
                if (++x->next_id == 0)
                    x->next_id = 1;
                p->id = x->next_id;
            }
        }
        pgproto_begin(&s->req, LEASE_REQ_EXEC_PARAMS);
        pgproto_put_cstr(&s->req, st->verb);
        /*
         * A client told a portal's columns (SQLite types an expression's
         * by the values: odbc_sqlite_portal_cols) reads later runs by them,
         * binary ones too, though it describes no more (PgJDBC).
         */
        if (describe)
            st->told_portal = 1;
        pgproto_put_u8(&s->req, describe ? LEASE_EXEC_DESCRIBE : st->told_portal ? LEASE_EXEC_AS_DESCRIBED : 0);
        pgproto_put_i32(&s->req, max_rows);
        pgproto_put_i32(&s->req, (int32_t)p->id);
        pgproto_put_i32(&s->req, (int32_t)(uint32_t)(st->sig >> 32));
        pgproto_put_i32(&s->req, (int32_t)(uint32_t)st->sig);
        pgproto_put_bytes(&s->req, p->values.data, p->values.len);
        pgproto_put_bytes(&s->req, st->sql, st->sql_len);
        x->running = st;
        x->running_described = describe;
    }
    pgproto_end(&s->req);
    session_backend_statement(s, st->state_flags, st->verb, st->source, st->source_len);
    if (st->state_flags & SQL_FLAG_READS_SEQUENCE) {
        struct pgbuf warning;
        pgbuf_init(&warning);
        session_warn_sequence(s, &warning);
        session_send(s, &warning);
        pgbuf_free(&warning);
    }
    s->ext_busy = 1;
    session_dispatch(s);
}

static void extended_close(struct session *s, const uint8_t *body, size_t len)
{
    struct extended_state *x = extended_state(s);
    struct pgproto_reader r;
    uint8_t kind;
    const char *name;
    int idx;
    pgproto_reader_init(&r, body, len);
    if (pgproto_get_u8(&r, &kind) < 0 || pgproto_get_cstr(&r, &name) < 0 || (kind != 'S' && kind != 'P')) {
        extended_error(s, "08P01", "invalid Close message");
        return;
    }
    /* Closing something that does not exist is not an error. */
    struct extended_portal *p = kind == 'P' ? extended_find_portal(x, name, &idx) : NULL;
    uint32_t id = p != NULL && p->started ? p->id : 0;
    if (kind == 'S' && extended_find_stmt(x, name, &idx) != NULL)
        extended_drop_stmt(x, idx);
    else if (p != NULL)
        extended_drop_portal(x, idx);
    /* A cursor a row limit left open on the slot closes there (the executor answers CloseComplete). */
    if (id != 0 && s->slot != SHM_NONE) {
        pgbuf_reset(&s->req);
        pgproto_begin(&s->req, LEASE_REQ_FETCH);
        pgproto_put_i32(&s->req, -1);
        pgproto_put_i32(&s->req, (int32_t)id);
        pgproto_end(&s->req);
        s->ext_busy = 1;
        session_dispatch(s);
        return;
    }
    extended_reply(s, '3');
}

void extended_simple_query(struct session *s)
{
    struct extended_state *x = s->ext;
    int idx;
    if (x == NULL)
        return;
    if (extended_find_portal(x, "", &idx) != NULL)
        extended_drop_portal(x, idx);
    if (extended_find_stmt(x, "", &idx) != NULL)
        extended_drop_stmt(x, idx);
}

void extended_block_end(struct session *s)
{
    struct extended_state *x = s->ext;
    while (x != NULL && x->nportals > 0)
        extended_drop_portal(x, 0);
}

/* Sync: the implicit transaction ends; portals die with it, as in PostgreSQL. */
static void extended_sync(struct session *s)
{
    /* An error in a block aborts it, whoever answered it (an executor's error has done so already). */
    if (s->ext_error)
        session_abort_block(s);
    s->ext_error = 0;
    s->ext_describe_next = 0;
    if (s->txstatus == 'I')
        extended_block_end(s);
    session_end_of_query(s);
}

void extended_message(struct session *s, char type, const uint8_t *body, size_t len)
{
    if (s->ext_error && type != 'S')
        return;
    switch (type) {
    case 'P':
        extended_parse(s, body, len);
        break;
    case 'B':
        extended_bind(s, body, len);
        break;
    case 'D':
        extended_describe(s, body, len);
        break;
    case 'E':
        extended_execute(s, body, len);
        break;
    case 'C':
        extended_close(s, body, len);
        break;
    case 'S':
        extended_sync(s);
        break;
    default:    /* 'H' Flush: what is held goes now */
        conn_release(&s->conn);
        break;
    }
}

struct pgbuf *extended_capture(struct session *s)
{
    return s->ext != NULL && s->ext->capture != NULL ? &s->ext->capture->desc : NULL;
}

void extended_done(struct session *s, char txstatus, int flags, uint64_t sig)
{
    struct extended_state *x = s->ext;
    /* A statement the backend refused to prepare is no statement, as after PostgreSQL's failed Parse. */
    struct extended_stmt *refused =
        x != NULL && (flags & LEASE_F_UNPREPARED) && x->running != NULL && !x->running->prepared ? x->running : NULL;
    if (x != NULL && x->running != NULL && !(flags & LEASE_F_ERROR))
        x->running->prepared = 1;
    if (x != NULL && x->running != NULL && sig != 0 && (x->running_described || x->running->sig == 0)) {
        struct extended_stmt *st = x->running;
        /* Its columns changed and the client was told: the description kept is the old one. */
        if (st->sig != 0 && st->sig != sig && st != x->capture) {
            st->described = 0;
            pgbuf_reset(&st->desc);
        }
        st->sig = sig;
    }
    if (x != NULL)
        x->running = NULL;
    if (x != NULL && x->capture != NULL) {
        struct extended_stmt *st = x->capture;
        st->described = !(flags & LEASE_F_ERROR) && !st->desc.oom;
        if (!st->described)
            pgbuf_reset(&st->desc);
        x->capture = NULL;
    }
    int idx;
    if (refused != NULL && extended_find_stmt(x, refused->name, &idx) == refused)
        extended_drop_stmt(x, idx);
    s->ext_busy = 0;
    int ended = s->txstatus != 'I' && txstatus == 'I';
    s->txstatus = txstatus;
    if (ended)
        extended_block_end(s);
    if (flags & LEASE_F_ERROR)
        s->ext_error = 1;
    session_resume(s);
}
