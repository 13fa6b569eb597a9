/*
 * odbc: one backend connection through unixODBC, and the encoding of what it
 * returns straight into PostgreSQL protocol messages.
 *
 * Results stream: each row is read column by column with SQLGetData (long
 * values in pieces), encoded as a DataRow into the connection's pgbuf, and
 * the buffer goes to the sink whenever it passes ODBC_FLUSH_BYTES.  A long
 * result goes on in rowsets (odbc_fetch): with a driver that can read a
 * bound column of any row again (psqlODBC), past ODBC_ROWSET_AFTER rows the
 * columns are bound and fetched ODBC_ROWSET_ROWS rows a call, which saves
 * the driver's entry and exit per value (a third of the executor's CPU in a
 * large SELECT); a value longer than its binding is read whole with
 * SQLGetData.  Memory is bounded by the flush threshold, the rowset's
 * buffers (ODBC_ROWSET_BYTES) and the largest single row, whatever the
 * number of rows.  Driver diagnostics become ErrorResponses with
 * PostgreSQL SQLSTATEs and the backend's own words, without the driver
 * decorations.
 *
 * The simple protocol runs on one statement handle with SQLExecDirect.  The
 * extended protocol runs on prepared handles kept per connection by SQL
 * text (least recently used evicted), each with the parameter types and
 * result columns the driver described once, at prepare time.  Whatever
 * format the client sent a parameter in, the driver gets it as a C integer,
 * double or bit, as raw bytes (bytea), or as character data; binary result
 * columns are encoded from the driver's character data.  At most one
 * cursor stays open between calls: the one a row limit suspended.
 */
#include "broker/odbc.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ck_pr.h>
#include <sql.h>
#include <sqlext.h>

#include "broker/odbc_int.h"
#include "common/civil.h"
#include "common/pgproto.h"
#include "common/sql_autoparam.h"
#include "common/sql_lexer.h"

static int odbc_diag_get(SQLSMALLINT htype, SQLHANDLE h, SQLSMALLINT rec, struct odbc_diag *d)
{
    SQLSMALLINT len = 0;
    SQLRETURN rc;

    d->state[0] = '\0';
    d->msg[0] = '\0';
    d->native = 0;
    rc = SQLGetDiagRec(htype, h, rec, (SQLCHAR *)d->state, &d->native, (SQLCHAR *)d->msg,
                       (SQLSMALLINT)sizeof(d->msg), &len);
    if (!SQL_SUCCEEDED(rc))
        return -1;
    d->state[5] = '\0';
    d->msg[sizeof(d->msg) - 1] = '\0';
    return 0;
}

static char *odbc_skip_space(char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    return p;
}

static void odbc_trim_end(char *s)
{
    size_t n = strlen(s);

    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
                     s[n - 1] == '\n'))
        s[--n] = '\0';
}

/* Cut s at the first "\n<label>" and return what follows the label, or NULL. */
static char *odbc_split_field(char *s, const char *label)
{
    char *at = strstr(s, label);

    if (at == NULL)
        return NULL;
    *at = '\0';
    return odbc_skip_space(at + strlen(label));
}

/*
 * Strip what the driver manager and drivers wrap around the backend's
 * words: vendor tags ("[unixODBC][Driver Manager]", "[SQLite]"), the
 * severity psqlODBC prefixes ("ERROR: "), psqlODBC's closing remark
 * (";\nError while executing the query"), and SQLite's " (<native code>)".
 * psqlODBC also carries PostgreSQL's DETAIL and HINT lines; they become
 * fields of their own.  Works in place on d->msg.
 */
static void odbc_text_parse(struct odbc_diag *d, struct odbc_text *t)
{
    static const char *const severities[] = {
        "ERROR", "FATAL", "PANIC", "WARNING", "NOTICE", "INFO", "LOG", "DEBUG"
    };
    char *p = odbc_skip_space(d->msg);
    char *end, *detail, *hint, suffix[24];
    size_t i, n;

    memset(t, 0, sizeof(*t));

    /* A vendor tag has no ':' in it; IRIS's "[SQLCODE: <-30>:...]" is content. */
    while (*p == '[') {
        end = strchr(p, ']');
        if (end == NULL || memchr(p, ':', (size_t)(end - p)) != NULL || end - p > 64)
            break;
        p = end + 1;
    }

    for (i = 0; i < sizeof(severities) / sizeof(severities[0]); i++) {
        n = strlen(severities[i]);
        if (strncmp(p, severities[i], n) == 0 && p[n] == ':') {
            t->severity = severities[i];
            p = odbc_skip_space(p + n + 1);
            break;
        }
    }

    end = NULL;
    for (char *s = strstr(p, ";\n"); s != NULL; s = strstr(s + 2, ";\n"))
        end = s;
    if (end != NULL && strchr(end + 2, '\n') == NULL)
        *end = '\0';

    hint = odbc_split_field(p, "\nHINT:");
    detail = odbc_split_field(p, "\nDETAIL:");
    if (hint != NULL)
        odbc_trim_end(hint);
    if (detail != NULL)
        odbc_trim_end(detail);

    snprintf(suffix, sizeof(suffix), " (%d)", (int)d->native);
    odbc_trim_end(p);
    n = strlen(p);
    if (n > strlen(suffix) && strcmp(p + n - strlen(suffix), suffix) == 0)
        p[n - strlen(suffix)] = '\0';

    t->message = *p != '\0' ? p : "unknown error from the ODBC driver";
    t->detail = detail;
    t->hint = hint;
}

/*
 * "SQLSTATE: message" for every record on the handle, joined by "; ", on
 * one line.  Used for connect failures, which go to the log, not to a
 * client; the connection string is never part of it.
 */
static void odbc_diag_text(SQLSMALLINT htype, SQLHANDLE h, const char *what, char *buf,
                           size_t len)
{
    struct odbc_diag d;
    size_t used = 0;
    SQLSMALLINT rec;

    if (buf == NULL || len == 0)
        return;
    buf[0] = '\0';
    for (rec = 1; used + 1 < len && odbc_diag_get(htype, h, rec, &d) == 0; rec++) {
        for (char *s = d.msg; *s != '\0'; s++)
            if (*s == '\n' || *s == '\r' || *s == '\t')
                *s = ' ';
        odbc_trim_end(d.msg);
        used += (size_t)snprintf(buf + used, len - used, "%s%s: %s", rec > 1 ? "; " : "",
                                 d.state, d.msg);
    }
    if (buf[0] == '\0')
        snprintf(buf, len, "HY000: %s failed without a diagnostic", what);
}


static void odbc_prep_free(struct odbc_prep *p);
static void odbc_portals_close(struct odbc_conn *c);
static void odbc_portals_lose(struct odbc_conn *c, int why);
static uint64_t odbc_cols_sig(const struct odbc_cols *cols);

/* psqlODBC's connection attribute for UseDeclareFetch (its psqlodbc.h). */
#define ODBC_PSQL_USE_DECLAREFETCH 65539

/*
 * The next key=value of a connection string from *p: the key (as written,
 * nothing trimmed) and the value, a {braced} one whole.  0 at the end.
 */
static int odbc_connstr_next(const char **p, const char **k, size_t *kn, const char **v, size_t *vn)
{
    const char *q = *p;

    for (;;) {
        if (*q == '\0')
            return 0;
        *k = q;
        while (*q != '\0' && *q != '=' && *q != ';')
            q++;
        *kn = (size_t)(q - *k);
        if (*q == '=')
            break;
        if (*q == ';')
            q++;
    }
    *v = ++q;
    if (*q == '{') {
        const char *end = strchr(q, '}');
        q = end != NULL ? end + 1 : q + strlen(q);
    }
    while (*q != '\0' && *q != ';')
        q++;
    *vn = (size_t)(q - *v);
    *p = *q == ';' ? q + 1 : q;
    return 1;
}

/* Whether the connection string has this key, spelled as drivers match it: any case, nothing around it. */
static int odbc_connstr_has(const char *connstr, const char *key)
{
    const char *k, *v;
    size_t kn, vn, n = strlen(key);

    while (odbc_connstr_next(&connstr, &k, &kn, &v, &vn))
        if (kn == n && strncasecmp(k, key, n) == 0)
            return 1;
    return 0;
}

/*
 * Whether a connection string chooses psqlODBC's rollback level: a
 * Protocol (or A1) key, spelled as the driver matches it (any case,
 * nothing around it), whose value has a "-digit" after the version, the
 * only place the driver reads the level from.  {Braced} values are skipped.
 */
int odbc_connstr_rollback_level(const char *connstr)
{
    const char *k, *v, *dash;
    size_t kn, vn;

    while (odbc_connstr_next(&connstr, &k, &kn, &v, &vn)) {
        dash = memchr(v, '-', vn);
        if (((kn == 8 && strncasecmp(k, "Protocol", 8) == 0) || (kn == 2 && strncasecmp(k, "A1", 2) == 0)) &&
            dash != NULL && isdigit((unsigned char)dash[1]))
            return 1;
    }
    return 0;
}

/* psqlODBC's connects, one at a time (odbc_connect). */
static pthread_mutex_t odbc_connect_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * What pgiris adds to a connection string, unless it says otherwise.
 * psqlODBC's default rollback on errors wraps every statement of a
 * transaction but the first in a SAVEPOINT and a RELEASE, two more round
 * trips each, and takes a failed statement back where PostgreSQL aborts
 * the transaction; a SET TRANSACTION after a query then undoes itself with
 * the savepoint.  Protocol=7.4-0 turns that off, unless the connection
 * string chose a level itself (a later Protocol overrides an earlier one
 * that named only the version).  SQLite's driver names a column by what
 * follows the last dot of SQLite's name for it ("SELECT 1.5" had a column
 * "5", an expression with a string in it "')"), and its label so too when
 * the result has one column: LongNames=1 keeps SQLite's names whole, and
 * ShortNames=1 keeps them SQLite's defaults (a column, not "table.column";
 * LongNames alone would turn full_column_names on).  NULL when memory ran
 * short.
 */
char *odbc_connstr_effective(const char *connstr, enum cfg_dialect dialect)
{
    const char *add[2] = { NULL, NULL };
    size_t n = strlen(connstr), len = n + 2;
    char *s, *at;
    int i;

    if (dialect == CFG_DIALECT_POSTGRES && !odbc_connstr_rollback_level(connstr))
        add[0] = "Protocol=7.4-0";
    if (dialect == CFG_DIALECT_SQLITE && !odbc_connstr_has(connstr, "LongNames")) {
        add[0] = "LongNames=1";
        if (!odbc_connstr_has(connstr, "ShortNames"))
            add[1] = "ShortNames=1";
    }
    for (i = 0; i < 2; i++)
        len += add[i] != NULL ? strlen(add[i]) + 1 : 0;
    if ((s = malloc(len)) == NULL)
        return NULL;
    at = s + snprintf(s, len, "%s", connstr);
    for (i = 0; i < 2 && add[i] != NULL; i++)
        at += snprintf(at, len - (size_t)(at - s), "%s%s", at > s && at[-1] != ';' ? ";" : "", add[i]);
    return s;
}

int odbc_connect(const char *connstr, enum cfg_dialect dialect, double timeout,
                 struct odbc_conn **out, char *errbuf, size_t errlen)
{
    struct odbc_conn *c;
    SQLRETURN rc;

    *out = NULL;
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        snprintf(errbuf, errlen, "HY001: out of memory");
        return -1;
    }
    c->dialect = dialect;
    c->max_prepared = ODBC_MAX_PREPARED;
    c->schema_gen = &c->schema_own;
    pgbuf_init(&c->out);
    pgbuf_init(&c->bin);
    pgbuf_init(&c->pbuf);
    pgbuf_init(&c->shape);
    pthread_mutex_init(&c->cancel_lock, NULL);

    rc = SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &c->env);
    if (!SQL_SUCCEEDED(rc)) {
        c->env = SQL_NULL_HENV;
        snprintf(errbuf, errlen, "HY001: SQLAllocHandle(SQL_HANDLE_ENV) failed");
        goto failed;
    }
    rc = SQLSetEnvAttr(c->env, SQL_ATTR_ODBC_VERSION, (SQLPOINTER)SQL_OV_ODBC3, 0);
    if (!SQL_SUCCEEDED(rc)) {
        odbc_diag_text(SQL_HANDLE_ENV, c->env, "SQLSetEnvAttr(SQL_ATTR_ODBC_VERSION)", errbuf,
                       errlen);
        goto failed;
    }
    rc = SQLAllocHandle(SQL_HANDLE_DBC, c->env, &c->dbc);
    if (!SQL_SUCCEEDED(rc)) {
        c->dbc = SQL_NULL_HDBC;
        odbc_diag_text(SQL_HANDLE_ENV, c->env, "SQLAllocHandle(SQL_HANDLE_DBC)", errbuf, errlen);
        goto failed;
    }
    if (timeout > 0) {
        SQLULEN secs = (SQLULEN)timeout;

        if ((double)secs < timeout)
            secs++;
        /* A driver without login timeouts still connects: not worth failing for. */
        SQLSetConnectAttr(c->dbc, SQL_ATTR_LOGIN_TIMEOUT, (SQLPOINTER)secs, 0);
    }
    char *effective = odbc_connstr_effective(connstr, dialect);
    if (effective == NULL) {
        snprintf(errbuf, errlen, "HY001: out of memory");
        goto failed;
    }
    /*
     * psqlODBC sets and reads the process's locale while it connects
     * (setlocale, which is not thread-safe): two executors connecting at
     * once had one read the locale name the other had just freed (seen by
     * AddressSanitizer).  Its connects go one at a time; they are rare.
     * (A PostgreSQL host that does not answer so delays the connects of
     * the other PostgreSQL pools by up to server_connect_timeout each.)
     */
    int serial = dialect == CFG_DIALECT_POSTGRES;
    if (serial)
        pthread_mutex_lock(&odbc_connect_lock);
    rc = SQLDriverConnect(c->dbc, NULL, (SQLCHAR *)effective, SQL_NTS, NULL, 0, NULL,
                          SQL_DRIVER_NOPROMPT);
    if (serial)
        pthread_mutex_unlock(&odbc_connect_lock);
    free(effective);
    if (!SQL_SUCCEEDED(rc)) {
        odbc_diag_text(SQL_HANDLE_DBC, c->dbc, "SQLDriverConnect", errbuf, errlen);
        goto failed;
    }
    c->connected = 1;
    if (!SQL_SUCCEEDED(SQLGetConnectAttr(c->dbc, SQL_ATTR_TXN_ISOLATION, &c->default_isolation, 0, NULL)))
        c->default_isolation = SQL_TXN_READ_COMMITTED;
    rc = SQLAllocHandle(SQL_HANDLE_STMT, c->dbc, &c->stmt);
    if (!SQL_SUCCEEDED(rc)) {
        c->stmt = SQL_NULL_HSTMT;
        odbc_diag_text(SQL_HANDLE_DBC, c->dbc, "SQLAllocHandle(SQL_HANDLE_STMT)", errbuf,
                       errlen);
        goto failed;
    }
    c->active = c->stmt;
    c->cancel_stmt = SQL_NULL_HSTMT;
    {
        SQLUINTEGER gd = 0;
        const SQLUINTEGER want = SQL_GD_ANY_COLUMN | SQL_GD_ANY_ORDER | SQL_GD_BLOCK | SQL_GD_BOUND;

        c->gd_block = SQL_SUCCEEDED(SQLGetInfo(c->dbc, SQL_GETDATA_EXTENSIONS, &gd, sizeof(gd), NULL)) &&
                      (gd & want) == want;
    }
    if (dialect == CFG_DIALECT_SQLITE &&
        !SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, c->dbc, &c->cancel_stmt))) {
        c->cancel_stmt = SQL_NULL_HSTMT;
        odbc_diag_text(SQL_HANDLE_DBC, c->dbc, "SQLAllocHandle(SQL_HANDLE_STMT)", errbuf, errlen);
        goto failed;
    }
    /* PostgreSQL's LIKE is case-sensitive; ILIKE is translated (sql_rule_ilike). */
    if (dialect == CFG_DIALECT_SQLITE) {
        rc = SQLExecDirect(c->stmt, (SQLCHAR *)"PRAGMA case_sensitive_like = ON", SQL_NTS);
        SQLFreeStmt(c->stmt, SQL_CLOSE);
        if (!SQL_SUCCEEDED(rc)) {
            odbc_diag_text(SQL_HANDLE_STMT, c->stmt, "PRAGMA case_sensitive_like", errbuf, errlen);
            goto failed;
        }
    }
    /*
     * psqlODBC hands timestamptz over in the session's time zone without
     * the offset: in UTC, pgiris can say which instant it is ("+00").
     */
    if (dialect == CFG_DIALECT_POSTGRES) {
        SQLUINTEGER udf = 0;
        if (SQL_SUCCEEDED(SQLGetConnectAttr(c->dbc, ODBC_PSQL_USE_DECLAREFETCH, &udf, 0, NULL)) && udf == 1)
            c->cursor_adaptive = c->cursor_on = 1;
        rc = SQLExecDirect(c->stmt, (SQLCHAR *)"SET TIME ZONE 'UTC'", SQL_NTS);
        SQLFreeStmt(c->stmt, SQL_CLOSE);
        if (!SQL_SUCCEEDED(rc)) {
            odbc_diag_text(SQL_HANDLE_STMT, c->stmt, "SET TIME ZONE", errbuf, errlen);
            goto failed;
        }
    }
    *out = c;
    return 0;

failed:
    odbc_disconnect(c);
    return -1;
}

static void odbc_rowset_free(struct odbc_rowset *rs)
{
    free(rs->ctype);
    free(rs->off);
    free(rs->width);
    free(rs->ind);
    free(rs->buf);
    memset(rs, 0, sizeof(*rs));
}

static void odbc_cols_free(struct odbc_cols *cols)
{
    free(cols->v);
    free(cols->names);
    memset(cols, 0, sizeof(*cols));
}

void odbc_disconnect(struct odbc_conn *c)
{
    int i;

    if (c == NULL)
        return;
    odbc_portals_close(c);
    free(c->parked);
    for (i = 0; i < c->npreps; i++)
        odbc_prep_free(c->preps[i]);
    free(c->preps);
    if (c->stmt != SQL_NULL_HSTMT)
        SQLFreeHandle(SQL_HANDLE_STMT, c->stmt);
    if (c->cancel_stmt != SQL_NULL_HSTMT)
        SQLFreeHandle(SQL_HANDLE_STMT, c->cancel_stmt);
    if (c->connected) {
        /* Some drivers refuse to disconnect with a transaction open. */
        if (c->in_tx)
            odbc_tx_end(c, SQL_ROLLBACK, 0);
        SQLDisconnect(c->dbc);
    }
    if (c->dbc != SQL_NULL_HDBC)
        SQLFreeHandle(SQL_HANDLE_DBC, c->dbc);
    if (c->env != SQL_NULL_HENV)
        SQLFreeHandle(SQL_HANDLE_ENV, c->env);
    pthread_mutex_destroy(&c->cancel_lock);
    pgbuf_free(&c->out);
    pgbuf_free(&c->bin);
    pgbuf_free(&c->pbuf);
    pgbuf_free(&c->inl);
    pgbuf_free(&c->shape);
    free(c->val);
    odbc_rowset_free(&c->rs);
    odbc_cols_free(&c->simple);
    free(c->pcols.v);
    free(c->binds);
    free(c->fmt);
    free(c);
}

/* Hand the buffered messages to the sink.  0, or ODBC_ABANDONED. */
int odbc_flush(struct odbc_conn *c, struct odbc_sink *sink)
{
    int rc = 0;

    if (c->out.len > 0)
        rc = sink->write(sink->arg, c->out.data, c->out.len);
    pgbuf_reset(&c->out);
    return rc < 0 ? ODBC_ABANDONED : 0;
}

/* Give back memory that one outsized value made grow. */
void odbc_buffers_trim(struct odbc_conn *c)
{
    if (c->out.cap > ODBC_KEEP_BYTES)
        pgbuf_free(&c->out);
    if (c->bin.cap > ODBC_KEEP_BYTES)
        pgbuf_free(&c->bin);
    /* An open cursor's parameters are still bound to pbuf. */
    if (c->pbuf.cap > ODBC_KEEP_BYTES && c->cur == NULL)
        pgbuf_free(&c->pbuf);
    if (c->shape.cap > ODBC_KEEP_BYTES)
        pgbuf_free(&c->shape);
    if (c->inl.cap > ODBC_KEEP_BYTES)
        pgbuf_free(&c->inl);
    if (c->val_cap > ODBC_KEEP_BYTES) {
        free(c->val);
        c->val = NULL;
        c->val_cap = 0;
    }
    if (c->rs.buf_cap > ODBC_KEEP_BYTES && !c->rs.on) {
        free(c->rs.buf);
        c->rs.buf = NULL;
        c->rs.buf_cap = 0;
    }
}

/*
 * psqlODBC opens a transaction of its own for a cursor in autocommit, and
 * with no rollback on errors (Protocol=7.4-0, what pgiris asks for) leaves
 * it aborted when the statement fails: every later statement would meet
 * 25P02.  Leaving autocommit ends it (the driver's COMMIT, which the
 * server turns into ROLLBACK); with no transaction open, nothing is sent.
 */
static void odbc_failed_autocommit(struct odbc_conn *c)
{
    if (c->dialect == CFG_DIALECT_POSTGRES && !c->in_tx && odbc_autocommit(c, 0) == 0)
        odbc_autocommit(c, 1);
}

/* End of every call that answers the client: flush what is buffered. */
int odbc_finish(struct odbc_conn *c, struct odbc_sink *sink, int result)
{
    /* odbc_exec_params decides what becomes of this error. */
    if (c->defer_out && c->stale_plan)
        return result;
    if (result == ODBC_ERROR)
        odbc_failed_autocommit(c);
    if (c->out.oom) {
        /* The last message is incomplete; the complete ones before it go too. */
        pgbuf_reset(&c->out);
        pgproto_error(&c->out, 'E', "ERROR", "53200", "out of memory while encoding the result",
                      NULL, NULL);
        if (result == ODBC_OK)
            result = ODBC_ERROR;
    }
    if (odbc_flush(c, sink) < 0)
        result = ODBC_ABANDONED;
    odbc_buffers_trim(c);
    return result;
}

/* Abandoned: whatever is buffered stays unsent. */
int odbc_abandon(struct odbc_conn *c)
{
    pgbuf_reset(&c->out);
    odbc_buffers_trim(c);
    return ODBC_ABANDONED;
}

/* The handle odbc_cancel() acts on from now on. */
void odbc_active_set(struct odbc_conn *c, SQLHSTMT h)
{
    pthread_mutex_lock(&c->cancel_lock);
    c->active = h;
    pthread_mutex_unlock(&c->cancel_lock);
}

/*
 * SQLite's driver (0.9998) steps a SELECT without parameters lazily, and
 * SQL_CLOSE does not reset it: closed before its last row, the statement
 * stays active and keeps the database's read lock (other connections
 * cannot write, this one cannot DROP or ALTER) until its handle prepares
 * again or is freed.  So a handle whose cursor stopped early is freed.
 */
int odbc_early_close_locks(const struct odbc_conn *c)
{
    return c->dialect == CFG_DIALECT_SQLITE;
}

/* A new simple-protocol handle in place of one left holding a lock. */
void odbc_stmt_renew(struct odbc_conn *c)
{
    SQLHSTMT fresh, old = c->stmt;

    /* Without a new handle the old one stays, and its lock until it runs again. */
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, c->dbc, &fresh)))
        return;
    pthread_mutex_lock(&c->cancel_lock);
    c->stmt = fresh;
    c->active = fresh;
    pthread_mutex_unlock(&c->cancel_lock);
    SQLFreeHandle(SQL_HANDLE_STMT, old);
}

/*
 * The backend is gone when the state says so (class 08), when the driver
 * says so (SQL_ATTR_CONNECTION_DEAD, where supported), or when psqlODBC
 * reports it in words only (a FATAL arrives as 57P01 with "The connection
 * has been lost").
 */
static int odbc_is_lost(struct odbc_conn *c, const struct odbc_diag *d)
{
    static const char *const phrases[] = {
        "connection has been lost", "connection lost", "connection dead",
        "could not send", "server closed the connection", "no connection to the server",
    };
    SQLUINTEGER dead = SQL_CD_FALSE;
    size_t i;

    if (strncmp(d->state, "08", 2) == 0)
        return 1;
    for (i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++)
        if (strcasestr(d->msg, phrases[i]) != NULL)
            return 1;
    if (SQL_SUCCEEDED(SQLGetConnectAttr(c->dbc, SQL_ATTR_CONNECTION_DEAD, &dead, 0, NULL)) &&
        dead == SQL_CD_TRUE)
        return 1;
    return 0;
}

/*
 * Append the ErrorResponse for the first diagnostic on h.  Must run before
 * any other call on h, which would clear the diagnostics.
 */
static const char *odbc_cancel_message(const struct odbc_conn *c)
{
    return c->cancel_timeout ? "canceling statement due to statement timeout"
                             : "canceling statement due to user request";
}

int odbc_error_build(struct odbc_conn *c, SQLSMALLINT htype, SQLHANDLE h)
{
    struct odbc_diag d;
    struct odbc_text t;
    char state[6], msg[ODBC_MSG_MAX + 32];

    if (odbc_diag_get(htype, h, 1, &d) < 0) {
        memcpy(d.state, "HY000", sizeof(d.state));
        d.native = 0;
        d.msg[0] = '\0';
    }
    if (odbc_is_lost(c, &d)) {
        odbc_text_parse(&d, &t);
        snprintf(msg, sizeof(msg), "backend connection lost: %s", t.message);
        pgproto_error(&c->out, 'E', "ERROR", "08006", msg, t.detail, t.hint);
        return ODBC_BROKEN;
    }
    odbc_map_sqlstate(c->dialect, d.state, d.msg, state);
    odbc_text_parse(&d, &t);
    if (c->defer_out && strcmp(state, "0A000") == 0 &&
        strstr(t.message, "cached plan must not change result type") != NULL)
        c->stale_plan = 1;
    /* Cancellation reaches clients in PostgreSQL's words, whatever the driver said. */
    if (strcmp(state, "57014") == 0 && strcmp(d.state, "57014") != 0)
        t.message = strcmp(d.state, "HYT00") == 0 ? "canceling statement due to statement timeout"
                                                  : odbc_cancel_message(c);
    else if (strcmp(state, "57014") == 0 && c->cancel_timeout)
        t.message = odbc_cancel_message(c);
    pgproto_error_where(&c->out, 'E', "ERROR", state, t.message, t.detail, t.hint, c->error_where);
    memcpy(c->last_state, state, sizeof(c->last_state));
    return ODBC_ERROR;
}

