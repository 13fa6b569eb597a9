/*
 * extended: the extended query protocol for one session: Parse, Bind,
 * Describe, Execute, Close, Sync and Flush, with named and unnamed
 * statements and portals.
 *
 * Statements belong to the client, not to a backend slot: Parse only
 * rewrites $n into ODBC markers and remembers the result, so under
 * transaction pooling a statement runs on whichever slot the client gets
 * (each executor prepares it once and keeps the handle in its cache).
 */
#ifndef PGIRIS_EXTENDED_H
#define PGIRIS_EXTENDED_H

#include <stddef.h>
#include <stdint.h>

#include "common/pgproto.h"

struct session;
struct extended_state;

/*
 * Handle one extended-protocol message (type and body).  The caller has
 * already consumed it from the input; a Describe(portal) directly followed by
 * Execute of the same portal (as most drivers send them) travels to the
 * executor as one request.
 */
void extended_message(struct session *s, char type, const uint8_t *body, size_t len);

/*
 * The executor finished a request this module sent; sig names the columns
 * of the statement it used (LEASE_DONE), 0 for none.
 */
void extended_done(struct session *s, char txstatus, int flags, uint64_t sig);

/* Where what is forwarded to the client is copied too (a Describe kept for the statement), or NULL. */
struct pgbuf *extended_capture(struct session *s);

/*
 * DEALLOCATE [PREPARE] name | ALL and DISCARD ALL sent as SQL: they act on
 * the client's statements, which live here, not on any backend.  Appends
 * CommandComplete (or an ErrorResponse) to out; -1 after an error.
 */
int extended_deallocate(struct session *s, const char *stmt, size_t len, const char *verb,
                        struct pgbuf *out);

/*
 * SQL-level PREPARE name [ ( type, ... ) ] AS statement: a statement of the
 * client's like Parse makes (the same names, DEALLOCATE, Bind), so it works
 * under transaction pooling.  Appends CommandComplete or an ErrorResponse
 * to out; -1 after an error.
 */
int extended_sql_prepare(struct session *s, const char *stmt, size_t len, struct pgbuf *out);

/*
 * EXECUTE name [ ( argument, ... ) ]: the prepared statement's text with
 * each $n replaced by its argument (cast to PREPARE's type), to be run as a
 * statement of its own; malloc'd.  NULL with an ErrorResponse in out.
 */
char *extended_sql_execute(struct session *s, const char *stmt, size_t len, struct pgbuf *out);

/* The client's transaction block ended (COMMIT, ROLLBACK, or an error that ended it): its portals end with it. */
void extended_block_end(struct session *s);
/* A simple Query: the unnamed statement and portal go, as in PostgreSQL (a Bind of "" after it is 26000). */
void extended_simple_query(struct session *s);

/* Free all statements and portals of the session. */
void extended_free(struct session *s);

#endif
