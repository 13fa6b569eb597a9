/*
 * odbc: one backend connection through unixODBC, and the encoding of what it
 * returns straight into PostgreSQL protocol messages.
 *
 * Results stream: each row is read column by column with SQLGetData (long
 * values in pieces), encoded as a DataRow into the connection's pgbuf, and
 * the buffer goes to the sink whenever it passes ODBC_FLUSH_BYTES.  Memory
 * is bounded by that threshold plus the largest single row, whatever the
 * number of rows.  Driver diagnostics become ErrorResponses with PostgreSQL
 * SQLSTATEs and the backend's own words, without the driver decorations.
 */
#include "broker/odbc.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sql.h>
#include <sqlext.h>

#include "common/pgproto.h"

#define ODBC_FLUSH_BYTES (32 * 1024)
/* Buffers grown past this by one huge value are given back after the statement. */
#define ODBC_KEEP_BYTES (256 * 1024)
#define ODBC_VALUE_MIN 4096
#define ODBC_NAME_MAX 256
#define ODBC_MSG_MAX 2048
#define ODBC_TAG_MAX 128

/* How a column's driver text becomes PostgreSQL's text output. */
enum odbc_conv {
    ODBC_CONV_TEXT,     /* as the driver gives it */
    ODBC_CONV_BOOL,     /* '1'/'0' -> 't'/'f' */
    ODBC_CONV_BYTEA,    /* raw bytes -> "\x0a1b..." */
    ODBC_CONV_DATETIME, /* trailing zeros of the fraction dropped */
    ODBC_CONV_GUID      /* lower case, as uuid_out prints */
};

struct odbc_col {
    enum odbc_conv conv;
};

/* Failures inside the fetch path, before they become an enum odbc_result. */
enum {
    ODBC_E_DRIVER = -10,    /* the diagnostic is on the statement handle */
    ODBC_E_NOMEM = -11
};

struct odbc_conn {
    SQLHENV env;
    SQLHDBC dbc;
    SQLHSTMT stmt;          /* never changes after connect: odbc_cancel reads it */
    enum cfg_dialect dialect;
    int connected;
    int in_tx;
    struct pgbuf out;       /* encoded messages not yet given to the sink */
    char *val;              /* the column value being read */
    size_t val_cap;
    struct odbc_col *cols;
    size_t cols_cap;
};

/* One diagnostic record, as the driver wrote it. */
struct odbc_diag {
    char state[6];
    SQLINTEGER native;
    char msg[ODBC_MSG_MAX];
};

/* A diagnostic message taken apart: pointers into odbc_diag.msg. */
struct odbc_text {
    const char *severity;   /* "ERROR", "NOTICE", ... when the backend said so */
    const char *message;
    const char *detail;
    const char *hint;
};

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
    pgbuf_init(&c->out);

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
    rc = SQLDriverConnect(c->dbc, NULL, (SQLCHAR *)connstr, SQL_NTS, NULL, 0, NULL,
                          SQL_DRIVER_NOPROMPT);
    if (!SQL_SUCCEEDED(rc)) {
        odbc_diag_text(SQL_HANDLE_DBC, c->dbc, "SQLDriverConnect", errbuf, errlen);
        goto failed;
    }
    c->connected = 1;
    rc = SQLAllocHandle(SQL_HANDLE_STMT, c->dbc, &c->stmt);
    if (!SQL_SUCCEEDED(rc)) {
        c->stmt = SQL_NULL_HSTMT;
        odbc_diag_text(SQL_HANDLE_DBC, c->dbc, "SQLAllocHandle(SQL_HANDLE_STMT)", errbuf,
                       errlen);
        goto failed;
    }
    *out = c;
    return 0;

failed:
    odbc_disconnect(c);
    return -1;
}

void odbc_disconnect(struct odbc_conn *c)
{
    if (c == NULL)
        return;
    if (c->stmt != SQL_NULL_HSTMT)
        SQLFreeHandle(SQL_HANDLE_STMT, c->stmt);
    if (c->connected) {
        /* Some drivers refuse to disconnect with a transaction open. */
        if (c->in_tx)
            SQLEndTran(SQL_HANDLE_DBC, c->dbc, SQL_ROLLBACK);
        SQLDisconnect(c->dbc);
    }
    if (c->dbc != SQL_NULL_HDBC)
        SQLFreeHandle(SQL_HANDLE_DBC, c->dbc);
    if (c->env != SQL_NULL_HENV)
        SQLFreeHandle(SQL_HANDLE_ENV, c->env);
    pgbuf_free(&c->out);
    free(c->val);
    free(c->cols);
    free(c);
}