/* Append an ErrorResponse of pgiris's own; returns ODBC_E_SENT. */
int odbc_error_put(struct odbc_conn *c, const char *state, const char *detail,
                   const char *fmt, ...)
{
    char msg[ODBC_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pgproto_error(&c->out, 'E', "ERROR", state, msg, detail, NULL);
    return ODBC_E_SENT;
}

/*
 * psqlODBC reports the backend's notices (DROP ... IF EXISTS, RAISE NOTICE)
 * as SQL_SUCCESS_WITH_INFO records that start with the severity; a
 * PostgreSQL client expects them as NoticeResponses.  Records without a
 * severity are driver chatter and stay here.
 */
void odbc_notices_forward(struct odbc_conn *c, SQLHSTMT stmt)
{
    struct odbc_diag d;
    struct odbc_text t;
    SQLSMALLINT rec;

    for (rec = 1; odbc_diag_get(SQL_HANDLE_STMT, stmt, rec, &d) == 0; rec++) {
        odbc_text_parse(&d, &t);
        if (t.severity == NULL || strcmp(t.severity, "ERROR") == 0 ||
            strcmp(t.severity, "FATAL") == 0 || strcmp(t.severity, "PANIC") == 0)
            continue;
        pgproto_error(&c->out, 'N', t.severity, strlen(d.state) == 5 ? d.state : "00000",
                      t.message, t.detail, t.hint);
    }
}

static int odbc_val_grow(struct odbc_conn *c, size_t need)
{
    size_t cap = c->val_cap ? c->val_cap : ODBC_VALUE_MIN;
    char *p;

    if (need <= c->val_cap)
        return 0;
    while (cap < need)
        cap *= 2;
    p = realloc(c->val, cap);
    if (p == NULL)
        return -1;
    c->val = p;
    c->val_cap = cap;
    return 0;
}

/*
 * Column col of the current rowset row, from its binding, into c->val as
 * odbc_value_read leaves it: 0 with *len and *isnull set, ODBC_E_NOMEM, or
 * 1 when the value did not fit its binding (or is asked for as another C
 * type): the driver is then positioned on the row for SQLGetData, which
 * reads a bound column whole (SQL_GD_BOUND, SQL_GD_BLOCK), or ODBC_E_DRIVER.
 */
static int odbc_rowset_value(struct odbc_conn *c, SQLHSTMT stmt, SQLUSMALLINT col,
                             SQLSMALLINT ctype, size_t *len, int *isnull)
{
    struct odbc_rowset *rs = &c->rs;
    size_t i = (size_t)col - 1, term = ctype == SQL_C_CHAR ? 1 : 0;
    SQLLEN ind = rs->ind[i * ODBC_ROWSET_ROWS + rs->row];

    if (rs->ctype[i] == ctype) {
        if (ind == SQL_NULL_DATA) {
            *isnull = 1;
            return 0;
        }
        if (ind >= 0 && (size_t)ind + term <= rs->width[i]) {
            if (odbc_val_grow(c, (size_t)ind + 1) < 0)
                return ODBC_E_NOMEM;
            memcpy(c->val, rs->buf + rs->off[i] + rs->row * rs->width[i], (size_t)ind);
            c->val[ind] = '\0';
            *len = (size_t)ind;
            return 0;
        }
    }
    if (!SQL_SUCCEEDED(SQLSetPos(stmt, (SQLSETPOSIROW)(rs->row + 1), SQL_POSITION, SQL_LOCK_NO_CHANGE)))
        return ODBC_E_DRIVER;
    return 1;
}

/*
 * Read column col of the current row into c->val, in as many SQLGetData
 * calls as its length needs: a call that truncates (01004) says how much
 * remains, or SQL_NO_TOTAL, and the next call continues where it stopped.
 * Character data is left NUL-terminated.  Returns 0 with *len and *isnull
 * set, ODBC_E_DRIVER or ODBC_E_NOMEM.
 */
static int odbc_value_read(struct odbc_conn *c, SQLHSTMT stmt, SQLUSMALLINT col,
                           SQLSMALLINT ctype, size_t *len, int *isnull)
{
    /* SQL_C_CHAR pieces each end in a NUL that the next piece overwrites. */
    size_t term = ctype == SQL_C_CHAR ? 1 : 0;
    size_t got = 0, room;
    SQLLEN ind;
    SQLRETURN rc;

    *isnull = 0;
    if (odbc_val_grow(c, ODBC_VALUE_MIN) < 0)
        return ODBC_E_NOMEM;
    if (c->rs.on) {
        rc = odbc_rowset_value(c, stmt, col, ctype, len, isnull);
        if (rc <= 0)
            return rc;
        /* longer than its binding: the driver gives it again from the start */
    }
    for (;;) {
        room = c->val_cap - got - term;
        rc = SQLGetData(stmt, col, ctype, c->val + got, (SQLLEN)(room + term), &ind);
        if (rc == SQL_NO_DATA)
            break;
        if (!SQL_SUCCEEDED(rc))
            return ODBC_E_DRIVER;
        if (ind == SQL_NULL_DATA) {
            *isnull = 1;
            return 0;
        }
        if (ind != SQL_NO_TOTAL && (size_t)ind <= room) {
            got += (size_t)ind;
            break;
        }
        got += room;
        if (odbc_val_grow(c, ind == SQL_NO_TOTAL ? c->val_cap * 2
                                                 : got + (size_t)ind - room + term) < 0)
            return ODBC_E_NOMEM;
    }
    if (term)
        c->val[got] = '\0';
    *len = got;
    return 0;
}

/* PostgreSQL prints no trailing zeros in fractional seconds, and no "." for none. */
static size_t odbc_datetime_trim(const char *s, size_t n)
{
    const char *dot = memrchr(s, '.', n);
    size_t keep;

    if (dot == NULL)
        return n;
    for (const char *p = dot + 1; p < s + n; p++)
        if (!isdigit((unsigned char)*p))
            return n;
    keep = n;
    while (keep > (size_t)(dot - s) + 1 && s[keep - 1] == '0')
        keep--;
    return keep == (size_t)(dot - s) + 1 ? keep - 1 : keep;
}

/* bytea's hex output, "\x" and two digits a byte, built in place from the end. */
static int odbc_bytea_encode(struct odbc_conn *c, size_t *len)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = *len, i;

    if (odbc_val_grow(c, 3 + 2 * n) < 0)   /* and a NUL */
        return -1;
    for (i = n; i-- > 0;) {
        unsigned char b = (unsigned char)c->val[i];

        c->val[2 + 2 * i] = hex[b >> 4];
        c->val[3 + 2 * i] = hex[b & 15];
    }
    c->val[0] = '\\';
    c->val[1] = 'x';
    *len = 2 + 2 * n;
    return 0;
}

/*
 * Conversions between the character data drivers deal in and PostgreSQL's
 * binary formats.  Dates count days from 2000-01-01, times and timestamps
 * microseconds (from midnight, from 2000-01-01 00:00:00), all on the
 * proleptic Gregorian calendar that PostgreSQL uses.
 */
#define ODBC_USECS_PER_DAY INT64_C(86400000000)
#define ODBC_EPOCH_DAYS 10957   /* 1970-01-01 to 2000-01-01 */

/* Sign words of the binary numeric format. */
#define ODBC_NUMERIC_POS 0x0000
#define ODBC_NUMERIC_NEG 0x4000
#define ODBC_NUMERIC_NAN 0xC000
#define ODBC_NUMERIC_PINF 0xD000
#define ODBC_NUMERIC_NINF 0xF000
#define ODBC_NUMERIC_DSCALE_MAX 0x3FFF
/* numeric_in's bound on an exponent. */
#define ODBC_NUMERIC_EXP_MAX 1000

static void odbc_store_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void odbc_store_u64(uint8_t *p, uint64_t v)
{
    pgproto_store_u32(p, (uint32_t)(v >> 32));
    pgproto_store_u32(p + 4, (uint32_t)v);
}

static uint16_t odbc_load_u16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint64_t odbc_load_u64(const uint8_t *p)
{
    return ((uint64_t)pgproto_load_u32(p) << 32) | pgproto_load_u32(p + 4);
}

static int64_t odbc_floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int odbc_month_days(int64_t y, int m)
{
    static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

    if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
        return 29;
    return days[m - 1];
}

/* "HH:MM:SS" and the fraction without trailing zeros, as time_out prints. */
static size_t odbc_time_format(char *buf, size_t len, int64_t us)
{
    int64_t secs = us / 1000000, frac = us % 1000000;
    size_t n;
    int digits = 6;

    n = (size_t)snprintf(buf, len, "%02d:%02d:%02d", (int)(secs / 3600), (int)(secs / 60 % 60),
                         (int)(secs % 60));
    if (frac != 0) {
        while (frac % 10 == 0) {
            frac /= 10;
            digits--;
        }
        n += (size_t)snprintf(buf + n, len - n, ".%0*d", digits, (int)frac);
    }
    return n;
}

/* A time zone offset in seconds east of UTC as timetz_out prints it: "+05:30", "-11". */
static size_t odbc_offset_format(char *buf, size_t len, int32_t east)
{
    int32_t a = east < 0 ? -east : east;
    size_t n = (size_t)snprintf(buf, len, "%c%02d", east < 0 ? '-' : '+', (int)(a / 3600));

    if (a % 3600 != 0)
        n += (size_t)snprintf(buf + n, len - n, ":%02d", (int)(a / 60 % 60));
    if (a % 60 != 0)
        n += (size_t)snprintf(buf + n, len - n, ":%02d", (int)(a % 60));
    return n;
}

/* An interval as interval_in reads it: months, days, then a time of any number of hours. */
static size_t odbc_interval_format(char *buf, size_t len, int64_t us, int32_t days, int32_t months)
{
    uint64_t a = us < 0 ? -(uint64_t)us : (uint64_t)us;
    size_t n = (size_t)snprintf(buf, len, "%d mons %d days %s%llu:%02d:%02d", (int)months, (int)days,
                                us < 0 ? "-" : "", (unsigned long long)(a / 3600000000u),
                                (int)(a / 60000000u % 60), (int)(a / 1000000u % 60));

    if (a % 1000000u != 0)
        n += (size_t)snprintf(buf + n, len - n, ".%06d", (int)(a % 1000000u));
    return n;
}

/* Year 0 and before are PostgreSQL's "BC" years: 0 is 1 BC. */
static size_t odbc_ymd_format(char *buf, size_t len, int64_t days, int *bc)
{
    int64_t y;
    int m, d;

    civil_date_from_days(days + ODBC_EPOCH_DAYS, &y, &m, &d);
    *bc = y <= 0;
    return (size_t)snprintf(buf, len, "%04lld-%02d-%02d", (long long)(y <= 0 ? 1 - y : y), m, d);
}

static size_t odbc_date_format(char *buf, size_t len, int32_t days)
{
    size_t n;
    int bc;

    if (days == INT32_MAX)
        return (size_t)snprintf(buf, len, "infinity");
    if (days == INT32_MIN)
        return (size_t)snprintf(buf, len, "-infinity");
    n = odbc_ymd_format(buf, len, days, &bc);
    if (bc)
        n += (size_t)snprintf(buf + n, len - n, " BC");
    return n;
}

/* zone: appended after the time ("+00" for a timestamptz in UTC), or "". */
static size_t odbc_timestamp_format(char *buf, size_t len, int64_t us, const char *zone)
{
    int64_t days;
    size_t n;
    int bc;

    if (us == INT64_MAX)
        return (size_t)snprintf(buf, len, "infinity");
    if (us == INT64_MIN)
        return (size_t)snprintf(buf, len, "-infinity");
    days = odbc_floordiv(us, ODBC_USECS_PER_DAY);
    n = odbc_ymd_format(buf, len, days, &bc);
    buf[n++] = ' ';
    n += odbc_time_format(buf + n, len - n, us - days * ODBC_USECS_PER_DAY);
    n += (size_t)snprintf(buf + n, len - n, "%s%s", zone, bc ? " BC" : "");
    return n;
}

/* A cursor over one value's characters, for the parsers below. */
struct odbc_scan {
    const char *p;
    const char *end;
};

static void odbc_scan_space(struct odbc_scan *s)
{
    while (s->p < s->end && isspace((unsigned char)*s->p))
        s->p++;
}

static int odbc_scan_char(struct odbc_scan *s, char ch)
{
    if (s->p < s->end && *s->p == ch) {
        s->p++;
        return 1;
    }
    return 0;
}

/* Consume word (case-insensitive) if it comes next. */
static int odbc_scan_word(struct odbc_scan *s, const char *word)
{
    size_t n = strlen(word);

    if ((size_t)(s->end - s->p) < n || strncasecmp(s->p, word, n) != 0)
        return 0;
    s->p += n;
    return 1;
}

/* Between min and max decimal digits; returns how many were read, or -1. */
static int odbc_scan_digits(struct odbc_scan *s, int min, int max, int64_t *v)
{
    int n = 0;

    *v = 0;
    while (n < max && s->p < s->end && isdigit((unsigned char)*s->p)) {
        *v = *v * 10 + (*s->p++ - '0');
        n++;
    }
    return n >= min ? n : -1;
}

static int odbc_scan_done(struct odbc_scan *s)
{
    odbc_scan_space(s);
    return s->p == s->end;
}

static int odbc_ymd_scan(struct odbc_scan *s, int64_t *y, int *m, int *d)
{
    int64_t mm, dd;

    if (odbc_scan_digits(s, 1, 7, y) < 0 || !odbc_scan_char(s, '-') ||
        odbc_scan_digits(s, 1, 2, &mm) < 0 || !odbc_scan_char(s, '-') ||
        odbc_scan_digits(s, 1, 2, &dd) < 0)
        return -1;
    if (*y < 1 || mm < 1 || mm > 12 || dd < 1 || dd > odbc_month_days(*y, (int)mm))
        return -1;
    *m = (int)mm;
    *d = (int)dd;
    return 0;
}

/* "HH:MM[:SS[.fraction]]", up to 24:00:00; fractions round to microseconds. */
static int odbc_hms_scan(struct odbc_scan *s, int64_t *us)
{
    int64_t h, m, sec = 0, frac = 0, digit;
    int n = 0;

    if (odbc_scan_digits(s, 1, 2, &h) < 0 || !odbc_scan_char(s, ':') ||
        odbc_scan_digits(s, 2, 2, &m) < 0)
        return -1;
    if (odbc_scan_char(s, ':')) {
        if (odbc_scan_digits(s, 2, 2, &sec) < 0)
            return -1;
        if (odbc_scan_char(s, '.')) {
            while (s->p < s->end && isdigit((unsigned char)*s->p)) {
                digit = *s->p++ - '0';
                if (n < 6)
                    frac = frac * 10 + digit;
                else if (n == 6 && digit >= 5)
                    frac++;
                n++;
            }
            if (n == 0)
                return -1;
            for (; n < 6; n++)
                frac *= 10;
        }
    }
    if (m > 59 || sec > 60)
        return -1;
    *us = ((h * 60 + m) * 60 + sec) * 1000000 + frac;
    return *us > ODBC_USECS_PER_DAY ? -1 : 0;
}

/* An optional zone: "Z", or +/-HH[[:]MM[[:]SS]].  Seconds east of UTC. */
static int odbc_zone_scan(struct odbc_scan *s, int64_t *east)
{
    int64_t h, m = 0, sec = 0;
    int sign, n;

    *east = 0;
    odbc_scan_space(s);
    if (odbc_scan_char(s, 'Z') || odbc_scan_char(s, 'z'))
        return 0;
    if (s->p == s->end || (*s->p != '+' && *s->p != '-'))
        return 0;
    sign = *s->p++ == '-' ? -1 : 1;
    if (odbc_scan_digits(s, 1, 2, &h) < 0)
        return -1;
    odbc_scan_char(s, ':');
    n = odbc_scan_digits(s, 0, 2, &m);
    if (n == 2) {
        odbc_scan_char(s, ':');
        n = odbc_scan_digits(s, 0, 2, &sec);
    }
    if (n == 1 || h > 15 || m > 59 || sec > 59)
        return -1;
    *east = sign * ((h * 60 + m) * 60 + sec);
    return 0;
}

/* A trailing " BC" turns year y into 1 - y. */
static int64_t odbc_era_apply(struct odbc_scan *s, int64_t y)
{
    odbc_scan_space(s);
    return odbc_scan_word(s, "BC") ? 1 - y : y;
}

/* A driver's date text -> days since 2000-01-01. */
static int odbc_date_parse(const char *v, size_t n, int32_t *out)
{
    struct odbc_scan s = { v, v + n };
    int64_t y, days;
    int m, d;

    odbc_scan_space(&s);
    if (odbc_scan_word(&s, "infinity") || odbc_scan_word(&s, "+infinity")) {
        *out = INT32_MAX;
        return odbc_scan_done(&s) ? 0 : -1;
    }
    if (odbc_scan_word(&s, "-infinity")) {
        *out = INT32_MIN;
        return odbc_scan_done(&s) ? 0 : -1;
    }
    if (odbc_ymd_scan(&s, &y, &m, &d) < 0)
        return -1;
    y = odbc_era_apply(&s, y);
    if (!odbc_scan_done(&s))
        return -1;
    days = civil_days_from_date(y, m, d) - ODBC_EPOCH_DAYS;
    if (days <= INT32_MIN || days >= INT32_MAX)
        return -1;
    *out = (int32_t)days;
    return 0;
}

static int odbc_time_parse(const char *v, size_t n, int64_t *us)
{
    struct odbc_scan s = { v, v + n };

    odbc_scan_space(&s);
    return odbc_hms_scan(&s, us) == 0 && odbc_scan_done(&s) ? 0 : -1;
}

/* A driver's timestamp text -> microseconds since 2000-01-01, in UTC if it had a zone. */
static int odbc_timestamp_parse(const char *v, size_t n, int64_t *out)
{
    struct odbc_scan s = { v, v + n };
    int64_t y, us = 0, east, days;
    int m, d;

    odbc_scan_space(&s);
    if (odbc_scan_word(&s, "infinity") || odbc_scan_word(&s, "+infinity")) {
        *out = INT64_MAX;
        return odbc_scan_done(&s) ? 0 : -1;
    }
    if (odbc_scan_word(&s, "-infinity")) {
        *out = INT64_MIN;
        return odbc_scan_done(&s) ? 0 : -1;
    }
    if (odbc_ymd_scan(&s, &y, &m, &d) < 0)
        return -1;
    /* The time is optional: "2024-01-02" and "2024-01-02 BC" are midnight. */
    if (s.end - s.p >= 2 && (s.p[0] == 'T' || s.p[0] == ' ') && isdigit((unsigned char)s.p[1])) {
        s.p++;
        if (odbc_hms_scan(&s, &us) < 0)
            return -1;
    }
    if (odbc_zone_scan(&s, &east) < 0)
        return -1;
    y = odbc_era_apply(&s, y);
    if (!odbc_scan_done(&s))
        return -1;
    /* PostgreSQL's timestamps end in 294276; this bound keeps microseconds in int64. */
    days = civil_days_from_date(y, m, d) - ODBC_EPOCH_DAYS;
    if (days < -INT64_C(100000000) || days > INT64_C(100000000))
        return -1;
    *out = days * ODBC_USECS_PER_DAY + us - east * 1000000;
    return 0;
}

/* Integer text as PostgreSQL's int2in/int4in/int8in accept it: 0, -1 syntax, -2 range. */
static int odbc_int_parse(const char *v, size_t n, int64_t min, int64_t max, int64_t *out)
{
    struct odbc_scan s = { v, v + n };
    uint64_t acc = 0, limit;
    int neg = 0, digits = 0, range = 0;

    odbc_scan_space(&s);
    if (odbc_scan_char(&s, '-'))
        neg = 1;
    else
        odbc_scan_char(&s, '+');
    limit = neg ? (uint64_t)(-(min + 1)) + 1 : (uint64_t)max;
    while (s.p < s.end && isdigit((unsigned char)*s.p)) {
        unsigned dgt = (unsigned)(*s.p++ - '0');

        if (acc > (limit - dgt) / 10)
            range = 1;
        else
            acc = acc * 10 + dgt;
        digits++;
    }
    if (digits == 0 || !odbc_scan_done(&s))
        return -1;
    if (range)
        return -2;
    *out = neg ? (acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc) : (int64_t)acc;
    return 0;
}

/*
 * Float text (NUL-terminated) as float4in/float8in accept it, which is
 * strtod's syntax: 0, -1 syntax, -2 out of range.
 */
static int odbc_float_parse(const char *v, int single, double *out)
{
    char *end;

    errno = 0;
    *out = single ? (double)strtof(v, &end) : strtod(v, &end);
    if (end == v)
        return -1;
    while (isspace((unsigned char)*end))
        end++;
    if (*end != '\0')
        return -1;
    if (errno == ERANGE && (*out == 0 || isinf(*out)))
        return -2;
    return 0;
}

/* uuid_in's forms: 32 hex digits, hyphens anywhere between pairs, optional braces. */
static int odbc_uuid_parse(const char *v, size_t n, uint8_t out[16])
{
    size_t i = 0, got = 0;
    int hi = -1, x;

    if (n >= 2 && v[0] == '{' && v[n - 1] == '}') {
        v++;
        n -= 2;
    }
    for (i = 0; i < n; i++) {
        if (v[i] == '-' && hi < 0 && got > 0 && i + 1 < n)
            continue;
        if (!isxdigit((unsigned char)v[i]) || got == 16)
            return -1;
        x = isdigit((unsigned char)v[i]) ? v[i] - '0' : tolower((unsigned char)v[i]) - 'a' + 10;
        if (hi < 0) {
            hi = x;
        } else {
            out[got++] = (uint8_t)(hi << 4 | x);
            hi = -1;
        }
    }
    return got == 16 && hi < 0 ? 0 : -1;
}

static void odbc_uuid_format(const uint8_t in[16], char out[37])
{
    static const char hex[] = "0123456789abcdef";
    size_t i, n = 0;

    for (i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[n++] = '-';
        out[n++] = hex[in[i] >> 4];
        out[n++] = hex[in[i] & 15];
    }
    out[n] = '\0';
}

/* Numeric text taken apart: integer and fraction digits, exponent, sign word. */
struct odbc_num {
    uint16_t sign;
    const char *ip;
    size_t in;
    const char *fp;
    size_t fn;
    long exp;
};

/* numeric_in's syntax: 0, or -1. */
static int odbc_num_parse(const char *v, size_t n, struct odbc_num *num)
{
    struct odbc_scan s = { v, v + n };
    int64_t e;
    int eneg;

    memset(num, 0, sizeof(*num));
    odbc_scan_space(&s);
    if (odbc_scan_word(&s, "NaN")) {
        num->sign = ODBC_NUMERIC_NAN;
        return odbc_scan_done(&s) ? 0 : -1;
    }
    if (odbc_scan_char(&s, '-'))
        num->sign = ODBC_NUMERIC_NEG;
    else
        odbc_scan_char(&s, '+');
    if (odbc_scan_word(&s, "Infinity") || odbc_scan_word(&s, "inf")) {
        num->sign = num->sign == ODBC_NUMERIC_NEG ? ODBC_NUMERIC_NINF : ODBC_NUMERIC_PINF;
        return odbc_scan_done(&s) ? 0 : -1;
    }
    num->ip = s.p;
    while (s.p < s.end && isdigit((unsigned char)*s.p))
        s.p++;
    num->in = (size_t)(s.p - num->ip);
    if (odbc_scan_char(&s, '.')) {
        num->fp = s.p;
        while (s.p < s.end && isdigit((unsigned char)*s.p))
            s.p++;
        num->fn = (size_t)(s.p - num->fp);
    }
    if (num->in + num->fn == 0)
        return -1;
    if (odbc_scan_char(&s, 'e') || odbc_scan_char(&s, 'E')) {
        eneg = odbc_scan_char(&s, '-');
        if (!eneg)
            odbc_scan_char(&s, '+');
        if (odbc_scan_digits(&s, 1, 5, &e) < 0 || e > ODBC_NUMERIC_EXP_MAX)
            return -1;
        num->exp = eneg ? -(long)e : (long)e;
    }
    return odbc_scan_done(&s) ? 0 : -1;
}

/* The k-th decimal digit of a parsed numeric, integer digits first. */
static int odbc_num_digit(const struct odbc_num *num, int64_t k)
{
    if (k < 0 || (size_t)k >= num->in + num->fn)
        return 0;
    return (size_t)k < num->in ? num->ip[k] - '0' : num->fp[k - (int64_t)num->in] - '0';
}

/*
 * numeric_send's format: ndigits, weight, sign, dscale (int16 each), then
 * ndigits base-10000 digits, the first worth 10000^weight, with no leading
 * or trailing zero digits.  Returns 0, or -1 if the value does not fit.
 */
static int odbc_numeric_encode(struct pgbuf *b, const struct odbc_num *num)
{
    int64_t nd = (int64_t)(num->in + num->fn), dexp = (int64_t)num->in + num->exp;
    int64_t first = 0, last = nd - 1, wfirst, wlast, g, pw;
    int64_t dscale = (int64_t)num->fn - num->exp;
    uint8_t head[8], dig[2];
    int val;

    if (dscale < 0)
        dscale = 0;
    if (num->sign != ODBC_NUMERIC_POS && num->sign != ODBC_NUMERIC_NEG) {
        memset(head, 0, sizeof(head));
        odbc_store_u16(head + 4, num->sign);
        pgproto_put_bytes(b, head, sizeof(head));
        return 0;
    }
    if (dscale > ODBC_NUMERIC_DSCALE_MAX)
        return -1;
    while (first < nd && odbc_num_digit(num, first) == 0)
        first++;
    while (last >= first && odbc_num_digit(num, last) == 0)
        last--;
    if (first > last) {
        /* Zero: no digits, weight 0, positive, whatever the input's sign. */
        memset(head, 0, sizeof(head));
        odbc_store_u16(head + 6, (uint16_t)dscale);
        pgproto_put_bytes(b, head, sizeof(head));
        return 0;
    }
    /* Digit k stands for 10^(dexp - 1 - k); groups of four powers make one base-10000 digit. */
    wfirst = odbc_floordiv(dexp - 1 - first, 4);
    wlast = odbc_floordiv(dexp - 1 - last, 4);
    if (wfirst > INT16_MAX || wlast < INT16_MIN || wfirst - wlast + 1 > INT16_MAX)
        return -1;
    odbc_store_u16(head, (uint16_t)(wfirst - wlast + 1));
    odbc_store_u16(head + 2, (uint16_t)(int16_t)wfirst);
    odbc_store_u16(head + 4, num->sign);
    odbc_store_u16(head + 6, (uint16_t)dscale);
    pgproto_put_bytes(b, head, sizeof(head));
    for (g = wfirst; g >= wlast; g--) {
        val = 0;
        for (pw = 4 * g + 3; pw >= 4 * g; pw--)
            val = val * 10 + odbc_num_digit(num, dexp - 1 - pw);
        odbc_store_u16(dig, (uint16_t)val);
        pgproto_put_bytes(b, dig, sizeof(dig));
    }
    return 0;
}

/* numeric_recv's input -> numeric_out's text, appended to b.  0, or -1 if malformed. */
static int odbc_numeric_decode(struct pgbuf *b, const uint8_t *p, size_t n)
{
    int ndigits, weight, dscale, g, k, dgt;
    uint16_t sign;
    char buf[8];

    if (n < 8)
        return -1;
    ndigits = (int16_t)odbc_load_u16(p);
    weight = (int16_t)odbc_load_u16(p + 2);
    sign = odbc_load_u16(p + 4);
    dscale = (int16_t)odbc_load_u16(p + 6);
    if (ndigits < 0 || n != 8 + 2 * (size_t)ndigits || dscale < 0 ||
        dscale > ODBC_NUMERIC_DSCALE_MAX)
        return -1;
    for (g = 0; g < ndigits; g++)
        if (odbc_load_u16(p + 8 + 2 * g) > 9999)
            return -1;
    switch (sign) {
    case ODBC_NUMERIC_NAN:
        pgproto_put_bytes(b, "NaN", 3);
        return 0;
    case ODBC_NUMERIC_PINF:
        pgproto_put_bytes(b, "Infinity", 8);
        return 0;
    case ODBC_NUMERIC_NINF:
        pgproto_put_bytes(b, "-Infinity", 9);
        return 0;
    case ODBC_NUMERIC_NEG:
        pgproto_put_bytes(b, "-", 1);
        break;
    case ODBC_NUMERIC_POS:
        break;
    default:
        return -1;
    }
    /* Group g (0 = first digit) is worth 10000^(weight - g). */
    if (weight < 0) {
        pgproto_put_bytes(b, "0", 1);
    } else {
        for (g = 0; g <= weight; g++) {
            dgt = g < ndigits ? odbc_load_u16(p + 8 + 2 * g) : 0;
            pgproto_put_bytes(b, buf, (size_t)snprintf(buf, sizeof(buf), g == 0 ? "%d" : "%04d",
                                                       dgt));
        }
    }
    if (dscale > 0) {
        pgproto_put_bytes(b, ".", 1);
        for (k = 0; k < dscale; k += 4) {
            g = weight + 1 + k / 4;
            dgt = g >= 0 && g < ndigits ? odbc_load_u16(p + 8 + 2 * g) : 0;
            snprintf(buf, sizeof(buf), "%04d", dgt);
            pgproto_put_bytes(b, buf, dscale - k < 4 ? (size_t)(dscale - k) : 4);
        }
    }
    return 0;
}

