/*
 * pgproto: building and reading PostgreSQL v3 protocol messages.
 *
 * A struct pgbuf grows by doubling.  An allocation failure poisons the
 * buffer (oom) instead of being reported by every put: callers build a whole
 * message and check once, at pgproto_end().  The reader never looks past the
 * end of the message it was given.
 */
#include "common/pgproto.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PGBUF_MIN_CAP 256

void pgbuf_init(struct pgbuf *b)
{
    memset(b, 0, sizeof(*b));
}

void pgbuf_free(struct pgbuf *b)
{
    free(b->data);
    pgbuf_init(b);
}

void pgbuf_reset(struct pgbuf *b)
{
    b->len = 0;
    b->msg_start = 0;
    b->oom = 0;
}

int pgbuf_reserve(struct pgbuf *b, size_t more)
{
    size_t need, cap;
    uint8_t *p;

    if (b->oom)
        return -1;
    if (more > SIZE_MAX - b->len)
        goto failed;
    need = b->len + more;
    if (need <= b->cap)
        return 0;

    cap = b->cap ? b->cap : PGBUF_MIN_CAP;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    p = realloc(b->data, cap);
    if (p == NULL)
        goto failed;
    b->data = p;
    b->cap = cap;
    return 0;

failed:
    b->oom = 1;
    return -1;
}

