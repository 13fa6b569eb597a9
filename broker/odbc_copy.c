/*
 * odbc_copy: PostgreSQL's COPY over an ODBC connection.
 *
 * COPY ... TO STDOUT runs the query (SELECT of the table's columns, or the
 * query written in parentheses) and encodes each row as one CopyData
 * message in text or CSV format, streamed like any result.
 *
 * COPY ... FROM STDIN learns the target columns and their types from
 * "SELECT cols FROM table WHERE 1=0", prepares one INSERT with a marker
 * per column, and loads the decoded rows through ODBC parameter arrays
 * (SQL_ATTR_PARAMSET_SIZE), a batch at a time.  Outside a transaction the
 * whole COPY is one (autocommit off, then commit), so a bad row leaves
 * nothing behind, as in PostgreSQL; inside one, an error fails the
 * transaction.  The first error ends the COPY at once: the executor drops
 * the CopyData that follows it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/odbc_int.h"
#include "common/copy.h"

#define COPY_BATCH_ROWS 1000
/* pgiris's savepoint around a batch: a name no client is likely to give its own (quoted, with a space). */
#define COPY_SAVEPOINT "\"pgiris copy\""
#define COPY_MULTI_MARKERS 30000    /* markers in one multi-row INSERT (ODBC numbers them in 16 bits) */
#define COPY_BATCH_BYTES (1024 * 1024)
#define COPY_WHERE_MAX 300

/* The rows of one batch, as the decoder gave them, and the arrays they are bound from. */
struct copy_batch {
    struct odbc_conn *c;
    SQLHSTMT h;                 /* INSERT of one row (with parameter arrays where they work) */
    SQLHSTMT hm;                /* INSERT of max_rows rows in one VALUES list, or NULL */
    SQLHSTMT hlast;             /* the same for a shorter last batch */
    int hlast_rows;
    const char *insert_head;    /* "INSERT INTO t (cols) [OVERRIDING ...] VALUES " for the multi-row forms */
    int ncols;
    int max_rows;
    const char *table;          /* for CONTEXT lines */
    /* per column */
    SQLSMALLINT *sqltype;
    SQLULEN *colsize;
    SQLSMALLINT *digits;
    SQLLEN *width;              /* bytes per value in colbuf, this batch */
    SQLULEN *size;              /* the column size bound, this batch */
    unsigned char *kind;        /* COPY_KIND_* */
    char **colbuf;
    size_t *colbuf_cap;
    SQLLEN **ind;
    /* per row and column */
    struct pgbuf data;
    size_t *off;
    SQLLEN *len;
    uint64_t *lines;
    SQLUSMALLINT *status;
    int nrows;
    uint64_t total;
    int result;                 /* why copy_batch_row stopped the decoder */
    int own_tx;                 /* the COPY runs in a transaction of its own, which a failure ends whole */
};

/* What undoes a failed batch before its rows run again one at a time (copy_batch_blame). */
enum copy_undo {
    COPY_UNDO_SAVEPOINT,        /* ROLLBACK TO the savepoint made before the batch */
    COPY_UNDO_ALL,              /* roll back the COPY's own transaction: it fails whole anyway */
};

enum { COPY_KIND_TEXT, COPY_KIND_BYTEA, COPY_KIND_BOOL };

static void copy_put_str(struct pgbuf *q, const char *s)
{
    pgproto_put_bytes(q, s, strlen(s));
}

/*
 * End statement text built in q with a NUL that q->len does not count:
 * drivers read SQL up to a NUL whatever length they are given (psqlODBC).
 */
static void copy_terminate(struct pgbuf *q)
{
    pgproto_put_bytes(q, "", 1);
    if (!q->oom)
        q->len--;
}

static void copy_batch_free(struct copy_batch *b)
{
    int i;

    for (i = 0; i < b->ncols; i++) {
        if (b->colbuf != NULL)
            free(b->colbuf[i]);
        if (b->ind != NULL)
            free(b->ind[i]);
    }
    free(b->sqltype);
    free(b->colsize);
    free(b->digits);
    free(b->width);
    free(b->size);
    free(b->kind);
    free(b->colbuf);
    free(b->colbuf_cap);
    free(b->ind);
    free(b->off);
    free(b->len);
    free(b->lines);
    free(b->status);
    pgbuf_free(&b->data);
}

