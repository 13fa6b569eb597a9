/*
 * config: reading the pgiris ini file into a struct cfg.
 *
 * inih splits lines into keys and values; this file owns everything else.
 * The line reader handed to inih counts lines, rejects lines too long for
 * inih's buffer (which it would otherwise cut silently, a truncated ODBC
 * connection string being the likely victim) and recognises section headers
 * itself, because inih cuts section names at 49 characters and says nothing
 * about a section that has no keys.  The [pgiris] keys are one table that
 * drives defaults, parsing and SHOW CONFIG, so the three cannot disagree.
 * The first error ends the parse.
 */
#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#define CFG_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A year: larger timeouts are typing mistakes, and this keeps every later
 * conversion to milliseconds or nanoseconds in range. */
#define CFG_SECONDS_MAX 31536000.0

/* PostgreSQL itself never sends or accepts a message above 1GB. */
#define CFG_MESSAGE_SIZE_MAX (1024LL * 1024 * 1024)

#define CFG_RING_SIZE_MIN 4096LL
#define CFG_RING_SIZE_MAX (64LL * 1024 * 1024)

#define CFG_POOL_SIZE_MAX 10000

#define CFG_CACHE_SIZE_MAX (1024LL * 1024 * 1024)

enum cfg_kind {
    CFG_KIND_STRING,
    CFG_KIND_INT,
    CFG_KIND_WORKERS,    /* "auto" (stored as 0) or an integer */
    CFG_KIND_POOL_MODE,
    CFG_KIND_AUTH_TYPE,
    CFG_KIND_SECONDS,
    CFG_KIND_BYTES,      /* integer with an optional kB, MB or GB suffix */
    CFG_KIND_RING_BYTES, /* bytes, and a power of two */
    CFG_KIND_TLS_SSLMODE,
    CFG_KIND_TLS_PROTOCOLS,
};

struct cfg_key {
    const char *name;
    enum cfg_kind kind;
    size_t offset;
    long long min, max;
    int reloadable;
    const char *default_value;
};