/* Hand the buffered messages to the sink.  0, or ODBC_ABANDONED. */
static int odbc_flush(struct odbc_conn *c, struct odbc_sink *sink)
{
    int rc = 0;

    if (c->out.len > 0)
        rc = sink->write(sink->arg, c->out.data, c->out.len);
    pgbuf_reset(&c->out);
    return rc < 0 ? ODBC_ABANDONED : 0;
}

/* Give back memory that one outsized value made grow. */
static void odbc_buffers_trim(struct odbc_conn *c)
{
    if (c->out.cap > ODBC_KEEP_BYTES)
        pgbuf_free(&c->out);
    if (c->val_cap > ODBC_KEEP_BYTES) {
        free(c->val);
        c->val = NULL;
        c->val_cap = 0;
    }
}

/* End of every call that answers the client: flush what is buffered. */
static int odbc_finish(struct odbc_conn *c, struct odbc_sink *sink, int result)
{
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
static int odbc_error_build(struct odbc_conn *c, SQLSMALLINT htype, SQLHANDLE h)
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
    /* Cancellation reaches clients in PostgreSQL's words, whatever the driver said. */
    if (strcmp(state, "57014") == 0 && strcmp(d.state, "57014") != 0)
        t.message = strcmp(d.state, "HYT00") == 0 ? "canceling statement due to statement timeout"
                                                  : "canceling statement due to user request";
    pgproto_error(&c->out, 'E', "ERROR", state, t.message, t.detail, t.hint);
    return ODBC_ERROR;
}

/*
 * psqlODBC reports the backend's notices (DROP ... IF EXISTS, RAISE NOTICE)
 * as SQL_SUCCESS_WITH_INFO records that start with the severity; a
 * PostgreSQL client expects them as NoticeResponses.  Records without a
 * severity are driver chatter and stay here.
 */