static int copy_batch_alloc(struct copy_batch *b, int ncols, int max_rows)
{
    size_t cells = (size_t)ncols * (size_t)max_rows;

    b->ncols = ncols;
    b->max_rows = max_rows;
    pgbuf_init(&b->data);
    b->sqltype = calloc((size_t)ncols, sizeof(*b->sqltype));
    b->colsize = calloc((size_t)ncols, sizeof(*b->colsize));
    b->digits = calloc((size_t)ncols, sizeof(*b->digits));
    b->width = calloc((size_t)ncols, sizeof(*b->width));
    b->size = calloc((size_t)ncols, sizeof(*b->size));
    b->kind = calloc((size_t)ncols, sizeof(*b->kind));
    b->colbuf = calloc((size_t)ncols, sizeof(*b->colbuf));
    b->colbuf_cap = calloc((size_t)ncols, sizeof(*b->colbuf_cap));
    b->ind = calloc((size_t)ncols, sizeof(*b->ind));
    b->off = calloc(cells, sizeof(*b->off));
    b->len = calloc(cells, sizeof(*b->len));
    b->lines = calloc((size_t)max_rows, sizeof(*b->lines));
    b->status = calloc((size_t)max_rows, sizeof(*b->status));
    if (!b->sqltype || !b->colsize || !b->digits || !b->width || !b->size || !b->kind || !b->colbuf || !b->colbuf_cap ||
        !b->ind || !b->off || !b->len || !b->lines || !b->status)
        return -1;
    for (int i = 0; i < ncols; i++)
        if ((b->ind[i] = calloc((size_t)max_rows, sizeof(SQLLEN))) == NULL)
            return -1;
    return 0;
}

/* The CONTEXT line of an error at a line of the data. */
static void copy_where(char *buf, size_t len, const char *table, uint64_t line)
{
    snprintf(buf, len, "COPY %s, line %llu", table, (unsigned long long)line);
}

/*
 * Bind row r of the batch to h's markers first + 1 to first + ncols: an
 * array from that row on when h's SQL_ATTR_PARAMSET_SIZE is more than 1.
 */
static int copy_bind_row(struct copy_batch *b, SQLHSTMT h, int r, int first)
{
    for (int i = 0; i < b->ncols; i++)
        if (!SQL_SUCCEEDED(SQLBindParameter(h, (SQLUSMALLINT)(first + i + 1), SQL_PARAM_INPUT,
                                            b->kind[i] == COPY_KIND_BYTEA ? SQL_C_BINARY : SQL_C_CHAR,
                                            b->sqltype[i], b->size[i], b->digits[i],
                                            b->colbuf[i] + (size_t)b->width[i] * (size_t)r, b->width[i],
                                            &b->ind[i][r])))
            return -1;
    return 0;
}

/*
 * The batch again, one row at a time, after the whole batch failed and was
 * taken back: 1 when a row failed and its error (naming its line) is built,
 * 0 when nothing useful came of it (the transaction was gone after all, or
 * every row went in alone).
 */
static int copy_batch_rows(struct copy_batch *b)
{
    struct odbc_conn *c = b->c;
    char where[COPY_WHERE_MAX];
    int r;

    if (!SQL_SUCCEEDED(SQLSetStmtAttr(b->h, SQL_ATTR_PARAMSET_SIZE, (SQLPOINTER)(uintptr_t)1, 0)))
        return 0;
    for (r = 0; r < b->nrows; r++) {
        if (copy_bind_row(b, b->h, r, 0) < 0)
            return 0;
        if (SQL_SUCCEEDED(SQLExecute(b->h))) {
            SQLFreeStmt(b->h, SQL_CLOSE);
            continue;
        }
        size_t at = c->out.len;
        copy_where(where, sizeof(where), b->table, b->lines[r]);
        c->error_where = where;
        int result = odbc_error_build(c, SQL_HANDLE_STMT, b->h);
        c->error_where = NULL;
        /* An aborted transaction says nothing about the row. */
        if (result != ODBC_ERROR || memmem(c->out.data + at, c->out.len - at, "C25P02", 7) != NULL) {
            c->out.len = at;
            return 0;
        }
        return 1;
    }
    return 0;
}

/*
 * After a batch failed, its error built in c->out from mark, and was taken
 * back as undo says: the rows again one at a time, so that the failing
 * row's own error, naming its line, replaces the batch's.  When that comes
 * to nothing (after COPY_UNDO_ALL a row may clash only with an earlier
 * batch's), the batch's error stands.
 */
static void copy_batch_blame(struct copy_batch *b, size_t mark, enum copy_undo undo)
{
    struct odbc_conn *c = b->c;
    size_t after = c->out.len;
    int found = !(undo == COPY_UNDO_SAVEPOINT && odbc_exec_quiet(c, "ROLLBACK TO SAVEPOINT " COPY_SAVEPOINT) != 0) &&
                !(undo == COPY_UNDO_ALL && odbc_tx_restart(c) != 0) &&
                copy_batch_rows(b) == 1;

    /* The savepoint goes, whatever came of it: nothing of the client's may land on it. */
    if (undo == COPY_UNDO_SAVEPOINT) {
        size_t at = c->out.len;
        if (odbc_exec_quiet(c, "ROLLBACK TO SAVEPOINT " COPY_SAVEPOINT) == 0)
            odbc_exec_quiet(c, "RELEASE SAVEPOINT " COPY_SAVEPOINT);
        c->out.len = at;
    }
    if (!found) {
        c->out.len = after;     /* without a refused rollback's error */
        return;
    }
    memmove(c->out.data + mark, c->out.data + after, c->out.len - after);
    c->out.len = mark + (c->out.len - after);
}

/*
 * A prepared INSERT of rows rows in one VALUES list.  SQL_NULL_HSTMT when
 * it cannot be made, with *err: the driver's error, already put in c->out
 * with its own words, or 0 when memory ran short.
 */
