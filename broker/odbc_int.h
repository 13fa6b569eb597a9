/*
 * odbc_int: what broker/odbc.c shares with the modules that extend it
 * (broker/odbc_copy.c).  Not for anyone else: the rest of the broker uses
 * broker/odbc.h.
 */
#ifndef PGIRIS_ODBC_INT_H
#define PGIRIS_ODBC_INT_H

#include <pthread.h>
#include <stdint.h>

#include <sql.h>
#include <sqlext.h>

#include "broker/odbc.h"
#include "common/pgproto.h"

#define ODBC_FLUSH_BYTES (32 * 1024)
/* Result shapes remembered per connection, and what counts as small (one Fetch block). */
#define ODBC_SHAPES 256
#define ODBC_SMALL_ROWS 1000
#define ODBC_SMALL_RUNS 2
#define ODBC_PLAIN_FAILS 3
/* Buffers grown past this by one huge value are given back after the statement. */
#define ODBC_KEEP_BYTES (256 * 1024)
#define ODBC_VALUE_MIN 4096
#define ODBC_NAME_MAX 256
#define ODBC_MSG_MAX 2048
#define ODBC_TAG_MAX 128
#define ODBC_MAX_PREPARED 100
/* Suspended portals kept open beside the current one, and how many dropped ones are remembered. */
#define ODBC_PARKED_MAX 32
#define ODBC_LOST_IDS 32
/* Why a portal was closed before its end (struct odbc_lost). */
enum { ODBC_LOST_ROOM, ODBC_LOST_ROLLBACK, ODBC_LOST_CANCEL };
/* SQLite: statements whose untyped columns' types are remembered (odbc_sqlite_types), and columns each. */
#define ODBC_GUESSES 32
#define ODBC_GUESS_COLS 16
/*
 * Character parameters longer than this are bound as SQL_LONGVARCHAR: 8000
 * bytes is a common ceiling of a driver's plain VARCHAR (SQL Server's, for one).
 */
#define ODBC_LONG_TEXT 8000
/* How much of a bad value an error message quotes. */
#define ODBC_QUOTE_MAX 200
/*
 * Rowsets (see odbc_fetch): a result switches to bound columns fetched
 * ODBC_ROWSET_ROWS rows a call once ODBC_ROWSET_AFTER rows have been read
 * one by one, so that small results keep the few calls they need.  A
 * character column is bound ODBC_BIND_MIN..ODBC_BIND_MAX bytes wide, by its
 * described size; a longer value is read again with SQLGetData.
 */
#define ODBC_ROWSET_AFTER 64
#define ODBC_ROWSET_ROWS 64
#define ODBC_BIND_MIN 32
#define ODBC_BIND_MAX 1024
/* A result whose rowset buffers would need more (17 long text columns) is read row by row. */
#define ODBC_ROWSET_BYTES (1024 * 1024)

/* How a column's driver text becomes PostgreSQL's text output. */
enum odbc_conv {
    ODBC_CONV_TEXT,     /* as the driver gives it */
    ODBC_CONV_BOOL,     /* '1'/'0' -> 't'/'f' */
    ODBC_CONV_BYTEA,    /* raw bytes -> "\x0a1b..." */
    ODBC_CONV_DATETIME, /* trailing zeros of the fraction dropped */
    ODBC_CONV_TIMESTAMPTZ, /* the same, with "+00" when the driver gave no offset */
    ODBC_CONV_GUID,     /* lower case, as uuid_out prints */
    ODBC_CONV_FLOAT4,   /* read as a double, printed with the fewest digits that round-trip */
    ODBC_CONV_FLOAT8
};

struct odbc_col {
    enum odbc_conv conv;
    SQLSMALLINT sqltype;    /* as SQLDescribeCol reported it */
    SQLULEN size;           /* the same: characters, digits or bytes; 0 when unknown */
    int32_t oid;
    uint8_t noted;          /* typed by the translator's note (odbc_type_hint): no guess retypes it */
    size_t name;            /* offset of its NUL-terminated name in odbc_cols.names */
};

/* The result columns of one statement, as the driver described them. */
struct odbc_cols {
    struct odbc_col *v;
    size_t cap;
    SQLSMALLINT n;
    char *names;
    size_t names_len;
    size_t names_cap;
};