/*
 * byteain's two forms: "\x" and hex digit pairs (white space between
 * pairs), or the escape form ("\\" and "\ooo" octal escapes, other bytes
 * as they are).  Decoded bytes are appended to b.  Returns 0, or a message.
 */
const char *odbc_bytea_decode(struct pgbuf *b, const char *v, size_t n)
{
    size_t i;
    int hi = -1, x;
    uint8_t byte;

    if (n >= 2 && v[0] == '\\' && v[1] == 'x') {
        for (i = 2; i < n; i++) {
            if (hi < 0 && isspace((unsigned char)v[i]))
                continue;
            if (!isxdigit((unsigned char)v[i]))
                return "invalid hexadecimal digit";
            x = isdigit((unsigned char)v[i]) ? v[i] - '0' : tolower((unsigned char)v[i]) - 'a' + 10;
            if (hi < 0) {
                hi = x;
                continue;
            }
            byte = (uint8_t)(hi << 4 | x);
            pgproto_put_bytes(b, &byte, 1);
            hi = -1;
        }
        return hi < 0 ? NULL : "invalid hexadecimal data: odd number of digits";
    }
    for (i = 0; i < n; i++) {
        if (v[i] != '\\') {
            pgproto_put_bytes(b, v + i, 1);
        } else if (i + 1 < n && v[i + 1] == '\\') {
            pgproto_put_bytes(b, v + i, 1);
            i++;
        } else if (i + 3 < n && v[i + 1] >= '0' && v[i + 1] <= '3' && v[i + 2] >= '0' &&
                   v[i + 2] <= '7' && v[i + 3] >= '0' && v[i + 3] <= '7') {
            byte = (uint8_t)((v[i + 1] - '0') << 6 | (v[i + 2] - '0') << 3 | (v[i + 3] - '0'));
            pgproto_put_bytes(b, &byte, 1);
            i += 3;
        } else {
            return "invalid input syntax for type bytea";
        }
    }
    return NULL;
}

static enum odbc_conv odbc_type_conv(SQLSMALLINT sqltype);
static uint64_t odbc_hash(const char *s, size_t n);

/* 'n' numbers, 'd' dates and times, 'b' booleans, 'u' uuid, 0 anything else. */
static char odbc_type_family(int32_t oid)
{
    switch (oid) {
    case PG_OID_INT2: case PG_OID_INT4: case PG_OID_INT8: case PG_OID_FLOAT4: case PG_OID_FLOAT8:
    case PG_OID_NUMERIC:
        return 'n';
    case PG_OID_DATE: case PG_OID_TIME: case PG_OID_TIMESTAMP: case PG_OID_TIMESTAMPTZ:
        return 'd';
    case PG_OID_BOOL:
        return 'b';
    case PG_OID_UUID:
        return 'u';
    default:
        return 0;
    }
}

/* How a column of this PostgreSQL type (and ODBC type) is turned into text. */
static enum odbc_conv odbc_oid_conv(int32_t oid, SQLSMALLINT sqltype)
{
    switch (oid) {
    case PG_OID_TIMESTAMPTZ:
        return ODBC_CONV_TIMESTAMPTZ;
    case PG_OID_FLOAT4:
        return ODBC_CONV_FLOAT4;
    case PG_OID_FLOAT8:
        return ODBC_CONV_FLOAT8;
    case PG_OID_MONEY:
        return ODBC_CONV_TEXT;
    case PG_OID_DATE:
    case PG_OID_TIME:
    case PG_OID_TIMESTAMP:
        return ODBC_CONV_DATETIME;
    default:
        return odbc_type_conv(sqltype);
    }
}

static enum odbc_conv odbc_type_conv(SQLSMALLINT sqltype)
{
    switch (sqltype) {
    case SQL_BIT:
        return ODBC_CONV_BOOL;
    case SQL_BINARY:
    case SQL_VARBINARY:
    case SQL_LONGVARBINARY:
        return ODBC_CONV_BYTEA;
    case SQL_TYPE_TIME:
    case SQL_TIME:
    case SQL_TYPE_TIMESTAMP:
    case SQL_TIMESTAMP:
        return ODBC_CONV_DATETIME;
    case SQL_GUID:
        return ODBC_CONV_GUID;
    default:
        return ODBC_CONV_TEXT;
    }
}

/* pg_type.typlen of the types odbc_type_oid reports; -1 for varlena. */
static int16_t odbc_type_len(int32_t oid)
{
    switch (oid) {
    case PG_OID_BOOL:
        return 1;
    case PG_OID_INT2:
        return 2;
    case PG_OID_INT4:
    case PG_OID_FLOAT4:
    case PG_OID_DATE:
        return 4;
    case PG_OID_INT8:
    case PG_OID_FLOAT8:
    case PG_OID_TIME:
    case PG_OID_TIMESTAMP:
    case PG_OID_TIMESTAMPTZ:
        return 8;
    case PG_OID_UUID:
        return 16;
    default:
        return -1;
    }
}

/* The type's name as PostgreSQL's messages spell it. */
static const char *odbc_type_name(int32_t oid)
{
    switch (oid) {
    case PG_OID_BOOL:
        return "boolean";
    case PG_OID_INT2:
        return "smallint";
    case PG_OID_INT4:
        return "integer";
    case PG_OID_INT8:
        return "bigint";
    case PG_OID_FLOAT4:
        return "real";
    case PG_OID_FLOAT8:
        return "double precision";
    case PG_OID_NUMERIC:
        return "numeric";
    case PG_OID_DATE:
        return "date";
    case PG_OID_TIME:
        return "time without time zone";
    case PG_OID_TIMESTAMP:
        return "timestamp without time zone";
    case PG_OID_TIMESTAMPTZ:
        return "timestamp with time zone";
    case PG_OID_UUID:
        return "uuid";
    default:
        return "text";
    }
}

int32_t odbc_type_oid(int sqltype)
{
    switch (sqltype) {
    case SQL_SMALLINT:
    case SQL_TINYINT:
        return PG_OID_INT2;
    case SQL_INTEGER:
        return PG_OID_INT4;
    case SQL_BIGINT:
        return PG_OID_INT8;
    case SQL_REAL:
        return PG_OID_FLOAT4;
    case SQL_FLOAT:
    case SQL_DOUBLE:
        return PG_OID_FLOAT8;
    case SQL_NUMERIC:
    case SQL_DECIMAL:
        return PG_OID_NUMERIC;
    case SQL_BIT:
        return PG_OID_BOOL;
    case SQL_CHAR:
    case SQL_WCHAR:
        return PG_OID_BPCHAR;
    case SQL_VARCHAR:
    case SQL_WVARCHAR:
        return PG_OID_VARCHAR;
    case SQL_BINARY:
    case SQL_VARBINARY:
    case SQL_LONGVARBINARY:
        return PG_OID_BYTEA;
    case SQL_TYPE_DATE:
    case SQL_DATE:
        return PG_OID_DATE;
    case SQL_TYPE_TIME:
    case SQL_TIME:
        return PG_OID_TIME;
    case SQL_TYPE_TIMESTAMP:
    case SQL_TIMESTAMP:
        return PG_OID_TIMESTAMP;
    case SQL_GUID:
        return PG_OID_UUID;
    default:
        return PG_OID_TEXT;
    }
}

/*
 * Whether a column of this ODBC type can be sent in binary.  Types that
 * odbc_type_oid only reports as text for want of a better name (intervals,
 * driver-specific types) cannot: their character data is the driver's
 * rendering of some other type, and a client asking for binary expects
 * that type's format, not text.  Long character types really are text.
 */
static int odbc_type_binary(SQLSMALLINT sqltype)
{
    if (sqltype == SQL_LONGVARCHAR || sqltype == SQL_WLONGVARCHAR)
        return 1;
    return odbc_type_oid(sqltype) != PG_OID_TEXT;
}

/*
 * The PostgreSQL type of a column whose ODBC type says too little: the
 * driver's type name tells timestamptz from timestamp, real from double,
 * numeric from the double SQLite's driver reports for it, int8 from the
 * int SQLite's driver reports for "int8".  Otherwise odbc_type_oid's.
 */
static int32_t odbc_type_refine(SQLHSTMT stmt, SQLUSMALLINT col, SQLSMALLINT sqltype)
{
    int32_t oid = odbc_type_oid(sqltype);
    char name[64];
    SQLSMALLINT len = 0;
    size_t n;

    if (oid == PG_OID_TEXT || oid == PG_OID_VARCHAR || oid == PG_OID_BPCHAR || oid == PG_OID_BYTEA)
        return oid;     /* character and binary data are what they say */
    if (!SQL_SUCCEEDED(SQLColAttribute(stmt, col, SQL_DESC_TYPE_NAME, name, (SQLSMALLINT)sizeof(name), &len,
                                       NULL)))
        return oid;
    name[sizeof(name) - 1] = '\0';
    for (n = 0; name[n] != '\0' && name[n] != '('; n++)  /* "numeric(10,2)" is numeric */
        ;
    while (n > 0 && name[n - 1] == ' ')
        n--;
    name[n] = '\0';
    /*
     * psqlODBC calls PostgreSQL's money a float, but gives its text as the
     * server printed it ("$1,000.00"): money it stays, as that text.  (A
     * MONEY that a driver reports as a decimal is numeric.)
     */
    if (strcasecmp(name, "money") == 0 && (sqltype == SQL_FLOAT || sqltype == SQL_DOUBLE))
        return PG_OID_MONEY;
    int32_t named = pgproto_type_oid(name);
    /* Only a refinement within the same family: a name never turns a number into a date. */
    if (named != 0 && odbc_type_family(named) == odbc_type_family(oid))
        return named;
    return oid;
}

/* Describe ncols result columns of stmt into cols.  0, ODBC_E_DRIVER or ODBC_E_NOMEM. */
int odbc_cols_load(SQLHSTMT stmt, SQLSMALLINT ncols, struct odbc_cols *cols)
{
    SQLCHAR name[ODBC_NAME_MAX];
    SQLSMALLINT namelen, type, digits, nullable;
    SQLULEN size;
    SQLUSMALLINT i;
    size_t n;

    cols->n = 0;
    cols->names_len = 0;
    if ((size_t)ncols > cols->cap) {
        struct odbc_col *v = realloc(cols->v, (size_t)ncols * sizeof(*v));

        if (v == NULL)
            return ODBC_E_NOMEM;
        cols->v = v;
        cols->cap = (size_t)ncols;
    }
    for (i = 1; i <= (SQLUSMALLINT)ncols; i++) {
        if (!SQL_SUCCEEDED(SQLDescribeCol(stmt, i, name, (SQLSMALLINT)sizeof(name), &namelen,
                                          &type, &size, &digits, &nullable)))
            return ODBC_E_DRIVER;
        n = strlen((const char *)name) + 1;
        if (cols->names_len + n > cols->names_cap) {
            size_t cap = cols->names_cap ? cols->names_cap : 256;
            char *p;

            while (cap < cols->names_len + n)
                cap *= 2;
            p = realloc(cols->names, cap);
            if (p == NULL)
                return ODBC_E_NOMEM;
            cols->names = p;
            cols->names_cap = cap;
        }
        memcpy(cols->names + cols->names_len, name, n);
        cols->v[i - 1].sqltype = type;
        cols->v[i - 1].size = size;
        cols->v[i - 1].oid = odbc_type_refine(stmt, i, type);
        cols->v[i - 1].conv = odbc_oid_conv(cols->v[i - 1].oid, type);
        cols->v[i - 1].noted = 0;
        cols->v[i - 1].name = cols->names_len;
        cols->names_len += n;
    }
    cols->n = ncols;
    return 0;
}

const char *odbc_col_name(const struct odbc_cols *cols, int i)
{
    return cols->names + cols->v[i].name;
}

/*
 * SQLite's untyped columns.  A column with no declared type (an
 * expression, a column of a CTE) is described by SQLite's driver from the
 * storage class of its value in the current row: "integer", "double",
 * "varchar" or "blob", and no table name.  For a statement with bound
 * parameters the driver reads the whole result when it executes, so the
 * first row's value has typed it by the time it is described.  Otherwise
 * it streams the rows (StepAPI) and describes the result before its first
 * row: every such column is then "varchar", and "SELECT count(*)" reached
 * a client as text.  There, and for a statement prepared before it runs, a
 * probe reads the storage class of each column's first value with
 * typeof(), running the statement up to its first row:
 *
 *     WITH "pgiris probe"(c1, ..., cn) AS (<statement>)
 *         SELECT typeof(c1), ..., typeof(cn) FROM "pgiris probe" LIMIT 1
 *
 * Either way an integer makes the column numeric (a later row may hold a
 * real, see odbc_sqlite_class_oid), a real float8 and a blob bytea (the
 * driver's description would send "X'0102'" as text, even for
 * decode(...) or a cast to bytea); text, NULL or no row leave the
 * driver's description.  A later row of text is sent as its text, as
 * SQLite's declared columns are (as its bytes in a bytea column).
 */
static const char *odbc_sqlite_guess(SQLHSTMT stmt, SQLUSMALLINT col)
{
    static const char *const guesses[] = { "integer", "double", "varchar", "blob" };
    char buf[ODBC_NAME_MAX];
    SQLSMALLINT len = 0;
    size_t i;

    if (!SQL_SUCCEEDED(SQLColAttribute(stmt, col, SQL_DESC_TABLE_NAME, buf, (SQLSMALLINT)sizeof(buf), &len,
                                       NULL)) || buf[0] != '\0')
        return NULL;
    if (!SQL_SUCCEEDED(SQLColAttribute(stmt, col, SQL_DESC_TYPE_NAME, buf, (SQLSMALLINT)sizeof(buf), &len,
                                       NULL)))
        return NULL;
    buf[sizeof(buf) - 1] = '\0';
    for (i = 0; i < sizeof(guesses) / sizeof(guesses[0]); i++)
        if (strcmp(buf, guesses[i]) == 0)
            return guesses[i];
    return NULL;
}

/* A statement the probe can wrap: a query. */
static int odbc_query_verb(const char *verb)
{
    return strcmp(verb, "SELECT") == 0 || strcmp(verb, "VALUES") == 0;
}

static void odbc_col_retype(struct odbc_col *v, int32_t oid)
{
    v->oid = oid;
    v->sqltype = oid == PG_OID_NUMERIC ? SQL_NUMERIC : oid == PG_OID_BYTEA ? SQL_VARBINARY : SQL_DOUBLE;
    v->conv = odbc_oid_conv(oid, v->sqltype);
}

/*
 * typeof()'s answer as the type a column takes, or 0 to leave it.  An
 * integer makes numeric, not int8: the same column's later values may be
 * reals (an expression on a NUMERIC column, whose whole values SQLite
 * stores as integers), which numeric reads and int8 would not.
 */
static int32_t odbc_sqlite_class_oid(const char *class)
{
    if (strcmp(class, "integer") == 0)
        return PG_OID_NUMERIC;
    if (strcmp(class, "real") == 0)
        return PG_OID_FLOAT8;
    if (strcmp(class, "blob") == 0)
        return PG_OID_BYTEA;
    return 0;
}

/*
 * Run the probe for the columns of sql marked in want; oid[i] gets each
 * one's type, or 0.  Returns 1 when every wanted column had a value to
 * judge by (the answer may be remembered), 0 otherwise.
 */
static int odbc_sqlite_probe(struct odbc_conn *c, const char *sql, size_t len, int ncols,
                             const uint8_t *want, int32_t *oid)
{
    static const char head[] = "WITH \"pgiris probe\"(";
    static const char tail[] = " FROM \"pgiris probe\" LIMIT 1";
    struct pgbuf q;
    SQLHSTMT h = SQL_NULL_HSTMT;
    char item[32], class[16];
    SQLLEN ind;
    int i, settled = 0;

    for (i = 0; i < ncols; i++)
        oid[i] = 0;
    /* Trailing semicolons would end the CTE early; a trailing comment ends at the newline. */
    while (len > 0 && (isspace((unsigned char)sql[len - 1]) || sql[len - 1] == ';'))
        len--;
    pgbuf_init(&q);
    pgproto_put_bytes(&q, head, sizeof(head) - 1);
    for (i = 0; i < ncols; i++)
        pgproto_put_bytes(&q, item, (size_t)snprintf(item, sizeof(item), "%sc%d", i ? ", " : "", i + 1));
    pgproto_put_bytes(&q, ") AS (\n", 7);
    pgproto_put_bytes(&q, sql, len);
    pgproto_put_bytes(&q, "\n) SELECT ", 10);
    for (i = 0; i < ncols; i++)
        pgproto_put_bytes(&q, item, (size_t)snprintf(item, sizeof(item), "%stypeof(c%d)", i ? ", " : "", i + 1));
    pgproto_put_bytes(&q, tail, sizeof(tail));     /* with its NUL */
    if (!q.oom && SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, c->dbc, &h))) {
        /* A probe that fails (a text it cannot wrap) or finds no row leaves the columns as described. */
        if (SQL_SUCCEEDED(SQLExecDirect(h, (SQLCHAR *)q.data, SQL_NTS)) && SQL_SUCCEEDED(SQLFetch(h))) {
            settled = 1;
            for (i = 0; i < ncols; i++) {
                if (!want[i])
                    continue;
                if (!SQL_SUCCEEDED(SQLGetData(h, (SQLUSMALLINT)(i + 1), SQL_C_CHAR, class, sizeof(class),
                                              &ind)) || ind == SQL_NULL_DATA || strcmp(class, "null") == 0)
                    settled = 0;
                else
                    oid[i] = odbc_sqlite_class_oid(class);
            }
        }
        SQLFreeStmt(h, SQL_CLOSE);
        SQLFreeHandle(SQL_HANDLE_STMT, h);
    }
    pgbuf_free(&q);
    return settled;
}

/*
 * SQLite names an unaliased item by its text up to the next token, which for
 * the last item of a statement with no FROM takes in the note: SELECT 1 was
 * named "1" with the note after it.  The note (of n bytes at note) goes from
 * the end of the last column's name, and the blank before it.
 */
static void odbc_name_unnote(struct odbc_cols *cols, const char *note, size_t n)
{
    char *name = cols->n > 0 ? cols->names + cols->v[cols->n - 1].name : NULL;
    size_t len = name != NULL ? strlen(name) : 0;

    /* An alias that is the note alone stays: SQLite's text of an item has the item before a blank. */
    if (len <= n || memcmp(name + len - n, note, n) != 0 || !isspace((unsigned char)name[len - n - 1]))
        return;
    len -= n;
    while (len > 0 && isspace((unsigned char)name[len - 1]))
        len--;
    name[len] = '\0';
}

/*
 * The translator notes which result columns are PostgreSQL booleans or
 * integers where the backend's expressions have no such type (SQLite's
 * comparisons give 0 and 1, count(*) an integer of a column that may hold
 * reals): a block comment "pgiris:bool 2,5 int4 4 int8 3" ends the
 * statement (sql_rule_column_types).  Those columns take that type (and
 * odbc_col.noted, so that no guess of the driver's or probe retypes them);
 * a boolean's 1 and 0 are sent as t and f.
 */
static void odbc_type_hint(const char *sql, size_t len, struct odbc_cols *cols)
{
    static const char mark[] = "/*pgiris:";
    static const struct { const char *name; int32_t oid; SQLSMALLINT sqltype; } types[] = {
        { "bool ", PG_OID_BOOL, SQL_BIT },
        { "int8 ", PG_OID_INT8, SQL_BIGINT },
        { "int4 ", PG_OID_INT4, SQL_INTEGER },
        { "int2 ", PG_OID_INT2, SQL_SMALLINT },
    };
    const char *p, *end;
    char *next;
    long col;
    int t = -1;

    while (len > 0 && (isspace((unsigned char)sql[len - 1]) || sql[len - 1] == ';'))
        len--;
    if (len < sizeof(mark) + 2 || sql[len - 1] != '/' || sql[len - 2] != '*')
        return;
    end = sql + len - 2;
    for (p = end; p > sql && !(p[0] == '/' && p[1] == '*'); p--)
        ;
    if ((size_t)(end - p) < sizeof(mark) - 1 || memcmp(p, mark, sizeof(mark) - 1) != 0)
        return;
    odbc_name_unnote(cols, p, (size_t)(end + 2 - p));
    for (p += sizeof(mark) - 1; p < end; p = next + (*next == ',' || *next == ' ')) {
        next = (char *)p;
        for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
            size_t n = strlen(types[k].name);

            if ((size_t)(end - p) > n && memcmp(p, types[k].name, n) == 0) {
                t = (int)k;
                next = (char *)p + n;
            }
        }
        if (next != p)
            continue;
        col = strtol(p, &next, 10);
        if (next == p || t < 0)
            return;
        if (col >= 1 && col <= cols->n) {
            struct odbc_col *v = &cols->v[col - 1];

            v->oid = types[t].oid;
            v->sqltype = types[t].sqltype;
            v->conv = odbc_oid_conv(v->oid, v->sqltype);
            v->noted = 1;
        }
    }
}

/*
 * Type the untyped columns of a SQLite result described on stmt (see
 * above).  probe: the driver has not read a row yet, so the probe runs
 * (its answer remembered by text when every column had a value);
 * otherwise the driver's own guess is taken.  Returns 0 when a probe left
 * a column unsettled (no row, or a NULL), 1 otherwise.
 */
static int odbc_sqlite_types(struct odbc_conn *c, SQLHSTMT stmt, const char *sql, size_t len,
                              struct odbc_cols *cols, int probe)
{
    uint8_t want[ODBC_GUESS_COLS];
    int32_t oid[ODBC_GUESS_COLS];
    struct odbc_guess *g;
    const char *guess;
    uint64_t hash;
    int i, any = 0, settled = 1;

    /* A result wider than the probe's arrays keeps only the driver's guesses. */
    probe = probe && cols->n <= ODBC_GUESS_COLS;
    for (i = 0; i < cols->n; i++) {
        if (probe)
            want[i] = 0;
        if (cols->v[i].oid == PG_OID_BOOL || cols->v[i].noted)
            continue;           /* a declared boolean, or a type the translator noted */
        guess = odbc_sqlite_guess(stmt, (SQLUSMALLINT)(i + 1));
        if (guess == NULL)
            continue;
        if (strcmp(guess, "varchar") == 0) {
            if (probe)
                want[i] = any = 1;
        } else {
            int32_t t = odbc_sqlite_class_oid(strcmp(guess, "double") == 0 ? "real" : guess);

            if (t != 0)
                odbc_col_retype(&cols->v[i], t);
        }
    }
    if (!any)
        return 1;
    hash = odbc_hash(sql, len);
    g = &c->guesses[hash % ODBC_GUESSES];
    if (g->hash == hash && g->len == len && g->n == cols->n) {
        memcpy(oid, g->oid, sizeof(oid[0]) * (size_t)cols->n);
    } else if (odbc_sqlite_probe(c, sql, len, cols->n, want, oid)) {
        g->hash = hash;
        g->len = len;
        g->n = cols->n;
        memcpy(g->oid, oid, sizeof(oid[0]) * (size_t)cols->n);
    } else {
        settled = 0;
    }
    for (i = 0; i < cols->n; i++)
        if (oid[i] != 0)
            odbc_col_retype(&cols->v[i], oid[i]);
    return settled;
}

/* Column i's format under Bind's rules: no codes, one for all, or one each. */
static int16_t odbc_format_at(const int16_t *formats, int nformats, int i)
{
    if (nformats == 0)
        return 0;
    return formats[nformats == 1 ? 0 : i];
}

/* Reject result formats as PostgreSQL's Bind does.  0, or ODBC_E_SENT. */
static int odbc_formats_check(struct odbc_conn *c, SQLHSTMT stmt, const struct odbc_cols *cols,
                              const int16_t *formats, int nformats)
{
    char tname[ODBC_NAME_MAX];
    SQLSMALLINT tlen = 0;
    int i;
    int16_t f;

    if (nformats != 0 && nformats != 1 && nformats != cols->n)
        return odbc_error_put(c, "08P01", NULL,
                              "bind message has %d result formats but query has %d columns",
                              nformats, (int)cols->n);
    for (i = 0; i < cols->n; i++) {
        f = odbc_format_at(formats, nformats, i);
        if (f != 0 && f != 1)
            return odbc_error_put(c, "22023", NULL, "unsupported format code: %d", f);
        /* money's binary form is in units of the server's locale: not read from its text here. */
        if (f == 0 || (odbc_type_binary(cols->v[i].sqltype) && cols->v[i].oid != PG_OID_MONEY))
            continue;
        if (!SQL_SUCCEEDED(SQLColAttribute(stmt, (SQLUSMALLINT)(i + 1), SQL_DESC_TYPE_NAME,
                                           tname, (SQLSMALLINT)sizeof(tname), &tlen, NULL)) ||
            tname[0] == '\0')
            snprintf(tname, sizeof(tname), "unknown");
        return odbc_error_put(c, "0A000", NULL,
                              "binary format is not supported for column \"%s\" of type %s "
                              "(ODBC SQL type %d)",
                              odbc_col_name(cols, i), tname, (int)cols->v[i].sqltype);
    }
    return 0;
}

/* RowDescription for cols with the formats Bind gave (NULL: all text). */
static void odbc_rowdesc_put(struct odbc_conn *c, const struct odbc_cols *cols,
                             const int16_t *formats, int nformats)
{
    int i;

    pgproto_row_description_begin(&c->out, cols->n);
    for (i = 0; i < cols->n; i++)
        pgproto_row_description_field(&c->out, odbc_col_name(cols, i), cols->v[i].oid,
                                      odbc_type_len(cols->v[i].oid), -1,
                                      odbc_format_at(formats, nformats, i));
    pgproto_end(&c->out);
}

static void odbc_nodata_put(struct odbc_conn *c)
{
    pgproto_begin(&c->out, 'n');
    pgproto_end(&c->out);
}

/* How much of a value an error message quotes: whole UTF-8 characters only. */
static int odbc_quote_len(const char *s, size_t n)
{
    if (n <= ODBC_QUOTE_MAX)
        return (int)n;
    n = ODBC_QUOTE_MAX;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return (int)n;
}

/*
 * A value the driver returned does not read as the column's type, so it has
 * no binary form (SQLite stores anything in any column).  The half-built
 * DataRow goes; the rows before it stay.
 */
static int odbc_value_reject(struct odbc_conn *c, const struct odbc_cols *cols, int col,
                             size_t len, int range)
{
    char detail[ODBC_NAME_MAX + 64];
    int32_t oid = cols->v[col].oid;

    c->out.len = c->out.msg_start;
    snprintf(detail, sizeof(detail), "The backend returned it for column \"%s\", requested in "
             "binary format.", odbc_col_name(cols, col));
    if (range)
        return odbc_error_put(c, "22003", detail, "value \"%.*s\" is out of range for type %s",
                              odbc_quote_len(c->val, len), c->val, odbc_type_name(oid));
    return odbc_error_put(c, "22P02", detail, "invalid input syntax for type %s: \"%.*s\"",
                          odbc_type_name(oid), odbc_quote_len(c->val, len), c->val);
}