static SQLHSTMT copy_prepare_multi(struct copy_batch *b, int rows, int *err)
{
    struct pgbuf q;
    SQLHSTMT h = SQL_NULL_HSTMT;

    *err = 0;
    pgbuf_init(&q);
    copy_put_str(&q, b->insert_head);
    for (int r = 0; r < rows; r++) {
        copy_put_str(&q, r ? ", (" : "(");
        for (int i = 0; i < b->ncols; i++)
            copy_put_str(&q, i ? ", ?" : "?");
        copy_put_str(&q, ")");
    }
    copy_terminate(&q);
    if (q.oom) {
        h = SQL_NULL_HSTMT;
    } else if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, b->c->dbc, &h))) {
        h = SQL_NULL_HSTMT;
        *err = odbc_error_build(b->c, SQL_HANDLE_DBC, b->c->dbc);
    } else if (!SQL_SUCCEEDED(SQLPrepare(h, (SQLCHAR *)q.data, (SQLINTEGER)q.len))) {
        *err = odbc_error_build(b->c, SQL_HANDLE_STMT, h);
        SQLFreeHandle(SQL_HANDLE_STMT, h);
        h = SQL_NULL_HSTMT;
    }
    pgbuf_free(&q);
    return h;
}

/*
 * The batch as one multi-row INSERT: one round trip for the rows that
 * psqlODBC would send one Bind/Execute each for as a parameter array.
 */
static int copy_batch_multi(struct copy_batch *b)
{
    struct odbc_conn *c = b->c;
    SQLHSTMT h;
    int r, err = 0;

    if (b->nrows == b->max_rows) {
        if (b->hm == SQL_NULL_HSTMT)
            b->hm = copy_prepare_multi(b, b->nrows, &err);
        h = b->hm;
    } else {
        if (b->hlast != SQL_NULL_HSTMT && b->hlast_rows != b->nrows) {
            SQLFreeHandle(SQL_HANDLE_STMT, b->hlast);
            b->hlast = SQL_NULL_HSTMT;
        }
        if (b->hlast == SQL_NULL_HSTMT) {
            b->hlast = copy_prepare_multi(b, b->nrows, &err);
            b->hlast_rows = b->nrows;
        }
        h = b->hlast;
    }
    if (h == SQL_NULL_HSTMT)
        return err ? err : (odbc_error_put(c, "53200", NULL, "out of memory preparing the COPY's INSERT"), ODBC_ERROR);
    for (r = 0; r < b->nrows; r++)
        if (copy_bind_row(b, h, r, r * b->ncols) < 0)
            return odbc_error_build(c, SQL_HANDLE_STMT, h);
    /*
     * A failed batch aborts the transaction (psqlODBC takes nothing back
     * with Protocol=7.4-0).  For the line to blame its rows run again one
     * at a time: in the COPY's own transaction after rolling all of it back
     * (the COPY fails whole anyway), in the client's after a savepoint made
     * before the batch (two more round trips a batch, only there).
     */
    size_t before = c->out.len;
    int savepoint = !b->own_tx && odbc_exec_quiet(c, "SAVEPOINT " COPY_SAVEPOINT) == 0;
    c->out.len = before;    /* a savepoint refused only costs the line */
    odbc_active_set(c, h);
    SQLRETURN rc = SQLExecute(h);
    odbc_active_set(c, b->h);
    if (!SQL_SUCCEEDED(rc)) {
        size_t mark = c->out.len;
        int result = odbc_error_build(c, SQL_HANDLE_STMT, h);
        if (result == ODBC_ERROR && (savepoint || b->own_tx))
            copy_batch_blame(b, mark, savepoint ? COPY_UNDO_SAVEPOINT : COPY_UNDO_ALL);
        return result;
    }
    if (savepoint && odbc_exec_quiet(c, "RELEASE SAVEPOINT " COPY_SAVEPOINT) != 0)
        return ODBC_ERROR;
    SQLFreeStmt(h, SQL_CLOSE);
    b->total += (uint64_t)b->nrows;
    b->nrows = 0;
    pgbuf_reset(&b->data);
    return 0;
}