/* A statement prepared once per connection and found again by its SQL text. */
struct odbc_prep {
    char *sql;
    size_t len;
    uint64_t hash;
    uint64_t used;          /* c->clock at its last use, for LRU eviction */
    SQLHSTMT stmt;
    SQLSMALLINT nparams;
    int8_t cursor;          /* c->cursor_on when it was prepared (see odbc_prep_match) */
    int8_t typed;           /* SQLite: its untyped columns were typed by a probe (odbc_sqlite_types) */
    int8_t inlined;         /* SQLite: its handle last ran the text with the values written in */
    int32_t *param_oids;    /* from SQLDescribeParam, text where it could not say */
    uint16_t untyped;       /* SQLite: its columns (of the first ODBC_GUESS_COLS) with no declared type */
    uint32_t portal_sig;    /* SQLite: the parameters' kinds portal_oid was found with */
    uint32_t schema;        /* *c->schema_gen when it was prepared (odbc_prep_get) */
    uint64_t desc_sig;      /* odbc_cols_sig of the driver's description, before any probe typed it */
    int32_t *portal_oid;    /* SQLite: its untyped columns' types in a run that describes its portal */
    struct odbc_cols cols;
};

/* One parameter made ready for SQLBindParameter; the value lives in c->pbuf. */
struct odbc_bind {
    size_t off;
    SQLLEN ind;             /* byte length, or SQL_NULL_DATA */
    SQLSMALLINT ctype;
    SQLSMALLINT sqltype;
    SQLULEN size;
    SQLSMALLINT digits;
};

/*
 * A portal a row limit suspended, set aside while other statements run on
 * the connection (odbc_park), as PostgreSQL keeps any number of portals
 * open: its handle taken out of the cache, its own copies of what
 * odbc_fetch_more reads, and the parameter buffers its driver may still
 * read (SQLite's binds values without copying them).
 */
struct odbc_parked {
    uint32_t id;
    struct odbc_prep *p;
    struct odbc_cols cols;      /* v its own; names p->cols's */
    int16_t *fmt;
    char verb[16];
    struct pgbuf pbuf;
    struct odbc_bind *binds;
};

/*
 * A result read ODBC_ROWSET_ROWS rows a fetch into bound buffers, column by
 * column (column-wise binding): column i's value of row r is at
 * buf + off[i] + r * width[i], its length or SQL_NULL_DATA at
 * ind[i * ODBC_ROWSET_ROWS + r].
 */
struct odbc_rowset {
    int allowed;            /* odbc_fetch_start: this result may switch */
    int on;                 /* the columns are bound */
    const struct odbc_cols *cols;
    unsigned long count;    /* rows read one by one so far */
    SQLULEN fetched;        /* rows in the current rowset */
    SQLULEN row;            /* the current one, 0-based */
    SQLUSMALLINT status[ODBC_ROWSET_ROWS];
    SQLSMALLINT *ctype;     /* per column */
    size_t *off, *width;
    SQLLEN *ind;
    char *buf;
    size_t ncols_cap, buf_cap;
};

/* Failures inside the fetch path, before they become an enum odbc_result. */
enum {
    ODBC_E_DRIVER = -10,    /* the diagnostic is on the statement handle */
    ODBC_E_NOMEM = -11,
    ODBC_E_SENT = -12       /* an ErrorResponse is already in c->out */
};

/* odbc_value_text: a float column's value is text that reads as no number (SQLite); c->val holds it. */
#define ODBC_NOT_NUMBER 1

struct odbc_conn {
    SQLHENV env;
    SQLHDBC dbc;
    SQLHSTMT stmt;          /* the simple protocol's handle */
    enum cfg_dialect dialect;
    int connected;
    int in_tx;
    struct pgbuf out;       /* encoded messages not yet given to the sink */
    char *val;              /* the column value being read */
    size_t val_cap;
    struct pgbuf bin;       /* one binary numeric value being encoded */
    struct odbc_cols simple;    /* odbc_exec's columns */

    /* The handle a statement runs on, for odbc_cancel from another thread. */
    pthread_mutex_t cancel_lock;
    SQLHSTMT active;
    /*
     * SQLite: a handle never executed on, only for SQLCancel.  Its driver
     * interrupts the whole connection but also closes the statement it is
     * given, from the cancelling thread: on the running one that freed what
     * the executor thread was freeing too (ASan: double free, a crashed
     * broker).  Closing this one harms nothing.
     */
    SQLHSTMT cancel_stmt;
    int cancel_pending;     /* set by odbc_cancel, cleared by odbc_cancel_clear */
    int cancel_timeout;     /* the pending cancel is statement_timeout's */
    const char *error_where;    /* CONTEXT for the errors odbc_error_build makes, or NULL */
    int tx_read_only;       /* SQLite: query_only is on for this transaction */
    int tx_isolation_set;   /* SQL_ATTR_TXN_ISOLATION changed for this transaction */
    SQLULEN default_isolation;  /* the connection's own, read at connect */