/* Column col's value (NUL-terminated text in c->val) in its type's binary format. */
static int odbc_binary_put(struct odbc_conn *c, const struct odbc_cols *cols, int col,
                           size_t len)
{
    uint8_t b[16];
    struct odbc_num num;
    int64_t i64;
    int32_t i32;
    double d;
    float f;
    uint32_t u32;
    uint64_t u64;
    int rc;

    switch (cols->v[col].oid) {
    case PG_OID_INT2:
        if ((rc = odbc_int_parse(c->val, len, INT16_MIN, INT16_MAX, &i64)) < 0)
            return odbc_value_reject(c, cols, col, len, rc == -2);
        odbc_store_u16(b, (uint16_t)i64);
        pgproto_data_row_value(&c->out, b, 2);
        return 0;
    case PG_OID_INT4:
        if ((rc = odbc_int_parse(c->val, len, INT32_MIN, INT32_MAX, &i64)) < 0)
            return odbc_value_reject(c, cols, col, len, rc == -2);
        pgproto_store_u32(b, (uint32_t)i64);
        pgproto_data_row_value(&c->out, b, 4);
        return 0;
    case PG_OID_INT8:
        if ((rc = odbc_int_parse(c->val, len, INT64_MIN, INT64_MAX, &i64)) < 0)
            return odbc_value_reject(c, cols, col, len, rc == -2);
        odbc_store_u64(b, (uint64_t)i64);
        pgproto_data_row_value(&c->out, b, 8);
        return 0;
    case PG_OID_FLOAT4:
        if ((rc = odbc_float_parse(c->val, 1, &d)) < 0)
            return odbc_value_reject(c, cols, col, len, rc == -2);
        f = (float)d;
        memcpy(&u32, &f, sizeof(u32));
        pgproto_store_u32(b, u32);
        pgproto_data_row_value(&c->out, b, 4);
        return 0;
    case PG_OID_FLOAT8:
        if ((rc = odbc_float_parse(c->val, 0, &d)) < 0)
            return odbc_value_reject(c, cols, col, len, rc == -2);
        memcpy(&u64, &d, sizeof(u64));
        odbc_store_u64(b, u64);
        pgproto_data_row_value(&c->out, b, 8);
        return 0;
    case PG_OID_BOOL:
        if ((rc = pgproto_bool_parse(c->val, len)) < 0)
            return odbc_value_reject(c, cols, col, len, 0);
        b[0] = (uint8_t)rc;
        pgproto_data_row_value(&c->out, b, 1);
        return 0;
    case PG_OID_DATE:
        if (odbc_date_parse(c->val, len, &i32) < 0)
            return odbc_value_reject(c, cols, col, len, 0);
        pgproto_store_u32(b, (uint32_t)i32);
        pgproto_data_row_value(&c->out, b, 4);
        return 0;
    case PG_OID_TIME:
        if (odbc_time_parse(c->val, len, &i64) < 0)
            return odbc_value_reject(c, cols, col, len, 0);
        odbc_store_u64(b, (uint64_t)i64);
        pgproto_data_row_value(&c->out, b, 8);
        return 0;
    case PG_OID_TIMESTAMP:
    case PG_OID_TIMESTAMPTZ:
        if (odbc_timestamp_parse(c->val, len, &i64) < 0)
            return odbc_value_reject(c, cols, col, len, 0);
        odbc_store_u64(b, (uint64_t)i64);
        pgproto_data_row_value(&c->out, b, 8);
        return 0;
    case PG_OID_UUID:
        if (odbc_uuid_parse(c->val, len, b) < 0)
            return odbc_value_reject(c, cols, col, len, 0);
        pgproto_data_row_value(&c->out, b, 16);
        return 0;
    case PG_OID_NUMERIC:
        pgbuf_reset(&c->bin);
        if (odbc_num_parse(c->val, len, &num) < 0)
            return odbc_value_reject(c, cols, col, len, 0);
        if (odbc_numeric_encode(&c->bin, &num) < 0)
            return odbc_value_reject(c, cols, col, len, 1);
        if (c->bin.oom)
            return ODBC_E_NOMEM;
        pgproto_data_row_value(&c->out, c->bin.data, (int32_t)c->bin.len);
        return 0;
    default:
        /* bytea's raw bytes, text's characters: the binary form is the value itself. */
        if (len > INT32_MAX)
            return ODBC_E_NOMEM;
        pgproto_data_row_value(&c->out, c->val, (int32_t)len);
        return 0;
    }
}

/* Append column col (1-based) of the current row to the open DataRow. */
static int odbc_value_put(struct odbc_conn *c, SQLHSTMT stmt, const struct odbc_cols *cols,
                          SQLUSMALLINT col, int binary)
{
    enum odbc_conv conv = cols->v[col - 1].conv;
    size_t len = 0;
    int rc, isnull;

    if (binary) {
        /* Floats are read as doubles: their driver text may have lost digits.  Booleans as t or f. */
        if (conv == ODBC_CONV_FLOAT4 || conv == ODBC_CONV_FLOAT8 || conv == ODBC_CONV_BOOL)
            rc = odbc_value_text(c, stmt, cols, col, &len, &isnull);
        else
            rc = odbc_value_read(c, stmt, col, conv == ODBC_CONV_BYTEA ? SQL_C_BINARY : SQL_C_CHAR,
                                 &len, &isnull);
        if (rc < 0)
            return rc;
        if (isnull) {
            pgproto_data_row_value(&c->out, NULL, -1);
            return 0;
        }
        return odbc_binary_put(c, cols, col - 1, len);
    }
    rc = odbc_value_text(c, stmt, cols, col, &len, &isnull);
    if (rc < 0)
        return rc;
    if (isnull) {
        pgproto_data_row_value(&c->out, NULL, -1);
        return 0;
    }
    if (len > INT32_MAX)
        return ODBC_E_NOMEM;
    /* A cast to smallint or integer, which SQLite computes as a 64-bit integer (odbc_type_hint). */
    int32_t oid = cols->v[col - 1].oid;
    int64_t i64;
    if (cols->v[col - 1].noted && (oid == PG_OID_INT2 || oid == PG_OID_INT4) &&
        odbc_int_parse(c->val, len, oid == PG_OID_INT2 ? INT16_MIN : INT32_MIN,
                       oid == PG_OID_INT2 ? INT16_MAX : INT32_MAX, &i64) == -2) {
        c->out.len = c->out.msg_start;
        return odbc_error_put(c, "22003", NULL, "%s out of range", oid == PG_OID_INT2 ? "smallint" : "integer");
    }
    pgproto_data_row_value(&c->out, c->val, (int32_t)len);
    return 0;
}

/*
 * A float column as PostgreSQL prints it: the fewest digits that read back
 * as the same value (SQLite's driver would give 15 significant digits),
 * NaN and Infinity in PostgreSQL's spelling.
 */
/*
 * buf holds d as "%.*e" with the fewest digits that read back as d; print
 * it as PostgreSQL does (float4out/float8out with extra_float_digits 1):
 * those digits, without trailing zeros, in positional notation when the
 * decimal exponent is from -4 to below `exp_max` (15 for float8, 6 for
 * float4), else as d.ddde+XX.  Returns the length.
 */
static int odbc_float_notation(char *buf, size_t size, double d, int exp_max)
{
    char *e = strchr(buf, 'e'), *end;
    int exp, ndigits = 0;

    if (e == NULL)
        return (int)strlen(buf);
    exp = atoi(e + 1);
    end = e;
    while (end > buf && end[-1] == '0')     /* 1.500000e+00 -> 1.5e+00 */
        end--;
    if (end > buf && end[-1] == '.')
        end--;
    for (const char *q = buf; q < end; q++)
        ndigits += isdigit((unsigned char)*q) != 0;
    if (exp < -4 || exp >= exp_max) {
        char tail[16];
        snprintf(tail, sizeof(tail), "%s", e);
        return (int)(end - buf) + snprintf(end, size - (size_t)(end - buf), "%s", tail);
    }
    return snprintf(buf, size, "%.*f", ndigits - 1 - exp > 0 ? ndigits - 1 - exp : 0, d);
}

static int odbc_float_text(struct odbc_conn *c, SQLHSTMT stmt, SQLUSMALLINT col, int single, size_t *lenp,
                           int *isnull)
{
    double d;
    SQLLEN ind;
    int n = 0;

    *isnull = 0;
    if (c->rs.on && c->rs.ctype[col - 1] == SQL_C_DOUBLE) {
        const struct odbc_rowset *rs = &c->rs;
        ind = rs->ind[(size_t)(col - 1) * ODBC_ROWSET_ROWS + rs->row];
        memcpy(&d, rs->buf + rs->off[col - 1] + rs->row * sizeof(d), sizeof(d));
    } else if (!SQL_SUCCEEDED(SQLGetData(stmt, col, SQL_C_DOUBLE, &d, sizeof(d), &ind))) {
        return ODBC_E_DRIVER;
    }
    if (ind == SQL_NULL_DATA) {
        /*
         * SQLite keeps any value in any column, and its driver says NULL
         * for text that reads as no number: the text goes on as it is.
         */
        if (c->dialect == CFG_DIALECT_SQLITE) {
            int rc = odbc_value_read(c, stmt, col, SQL_C_CHAR, lenp, isnull);
            return rc < 0 || *isnull ? rc : ODBC_NOT_NUMBER;
        }
        *isnull = 1;
        return 0;
    }
    if (odbc_val_grow(c, 64) < 0)
        return ODBC_E_NOMEM;
    if (isnan(d)) {
        n = snprintf(c->val, 64, "NaN");
    } else if (isinf(d)) {
        n = snprintf(c->val, 64, "%s", d > 0 ? "Infinity" : "-Infinity");
    } else if (single) {
        /*
         * FLT_DIG (DBL_DIG) digits always read back as the value they were
         * printed from, so the search starts there, except for a subnormal
         * value, which has fewer significant bits.
         */
        float f = (float)d;
        for (int p = fpclassify(f) == FP_SUBNORMAL ? 1 : FLT_DIG; p <= 9; p++) {
            snprintf(c->val, 64, "%.*e", p - 1, (double)f);
            if (strtof(c->val, NULL) == f)
                break;
        }
        n = odbc_float_notation(c->val, 64, (double)f, 6);
    } else {
        for (int p = fpclassify(d) == FP_SUBNORMAL ? 1 : DBL_DIG; p <= 17; p++) {
            snprintf(c->val, 64, "%.*e", p - 1, d);
            if (strtod(c->val, NULL) == d)
                break;
        }
        n = odbc_float_notation(c->val, 64, d, 15);
    }
    *lenp = (size_t)n;
    return 0;
}

int odbc_value_text(struct odbc_conn *c, SQLHSTMT stmt, const struct odbc_cols *cols,
                    SQLUSMALLINT col, size_t *lenp, int *isnull)
{
    enum odbc_conv conv = cols->v[col - 1].conv;
    size_t len = 0, i;
    int64_t us;
    int rc;

    if (conv == ODBC_CONV_FLOAT4 || conv == ODBC_CONV_FLOAT8)
        return odbc_float_text(c, stmt, col, conv == ODBC_CONV_FLOAT4, lenp, isnull);
    rc = odbc_value_read(c, stmt, col, conv == ODBC_CONV_BYTEA ? SQL_C_BINARY : SQL_C_CHAR,
                         &len, isnull);
    if (rc < 0 || *isnull)
        return rc;
    switch (conv) {
    case ODBC_CONV_BOOL:
        /*
         * SQLite keeps any value in a BOOLEAN column: boolin's words as
         * boolin reads them ('yes', 'off'), any other number true unless it
         * is zero (as x::boolean of 5 is 5 there).  Other text stays.
         */
        if (len > 0 && len < 64) {
            char num[64], *end;
            int value = pgproto_bool_parse(c->val, len);
            double d;

            if (value < 0) {
                memcpy(num, c->val, len);
                num[len] = '\0';
                d = strtod(num, &end);
                if (end == num + len && !isspace((unsigned char)num[0]) && !isnan(d))
                    value = d != 0;
            }
            if (value >= 0) {
                c->val[0] = value ? 't' : 'f';
                len = 1;
            }
        }
        break;
    case ODBC_CONV_BYTEA:
        if (odbc_bytea_encode(c, &len) < 0)
            return ODBC_E_NOMEM;
        break;
    case ODBC_CONV_DATETIME:
        len = odbc_datetime_trim(c->val, len);
        break;
    case ODBC_CONV_TIMESTAMPTZ:
        /*
         * As a server in UTC prints it: psqlODBC drops the offset (the
         * backend's session is in UTC), SQLite gives back whatever text was
         * stored ("+05:30", "Z", none).  Text that is no timestamp stays.
         */
        if (odbc_timestamp_parse(c->val, len, &us) == 0) {
            if (odbc_val_grow(c, 64) < 0)
                return ODBC_E_NOMEM;
            len = odbc_timestamp_format(c->val, 64, us, "+00");
        }
        break;
    case ODBC_CONV_GUID:
        for (i = 0; i < len; i++)
            c->val[i] = (char)tolower((unsigned char)c->val[i]);
        break;
    case ODBC_CONV_FLOAT4:      /* handled above */
    case ODBC_CONV_FLOAT8:
    case ODBC_CONV_TEXT:
        break;
    }
    c->val[len] = '\0';
    *lenp = len;
    return 0;
}

void odbc_fetch_start(struct odbc_conn *c, const struct odbc_cols *cols, int may_bind)
{
    c->rs.allowed = may_bind && c->gd_block && cols->n > 0;
    c->rs.on = 0;
    c->rs.cols = cols;
    c->rs.count = 0;
}

void odbc_fetch_end(struct odbc_conn *c, SQLHSTMT stmt)
{
    struct odbc_rowset *rs = &c->rs;

    rs->allowed = 0;
    if (!rs->on)
        return;
    rs->on = 0;
    SQLFreeStmt(stmt, SQL_UNBIND);
    SQLSetStmtAttr(stmt, SQL_ATTR_ROW_ARRAY_SIZE, (SQLPOINTER)1, 0);
    SQLSetStmtAttr(stmt, SQL_ATTR_ROW_STATUS_PTR, NULL, 0);
    SQLSetStmtAttr(stmt, SQL_ATTR_ROWS_FETCHED_PTR, NULL, 0);
}

static int odbc_rowset_grow(struct odbc_rowset *rs, size_t ncols, size_t bytes)
{
    if (ncols > rs->ncols_cap) {
        SQLSMALLINT *ctype = realloc(rs->ctype, ncols * sizeof(*ctype));
        size_t *off = ctype ? realloc(rs->off, ncols * sizeof(*off)) : NULL;
        size_t *width = off ? realloc(rs->width, ncols * sizeof(*width)) : NULL;
        SQLLEN *ind = width ? realloc(rs->ind, ncols * ODBC_ROWSET_ROWS * sizeof(*ind)) : NULL;

        /* each realloc that succeeded already owns the block */
        if (ctype)
            rs->ctype = ctype;
        if (off)
            rs->off = off;
        if (width)
            rs->width = width;
        if (ind == NULL)
            return -1;
        rs->ind = ind;
        rs->ncols_cap = ncols;
    }
    if (bytes > rs->buf_cap) {
        char *buf = realloc(rs->buf, bytes);

        if (buf == NULL)
            return -1;
        rs->buf = buf;
        rs->buf_cap = bytes;
    }
    return 0;
}

/*
 * Bind every column for rowsets of ODBC_ROWSET_ROWS rows: floats as
 * doubles, bytea as bytes, the rest as character data, each as wide as its
 * described size within ODBC_BIND_MIN..ODBC_BIND_MAX, all of them in at
 * most ODBC_ROWSET_BYTES.  0, or -1 with the statement left as it was.
 */
static int odbc_rowset_bind(struct odbc_conn *c, SQLHSTMT stmt)
{
    struct odbc_rowset *rs = &c->rs;
    const struct odbc_cols *cols = rs->cols;
    size_t n = (size_t)cols->n, i, total = 0, w;

    if (odbc_rowset_grow(rs, n, 0) < 0)
        return -1;
    for (i = 0; i < n; i++) {
        const struct odbc_col *v = &cols->v[i];

        if (v->conv == ODBC_CONV_FLOAT4 || v->conv == ODBC_CONV_FLOAT8) {
            rs->ctype[i] = SQL_C_DOUBLE;
            w = sizeof(double);
        } else {
            rs->ctype[i] = v->conv == ODBC_CONV_BYTEA ? SQL_C_BINARY : SQL_C_CHAR;
            w = v->size == 0 || v->size >= ODBC_BIND_MAX ? ODBC_BIND_MAX : (size_t)v->size + 1;
            if (w < ODBC_BIND_MIN)
                w = ODBC_BIND_MIN;
            w = (w + 7) & ~(size_t)7;
        }
        rs->width[i] = w;
        rs->off[i] = total;
        total += w * ODBC_ROWSET_ROWS;
    }
    /* A result this wide goes on row by row. */
    if (total > ODBC_ROWSET_BYTES || odbc_rowset_grow(rs, n, total) < 0)
        return -1;
    if (!SQL_SUCCEEDED(SQLSetStmtAttr(stmt, SQL_ATTR_ROW_ARRAY_SIZE, (SQLPOINTER)(SQLULEN)ODBC_ROWSET_ROWS, 0)) ||
        !SQL_SUCCEEDED(SQLSetStmtAttr(stmt, SQL_ATTR_ROW_STATUS_PTR, rs->status, 0)) ||
        !SQL_SUCCEEDED(SQLSetStmtAttr(stmt, SQL_ATTR_ROWS_FETCHED_PTR, &rs->fetched, 0)))
        goto undo;
    for (i = 0; i < n; i++)
        if (!SQL_SUCCEEDED(SQLBindCol(stmt, (SQLUSMALLINT)(i + 1), rs->ctype[i], rs->buf + rs->off[i],
                                      (SQLLEN)rs->width[i], rs->ind + i * ODBC_ROWSET_ROWS)))
            goto undo;
    rs->on = 1;
    return 0;
undo:
    rs->on = 1;
    odbc_fetch_end(c, stmt);
    return -1;
}

SQLRETURN odbc_fetch(struct odbc_conn *c, SQLHSTMT stmt)
{
    struct odbc_rowset *rs = &c->rs;
    SQLRETURN rc;
    SQLULEN r;

    if (!rs->on) {
        if (!rs->allowed || rs->count < ODBC_ROWSET_AFTER || odbc_rowset_bind(c, stmt) < 0) {
            rs->count++;
            return SQLFetch(stmt);
        }
        rs->fetched = rs->row = 0;
    }
    if (++rs->row < rs->fetched)
        return SQL_SUCCESS;
    rs->row = 0;
    rs->fetched = 0;
    rc = SQLFetch(stmt);
    if (!SQL_SUCCEEDED(rc))
        return rc;
    if (rs->fetched == 0)
        return SQL_NO_DATA;
    /* A row the driver could not convert fails the result while its diagnostic is there to read. */
    for (r = 0; r < rs->fetched; r++)
        if (rs->status[r] == SQL_ROW_ERROR)
            return SQL_ERROR;
    return SQL_SUCCESS;
}

/*
 * Fetch rows of the open result set into DataRows: all of them, or
 * max_rows (> 0) and then *suspended is set.  fmt holds each column's
 * format (NULL: all text).  Returns 0 with *rows set, ODBC_ABANDONED, or
 * ODBC_E_DRIVER/ODBC_E_NOMEM/ODBC_E_SENT with the rows encoded so far
 * still buffered.
 */
static int odbc_rows_stream_on(struct odbc_conn *c, SQLHSTMT stmt, const struct odbc_cols *cols,
                               const int16_t *fmt, long max_rows, struct odbc_sink *sink,
                               SQLLEN *rows, int *suspended);

/*
 * A suspended cursor keeps reading row by row: rows fetched ahead in a
 * rowset would be lost.  After ODBC_E_DRIVER the columns stay bound until
 * odbc_stream_error has read the diagnostic (unbinding would clear it).
 */
static int odbc_rows_stream(struct odbc_conn *c, SQLHSTMT stmt, const struct odbc_cols *cols,
                            const int16_t *fmt, long max_rows, struct odbc_sink *sink,
                            SQLLEN *rows, int *suspended)
{
    int rc;

    odbc_fetch_start(c, cols, max_rows <= 0);
    rc = odbc_rows_stream_on(c, stmt, cols, fmt, max_rows, sink, rows, suspended);
    if (rc != ODBC_E_DRIVER)
        odbc_fetch_end(c, stmt);
    return rc;
}

static int odbc_rows_stream_on(struct odbc_conn *c, SQLHSTMT stmt, const struct odbc_cols *cols,
                               const int16_t *fmt, long max_rows, struct odbc_sink *sink,
                               SQLLEN *rows, int *suspended)
{
    SQLRETURN rc;
    SQLUSMALLINT i;
    int err;

    *rows = 0;
    *suspended = 0;
    for (;;) {
        if (max_rows > 0 && *rows >= max_rows) {
            *suspended = 1;
            return 0;
        }
        if (odbc_cancel_check(c) < 0)
            return ODBC_E_SENT;
        rc = odbc_fetch(c, stmt);
        if (!SQL_SUCCEEDED(rc))
            break;
        pgproto_data_row_begin(&c->out, cols->n);
        for (i = 1; i <= (SQLUSMALLINT)cols->n; i++) {
            err = odbc_value_put(c, stmt, cols, i, fmt != NULL && fmt[i - 1] == 1);
            if (err == ODBC_E_SENT)
                return err;
            if (err < 0) {
                /* Drop the half-built row; the rows before it are whole. */
                c->out.len = c->out.msg_start;
                return err;
            }
        }
        if (pgproto_end(&c->out) < 0)
            return ODBC_E_NOMEM;
        (*rows)++;
        if (c->out.len >= ODBC_FLUSH_BYTES && odbc_flush(c, sink) < 0)
            return ODBC_ABANDONED;
    }
    return rc == SQL_NO_DATA ? 0 : ODBC_E_DRIVER;
}

/*
 * PostgreSQL tags CREATE TABLE AS and SELECT INTO "SELECT n" (clients read
 * the row count from it).  psqlODBC counts those rows from the server's
 * tag; SQLite's driver and IRIS's are not known to, so there the verb
 * stays.
 */
static const char *odbc_tag_verb(const struct odbc_conn *c, const char *verb)
{
    if (c->dialect == CFG_DIALECT_POSTGRES &&
        (strcmp(verb, "CREATE TABLE AS") == 0 || strcmp(verb, "SELECT INTO") == 0))
        return "SELECT";
    return verb;
}

void odbc_tag(char *tag, size_t len, const char *verb, int result_set, SQLLEN rows)
{
    long n = rows < 0 ? 0 : (long)rows;

    /* DML with RETURNING has a result set and keeps its own tag, counting the rows returned. */
    if (strcmp(verb, "INSERT") == 0)
        snprintf(tag, len, "INSERT 0 %ld", n);
    else if (strcmp(verb, "UPDATE") == 0 || strcmp(verb, "DELETE") == 0 ||
             strcmp(verb, "MERGE") == 0 || strcmp(verb, "FETCH") == 0 || strcmp(verb, "MOVE") == 0)
        snprintf(tag, len, "%s %ld", verb, n);
    else if (strcmp(verb, "SHOW") == 0 || strcmp(verb, "EXPLAIN") == 0)
        snprintf(tag, len, "%s", verb);     /* rows, but PostgreSQL's tag is the verb */
    else if (result_set || strcmp(verb, "SELECT") == 0)
        snprintf(tag, len, "SELECT %ld", n);
    else
        snprintf(tag, len, "%s", verb);
}

/* A failure of the fetch path as the client sees it; the statement handle holds any diagnostic. */
static int odbc_stream_error(struct odbc_conn *c, SQLHSTMT stmt, int err)
{
    int rc;

    switch (err) {
    case ODBC_ABANDONED:
        return ODBC_ABANDONED;
    case ODBC_E_DRIVER:
        rc = odbc_error_build(c, SQL_HANDLE_STMT, stmt);
        odbc_fetch_end(c, stmt);
        return rc;
    case ODBC_E_SENT:
        return ODBC_ERROR;
    default:
        /* odbc_finish turns this into an ErrorResponse. */
        c->out.oom = 1;
        return ODBC_ERROR;
    }
}


/*
 * A statement's shape: its text with numbers and quoted strings taken out,
 * so that "... WHERE aid = 17" and "... WHERE aid = 42" learn together.
 */
static uint64_t odbc_shape_hash(const char *s, size_t n)
{
    uint64_t h = UINT64_C(14695981039346656037);
    size_t i = 0;

    while (i < n) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\'') {
            for (i++; i < n; i++)
                if (s[i] == '\'' && !(i + 1 < n && s[i + 1] == '\'' && ++i))
                    break;
            i++;
            ch = '\'';
        } else if (ch >= '0' && ch <= '9' && !(i > 0 && (isalnum((unsigned char)s[i - 1]) || s[i - 1] == '_'))) {
            while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '.'))
                i++;
            ch = '0';
        } else {
            i++;
        }
        h = (h ^ ch) * UINT64_C(1099511628211);
    }
    return h;
}

static struct odbc_shape *odbc_shape(struct odbc_conn *c, uint64_t hash)
{
    struct odbc_shape *sh = &c->shapes[hash % ODBC_SHAPES];
    if (sh->hash != hash) {
        sh->hash = hash;
        sh->small = 0;
        sh->runs = 0;
        sh->big = 0;
        sh->plain = 0;
    }
    return sh;
}

/*
 * Whether sql has a WITH and a query that writes (INSERT, UPDATE, DELETE or
 * MERGE, read as PostgreSQL's lexer reads them, so not in strings or
 * comments): DECLARE CURSOR refuses a WITH whose queries write, so such a
 * statement runs without the cursor.  A false positive (FOR UPDATE beside
 * a WITH) only costs the cursor.
 */
static int odbc_with_writes(const char *sql, size_t len)
{
    static const char *const writes[] = { "INSERT", "UPDATE", "DELETE", "MERGE" };
    struct sql_lex_error err;
    struct sql_token *toks;
    size_t i, k, ntok = 0;
    int with = 0, write = 0;

    for (i = 0; i + 4 <= len && strncasecmp(sql + i, "WITH", 4) != 0; i++)
        ;
    if (i + 4 > len || sql_lex(sql, len, NULL, 0, &ntok, &err) < 0 || ntok == 0 ||
        (toks = malloc(ntok * sizeof(*toks))) == NULL)
        return 0;
    sql_lex(sql, len, toks, ntok, &ntok, &err);
    for (i = 0; i < ntok && !(with && write); i++) {
        const struct sql_token *t = &toks[i];
        if (t->type != SQL_TOK_IDENT)
            continue;
        if (t->len == 4 && strncasecmp(sql + t->off, "WITH", 4) == 0)
            with = 1;
        for (k = 0; k < sizeof(writes) / sizeof(writes[0]); k++)
            if (t->len == strlen(writes[k]) && strncasecmp(sql + t->off, writes[k], t->len) == 0)
                write = 1;
    }
    free(toks);
    return with && write;
}

/*
 * Before running sql, whose shape has this hash: a cursor unless it has
 * proven small, or it may not have one (a WITH that writes, looked for
 * only when a cursor is wanted, so never for a statement run often).
 */
static void odbc_cursor_choose(struct odbc_conn *c, uint64_t hash, const char *sql, size_t len)
{
    if (!c->cursor_adaptive)
        return;
    struct odbc_shape *sh = odbc_shape(c, hash);
    int want = (sh->big || sh->small < ODBC_SMALL_RUNS) && !odbc_with_writes(sql, len);
    if (want != c->cursor_on &&
        SQL_SUCCEEDED(SQLSetConnectAttr(c->dbc, ODBC_PSQL_USE_DECLAREFETCH, (SQLPOINTER)(uintptr_t)want, 0)))
        c->cursor_on = want;
}

void odbc_cursor_require(struct odbc_conn *c)
{
    if (c->cursor_adaptive && !c->cursor_on &&
        SQL_SUCCEEDED(SQLSetConnectAttr(c->dbc, ODBC_PSQL_USE_DECLAREFETCH, (SQLPOINTER)(uintptr_t)1, 0)))
        c->cursor_on = 1;
}

/* A successful run of a statement's literal form, counted for odbc_shape_settled. */
static void odbc_shape_ran(struct odbc_conn *c, uint64_t hash)
{
    struct odbc_shape *sh;

    if (!c->autoparam)
        return;
    sh = odbc_shape(c, hash);
    if (sh->runs < UINT16_MAX)
        sh->runs++;
}

/*
 * After it: how many rows it gave (a statement without a result set teaches
 * nothing).  Besides psqlODBC's cursor, it decides auto_parameterize (a
 * large result keeps its statement as written) and SQLite's parameters
 * (odbc_sqlite_inline_wanted): SQLite's driver reads the whole result of a
 * statement with parameters when it executes it.
 */