/* Insert the batch's rows with one SQLExecute.  0, or an odbc_result with the ErrorResponse built. */
static int copy_batch_flush(struct copy_batch *b)
{
    struct odbc_conn *c = b->c;
    SQLULEN processed = 0;
    SQLRETURN rc;
    int i, r, bad = -1;

    if (b->nrows == 0)
        return 0;
    if (odbc_cancel_check(c) < 0)
        return ODBC_ERROR;
    for (i = 0; i < b->ncols; i++) {
        size_t width = 1;
        for (r = 0; r < b->nrows; r++) {
            SQLLEN n = b->len[(size_t)r * b->ncols + i];
            if (n != SQL_NULL_DATA && (size_t)n + 1 > width)
                width = (size_t)n + 1;
        }
        if (width * (size_t)b->nrows > b->colbuf_cap[i]) {
            char *p = realloc(b->colbuf[i], width * (size_t)b->nrows);
            if (p == NULL)
                return odbc_error_put(c, "53200", NULL, "out of memory"), ODBC_ERROR;
            b->colbuf[i] = p;
            b->colbuf_cap[i] = width * (size_t)b->nrows;
        }
        for (r = 0; r < b->nrows; r++) {
            size_t cell = (size_t)r * b->ncols + i;
            SQLLEN n = b->len[cell];
            char *dst = b->colbuf[i] + width * (size_t)r;
            b->ind[i][r] = n;
            if (n != SQL_NULL_DATA) {
                if (n > 0)      /* a batch of empty values has no data buffer at all */
                    memcpy(dst, b->data.data + b->off[cell], (size_t)n);
                dst[n] = '\0';
            }
        }
        /* A character column's declared size must hold the longest value bound to it. */
        SQLULEN size = b->colsize[i];
        if (b->kind[i] != COPY_KIND_BOOL && size < width - 1)
            size = width - 1;
        if (size == 0)
            size = 1;
        b->width[i] = (SQLLEN)width;
        b->size[i] = size;
    }
    /* PostgreSQL's batches go as one multi-row INSERT, which binds its own handle. */
    if (b->insert_head != NULL)
        return copy_batch_multi(b);
    if (copy_bind_row(b, b->h, 0, 0) < 0)
        return odbc_error_build(c, SQL_HANDLE_STMT, b->h);
    for (r = 0; r < b->nrows; r++)
        b->status[r] = SQL_PARAM_UNUSED;
    if (b->max_rows > 1 &&
        (!SQL_SUCCEEDED(SQLSetStmtAttr(b->h, SQL_ATTR_PARAMSET_SIZE, (SQLPOINTER)(uintptr_t)b->nrows, 0)) ||
         !SQL_SUCCEEDED(SQLSetStmtAttr(b->h, SQL_ATTR_PARAM_STATUS_PTR, b->status, 0)) ||
         !SQL_SUCCEEDED(SQLSetStmtAttr(b->h, SQL_ATTR_PARAMS_PROCESSED_PTR, &processed, 0))))
        return odbc_error_build(c, SQL_HANDLE_STMT, b->h);
    /*
     * A failed batch is gone through again row by row for the line to
     * blame, taken back to a savepoint first.  PostgreSQL's batches of rows
     * are copy_batch_multi's, so none comes here.
     */
    size_t before = c->out.len;
    int savepoint = b->max_rows > 1 && b->nrows > 1 && c->dialect == CFG_DIALECT_SQLITE &&
                    odbc_exec_quiet(c, "SAVEPOINT " COPY_SAVEPOINT) == 0;
    c->out.len = before;    /* a savepoint refused only costs the retry */
    rc = SQLExecute(b->h);
    if (SQL_SUCCEEDED(rc) && b->max_rows > 1)
        for (r = 0; r < b->nrows && bad < 0; r++)
            if (b->status[r] == SQL_PARAM_ERROR)
                bad = r;
    if (!SQL_SUCCEEDED(rc) || bad >= 0) {
        char where[COPY_WHERE_MAX];
        int result;
        size_t mark = c->out.len;
        /* Without a row status, the batch's first line is the best we know... */
        copy_where(where, sizeof(where), b->table, b->lines[bad >= 0 ? bad : 0]);
        c->error_where = b->nrows == 1 || bad >= 0 ? where : NULL;
        result = odbc_error_build(c, SQL_HANDLE_STMT, b->h);
        c->error_where = NULL;
        /* ... unless the batch can be taken back and run again a row at a time. */
        if (result == ODBC_ERROR && savepoint)
            copy_batch_blame(b, mark, COPY_UNDO_SAVEPOINT);
        return result;
    }
    if (savepoint && odbc_exec_quiet(c, "RELEASE SAVEPOINT " COPY_SAVEPOINT) != 0)
        return ODBC_ERROR;
    SQLFreeStmt(b->h, SQL_CLOSE);
    b->total += (uint64_t)b->nrows;
    b->nrows = 0;
    pgbuf_reset(&b->data);
    return 0;
}

/*
 * The decoder's row callback: keep the row in the batch, flush a full
 * batch.  On failure the ErrorResponse is built, b->result says what
 * happened, and 1 stops the decoder.
 */