void pgproto_put_bytes(struct pgbuf *b, const void *p, size_t n)
{
    if (n == 0 || pgbuf_reserve(b, n) < 0)
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void pgproto_put_u8(struct pgbuf *b, uint8_t v)
{
    pgproto_put_bytes(b, &v, 1);
}

void pgproto_put_ident(struct pgbuf *b, const char *name, size_t len)
{
    pgproto_put_u8(b, '"');
    for (size_t i = 0; i < len; i++) {
        pgproto_put_u8(b, (uint8_t)name[i]);
        if (name[i] == '"')
            pgproto_put_u8(b, '"');
    }
    pgproto_put_u8(b, '"');
}

void pgproto_put_i16(struct pgbuf *b, int16_t v)
{
    uint16_t u = (uint16_t)v;
    uint8_t be[2] = { (uint8_t)(u >> 8), (uint8_t)u };

    pgproto_put_bytes(b, be, sizeof(be));
}

void pgproto_put_i32(struct pgbuf *b, int32_t v)
{
    uint8_t be[4];

    pgproto_store_u32(be, (uint32_t)v);
    pgproto_put_bytes(b, be, sizeof(be));
}

void pgproto_put_cstr(struct pgbuf *b, const char *s)
{
    pgproto_put_bytes(b, s, strlen(s) + 1);
}

/*
 * The length placeholder is written as zeros and only patched by
 * pgproto_end(), so at that point the byte at msg_start is 0 exactly when
 * the message is untyped (a typed message starts with its non-zero type).
 */
void pgproto_begin(struct pgbuf *b, char type)
{
    static const uint8_t placeholder[4];

    b->msg_start = b->len;
    if (type != 0)
        pgproto_put_u8(b, (uint8_t)type);
    pgproto_put_bytes(b, placeholder, sizeof(placeholder));
}

int pgproto_end(struct pgbuf *b)
{
    size_t len_at, msglen;

    if (b->oom)
        return -1;
    len_at = b->msg_start + (b->data[b->msg_start] != 0 ? 1 : 0);
    msglen = b->len - len_at;
    if (msglen > INT32_MAX) {
        /* Unsendable: the peer could not parse what follows either. */
        b->oom = 1;
        return -1;
    }
    pgproto_store_u32(b->data + len_at, (uint32_t)msglen);
    return 0;
}

void pgproto_auth_request(struct pgbuf *b, int32_t code, const void *extra, size_t n)
{
    pgproto_begin(b, 'R');
    pgproto_put_i32(b, code);
    pgproto_put_bytes(b, extra, n);
    pgproto_end(b);
}

void pgproto_parameter_status(struct pgbuf *b, const char *name, const char *value)
{
    pgproto_begin(b, 'S');
    pgproto_put_cstr(b, name);
    pgproto_put_cstr(b, value);
    pgproto_end(b);
}

void pgproto_backend_key(struct pgbuf *b, int32_t pid, int32_t key)
{
    pgproto_begin(b, 'K');
    pgproto_put_i32(b, pid);
    pgproto_put_i32(b, key);
    pgproto_end(b);
}

void pgproto_ready(struct pgbuf *b, char txstatus)
{
    pgproto_begin(b, 'Z');
    pgproto_put_u8(b, (uint8_t)txstatus);
    pgproto_end(b);
}

void pgproto_command_complete(struct pgbuf *b, const char *tag)
{
    pgproto_begin(b, 'C');
    pgproto_put_cstr(b, tag);
    pgproto_end(b);
}

void pgproto_empty_query(struct pgbuf *b)
{
    pgproto_begin(b, 'I');
    pgproto_end(b);
}

static void pgproto_put_field(struct pgbuf *b, char code, const char *value)
{
    pgproto_put_u8(b, (uint8_t)code);
    pgproto_put_cstr(b, value);
}

/*
 * V carries the same severity as S: pgiris never localizes it, and clients
 * since PostgreSQL 9.6 prefer V because it is guaranteed not to be.
 */
void pgproto_error(struct pgbuf *b, char type, const char *severity,
                   const char *sqlstate, const char *message,
                   const char *detail, const char *hint)
{
    pgproto_error_where(b, type, severity, sqlstate, message, detail, hint, NULL);
}

void pgproto_error_where(struct pgbuf *b, char type, const char *severity, const char *sqlstate,
                         const char *message, const char *detail, const char *hint, const char *where)
{
    pgproto_begin(b, type);
    pgproto_put_field(b, 'S', severity);
    pgproto_put_field(b, 'V', severity);
    pgproto_put_field(b, 'C', sqlstate);
    pgproto_put_field(b, 'M', message);
    if (detail != NULL)
        pgproto_put_field(b, 'D', detail);
    if (hint != NULL)
        pgproto_put_field(b, 'H', hint);
    if (where != NULL)
        pgproto_put_field(b, 'W', where);
    pgproto_put_u8(b, 0);
    pgproto_end(b);
}

void pgproto_row_description_begin(struct pgbuf *b, int16_t ncols)
{
    pgproto_begin(b, 'T');
    pgproto_put_i16(b, ncols);
}

/* pgiris results are not tied to a table column: table OID and attnum are 0. */
void pgproto_row_description_field(struct pgbuf *b, const char *name, int32_t type_oid,
                                   int16_t type_len, int32_t type_mod, int16_t format)
{
    pgproto_put_cstr(b, name);
    pgproto_put_i32(b, 0);
    pgproto_put_i16(b, 0);
    pgproto_put_i32(b, type_oid);
    pgproto_put_i16(b, type_len);
    pgproto_put_i32(b, type_mod);
    pgproto_put_i16(b, format);
}

void pgproto_data_row_begin(struct pgbuf *b, int16_t ncols)
{
    pgproto_begin(b, 'D');
    pgproto_put_i16(b, ncols);
}

void pgproto_data_row_value(struct pgbuf *b, const void *p, int32_t n)
{
    if (p == NULL || n < 0) {
        pgproto_put_i32(b, -1);
        return;
    }
    pgproto_put_i32(b, n);
    pgproto_put_bytes(b, p, (size_t)n);
}

void pgproto_reader_init(struct pgproto_reader *r, const void *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->pos = 0;
    r->err = 0;
}

size_t pgproto_remaining(const struct pgproto_reader *r)
{
    return r->len - r->pos;
}

/*
 * Every getter goes through here.  Once a read has failed the reader stays
 * failed, so a parser may check r->err once after a run of gets.
 */
static int pgproto_take(struct pgproto_reader *r, size_t n, const uint8_t **at)
{
    if (r->err || n > pgproto_remaining(r)) {
        r->err = 1;
        *at = NULL;
        return -1;
    }
    *at = r->p + r->pos;
    r->pos += n;
    return 0;
}

int pgproto_get_u8(struct pgproto_reader *r, uint8_t *v)
{
    const uint8_t *at;

    *v = 0;
    if (pgproto_take(r, 1, &at) < 0)
        return -1;
    *v = at[0];
    return 0;
}

int pgproto_get_i16(struct pgproto_reader *r, int16_t *v)
{
    const uint8_t *at;

    *v = 0;
    if (pgproto_take(r, 2, &at) < 0)
        return -1;
    *v = (int16_t)(((uint16_t)at[0] << 8) | at[1]);
    return 0;
}

int pgproto_get_i32(struct pgproto_reader *r, int32_t *v)
{
    const uint8_t *at;

    *v = 0;
    if (pgproto_take(r, 4, &at) < 0)
        return -1;
    *v = (int32_t)pgproto_load_u32(at);
    return 0;
}

int pgproto_get_cstr(struct pgproto_reader *r, const char **s)
{
    const uint8_t *nul = NULL, *at;

    *s = NULL;
    if (!r->err && pgproto_remaining(r) > 0)
        nul = memchr(r->p + r->pos, 0, pgproto_remaining(r));
    if (nul == NULL) {
        r->err = 1;
        return -1;
    }
    pgproto_take(r, (size_t)(nul - (r->p + r->pos)) + 1, &at);
    *s = (const char *)at;
    return 0;
}

int pgproto_get_bytes(struct pgproto_reader *r, const uint8_t **p, size_t n)
{
    return pgproto_take(r, n, p);
}

const char *pgproto_type_name(int32_t oid)
{
    switch (oid) {
    case PG_OID_BOOL: return "bool";
    case PG_OID_BYTEA: return "bytea";
    case PG_OID_INT8: return "int8";
    case PG_OID_INT2: return "int2";
    case PG_OID_INT4: return "int4";
    case PG_OID_TEXT: return "text";
    case PG_OID_JSON: return "json";
    case PG_OID_FLOAT4: return "float4";
    case PG_OID_FLOAT8: return "float8";
    case PG_OID_MONEY: return "money";
    case PG_OID_BPCHAR: return "bpchar";
    case PG_OID_VARCHAR: return "varchar";
    case PG_OID_DATE: return "date";
    case PG_OID_TIME: return "time";
    case PG_OID_TIMESTAMP: return "timestamp";
    case PG_OID_TIMESTAMPTZ: return "timestamptz";
    case PG_OID_INTERVAL: return "interval";
    case PG_OID_TIMETZ: return "timetz";
    case PG_OID_NUMERIC: return "numeric";
    case PG_OID_UUID: return "uuid";
    case PG_OID_JSONB: return "jsonb";
    default: return NULL;
    }
}

int32_t pgproto_type_oid(const char *name)
{
    static const struct {
        const char *name;
        int32_t oid;
    } types[] = {
        { "bool", PG_OID_BOOL },         { "boolean", PG_OID_BOOL },         { "bytea", PG_OID_BYTEA },
        { "int8", PG_OID_INT8 },         { "bigint", PG_OID_INT8 },          { "int2", PG_OID_INT2 },
        { "smallint", PG_OID_INT2 },     { "int4", PG_OID_INT4 },            { "integer", PG_OID_INT4 },
        { "int", PG_OID_INT4 },          { "text", PG_OID_TEXT },            { "varchar", PG_OID_VARCHAR },
        { "real", PG_OID_FLOAT4 },       { "float4", PG_OID_FLOAT4 },        { "float8", PG_OID_FLOAT8 },
        { "double precision", PG_OID_FLOAT8 }, { "numeric", PG_OID_NUMERIC }, { "decimal", PG_OID_NUMERIC },
        { "date", PG_OID_DATE },         { "time", PG_OID_TIME },            { "timestamp", PG_OID_TIMESTAMP },
        { "timestamptz", PG_OID_TIMESTAMPTZ }, { "timestamp with time zone", PG_OID_TIMESTAMPTZ },
        { "timestamp without time zone", PG_OID_TIMESTAMP }, { "time without time zone", PG_OID_TIME },
        { "time with time zone", PG_OID_TIMETZ }, { "timetz", PG_OID_TIMETZ },
        { "character varying", PG_OID_VARCHAR }, { "uuid", PG_OID_UUID },
    };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcasecmp(name, types[i].name) == 0)
            return types[i].oid;
    return 0;
}

int pgproto_bool_parse(const char *v, size_t n)
{
    static const struct {
        const char *word;
        size_t min;
        int value;
    } words[] = {
        { "true", 1, 1 }, { "false", 1, 0 }, { "yes", 1, 1 }, { "no", 1, 0 },
        { "on", 2, 1 },   { "off", 2, 0 },   { "1", 1, 1 },   { "0", 1, 0 },
    };

    while (n > 0 && isspace((unsigned char)*v)) {
        v++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)v[n - 1]))
        n--;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (n >= words[i].min && n <= strlen(words[i].word) &&
            strncasecmp(v, words[i].word, n) == 0)
            return words[i].value;
    return -1;
}