static void odbc_cursor_learn(struct odbc_conn *c, uint64_t hash, int result_set, SQLLEN rows)
{
    /* hash 0: odbc_exec computed none (no auto_parameterize, no cursor choice): nothing to learn for. */
    if (!result_set || hash == 0)
        return;
    struct odbc_shape *sh = odbc_shape(c, hash);
    if (rows > ODBC_SMALL_ROWS) {
        sh->big = 1;
        sh->small = 0;
    } else if (sh->small < UINT16_MAX) {
        sh->small++;
    }
}

static int odbc_prep_get(struct odbc_conn *c, const char *sql, size_t len,
                         struct odbc_prep **out);
static void odbc_prep_drop(struct odbc_conn *c, struct odbc_prep *p);
static struct odbc_prep *odbc_prep_find(struct odbc_conn *c, const char *sql, size_t len, uint64_t hash);
static void odbc_schema_note(struct odbc_conn *c, const char *verb);

/* Whether the statement with this shape hash is run as its shape (odbc_set_autoparam). */
static int odbc_shape_settled(struct odbc_conn *c, uint64_t hash, const char *verb)
{
    struct odbc_shape *sh = odbc_shape(c, hash);

    return sh->runs >= ODBC_SMALL_RUNS && !sh->big && sh->plain < ODBC_PLAIN_FAILS &&
           (strcmp(verb, "SELECT") == 0 || strcmp(verb, "UPDATE") == 0 ||
            strcmp(verb, "DELETE") == 0 || strcmp(verb, "INSERT") == 0);
}

/*
 * Run sql as the shape sql_autoparam made of it (in c->shape), its
 * literals bound, through the prepared-handle cache.  Returns ODBC_DECLINED
 * (nothing sent) for the literal form to run instead:
 *  - while the shape's own text is new: literals the shape keeps may vary
 *    from run to run ("VALUES (5) ... WHERE b = 1"), and each variant
 *    would be prepared anew and crowd out the clients' statements, so a
 *    shape is prepared only once its text has come twice;
 *  - when the shape fails to prepare outside a transaction (after
 *    ODBC_PLAIN_FAILS such failures it is not tried again: one may be a
 *    lock timeout or a cancel); in a transaction the failed Parse has
 *    aborted it, so its error is the answer.
 * A table changed under a prepared shape is odbc_exec_params's to handle.
 */
#define ODBC_DECLINED (-100)
static int odbc_exec_shape(struct odbc_conn *c, const char *sql, size_t len, uint64_t hash,
                           const struct sql_literal *lits, int n, const char *verb,
                           struct odbc_sink *sink)
{
    struct odbc_param params[SQL_AUTOPARAM_MAX];
    const char *shape = (const char *)c->shape.data;
    uint64_t shape_hash;
    struct odbc_shape *sh;
    struct odbc_prep *p;
    int i, result;

    for (i = 0; i < n; i++) {
        params[i].value = (const uint8_t *)sql + lits[i].off;
        params[i].len = (int32_t)lits[i].len;
        params[i].type_oid = lits[i].oid;
        params[i].format = 0;
        /* SQLite reads an integer literal as a 64-bit integer, any other number as a double. */
        if (c->dialect == CFG_DIALECT_SQLITE && lits[i].oid != 0)
            params[i].type_oid = lits[i].oid == PG_OID_NUMERIC ? PG_OID_FLOAT8 : PG_OID_INT8;
    }
    shape_hash = odbc_hash(shape, c->shape.len);
    sh = odbc_shape(c, shape_hash);
    if (sh->runs < UINT16_MAX)
        sh->runs++;
    if (sh->runs < 2)
        return ODBC_DECLINED;
    /* The literal form proved small, and so is the shape: prepared without a cursor at once. */
    if (!sh->big && sh->small < ODBC_SMALL_RUNS)
        sh->small = ODBC_SMALL_RUNS;
    pgbuf_reset(&c->out);
    odbc_park(c);
    result = odbc_prep_get(c, shape, c->shape.len, &p);
    if (result == ODBC_ERROR && !c->in_tx) {
        pgbuf_reset(&c->out);
        sh = odbc_shape(c, hash);
        if (sh->plain < ODBC_PLAIN_FAILS)
            sh->plain++;
        return ODBC_DECLINED;
    }
    if (result != ODBC_OK)
        return odbc_finish(c, sink, result);
    /* Its parameters kept the probe from typing it when it was prepared: the literal form can. */
    if (c->dialect == CFG_DIALECT_SQLITE && !p->typed) {
        if (odbc_query_verb(verb))
            odbc_sqlite_types(c, p->stmt, sql, len, &p->cols, 1);
        p->typed = 1;
    }
    c->shaped++;
    result = odbc_exec_params(c, shape, c->shape.len, verb, params, n, NULL, 0, ODBC_F_ROWDESC, 0,
                              sink);
    /* A large result turns the literal form back to its cursor too. */
    if (odbc_shape(c, shape_hash)->big)
        odbc_shape(c, hash)->big = 1;
    return result;
}

/*
 * psqlODBC drops the columns of an INSERT, UPDATE or DELETE ... RETURNING
 * that matched no row, where PostgreSQL still sends its RowDescription
 * (clients read the empty result by it).  They are asked for by preparing
 * the text again on a handle of its own (nothing runs), in that case only.
 */
static void odbc_returning_describe(struct odbc_conn *c, const char *sql, size_t len, const char *verb)
{
    struct odbc_cols cols = { 0 };
    SQLHSTMT h = SQL_NULL_HSTMT;
    SQLSMALLINT ncols = 0;
    char *text;
    size_t i;

    if (strcmp(verb, "UPDATE") != 0 && strcmp(verb, "DELETE") != 0 && strcmp(verb, "INSERT") != 0)
        return;
    for (i = 0; i + 9 <= len && strncasecmp(sql + i, "RETURNING", 9) != 0; i++)
        ;
    /* NUL-terminated: psqlODBC's SQLPrepare reads to the NUL. */
    if (i + 9 > len || (text = strndup(sql, len)) == NULL)
        return;
    if (SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, c->dbc, &h))) {
        if (SQL_SUCCEEDED(SQLPrepare(h, (SQLCHAR *)text, (SQLINTEGER)len)) &&
            SQL_SUCCEEDED(SQLNumResultCols(h, &ncols)) && ncols > 0 && odbc_cols_load(h, ncols, &cols) == 0)
            odbc_rowdesc_put(c, &cols, NULL, 0);
        odbc_cols_free(&cols);
        SQLFreeStmt(h, SQL_CLOSE);      /* as in odbc_prep_free: else its description leaks */
        SQLFreeHandle(SQL_HANDLE_STMT, h);
    }
    free(text);
}

int odbc_exec(struct odbc_conn *c, const char *sql, size_t len, const char *verb,
              struct odbc_sink *sink)
{
    struct sql_literal lits[SQL_AUTOPARAM_MAX];
    SQLSMALLINT ncols = 0;
    SQLLEN rows = 0;
    SQLRETURN rc;
    char tag[ODBC_TAG_MAX];
    int result = ODBC_OK, err, suspended, early = 0, n;
    uint64_t hash = 0;

    if (verb == NULL)
        verb = "";
    odbc_schema_sync(c);
    /* ROLLBACK TO SAVEPOINT: PostgreSQL closes the portals opened since; their rows may be undone. */
    if (strcmp(verb, "ROLLBACK") == 0)
        odbc_portals_lose(c, ODBC_LOST_ROLLBACK);
    if (c->autoparam) {
        hash = odbc_shape_hash(sql, len);
        if (odbc_shape_settled(c, hash, verb) &&
            (n = sql_autoparam(sql, len, c->dialect == CFG_DIALECT_POSTGRES, &c->shape, lits)) > 0) {
            int shaped = odbc_exec_shape(c, sql, len, hash, lits, n, verb, sink);
            if (shaped != ODBC_DECLINED)
                return shaped;
        }
    }
    pgbuf_reset(&c->out);
    odbc_park(c);
    SQLFreeStmt(c->stmt, SQL_CLOSE);
    if (len > INT32_MAX) {
        pgproto_error(&c->out, 'E', "ERROR", "54000", "statement is too long", NULL, NULL);
        return odbc_finish(c, sink, ODBC_ERROR);
    }

    if (odbc_cancel_check(c) < 0)
        return odbc_finish(c, sink, ODBC_ERROR);
    if (c->cursor_adaptive && !c->autoparam)
        hash = odbc_shape_hash(sql, len);
    odbc_cursor_choose(c, hash, sql, len);
    rc = SQLExecDirect(c->stmt, (SQLCHAR *)sql, (SQLINTEGER)len);
    if (rc == SQL_NO_DATA) {
        /* An UPDATE or DELETE that matched nothing: with RETURNING, still its columns. */
        SQLFreeStmt(c->stmt, SQL_CLOSE);
        odbc_returning_describe(c, sql, len, verb);
        odbc_shape_ran(c, hash);
        odbc_schema_note(c, verb);
        odbc_tag(tag, sizeof(tag), verb, 0, 0);
        pgproto_command_complete(&c->out, tag);
        return odbc_finish(c, sink, ODBC_OK);
    }
    if (!SQL_SUCCEEDED(rc)) {
        result = odbc_error_build(c, SQL_HANDLE_STMT, c->stmt);
        goto done;
    }
    if (rc == SQL_SUCCESS_WITH_INFO)
        odbc_notices_forward(c, c->stmt);

    if (!SQL_SUCCEEDED(SQLNumResultCols(c->stmt, &ncols))) {
        result = odbc_error_build(c, SQL_HANDLE_STMT, c->stmt);
        goto done;
    }
    if (ncols > 0) {
        err = odbc_cols_load(c->stmt, ncols, &c->simple);
        if (err == 0 && c->dialect == CFG_DIALECT_SQLITE) {
            odbc_type_hint(sql, len, &c->simple);
            odbc_sqlite_types(c, c->stmt, sql, len, &c->simple, odbc_query_verb(verb));
        }
        if (err == 0) {
            odbc_rowdesc_put(c, &c->simple, NULL, 0);
            err = odbc_rows_stream(c, c->stmt, &c->simple, NULL, 0, sink, &rows, &suspended);
            odbc_cursor_learn(c, hash, 1, rows);
        }
        if (err != 0) {
            result = odbc_stream_error(c, c->stmt, err);
            early = 1;
            goto done;
        }
    } else if (!SQL_SUCCEEDED(SQLRowCount(c->stmt, &rows))) {
        rows = 0;
    }
    odbc_shape_ran(c, hash);
    odbc_schema_note(c, verb);
    odbc_tag(tag, sizeof(tag), odbc_tag_verb(c, verb), ncols > 0, rows);
    pgproto_command_complete(&c->out, tag);

done:
    /* Closed at once: an open SQLite cursor holds a lock that blocks writers. */
    SQLFreeStmt(c->stmt, SQL_CLOSE);
    if (early && odbc_early_close_locks(c))
        odbc_stmt_renew(c);
    if (result == ODBC_ABANDONED)
        return odbc_abandon(c);
    return odbc_finish(c, sink, result);
}

/* FNV-1a: statement texts are short and a miss costs a prepare anyway. */
static uint64_t odbc_hash(const char *s, size_t n)
{
    uint64_t h = UINT64_C(14695981039346656037);
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

static void odbc_prep_free(struct odbc_prep *p)
{
    if (p->stmt != SQL_NULL_HSTMT) {
        /* psqlODBC frees the description of a never-executed statement only on close. */
        SQLFreeStmt(p->stmt, SQL_CLOSE);
        SQLFreeHandle(SQL_HANDLE_STMT, p->stmt);
    }
    free(p->sql);
    free(p->param_oids);
    free(p->portal_oid);
    odbc_cols_free(&p->cols);
    free(p);
}

static void odbc_prep_drop(struct odbc_conn *c, struct odbc_prep *p)
{
    int i;

    for (i = 0; i < c->npreps; i++) {
        if (c->preps[i] == p) {
            c->preps[i] = c->preps[--c->npreps];
            odbc_prep_free(p);
            return;
        }
    }
}

/* Drop the cached handle of sql, if any, unless it holds the open cursor. */
static void odbc_prep_forget(struct odbc_conn *c, const char *sql, size_t len)
{
    struct odbc_prep *p = odbc_prep_find(c, sql, len, odbc_hash(sql, len));

    if (p != NULL && p != c->cur)
        odbc_prep_drop(c, p);
}

/* Close p's cursor; early: before its last row (see odbc_early_close_locks). */
static void odbc_cursor_close(struct odbc_conn *c, struct odbc_prep *p, int early)
{
    SQLFreeStmt(p->stmt, SQL_CLOSE);
    if (early && odbc_early_close_locks(c))
        odbc_prep_drop(c, p);
}

/* Evict least recently used statements until at most keep remain; the open cursor's stays. */
static void odbc_preps_trim(struct odbc_conn *c, int keep)
{
    int i, victim;

    while (c->npreps > keep) {
        victim = -1;
        for (i = 0; i < c->npreps; i++)
            if (c->preps[i] != c->cur &&
                (victim < 0 || c->preps[i]->used < c->preps[victim]->used))
                victim = i;
        if (victim < 0)
            return;
        odbc_prep_free(c->preps[victim]);
        c->preps[victim] = c->preps[--c->npreps];
    }
}

/* ---- parameter types for SQLite ---------------------------------------- */

/*
 * SQLite's driver describes every parameter as text, and drivers that
 * encode arguments by the described type (pgx) then refuse an integer.  The
 * statement says more: a marker compared with a column, inserted into one,
 * set into one or used as a LIMIT has that column's (or bigint's) type.
 * Column types come from the table itself (SELECT * ... LIMIT 0).
 */
#define ODBC_INFER_TOKENS 512
#define ODBC_INFER_TABLES 8

struct odbc_infer {
    const char *sql;
    struct sql_token t[ODBC_INFER_TOKENS];
    size_t n;
    struct {
        size_t name, alias;     /* token indexes; alias == name when none */
    } tables[ODBC_INFER_TABLES];
    int ntables;
};

static int odbc_tok_is(const struct odbc_infer *in, size_t i, const char *word)
{
    size_t n = strlen(word);
    return i < in->n && in->t[i].type == SQL_TOK_IDENT && in->t[i].len == n &&
           strncasecmp(in->sql + in->t[i].off, word, n) == 0;
}

static int odbc_tok_punct(const struct odbc_infer *in, size_t i, char ch)
{
    return i < in->n && in->t[i].type == SQL_TOK_PUNCT && in->sql[in->t[i].off] == ch;
}

static int odbc_tok_name(const struct odbc_infer *in, size_t i)
{
    return i < in->n && (in->t[i].type == SQL_TOK_IDENT || in->t[i].type == SQL_TOK_QIDENT);
}

/* Tables named after FROM, JOIN, UPDATE and INTO, with their aliases. */
static void odbc_infer_tables(struct odbc_infer *in)
{
    static const char *const not_alias[] = { "where", "set", "join", "on", "values", "inner", "left", "right",
                                             "full", "cross", "natural", "group", "order", "limit", "using",
                                             "returning", "default", "select", "union", "offset", "for" };
    for (size_t i = 0; i + 1 < in->n && in->ntables < ODBC_INFER_TABLES; i++) {
        if (!(odbc_tok_is(in, i, "from") || odbc_tok_is(in, i, "join") || odbc_tok_is(in, i, "update") ||
              odbc_tok_is(in, i, "into")) || !odbc_tok_name(in, i + 1))
            continue;
        size_t name = i + 1, j = i + 2;
        if (odbc_tok_punct(in, j, '.') && odbc_tok_name(in, j + 1)) {   /* schema.table */
            name = j + 1;
            j += 2;
        }
        size_t alias = name;
        if (odbc_tok_is(in, j, "as"))
            j++;
        if (j < in->n && in->t[j].type == SQL_TOK_IDENT) {
            int kw = 0;
            for (size_t k = 0; k < sizeof(not_alias) / sizeof(not_alias[0]); k++)
                kw |= odbc_tok_is(in, j, not_alias[k]);
            if (!kw)
                alias = j;
        }
        in->tables[in->ntables].name = name;
        in->tables[in->ntables].alias = alias;
        in->ntables++;
    }
}

/* The type of column (token col, qualified by token qual or not) in the statement's tables; 0 if unknown. */
static int32_t odbc_infer_column(struct odbc_conn *c, const struct odbc_infer *in, size_t qual, size_t col)
{
    for (int k = 0; k < in->ntables; k++) {
        const struct sql_token *tn = &in->t[in->tables[k].name], *ta = &in->t[in->tables[k].alias];
        if (qual != SIZE_MAX && !(in->t[qual].len == ta->len &&
                                  strncasecmp(in->sql + in->t[qual].off, in->sql + ta->off, ta->len) == 0))
            continue;
        char q[300];
        SQLHSTMT h;
        SQLSMALLINT ncols = 0;
        int32_t oid = 0;
        snprintf(q, sizeof(q), "SELECT * FROM %.*s LIMIT 0", (int)tn->len, in->sql + tn->off);
        if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, c->dbc, &h)))
            return 0;
        if (SQL_SUCCEEDED(SQLExecDirect(h, (SQLCHAR *)q, SQL_NTS)) && SQL_SUCCEEDED(SQLNumResultCols(h, &ncols))) {
            for (SQLSMALLINT i = 1; i <= ncols && oid == 0; i++) {
                SQLCHAR name[ODBC_NAME_MAX];
                SQLSMALLINT nl, type, digits, nullable;
                SQLULEN size;
                const char *want = in->sql + in->t[col].off;
                size_t wl = in->t[col].len;
                if (in->t[col].type == SQL_TOK_QIDENT && wl >= 2) {
                    want++;
                    wl -= 2;
                }
                if (SQL_SUCCEEDED(SQLDescribeCol(h, (SQLUSMALLINT)i, name, sizeof(name), &nl, &type, &size,
                                                 &digits, &nullable)) &&
                    strlen((char *)name) == wl && strncasecmp((char *)name, want, wl) == 0)
                    oid = odbc_type_refine(h, (SQLUSMALLINT)i, type);
            }
        }
        SQLFreeHandle(SQL_HANDLE_STMT, h);
        if (oid != 0)
            return oid;
    }
    return 0;
}

/* The column a marker at token m is compared with, inserted into or set into: its (qual, col) tokens. */
static int odbc_infer_target(const struct odbc_infer *in, size_t m, size_t *qual, size_t *col)
{
    static const char *const cmp[] = { "=", "<>", "!=", "<", ">", "<=", ">=" };
    size_t before = m - 1;      /* the comparison operator */
    *qual = SIZE_MAX;
    /* col op ?  (also col LIKE ?, col BETWEEN ? AND ?, col IN (?, ...)) */
    if (m > 0 && in->t[before].type == SQL_TOK_OP) {
        int is_cmp = 0;
        for (size_t k = 0; k < sizeof(cmp) / sizeof(cmp[0]); k++)
            is_cmp |= in->t[before].len == strlen(cmp[k]) && strncmp(in->sql + in->t[before].off, cmp[k], in->t[before].len) == 0;
        if (!is_cmp)
            return -1;
    } else {
        if (m == 0)
            return -1;
        size_t p = m - 1;
        /* inside an IN ( ... ) list: walk back to its '(' */
        while (p > 0 && (odbc_tok_punct(in, p, ',') || (in->t[p].type == SQL_TOK_OP && in->sql[in->t[p].off] == '?')))
            p--;
        if (odbc_tok_punct(in, p, '(') && p > 0 && odbc_tok_is(in, p - 1, "in"))
            before = p - 1;
        else if (odbc_tok_is(in, p, "like") || odbc_tok_is(in, p, "ilike") || odbc_tok_is(in, p, "between"))
            before = p;
        else if (odbc_tok_is(in, p, "and") && p >= 2 && odbc_tok_is(in, p - 2, "between"))
            before = p - 2;
        else if (odbc_tok_is(in, p, "limit") || odbc_tok_is(in, p, "offset"))
            return 1;           /* a row count */
        else
            return -1;
    }
    if (before == 0 || !odbc_tok_name(in, before - 1))
        return -1;
    *col = before - 1;
    if (*col >= 2 && odbc_tok_punct(in, *col - 1, '.') && odbc_tok_name(in, *col - 2))
        *qual = *col - 2;
    return 0;
}

/* INSERT INTO t (c1, ...) VALUES (..., ?, ...): the column of the marker at token m. */
static int odbc_infer_insert(const struct odbc_infer *in, size_t m, size_t *col)
{
    size_t open = SIZE_MAX, pos = 0;
    int depth = 0;
    for (size_t p = m; p-- > 0;) {
        if (odbc_tok_punct(in, p, ')'))
            depth++;
        else if (odbc_tok_punct(in, p, '(') && depth-- == 0) {
            open = p;
            break;
        } else if (depth == 0 && odbc_tok_punct(in, p, ','))
            pos++;
    }
    if (open == SIZE_MAX || open == 0 || !(odbc_tok_is(in, open - 1, "values") || odbc_tok_punct(in, open - 1, ',')))
        return -1;
    /* The column list: the parentheses right after INSERT INTO name. */
    for (size_t i = 0; i + 3 < in->n; i++) {
        if (!odbc_tok_is(in, i, "into") || !odbc_tok_name(in, i + 1))
            continue;
        size_t j = i + 2;
        if (odbc_tok_punct(in, j, '.'))
            j += 2;
        if (!odbc_tok_punct(in, j, '('))
            return -1;
        for (size_t k = j + 1, n = 0; k < in->n && !odbc_tok_punct(in, k, ')'); k++) {
            if (odbc_tok_punct(in, k, ','))
                n++;
            else if (n == pos && odbc_tok_name(in, k)) {
                *col = k;
                return 0;
            }
        }
        return -1;
    }
    return -1;
}

static void odbc_sqlite_param_types(struct odbc_conn *c, const char *sql, size_t len, struct odbc_prep *p)
{
    struct sql_lex_error err;
    struct odbc_infer *in = calloc(1, sizeof(*in));
    int marker = 0;

    if (in == NULL)
        return;
    in->sql = sql;
    if (sql_lex(sql, len, in->t, ODBC_INFER_TOKENS, &in->n, &err) != 0 || in->n > ODBC_INFER_TOKENS) {
        free(in);
        return;
    }
    odbc_infer_tables(in);
    for (size_t i = 0; i < in->n && marker < p->nparams; i++) {
        if (in->t[i].type != SQL_TOK_OP)
            continue;
        for (uint32_t k = 0; k < in->t[i].len && marker < p->nparams; k++) {
            if (in->sql[in->t[i].off + k] != '?')
                continue;
            size_t qual = SIZE_MAX, col = 0;
            int rc = -1;
            if (k > 0) {
                /* "=?" lexes as one operator: a comparison with what comes before it */
                if (i > 0 && odbc_tok_name(in, i - 1)) {
                    col = i - 1;
                    if (col >= 2 && odbc_tok_punct(in, col - 1, '.') && odbc_tok_name(in, col - 2))
                        qual = col - 2;
                    rc = 0;
                }
            } else {
                rc = odbc_infer_target(in, i, &qual, &col);
            }
            if (rc < 0 && odbc_infer_insert(in, i, &col) == 0)
                rc = 0;
            if (p->param_oids[marker] == PG_OID_TEXT) {
                int32_t oid = rc == 1 ? PG_OID_INT8 : rc == 0 ? odbc_infer_column(c, in, qual, col) : 0;
                if (oid != 0)
                    p->param_oids[marker] = oid;
            }
            marker++;
        }
    }
    free(in);
}

/*
 * Prepare a statement and learn what it takes and returns.  psqlODBC (with
 * UseServerSidePrepare=1, its default) answers SQLNumResultCols,
 * SQLDescribeCol and SQLDescribeParam before execution by sending Parse and
 * Describe to the server and reading the catalog, so nothing runs; SQLite
 * knows from sqlite3_prepare.  SQLite's driver describes every parameter
 * as SQL_LONGVARCHAR, i.e. text.  Returns an enum odbc_result, with the
 * ErrorResponse built on failure.
 */
static int odbc_prep_new(struct odbc_conn *c, const char *sql, size_t len, uint64_t hash,
                         struct odbc_prep **out)
{
    struct odbc_prep *p;
    SQLSMALLINT ncols = 0, type, digits, nullable;
    SQLULEN size;
    int result = ODBC_ERROR, err, i;

    if (len > INT32_MAX) {
        pgproto_error(&c->out, 'E', "ERROR", "54000", "statement is too long", NULL, NULL);
        return ODBC_ERROR;
    }
    p = calloc(1, sizeof(*p));
    /* NUL-terminated too: psqlODBC reads the text to its NUL whatever length it is given. */
    if (p == NULL || (p->sql = malloc(len + 1)) == NULL) {
        free(p);
        pgproto_error(&c->out, 'E', "ERROR", "53200", "out of memory", NULL, NULL);
        return ODBC_ERROR;
    }
    memcpy(p->sql, sql, len);
    p->sql[len] = '\0';
    p->len = len;
    p->hash = hash;
    p->schema = odbc_schema_sync(c);
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, c->dbc, &p->stmt))) {
        p->stmt = SQL_NULL_HSTMT;
        result = odbc_error_build(c, SQL_HANDLE_DBC, c->dbc);
        goto failed;
    }
    odbc_active_set(c, p->stmt);
    odbc_cursor_choose(c, hash, p->sql, len);
    p->cursor = (int8_t)c->cursor_on;
    if (!SQL_SUCCEEDED(SQLPrepare(p->stmt, (SQLCHAR *)p->sql, (SQLINTEGER)len)) ||
        !SQL_SUCCEEDED(SQLNumParams(p->stmt, &p->nparams)) ||
        !SQL_SUCCEEDED(SQLNumResultCols(p->stmt, &ncols))) {
        result = odbc_error_build(c, SQL_HANDLE_STMT, p->stmt);
        goto failed;
    }
    if (ncols > 0) {
        err = odbc_cols_load(p->stmt, ncols, &p->cols);
        if (err == ODBC_E_DRIVER) {
            result = odbc_error_build(c, SQL_HANDLE_STMT, p->stmt);
            goto failed;
        }
        if (err < 0)
            goto nomem;
        if (c->dialect == CFG_DIALECT_SQLITE)
            odbc_type_hint(p->sql, len, &p->cols);
        /* What the rows would have to match after a schema change: not what the data let a probe find. */
        p->desc_sig = odbc_cols_sig(&p->cols);
        /* Not run yet, so described before any row; with parameters the probe could not run. */
        if (c->dialect == CFG_DIALECT_SQLITE && p->nparams > 0 && ncols <= ODBC_GUESS_COLS) {
            /* What the portal runs may probe (odbc_sqlite_portal_cols): later runs leave no description. */
            for (i = 0; i < ncols; i++)
                if (p->cols.v[i].oid != PG_OID_BOOL && !p->cols.v[i].noted &&
                    odbc_sqlite_guess(p->stmt, (SQLUSMALLINT)(i + 1)) != NULL)
                    p->untyped |= (uint16_t)(1u << i);
        }
        if (c->dialect == CFG_DIALECT_SQLITE && p->nparams == 0) {
            char verb[16];

            sql_command(p->sql, len, verb, sizeof(verb));
            odbc_sqlite_types(c, p->stmt, p->sql, len, &p->cols, odbc_query_verb(verb));
            p->typed = 1;
        }
    }
    if (p->nparams > 0) {
        p->param_oids = malloc((size_t)p->nparams * sizeof(*p->param_oids));
        if (p->param_oids == NULL)
            goto nomem;
    }
    for (i = 0; i < p->nparams; i++)
        p->param_oids[i] = SQL_SUCCEEDED(SQLDescribeParam(p->stmt, (SQLUSMALLINT)(i + 1), &type,
                                                          &size, &digits, &nullable))
                               ? odbc_type_oid(type)
                               : PG_OID_TEXT;
    if (c->dialect == CFG_DIALECT_SQLITE && p->nparams > 0)
        odbc_sqlite_param_types(c, sql, len, p);
    odbc_active_set(c, c->stmt);
    *out = p;
    return ODBC_OK;