static int copy_batch_row(void *arg, char **fields, size_t *lengths, int nfields, uint64_t lineno)
{
    struct copy_batch *b = arg;
    struct odbc_conn *c = b->c;
    size_t row = (size_t)b->nrows * b->ncols;
    int i;

    for (i = 0; i < nfields; i++) {
        const char *v = fields[i];
        size_t n = lengths[i];
        b->off[row + i] = b->data.len;
        if (v == NULL) {
            b->len[row + i] = SQL_NULL_DATA;
            continue;
        }
        if (b->kind[i] == COPY_KIND_BYTEA) {
            const char *msg = odbc_bytea_decode(&b->data, v, n);
            if (msg != NULL) {
                char where[COPY_WHERE_MAX];
                copy_where(where, sizeof(where), b->table, lineno);
                pgproto_error_where(&c->out, 'E', "ERROR", "22P02", msg, NULL, NULL, where);
                b->result = ODBC_ERROR;
                return 1;
            }
            b->len[row + i] = (SQLLEN)(b->data.len - b->off[row + i]);
            continue;
        }
        /* "t"/"f" and boolin's other spellings as "1"/"0", which every backend takes for a bit. */
        if (b->kind[i] == COPY_KIND_BOOL) {
            int bit = pgproto_bool_parse(v, n);
            if (bit >= 0) {
                v = bit ? "1" : "0";
                n = 1;
            }
        }
        pgproto_put_bytes(&b->data, v, n);
        b->len[row + i] = (SQLLEN)n;
    }
    if (b->data.oom) {
        odbc_error_put(c, "53200", NULL, "out of memory");
        b->result = ODBC_ERROR;
        return 1;
    }
    b->lines[b->nrows] = lineno;
    b->nrows++;
    if (b->nrows == b->max_rows || b->data.len >= COPY_BATCH_BYTES) {
        b->result = copy_batch_flush(b);
        return b->result != 0;
    }
    return 0;
}

/* The decoder's error as an ErrorResponse. */
static int copy_decoder_fail(struct odbc_conn *c, struct copy_decoder *d)
{
    char state[6];
    const char *where = NULL;
    const char *msg = copy_decoder_error(d, state, &where);

    pgproto_error_where(&c->out, 'E', "ERROR", msg ? state : "22P04", msg ? msg : "bad COPY data",
                        NULL, copy_decoder_hint(d), where);
    return ODBC_ERROR;
}

/* "col1, col2" from the COPY's column list, or "*". */
static int copy_select_list(struct pgbuf *q, const struct copy_spec *spec)
{
    int i;

    if (spec->ncolumns == 0) {
        pgproto_put_bytes(q, "*", 1);
        return 0;
    }
    for (i = 0; i < spec->ncolumns; i++) {
        if (i > 0)
            pgproto_put_bytes(q, ", ", 2);
        pgproto_put_bytes(q, spec->columns[i], strlen(spec->columns[i]));
    }
    return 0;
}


/* CopyInResponse or CopyOutResponse: text format for every column. */
static void copy_response_put(struct odbc_conn *c, char type, int ncols)
{
    pgproto_begin(&c->out, type);
    pgproto_put_u8(&c->out, 0);
    pgproto_put_i16(&c->out, (int16_t)ncols);
    for (int i = 0; i < ncols; i++)
        pgproto_put_i16(&c->out, 0);
    pgproto_end(&c->out);
}

/* The names of cols as an array into cols->names, for copy_spec_bind_columns. */
static const char **copy_col_names(const struct odbc_cols *cols)
{
    const char **names = calloc((size_t)(cols->n > 0 ? cols->n : 1), sizeof(*names));

    if (names != NULL)
        for (int i = 0; i < cols->n; i++)
            names[i] = odbc_col_name(cols, i);
    return names;
}

static int copy_bind_names(struct odbc_conn *c, struct copy_spec *spec, const struct odbc_cols *cols)
{
    char state[6], msg[300];
    const char **names;
    int rc;

    if (spec->ncolumns > 0)
        return 0;
    names = copy_col_names(cols);
    if (names == NULL)
        return odbc_error_put(c, "53200", NULL, "out of memory");
    rc = copy_spec_bind_columns(spec, names, cols->n, state, msg, sizeof(msg));
    free(names);
    if (rc < 0)
        return odbc_error_put(c, state, NULL, "%s", msg);
    return 0;
}

