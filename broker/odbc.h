/*
 * odbc: one backend connection through unixODBC, and the encoding of its
 * results straight into PostgreSQL protocol messages.
 *
 * An odbc_conn is used by exactly one executor thread; only odbc_cancel() may
 * be called from another thread.  Results are never materialised: rows are
 * fetched one by one (or in blocks) and encoded DataRow by DataRow into a
 * bounded buffer that is flushed to the caller's sink, whose write may block
 * (that is the backpressure).
 */
#ifndef PGIRIS_ODBC_H
#define PGIRIS_ODBC_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"

struct odbc_conn;

/* Where encoded protocol bytes go.  write() returns 0, or -1 to abandon. */
struct odbc_sink {
    int (*write)(void *arg, const void *p, size_t n);
    void *arg;
};

enum odbc_result {
    ODBC_OK = 0,        /* statement ran; CommandComplete sent */
    ODBC_ERROR = -1,    /* statement failed; ErrorResponse sent; connection usable */
    ODBC_BROKEN = -2,   /* connection lost; ErrorResponse 08006 sent; discard conn */
    ODBC_ABANDONED = -3 /* the sink refused bytes; nothing more was sent */
};

/*
 * Connect with SQLDriverConnect.  timeout is the login timeout in seconds
 * (0: driver default).  On failure returns -1 and writes the driver's
 * diagnostic (SQLSTATE and message) into errbuf.
 */
int odbc_connect(const char *connstr, enum cfg_dialect dialect, double timeout,
                 struct odbc_conn **out, char *errbuf, size_t errlen);
void odbc_disconnect(struct odbc_conn *c);

/*
 * Run one SQL statement (already in the backend's dialect) with
 * SQLExecDirect and stream the result into sink: RowDescription and DataRow
 * messages for a result set, then CommandComplete; or an ErrorResponse.
 * 'verb' is the statement's command word(s) in upper case as the client
 * wrote them ("SELECT", "INSERT", "CREATE TABLE"), used for the
 * CommandComplete tag: "SELECT n" for any result set, "INSERT 0 n",
 * "UPDATE n", "DELETE n", "MERGE n", otherwise the verb itself.
 * Does not send ReadyForQuery.  Returns an enum odbc_result.
 */
int odbc_exec(struct odbc_conn *c, const char *sql, size_t len, const char *verb,
              struct odbc_sink *sink);

/* A parameter value as the client bound it (extended query protocol). */
struct odbc_param {
    const uint8_t *value;   /* NULL with len -1 for SQL NULL */
    int32_t len;
    int32_t type_oid;       /* from Parse, 0 = unspecified (bind as text) */
    int16_t format;         /* 0 text, 1 binary */
};

#define ODBC_F_DESCRIBE 0x01    /* send RowDescription (or NoData) before the rows */
#define ODBC_F_ROWDESC 0x02     /* a simple Query's: RowDescription once it ran, if it has columns */
#define ODBC_F_SELECT_TAG 0x04  /* tagged SELECT n whatever the verb: Execute of a cursor declared in SQL */
/* No RowDescription, but the rows typed as ODBC_F_DESCRIBE would have described them (SQLite's probe). */
#define ODBC_F_AS_DESCRIBED 0x08

/*
 * Run a statement whose parameters are ODBC markers ('?', one per bound
 * parameter, in order) with SQLPrepare / SQLBindParameter / SQLExecute.
 * Prepared handles are cached per connection keyed by the SQL text (at most
 * max_prepared, least recently used evicted), so a statement reused across
 * transactions is prepared once per connection.  Text parameters are bound
 * as character data; binary ones are decoded per type_oid (int2, int4,
 * int8, float4, float8, bool, bytea, date, time, timestamp, timestamptz,
 * numeric, uuid, text/varchar); an undecodable value is an ErrorResponse
 * 22P03.  result_formats follows Bind's rules (0 entries: all text, 1: for
 * all columns, n: one per column); binary results are encoded for int2,
 * int4, int8, float4, float8, bool, bytea, date, time, timestamp,
 * timestamptz, numeric, uuid and text, and an unsupported one is 0A000.
 * max_rows > 0 stops after that many rows with PortalSuspended and keeps
 * the cursor open for odbc_fetch_more(); 0 fetches everything and ends
 * with CommandComplete.  Returns an enum odbc_result.
 */