nomem:
    pgproto_error(&c->out, 'E', "ERROR", "53200", "out of memory", NULL, NULL);
    memcpy(c->last_state, "53200", sizeof(c->last_state));
failed:
    /*
     * Refused for what the text says (syntax, a missing table or column, a
     * type, a feature, an aborted block), as PostgreSQL's Parse would be;
     * not for a cancel, a lost connection or memory.
     */
    if (result == ODBC_ERROR && (strncmp(c->last_state, "42", 2) == 0 || strncmp(c->last_state, "0A", 2) == 0 ||
                                 strncmp(c->last_state, "22", 2) == 0 || strncmp(c->last_state, "25", 2) == 0))
        c->unprepared = 1;
    odbc_active_set(c, c->stmt);
    odbc_prep_free(p);
    return result;
}

int odbc_take_unprepared(struct odbc_conn *c)
{
    int u = c->unprepared;
    c->unprepared = 0;
    return u;
}

/*
 * psqlODBC settles how it will run a prepared SELECT when it prepares it.
 * With UseDeclareFetch on: DECLARE CURSOR with the parameters written into
 * the text, so the server parses and plans it at every execution.  Off: a
 * named server-side statement, parsed and planned once, run with Bind and
 * Execute, its result read whole.  A handle prepared before its shape
 * proved small (or turned big) is prepared again to match the setting
 * odbc_cursor_choose picks now.
 */
static int odbc_prep_match(struct odbc_conn *c, struct odbc_prep *p)
{
    odbc_cursor_choose(c, p->hash, p->sql, p->len);
    if (!c->cursor_adaptive || p->cursor == c->cursor_on)
        return ODBC_OK;
    /* Prepared again as new: the last execution's bindings must not shape it. */
    SQLFreeStmt(p->stmt, SQL_CLOSE);
    SQLFreeStmt(p->stmt, SQL_RESET_PARAMS);
    if (!SQL_SUCCEEDED(SQLPrepare(p->stmt, (SQLCHAR *)p->sql, (SQLINTEGER)p->len)))
        return odbc_error_build(c, SQL_HANDLE_STMT, p->stmt);
    p->cursor = (int8_t)c->cursor_on;
    return ODBC_OK;
}

/* The cached statement for this SQL text (with its hash), or NULL. */
static struct odbc_prep *odbc_prep_find(struct odbc_conn *c, const char *sql, size_t len, uint64_t hash)
{
    for (int i = 0; i < c->npreps; i++) {
        struct odbc_prep *p = c->preps[i];
        if (p->hash == hash && p->len == len && memcmp(p->sql, sql, len) == 0)
            return p;
    }
    return NULL;
}

/* What a client's description of these columns holds: their number and types. */
static uint64_t odbc_cols_sig(const struct odbc_cols *cols)
{
    uint64_t h = odbc_hash((const char *)&cols->n, sizeof(cols->n));

    for (int i = 0; i < cols->n; i++) {
        h ^= (uint32_t)cols->v[i].oid;
        h *= UINT64_C(1099511628211);
    }
    return h;
}

/* p's columns as the driver described them, for a client to hold: never 0, which means none. */
static uint64_t odbc_sig(const struct odbc_prep *p)
{
    return p->desc_sig != 0 ? p->desc_sig : 1;
}

/*
 * The count of schema changes now.  When it moved, the SQLite types found
 * by text (c->guesses) go, and SQLite reads the schema again: it prepares
 * by the schema it last read and finds another connection's change only
 * when a statement runs, so a statement prepared first would describe the
 * old columns (and the driver read the new rows by them).
 */
uint32_t odbc_schema_sync(struct odbc_conn *c)
{
    uint32_t now = ck_pr_load_32(c->schema_gen);

    if (now != c->schema_seen) {
        memset(c->guesses, 0, sizeof(c->guesses));
        c->schema_seen = now;
        /* Only a statement that steps reads it: the driver's SQLExecDirect of a SELECT does not. */
        if (c->dialect == CFG_DIALECT_SQLITE) {
            if (SQL_SUCCEEDED(SQLExecDirect(c->stmt, (SQLCHAR *)"SELECT 1 FROM sqlite_master LIMIT 0", SQL_NTS)))
                SQLFetch(c->stmt);
            SQLFreeStmt(c->stmt, SQL_CLOSE);
        }
    }
    return now;
}

/*
 * After verb succeeded: a statement that may change what a prepared
 * statement's columns are, or the end of a transaction (or a ROLLBACK TO)
 * that held one, counts as a schema change for every connection to the
 * database.  Other connections see a change made in a transaction only when
 * it commits, so it is counted then again.
 */
static void odbc_schema_note(struct odbc_conn *c, const char *verb)
{
    /* On SQLite a new table may hide another one of its name (a temporary one). */
    if (strncmp(verb, "ALTER ", 6) == 0 || strncmp(verb, "DROP ", 5) == 0 ||
        strcmp(verb, "CREATE VIEW") == 0 ||
        (c->dialect == CFG_DIALECT_SQLITE && strcmp(verb, "CREATE TABLE") == 0)) {
        if (c->in_tx)
            c->tx_ddl = 1;
    } else if (!(c->tx_ddl && strcmp(verb, "ROLLBACK") == 0)) {
        return;
    }
    ck_pr_inc_32(c->schema_gen);
}

/*
 * The cached statement for this SQL text, prepared now if need be.  One
 * prepared before a schema change is prepared again (whether its columns
 * changed for a client is the worker's to say: odbc_set_seen_sig).
 */
static int odbc_prep_get(struct odbc_conn *c, const char *sql, size_t len,
                         struct odbc_prep **out)
{
    uint64_t hash = odbc_hash(sql, len);
    struct odbc_prep *p = odbc_prep_find(c, sql, len, hash);
    uint32_t schema = odbc_schema_sync(c);
    int result;

    if (p != NULL && p->schema != schema && p != c->cur) {
        odbc_prep_drop(c, p);
        p = NULL;
    }
    if (p != NULL) {
        p->used = ++c->clock;
        *out = p;
        return ODBC_OK;
    }
    if (c->npreps == c->preps_cap) {
        int cap = c->preps_cap ? c->preps_cap * 2 : 16;
        struct odbc_prep **v = realloc(c->preps, (size_t)cap * sizeof(*v));

        if (v == NULL) {
            pgproto_error(&c->out, 'E', "ERROR", "53200", "out of memory", NULL, NULL);
            return ODBC_ERROR;
        }
        c->preps = v;
        c->preps_cap = cap;
    }
    result = odbc_prep_new(c, sql, len, hash, &p);
    if (result != ODBC_OK)
        return result;
    /* Only now: a statement that fails to prepare evicts nothing. */
    odbc_preps_trim(c, c->max_prepared - 1);
    p->used = ++c->clock;
    c->preps[c->npreps++] = p;
    *out = p;
    return ODBC_OK;
}

/*
 * The ODBC type a parameter is bound as, and its column size and decimal
 * digits, from its PostgreSQL type and its character form v (NULL for SQL
 * NULL).  psqlODBC parses date and time character data itself when bound
 * as SQL_TYPE_*, and loses what it does not understand: "infinity" fails,
 * "2024-01-02T03:04:05" becomes midnight, a zone offset is dropped.  As
 * SQL_VARCHAR it sends the text untyped and the server reads it as
 * PostgreSQL would, so that is how the postgres dialect binds them.
 */
static void odbc_param_type(struct odbc_conn *c, int32_t oid, const char *v, size_t n,
                            struct odbc_bind *b)
{
    struct odbc_num num;
    const char *dot;

    b->digits = 0;
    b->size = n > 0 ? n : 1;
    switch (oid) {
    case PG_OID_INT2:
        b->sqltype = SQL_SMALLINT;
        return;
    case PG_OID_INT4:
        b->sqltype = SQL_INTEGER;
        return;
    case PG_OID_INT8:
        b->sqltype = SQL_BIGINT;
        return;
    case PG_OID_FLOAT4:
        b->sqltype = SQL_REAL;
        return;
    case PG_OID_FLOAT8:
        b->sqltype = SQL_DOUBLE;
        return;
    case PG_OID_BOOL:
        b->sqltype = SQL_BIT;
        return;
    case PG_OID_BYTEA:
        b->sqltype = SQL_VARBINARY;
        return;
    case PG_OID_NUMERIC:
        b->sqltype = SQL_NUMERIC;
        if (v != NULL && odbc_num_parse(v, n, &num) == 0 && num.in + num.fn > 0) {
            b->size = num.in + num.fn;
            b->digits = (SQLSMALLINT)(num.fn < INT16_MAX ? num.fn : INT16_MAX);
        }
        return;
    case PG_OID_DATE:
    case PG_OID_TIME:
    case PG_OID_TIMESTAMP:
    case PG_OID_TIMESTAMPTZ:
        if (c->dialect == CFG_DIALECT_POSTGRES)
            break;
        b->sqltype = oid == PG_OID_DATE ? SQL_TYPE_DATE
                     : oid == PG_OID_TIME ? SQL_TYPE_TIME : SQL_TYPE_TIMESTAMP;
        b->size = oid == PG_OID_DATE ? 10 : oid == PG_OID_TIME ? 8 : 19;
        dot = v != NULL && oid != PG_OID_DATE ? memrchr(v, '.', n) : NULL;
        if (dot != NULL) {
            while (dot + 1 + b->digits < v + n && isdigit((unsigned char)dot[1 + b->digits]))
                b->digits++;
            if (b->digits > 0)
                b->size += 1 + (SQLULEN)b->digits;
        }
        return;
    default:
        break;
    }
    b->sqltype = n > ODBC_LONG_TEXT ? SQL_LONGVARCHAR : SQL_VARCHAR;
}

/*
 * Numbers and booleans are bound as C integers, doubles and bits rather
 * than as characters: SQLite's driver binds character data as text
 * whatever the SQL type, and text compares greater than any number there
 * ("x < ?" would always hold).  psqlODBC prints doubles with 17
 * significant digits, which reads back to the same value.
 */
static void odbc_param_put(struct odbc_conn *c, struct odbc_bind *b, SQLSMALLINT ctype,
                           const void *v, size_t n)
{
    static const uint8_t zeros[8];

    /* The driver loads the value through a pointer of its C type. */
    if (c->pbuf.len % 8 != 0)
        pgproto_put_bytes(&c->pbuf, zeros, 8 - c->pbuf.len % 8);
    b->off = c->pbuf.len;
    b->ctype = ctype;
    b->ind = (SQLLEN)n;
    pgproto_put_bytes(&c->pbuf, v, n);
}

static void odbc_param_int(struct odbc_conn *c, struct odbc_bind *b, int64_t v)
{
    SQLBIGINT i = (SQLBIGINT)v;

    odbc_param_put(c, b, SQL_C_SBIGINT, &i, sizeof(i));
}

static void odbc_param_double(struct odbc_conn *c, struct odbc_bind *b, double v)
{
    SQLDOUBLE d = v;

    odbc_param_put(c, b, SQL_C_DOUBLE, &d, sizeof(d));
}

static void odbc_param_bool(struct odbc_conn *c, struct odbc_bind *b, int v)
{
    uint8_t bit = v != 0;

    odbc_param_put(c, b, SQL_C_BIT, &bit, 1);
}

/* ErrorResponse for a parameter's text that its type does not accept. */
static int odbc_param_reject(struct odbc_conn *c, int32_t oid, const char *v, size_t n, int range)
{
    if (range)
        return odbc_error_put(c, "22003", NULL, "value \"%.*s\" is out of range for type %s",
                              odbc_quote_len(v, n), v, odbc_type_name(oid));
    return odbc_error_put(c, "22P02", NULL, "invalid input syntax for type %s: \"%.*s\"",
                          odbc_type_name(oid), odbc_quote_len(v, n), v);
}

/*
 * A text-format parameter into c->pbuf, checked as PostgreSQL's input
 * function for its type would check it (SQLite would store anything).
 */
/* n digits at s (none may be missing) as a number, or -1. */
static int odbc_digits(const char *s, size_t avail, int n)
{
    int v = 0;
    if ((size_t)n > avail)
        return -1;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/*
 * SQLite: a date or timestamp value with a zone offset, as PgJDBC sends
 * them ("2024-02-29 +00", "2024-02-29 13:45:30+00") and PostgreSQL would
 * read into the column: a date keeps its date, a timestamp its wall time,
 * a timestamptz becomes UTC (how pgiris keeps timestamps on SQLite), each
 * without the offset, which SQLite would otherwise store as part of the
 * text (and its date functions refuse).  Into out (at least n + 1 bytes);
 * its length, or 0 to keep the value as it is (no offset, or not such a
 * value).
 */
static size_t odbc_sqlite_zoned(int32_t oid, const char *v, size_t n, char *out)
{
    int y = odbc_digits(v, n, 4), mo = n > 7 ? odbc_digits(v + 5, n - 5, 2) : -1,
        d = n > 9 ? odbc_digits(v + 8, n - 8, 2) : -1;
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || v[4] != '-' || v[7] != '-')
        return 0;
    size_t i = 10, tstart = 0, tend = 0;
    int hh = 0, mi = 0, ss = 0;
    if (i + 5 <= n && (v[i] == ' ' || v[i] == 'T') && isdigit((unsigned char)v[i + 1])) {
        hh = odbc_digits(v + i + 1, n - i - 1, 2);
        mi = v[i + 3] == ':' ? odbc_digits(v + i + 4, n - i - 4, 2) : -1;
        if (hh < 0 || hh > 24 || mi < 0 || mi > 59)
            return 0;
        tstart = i + 1;
        i += 6;
        if (i + 3 <= n && v[i] == ':') {
            if ((ss = odbc_digits(v + i + 1, n - i - 1, 2)) < 0 || ss > 60)
                return 0;
            i += 3;
            if (i < n && v[i] == '.')
                for (i++; i < n && isdigit((unsigned char)v[i]); i++)
                    ;
        }
        tend = i;
    }
    while (i < n && v[i] == ' ')
        i++;
    /* The offset: Z, +hh, +hhmm, +hh:mm (and :ss); nothing else may follow. */
    int sign = 0, oh = 0, om = 0, os = 0;
    if (i < n && (v[i] == 'Z' || v[i] == 'z') && i + 1 == n) {
        sign = 1;
    } else if (i < n && (v[i] == '+' || v[i] == '-')) {
        sign = v[i] == '-' ? -1 : 1;
        if ((oh = odbc_digits(v + i + 1, n - i - 1, 2)) < 0 || oh > 15)
            return 0;
        i += 3;
        if (i < n && v[i] == ':')
            i++;
        if (i < n && (om = odbc_digits(v + i, n - i, 2)) < 0)
            return 0;
        if (i < n)
            i += 2;
        if (i < n && v[i] == ':') {
            if ((os = odbc_digits(v + i + 1, n - i - 1, 2)) < 0)
                return 0;
            i += 3;
        }
        if (i != n)
            return 0;
    } else {
        return 0;
    }
    if (oid == PG_OID_DATE || tend == 0) {
        if (oid != PG_OID_DATE)
            return 0;
        memcpy(out, v, 10);
        out[10] = '\0';
        return 10;
    }
    if (oid == PG_OID_TIMESTAMP) {
        memcpy(out, v, 10);
        out[10] = ' ';
        memcpy(out + 11, v + tstart, tend - tstart);
        out[11 + tend - tstart] = '\0';
        return 11 + tend - tstart;
    }
    /* timestamptz: the same instant in UTC. */
    int64_t secs = civil_days_from_date(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss -
                   sign * (oh * 3600 + om * 60 + os);
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400), rest = secs - days * 86400, yy;
    int m2, d2;
    civil_date_from_days(days, &yy, &m2, &d2);
    if (yy < 0 || yy > 9999)
        return 0;
    int len = snprintf(out, n + 1, "%04d-%02d-%02d %02d:%02d:%02d", (int)yy, m2, d2, (int)(rest / 3600),
                       (int)(rest / 60 % 60), (int)(rest % 60));
    /* The fraction as written. */
    size_t fs = tstart + 8;
    if (len > 0 && fs < tend && (size_t)len + (tend - fs) <= n) {
        memcpy(out + len, v + fs, tend - fs);
        len += (int)(tend - fs);
        out[len] = '\0';
    }
    return len > 0 && (size_t)len <= n ? (size_t)len : 0;
}

static int odbc_param_text(struct odbc_conn *c, int32_t oid, const char *v, size_t n,
                           struct odbc_bind *b)
{
    struct odbc_num num;
    const char *msg, *copy;
    int64_t i64;
    double d;
    int rc;

    switch (oid) {
    case PG_OID_INT2:
    case PG_OID_INT4:
    case PG_OID_INT8:
        rc = odbc_int_parse(v, n, oid == PG_OID_INT2 ? INT16_MIN : oid == PG_OID_INT4 ? INT32_MIN
                                                                                    : INT64_MIN,
                            oid == PG_OID_INT2 ? INT16_MAX : oid == PG_OID_INT4 ? INT32_MAX
                                                                              : INT64_MAX,
                            &i64);
        if (rc < 0)
            return odbc_param_reject(c, oid, v, n, rc == -2);
        odbc_param_int(c, b, i64);
        return 0;
    case PG_OID_FLOAT4:
    case PG_OID_FLOAT8:
        /* strtod wants a terminated string: the copy at the end of pbuf gets one. */
        pgproto_put_bytes(&c->pbuf, v, n);
        pgproto_put_u8(&c->pbuf, 0);
        if (c->pbuf.oom)
            return ODBC_E_NOMEM;
        copy = (const char *)c->pbuf.data + b->off;
        rc = odbc_float_parse(copy, oid == PG_OID_FLOAT4, &d);
        if (rc < 0)
            return odbc_param_reject(c, oid, v, n, rc == -2);
        /* The decimal's nearest double: a float4 column rounds it as float4in would. */
        d = strtod(copy, NULL);
        c->pbuf.len = b->off;
        odbc_param_double(c, b, d);
        return 0;
    case PG_OID_NUMERIC:
        if (odbc_num_parse(v, n, &num) < 0)
            return odbc_param_reject(c, oid, v, n, 0);
        break;
    case PG_OID_BOOL:
        if ((rc = pgproto_bool_parse(v, n)) < 0)
            return odbc_param_reject(c, oid, v, n, 0);
        odbc_param_bool(c, b, rc);
        return 0;
    case PG_OID_BYTEA:
        if ((msg = odbc_bytea_decode(&c->pbuf, v, n)) != NULL)
            return odbc_error_put(c, "22P02", NULL, "%s", msg);
        b->ctype = SQL_C_BINARY;
        b->ind = (SQLLEN)(c->pbuf.len - b->off);
        return 0;
    case PG_OID_DATE:
    case PG_OID_TIMESTAMP:
    case PG_OID_TIMESTAMPTZ:
        if (c->dialect == CFG_DIALECT_SQLITE && n < 64) {
            char zoned[64];
            size_t k = odbc_sqlite_zoned(oid, v, n, zoned);
            if (k > 0) {
                pgproto_put_bytes(&c->pbuf, zoned, k);
                b->ind = (SQLLEN)k;
                return 0;
            }
        }
        break;
    default:
        break;
    }
    pgproto_put_bytes(&c->pbuf, v, n);
    b->ind = (SQLLEN)n;
    return 0;
}

/* Fixed sizes of the binary formats decoded here; 0 where any size goes. */
static size_t odbc_binary_size(int32_t oid)
{
    switch (oid) {
    case PG_OID_NUMERIC:
    case PG_OID_BYTEA:
    case PG_OID_TEXT:
    case PG_OID_VARCHAR:
    case PG_OID_BPCHAR:
    case PG_OID_JSON:
    case PG_OID_JSONB:
        return 0;
    case PG_OID_TIMETZ:
        return 12;
    case PG_OID_INTERVAL:
        return 16;
    default:
        return (size_t)odbc_type_len(oid);
    }
}

/*
 * A binary-format parameter into c->pbuf, as it is bound: numbers and
 * booleans as C values, bytea as raw bytes, the rest as character data.  A
 * timestamptz is rendered in UTC; the postgres dialect gets the "+00" too,
 * since the server would otherwise read it in the session's time zone.
 */
static int odbc_param_binary(struct odbc_conn *c, int32_t oid, int index, const uint8_t *v,
                             size_t n, struct odbc_bind *b)
{
    char buf[64];
    size_t len = 0, want = odbc_binary_size(oid);
    int32_t i32;
    uint32_t u32;
    uint64_t u64;
    float f;
    double d;

    if (want == (size_t)-1)
        return odbc_error_put(c, "0A000", NULL,
                              "binary format is not supported for bind parameter %d (type OID %d)",
                              index + 1, (int)oid);
    if (want != 0 && n != want)
        goto bad;
    switch (oid) {
    case PG_OID_INT2:
        odbc_param_int(c, b, (int16_t)odbc_load_u16(v));
        return 0;
    case PG_OID_INT4:
        odbc_param_int(c, b, (int32_t)pgproto_load_u32(v));
        return 0;
    case PG_OID_INT8:
        odbc_param_int(c, b, (int64_t)odbc_load_u64(v));
        return 0;
    case PG_OID_FLOAT4:
        u32 = pgproto_load_u32(v);
        memcpy(&f, &u32, sizeof(f));
        odbc_param_double(c, b, f);
        return 0;
    case PG_OID_FLOAT8:
        u64 = odbc_load_u64(v);
        memcpy(&d, &u64, sizeof(d));
        odbc_param_double(c, b, d);
        return 0;
    case PG_OID_BOOL:
        odbc_param_bool(c, b, v[0]);
        return 0;
    case PG_OID_DATE:
        len = odbc_date_format(buf, sizeof(buf), (int32_t)pgproto_load_u32(v));
        break;
    case PG_OID_TIME:
        u64 = odbc_load_u64(v);
        if ((int64_t)u64 < 0 || (int64_t)u64 > ODBC_USECS_PER_DAY)
            goto bad;
        len = odbc_time_format(buf, sizeof(buf), (int64_t)u64);
        break;
    case PG_OID_TIMESTAMP:
    case PG_OID_TIMESTAMPTZ:
        len = odbc_timestamp_format(buf, sizeof(buf), (int64_t)odbc_load_u64(v),
                                    oid == PG_OID_TIMESTAMPTZ && c->dialect == CFG_DIALECT_POSTGRES
                                        ? "+00"
                                        : "");
        break;
    case PG_OID_TIMETZ:
        u64 = odbc_load_u64(v);
        /* The zone is in seconds west of UTC, at most 15:59:59 either way. */
        i32 = (int32_t)pgproto_load_u32(v + 8);
        if ((int64_t)u64 < 0 || (int64_t)u64 > ODBC_USECS_PER_DAY || i32 < -57599 || i32 > 57599)
            goto bad;
        len = odbc_time_format(buf, sizeof(buf), (int64_t)u64);
        len += odbc_offset_format(buf + len, sizeof(buf) - len, -i32);
        break;
    case PG_OID_INTERVAL:
        len = odbc_interval_format(buf, sizeof(buf), (int64_t)odbc_load_u64(v), (int32_t)pgproto_load_u32(v + 8),
                                   (int32_t)pgproto_load_u32(v + 12));
        break;
    case PG_OID_UUID:
        odbc_uuid_format(v, buf);
        len = 36;
        break;
    case PG_OID_JSONB:
        /* A version byte, 1, before the JSON text. */
        if (n < 1 || v[0] != 1)
            goto bad;
        pgproto_put_bytes(&c->pbuf, v + 1, n - 1);
        b->ind = (SQLLEN)(n - 1);
        return 0;
    case PG_OID_NUMERIC:
        if (odbc_numeric_decode(&c->pbuf, v, n) < 0)
            goto bad;
        b->ind = (SQLLEN)(c->pbuf.len - b->off);
        return 0;
    case PG_OID_BYTEA:
        b->ctype = SQL_C_BINARY;
        pgproto_put_bytes(&c->pbuf, v, n);
        b->ind = (SQLLEN)n;
        return 0;
    default:
        /* text, varchar, bpchar, json: the characters themselves. */
        pgproto_put_bytes(&c->pbuf, v, n);
        b->ind = (SQLLEN)n;
        return 0;
    }
    pgproto_put_bytes(&c->pbuf, buf, len);
    b->ind = (SQLLEN)len;
    return 0;

bad:
    return odbc_error_put(c, "22P03", NULL, "incorrect binary data format in bind parameter %d",
                          index + 1);
}

/* Where b's value is; empty values of an empty pbuf still need an address. */
static const char *odbc_param_value(const struct odbc_conn *c, const struct odbc_bind *b)
{
    return c->pbuf.data != NULL ? (const char *)c->pbuf.data + b->off : "";
}

/*
 * Decode every parameter into c->pbuf, then bind them all (c->pbuf may move
 * while it grows).  Returns 0, ODBC_E_SENT, ODBC_E_NOMEM, or ODBC_E_DRIVER
 * with the diagnostic on p->stmt.
 */
static int odbc_params_bind(struct odbc_conn *c, struct odbc_prep *p,
                            const struct odbc_param *params, int nparams)
{
    const struct odbc_param *in;
    struct odbc_bind *b;
    int32_t oid;
    int i, rc;

    if (nparams > c->binds_cap) {
        struct odbc_bind *v = realloc(c->binds, (size_t)nparams * sizeof(*v));

        if (v == NULL)
            return ODBC_E_NOMEM;
        c->binds = v;
        c->binds_cap = nparams;
    }
    pgbuf_reset(&c->pbuf);
    for (i = 0; i < nparams; i++) {
        in = &params[i];
        b = &c->binds[i];
        memset(b, 0, sizeof(*b));
        b->off = c->pbuf.len;
        b->ctype = SQL_C_CHAR;
        /* A binary value needs a type to be read by: the driver's guess when Parse gave none. */
        oid = in->type_oid == 0 && in->format == 1 ? p->param_oids[i] : in->type_oid;
        /*
         * SQLite's guess is text for lack of knowing: raw bytes are then a blob
         * (node-postgres sends Buffers so), not a string cut at the first NUL.
         */
        if (in->type_oid == 0 && in->format == 1 && c->dialect == CFG_DIALECT_SQLITE && oid == PG_OID_TEXT)
            oid = PG_OID_BYTEA;
        if (in->value == NULL || in->len < 0) {
            b->ind = SQL_NULL_DATA;
            odbc_param_type(c, oid, NULL, 0, b);
            continue;
        }
        /* Unspecified (PgJDBC's timestamps): a date or time column's type, as PostgreSQL would read it. */
        int32_t text_oid = oid;
        if (in->type_oid == 0 && c->dialect == CFG_DIALECT_SQLITE && i < p->nparams &&
            (p->param_oids[i] == PG_OID_DATE || p->param_oids[i] == PG_OID_TIMESTAMP ||
             p->param_oids[i] == PG_OID_TIMESTAMPTZ))
            text_oid = p->param_oids[i];
        if (in->format == 0)
            rc = odbc_param_text(c, text_oid, (const char *)in->value, (size_t)in->len, b);
        else if (in->format == 1)
            rc = odbc_param_binary(c, oid, i, in->value, (size_t)in->len, b);
        else
            rc = odbc_error_put(c, "22023", NULL, "unsupported format code: %d", in->format);
        if (rc < 0)
            return rc;
        if (c->pbuf.oom)
            return ODBC_E_NOMEM;
        odbc_param_type(c, oid, odbc_param_value(c, b), (size_t)b->ind, b);
    }
    for (i = 0; i < nparams; i++) {
        b = &c->binds[i];
        if (!SQL_SUCCEEDED(SQLBindParameter(p->stmt, (SQLUSMALLINT)(i + 1), SQL_PARAM_INPUT,
                                            b->ctype, b->sqltype, b->size, b->digits,
                                            (SQLPOINTER)odbc_param_value(c, b),
                                            b->ind > 0 ? b->ind : 0, &b->ind)))
            return ODBC_E_DRIVER;
    }
    return 0;
}

