/*
 * pgproto: small, exact helpers to build and read PostgreSQL v3 protocol
 * messages, so that no other code computes a length by hand.
 *
 * Building: pgproto_begin() opens a message of a given type in a growable
 * buffer, the put_* helpers append fields, pgproto_end() back-patches the
 * length.  Several messages may be built back to back in one buffer.
 * Reading: a struct pgproto_reader walks one message body; every get_*
 * helper fails (returns -1 and sets r->err) rather than reading past the end.
 */
#ifndef PGIRIS_PGPROTO_H
#define PGIRIS_PGPROTO_H

#include <stddef.h>
#include <stdint.h>

#define PGPROTO_VERSION_3 196608        /* 3.0 */
#define PGPROTO_SSL_REQUEST 80877103
#define PGPROTO_GSSENC_REQUEST 80877104
#define PGPROTO_CANCEL_REQUEST 80877102

/* Type OIDs pgiris reports. */
#define PG_OID_BOOL 16
#define PG_OID_BYTEA 17
#define PG_OID_INT8 20
#define PG_OID_INT2 21
#define PG_OID_INT4 23
#define PG_OID_TEXT 25
#define PG_OID_JSON 114
#define PG_OID_FLOAT4 700
#define PG_OID_FLOAT8 701
#define PG_OID_MONEY 790
#define PG_OID_BPCHAR 1042
#define PG_OID_VARCHAR 1043
#define PG_OID_DATE 1082
#define PG_OID_TIME 1083
#define PG_OID_TIMESTAMP 1114
#define PG_OID_TIMESTAMPTZ 1184
#define PG_OID_INTERVAL 1186
#define PG_OID_TIMETZ 1266
#define PG_OID_NUMERIC 1700
#define PG_OID_UUID 2950
#define PG_OID_JSONB 3802

#ifndef PGIRIS_VERSION
#define PGIRIS_VERSION "dev"
#endif
/* The PostgreSQL release pgiris answers as: server_version, and version() where pgiris answers it. */
#define PGIRIS_SERVER_VERSION "15.0 (pgiris " PGIRIS_VERSION ")"

/* The OID of a type named as SQL spells it ("int8", "double precision", any case), 0 if not one of the above. */
int32_t pgproto_type_oid(const char *name);

/* The catalog name of a type with one of the OIDs above ("int4", "timestamptz"), NULL for any other. */
const char *pgproto_type_name(int32_t oid);

/*
 * A Boolean's text as PostgreSQL reads it (boolin, and a Boolean setting):
 * true, yes, on, 1, false, no, off, 0, any case, unique prefixes, blanks
 * around.  1, 0, or -1 for none.
 */
int pgproto_bool_parse(const char *v, size_t n);

struct pgbuf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t msg_start;   /* offset of the open message's type byte */
    int oom;            /* set when an allocation failed; all later puts are no-ops */
};

void pgbuf_init(struct pgbuf *b);
void pgbuf_free(struct pgbuf *b);
void pgbuf_reset(struct pgbuf *b);            /* len = 0, keeps the allocation */
int pgbuf_reserve(struct pgbuf *b, size_t more);

/* Open a message of 'type' (0 for the untyped startup-style message). */
void pgproto_begin(struct pgbuf *b, char type);
void pgproto_put_u8(struct pgbuf *b, uint8_t v);
void pgproto_put_i16(struct pgbuf *b, int16_t v);
void pgproto_put_i32(struct pgbuf *b, int32_t v);
void pgproto_put_bytes(struct pgbuf *b, const void *p, size_t n);
void pgproto_put_cstr(struct pgbuf *b, const char *s);        /* with its NUL */
/* name as a quoted SQL identifier: "name", with every " in it doubled (no NUL). */
void pgproto_put_ident(struct pgbuf *b, const char *name, size_t len);
/* Close the open message; returns 0, or -1 if the buffer ran out of memory. */
int pgproto_end(struct pgbuf *b);

/* Whole messages the server sends. */
void pgproto_auth_request(struct pgbuf *b, int32_t code, const void *extra, size_t n);
void pgproto_parameter_status(struct pgbuf *b, const char *name, const char *value);
void pgproto_backend_key(struct pgbuf *b, int32_t pid, int32_t key);
void pgproto_ready(struct pgbuf *b, char txstatus);
void pgproto_command_complete(struct pgbuf *b, const char *tag);
void pgproto_empty_query(struct pgbuf *b);
/* 25P02's message, from the worker and from the executor alike. */
#define PGPROTO_TX_ABORTED "current transaction is aborted, commands ignored until end of transaction block"

/*
 * ErrorResponse ('E') or NoticeResponse ('N') with severity (S and V),
 * SQLSTATE (C) and message (M); detail and hint may be NULL.
 */
void pgproto_error(struct pgbuf *b, char type, const char *severity,
                   const char *sqlstate, const char *message,
                   const char *detail, const char *hint);
/* The same with a CONTEXT line ('W'), e.g. "COPY t, line 3"; where may be NULL. */
void pgproto_error_where(struct pgbuf *b, char type, const char *severity, const char *sqlstate,
                         const char *message, const char *detail, const char *hint, const char *where);

/* RowDescription helpers: begin with the column count, then one field each. */
void pgproto_row_description_begin(struct pgbuf *b, int16_t ncols);
void pgproto_row_description_field(struct pgbuf *b, const char *name, int32_t type_oid,
                                   int16_t type_len, int32_t type_mod, int16_t format);
/* DataRow: begin with the column count, then one value each (NULL: p == NULL). */
void pgproto_data_row_begin(struct pgbuf *b, int16_t ncols);
void pgproto_data_row_value(struct pgbuf *b, const void *p, int32_t n);

struct pgproto_reader {
    const uint8_t *p;
    size_t len;
    size_t pos;
    int err;
};

void pgproto_reader_init(struct pgproto_reader *r, const void *p, size_t len);
int pgproto_get_u8(struct pgproto_reader *r, uint8_t *v);
int pgproto_get_i16(struct pgproto_reader *r, int16_t *v);
int pgproto_get_i32(struct pgproto_reader *r, int32_t *v);
/* Points *s at a NUL-terminated string inside the message (no copy). */
int pgproto_get_cstr(struct pgproto_reader *r, const char **s);
int pgproto_get_bytes(struct pgproto_reader *r, const uint8_t **p, size_t n);
size_t pgproto_remaining(const struct pgproto_reader *r);

/* Big-endian loads and stores for code that looks at raw headers. */
static inline uint32_t pgproto_load_u32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void pgproto_store_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

#endif