static int copy_to(struct odbc_conn *c, struct copy_spec *spec, struct odbc_sink *sink)
{
    struct pgbuf q, row;
    struct odbc_cols cols = { 0 };
    SQLSMALLINT ncols = 0;
    SQLRETURN rc;
    const char **values = NULL;
    size_t *lens = NULL, *offs = NULL;
    uint64_t nrows = 0;
    char tag[ODBC_TAG_MAX];
    int result = ODBC_OK, err, early = 0, i;

    pgbuf_init(&q);
    pgbuf_init(&row);
    if (spec->query != NULL) {
        copy_put_str(&q, spec->query);
    } else {
        copy_put_str(&q, "SELECT ");
        copy_select_list(&q, spec);
        copy_put_str(&q, " FROM ");
        copy_put_str(&q, spec->table);
    }
    copy_terminate(&q);
    if (q.oom || odbc_cancel_check(c) < 0) {
        if (q.oom)
            odbc_error_put(c, "53200", NULL, "out of memory");
        result = ODBC_ERROR;
        goto out;
    }
    /* A COPY TO is a large result until proven otherwise: never read whole. */
    odbc_cursor_require(c);
    rc = SQLExecDirect(c->stmt, (SQLCHAR *)q.data, (SQLINTEGER)q.len);
    if (!SQL_SUCCEEDED(rc) && rc != SQL_NO_DATA) {
        result = odbc_error_build(c, SQL_HANDLE_STMT, c->stmt);
        goto done;
    }
    if (!SQL_SUCCEEDED(SQLNumResultCols(c->stmt, &ncols))) {
        result = odbc_error_build(c, SQL_HANDLE_STMT, c->stmt);
        goto done;
    }
    if (ncols == 0) {
        odbc_error_put(c, "0A000", NULL, "COPY query must have a result");
        result = ODBC_ERROR;
        goto done;
    }
    err = odbc_cols_load(c->stmt, ncols, &cols);
    if (err == ODBC_E_DRIVER) {
        result = odbc_error_build(c, SQL_HANDLE_STMT, c->stmt);
        goto done;
    }
    values = calloc((size_t)ncols, sizeof(*values));
    lens = calloc((size_t)ncols, sizeof(*lens));
    offs = calloc((size_t)ncols, sizeof(*offs));
    if (err < 0 || values == NULL || lens == NULL || offs == NULL) {
        odbc_error_put(c, "53200", NULL, "out of memory");
        result = ODBC_ERROR;
        goto done;
    }
    if (copy_bind_names(c, spec, &cols) < 0) {
        result = ODBC_ERROR;
        goto done;
    }
    copy_response_put(c, 'H', ncols);
    if (spec->header) {
        const char **names = copy_col_names(&cols);
        pgproto_begin(&c->out, 'd');
        if (names == NULL || copy_encode_header(spec, &c->out, names, ncols) < 0)
            c->out.oom = 1;
        free(names);
        pgproto_end(&c->out);
    }
    odbc_fetch_start(c, &cols, 1);
    for (;;) {
        if (odbc_cancel_check(c) < 0) {
            result = ODBC_ERROR;
            early = 1;
            break;
        }
        rc = odbc_fetch(c, c->stmt);
        if (rc == SQL_NO_DATA)
            break;
        if (!SQL_SUCCEEDED(rc)) {
            result = odbc_error_build(c, SQL_HANDLE_STMT, c->stmt);
            early = 1;
            break;
        }
        pgbuf_reset(&row);
        err = 0;
        for (i = 0; i < ncols; i++) {
            size_t n = 0;
            int isnull = 0;
            err = odbc_value_text(c, c->stmt, &cols, (SQLUSMALLINT)(i + 1), &n, &isnull);
            if (err < 0)
                break;
            offs[i] = isnull ? SIZE_MAX : row.len;
            lens[i] = n;
            if (!isnull)
                pgproto_put_bytes(&row, c->val, n);
        }
        if (err < 0 || row.oom) {
            result = err == ODBC_E_DRIVER ? odbc_error_build(c, SQL_HANDLE_STMT, c->stmt)
                                          : (odbc_error_put(c, "53200", NULL, "out of memory"), ODBC_ERROR);
            early = 1;
            break;
        }
        for (i = 0; i < ncols; i++)
            values[i] = offs[i] == SIZE_MAX ? NULL : (const char *)row.data + offs[i];
        pgproto_begin(&c->out, 'd');
        if (copy_encode_row(spec, &c->out, values, lens, ncols) < 0)
            c->out.oom = 1;
        pgproto_end(&c->out);
        nrows++;
        if (c->out.oom)
            break;
        if (c->out.len >= ODBC_FLUSH_BYTES && odbc_flush(c, sink) < 0) {
            result = ODBC_ABANDONED;
            early = 1;
            break;
        }
    }
    if (result == ODBC_OK && !c->out.oom) {
        pgproto_begin(&c->out, 'c');
        pgproto_end(&c->out);
        snprintf(tag, sizeof(tag), "COPY %llu", (unsigned long long)nrows);
        pgproto_command_complete(&c->out, tag);
    }

done:
    odbc_fetch_end(c, c->stmt);
    SQLFreeStmt(c->stmt, SQL_CLOSE);
    if (early && odbc_early_close_locks(c))
        odbc_stmt_renew(c);
out:
    free(values);
    free(lens);
    free(offs);
    free(cols.v);
    free(cols.names);
    pgbuf_free(&q);
    pgbuf_free(&row);
    if (result == ODBC_ABANDONED)
        return odbc_abandon(c);
    return odbc_finish(c, sink, result);
}

/*
 * Learn the target columns: their number, names and types.  0, or an
 * odbc_result with the ErrorResponse built.
 */
static int copy_describe_target(struct odbc_conn *c, const struct copy_spec *spec, struct copy_batch *b,
                                struct odbc_cols *cols, int max_rows)
{
    struct pgbuf q;
    SQLSMALLINT ncols = 0, type, digits, nullable;
    SQLULEN size;
    SQLCHAR name[ODBC_NAME_MAX];
    SQLSMALLINT namelen;
    int result = 0, err, i;