static void odbc_notices_forward(struct odbc_conn *c)
{
    struct odbc_diag d;
    struct odbc_text t;
    SQLSMALLINT rec;

    for (rec = 1; odbc_diag_get(SQL_HANDLE_STMT, c->stmt, rec, &d) == 0; rec++) {
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
 * Read column col of the current row into c->val, in as many SQLGetData
 * calls as its length needs: a call that truncates (01004) says how much
 * remains, or SQL_NO_TOTAL, and the next call continues where it stopped.
 * Returns 0 with *len and *isnull set, ODBC_E_DRIVER or ODBC_E_NOMEM.
 */
static int odbc_value_read(struct odbc_conn *c, SQLUSMALLINT col, SQLSMALLINT ctype,
                           size_t *len, int *isnull)
{
    /* SQL_C_CHAR pieces each end in a NUL that the next piece overwrites. */
    size_t term = ctype == SQL_C_CHAR ? 1 : 0;
    size_t got = 0, room;
    SQLLEN ind;
    SQLRETURN rc;

    *isnull = 0;
    if (odbc_val_grow(c, ODBC_VALUE_MIN) < 0)
        return ODBC_E_NOMEM;
    for (;;) {
        room = c->val_cap - got - term;
        rc = SQLGetData(c->stmt, col, ctype, c->val + got, (SQLLEN)(room + term), &ind);
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

    if (odbc_val_grow(c, 2 + 2 * n) < 0)
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

/* Append one column value of the current row to the open DataRow. */
static int odbc_value_put(struct odbc_conn *c, SQLUSMALLINT col)
{
    enum odbc_conv conv = c->cols[col - 1].conv;
    size_t len = 0, i;
    int rc, isnull;

    rc = odbc_value_read(c, col, conv == ODBC_CONV_BYTEA ? SQL_C_BINARY : SQL_C_CHAR, &len,
                         &isnull);
    if (rc < 0)
        return rc;
    if (isnull) {
        pgproto_data_row_value(&c->out, NULL, -1);
        return 0;
    }
    switch (conv) {
    case ODBC_CONV_BOOL:
        if (len == 1 && (c->val[0] == '1' || c->val[0] == '0'))
            c->val[0] = c->val[0] == '1' ? 't' : 'f';
        break;
    case ODBC_CONV_BYTEA:
        if (odbc_bytea_encode(c, &len) < 0)
            return ODBC_E_NOMEM;
        break;
    case ODBC_CONV_DATETIME:
        len = odbc_datetime_trim(c->val, len);
        break;
    case ODBC_CONV_GUID:
        for (i = 0; i < len; i++)
            c->val[i] = (char)tolower((unsigned char)c->val[i]);
        break;
    case ODBC_CONV_TEXT:
        break;
    }
    if (len > INT32_MAX)
        return ODBC_E_NOMEM;
    pgproto_data_row_value(&c->out, c->val, (int32_t)len);
    return 0;
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

/* RowDescription from SQLDescribeCol, remembering how to convert each column. */
static int odbc_describe(struct odbc_conn *c, SQLSMALLINT ncols)
{
    SQLCHAR name[ODBC_NAME_MAX];
    SQLSMALLINT namelen, type, digits, nullable;
    SQLULEN size;
    SQLUSMALLINT i;
    int32_t oid;

    if ((size_t)ncols > c->cols_cap) {
        struct odbc_col *cols = realloc(c->cols, (size_t)ncols * sizeof(*cols));

        if (cols == NULL)
            return ODBC_E_NOMEM;
        c->cols = cols;
        c->cols_cap = (size_t)ncols;
    }
    pgproto_row_description_begin(&c->out, ncols);
    for (i = 1; i <= (SQLUSMALLINT)ncols; i++) {
        if (!SQL_SUCCEEDED(SQLDescribeCol(c->stmt, i, name, (SQLSMALLINT)sizeof(name), &namelen,
                                          &type, &size, &digits, &nullable)))
            return ODBC_E_DRIVER;
        oid = odbc_type_oid(type);
        c->cols[i - 1].conv = odbc_type_conv(type);
        pgproto_row_description_field(&c->out, (const char *)name, oid, odbc_type_len(oid), -1, 0);
    }
    pgproto_end(&c->out);
    return 0;
}

/*
 * Fetch every row of the open result set into DataRows.  Returns 0 with
 * *rows set, ODBC_ABANDONED, or ODBC_E_DRIVER/ODBC_E_NOMEM with the rows
 * encoded so far still buffered.
 */
static int odbc_rows_stream(struct odbc_conn *c, SQLSMALLINT ncols, struct odbc_sink *sink,
                            SQLLEN *rows)
{
    SQLRETURN rc;
    SQLUSMALLINT i;
    int err;

    *rows = 0;
    while (SQL_SUCCEEDED(rc = SQLFetch(c->stmt))) {
        pgproto_data_row_begin(&c->out, ncols);
        for (i = 1; i <= (SQLUSMALLINT)ncols; i++) {
            err = odbc_value_put(c, i);
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

static void odbc_tag(char *tag, size_t len, const char *verb, int result_set, SQLLEN rows)
{
    long n = rows < 0 ? 0 : (long)rows;

    if (result_set || strcmp(verb, "SELECT") == 0)
        snprintf(tag, len, "SELECT %ld", n);
    else if (strcmp(verb, "INSERT") == 0)
        snprintf(tag, len, "INSERT 0 %ld", n);
    else if (strcmp(verb, "UPDATE") == 0 || strcmp(verb, "DELETE") == 0 ||
             strcmp(verb, "MERGE") == 0)
        snprintf(tag, len, "%s %ld", verb, n);
    else
        snprintf(tag, len, "%s", verb);
}

int odbc_exec(struct odbc_conn *c, const char *sql, size_t len, const char *verb,
              struct odbc_sink *sink)
{
    SQLSMALLINT ncols = 0;
    SQLLEN rows = 0;
    SQLRETURN rc;
    char tag[ODBC_TAG_MAX];
    int result = ODBC_OK, err;

    if (verb == NULL)
        verb = "";
    pgbuf_reset(&c->out);
    SQLFreeStmt(c->stmt, SQL_CLOSE);
    if (len > INT32_MAX) {
        pgproto_error(&c->out, 'E', "ERROR", "54000", "statement is too long", NULL, NULL);
        return odbc_finish(c, sink, ODBC_ERROR);
    }

    rc = SQLExecDirect(c->stmt, (SQLCHAR *)sql, (SQLINTEGER)len);
    if (rc == SQL_NO_DATA) {
        /* An UPDATE or DELETE that matched nothing. */
        odbc_tag(tag, sizeof(tag), verb, 0, 0);
        pgproto_command_complete(&c->out, tag);
        return odbc_finish(c, sink, ODBC_OK);
    }
    if (!SQL_SUCCEEDED(rc)) {
        result = odbc_error_build(c, SQL_HANDLE_STMT, c->stmt);
        goto done;
    }
    if (rc == SQL_SUCCESS_WITH_INFO)
        odbc_notices_forward(c);

    if (!SQL_SUCCEEDED(SQLNumResultCols(c->stmt, &ncols))) {
        result = odbc_error_build(c, SQL_HANDLE_STMT, c->stmt);
        goto done;
    }
    if (ncols > 0) {
        err = odbc_describe(c, ncols);
        if (err == 0)
            err = odbc_rows_stream(c, ncols, sink, &rows);
        if (err == ODBC_ABANDONED) {
            result = ODBC_ABANDONED;
            goto done;
        }
        if (err == ODBC_E_DRIVER) {
            result = odbc_error_build(c, SQL_HANDLE_STMT, c->stmt);
            goto done;
        }
        if (err == ODBC_E_NOMEM) {
            /* odbc_finish turns this into an ErrorResponse. */
            c->out.oom = 1;
            goto done;
        }
    } else if (!SQL_SUCCEEDED(SQLRowCount(c->stmt, &rows))) {
        rows = 0;
    }
    odbc_tag(tag, sizeof(tag), verb, ncols > 0, rows);
    pgproto_command_complete(&c->out, tag);

done:
    /* Closed at once: an open SQLite cursor holds a lock that blocks writers. */
    SQLFreeStmt(c->stmt, SQL_CLOSE);
    if (result == ODBC_ABANDONED) {
        pgbuf_reset(&c->out);
        odbc_buffers_trim(c);
        return ODBC_ABANDONED;
    }
    return odbc_finish(c, sink, result);
}

static int odbc_autocommit(struct odbc_conn *c, int on)
{
    SQLRETURN rc = SQLSetConnectAttr(c->dbc, SQL_ATTR_AUTOCOMMIT,
                                     (SQLPOINTER)(uintptr_t)(on ? SQL_AUTOCOMMIT_ON
                                                                : SQL_AUTOCOMMIT_OFF),
                                     SQL_IS_UINTEGER);

    return SQL_SUCCEEDED(rc) ? 0 : -1;
}

int odbc_begin(struct odbc_conn *c, const char *tag, struct odbc_sink *sink)
{
    pgbuf_reset(&c->out);
    if (c->in_tx) {
        pgproto_error(&c->out, 'N', "WARNING", "25001",
                      "there is already a transaction in progress", NULL, NULL);
    } else {
        if (odbc_autocommit(c, 0) < 0)
            return odbc_finish(c, sink, odbc_error_build(c, SQL_HANDLE_DBC, c->dbc));
        c->in_tx = 1;
    }
    pgproto_command_complete(&c->out, tag);
    return odbc_finish(c, sink, ODBC_OK);
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
    if (!c->in_tx) {
        pgproto_error(&c->out, 'N', "WARNING", "25P01", "there is no transaction in progress",
                      NULL, NULL);
        pgproto_command_complete(&c->out, tag);
        return odbc_finish(c, sink, ODBC_OK);
    }
    SQLFreeStmt(c->stmt, SQL_CLOSE);
    if (!SQL_SUCCEEDED(SQLEndTran(SQL_HANDLE_DBC, c->dbc, how))) {
        result = odbc_error_build(c, SQL_HANDLE_DBC, c->dbc);
        if (result == ODBC_ERROR && how == SQL_COMMIT)
            SQLEndTran(SQL_HANDLE_DBC, c->dbc, SQL_ROLLBACK);
    }
    c->in_tx = 0;
    if (result != ODBC_BROKEN && odbc_autocommit(c, 1) < 0 && result == ODBC_OK)
        result = odbc_error_build(c, SQL_HANDLE_DBC, c->dbc);
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

    SQLFreeStmt(c->stmt, SQL_CLOSE);
    if (c->in_tx) {
        if (!SQL_SUCCEEDED(SQLEndTran(SQL_HANDLE_DBC, c->dbc, SQL_ROLLBACK)))
            rc = -1;
        c->in_tx = 0;
    }
    if (odbc_autocommit(c, 1) < 0)
        rc = -1;
    pgbuf_reset(&c->out);
    return rc;
}

int odbc_in_transaction(const struct odbc_conn *c)
{
    return c->in_tx;
}

void odbc_cancel(struct odbc_conn *c)
{
    SQLCancel(c->stmt);
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