/*
 * SQLite's driver reads the whole result of a statement with parameters
 * when it executes it (it streams only one without): a million-row SELECT
 * with a parameter grew the broker by 90 MB.  Until a statement with a
 * result has returned a small one ODBC_SMALL_RUNS times, it runs with its
 * parameters written in as the literals the driver would have bound (text,
 * blob, integer, real), on its own handle, which is prepared again before
 * it binds them next.  (As with psqlODBC's cursor, a statement that proved
 * small and then returns a large result is read whole that once.)
 */
static int odbc_sqlite_inline_wanted(struct odbc_conn *c, const struct odbc_prep *p)
{
    const struct odbc_shape *sh;

    if (c->dialect != CFG_DIALECT_SQLITE || p->nparams == 0 || p->cols.n == 0)
        return 0;
    sh = odbc_shape(c, p->hash);
    return sh->big || sh->small < ODBC_SMALL_RUNS;
}

/* Parameter b as a SQLite literal, appended to out. */
static void odbc_sqlite_literal(struct odbc_conn *c, const struct odbc_bind *b, struct pgbuf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *v = (const unsigned char *)odbc_param_value(c, b);
    char num[40];
    int64_t i64;
    double d;
    size_t i, n;

    if (b->ind == SQL_NULL_DATA) {
        pgproto_put_bytes(out, "NULL", 4);
        return;
    }
    switch (b->ctype) {
    case SQL_C_SBIGINT:
        /*
         * Not a bare number: after ORDER BY or GROUP BY SQLite reads an
         * integer constant (even in parentheses) as a column's position,
         * and "0-" before "-5" would start a comment.  Nor a CAST, which
         * has an affinity where a bound value has none ('42' = CAST(42 AS
         * INTEGER) holds, '42' = ? bound to 42 does not).  (n+0) is an
         * integer with neither; the least one is written so that its
         * digits do not overflow into a real.
         */
        memcpy(&i64, v, sizeof(i64));
        if (i64 == INT64_MIN)
            n = (size_t)snprintf(num, sizeof(num), "(%lld-1+0)", (long long)(i64 + 1));
        else
            n = (size_t)snprintf(num, sizeof(num), "(%lld+0)", (long long)i64);
        pgproto_put_bytes(out, num, n);
        return;
    case SQL_C_BIT:
        pgproto_put_bytes(out, v[0] ? "(1+0)" : "(0+0)", 5);
        return;
    case SQL_C_DOUBLE:
        memcpy(&d, v, sizeof(d));
        /* SQLite binds a NaN as NULL, and reads an overflowing literal as an infinity. */
        if (isnan(d)) {
            pgproto_put_bytes(out, "NULL", 4);
            return;
        }
        if (isinf(d)) {
            pgproto_put_bytes(out, d > 0 ? "9e999" : "-9e999", d > 0 ? 5 : 6);
            return;
        }
        /* In parentheses: "0-" before "-1.5" would start a comment. */
        n = (size_t)snprintf(num, sizeof(num), "(%.17g", d);
        /* A real stays a real: "2" would be an integer literal. */
        if (strpbrk(num, ".e") == NULL)
            n += (size_t)snprintf(num + n, sizeof(num) - n, ".0");
        n += (size_t)snprintf(num + n, sizeof(num) - n, ")");
        pgproto_put_bytes(out, num, n);
        return;
    case SQL_C_BINARY:
        pgproto_put_bytes(out, "X'", 2);
        for (i = 0; i < (size_t)b->ind; i++) {
            num[0] = hex[v[i] >> 4];
            num[1] = hex[v[i] & 15];
            pgproto_put_bytes(out, num, 2);
        }
        pgproto_put_bytes(out, "'", 1);
        return;
    default:
        /* Character data: the driver binds it as text up to its first NUL. */
        n = strnlen((const char *)v, (size_t)b->ind);
        pgproto_put_bytes(out, "'", 1);
        for (i = 0; i < n; i++) {
            pgproto_put_bytes(out, v + i, 1);
            if (v[i] == '\'')
                pgproto_put_bytes(out, "'", 1);
        }
        pgproto_put_bytes(out, "'", 1);
        return;
    }
}

/*
 * Whether SQLite reads b's literal back as the value bound: it parses the
 * text of a double below about 1e-290 (subnormals among them) to another
 * double.  Such a value is bound instead.
 */
static int odbc_sqlite_literal_exact(struct odbc_conn *c, const struct odbc_bind *b)
{
    double d;

    if (b->ind == SQL_NULL_DATA || b->ctype != SQL_C_DOUBLE)
        return 1;
    memcpy(&d, odbc_param_value(c, b), sizeof(d));
    return d == 0 || isnan(d) || fabs(d) >= 1e-290;
}

/*
 * sql with each "?" marker (outside strings, quoted names and comments)
 * replaced by its bound parameter, NUL-terminated, in c->inl.  0, or -1
 * when the markers are not nparams plain "?"s or memory ran out.
 */
static int odbc_sqlite_inline(struct odbc_conn *c, const char *sql, size_t len, int nparams)
{
    struct pgbuf *out = &c->inl;
    size_t i = 0, from = 0;
    int k = 0;
    char close;

    pgbuf_reset(out);
    while (i < len) {
        char ch = sql[i];

        if (ch == '\'' || ch == '"' || ch == '`' || ch == '[') {
            close = ch == '[' ? ']' : ch;
            for (i++; i < len && sql[i] != close; i++)
                ;
            i++;    /* a doubled quote reads as two strings side by side: the same extent */
        } else if (ch == '-' && i + 1 < len && sql[i + 1] == '-') {
            while (i < len && sql[i] != '\n')
                i++;
        } else if (ch == '/' && i + 1 < len && sql[i + 1] == '*') {
            for (i += 2; i + 1 < len && !(sql[i] == '*' && sql[i + 1] == '/'); i++)
                ;
            i += 2;
        } else if (ch == '?') {
            if (k >= nparams || (i + 1 < len && isdigit((unsigned char)sql[i + 1])) ||
                !odbc_sqlite_literal_exact(c, &c->binds[k]))
                return -1;
            pgproto_put_bytes(out, sql + from, i - from);
            odbc_sqlite_literal(c, &c->binds[k++], out);
            from = ++i;
        } else {
            i++;
        }
    }
    pgproto_put_bytes(out, sql + from, len - from);
    pgproto_put_bytes(out, "", 1);
    return k == nparams && !out->oom ? 0 : -1;
}

/* PortalSuspended: the row limit was reached and the cursor stays open. */
static void odbc_suspended_put(struct odbc_conn *c)
{
    pgproto_begin(&c->out, 's');
    pgproto_end(&c->out);
}

/*
 * A statement with parameters is prepared before its values exist, so the
 * probe could not type its untyped columns: "SELECT count(*) ... WHERE id
 * > $1" reached psycopg as text.  A run that describes its portal
 * (Describe then Execute, as psycopg and node-postgres send them) has the
 * values: the probe runs with them written in, and this run's
 * RowDescription and rows take the types found.  They are kept on the
 * handle, once every column had a value, for later such runs whose
 * parameters are of the same kinds (SELECT $1 is a number for 1 and text
 * for 'abc').  Which columns are untyped was noted when the handle was
 * prepared (p->untyped): once it has run, the driver no longer describes
 * them.  A run without that Describe keeps the columns a Describe of the
 * statement gave (text): a client that described the statement reads the
 * rows by that description, and may have asked for text's binary form;
 * unless the client was told a portal's columns last (ODBC_F_AS_DESCRIBED).
 * Returns the columns to use.
 */
static const struct odbc_cols *odbc_sqlite_portal_cols(struct odbc_conn *c, struct odbc_prep *p, int nparams,
                                                       int inl)
{
    struct odbc_cols *pc = &c->pcols;
    uint8_t want[ODBC_GUESS_COLS];
    int32_t oid[ODBC_GUESS_COLS];
    uint32_t sig = 2166136261u;
    int i, n = p->cols.n;

    if (c->dialect != CFG_DIALECT_SQLITE || p->typed || p->untyped == 0)
        return &p->cols;
    /* The kinds of the values, as the driver stores them: a NULL, a text, an integer ... */
    for (i = 0; i < nparams; i++)
        sig = (sig ^ (uint32_t)(c->binds[i].ind == SQL_NULL_DATA ? 0 : 1 + (c->binds[i].ctype & 0xff))) * 16777619u;
    if (p->portal_oid == NULL || p->portal_sig != sig) {
        if (!inl && odbc_sqlite_inline(c, p->sql, p->len, nparams) != 0)
            return &p->cols;
        for (i = 0; i < n; i++)
            want[i] = (uint8_t)(p->untyped >> i & 1);
        /* Not settled (no row, a NULL): this run takes what was found, the next one probes again. */
        if (odbc_sqlite_probe(c, (const char *)c->inl.data, c->inl.len - 1, n, want, oid)) {
            if (p->portal_oid == NULL && (p->portal_oid = calloc(ODBC_GUESS_COLS, sizeof(*p->portal_oid))) == NULL)
                return &p->cols;
            memcpy(p->portal_oid, oid, (size_t)n * sizeof(*oid));
            p->portal_sig = sig;
        }
    } else {
        memcpy(oid, p->portal_oid, (size_t)n * sizeof(*oid));
    }
    if ((size_t)n > pc->cap) {
        struct odbc_col *v = realloc(pc->v, (size_t)n * sizeof(*v));

        if (v == NULL)
            return &p->cols;
        pc->v = v;
        pc->cap = (size_t)n;
    }
    memcpy(pc->v, p->cols.v, (size_t)n * sizeof(*pc->v));
    pc->n = p->cols.n;
    pc->names = p->cols.names;      /* borrowed: odbc_disconnect frees only pc->v */
    pc->names_len = p->cols.names_len;
    for (i = 0; i < n; i++)
        if (oid[i] != 0)
            odbc_col_retype(&pc->v[i], oid[i]);
    return pc;
}

static int odbc_run_params(struct odbc_conn *c, const char *sql, size_t len, const char *verb,
                           const struct odbc_param *params, int nparams, const int16_t *result_formats,
                           int nformats, int flags, long max_rows, struct odbc_sink *sink)
{
    struct odbc_prep *p;
    const struct odbc_cols *cols;
    SQLLEN rows = 0;
    SQLRETURN rc;
    char tag[ODBC_TAG_MAX];
    int result, err, suspended = 0, early = 0, i, inl;

    if (verb == NULL)
        verb = "";
    pgbuf_reset(&c->out);
    odbc_park(c);
    /*
     * FETCH returns the columns of whatever query its cursor was declared
     * for this time: a handle prepared for the same text before would
     * describe the last one's.
     */
    if (strcmp(verb, "FETCH") == 0)
        odbc_prep_forget(c, sql, len);
    result = odbc_prep_get(c, sql, len, &p);
    if (result != ODBC_OK)
        return odbc_finish(c, sink, result);
    /* The client reads its rows by columns it learnt before they changed, as PostgreSQL refuses to. */
    if (!(flags & (ODBC_F_DESCRIBE | ODBC_F_ROWDESC)) && strcmp(verb, "FETCH") != 0 &&
        c->seen_sig != 0 && odbc_sig(p) != c->seen_sig) {
        odbc_error_put(c, "0A000", NULL, "cached plan must not change result type");
        return odbc_finish(c, sink, ODBC_ERROR);
    }
    if (nparams != p->nparams) {
        odbc_error_put(c, "08P01", NULL,
                       "bind message supplies %d parameters, but the statement requires %d",
                       nparams, (int)p->nparams);
        return odbc_finish(c, sink, ODBC_ERROR);
    }
    if (odbc_formats_check(c, p->stmt, &p->cols, result_formats, nformats) < 0)
        return odbc_finish(c, sink, ODBC_ERROR);
    if ((size_t)p->cols.n > c->fmt_cap) {
        int16_t *fmt = realloc(c->fmt, (size_t)p->cols.n * sizeof(*fmt));

        if (fmt == NULL) {
            c->out.oom = 1;
            return odbc_finish(c, sink, ODBC_ERROR);
        }
        c->fmt = fmt;
        c->fmt_cap = (size_t)p->cols.n;
    }
    for (i = 0; i < p->cols.n; i++)
        c->fmt[i] = odbc_format_at(result_formats, nformats, i);

    /*
     * A cached handle is reused: no cursor may survive.  Its bindings need no
     * reset: every one of its p->nparams markers is bound again below, and
     * psqlODBC frees its parameter array on SQL_RESET_PARAMS, only to
     * allocate it again at the first SQLBindParameter.
     */
    SQLFreeStmt(p->stmt, SQL_CLOSE);
    result = odbc_prep_match(c, p);
    if (result != ODBC_OK)
        return odbc_finish(c, sink, result);
    err = odbc_params_bind(c, p, params, nparams);
    if (err != 0)
        return odbc_finish(c, sink, odbc_stream_error(c, p->stmt, err));
    inl = odbc_sqlite_inline_wanted(c, p) && odbc_sqlite_inline(c, p->sql, p->len, nparams) == 0;
    if (!inl && p->inlined) {
        /* The handle holds the text it ran last: its own again, markers and all, bound anew. */
        if (!SQL_SUCCEEDED(SQLPrepare(p->stmt, (SQLCHAR *)p->sql, (SQLINTEGER)p->len)))
            return odbc_finish(c, sink, odbc_error_build(c, SQL_HANDLE_STMT, p->stmt));
        p->inlined = 0;
        err = odbc_params_bind(c, p, params, nparams);
        if (err != 0)
            return odbc_finish(c, sink, odbc_stream_error(c, p->stmt, err));
    }
    /* Typed for this run: numeric or float8, whose binary forms odbc_formats_check let through as text's. */
    cols = (flags & (ODBC_F_DESCRIBE | ODBC_F_AS_DESCRIBED)) && odbc_query_verb(verb)
               ? odbc_sqlite_portal_cols(c, p, nparams, inl)
               : &p->cols;

    /* Describe comes before Execute in PostgreSQL too: an error then follows it. */
    if (flags & ODBC_F_DESCRIBE) {
        if (cols->n > 0)
            odbc_rowdesc_put(c, cols, result_formats, nformats);
        else
            odbc_nodata_put(c);
    }
    /* Told from here on: the reply describes the rows, or they run as the client holds them. */
    c->told_sig = strcmp(verb, "FETCH") != 0 ? odbc_sig(p) : 0;

    odbc_active_set(c, p->stmt);
    if (odbc_cancel_check(c) < 0) {
        result = ODBC_ERROR;
        goto done;
    }
    if (inl) {
        p->inlined = 1;
        rc = SQLExecDirect(p->stmt, c->inl.data, SQL_NTS);
    } else {
        rc = SQLExecute(p->stmt);
    }
    if (rc == SQL_NO_DATA) {
        /* An UPDATE ... RETURNING that matched nothing still has its columns. */
        if (cols->n > 0 && (flags & ODBC_F_ROWDESC))
            odbc_rowdesc_put(c, cols, NULL, 0);
        odbc_schema_note(c, verb);
        odbc_tag(tag, sizeof(tag), verb, 0, 0);
        pgproto_command_complete(&c->out, tag);
        goto done;
    }
    if (!SQL_SUCCEEDED(rc)) {
        result = odbc_error_build(c, SQL_HANDLE_STMT, p->stmt);
        goto done;
    }
    if (rc == SQL_SUCCESS_WITH_INFO)
        odbc_notices_forward(c, p->stmt);
    if (cols->n > 0) {
        if (flags & ODBC_F_ROWDESC)
            odbc_rowdesc_put(c, cols, NULL, 0);
        err = odbc_rows_stream(c, p->stmt, cols, c->fmt, max_rows, sink, &rows, &suspended);
        /* A portal read in pieces is taken for a large result. */
        odbc_cursor_learn(c, p->hash, 1, suspended ? ODBC_SMALL_ROWS + 1 : rows);
        if (err != 0) {
            result = odbc_stream_error(c, p->stmt, err);
            early = 1;
            goto done;
        }
        if (suspended) {
            odbc_suspended_put(c);
            c->cur = p;
            c->cur_id = c->portal_next;
            c->cur_cols = cols;
            snprintf(c->cur_verb, sizeof(c->cur_verb), "%s", verb);
            goto done;
        }
    } else if (!SQL_SUCCEEDED(SQLRowCount(p->stmt, &rows))) {
        rows = 0;
    }
    odbc_schema_note(c, verb);
    odbc_tag(tag, sizeof(tag), (flags & ODBC_F_SELECT_TAG) ? "SELECT" : odbc_tag_verb(c, verb), p->cols.n > 0,
             rows);
    pgproto_command_complete(&c->out, tag);

done:
    odbc_active_set(c, c->stmt);
    if (c->cur != p)
        odbc_cursor_close(c, p, early);
    if (result == ODBC_ABANDONED)
        return odbc_abandon(c);
    result = odbc_finish(c, sink, result);
    /* Nobody is left to continue a portal the sink refused. */
    if (result == ODBC_ABANDONED)
        odbc_close_cursor(c);
    return result;
}

/*
 * The cached handle is keyed by the text, but PostgreSQL refuses to run a
 * prepared statement whose result columns changed since it was prepared
 * (a column added to its table: "cached plan must not change result
 * type"), where a client that parses its statement again expects the new
 * columns.  The error is held back, the handle dropped, and outside a
 * transaction, when this reply carries the RowDescription, the statement
 * prepared afresh and run once more.  Otherwise the error is the answer:
 * in a transaction the failed Bind has aborted it, and a client that
 * described the statement before holds the old columns.
 */
int odbc_exec_params(struct odbc_conn *c, const char *sql, size_t len, const char *verb,
                     const struct odbc_param *params, int nparams, const int16_t *result_formats,
                     int nformats, int flags, long max_rows, struct odbc_sink *sink)
{
    int result;

    c->stale_plan = 0;
    c->told_sig = 0;
    c->defer_out = 1;
    result = odbc_run_params(c, sql, len, verb, params, nparams, result_formats, nformats, flags, max_rows,
                             sink);
    c->defer_out = 0;
    if (c->stale_plan) {
        c->stale_plan = 0;
        odbc_failed_autocommit(c);
        odbc_prep_forget(c, sql, len);
        /*
         * Run again only when this reply describes its rows: a client that
         * described the statement earlier holds the old columns, and gets
         * PostgreSQL's error, as it would for a named statement.
         */
        if (c->in_tx || !(flags & (ODBC_F_DESCRIBE | ODBC_F_ROWDESC))) {
            c->told_sig = 0;        /* the handle it ran is gone, and the client learnt nothing */
            result = odbc_finish(c, sink, result);
        } else
            result = odbc_run_params(c, sql, len, verb, params, nparams, result_formats, nformats, flags,
                                     max_rows, sink);
    }
    c->portal_next = 0;
    c->seen_sig = 0;
    return result;
}

void odbc_set_portal(struct odbc_conn *c, uint32_t id)
{
    c->portal_next = id;
}

void odbc_set_seen_sig(struct odbc_conn *c, uint64_t sig)
{
    c->seen_sig = sig;
}

uint64_t odbc_take_sig(struct odbc_conn *c)
{
    uint64_t sig = c->told_sig;

    c->told_sig = 0;
    return sig;
}

/* Take p out of the cache without freeing it. */
static void odbc_prep_detach(struct odbc_conn *c, struct odbc_prep *p)
{
    for (int i = 0; i < c->npreps; i++) {
        if (c->preps[i] == p) {
            c->preps[i] = c->preps[--c->npreps];
            return;
        }
    }
}

static void odbc_parked_remove(struct odbc_conn *c, int i)
{
    struct odbc_parked *k = &c->parked[i];

    odbc_prep_free(k->p);
    free(k->cols.v);
    free(k->fmt);
    pgbuf_free(&k->pbuf);
    free(k->binds);
    memmove(k, k + 1, (size_t)(c->nparked - i - 1) * sizeof(*k));
    c->nparked--;
}

/* The index of the portal of that id (not 0) set aside, or -1. */
static int odbc_parked_find(const struct odbc_conn *c, uint32_t id)
{
    for (int i = 0; id != 0 && i < c->nparked; i++)
        if (c->parked[i].id == id)
            return i;
    return -1;
}

/* A portal closed before its end: a request that names it later gets an error, not an empty result. */
static void odbc_portal_lost(struct odbc_conn *c, uint32_t id, int why)
{
    struct odbc_lost *l = &c->lost[c->nlost++ % ODBC_LOST_IDS];

    l->id = id;
    l->why = why;
}

/* Every cursor left open, closed and remembered as lost for why. */
static void odbc_portals_lose(struct odbc_conn *c, int why)
{
    if (c->cur != NULL && c->cur_id != 0)
        odbc_portal_lost(c, c->cur_id, why);
    odbc_close_cursor(c);
    while (c->nparked > 0) {
        odbc_portal_lost(c, c->parked[c->nparked - 1].id, why);
        odbc_parked_remove(c, c->nparked - 1);
    }
}

/*
 * Another statement is about to run: the suspended cursor, if any, is set
 * aside (struct odbc_parked) for odbc_fetch_more to go on with later.  One
 * that no request can name (id 0: the unnamed portal, which the next
 * statement replaces) is closed, and so is one outside a transaction block
 * (PostgreSQL's portals end with the implicit transaction, at Sync) and one
 * there is no memory for; the oldest set aside goes when ODBC_PARKED_MAX are.
 */
void odbc_park(struct odbc_conn *c)
{
    struct odbc_prep *p = c->cur;
    struct odbc_parked k = { 0 };
    size_t n;

    if (p == NULL)
        return;
    if (c->cur_id == 0 || !c->in_tx) {
        odbc_close_cursor(c);
        return;
    }
    n = (size_t)c->cur_cols->n;
    if (c->nparked == c->parked_cap) {
        int cap = c->parked_cap ? c->parked_cap * 2 : 4;
        struct odbc_parked *v = realloc(c->parked, (size_t)cap * sizeof(*v));

        if (v != NULL) {
            c->parked = v;
            c->parked_cap = cap;
        }
    }
    k.cols.v = malloc(n * sizeof(*k.cols.v));
    k.fmt = malloc(n * sizeof(*k.fmt));
    if (c->nparked == c->parked_cap || k.cols.v == NULL || k.fmt == NULL) {
        free(k.cols.v);
        free(k.fmt);
        odbc_portal_lost(c, c->cur_id, ODBC_LOST_ROOM);
        odbc_close_cursor(c);
        return;
    }
    memcpy(k.cols.v, c->cur_cols->v, n * sizeof(*k.cols.v));
    k.cols.n = c->cur_cols->n;
    k.cols.names = c->cur_cols->names;
    k.cols.names_len = c->cur_cols->names_len;
    memcpy(k.fmt, c->fmt, n * sizeof(*k.fmt));
    memcpy(k.verb, c->cur_verb, sizeof(k.verb));
    k.id = c->cur_id;
    k.p = p;
    k.pbuf = c->pbuf;
    pgbuf_init(&c->pbuf);
    k.binds = c->binds;
    c->binds = NULL;
    c->binds_cap = 0;
    odbc_prep_detach(c, p);
    if (c->nparked == ODBC_PARKED_MAX) {
        odbc_portal_lost(c, c->parked[0].id, ODBC_LOST_ROOM);
        odbc_parked_remove(c, 0);
    }
    c->parked[c->nparked++] = k;
    c->cur = NULL;
    c->cur_id = 0;
}

/* Every cursor left open, current or set aside: portals end with the transaction. */
static void odbc_portals_close(struct odbc_conn *c)
{
    odbc_close_cursor(c);
    while (c->nparked > 0)
        odbc_parked_remove(c, c->nparked - 1);
    c->nlost = 0;
}

/*
 * Up to max_rows more rows of a suspended cursor.  *open: it is suspended
 * again; otherwise it ended, and the caller closes it.
 */
static int odbc_portal_stream(struct odbc_conn *c, SQLHSTMT stmt, const struct odbc_cols *cols,
                              const int16_t *fmt, const char *verb, long max_rows, struct odbc_sink *sink,
                              int *open)
{
    SQLLEN rows = 0;
    char tag[ODBC_TAG_MAX];
    int err, suspended = 0;

    odbc_active_set(c, stmt);
    err = odbc_rows_stream(c, stmt, cols, fmt, max_rows, sink, &rows, &suspended);
    odbc_active_set(c, c->stmt);
    *open = suspended;
    if (suspended) {
        odbc_suspended_put(c);
        return ODBC_OK;
    }
    if (err != 0)
        return odbc_stream_error(c, stmt, err);
    /* As PostgreSQL counts it: the rows of this last Execute only. */
    odbc_tag(tag, sizeof(tag), verb, 1, rows);
    pgproto_command_complete(&c->out, tag);
    return ODBC_OK;
}

int odbc_fetch_more(struct odbc_conn *c, uint32_t id, long max_rows, struct odbc_sink *sink)
{
    struct odbc_prep *p = c->cur;
    int result, open, i;
    unsigned j;

    pgbuf_reset(&c->out);
    if (p == NULL || c->cur_id != id) {
        if ((i = odbc_parked_find(c, id)) >= 0) {
            struct odbc_parked *k = &c->parked[i];
            result = odbc_portal_stream(c, k->p->stmt, &k->cols, k->fmt, k->verb, max_rows, sink, &open);
            if (!open)
                odbc_parked_remove(c, i);
            if (result == ODBC_ABANDONED)
                return odbc_abandon(c);
            result = odbc_finish(c, sink, result);
            if (open && result == ODBC_ABANDONED)
                odbc_parked_remove(c, i);
            return result;
        }
        for (j = 0; id != 0 && j < ODBC_LOST_IDS && j < c->nlost; j++) {
            const struct odbc_lost *l = &c->lost[j];

            if (l->id != id)
                continue;
            if (l->why == ODBC_LOST_ROOM)
                odbc_error_put(c, "54000", NULL,
                               "portal closed: more than %d suspended portals were open on the connection",
                               ODBC_PARKED_MAX);
            else
                odbc_error_put(c, "34000", NULL, "portal was closed by %s",
                               l->why == ODBC_LOST_ROLLBACK ? "ROLLBACK TO SAVEPOINT"
                                                            : "the cancel of a statement on its connection");
            return odbc_finish(c, sink, ODBC_ERROR);
        }
        p = NULL;
    }
    if (p == NULL) {
        pgproto_command_complete(&c->out, "SELECT 0");
        return odbc_finish(c, sink, ODBC_OK);
    }
    result = odbc_portal_stream(c, p->stmt, c->cur_cols, c->fmt, c->cur_verb, max_rows, sink, &open);
    if (open) {
        result = odbc_finish(c, sink, result);
        if (result == ODBC_ABANDONED)
            odbc_close_cursor(c);
        return result;
    }
    c->cur = NULL;
    c->cur_id = 0;
    odbc_cursor_close(c, p, result != ODBC_OK);
    if (result == ODBC_ABANDONED)
        return odbc_abandon(c);
    return odbc_finish(c, sink, result);
}

int odbc_close_portal(struct odbc_conn *c, uint32_t id, struct odbc_sink *sink)
{
    int i;

    pgbuf_reset(&c->out);
    if (c->cur != NULL && c->cur_id == id)
        odbc_close_cursor(c);
    else if ((i = odbc_parked_find(c, id)) >= 0)
        odbc_parked_remove(c, i);
    pgproto_begin(&c->out, '3');
    pgproto_end(&c->out);
    return odbc_finish(c, sink, ODBC_OK);
}

void odbc_close_cursor(struct odbc_conn *c)
{
    struct odbc_prep *p = c->cur;

    if (p == NULL)
        return;
    c->cur = NULL;
    c->cur_id = 0;
    odbc_cursor_close(c, p, 1);
}