    /*
     * Schema changes made through any connection to the database (ALTER,
     * DROP, CREATE VIEW, or a transaction that held one ending): the
     * pool's counter, in shared memory, or schema_own's.  A cached handle
     * prepared under an older count is prepared again before it runs:
     * SQLite's driver keeps the columns it described at prepare time and
     * reads a changed table's rows by them.
     */
    uint32_t *schema_gen;
    uint32_t schema_own;
    uint32_t schema_seen;       /* the count c->guesses were found under */
    int tx_ddl;                 /* the open transaction changed the schema */

    struct odbc_prep **preps;
    int npreps;
    int preps_cap;
    int max_prepared;
    uint64_t clock;

    /*
     * Parameter values as bound.  Drivers may read them after SQLExecute
     * (SQLite's hands them to sqlite3_bind_* without copying), so they stay
     * untouched until the next execution has closed the cursor.
     */
    struct pgbuf pbuf;
    struct odbc_bind *binds;
    int binds_cap;

    /*
     * Result shapes, for psqlODBC's UseDeclareFetch: a cursor per query
     * bounds memory for large results but costs round trips for small
     * ones.  A statement that keeps returning few rows runs without it.
     */
    int cursor_adaptive;        /* the connection was made with UseDeclareFetch=1 */
    int cursor_on;              /* the driver's setting now */
    struct odbc_shape {
        uint64_t hash;
        uint16_t small;         /* consecutive results of at most ODBC_SMALL_ROWS rows */
        uint16_t runs;          /* successful runs of its literal form (odbc_exec) */
        uint8_t big;            /* once larger: always with a cursor */
        uint8_t plain;          /* times its shape failed to prepare (ODBC_PLAIN_FAILS: never again) */
    } shapes[ODBC_SHAPES];

    /*
     * Simple-protocol statements run as their shape (sql_autoparam): the
     * literal form of a statement whose shape has run ODBC_SMALL_RUNS
     * times goes through the prepared-handle cache instead.
     */
    int autoparam;
    struct pgbuf shape;         /* the shape being run */
    struct pgbuf inl;           /* SQLite: a statement with its parameters written in (odbc_sqlite_inline) */
    uint64_t shaped;            /* statements run so, for SHOW STATS */
    int defer_out;              /* odbc_exec_params runs: a stale plan's error is held back */
    int stale_plan;             /* the server refused a prepared statement whose table changed */
    char last_state[6];         /* the SQLSTATE of the last error odbc_error_build made */
    int unprepared;             /* a statement failed to prepare for its text (odbc_take_unprepared) */

    /*
     * SQLite: the types a probe found for the untyped columns of recent
     * simple-protocol statements, by text (odbc_sqlite_types).  oid 0:
     * the column keeps the driver's description.
     */
    struct odbc_guess {
        uint64_t hash;
        size_t len;
        int n;
        int32_t oid[ODBC_GUESS_COLS];
    } guesses[ODBC_GUESSES];

    /* The driver can SQLGetData a bound column of any row of a rowset (SQL_GETDATA_EXTENSIONS). */
    int gd_block;
    struct odbc_rowset rs;

    /* SQLite: a prepared statement's columns as typed for this run (odbc_sqlite_portal_cols). */
    struct odbc_cols pcols;

    /* The cursor a row limit suspended, its columns, its command (for the final tag), and its formats. */
    struct odbc_prep *cur;
    const struct odbc_cols *cur_cols;
    char cur_verb[16];
    int16_t *fmt;
    size_t fmt_cap;
    uint32_t cur_id;            /* the request's name for it (0: none, closed when another statement runs) */
    uint32_t portal_next;       /* odbc_set_portal: the id the next odbc_exec_params's cursor gets */
    uint64_t seen_sig;          /* odbc_set_seen_sig: the columns the client holds for the next run */
    uint64_t told_sig;          /* odbc_take_sig: the columns of the statement the last request used */

