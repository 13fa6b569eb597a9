/*
 * copy: the pure parts of COPY FROM STDIN / COPY TO STDOUT, following
 * PostgreSQL's COPY (src/backend/commands/copy*.c and the "COPY" page of
 * the documentation): parsing the statement and its options, decoding the
 * text and CSV data a client streams in CopyData messages into rows, and
 * encoding result rows in those formats.  Nothing here talks to a socket or
 * to ODBC; the executor wires it up.
 *
 * Errors carry PostgreSQL's SQLSTATEs and messages.
 */
#ifndef PGIRIS_COPY_H
#define PGIRIS_COPY_H

#include <stddef.h>
#include <stdint.h>

#include "common/pgproto.h"

/* Longest data line (one row, with its quoted newlines) a decoder accepts by default. */
#define COPY_MAX_ROW_BYTES ((size_t)64 << 20)

enum copy_dir { COPY_FROM, COPY_TO };
enum copy_format { COPY_TEXT, COPY_CSV, COPY_BINARY };

/* Per-column flags in copy_spec.colflags. */
enum {
    COPY_COL_FORCE_QUOTE = 1 << 0,
    COPY_COL_FORCE_NOT_NULL = 1 << 1,
    COPY_COL_FORCE_NULL = 1 << 2,
};

struct copy_spec {
    enum copy_dir dir;
    char *table;            /* as written, quotes kept (public."My T"); NULL for COPY (query) TO */
    char *query;            /* COPY (query) TO: the text between the parentheses; else NULL */
    char **columns;         /* the column list as written, quotes kept */
    int ncolumns;           /* 0: all columns */
    enum copy_format format;        /* never COPY_BINARY after a successful parse */
    char delimiter;         /* '\t' text, ',' csv */
    char *null_string;      /* "\\N" text, "" csv */
    int header;             /* 0, 1: HEADER true, 2: HEADER MATCH (COPY FROM; its names are checked) */
    char quote, escape;     /* csv: '"' and the quote */
    char **force_quote;     /* COPY TO csv, as written; a string item becomes "quoted" */
    int nforce_quote;
    int force_quote_all;    /* FORCE_QUOTE * */
    char **force_not_null;  /* COPY FROM csv, as written */
    int nforce_not_null;
    int force_not_null_all;
    char **force_null;      /* COPY FROM csv, as written */
    int nforce_null;
    int force_null_all;

    /*
     * The columns the data has, in order, as plain names (for error
     * messages), and their COPY_COL_* flags.  Set by copy_spec_bind_columns;
     * copy_parse binds the column list itself when there is one.
     */
    char **colnames;
    unsigned char *colflags;
    int ncolnames;          /* -1 until bound */
};

/*
 * Parse one COPY statement (sql, len bytes; a trailing ';' is allowed).
 * Accepts the current syntax, WITH ( option [value], ... ), and the old one
 * (BINARY, DELIMITER [AS] 'x', NULL [AS] 's', CSV, HEADER, QUOTE, ESCAPE,
 * FORCE QUOTE, FORCE NOT NULL, FORCE NULL, ENCODING).  Returns 0 with *out
 * filled (free it with copy_spec_free), or -1 with sqlstate (5 characters
 * and a NUL) and msg set and *out left empty:
 *   0A000 a file or PROGRAM instead of STDIN/STDOUT, binary format, an
 *         ENCODING other than UTF8, WHERE, options PostgreSQL has and
 *         pgiris does not (DEFAULT, ON_ERROR, ...), and PostgreSQL's own
 *         0A000 cases (multi-byte delimiter, QUOTE outside CSV, ...);
 *   42601 syntax errors, unknown or repeated options;
 *   22023 bad option values (delimiter newline or letter, delimiter = quote);
 *   22021/22025/22P06 string constants with \000 or bad Unicode escapes;
 *   42701 a column listed twice; 42P10 a FORCE_* column not in the list;
 *   53200 out of memory.
 */
int copy_parse(const char *sql, size_t len, struct copy_spec *out, char sqlstate[6], char *msg,
               size_t msglen);