    pgbuf_init(&q);
    copy_put_str(&q, "SELECT ");
    copy_select_list(&q, spec);
    copy_put_str(&q, " FROM ");
    copy_put_str(&q, spec->table);
    copy_put_str(&q, " WHERE 1=0");
    copy_terminate(&q);
    if (q.oom) {
        pgbuf_free(&q);
        odbc_error_put(c, "53200", NULL, "out of memory");
        return ODBC_ERROR;
    }
    if (!SQL_SUCCEEDED(SQLExecDirect(c->stmt, (SQLCHAR *)q.data, (SQLINTEGER)q.len)) ||
        !SQL_SUCCEEDED(SQLNumResultCols(c->stmt, &ncols))) {
        result = odbc_error_build(c, SQL_HANDLE_STMT, c->stmt);
        goto out;
    }
    err = odbc_cols_load(c->stmt, ncols, cols);
    if (err == ODBC_E_DRIVER) {
        result = odbc_error_build(c, SQL_HANDLE_STMT, c->stmt);
        goto out;
    }
    if (err < 0 || ncols == 0 || copy_batch_alloc(b, ncols, max_rows) < 0) {
        odbc_error_put(c, "53200", NULL, ncols == 0 ? "COPY target has no columns" : "out of memory");
        result = ODBC_ERROR;
        goto out;
    }
    for (i = 0; i < ncols; i++) {
        if (!SQL_SUCCEEDED(SQLDescribeCol(c->stmt, (SQLUSMALLINT)(i + 1), name, sizeof(name), &namelen,
                                          &type, &size, &digits, &nullable))) {
            result = odbc_error_build(c, SQL_HANDLE_STMT, c->stmt);
            goto out;
        }
        b->sqltype[i] = type;
        /*
         * psqlODBC parses a date/time parameter and prints it again: offsets
         * dropped, infinity refused.  As text, the server's input function reads it.
         */
        if (c->dialect == CFG_DIALECT_POSTGRES &&
            (type == SQL_TYPE_DATE || type == SQL_TYPE_TIME || type == SQL_TYPE_TIMESTAMP))
            b->sqltype[i] = SQL_VARCHAR;
        b->colsize[i] = size;
        b->digits[i] = digits;
        b->kind[i] = cols->v[i].conv == ODBC_CONV_BYTEA ? COPY_KIND_BYTEA
                     : cols->v[i].conv == ODBC_CONV_BOOL ? COPY_KIND_BOOL
                                                         : COPY_KIND_TEXT;
    }
out:
    SQLFreeStmt(c->stmt, SQL_CLOSE);
    pgbuf_free(&q);
    return result;
}

static int copy_from(struct odbc_conn *c, struct copy_spec *spec, struct odbc_copy_source *src,
                     struct odbc_sink *sink)
{
    struct copy_batch b;
    struct odbc_cols cols = { 0 };
    struct copy_decoder *dec = NULL;
    struct pgbuf ins;
    SQLHSTMT h = SQL_NULL_HSTMT;
    int own_tx = !c->in_tx, result = ODBC_OK, rc, i;
    char tag[ODBC_TAG_MAX], *head = NULL;
    size_t head_len;