    /*
     * Suspended portals set aside (odbc_park), oldest first, and the last
     * ones closed before their end: dropped for room, by ROLLBACK TO, or by
     * a cancel (ODBC_LOST_*).
     */
    struct odbc_parked *parked;
    int nparked;
    int parked_cap;
    struct odbc_lost {
        uint32_t id;
        int why;                /* ODBC_LOST_* */
    } lost[ODBC_LOST_IDS];
    unsigned nlost;
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


/* Hand the buffered messages to the sink.  0, or ODBC_ABANDONED. */
int odbc_flush(struct odbc_conn *c, struct odbc_sink *sink);
/* Give back memory that one outsized value made grow. */
void odbc_buffers_trim(struct odbc_conn *c);
/* End of every call that answers the client: flush what is buffered. */
int odbc_finish(struct odbc_conn *c, struct odbc_sink *sink, int result);
/* Abandoned: whatever is buffered stays unsent. */
int odbc_abandon(struct odbc_conn *c);
/* The handle odbc_cancel() acts on from now on. */
void odbc_active_set(struct odbc_conn *c, SQLHSTMT h);
/* Whether a cursor closed early keeps a lock (SQLite), and the remedy. */
int odbc_early_close_locks(const struct odbc_conn *c);
void odbc_stmt_renew(struct odbc_conn *c);
/* Before another statement runs: set the suspended cursor aside (struct odbc_parked), or close it. */
void odbc_park(struct odbc_conn *c);
/* Before a statement runs: catch up with schema changes made through other connections (odbc.c). */
uint32_t odbc_schema_sync(struct odbc_conn *c);
/* The handle's diagnostic as an ErrorResponse in c->out: ODBC_ERROR or ODBC_BROKEN. */
int odbc_error_build(struct odbc_conn *c, SQLSMALLINT htype, SQLHANDLE h);
/* An ErrorResponse of pgiris's own in c->out; returns ODBC_E_SENT. */
int odbc_error_put(struct odbc_conn *c, const char *state, const char *detail, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void odbc_notices_forward(struct odbc_conn *c, SQLHSTMT stmt);
/* Describe ncols result columns of stmt into cols.  0, ODBC_E_DRIVER or ODBC_E_NOMEM. */
int odbc_cols_load(SQLHSTMT stmt, SQLSMALLINT ncols, struct odbc_cols *cols);
const char *odbc_col_name(const struct odbc_cols *cols, int i);
/*
 * Column col (1-based) of the current row as PostgreSQL's text output, in
 * c->val (NUL-terminated).  0 or ODBC_NOT_NUMBER with *len and *isnull
 * set, ODBC_E_DRIVER or ODBC_E_NOMEM.
 */
int odbc_value_text(struct odbc_conn *c, SQLHSTMT stmt, const struct odbc_cols *cols,
                    SQLUSMALLINT col, size_t *len, int *isnull);
/*
 * Reading a result's rows: odbc_fetch_start before the first, odbc_fetch
 * for each (SQLFetch's return codes), odbc_fetch_end after the last, on
 * every path.  With may_bind (the whole result will be read, no row limit)
 * a long result goes on in rowsets, the columns bound; odbc_value_text
 * reads the current row either way.
 */
void odbc_fetch_start(struct odbc_conn *c, const struct odbc_cols *cols, int may_bind);
SQLRETURN odbc_fetch(struct odbc_conn *c, SQLHSTMT stmt);
void odbc_fetch_end(struct odbc_conn *c, SQLHSTMT stmt);
int odbc_autocommit(struct odbc_conn *c, int on);
/*
 * A transaction of the executor's: opened, ended (SQL_COMMIT or
 * SQL_ROLLBACK; a refused COMMIT is rolled back, and the connection is in
 * autocommit afterwards either way), or rolled back and opened again.  0,
 * or an odbc_result with the ErrorResponse built (odbc_tx_end: only when
 * report is set).
 */
int odbc_tx_open(struct odbc_conn *c);
int odbc_tx_end(struct odbc_conn *c, SQLSMALLINT how, int report);
int odbc_tx_restart(struct odbc_conn *c);
/* Whether connstr chooses psqlODBC's rollback level (Protocol=7.4-N, or A1=). */
int odbc_connstr_rollback_level(const char *connstr);
/* What pgiris connects with: connstr, and for PostgreSQL Protocol=7.4-0 unless it names one.  Allocated. */
char *odbc_connstr_effective(const char *connstr, enum cfg_dialect dialect);
/* Run one statement of pgiris's own on the simple handle, answering nothing.  0, or the ErrorResponse built. */
int odbc_exec_quiet(struct odbc_conn *c, const char *sql);
/* bytea's text input (hex or escape format) as bytes appended to b; NULL, or what is wrong. */
const char *odbc_bytea_decode(struct pgbuf *b, const char *v, size_t n);
/* A statement's CommandComplete tag. */
void odbc_tag(char *tag, size_t len, const char *verb, int result_set, SQLLEN rows);
/* A pending cancel as an ErrorResponse (57014); ODBC_E_SENT, or 0 when none is pending. */
int odbc_cancel_check(struct odbc_conn *c);
/* The next statement runs with psqlODBC's cursor (a result of any size): COPY TO. */
void odbc_cursor_require(struct odbc_conn *c);

#endif