/* Free everything *s owns and leave it empty; safe on an empty spec. */
void copy_spec_free(struct copy_spec *s);

/*
 * Name the columns the data has (for COPY t FROM/TO without a column list:
 * the table's columns; for COPY (query) TO: the result's), and resolve the
 * FORCE_* lists against them: a quoted name must match exactly, an unquoted
 * one ignoring ASCII case, since backends fold case differently.  Replaces
 * an earlier binding.  Returns 0, or -1 with 42P10 ("FORCE_QUOTE column "x"
 * not referenced by COPY") or 53200 (out of memory).
 */
int copy_spec_bind_columns(struct copy_spec *s, const char *const *names, int n, char sqlstate[6],
                           char *msg, size_t msglen);

/*
 * One decoded row: fields[i] is NULL for SQL NULL, else a NUL-terminated
 * string of lengths[i] bytes (it may hold NUL bytes of its own, from \000).
 * The arrays and strings are the decoder's, valid until the callback
 * returns; the callback may modify the strings in place.  lineno is the
 * input line the row ends on, counting the header, as PostgreSQL does.
 * Return 0 to go on; anything else stops the decoder and is handed back.
 */
typedef int copy_row_fn(void *arg, char **fields, size_t *lengths, int nfields, uint64_t lineno);

struct copy_decoder;

/*
 * A decoder of spec's text or CSV data into rows of ncolumns fields.  If the
 * spec has FORCE_* lists it must be bound (copy_spec_bind_columns) to
 * ncolumns columns.  Column names, for messages, come from the binding when
 * it has ncolumns names.  The decoder copies what it needs from spec.
 * Returns NULL when out of memory or given an unbound FORCE_* spec.
 */
struct copy_decoder *copy_decoder_new(const struct copy_spec *spec, int ncolumns);

/* Longest line accepted (default COPY_MAX_ROW_BYTES); a longer one fails with 54000. */
void copy_decoder_set_limit(struct copy_decoder *d, size_t max_row_bytes);

/*
 * Feed the next bytes of COPY data; message boundaries may fall anywhere,
 * even inside a quoted CSV field or an escape.  Calls row_cb for each
 * complete row.  After the end-of-data marker (a line "\." alone) the rest
 * of the input is ignored.  Returns 0; -1 on a data error (see
 * copy_decoder_error), after which the decoder refuses input; or row_cb's
 * non-zero value, after which the decoder also refuses input.
 */
int copy_decoder_feed(struct copy_decoder *d, const char *data, size_t len, copy_row_fn *row_cb,
                      void *arg);

/*
 * End of data (CopyDone): decode a last line that has no newline.  Same
 * returns as copy_decoder_feed.
 */
int copy_decoder_finish(struct copy_decoder *d, copy_row_fn *row_cb, void *arg);

/*
 * The error after feed or finish returned -1: the message, with its
 * SQLSTATE copied into sqlstate and *detail (if detail is not NULL) set to
 * PostgreSQL's CONTEXT line (COPY t, line 3: "1,2,3").  NULL if none.
 */
const char *copy_decoder_error(const struct copy_decoder *d, char sqlstate[6], const char **detail);

/* The error's hint ("Use "\r" to represent carriage return."), or NULL. */
const char *copy_decoder_hint(const struct copy_decoder *d);

/* Free d and its buffers; NULL is allowed. */
void copy_decoder_free(struct copy_decoder *d);

/*
 * Append one row (n values, values[i] == NULL for NULL, lengths[i] bytes;
 * lengths may be NULL for NUL-terminated values) in spec's format with its
 * "\n".  FORCE_QUOTE needs a bound spec (copy_spec_bind_columns) with n
 * columns.  Returns 0, or -1 when out is out of memory or the spec has an
 * unbound FORCE_QUOTE list.
 */
int copy_encode_row(const struct copy_spec *spec, struct pgbuf *out, const char *const *values,
                    const size_t *lengths, int n);

/* Append the header line (call when spec->header is set).  Returns 0, or -1 when out of memory. */
int copy_encode_header(const struct copy_spec *spec, struct pgbuf *out, const char *const *names,
                       int n);

#endif
