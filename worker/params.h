/*
 * params: a client's session parameters (application_name, DateStyle,
 * TimeZone, ...).  They belong to the client, not to whichever backend
 * slot it is using, so SET, SHOW and RESET are answered here and never
 * leak across clients under transaction pooling.
 */
#ifndef PGIRIS_PARAMS_H
#define PGIRIS_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "common/pgproto.h"
#include "common/sql_lexer.h"

#define PARAMS_MAX 64        /* parameters a client may hold apart from the defaults */

/*
 * A parameter whose value or reset value is not the server default.  Every
 * other parameter is the defaults table's, shared by all clients: an idle
 * client costs only what it changed.
 */
struct params_entry {
    const char *name;       /* the default's own name, or malloc'd for a custom one */
    char *value;            /* NULL: the default */
    char *reset_value;      /* what RESET goes back to; NULL: the default */
    int16_t def;            /* index in the defaults table, -1 for a custom parameter */
};

/* A value to put back when the transaction that changed it ends. */
struct params_undo {
    char *name;
    char *value;            /* as before the transaction: what ROLLBACK puts back */
    char *keep;             /* after a SET LOCAL, what COMMIT puts back (the session's
                               value before it); NULL: COMMIT keeps the value */
};

struct params {
    const char *user;               /* the client's user name (not a copy): session_authorization */
    struct params_entry *e;
    struct params_undo *undo;       /* changes made inside a transaction block, first change of each name */
    int64_t statement_timeout_ms;   /* statement_timeout's value, parsed; 0 = none */
    uint16_t n, cap;
    uint16_t nundo, undo_cap;
    /* The modes of the transaction block params_begin began (enum sql_isolation, 0/1, 0/1). */
    uint8_t tx_isolation, tx_read_only, tx_deferrable;
    /* default_transaction_isolation, _read_only, _deferrable, parsed as params_begin reads them. */
    uint8_t def_isolation, def_read_only, def_deferrable;
};

/*
 * The transaction block ended: changes made in it are undone if it rolled
 * back, SET LOCAL ones in any case (as PostgreSQL does), with
 * ParameterStatus into out for reported parameters that changed.
 */
void params_tx_end(struct params *ps, int committed, struct pgbuf *out);

/*
 * A time setting's value in milliseconds, as PostgreSQL reads one: a
 * number, then optionally us, ms, s, min, h or d (ms when none).  -1 if
 * it is not one.
 */
int64_t params_parse_ms(const char *value);

/*
 * For a SHOW: whether it names a setting pgiris answers (ALL, one it
 * keeps, a malformed one, whose error it gives); 0 for a name it does not
 * know, which PostgreSQL's server may (work_mem).
 */
int params_show_answered(const struct params *ps, const char *stmt, size_t len);

/*
 * The server defaults, then what the startup packet's "options" sets
 * (-c name=value, --name=value), then each of its other "name\0value\0"
 * pairs (user, database, replication skipped).  user must outlive ps.  0,
 * -1 when out of memory, -2 for a search_path naming a schema other than
 * public (statements are not resolved against it), -3 for options pgiris
 * cannot read, -4 for a value it refuses (err says what, as PostgreSQL
 * would).
 */
int params_init(struct params *ps, const char *user, const char *startup_pairs, size_t len, char *err,
                size_t errlen);
void params_free(struct params *ps);
const char *params_get(const struct params *ps, const char *name);

/* ParameterStatus for every parameter PostgreSQL reports at startup. */
void params_report_all(const struct params *ps, struct pgbuf *out);

/*
 * RESET name (name NULL: RESET ALL): back to the startup or default value,
 * with ParameterStatus into out for reported parameters that changed.
 */
void params_reset(struct params *ps, const char *name, struct pgbuf *out);

/*
 * A BEGIN or START TRANSACTION statement as the executor is to run it: the
 * modes it does not name taken from the client's defaults
 * (default_transaction_isolation, _read_only, _deferrable, which SET
 * SESSION CHARACTERISTICS sets too), so they hold on whichever backend
 * connection the transaction gets.  Into text when it differs from stmt
 * (returns 1), else 0: stmt goes as it is (a statement that does not parse
 * too: the executor reports it).  Records the block's modes for SHOW.
 */
int params_begin(struct params *ps, const char *stmt, size_t len, struct pgbuf *text);

/*
 * SET [LOCAL|SESSION] TRANSACTION modes, the open transaction's own:
 *   PARAMS_TX_NOT       stmt is not one (SET TRANSACTION SNAPSHOT too), or
 *                       the block has failed: it goes on as any statement;
 *   PARAMS_TX_ANSWERED  outside a block: PostgreSQL's warning and SET in
 *                       out, no effect;
 *   PARAMS_TX_FAILED    outside a block with no mode named: 42601 in out;
 *   PARAMS_TX_SEND      inside a block, for the executor to apply (or
 *                       refuse); the modes are recorded for SHOW.
 */
enum { PARAMS_TX_NOT, PARAMS_TX_ANSWERED, PARAMS_TX_FAILED, PARAMS_TX_SEND };
/* Whether stmt is SET [LOCAL|SESSION] TRANSACTION with modes (not SNAPSHOT). */
int params_is_set_transaction(const char *stmt, size_t len);
int params_set_transaction(struct params *ps, const char *stmt, size_t len, char txstatus, struct pgbuf *out);

/*
 * Whether a statement outside a transaction block must be refused because
 * the client's default_transaction_read_only is on: it writes (INSERT,
 * UPDATE, DELETE, MERGE, COPY FROM, or DDL), as PostgreSQL refuses it in
 * a read-only transaction (SQLSTATE 25006, with msg).  Statements inside a
 * block are the backend's to refuse: BEGIN names the mode.
 */
int params_refuse_write(const struct params *ps, enum sql_command cmd, const char *verb, const char *stmt,
                        size_t len, char *msg, size_t msglen);

/*
 * Run a SET, SHOW or RESET statement (cmd from sql_command) and append its
 * reply to out: CommandComplete plus ParameterStatus for reported
 * parameters, a row for SHOW, or an ErrorResponse.  in_tx: the client is
 * inside a transaction block (the session's status is not 'I'), so a
 * change is remembered for params_tx_end and SET LOCAL takes effect.
 * Returns 0, or -1 when an ErrorResponse was appended.
 */
int params_execute(struct params *ps, enum sql_command cmd, const char *stmt, size_t len, int in_tx,
                   struct pgbuf *out);

#endif
