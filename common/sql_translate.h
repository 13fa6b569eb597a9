/*
 * sql_translate: PostgreSQL SQL -> the backend's dialect, plus the record a
 * pooler needs about each statement (kind, verb, parameters, tables read and
 * written, flags).  One statement at a time: split a simple-query string
 * with sql_split first.
 *
 * Parameters: $n markers are left as they are in every dialect; the caller
 * maps them to ODBC '?' markers when it binds.  A rule may repeat an operand
 * (IS DISTINCT FROM on IRIS), so one $n can occur more than once in the
 * output: bind every occurrence.
 */
#ifndef PGIRIS_SQL_TRANSLATE_H
#define PGIRIS_SQL_TRANSLATE_H

#include <stddef.h>

#include "common/config.h"
#include "common/sql_lexer.h"

enum sql_kind {
    SQL_KIND_OTHER,
    SQL_KIND_QUERY,             /* SELECT, VALUES, WITH ... SELECT */
    SQL_KIND_DML,               /* INSERT, UPDATE, DELETE, MERGE */
    SQL_KIND_DDL,
    SQL_KIND_TXN,               /* BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE */
    SQL_KIND_SESSION,           /* SET, SHOW, RESET, DISCARD */
};

enum {
    SQL_FLAG_READ_ONLY = 1 << 0,    /* changes nothing (no writes, no FOR UPDATE, no nextval) */
    SQL_FLAG_CACHEABLE = 1 << 1,    /* read-only and deterministic given its tables and parameters */
    SQL_FLAG_VECTOR = 1 << 2,       /* vector search or vector types */
    /*
     * The statement has no backend equivalent and nothing to do there:
     * answer it locally with its verb as the command tag (sql is "").
     * RELEASE SAVEPOINT on IRIS, which has no such statement; keeping the
     * savepoint until the transaction ends changes nothing a client sees.
     */
    SQL_FLAG_NO_BACKEND = 1 << 3,
    /*
     * The SQL holds the client's user or database name (current_user,
     * current_database() on a backend that cannot answer them for the
     * client): translated anew for each session, never shared.
     */
    SQL_FLAG_SESSION = 1 << 4,
    /*
     * The statement leaves state on the backend connection that outlives
     * its transaction (sql_backend_flags): the client keeps its connection
     * from then on, and the connection is made anew before anyone else
     * gets it.
     */
    SQL_FLAG_BACKEND_STATE = 1 << 5,
    /*
     * currval() or lastval(): the backend connection's last sequence
     * values, which under transaction pooling may be another client's.
     */
    SQL_FLAG_READS_SEQUENCE = 1 << 6,
};

struct sql_translation {
    char *sql;                  /* backend SQL, NUL-terminated (malloc'd) */
    size_t len;
    int nparams;                /* highest $n in the statement */
    enum sql_command cmd;       /* as named by sql_command */
    enum sql_kind kind;
    char verb[64];              /* PostgreSQL command tag verb: "SELECT", "CREATE TABLE" */
    int flags;                  /* SQL_FLAG_* */
    char **tables_read;         /* "name" or "schema.name", PostgreSQL spelling, folded */
    int ntables_read;
    char **tables_written;
    int ntables_written;
    char sqlstate[6];           /* on failure: 0A000 not expressible, 42601 syntax, ... */
    char *error;                /* on failure: a message naming the construct (malloc'd) */
};

struct sql_translate_opts {
    const char *default_schema; /* what the schema "public" becomes on IRIS; NULL: "SQLUser" */
    /* The client's user and database for current_user and current_database(); NULL: left as written. */
    const char *user, *database;
};

/*
 * Translate one statement of len bytes (a trailing semicolon is allowed).
 * Returns 0 with *out filled in, or -1 with out->sqlstate and out->error set
 * and no SQL (cmd, kind and verb are still filled in when the statement
 * lexed, for logs).  Never returns SQL that means something other than the
 * input: what the dialect cannot express fails with 0A000.
 * Either way release *out with sql_translation_free.
 */
int sql_translate(enum cfg_dialect d, const char *in, size_t len, struct sql_translation *out);

/*
 * What the translator records of a statement without translating it, for
 * PostgreSQL's own simple-protocol statements: its SQL_FLAG_BACKEND_STATE
 * and SQL_FLAG_READS_SEQUENCE (toks as sql_command_tokens takes them, or
 * NULL), and the message refusing its command in every dialect with 0A000
 * (NULL when it is not refused).  LISTEN is refused: notifications would
 * reach the backend connection, and ODBC has no way to hand them on.
 */
int sql_backend_flags(const char *stmt, size_t len, const struct sql_token *toks, size_t ntoks);
const char *sql_refusal(const char *verb);
int sql_translate_opts(enum cfg_dialect d, const struct sql_translate_opts *opts, const char *in,
                       size_t len, struct sql_translation *out);

/* Free what *t owns and zero it; safe on a zeroed or already freed record. */
void sql_translation_free(struct sql_translation *t);

/* Names for logs and the CLI: "query", "dml", ...; "read-only,cacheable". */
const char *sql_kind_name(enum sql_kind k);
/*
 * One line describing the record (not the SQL):
 * "kind=query verb=SELECT params=1 read=a,b write= flags=read-only,cacheable".
 * Returns the length it needed, like snprintf.
 */
int sql_translation_describe(const struct sql_translation *t, char *buf, size_t size);

#endif