int odbc_exec_params(struct odbc_conn *c, const char *sql, size_t len, const char *verb,
                     const struct odbc_param *params, int nparams, const int16_t *result_formats,
                     int nformats, int flags, long max_rows, struct odbc_sink *sink);

/*
 * The id (not 0) by which odbc_fetch_more will continue the cursor the next
 * odbc_exec_params leaves open.  Such a cursor stays open while other
 * statements run, until it ends, odbc_close_portal, or the transaction ends
 * (at most ODBC_PARKED_MAX beside the current one).  Without an id it is
 * closed when another statement runs.
 */
void odbc_set_portal(struct odbc_conn *c, uint32_t id);

/*
 * Columns a client was told, as signatures (odbc_cols_sig of the driver's
 * description; 0: none).  odbc_set_seen_sig gives, before
 * odbc_exec_params, the signature of the columns the client last learnt
 * for the statement it runs; a run whose reply does not describe its rows
 * fails with 0A000 when the statement's columns now differ (a schema
 * change), as PostgreSQL refuses a cached plan whose result type changed;
 * 0 (a statement never described nor run) checks nothing, as a statement
 * parsed anew is not refused.  odbc_take_sig returns, and forgets, the
 * signature of the statement the last odbc_exec_params or odbc_describe
 * told the client (0: none; a run that failed before its RowDescription,
 * or that check, told nothing), for the worker to keep with the client's
 * statement.
 */
void odbc_set_seen_sig(struct odbc_conn *c, uint64_t sig);
uint64_t odbc_take_sig(struct odbc_conn *c);

/*
 * Continue the cursor left open by odbc_exec_params(max_rows > 0) under
 * this id (0: the last one left open): up to max_rows more rows (0: all),
 * then PortalSuspended or CommandComplete.  With no such cursor, sends
 * CommandComplete as PostgreSQL does for an exhausted portal, or an error
 * for one dropped for room.  Returns an enum odbc_result.
 */
int odbc_fetch_more(struct odbc_conn *c, uint32_t id, long max_rows, struct odbc_sink *sink);

/* Close the cursor of that id if it is open, and answer CloseComplete. */
int odbc_close_portal(struct odbc_conn *c, uint32_t id, struct odbc_sink *sink);

/* Close the cursor left open by the last suspended execution, if any. */
void odbc_close_cursor(struct odbc_conn *c);

/*
 * 1, once, when a statement failed to prepare since the last call for what
 * its text says (class 42, 0A, 22 or 25: PostgreSQL's Parse would have
 * refused it), not for a cancel, a lost connection or memory.
 */
int odbc_take_unprepared(struct odbc_conn *c);

/*
 * Describe a statement without executing it (SQLPrepare, SQLNumParams /
 * SQLDescribeParam, SQLNumResultCols / SQLDescribeCol): ParameterDescription
 * with nparams types (param_oids[i] when positive; when -(m + 1), what
 * SQLDescribeParam gives marker m, the first that stands for parameter i;
 * when 0, marker i's; text for a marker past the statement's) when how
 * has ODBC_DESCRIBE_PARAMS, then
 * RowDescription (with result_formats applied as in odbc_exec_params; a
 * statement is described with none, i.e. text) or NoData.  Uses and fills
 * the same prepared-handle cache as odbc_exec_params, unless how has
 * ODBC_DESCRIBE_ONCE: then the statement is prepared on a handle of its own,
 * freed after, and the cache is neither read nor changed (a statement whose
 * description may change under the same text, such as FETCH from a cursor
 * declared again).  Returns an enum odbc_result.
 */
#define ODBC_DESCRIBE_PARAMS 1
#define ODBC_DESCRIBE_ONCE 2
int odbc_describe(struct odbc_conn *c, const char *sql, size_t len, int nparams,
                  const int32_t *param_oids, int how, const int16_t *result_formats,
                  int nformats, struct odbc_sink *sink);

/*
 * Describe the cursor `name` declared in SQL (PostgreSQL), as PostgreSQL
 * describes the portal it is: MOVE FORWARD 0 IN it (which moves nothing,
 * and fails with 34000 for a cursor that does not exist, aborting the
 * transaction as PostgreSQL's Describe would), then RowDescription (or
 * NoData) of FETCH FORWARD 0 FROM it, described with ODBC_DESCRIBE_ONCE.
 */