int odbc_describe(struct odbc_conn *c, const char *sql, size_t len, int nparams,
                  const int32_t *param_oids, int how, const int16_t *result_formats,
                  int nformats, struct odbc_sink *sink)
{
    struct odbc_prep *p;
    int result, i;
    int32_t oid;

    pgbuf_reset(&c->out);
    c->told_sig = 0;
    /* ONCE: a handle of its own, outside the cache, so it evicts none of the statements kept there. */
    if (how & ODBC_DESCRIBE_ONCE)
        result = odbc_prep_new(c, sql, len, odbc_hash(sql, len), &p);
    else
        result = odbc_prep_get(c, sql, len, &p);
    if (result != ODBC_OK)
        return odbc_finish(c, sink, result);
    if (odbc_formats_check(c, p->stmt, &p->cols, result_formats, nformats) < 0) {
        result = ODBC_ERROR;
    } else {
        if (how & ODBC_DESCRIBE_PARAMS) {
            pgproto_begin(&c->out, 't');
            pgproto_put_i16(&c->out, (int16_t)nparams);
            for (i = 0; i < nparams; i++) {
                oid = param_oids != NULL ? param_oids[i] : 0;
                /* -(m + 1): the type of marker m, the first of parameter i's (markers go in the text's order). */
                int m = oid < 0 ? -oid - 1 : oid == 0 ? i : -1;
                if (m >= 0)
                    oid = m < p->nparams ? p->param_oids[m] : PG_OID_TEXT;
                pgproto_put_i32(&c->out, oid);
            }
            pgproto_end(&c->out);
        }
        /* A portal a row limit left open is described as its rows go on (odbc_sqlite_portal_cols). */
        const struct odbc_cols *cols = !(how & ODBC_DESCRIBE_PARAMS) && c->cur == p ? c->cur_cols : &p->cols;

        if (cols->n > 0)
            odbc_rowdesc_put(c, cols, result_formats, nformats);
        else
            odbc_nodata_put(c);
    }
    if (how & ODBC_DESCRIBE_ONCE)
        odbc_prep_free(p);
    else if (result == ODBC_OK)
        c->told_sig = odbc_sig(p);
    return odbc_finish(c, sink, result);
}

/* head, then name as a quoted identifier, then NUL. */
static void odbc_put_cursor_sql(struct pgbuf *b, const char *head, const char *name, size_t len)
{
    pgproto_put_bytes(b, head, strlen(head));
    pgproto_put_ident(b, name, len);
    pgproto_put_u8(b, '\0');
}

int odbc_describe_cursor(struct odbc_conn *c, const char *name, size_t len, struct odbc_sink *sink)
{
    struct pgbuf move, fetch;
    int result;

    pgbuf_init(&move);
    pgbuf_init(&fetch);
    odbc_put_cursor_sql(&move, "MOVE FORWARD 0 IN ", name, len);
    odbc_put_cursor_sql(&fetch, "FETCH FORWARD 0 FROM ", name, len);
    pgbuf_reset(&c->out);
    if (move.oom || fetch.oom) {
        pgproto_error(&c->out, 'E', "ERROR", "53200", "out of memory", NULL, NULL);
        result = odbc_finish(c, sink, ODBC_ERROR);
    } else if ((result = odbc_exec_quiet(c, (const char *)move.data)) != 0) {
        result = odbc_finish(c, sink, result);
    } else {
        result = odbc_describe(c, (const char *)fetch.data, fetch.len - 1, 0, NULL, ODBC_DESCRIBE_ONCE,
                               NULL, 0, sink);
    }
    pgbuf_free(&move);
    pgbuf_free(&fetch);
    return result;
}

uint64_t odbc_autoparam_count(const struct odbc_conn *c)
{
    return c->shaped;
}

void odbc_set_autoparam(struct odbc_conn *c, int on)
{
    c->autoparam = on && (c->dialect == CFG_DIALECT_POSTGRES || c->dialect == CFG_DIALECT_SQLITE);
}

void odbc_set_max_prepared(struct odbc_conn *c, int max_prepared)
{
    c->max_prepared = max_prepared < 1 ? 1 : max_prepared;
    odbc_preps_trim(c, c->max_prepared);
}

void odbc_set_schema_counter(struct odbc_conn *c, uint32_t *gen)
{
    c->schema_gen = gen != NULL ? gen : &c->schema_own;
    c->schema_seen = ck_pr_load_32(c->schema_gen);
}

int odbc_autocommit(struct odbc_conn *c, int on)
{
    SQLRETURN rc = SQLSetConnectAttr(c->dbc, SQL_ATTR_AUTOCOMMIT,
                                     (SQLPOINTER)(uintptr_t)(on ? SQL_AUTOCOMMIT_ON
                                                                : SQL_AUTOCOMMIT_OFF),
                                     SQL_IS_UINTEGER);

    return SQL_SUCCEEDED(rc) ? 0 : -1;
}

int odbc_exec_quiet(struct odbc_conn *c, const char *sql)
{
    SQLRETURN rc = SQLExecDirect(c->stmt, (SQLCHAR *)sql, SQL_NTS);
    int result = 0;

    /* The diagnostic first: closing the handle clears it. */
    if (!SQL_SUCCEEDED(rc) && rc != SQL_NO_DATA)
        result = odbc_error_build(c, SQL_HANDLE_STMT, c->stmt);
    SQLFreeStmt(c->stmt, SQL_CLOSE);
    return result;
}

/*
 * ODBC's transactions are autocommit off, then SQLEndTran.  SQLite's
 * driver, while it has one open, reads every result whole when it executes
 * it (a million-row SELECT inside BEGIN grew the broker by 90 MB, where
 * outside a transaction it streams in constant memory).  So on SQLite the
 * driver stays in autocommit and the transaction is SQLite's own BEGIN and
 * COMMIT, which the driver passes through.
 */
int odbc_tx_open(struct odbc_conn *c)
{
    if (c->dialect == CFG_DIALECT_SQLITE) {
        int result = odbc_exec_quiet(c, "BEGIN");
        /*
         * A BEGIN that failed leaves no transaction behind: an interrupted
         * one (a cancel lands on the whole connection) may have opened it,
         * and nothing would end it, the executor counting none open.
         */
        if (result == ODBC_ERROR) {
            size_t at = c->out.len;
            odbc_exec_quiet(c, "ROLLBACK");
            c->out.len = at;
        }
        return result;
    }
    return odbc_autocommit(c, 0) < 0 ? odbc_error_build(c, SQL_HANDLE_DBC, c->dbc) : 0;
}

int odbc_tx_end(struct odbc_conn *c, SQLSMALLINT how, int report)
{
    size_t mark = c->out.len, at;
    int result = 0;

    if (c->dialect == CFG_DIALECT_SQLITE) {
        result = odbc_exec_quiet(c, how == SQL_COMMIT ? "COMMIT" : "ROLLBACK");
        /*
         * A failed ROLLBACK finds the transaction over already: SQLite ends
         * it itself on some errors (ON CONFLICT ROLLBACK, an interrupted
         * write), where PostgreSQL's ROLLBACK would still succeed.
         */
        if (result == ODBC_ERROR && how == SQL_ROLLBACK) {
            c->out.len = mark;
            result = 0;
        }
        /* A COMMIT that SQLite refused (a lock) leaves the transaction open: it ends all the same. */
        if (result == ODBC_ERROR && how == SQL_COMMIT) {
            at = c->out.len;
            odbc_exec_quiet(c, "ROLLBACK");
            c->out.len = at;
        }
    } else {
        if (!SQL_SUCCEEDED(SQLEndTran(SQL_HANDLE_DBC, c->dbc, how))) {
            result = odbc_error_build(c, SQL_HANDLE_DBC, c->dbc);
            if (result == ODBC_ERROR && how == SQL_COMMIT)
                SQLEndTran(SQL_HANDLE_DBC, c->dbc, SQL_ROLLBACK);
        }
        if (result != ODBC_BROKEN && odbc_autocommit(c, 1) < 0 && result == 0)
            result = odbc_error_build(c, SQL_HANDLE_DBC, c->dbc);
    }
    if (!report)
        c->out.len = mark;
    if (c->tx_ddl) {
        c->tx_ddl = 0;
        ck_pr_inc_32(c->schema_gen);
    }
    return result;
}

int odbc_tx_restart(struct odbc_conn *c)
{
    if (c->dialect == CFG_DIALECT_SQLITE) {
        int result = odbc_exec_quiet(c, "ROLLBACK");

        return result != 0 ? result : odbc_exec_quiet(c, "BEGIN");
    }
    /* In manual-commit mode the next statement opens the next transaction. */
    return SQL_SUCCEEDED(SQLEndTran(SQL_HANDLE_DBC, c->dbc, SQL_ROLLBACK))
               ? 0
               : odbc_error_build(c, SQL_HANDLE_DBC, c->dbc);
}

static const char *const odbc_iso_names[] = {
    [SQL_ISO_DEFAULT] = "", [SQL_ISO_READ_UNCOMMITTED] = "READ UNCOMMITTED",
    [SQL_ISO_READ_COMMITTED] = "READ COMMITTED", [SQL_ISO_REPEATABLE_READ] = "REPEATABLE READ",
    [SQL_ISO_SERIALIZABLE] = "SERIALIZABLE",
};

/*
 * Give the transaction just begun (autocommit off) the modes BEGIN asked
 * for, the way the backend can scope them to this transaction alone.
 * PostgreSQL: SET TRANSACTION, which psqlODBC sends inside the transaction
 * it opens.  SQLite: every transaction is serializable, which is at least
 * what any level asks for; READ ONLY is PRAGMA query_only until the end.
 * IRIS: its ODBC isolation attribute for the levels it has (READ
 * UNCOMMITTED, READ COMMITTED); it has no READ ONLY transaction, and a
 * stricter level it cannot give is refused rather than silently weakened.
 * Returns 0 or an odbc_result with the ErrorResponse built.
 */
static int odbc_tx_modes_apply(struct odbc_conn *c, const struct sql_tx_modes *m)
{
    char sql[160];

    switch (c->dialect) {
    case CFG_DIALECT_POSTGRES:
        if (m->isolation == SQL_ISO_DEFAULT && !m->read_only && !m->deferrable)
            return 0;
        snprintf(sql, sizeof(sql), "SET TRANSACTION%s%s%s%s", m->isolation ? " ISOLATION LEVEL " : "",
                 odbc_iso_names[m->isolation], m->read_only ? " READ ONLY" : "",
                 m->deferrable ? " DEFERRABLE" : "");
        return odbc_exec_quiet(c, sql);
    case CFG_DIALECT_SQLITE:
        if (!m->read_only)
            return 0;
        c->tx_read_only = 1;
        return odbc_exec_quiet(c, "PRAGMA query_only = ON");
    default:
        if (m->read_only)
            return odbc_error_put(c, "0A000", NULL, "READ ONLY transactions are not supported by the %s backend",
                                  cfg_dialect_name(c->dialect));
        if (m->isolation == SQL_ISO_REPEATABLE_READ || m->isolation == SQL_ISO_SERIALIZABLE)
            return odbc_error_put(c, "0A000", NULL, "isolation level %s is not supported by the %s backend",
                                  odbc_iso_names[m->isolation], cfg_dialect_name(c->dialect));
        if (m->isolation == SQL_ISO_DEFAULT)
            return 0;
        if (!SQL_SUCCEEDED(SQLSetConnectAttr(c->dbc, SQL_ATTR_TXN_ISOLATION,
                                             (SQLPOINTER)(uintptr_t)(m->isolation == SQL_ISO_READ_COMMITTED
                                                                         ? SQL_TXN_READ_COMMITTED
                                                                         : SQL_TXN_READ_UNCOMMITTED),
                                             SQL_IS_UINTEGER)))
            return odbc_error_build(c, SQL_HANDLE_DBC, c->dbc);
        c->tx_isolation_set = 1;
        return 0;
    }
}

/* Undo what odbc_tx_modes_apply set beyond the transaction's end. */
static void odbc_tx_modes_reset(struct odbc_conn *c)
{
    if (c->tx_read_only) {
        c->tx_read_only = 0;
        SQLExecDirect(c->stmt, (SQLCHAR *)"PRAGMA query_only = OFF", SQL_NTS);
        SQLFreeStmt(c->stmt, SQL_CLOSE);
    }
    if (c->tx_isolation_set) {
        c->tx_isolation_set = 0;
        SQLSetConnectAttr(c->dbc, SQL_ATTR_TXN_ISOLATION, (SQLPOINTER)(uintptr_t)c->default_isolation,
                          SQL_IS_UINTEGER);
    }
}

int odbc_begin(struct odbc_conn *c, const char *tag, const char *sql, size_t len, struct odbc_sink *sink)
{
    struct sql_tx_modes modes;
    char msg[200];
    int rc;

    pgbuf_reset(&c->out);
    memset(&modes, 0, sizeof(modes));
    if (sql != NULL && len > 0 && sql_tx_modes(sql, len, &modes, msg, sizeof(msg)) < 0) {
        pgproto_error(&c->out, 'E', "ERROR", "42601", msg, NULL, NULL);
        return odbc_finish(c, sink, ODBC_ERROR);
    }
    if (c->in_tx) {
        pgproto_error(&c->out, 'N', "WARNING", "25001",
                      "there is already a transaction in progress", NULL, NULL);
    } else {
        rc = odbc_tx_open(c);
        if (rc != 0)
            return odbc_finish(c, sink, rc);
        c->in_tx = 1;
        rc = odbc_tx_modes_apply(c, &modes);
        if (rc != 0) {
            /* No transaction after all: as if BEGIN had failed. */
            if (rc == ODBC_E_SENT)
                rc = ODBC_ERROR;
            if (rc != ODBC_BROKEN) {
                odbc_tx_end(c, SQL_ROLLBACK, 0);
                odbc_tx_modes_reset(c);
            }
            c->in_tx = 0;
            return odbc_finish(c, sink, rc);
        }
    }
    if (tag[0] != '\0')
        pgproto_command_complete(&c->out, tag);
    return odbc_finish(c, sink, ODBC_OK);
}

/*
 * SET TRANSACTION in a block.  PostgreSQL runs it, with its own rules on
 * what may follow a query.  SQLite has no such statement: READ ONLY and
 * READ WRITE are PRAGMA query_only until the transaction ends, and any
 * isolation level is met by its serializable transactions.  IRIS's SET
 * TRANSACTION sets the modes of the process's next transactions, for good
 * ("SET TRANSACTION (SQL)", DOC?KEY=RSQL_settransaction): on a pooled
 * connection that would reach other clients.  So the modes go the way
 * BEGIN's do, refused where IRIS cannot give them.
 */
int odbc_set_transaction(struct odbc_conn *c, const char *tag, const char *sql, size_t len,
                         struct odbc_sink *sink)
{
    struct sql_tx_modes m;
    char msg[200];
    int result = 0;

    if (c->dialect == CFG_DIALECT_POSTGRES)
        return odbc_exec(c, sql, len, tag, sink);
    pgbuf_reset(&c->out);
    int parsed = sql_tx_modes(sql, len, &m, msg, sizeof(msg));
    if (parsed < 0 || m.said == 0) {
        pgproto_error(&c->out, 'E', "ERROR", "42601", parsed < 0 ? msg : "syntax error at end of input", NULL,
                      NULL);
        return odbc_finish(c, sink, ODBC_ERROR);
    }
    if (c->dialect != CFG_DIALECT_SQLITE) {
        result = odbc_tx_modes_apply(c, &m);
    } else if ((m.said & SQL_TX_SAID_READ) && m.read_only != c->tx_read_only) {
        result = odbc_exec_quiet(c, m.read_only ? "PRAGMA query_only = ON" : "PRAGMA query_only = OFF");
        if (result == 0)
            c->tx_read_only = m.read_only;
    }
    if (result == ODBC_E_SENT)
        result = ODBC_ERROR;
    if (result == 0)
        pgproto_command_complete(&c->out, tag);
    return odbc_finish(c, sink, result == 0 ? ODBC_OK : result);
}

/*
 * COMMIT and ROLLBACK.  Whatever SQLEndTran says, the transaction is over
 * afterwards, as in PostgreSQL where a failed COMMIT rolls back: a failed
 * commit is followed by a rollback so that autocommit can be turned on
 * again without committing half of it.
 */
static int odbc_end(struct odbc_conn *c, SQLSMALLINT how, const char *tag,
                    struct odbc_sink *sink)
{
    int result = ODBC_OK;

    pgbuf_reset(&c->out);
    /* Portals end with the transaction, as in PostgreSQL. */
    odbc_portals_close(c);
    if (!c->in_tx) {
        pgproto_error(&c->out, 'N', "WARNING", "25P01", "there is no transaction in progress",
                      NULL, NULL);
        pgproto_command_complete(&c->out, tag);
        return odbc_finish(c, sink, ODBC_OK);
    }
    SQLFreeStmt(c->stmt, SQL_CLOSE);
    result = odbc_tx_end(c, how, 1);
    c->in_tx = 0;
    if (result != ODBC_BROKEN)
        odbc_tx_modes_reset(c);
    if (result == ODBC_OK)
        pgproto_command_complete(&c->out, tag);
    return odbc_finish(c, sink, result);
}

int odbc_commit(struct odbc_conn *c, const char *tag, struct odbc_sink *sink)
{
    return odbc_end(c, SQL_COMMIT, tag, sink);
}

int odbc_rollback(struct odbc_conn *c, const char *tag, struct odbc_sink *sink)
{
    return odbc_end(c, SQL_ROLLBACK, tag, sink);
}

int odbc_reset(struct odbc_conn *c)
{
    int rc = 0;

    odbc_portals_close(c);
    SQLFreeStmt(c->stmt, SQL_CLOSE);
    if (c->in_tx) {
        if (odbc_tx_end(c, SQL_ROLLBACK, 0) != 0)
            rc = -1;
        c->in_tx = 0;
    }
    odbc_tx_modes_reset(c);
    c->told_sig = 0;
    c->seen_sig = 0;
    if (c->dialect != CFG_DIALECT_SQLITE && odbc_autocommit(c, 1) < 0)
        rc = -1;
    pgbuf_reset(&c->out);
    return rc;
}

int odbc_in_transaction(const struct odbc_conn *c)
{
    return c->in_tx;
}

int odbc_is_reset(const struct odbc_conn *c)
{
    return !c->in_tx && c->cur == NULL && c->nparked == 0 && !c->tx_read_only && !c->tx_isolation_set;
}

/*
 * The lock keeps the executor from freeing the handle (an evicted prepared
 * statement) while SQLCancel uses it; between statements the active handle
 * is the idle simple-protocol one, where a cancel does nothing.
 */
void odbc_cancel(struct odbc_conn *c, int timeout)
{
    pthread_mutex_lock(&c->cancel_lock);
    c->cancel_timeout = timeout;
    __atomic_store_n(&c->cancel_pending, 1, __ATOMIC_RELEASE);
    SQLCancel(c->cancel_stmt != SQL_NULL_HSTMT ? c->cancel_stmt : c->active);
    pthread_mutex_unlock(&c->cancel_lock);
}

void odbc_cancel_clear(struct odbc_conn *c)
{
    int was = 0;

    pthread_mutex_lock(&c->cancel_lock);
    was = __atomic_exchange_n(&c->cancel_pending, 0, __ATOMIC_ACQ_REL);
    c->cancel_timeout = 0;
    pthread_mutex_unlock(&c->cancel_lock);
    /*
     * SQLite clears an interrupt only once no statement of the connection
     * is running, and a suspended cursor is one: every later statement
     * would fail as canceled.  They close.
     */
    if (was && c->dialect == CFG_DIALECT_SQLITE)
        odbc_portals_lose(c, ODBC_LOST_CANCEL);
}

int odbc_cancel_check(struct odbc_conn *c)
{
    if (!__atomic_load_n(&c->cancel_pending, __ATOMIC_ACQUIRE))
        return 0;
    return odbc_error_put(c, "57014", NULL, "%s", odbc_cancel_message(c));
}

/* ODBC's own states that have a PostgreSQL counterpart (ODBC 3 and 2 names). */
static const struct {
    const char *odbc;
    const char *pg;
} odbc_state_map[] = {
    { "42S01", "42P07" }, { "42S02", "42P01" }, { "42S21", "42701" }, { "42S22", "42703" },
    { "42S11", "42P07" }, { "42S12", "42704" }, { "S0001", "42P07" }, { "S0002", "42P01" },
    { "S0021", "42701" }, { "S0022", "42703" }, { "S0011", "42P07" }, { "S0012", "42704" },
    { "22018", "22P02" }, { "08S01", "08006" }, { "HYT00", "57014" }, { "HY008", "57014" },
    { "S1T00", "57014" }, { "S1008", "57014" }, { "HY001", "53200" }, { "S1001", "53200" },
    { "HYC00", "0A000" }, { "IM001", "0A000" },
};

#define ODBC_DIALECT(d) (1u << (d))
#define ODBC_ANY_DIALECT 0xffu

/*
 * Backend messages that arrive under a generic state (HY000), in the order
 * they are tried.  SQLite's texts are sqlite3_errmsg()'s.
 */
static const struct {
    unsigned dialects;
    const char *text;
    const char *pg;
} odbc_text_map[] = {
    { ODBC_DIALECT(CFG_DIALECT_SQLITE), "no such table", "42P01" },
    { ODBC_DIALECT(CFG_DIALECT_SQLITE), "attempt to write a readonly database", "25006" },
    { ODBC_DIALECT(CFG_DIALECT_SQLITE), "cannot store", "22P02" },
    { ODBC_DIALECT(CFG_DIALECT_SQLITE), "no such savepoint", "3B001" },
    { ODBC_DIALECT(CFG_DIALECT_SQLITE), "no such column", "42703" },
    { ODBC_DIALECT(CFG_DIALECT_SQLITE), "no such function", "42883" },
    { ODBC_DIALECT(CFG_DIALECT_SQLITE), "no such index", "42704" },
    { ODBC_DIALECT(CFG_DIALECT_SQLITE), "ambiguous column name", "42702" },
    { ODBC_DIALECT(CFG_DIALECT_SQLITE), "duplicate column name", "42701" },
    { ODBC_DIALECT(CFG_DIALECT_SQLITE), "UNIQUE constraint failed", "23505" },
    { ODBC_DIALECT(CFG_DIALECT_SQLITE), "NOT NULL constraint failed", "23502" },
    { ODBC_DIALECT(CFG_DIALECT_SQLITE), "FOREIGN KEY constraint failed", "23503" },
    { ODBC_DIALECT(CFG_DIALECT_SQLITE), "CHECK constraint failed", "23514" },
    { ODBC_DIALECT(CFG_DIALECT_SQLITE), "is locked", "55P03" },
    { ODBC_DIALECT(CFG_DIALECT_SQLITE), "datatype mismatch", "42804" },
    { ODBC_DIALECT(CFG_DIALECT_SQLITE), "interrupted", "57014" },
    { ODBC_DIALECT(CFG_DIALECT_SQLITE), "readonly database", "25006" },
    { ODBC_DIALECT(CFG_DIALECT_SQLITE), "database or disk is full", "53100" },
    { ODBC_DIALECT(CFG_DIALECT_SQLITE), "unrecognized token", "42601" },
    { ODBC_DIALECT(CFG_DIALECT_SQLITE), "incomplete input", "42601" },
    { ODBC_DIALECT(CFG_DIALECT_SQLITE), "too many columns", "54011" },
    { ODBC_DIALECT(CFG_DIALECT_SQLITE), "too many SQL variables", "54000" },
    { ODBC_DIALECT(CFG_DIALECT_SQLITE), "too many terms", "54001" },
    { ODBC_DIALECT(CFG_DIALECT_SQLITE), "Expression tree is too large", "54001" },
    { ODBC_DIALECT(CFG_DIALECT_SQLITE), "string or blob too big", "54000" },
    { ODBC_DIALECT(CFG_DIALECT_SQLITE), "parameter marker count incorrect", "42P02" },
    { ODBC_ANY_DIALECT, "syntax error", "42601" },
    { ODBC_ANY_DIALECT, "already exists", "42P07" },
    { ODBC_ANY_DIALECT, "deadlock", "40P01" },
    { ODBC_ANY_DIALECT, "out of memory", "53200" },
};

/*
 * IRIS reports its SQLCODE inside the message ("[SQLCODE: <-30>:...]"),
 * positive or negative; the codes are those of
 * https://docs.intersystems.com/irislatest/csp/docbook/DocBook.UI.Page.cls?KEY=RERR_sql
 */
static const struct {
    int sqlcode;
    const char *pg;
} odbc_iris_map[] = {
    { 1, "42601" },   /* invalid SQL statement */
    { 29, "42703" },  /* field not found in the applicable tables */
    { 30, "42P01" },  /* table or view not found */
    { 99, "42501" },  /* privilege violation */
    { 104, "22P02" }, /* field validation failed in INSERT */
    { 105, "22P02" }, /* field validation failed in UPDATE */
    { 108, "23502" }, /* required field missing */
    { 110, "55P03" }, /* locking conflict */
    { 114, "55P03" }, /* rows locked by another user */
    { 119, "23505" }, /* UNIQUE or PRIMARY KEY check failed on INSERT */
    { 120, "23505" }, /* ... on UPDATE */
    { 121, "23503" }, /* FOREIGN KEY check failed, INSERT into referencing table */
    { 122, "23503" },
    { 123, "23503" },
    { 124, "23503" },
    { 201, "42P07" }, /* table or view name not unique */
    { 306, "42701" }, /* column with this name already exists */
};

static const char *odbc_iris_state(const char *msg)
{
    const char *p = strstr(msg, "SQLCODE");
    long code;
    size_t i;

    if (p == NULL)
        return NULL;
    p += strlen("SQLCODE");
    while (*p != '\0' && *p != '-' && !isdigit((unsigned char)*p) && p - msg < 64)
        p++;
    code = labs(strtol(p, NULL, 10));
    for (i = 0; i < sizeof(odbc_iris_map) / sizeof(odbc_iris_map[0]); i++)
        if (odbc_iris_map[i].sqlcode == code)
            return odbc_iris_map[i].pg;
    return NULL;
}

/* What kind of integrity violation a bare 23000 is, from its message. */
static const char *odbc_integrity_state(const char *msg)
{
    if (strcasestr(msg, "unique") != NULL || strcasestr(msg, "duplicate") != NULL)
        return "23505";
    if (strcasestr(msg, "not null") != NULL || strcasestr(msg, "null value") != NULL)
        return "23502";
    if (strcasestr(msg, "foreign key") != NULL)
        return "23503";
    if (strcasestr(msg, "check") != NULL)
        return "23514";
    return "23000";
}

void odbc_map_sqlstate(enum cfg_dialect dialect, const char *odbc_state, const char *message,
                       char out[6])
{
    const char *msg = message != NULL ? message : "";
    const char *pg = NULL;
    char st[6] = "HY000";
    size_t i;

    if (odbc_state != NULL && strlen(odbc_state) == 5) {
        for (i = 0; i < 5; i++)
            st[i] = (char)toupper((unsigned char)odbc_state[i]);
    }

    if (dialect == CFG_DIALECT_IRIS)
        pg = odbc_iris_state(msg);
    for (i = 0; pg == NULL && i < sizeof(odbc_state_map) / sizeof(odbc_state_map[0]); i++)
        if (strcmp(st, odbc_state_map[i].odbc) == 0)
            pg = odbc_state_map[i].pg;
    if (pg == NULL && strcmp(st, "23000") == 0)
        pg = odbc_integrity_state(msg);
    if (pg == NULL && (strcmp(st, "HY000") == 0 || strcmp(st, "S1000") == 0 ||
                       strcmp(st, "00000") == 0)) {
        for (i = 0; pg == NULL && i < sizeof(odbc_text_map) / sizeof(odbc_text_map[0]); i++)
            if ((odbc_text_map[i].dialects & ODBC_DIALECT(dialect)) != 0 &&
                strcasestr(msg, odbc_text_map[i].text) != NULL)
                pg = odbc_text_map[i].pg;
        if (pg == NULL)
            pg = "XX000";
    }
    /* Any other ODBC-only state (HY..., IM..., S1...) means nothing to a PostgreSQL client. */
    if (pg == NULL && (strncmp(st, "HY", 2) == 0 || strncmp(st, "IM", 2) == 0 ||
                       strncmp(st, "S1", 2) == 0))
        pg = "XX000";
    memcpy(out, pg != NULL ? pg : st, 5);
    out[5] = '\0';
}
