/*
 * admin: the admin console, database "pgiris".  Answers pgbouncer's console
 * commands from shared memory, with pgbouncer's column names where the
 * meaning is the same, so existing tools (prometheus-pgbouncer-exporter,
 * scripts that parse SHOW POOLS) work unchanged.
 */
#ifndef PGIRIS_ADMIN_H
#define PGIRIS_ADMIN_H

#include <stddef.h>

#include "common/config.h"
#include "common/pgproto.h"

/*
 * Run one console statement (the text of a simple Query, possibly with
 * several ';'-separated statements) and append the reply messages
 * (RowDescription/DataRow/CommandComplete, or ErrorResponse) to out — not
 * ReadyForQuery.  'may_modify' is 0 for stats_users, who may only SHOW.
 */
void admin_query(const char *sql, size_t len, const struct cfg *cfg, int may_modify, struct pgbuf *out);

#endif
