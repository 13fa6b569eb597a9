/*
 * sql_autoparam: a simple-protocol statement as its shape and parameters.
 *
 * "SELECT abalance FROM pgbench_accounts WHERE aid = 42" is run as
 * "... WHERE aid = ?::int4" with 42 bound, so that the backend parses and
 * plans the shape once and every later literal reuses it, as the extended
 * protocol does.  Only literals whose parameter reads exactly as the literal
 * would are taken out: a number or a plain string compared with (or assigned
 * to) a column, "column op literal" with op one of = <> != < > <= >=, the
 * literal followed by the end of its clause.  A number keeps the type
 * PostgreSQL gives the literal (int4, int8 or numeric) through a cast in the
 * shape; a string stays of unknown type, resolved by the column as the
 * literal's would be.  Without casts (SQLite, where a bound value has no
 * affinity, as a literal has none) every marker is a bare '?'.
 */
#ifndef PGIRIS_SQL_AUTOPARAM_H
#define PGIRIS_SQL_AUTOPARAM_H

#include <stddef.h>
#include <stdint.h>

#include "common/pgproto.h"

#define SQL_AUTOPARAM_MAX 32     /* literals taken out of one statement, at most */
#define SQL_AUTOPARAM_TOKENS 512 /* longer statements are left as they are */

struct sql_literal {
    uint32_t off;       /* the value's bytes in the statement text (quotes excluded) */
    uint32_t len;
    int32_t oid;        /* PG_OID_INT4, PG_OID_INT8 or PG_OID_NUMERIC; 0 for a string */
};

/*
 * Write the shape of stmt[0..len) into out (reset first; not terminated)
 * and its literals, in order, into lits; numbers' markers are cast to
 * their type when casts is set.  Returns how many literals were taken
 * out: 0 when none is fit, or the statement may already have parameter
 * markers ('?', $n, or SQLite's :name and @name), or does not lex; out
 * is then left empty.
 */
int sql_autoparam(const char *stmt, size_t len, int casts, struct pgbuf *out,
                  struct sql_literal lits[SQL_AUTOPARAM_MAX]);

#endif