int odbc_describe_cursor(struct odbc_conn *c, const char *name, size_t len, struct odbc_sink *sink);

/*
 * Run simple-protocol statements of the postgres and sqlite dialects as
 * their shape when they repeat (sql_autoparam.h): SELECT, INSERT, UPDATE
 * and DELETE whose literal form ran ODBC_SMALL_RUNS times with small
 * results go through the prepared-handle cache with their literals bound.
 * Off by default; the iris dialect ignores it.
 */
void odbc_set_autoparam(struct odbc_conn *c, int on);
/* How many statements this connection has run as their shape. */
uint64_t odbc_autoparam_count(const struct odbc_conn *c);

/* Bound the per-connection prepared-handle cache (default 100). */
void odbc_set_max_prepared(struct odbc_conn *c, int max_prepared);

/*
 * The counter of schema changes c shares with the other connections to
 * its database (see struct odbc_conn); until set, c counts its own.
 */
void odbc_set_schema_counter(struct odbc_conn *c, uint32_t *gen);

/*
 * Transaction control through the ODBC API (autocommit off/on and
 * SQLEndTran), never through SQL text.  Each sends CommandComplete with
 * 'tag' (or an ErrorResponse) into sink and returns an enum odbc_result.
 * odbc_begin's sql (len 0: none) is the BEGIN statement whose transaction
 * modes (isolation level, READ ONLY) the transaction gets; its tag "" says
 * nothing when the block opens (a BEGIN the worker answered itself).
 */
int odbc_begin(struct odbc_conn *c, const char *tag, const char *sql, size_t len, struct odbc_sink *sink);
/* SET TRANSACTION modes inside a transaction block (sql as the client wrote it), answered with tag. */
int odbc_set_transaction(struct odbc_conn *c, const char *tag, const char *sql, size_t len,
                         struct odbc_sink *sink);
int odbc_commit(struct odbc_conn *c, const char *tag, struct odbc_sink *sink);
int odbc_rollback(struct odbc_conn *c, const char *tag, struct odbc_sink *sink);
/* Roll back whatever is open and return to autocommit, sending nothing. 0/-1. */
int odbc_reset(struct odbc_conn *c);
/* 1 while a transaction begun with odbc_begin is open. */
int odbc_in_transaction(const struct odbc_conn *c);

/* Whether odbc_reset would have nothing to do: no transaction, cursor or transaction modes. */
int odbc_is_reset(const struct odbc_conn *c);

/* Where COPY FROM STDIN reads the client's messages. */
struct odbc_copy_source {
    /*
     * The next message: type 'd' (CopyData), 'c' (CopyDone), 'f' (CopyFail)
     * or anything else (a protocol error), with its body, valid until the
     * next call.  -1 when the client is gone.
     */
    int (*next)(void *arg, char *type, const uint8_t **body, size_t *len);
    void *arg;
};

/*
 * Run a COPY statement: TO STDOUT streams CopyOutResponse, CopyData rows,
 * CopyDone and CommandComplete into sink; FROM STDIN sends CopyInResponse,
 * then loads what src delivers up to CopyDone (or fails at CopyFail or at
 * the first bad row).  Returns an enum odbc_result.
 */
int odbc_copy(struct odbc_conn *c, const char *sql, size_t len, struct odbc_copy_source *src,
              struct odbc_sink *sink);

/* Ask the driver to cancel the statement running on c (any thread). */
void odbc_cancel(struct odbc_conn *c, int timeout);
/*
 * Forget a cancel: the executor calls it once a request is answered, so a
 * cancel reaches only the statement that was running (or about to run)
 * when it came.  Until then every statement and fetch fails with 57014.
 */
void odbc_cancel_clear(struct odbc_conn *c);

/* PostgreSQL type OID for an ODBC SQL data type (SQL_INTEGER, ...). */
int32_t odbc_type_oid(int sqltype);

/*
 * Map an ODBC diagnostic to a PostgreSQL SQLSTATE: the driver's own state
 * when it is already a PostgreSQL one, a translation of ODBC-specific states
 * (42S02 -> 42P01, ...), and for generic states (HY000) the message text of
 * known backends ("no such table" -> 42P01, "UNIQUE constraint failed" ->
 * 23505, ...).  out receives 5 characters and a NUL.
 */
void odbc_map_sqlstate(enum cfg_dialect dialect, const char *odbc_state,
                       const char *message, char out[6]);

#endif