#define CFG_KEY(field, kind, min, max, reloadable, def) \
    { #field, kind, offsetof(struct cfg, field), min, max, reloadable, def }

/* The [pgiris] keys, in SHOW CONFIG order. */
static const struct cfg_key cfg_keys[] = {
    CFG_KEY(listen_addr, CFG_KIND_STRING, 0, 0, 0, "127.0.0.1"),
    CFG_KEY(listen_port, CFG_KIND_INT, 1, 65535, 0, "6432"),
    CFG_KEY(unix_socket_dir, CFG_KIND_STRING, 0, 0, 0, ""),
    CFG_KEY(tcp_defer_accept, CFG_KIND_SECONDS, 0, 0, 1, "45"),
    CFG_KEY(workers, CFG_KIND_WORKERS, 1, 256, 0, "auto"),
    CFG_KEY(pool_mode, CFG_KIND_POOL_MODE, 0, 0, 1, "transaction"),
    CFG_KEY(default_pool_size, CFG_KIND_INT, 1, CFG_POOL_SIZE_MAX, 1, "20"),
    CFG_KEY(min_pool_size, CFG_KIND_INT, 0, CFG_POOL_SIZE_MAX, 1, "0"),
    CFG_KEY(max_client_conn, CFG_KIND_INT, 1, 1000000, 0, "10000"),
    CFG_KEY(max_backend_slots, CFG_KIND_INT, 1, 65536, 0, "256"),
    CFG_KEY(auth_type, CFG_KIND_AUTH_TYPE, 0, 0, 1, "scram-sha-256"),
    CFG_KEY(auth_file, CFG_KIND_STRING, 0, 0, 1, "etc/userlist.txt"),
    CFG_KEY(admin_users, CFG_KIND_STRING, 0, 0, 1, ""),
    CFG_KEY(stats_users, CFG_KIND_STRING, 0, 0, 1, ""),
    CFG_KEY(query_wait_timeout, CFG_KIND_SECONDS, 0, 0, 1, "120"),
    CFG_KEY(client_login_timeout, CFG_KIND_SECONDS, 0, 0, 1, "60"),
    CFG_KEY(shutdown_timeout, CFG_KIND_SECONDS, 0, 0, 1, "30"),
    CFG_KEY(server_connect_timeout, CFG_KIND_SECONDS, 0, 0, 1, "15"),
    CFG_KEY(max_message_size, CFG_KIND_BYTES, 1024, CFG_MESSAGE_SIZE_MAX, 1, "67108864"),
    CFG_KEY(ring_size, CFG_KIND_RING_BYTES, CFG_RING_SIZE_MIN, CFG_RING_SIZE_MAX, 0, "262144"),
    CFG_KEY(translate_cache_size, CFG_KIND_BYTES, 0, CFG_CACHE_SIZE_MAX, 1, "4194304"),
    CFG_KEY(shared_cache_size, CFG_KIND_BYTES, 0, CFG_CACHE_SIZE_MAX, 0, "8388608"),
    CFG_KEY(logfile, CFG_KIND_STRING, 0, 0, 1, ""),
    CFG_KEY(pidfile, CFG_KIND_STRING, 0, 0, 1, ""),
    CFG_KEY(verbose, CFG_KIND_INT, 0, 2, 1, "0"),
    CFG_KEY(client_tls_sslmode, CFG_KIND_TLS_SSLMODE, 0, 0, 1, "disable"),
    CFG_KEY(client_tls_key_file, CFG_KIND_STRING, 0, 0, 1, ""),
    CFG_KEY(client_tls_cert_file, CFG_KIND_STRING, 0, 0, 1, ""),
    CFG_KEY(client_tls_ca_file, CFG_KIND_STRING, 0, 0, 1, ""),
    CFG_KEY(client_tls_protocols, CFG_KIND_TLS_PROTOCOLS, 0, 0, 1, "secure"),
    CFG_KEY(client_tls_ciphers, CFG_KIND_STRING, 0, 0, 1, "HIGH:!aNULL"),
};

#define CFG_NKEYS CFG_ARRAY_LEN(cfg_keys)

enum cfg_db_key {
    CFG_DB_DIALECT, CFG_DB_ODBC, CFG_DB_POOL_SIZE, CFG_DB_MIN_POOL_SIZE, CFG_DB_AUTO_PARAMETERIZE
};
#define CFG_DB_NKEYS 5

static const char *const cfg_db_keys[CFG_DB_NKEYS] = {
    [CFG_DB_DIALECT] = "dialect",
    [CFG_DB_ODBC] = "odbc",
    [CFG_DB_POOL_SIZE] = "pool_size",
    [CFG_DB_MIN_POOL_SIZE] = "min_pool_size",
    [CFG_DB_AUTO_PARAMETERIZE] = "auto_parameterize",
};

/* The spellings of a boolean, false at even indexes. */
static const char *const cfg_bool_names[] = { "off", "on", "false", "true", "no", "yes", "0", "1" };

static const char *const cfg_pool_mode_names[] = {
    [CFG_POOL_SESSION] = "session",
    [CFG_POOL_TRANSACTION] = "transaction",
};

static const char *const cfg_auth_type_names[] = {
    [CFG_AUTH_TRUST] = "trust",
    [CFG_AUTH_MD5] = "md5",
    [CFG_AUTH_SCRAM] = "scram-sha-256",
};

static const char *const cfg_dialect_names[] = {
    [CFG_DIALECT_SQLITE] = "sqlite",
    [CFG_DIALECT_POSTGRES] = "postgres",
    [CFG_DIALECT_IRIS] = "iris",
};

static const char *const cfg_tls_sslmode_names[] = {
    [CFG_TLS_DISABLE] = "disable",
    [CFG_TLS_ALLOW] = "allow",
    [CFG_TLS_PREFER] = "prefer",
    [CFG_TLS_REQUIRE] = "require",
};

static const char *const cfg_tls_protocols_names[] = {
    [CFG_TLS_SECURE] = "secure",
    [CFG_TLS_ALL] = "all",
    [CFG_TLS_V1_2] = "tlsv1.2",
    [CFG_TLS_V1_3] = "tlsv1.3",
};

enum cfg_section { CFG_SECTION_NONE, CFG_SECTION_PGIRIS, CFG_SECTION_DATABASE };

struct cfg_parser {
    FILE *fp;
    struct cfg *cfg;
    char *err;
    size_t errlen;
    int failed;
    int error_line;                 /* line of the recorded error, 0: whole file */
    int lineno;
    enum cfg_section section;
    struct cfg_database *db;        /* the current [database NAME] */
    int after_key;                  /* inih reads an indented line after a key */
    int continuation;               /* as more of that key's value */
    int key_line[CFG_NKEYS];        /* where each [pgiris] key was set, 0: not yet */
    int db_key_line[CFG_MAX_DATABASES][CFG_DB_NKEYS];
};

/* Record the first error as "PATH:LINE: message" (line 0: "PATH: message"). */
__attribute__((format(printf, 3, 4)))
static int cfg_fail(struct cfg_parser *p, int line, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (p->failed)
        return -1;
    p->failed = 1;
    p->error_line = line;
    if (p->errlen == 0)
        return -1;

    if (line > 0)
        n = snprintf(p->err, p->errlen, "%s:%d: ", p->cfg->path, line);
    else
        n = snprintf(p->err, p->errlen, "%s: ", p->cfg->path);
    if (n < 0 || (size_t)n >= p->errlen)
        return -1;
    va_start(ap, fmt);
    vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static int cfg_parse_int(const char *v, long long min, long long max, long long *out,
                         char *why, size_t whylen)
{
    char *end;
    long long x;

    errno = 0;
    x = strtoll(v, &end, 10);
    if (end == v || *end != '\0') {
        snprintf(why, whylen, "'%s' is not an integer", v);
        return -1;
    }
    if (errno == ERANGE || x < min || x > max) {
        snprintf(why, whylen, "'%s' is out of range %lld..%lld", v, min, max);
        return -1;
    }
    *out = x;
    return 0;
}

/* Units as PostgreSQL spells them, with 1024 multiples. */
static int cfg_parse_bytes(const char *v, long long min, long long max, int pow2, size_t *out,
                           char *why, size_t whylen)
{
    static const struct {
        const char *unit;
        long long mult;
    } units[] = {
        { "", 1 },
        { "kB", 1024LL },
        { "MB", 1024LL * 1024 },
        { "GB", 1024LL * 1024 * 1024 },
    };
    char *end;
    long long x;
    size_t i;

    if (!isdigit((unsigned char)*v))
        goto not_size;
    errno = 0;
    x = strtoll(v, &end, 10);
    while (*end == ' ' || *end == '\t')
        end++;
    for (i = 0; i < CFG_ARRAY_LEN(units); i++)
        if (strcmp(end, units[i].unit) == 0)
            break;
    if (i == CFG_ARRAY_LEN(units))
        goto not_size;

    if (errno == ERANGE || x > max / units[i].mult || x * units[i].mult < min) {
        snprintf(why, whylen, "'%s' is out of range %lld..%lld bytes", v, min, max);
        return -1;
    }
    x *= units[i].mult;
    if (pow2 && (x & (x - 1)) != 0) {
        snprintf(why, whylen, "'%s' is not a power of two", v);
        return -1;
    }
    *out = (size_t)x;
    return 0;

not_size:
    snprintf(why, whylen, "'%s' is not a size (bytes, or a number followed by kB, MB or GB)", v);
    return -1;
}

static int cfg_parse_seconds(const char *v, double *out, char *why, size_t whylen)
{
    char *end;
    double x;

    x = strtod(v, &end);
    if (end == v || *end != '\0') {
        snprintf(why, whylen, "'%s' is not a number of seconds", v);
        return -1;
    }
    /* signbit() also refuses "-0", which would print back as "-0". */
    if (!isfinite(x) || signbit(x) || x > CFG_SECONDS_MAX) {
        snprintf(why, whylen, "'%s' is out of range 0..%.0f seconds", v, CFG_SECONDS_MAX);
        return -1;
    }
    *out = x;
    return 0;
}

/* Enum values compare case-insensitively, as in pgbouncer. */
static int cfg_parse_enum(const char *v, const char *const *names, size_t nnames, int *out,
                          char *why, size_t whylen)
{
    size_t i, n;

    for (i = 0; i < nnames; i++) {
        if (strcasecmp(v, names[i]) == 0) {
            *out = (int)i;
            return 0;
        }
    }
    n = (size_t)snprintf(why, whylen, "'%s' is not one of", v);
    for (i = 0; i < nnames && n < whylen; i++)
        n += (size_t)snprintf(why + n, whylen - n, "%s %s", i > 0 ? "," : "", names[i]);
    return -1;
}

static int cfg_key_set(struct cfg *cfg, const struct cfg_key *k, const char *v,
                       char *why, size_t whylen)
{
    char *field = (char *)cfg + k->offset;
    long long i;
    int e;
    char *s;

    if (k->kind != CFG_KIND_STRING && *v == '\0') {
        snprintf(why, whylen, "value is empty");
        return -1;
    }

    switch (k->kind) {
    case CFG_KIND_STRING:
        s = strdup(v);
        if (s == NULL) {
            snprintf(why, whylen, "out of memory");
            return -1;
        }
        free(*(char **)field);
        *(char **)field = s;
        break;
    case CFG_KIND_INT:
        if (cfg_parse_int(v, k->min, k->max, &i, why, whylen) < 0)
            return -1;
        *(int *)field = (int)i;
        break;
    case CFG_KIND_WORKERS:
        if (strcasecmp(v, "auto") == 0) {
            *(int *)field = 0;
            break;
        }
        if (cfg_parse_int(v, k->min, k->max, &i, why, whylen) < 0) {
            snprintf(why, whylen, "'%s' is not 'auto' or an integer in %lld..%lld",
                     v, k->min, k->max);
            return -1;
        }
        *(int *)field = (int)i;
        break;
    case CFG_KIND_POOL_MODE:
        if (cfg_parse_enum(v, cfg_pool_mode_names, CFG_ARRAY_LEN(cfg_pool_mode_names),
                           &e, why, whylen) < 0)
            return -1;
        *(enum cfg_pool_mode *)field = (enum cfg_pool_mode)e;
        break;
    case CFG_KIND_AUTH_TYPE:
        if (cfg_parse_enum(v, cfg_auth_type_names, CFG_ARRAY_LEN(cfg_auth_type_names),
                           &e, why, whylen) < 0)
            return -1;
        *(enum cfg_auth_type *)field = (enum cfg_auth_type)e;
        break;
    case CFG_KIND_TLS_SSLMODE:
        if (cfg_parse_enum(v, cfg_tls_sslmode_names, CFG_ARRAY_LEN(cfg_tls_sslmode_names),
                           &e, why, whylen) < 0)
            return -1;
        *(enum cfg_tls_sslmode *)field = (enum cfg_tls_sslmode)e;
        break;
    case CFG_KIND_TLS_PROTOCOLS:
        if (cfg_parse_enum(v, cfg_tls_protocols_names, CFG_ARRAY_LEN(cfg_tls_protocols_names),
                           &e, why, whylen) < 0)
            return -1;
        *(enum cfg_tls_protocols *)field = (enum cfg_tls_protocols)e;
        break;
    case CFG_KIND_SECONDS:
        if (cfg_parse_seconds(v, (double *)field, why, whylen) < 0)
            return -1;
        break;
    case CFG_KIND_BYTES:
    case CFG_KIND_RING_BYTES:
        if (cfg_parse_bytes(v, k->min, k->max, k->kind == CFG_KIND_RING_BYTES,
                            (size_t *)field, why, whylen) < 0)
            return -1;
        break;
    }
    return 0;
}

/* The value of a key as SHOW CONFIG prints it; may point into buf. */
static const char *cfg_key_format(const struct cfg *cfg, const struct cfg_key *k,
                                  char *buf, size_t len)
{
    const char *field = (const char *)cfg + k->offset;

    switch (k->kind) {
    case CFG_KIND_STRING:
        return *(char *const *)field;
    case CFG_KIND_INT:
        snprintf(buf, len, "%d", *(const int *)field);
        break;
    case CFG_KIND_WORKERS:
        if (*(const int *)field == 0)
            return "auto";
        snprintf(buf, len, "%d", *(const int *)field);
        break;
    case CFG_KIND_POOL_MODE:
        return cfg_pool_mode_name(*(const enum cfg_pool_mode *)field);
    case CFG_KIND_AUTH_TYPE:
        return cfg_auth_type_name(*(const enum cfg_auth_type *)field);
    case CFG_KIND_TLS_SSLMODE:
        return cfg_tls_sslmode_name(*(const enum cfg_tls_sslmode *)field);
    case CFG_KIND_TLS_PROTOCOLS:
        return cfg_tls_protocols_name(*(const enum cfg_tls_protocols *)field);
    case CFG_KIND_SECONDS:
        /* %.15g: "120" and "0.5", yet every value typed in reads back as typed. */
        snprintf(buf, len, "%.15g", *(const double *)field);
        break;
    case CFG_KIND_BYTES:
    case CFG_KIND_RING_BYTES:
        snprintf(buf, len, "%zu", *(const size_t *)field);
        break;
    }
    return buf;
}

/* The index of the [pgiris] key 'name' in cfg_keys, or CFG_NKEYS. */
static size_t cfg_key_index(const char *name)
{
    size_t i;

    for (i = 0; i < CFG_NKEYS; i++)
        if (strcmp(cfg_keys[i].name, name) == 0)
            break;
    return i;
}

static int cfg_set_pgiris(struct cfg_parser *p, const char *name, const char *value)
{
    char why[256];
    size_t i;

    i = cfg_key_index(name);
    if (i == CFG_NKEYS)
        return cfg_fail(p, p->lineno, "key '%s': unknown key in [pgiris]", name);
    if (p->key_line[i] != 0)
        return cfg_fail(p, p->lineno, "key '%s': already set at line %d", name, p->key_line[i]);
    if (cfg_key_set(p->cfg, &cfg_keys[i], value, why, sizeof(why)) < 0)
        return cfg_fail(p, p->lineno, "key '%s': %s", name, why);
    p->key_line[i] = p->lineno;
    return 0;
}

static int cfg_set_database(struct cfg_parser *p, const char *name, const char *value)
{
    struct cfg_database *db = p->db;
    int *seen = p->db_key_line[db - p->cfg->databases];
    char why[256];
    long long n;
    int e;
    size_t i;

    for (i = 0; i < CFG_DB_NKEYS; i++)
        if (strcmp(cfg_db_keys[i], name) == 0)
            break;
    if (i == CFG_DB_NKEYS)
        return cfg_fail(p, p->lineno, "key '%s': unknown key in [database %s]", name, db->name);
    if (seen[i] != 0)
        return cfg_fail(p, p->lineno, "key '%s': already set at line %d", name, seen[i]);

    switch ((enum cfg_db_key)i) {
    case CFG_DB_DIALECT:
        if (cfg_parse_enum(value, cfg_dialect_names, CFG_ARRAY_LEN(cfg_dialect_names),
                           &e, why, sizeof(why)) < 0)
            return cfg_fail(p, p->lineno, "key '%s': %s", name, why);
        db->dialect = (enum cfg_dialect)e;
        break;
    case CFG_DB_ODBC:
        if (*value == '\0')
            return cfg_fail(p, p->lineno, "key '%s': connection string is empty", name);
        db->odbc = strdup(value);
        if (db->odbc == NULL)
            return cfg_fail(p, p->lineno, "key '%s': out of memory", name);
        break;
    case CFG_DB_POOL_SIZE:
    case CFG_DB_MIN_POOL_SIZE:
        if (*value == '\0')
            return cfg_fail(p, p->lineno, "key '%s': value is empty", name);
        if (cfg_parse_int(value, i == CFG_DB_POOL_SIZE ? 1 : 0, CFG_POOL_SIZE_MAX, &n,
                          why, sizeof(why)) < 0)
            return cfg_fail(p, p->lineno, "key '%s': %s", name, why);
        if (i == CFG_DB_POOL_SIZE)
            db->pool_size = (int)n;
        else
            db->min_pool_size = (int)n;
        break;
    case CFG_DB_AUTO_PARAMETERIZE:
        if (cfg_parse_enum(value, cfg_bool_names, CFG_ARRAY_LEN(cfg_bool_names), &e,
                           why, sizeof(why)) < 0)
            return cfg_fail(p, p->lineno, "key '%s': %s", name, why);
        db->auto_parameterize = e % 2;
        break;
    }
    seen[i] = p->lineno;
    return 0;
}

/*
 * inih's handler.  Its 'section' argument is ignored: the reader has already
 * set p->section from the full header, which inih may have truncated.
 */
static int cfg_on_value(void *user, const char *section, const char *name, const char *value)
{
    struct cfg_parser *p = user;
    int rc;

    p->after_key = 1;
    if (p->continuation)
        rc = cfg_fail(p, p->lineno,
                      "key '%s': continued on an indented line; continuation lines are not "
                      "supported (remove the indentation)", name);
    else if (p->section == CFG_SECTION_PGIRIS)
        rc = cfg_set_pgiris(p, name, value);
    else if (p->section == CFG_SECTION_DATABASE)
        rc = cfg_set_database(p, name, value);
    else
        rc = cfg_fail(p, p->lineno,
                      "key '%s': not inside a section (start with [pgiris] or [database NAME])",
                      name);
    return rc == 0;
}

static int cfg_begin_section(struct cfg_parser *p, const char *text, size_t len)
{
    struct cfg *cfg = p->cfg;
    struct cfg_database *db;
    char hdr[INI_MAX_LINE];
    const char *name;
    size_t namelen;
    int i;

    /* A header cut to fit hdr still fails every check that its full text
     * would fail: no valid header is anywhere near this long. */
    while (len > 0 && isspace((unsigned char)*text)) {
        text++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        len--;
    snprintf(hdr, sizeof(hdr), "%.*s", (int)len, text);

    if (strcmp(hdr, "pgiris") == 0) {
        p->section = CFG_SECTION_PGIRIS;
        p->db = NULL;
        return 0;
    }
    if (strncmp(hdr, "database", 8) != 0 || (hdr[8] != '\0' && !isspace((unsigned char)hdr[8])))
        return cfg_fail(p, p->lineno,
                        "section [%s]: unknown section (expected [pgiris] or [database NAME])",
                        hdr);

    name = hdr + 8;
    while (isspace((unsigned char)*name))
        name++;
    namelen = strlen(name);
    if (namelen == 0)
        return cfg_fail(p, p->lineno, "section [%s]: database name is empty", hdr);
    if (namelen >= CFG_NAME_MAX)
        return cfg_fail(p, p->lineno, "section [%s]: database name is longer than %d characters",
                        hdr, CFG_NAME_MAX - 1);
    if (strcmp(name, "pgiris") == 0)
        return cfg_fail(p, p->lineno,
                        "section [%s]: the name 'pgiris' is reserved for the admin console", hdr);
    for (i = 0; i < cfg->ndatabases; i++)
        if (strcmp(cfg->databases[i].name, name) == 0)
            return cfg_fail(p, p->lineno, "section [%s]: database '%s' already defined at line %d",
                            hdr, name, cfg->databases[i].line);
    if (cfg->ndatabases == CFG_MAX_DATABASES)
        return cfg_fail(p, p->lineno, "section [%s]: more than %d databases",
                        hdr, CFG_MAX_DATABASES);

    db = &cfg->databases[cfg->ndatabases++];
    memcpy(db->name, name, namelen + 1);
    db->pool_size = -1;
    db->min_pool_size = -1;
    db->auto_parameterize = 1;
    db->line = p->lineno;
    p->section = CFG_SECTION_DATABASE;
    p->db = db;
    return 0;
}

/*
 * inih's reader: fgets, plus the line bookkeeping inih does not expose.  It
 * sees each line before inih parses it, and inih finishes with a line
 * (handler calls included) before asking for the next, so state set here
 * applies to the handler calls for this line.  Returning NULL ends the parse.
 */
static char *cfg_read_line(char *buf, int size, void *stream)
{
    struct cfg_parser *p = stream;
    const char *s, *end;
    size_t len;

    if (p->failed || fgets(buf, size, p->fp) == NULL)
        return NULL;
    p->lineno++;
    p->continuation = 0;

    len = strlen(buf);
    if (len == (size_t)size - 1 && buf[len - 1] != '\n') {
        cfg_fail(p, p->lineno, "line is longer than %d characters", size - 2);
        return NULL;
    }

    s = buf;
    if (p->lineno == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
        s += 3;
    while (isspace((unsigned char)*s))
        s++;
    if (*s == '\0' || *s == ';' || *s == '#')
        return buf;
    /* Mirrors inih: any indented line after a key continues that key. */
    if (s > buf && p->after_key) {
        p->continuation = 1;
        return buf;
    }
    /* A header without ']' is left to inih, which reports it as a syntax error. */
    if (*s == '[' && (end = strchr(s + 1, ']')) != NULL) {
        p->after_key = 0;
        if (cfg_begin_section(p, s + 1, (size_t)(end - s - 1)) < 0)
            return NULL;
    }
    return buf;
}

static int cfg_validate(struct cfg_parser *p)
{
    const struct cfg *cfg = p->cfg;
    const struct cfg_database *db;
    const char *mode;
    long total = 0;
    int i, size, min, line;

    if (cfg->ndatabases == 0)
        return cfg_fail(p, 0, "no [database NAME] section");

    for (i = 0; i < cfg->ndatabases; i++) {
        db = &cfg->databases[i];
        if (p->db_key_line[i][CFG_DB_DIALECT] == 0)
            return cfg_fail(p, db->line, "section [database %s]: missing required key 'dialect'",
                            db->name);
        if (p->db_key_line[i][CFG_DB_ODBC] == 0)
            return cfg_fail(p, db->line, "section [database %s]: missing required key 'odbc'",
                            db->name);
        size = cfg_db_pool_size(cfg, db);
        min = cfg_db_min_pool_size(cfg, db);
        if (min > size)
            return cfg_fail(p, db->line,
                            "section [database %s]: min_pool_size %d is larger than pool_size %d",
                            db->name, min, size);
        total += size;
    }
    if (total > cfg->max_backend_slots)
        return cfg_fail(p, 0, "the databases' pool sizes add up to %ld, more than "
                        "max_backend_slots = %d", total, cfg->max_backend_slots);
    if (cfg->listen_addr[0] == '\0' && cfg->unix_socket_dir[0] == '\0')
        return cfg_fail(p, 0, "listen_addr and unix_socket_dir are both empty: "
                        "nothing to listen on");
    if (cfg->client_tls_sslmode != CFG_TLS_DISABLE) {
        /* Only a key set in the file can enable TLS, so it has a line. */
        line = p->key_line[cfg_key_index("client_tls_sslmode")];
        mode = cfg_tls_sslmode_name(cfg->client_tls_sslmode);
        if (cfg->client_tls_key_file[0] == '\0')
            return cfg_fail(p, line, "key 'client_tls_sslmode': %s needs client_tls_key_file",
                            mode);
        if (cfg->client_tls_cert_file[0] == '\0')
            return cfg_fail(p, line, "key 'client_tls_sslmode': %s needs client_tls_cert_file",
                            mode);
    }
    return 0;
}

int cfg_load(const char *path, struct cfg **out, char *errbuf, size_t errlen)
{
    struct cfg_parser parser, *p = &parser;
    struct cfg *cfg;
    char why[256];
    size_t i;
    int rc;

    *out = NULL;
    if (errbuf == NULL)
        errlen = 0;
    if (errlen > 0)
        errbuf[0] = '\0';

    cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL || (cfg->path = strdup(path)) == NULL) {
        if (errlen > 0)
            snprintf(errbuf, errlen, "%s: out of memory", path);
        free(cfg);
        return -1;
    }
    memset(p, 0, sizeof(*p));
    p->cfg = cfg;
    p->err = errbuf;
    p->errlen = errlen;

    for (i = 0; i < CFG_NKEYS; i++) {
        if (cfg_key_set(cfg, &cfg_keys[i], cfg_keys[i].default_value, why, sizeof(why)) < 0) {
            cfg_fail(p, 0, "default %s: %s", cfg_keys[i].name, why);
            goto failed;
        }
    }

    p->fp = fopen(path, "r");
    if (p->fp == NULL) {
        cfg_fail(p, 0, "fopen() failed: %s", strerror(errno));
        goto failed;
    }
    rc = ini_parse_stream(cfg_read_line, p, cfg_on_value, p);
    if (ferror(p->fp))
        cfg_fail(p, 0, "read failed: %s", strerror(errno));
    fclose(p->fp);

    /* inih reports lines it cannot split (no '=', no ']') only in its result;
     * the reader stops at our first error, so an earlier line number wins. */
    if (rc > 0 && (!p->failed || rc < p->error_line)) {
        p->failed = 0;
        cfg_fail(p, rc, "syntax error (expected [section] or key = value)");
    } else if (rc < 0) {
        cfg_fail(p, 0, "out of memory");
    }
    if (p->failed || cfg_validate(p) < 0)
        goto failed;

    *out = cfg;
    return 0;

failed:
    cfg_free(cfg);
    return -1;
}

void cfg_free(struct cfg *cfg)
{
    size_t i;
    int d;

    if (cfg == NULL)
        return;
    for (i = 0; i < CFG_NKEYS; i++)
        if (cfg_keys[i].kind == CFG_KIND_STRING)
            free(*(char **)((char *)cfg + cfg_keys[i].offset));
    for (d = 0; d < cfg->ndatabases; d++)
        free(cfg->databases[d].odbc);
    free(cfg->path);
    free(cfg);
}

const struct cfg_database *cfg_find_database(const struct cfg *cfg, const char *name)
{
    int i;

    for (i = 0; i < cfg->ndatabases; i++)
        if (strcmp(cfg->databases[i].name, name) == 0)
            return &cfg->databases[i];
    return NULL;
}

int cfg_db_pool_size(const struct cfg *cfg, const struct cfg_database *db)
{
    return db->pool_size >= 0 ? db->pool_size : cfg->default_pool_size;
}

int cfg_db_min_pool_size(const struct cfg *cfg, const struct cfg_database *db)
{
    return db->min_pool_size >= 0 ? db->min_pool_size : cfg->min_pool_size;
}

const char *cfg_pool_mode_name(enum cfg_pool_mode m)
{
    return (size_t)m < CFG_ARRAY_LEN(cfg_pool_mode_names) ? cfg_pool_mode_names[m] : "unknown";
}

const char *cfg_auth_type_name(enum cfg_auth_type a)
{
    return (size_t)a < CFG_ARRAY_LEN(cfg_auth_type_names) ? cfg_auth_type_names[a] : "unknown";
}

const char *cfg_dialect_name(enum cfg_dialect d)
{
    return (size_t)d < CFG_ARRAY_LEN(cfg_dialect_names) ? cfg_dialect_names[d] : "unknown";
}

const char *cfg_tls_sslmode_name(enum cfg_tls_sslmode m)
{
    return (size_t)m < CFG_ARRAY_LEN(cfg_tls_sslmode_names) ? cfg_tls_sslmode_names[m]
                                                             : "unknown";
}

const char *cfg_tls_protocols_name(enum cfg_tls_protocols p)
{
    return (size_t)p < CFG_ARRAY_LEN(cfg_tls_protocols_names) ? cfg_tls_protocols_names[p]
                                                               : "unknown";
}

int cfg_user_in_list(const char *list, const char *user)
{
    const char *s, *e, *b, *t;
    size_t ulen;

    if (list == NULL || user == NULL || *user == '\0')
        return 0;
    ulen = strlen(user);
    for (s = list;; s = e + 1) {
        e = strchrnul(s, ',');
        for (b = s; b < e && isspace((unsigned char)*b); b++)
            ;
        for (t = e; t > b && isspace((unsigned char)t[-1]); t--)
            ;
        if ((size_t)(t - b) == ulen && memcmp(b, user, ulen) == 0)
            return 1;
        if (*e == '\0')
            return 0;
    }
}

void cfg_foreach(const struct cfg *cfg,
                 void (*fn)(void *arg, const char *key, const char *value, int reloadable),
                 void *arg)
{
    char buf[64];
    size_t i;

    for (i = 0; i < CFG_NKEYS; i++)
        fn(arg, cfg_keys[i].name, cfg_key_format(cfg, &cfg_keys[i], buf, sizeof(buf)),
           cfg_keys[i].reloadable);
}