    memset(&b, 0, sizeof(b));
    pgbuf_init(&ins);
    b.c = c;
    b.table = spec->table;
    result = copy_describe_target(c, spec, &b, &cols, COPY_BATCH_ROWS);
    if (result != 0)
        goto out;
    if (copy_bind_names(c, spec, &cols) < 0) {
        result = ODBC_ERROR;
        goto out;
    }
    copy_put_str(&ins, "INSERT INTO ");
    copy_put_str(&ins, spec->table);
    if (spec->ncolumns > 0) {
        copy_put_str(&ins, " (");
        copy_select_list(&ins, spec);
        copy_put_str(&ins, ")");
    }
    /* PostgreSQL's COPY writes a GENERATED ALWAYS identity column from the data, as an INSERT does only so */
    copy_put_str(&ins, c->dialect == CFG_DIALECT_POSTGRES ? " OVERRIDING SYSTEM VALUE VALUES (" : " VALUES (");
    for (i = 0; i < b.ncols; i++)
        copy_put_str(&ins, i ? ", ?" : "?");
    copy_put_str(&ins, ")");
    copy_terminate(&ins);
    dec = copy_decoder_new(spec, b.ncols);
    if (ins.oom || dec == NULL) {
        odbc_error_put(c, "53200", NULL, "out of memory");
        result = ODBC_ERROR;
        goto out;
    }
    if (own_tx && (result = odbc_tx_open(c)) != 0) {
        own_tx = 0;
        goto out;
    }
    b.own_tx = own_tx;
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, c->dbc, &h))) {
        h = SQL_NULL_HSTMT;
        result = odbc_error_build(c, SQL_HANDLE_DBC, c->dbc);
        goto out;
    }
    b.h = h;
    if (!SQL_SUCCEEDED(SQLPrepare(h, (SQLCHAR *)ins.data, (SQLINTEGER)ins.len))) {
        result = odbc_error_build(c, SQL_HANDLE_STMT, h);
        goto out;
    }
    /*
     * Drivers without parameter arrays load a row at a time; so does
     * SQLite's for blobs, whose arrays it reads with the first row's length.
     */
    int blobs = 0;
    for (i = 0; i < b.ncols; i++)
        blobs |= b.kind[i] == COPY_KIND_BYTEA;
    if (c->dialect == CFG_DIALECT_POSTGRES) {
        /* psqlODBC sends a parameter array as a Bind/Execute per row: a VALUES list of many is far cheaper. */
        head_len = ins.len - (size_t)b.ncols * 3;     /* without "(?, ?, ...)" */
        b.max_rows = COPY_MULTI_MARKERS / b.ncols < COPY_BATCH_ROWS ? COPY_MULTI_MARKERS / b.ncols
                                                                    : COPY_BATCH_ROWS;
        if (b.max_rows < 2)
            b.max_rows = 1;
        else if ((head = strndup((const char *)ins.data, head_len)) != NULL)
            b.insert_head = head;
        else
            b.max_rows = 1;
    } else if ((blobs && c->dialect == CFG_DIALECT_SQLITE) ||
        !SQL_SUCCEEDED(SQLSetStmtAttr(h, SQL_ATTR_PARAM_BIND_TYPE, (SQLPOINTER)SQL_PARAM_BIND_BY_COLUMN, 0)) ||
        !SQL_SUCCEEDED(SQLSetStmtAttr(h, SQL_ATTR_PARAMSET_SIZE, (SQLPOINTER)(uintptr_t)COPY_BATCH_ROWS, 0))) {
        b.max_rows = 1;
    }
    odbc_active_set(c, h);

    copy_response_put(c, 'G', b.ncols);
    if (odbc_flush(c, sink) < 0) {
        result = ODBC_ABANDONED;
        goto out;
    }
    for (;;) {
        char type;
        const uint8_t *body;
        size_t len;

        if (src->next(src->arg, &type, &body, &len) < 0) {
            result = ODBC_ABANDONED;
            break;
        }
        if (odbc_cancel_check(c) < 0) {
            result = ODBC_ERROR;
            break;
        }
        if (type == 'd') {
            rc = copy_decoder_feed(dec, (const char *)body, len, copy_batch_row, &b);
            if (rc == -1)
                result = copy_decoder_fail(c, dec);
            else if (rc != 0)
                result = b.result;
            if (result != ODBC_OK)
                break;
            continue;
        }
        if (type == 'c') {
            rc = copy_decoder_finish(dec, copy_batch_row, &b);
            if (rc == -1)
                result = copy_decoder_fail(c, dec);
            else if (rc != 0)
                result = b.result;
            else
                result = copy_batch_flush(&b);
            break;
        }
        if (type == 'f') {
            char msg[300];
            snprintf(msg, sizeof(msg), "COPY from stdin failed: %.*s", (int)strnlen((const char *)body, len),
                     (const char *)body);
            pgproto_error(&c->out, 'E', "ERROR", "57014", msg, NULL, NULL);
            result = ODBC_ERROR;
            break;
        }
        odbc_error_put(c, "08P01", NULL, "unexpected message type 0x%02X during COPY from stdin",
                       (unsigned char)type);
        result = ODBC_ERROR;
        break;
    }
    if (result == ODBC_E_SENT)
        result = ODBC_ERROR;

out:
    odbc_active_set(c, c->stmt);
    if (h != SQL_NULL_HSTMT)
        SQLFreeHandle(SQL_HANDLE_STMT, h);
    if (b.hm != SQL_NULL_HSTMT)
        SQLFreeHandle(SQL_HANDLE_STMT, b.hm);
    if (b.hlast != SQL_NULL_HSTMT)
        SQLFreeHandle(SQL_HANDLE_STMT, b.hlast);
    free(head);
    if (own_tx && result != ODBC_BROKEN) {
        if (result == ODBC_OK)
            result = odbc_tx_end(c, SQL_COMMIT, 1);
        else
            odbc_tx_end(c, SQL_ROLLBACK, 0);
    }
    if (result == ODBC_OK) {
        snprintf(tag, sizeof(tag), "COPY %llu", (unsigned long long)b.total);
        pgproto_command_complete(&c->out, tag);
    }
    if (dec != NULL)
        copy_decoder_free(dec);
    copy_batch_free(&b);
    free(cols.v);
    free(cols.names);
    pgbuf_free(&ins);
    if (result == ODBC_ABANDONED)
        return odbc_abandon(c);
    return odbc_finish(c, sink, result);
}

int odbc_copy(struct odbc_conn *c, const char *sql, size_t len, struct odbc_copy_source *src,
              struct odbc_sink *sink)
{
    struct copy_spec spec;
    char state[6], msg[300];
    int result;

    pgbuf_reset(&c->out);
    odbc_park(c);
    odbc_schema_sync(c);
    SQLFreeStmt(c->stmt, SQL_CLOSE);
    if (copy_parse(sql, len, &spec, state, msg, sizeof(msg)) < 0) {
        pgproto_error(&c->out, 'E', "ERROR", state, msg, NULL, NULL);
        return odbc_finish(c, sink, ODBC_ERROR);
    }
    if (spec.dir == COPY_TO)
        result = copy_to(c, &spec, sink);
    else
        result = copy_from(c, &spec, src, sink);
    copy_spec_free(&spec);
    return result;
}
