/*
 * params: SET / SHOW / RESET answered from the client's own parameters.
 */
#include "worker/params.h"

#include "common/copy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>

struct params_default {
    const char *name;
    const char *value;      /* NULL: the client's user name */
    int reported;           /* sent as ParameterStatus */
};

static const struct params_default params_defaults[] = {
    { "application_name", "", 1 },
    { "client_encoding", "UTF8", 1 },
    { "DateStyle", "ISO, MDY", 1 },
    { "default_transaction_deferrable", "off", 0 },
    { "default_transaction_isolation", "read committed", 0 },
    { "default_transaction_read_only", "off", 1 },
    { "in_hot_standby", "off", 1 },
    { "integer_datetimes", "on", 1 },
    { "IntervalStyle", "postgres", 1 },
    { "is_superuser", "off", 1 },
    { "server_encoding", "UTF8", 1 },
    { "server_version", PGIRIS_SERVER_VERSION, 1 },
    { "session_authorization", NULL, 1 },
    { "standard_conforming_strings", "on", 1 },
    { "TimeZone", "UTC", 1 },
    { "extra_float_digits", "1", 0 },
    { "search_path", "\"$user\", public", 0 },
    { "statement_timeout", "0", 0 },
    { "lock_timeout", "0", 0 },
    { "idle_in_transaction_session_timeout", "0", 0 },
    { "transaction_deferrable", "off", 0 },
    { "transaction_isolation", "read committed", 0 },
    { "transaction_read_only", "off", 0 },
    { "max_identifier_length", "63", 0 },
    { "server_version_num", "150000", 0 },
};

#define PARAMS_NDEFAULTS (sizeof(params_defaults) / sizeof(params_defaults[0]))

static int params_default_index(const char *name)
{
    for (size_t i = 0; i < PARAMS_NDEFAULTS; i++)
        if (strcasecmp(params_defaults[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int params_reported(const char *name);

static const struct params_default *params_default_of(const char *name)
{
    int i = params_default_index(name);
    return i < 0 ? NULL : &params_defaults[i];
}

static struct params_entry *params_find(const struct params *ps, const char *name)
{
    for (int i = 0; i < ps->n; i++)
        if (strcasecmp(ps->e[i].name, name) == 0)
            return &ps->e[i];
    return NULL;
}

/* session_authorization reports who the client is, as PostgreSQL does, without a copy per client. */
static const char *params_default_value(const struct params *ps, int def)
{
    if (def < 0)
        return "";
    return params_defaults[def].value ? params_defaults[def].value : ps->user;
}

static const char *params_entry_value(const struct params *ps, const struct params_entry *e)
{
    return e->value != NULL ? e->value : params_default_value(ps, e->def);
}

static const char *params_entry_reset(const struct params *ps, const struct params_entry *e)
{
    return e->reset_value != NULL ? e->reset_value : params_default_value(ps, e->def);
}

const char *params_get(const struct params *ps, const char *name)
{
    struct params_entry *e = params_find(ps, name);
    if (e != NULL)
        return params_entry_value(ps, e);
    int def = params_default_index(name);
    return def < 0 ? NULL : params_default_value(ps, def);
}

/* The name as the defaults table spells it (DateStyle), else as given; NULL if unknown. */
static const char *params_name(const struct params *ps, const char *name)
{
    struct params_entry *e = params_find(ps, name);
    if (e != NULL)
        return e->name;
    const struct params_default *d = params_default_of(name);
    return d ? d->name : NULL;
}

int64_t params_parse_ms(const char *value)
{
    static const struct {
        const char *unit;
        double ms;
    } units[] = { { "", 1 }, { "us", 0.001 }, { "ms", 1 }, { "s", 1000 }, { "min", 60000 },
                  { "h", 3600000 }, { "d", 86400000 } };
    char *end;
    while (isspace((unsigned char)*value))
        value++;
    if (!isdigit((unsigned char)*value) && *value != '.')
        return -1;
    double v = strtod(value, &end);
    if (end == value)
        return -1;
    while (isspace((unsigned char)*end))
        end++;
    size_t n = strlen(end);
    while (n > 0 && isspace((unsigned char)end[n - 1]))
        n--;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strlen(units[i].unit) == n && strncmp(end, units[i].unit, n) == 0) {
            double ms = v * units[i].ms;
            /* PostgreSQL's bound: INT_MAX milliseconds. */
            if (ms > 2147483647.0)
                return -1;
            /* A positive value below a millisecond still means "some limit". */
            return ms > 0 && ms < 1 ? 1 : (int64_t)(ms + 0.5);
        }
    }
    return -1;
}

/* The transaction modes among the parameters: which one name is, 0 for none. */
enum { PARAMS_TX_ISOLATION = 1, PARAMS_TX_READ_ONLY, PARAMS_TX_DEFERRABLE };

static const char *const params_isolation_names[] = {
    [SQL_ISO_DEFAULT] = "read committed",
    [SQL_ISO_READ_UNCOMMITTED] = "read uncommitted",
    [SQL_ISO_READ_COMMITTED] = "read committed",
    [SQL_ISO_REPEATABLE_READ] = "repeatable read",
    [SQL_ISO_SERIALIZABLE] = "serializable",
};

static int params_tx_mode(const char *name)
{
    if (strncasecmp(name, "default_", 8) == 0)
        name += 8;
    if (strcasecmp(name, "transaction_isolation") == 0)
        return PARAMS_TX_ISOLATION;
    if (strcasecmp(name, "transaction_read_only") == 0)
        return PARAMS_TX_READ_ONLY;
    if (strcasecmp(name, "transaction_deferrable") == 0)
        return PARAMS_TX_DEFERRABLE;
    return 0;
}

/* An isolation level's name as SET takes it; SQL_ISO_DEFAULT if it is none. */
static enum sql_isolation params_isolation_of(const char *v)
{
    for (int i = SQL_ISO_READ_UNCOMMITTED; i <= SQL_ISO_SERIALIZABLE; i++)
        if (strcasecmp(v, params_isolation_names[i]) == 0)
            return (enum sql_isolation)i;
    return SQL_ISO_DEFAULT;
}

/* Keep what the worker reads per statement in parsed form. */
static void params_changed(struct params *ps, const struct params_entry *e)
{
    if (strcasecmp(e->name, "statement_timeout") == 0) {
        int64_t ms = params_parse_ms(params_entry_value(ps, e));
        ps->statement_timeout_ms = ms < 0 ? 0 : ms;
        return;
    }
    if (strncasecmp(e->name, "default_", 8) != 0)
        return;
    const char *v = params_entry_value(ps, e);
    switch (params_tx_mode(e->name)) {
    case PARAMS_TX_ISOLATION:
        ps->def_isolation = (uint8_t)params_isolation_of(v);
        break;
    case PARAMS_TX_READ_ONLY:
        ps->def_read_only = pgproto_bool_parse(v, strlen(v)) == 1;
        break;
    case PARAMS_TX_DEFERRABLE:
        ps->def_deferrable = pgproto_bool_parse(v, strlen(v)) == 1;
        break;
    }
}

/* A copy of value, or NULL (meaning the default) when it is the default's. */
static int params_dup(const struct params *ps, const struct params_entry *e, const char *value, char **out)
{
    *out = NULL;
    if (e->def >= 0 && strcmp(params_default_value(ps, e->def), value) == 0)
        return 0;
    *out = strdup(value);
    return *out == NULL ? -1 : 0;
}

/* Double the array *v of *cap elements of size bytes (4 at first).  -1 without memory. */
static int params_grow(void **v, uint16_t *cap, size_t size)
{
    uint16_t n = *cap ? (uint16_t)(*cap * 2) : 4;
    void *p = realloc(*v, size * n);
    if (p == NULL)
        return -1;
    *v = p;
    *cap = n;
    return 0;
}

static int params_put(struct params *ps, const char *name, const char *value, int is_reset_value)
{
    struct params_entry *e = params_find(ps, name);
    if (e == NULL) {
        if (ps->n == PARAMS_MAX)
            return -1;
        if (ps->n == ps->cap && params_grow((void **)&ps->e, &ps->cap, sizeof(*ps->e)) < 0)
            return -1;
        e = &ps->e[ps->n];
        e->def = (int16_t)params_default_index(name);
        e->name = e->def >= 0 ? params_defaults[e->def].name : strdup(name);
        e->value = NULL;
        e->reset_value = NULL;
        if (e->name == NULL)
            return -1;
        ps->n++;
    }
    char *v;
    if (params_dup(ps, e, value, &v) < 0)
        return -1;
    free(e->value);
    e->value = v;
    if (is_reset_value) {
        char *r;
        if (params_dup(ps, e, value, &r) < 0)
            return -1;
        free(e->reset_value);
        e->reset_value = r;
    }
    params_changed(ps, e);
    return 0;
}

static int params_encoding_ok(const char *v)
{
    return strcasecmp(v, "UTF8") == 0 || strcasecmp(v, "UTF-8") == 0 || strcasecmp(v, "UNICODE") == 0;
}

/*
 * A search_path naming a schema other than public (and "$user",
 * pg_catalog and pg_temp, which name nothing else here): statements are not resolved
 * against the client's search_path, so such a SET would be remembered and
 * do nothing, and unqualified names would go on reaching public's tables.
 * The first such schema into name (size bytes), or 0.
 */
static int params_search_path_other(const char *value, char *name, size_t size)
{
    const char *p = value;
    while (*p != '\0') {
        while (*p == ' ' || *p == ',')
            p++;
        const char *start = p;
        int quoted = *p == '"';
        if (quoted) {
            for (p++; *p != '\0' && *p != '"'; p++)
                ;
            if (*p == '"')
                p++;
        } else {
            while (*p != '\0' && *p != ',' && *p != ' ')
                p++;
        }
        size_t n = (size_t)(p - start);
        const char *w = quoted ? start + 1 : start;
        size_t wn = quoted ? (n >= 2 ? n - 2 : 0) : n;
        if (n == 0)
            continue;
        if ((wn == 6 && strncasecmp(w, "public", 6) == 0 && (!quoted || strncmp(w, "public", 6) == 0)) ||
            (wn == 5 && strncmp(w, "$user", 5) == 0) ||
            (wn == 10 && strncasecmp(w, "pg_catalog", 10) == 0) || (wn == 7 && strncasecmp(w, "pg_temp", 7) == 0) ||
            wn == 0)
            continue;
        snprintf(name, size, "%.*s", (int)(wn > 63 ? 63 : wn), w);
        return 1;
    }
    return 0;
}

/*
 * A statement_timeout value as PostgreSQL shows it, in the largest unit
 * that divides it ("500ms", "2s", "1min"), into canon; -1 if it is none.
 */
static int params_timeout_canon(const char *value, char *canon, size_t size)
{
    static const struct {
        int64_t ms;
        const char *unit;
    } units[] = { { 86400000, "d" }, { 3600000, "h" }, { 60000, "min" }, { 1000, "s" }, { 1, "ms" } };
    int64_t ms = params_parse_ms(value);
    if (ms < 0)
        return -1;
    snprintf(canon, size, "0");
    for (size_t k = 0; ms != 0 && k < sizeof(units) / sizeof(units[0]); k++)
        if (ms % units[k].ms == 0) {
            snprintf(canon, size, "%lld%s", (long long)(ms / units[k].ms), units[k].unit);
            break;
        }
    return 0;
}

/*
 * One startup parameter: 0, -1 without memory, -2 for a search_path
 * naming another schema, -4 for a statement_timeout that is no time (err
 * says so).
 */
static int params_startup_one(struct params *ps, const char *name, const char *value, char *err, size_t errlen)
{
    /* The server decides the encoding; the client is told UTF8 (see params_execute). */
    if (strcasecmp(name, "client_encoding") == 0)
        return 0;
    char schema[64], canon[32];
    if (strcasecmp(name, "search_path") == 0 && params_search_path_other(value, schema, sizeof(schema)))
        return -2;
    if (strcasecmp(name, "statement_timeout") == 0) {
        if (params_timeout_canon(value, canon, sizeof(canon)) < 0) {
            snprintf(err, errlen, "invalid value for parameter \"statement_timeout\": \"%.60s\"", value);
            return -4;
        }
        value = canon;
    }
    return params_put(ps, name, value, 1) < 0 ? -1 : 0;
}

/*
 * The startup packet's "options", as PostgreSQL reads them: words split at
 * spaces (a backslash keeps the next character), each "-c name=value",
 * "-cname=value" or "--name=value" (a '-' in the name is a '_').  Anything
 * else is refused (-3, err said why) rather than dropped.
 */
static int params_options(struct params *ps, const char *opts, char *err, size_t errlen)
{
    size_t n = strlen(opts);
    char *w = malloc(n + 1);
    if (w == NULL)
        return -1;
    int rc = 0, want_arg = 0;
    size_t i = 0;
    while (rc == 0) {
        while (i < n && isspace((unsigned char)opts[i]))
            i++;
        if (i >= n)
            break;
        size_t k = 0;
        for (; i < n && !isspace((unsigned char)opts[i]); i++) {
            /* A backslash keeps the next character; a trailing one is dropped, as pg_split_opts does. */
            if (opts[i] == '\\' && ++i >= n)
                break;
            w[k++] = opts[i];
        }
        w[k] = '\0';
        char *arg;
        if (want_arg) {
            arg = w;
            want_arg = 0;
        } else if (strncmp(w, "-c", 2) == 0) {
            if (w[2] == '\0') {
                want_arg = 1;
                continue;
            }
            arg = w + 2;
        } else if (strncmp(w, "--", 2) == 0 && w[2] != '\0') {
            arg = w + 2;
        } else {
            snprintf(err, errlen, "invalid command-line argument for server process: %.100s", w);
            rc = -3;
            break;
        }
        char *eq = strchr(arg, '=');
        if (eq == NULL) {
            snprintf(err, errlen, "-c %.100s requires a value", arg);
            rc = -3;
            break;
        }
        *eq = '\0';
        for (char *c = arg; *c; c++)
            if (*c == '-')
                *c = '_';
        rc = params_startup_one(ps, arg, eq + 1, err, errlen);
    }
    if (rc == 0 && want_arg) {
        snprintf(err, errlen, "-c requires a value");
        rc = -3;
    }
    free(w);
    return rc;
}

int params_init(struct params *ps, const char *user, const char *pairs, size_t len, char *err, size_t errlen)
{
    memset(ps, 0, sizeof(*ps));
    ps->user = user;
    /* Two rounds: what "options" sets first, then the parameters named in the packet, which win. */
    for (int round = 0; round < 2; round++) {
        size_t pos = 0;
        while (pos < len && pairs[pos] != '\0') {
            const char *name = pairs + pos;
            size_t nl = strnlen(name, len - pos);
            if (pos + nl + 1 >= len)
                break;
            const char *value = name + nl + 1;
            size_t vl = strnlen(value, len - pos - nl - 1);
            pos += nl + 1 + vl + 1;
            int options = strcmp(name, "options") == 0;
            if (options != (round == 0) || strcmp(name, "user") == 0 || strcmp(name, "database") == 0 ||
                strcmp(name, "replication") == 0)
                continue;
            int rc = options ? params_options(ps, value, err, errlen)
                             : params_startup_one(ps, name, value, err, errlen);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

void params_free(struct params *ps)
{
    for (int i = 0; i < ps->n; i++) {
        if (ps->e[i].def < 0)
            free((char *)ps->e[i].name);
        free(ps->e[i].value);
        free(ps->e[i].reset_value);
    }
    free(ps->e);
    ps->e = NULL;
    ps->n = ps->cap = 0;
    for (int i = 0; i < ps->nundo; i++) {
        free(ps->undo[i].name);
        free(ps->undo[i].value);
        free(ps->undo[i].keep);
    }
    free(ps->undo);
    ps->undo = NULL;
    ps->nundo = ps->undo_cap = 0;
}

/* A copy of name's value now ("" when it has none); NULL without memory. */
static char *params_value_dup(const struct params *ps, const char *name)
{
    const char *v = params_get(ps, name);
    return strdup(v != NULL ? v : "");
}

/*
 * Inside a transaction block (in_tx), before name changes: remember what
 * it was before the transaction (for ROLLBACK) and, for SET LOCAL, what
 * the session had before it (for COMMIT: BEGIN; SET x = 2; SET LOCAL x =
 * 1; COMMIT leaves x = 2, as in PostgreSQL).  -1 without memory, and then
 * the change must not happen: it could not be undone.
 */
static int params_remember(struct params *ps, int in_tx, const char *name, int local)
{
    if (!in_tx)
        return 0;
    struct params_undo *u = NULL;
    for (int i = 0; i < ps->nundo && u == NULL; i++)
        if (strcasecmp(ps->undo[i].name, name) == 0)
            u = &ps->undo[i];
    if (u == NULL) {
        if (ps->nundo == ps->undo_cap && params_grow((void **)&ps->undo, &ps->undo_cap, sizeof(*ps->undo)) < 0)
            return -1;
        u = &ps->undo[ps->nundo];
        u->name = strdup(name);
        u->value = params_value_dup(ps, name);
        u->keep = NULL;
        if (u->name == NULL || u->value == NULL) {
            free(u->name);
            free(u->value);
            return -1;
        }
        ps->nundo++;
    }
    if (!local) {
        free(u->keep);
        u->keep = NULL;
    } else if (u->keep == NULL && (u->keep = params_value_dup(ps, name)) == NULL) {
        return -1;
    }
    return 0;
}

void params_tx_end(struct params *ps, int committed, struct pgbuf *out)
{
    for (int i = 0; i < ps->nundo; i++) {
        struct params_undo *u = &ps->undo[i];
        const char *now = params_get(ps, u->name);
        const char *back = committed ? u->keep : u->value;
        if (back != NULL && now != NULL && strcmp(now, back) != 0 &&
            params_put(ps, u->name, back, 0) == 0 && params_reported(u->name))
            pgproto_parameter_status(out, params_name(ps, u->name), back);
        free(u->name);
        free(u->value);
        free(u->keep);
    }
    ps->nundo = 0;
}

static int params_reported(const char *name)
{
    const struct params_default *d = params_default_of(name);
    return d != NULL && d->reported;
}

void params_report_all(const struct params *ps, struct pgbuf *out)
{
    /* By index: params_get would look each default up by name again, at every login. */
    for (size_t i = 0; i < PARAMS_NDEFAULTS; i++) {
        if (!params_defaults[i].reported)
            continue;
        struct params_entry *e = params_find(ps, params_defaults[i].name);
        pgproto_parameter_status(out, params_defaults[i].name,
                                 e != NULL ? params_entry_value(ps, e) : params_default_value(ps, (int)i));
    }
}

void params_reset(struct params *ps, const char *name, struct pgbuf *out)
{
    /* A parameter without an entry is at its default, which is its reset value. */
    for (int j = 0; j < ps->n; j++) {
        struct params_entry *e = &ps->e[j];
        if (name != NULL && strcasecmp(e->name, name) != 0)
            continue;
        if (strcmp(params_entry_value(ps, e), params_entry_reset(ps, e)) == 0)
            continue;
        char *v;
        if (params_dup(ps, e, params_entry_reset(ps, e), &v) < 0)
            continue;
        free(e->value);
        e->value = v;
        params_changed(ps, e);
        if (params_reported(e->name))
            pgproto_parameter_status(out, e->name, params_entry_value(ps, e));
    }
}

/* Token text into buf, lower-cased for identifiers, unquoted for strings. */
static void params_token_text(const char *stmt, const struct sql_token *t, char *buf, size_t len)
{
    const char *p = stmt + t->off;
    size_t n = t->len, o = 0;
    if (t->type == SQL_TOK_STRING || t->type == SQL_TOK_QIDENT) {
        char q = p[0];
        for (size_t i = 1; i + 1 < n && o + 1 < len; i++) {
            buf[o++] = p[i];
            if (p[i] == q && i + 2 < n && p[i + 1] == q)
                i++;
        }
    } else {
        for (size_t i = 0; i < n && o + 1 < len; i++)
            buf[o++] = t->type == SQL_TOK_IDENT ? (char)tolower((unsigned char)p[i]) : p[i];
    }
    buf[o] = '\0';
}

static int params_error(struct pgbuf *out, const char *sqlstate, const char *fmt, const char *arg)
{
    char msg[300];
    snprintf(msg, sizeof(msg), fmt, arg);
    pgproto_error(out, 'E', "ERROR", sqlstate, msg, NULL, NULL);
    return -1;
}

static void params_show_one(struct pgbuf *out, const char *name, const char *value)
{
    pgproto_row_description_begin(out, 1);
    pgproto_row_description_field(out, name, 25, -1, -1, 0);
    pgproto_end(out);
    pgproto_data_row_begin(out, 1);
    pgproto_data_row_value(out, value, (int32_t)strlen(value));
    pgproto_end(out);
    pgproto_command_complete(out, "SHOW");
}

static const char *params_show_value(const struct params *ps, const char *name, int in_tx);

static void params_show_all(const struct params *ps, int in_tx, struct pgbuf *out)
{
    pgproto_row_description_begin(out, 3);
    pgproto_row_description_field(out, "name", 25, -1, -1, 0);
    pgproto_row_description_field(out, "setting", 25, -1, -1, 0);
    pgproto_row_description_field(out, "description", 25, -1, -1, 0);
    pgproto_end(out);
    for (size_t i = 0; i < PARAMS_NDEFAULTS + (size_t)ps->n; i++) {
        const char *name;
        if (i < PARAMS_NDEFAULTS)
            name = params_defaults[i].name;
        else if (ps->e[i - PARAMS_NDEFAULTS].def < 0)
            name = ps->e[i - PARAMS_NDEFAULTS].name;
        else
            continue;
        const char *value = params_show_value(ps, name, in_tx);
        pgproto_data_row_begin(out, 3);
        pgproto_data_row_value(out, name, (int32_t)strlen(name));
        pgproto_data_row_value(out, value, (int32_t)strlen(value));
        pgproto_data_row_value(out, "", 0);
        pgproto_end(out);
    }
    pgproto_command_complete(out, "SHOW");
}

static int params_assign(struct params *ps, const char *name, const char *value, struct pgbuf *out)
{
    if (strcasecmp(name, "client_encoding") == 0 && !params_encoding_ok(value))
        return params_error(out, "22023", "pgiris supports only UTF8 as client_encoding, not \"%s\"", value);
    char schema[64];
    if (strcasecmp(name, "search_path") == 0 && params_search_path_other(value, schema, sizeof(schema)))
        return params_error(out, "0A000", "search_path with schema \"%s\" is not supported by pgiris: "
                            "statements are not resolved against it; qualify the names instead", schema);
    char canon[32];
    int mode = params_tx_mode(name);
    /* The open transaction's own modes: SET TRANSACTION sets them (params_set_transaction), not a SET. */
    if (mode != 0 && strncasecmp(name, "default_", 8) != 0)
        return params_error(out, "0A000",
                            "parameter \"%s\" cannot be set by pgiris: use SET TRANSACTION, name the modes "
                            "in BEGIN, or set the defaults with SET SESSION CHARACTERISTICS",
                            name);
    if (mode == PARAMS_TX_ISOLATION) {
        enum sql_isolation iso = params_isolation_of(value);
        if (iso == SQL_ISO_DEFAULT)
            return params_error(out, "22023", "invalid value for parameter \"default_transaction_isolation\": \"%s\"",
                                value);
        value = params_isolation_names[iso];
    } else if (mode != 0) {
        int b = pgproto_bool_parse(value, strlen(value));
        if (b < 0)
            return params_error(out, "22023", "parameter \"%s\" requires a Boolean value", name);
        value = b ? "on" : "off";
    }
    if (strcasecmp(name, "statement_timeout") == 0) {
        if (params_timeout_canon(value, canon, sizeof(canon)) < 0)
            return params_error(out, "22023", "invalid value for parameter \"statement_timeout\": \"%s\"", value);
        value = canon;
    }
    if (params_put(ps, name, value, 0) < 0)
        return params_error(out, "54000", "too many session parameters set (%s)", name);
    return 0;
}

static int params_token_is(const char *stmt, const struct sql_token *t, const char *word)
{
    return t->type == SQL_TOK_IDENT && t->len == strlen(word) && strncasecmp(stmt + t->off, word, t->len) == 0;
}

/*
 * transaction_isolation, _read_only and _deferrable are the open
 * transaction block's modes; outside one, each statement is a transaction
 * of its own with the defaults.
 */
static const char *params_show_value(const struct params *ps, const char *name, int in_tx)
{
    int mode = params_tx_mode(name);
    if (mode == 0 || strncasecmp(name, "default_", 8) == 0)
        return params_get(ps, name);
    if (!in_tx) {
        char def[64];
        snprintf(def, sizeof(def), "default_%s", name);
        return params_get(ps, params_name(ps, def));
    }
    if (mode == PARAMS_TX_ISOLATION)
        return params_isolation_names[ps->tx_isolation];
    return (mode == PARAMS_TX_READ_ONLY ? ps->tx_read_only : ps->tx_deferrable) ? "on" : "off";
}

int params_begin(struct params *ps, const char *stmt, size_t len, struct pgbuf *text)
{
    struct sql_tx_modes m;
    char msg[200];
    if (sql_tx_modes(stmt, len, &m, msg, sizeof(msg)) < 0)
        return 0;
    int add = 0;
    if (!(m.said & SQL_TX_SAID_ISOLATION)) {
        /* Read committed is the backend's own default: not named, nothing to apply. */
        m.isolation = ps->def_isolation == SQL_ISO_READ_COMMITTED ? SQL_ISO_DEFAULT
                                                                   : (enum sql_isolation)ps->def_isolation;
        add |= m.isolation != SQL_ISO_DEFAULT;
    }
    if (!(m.said & SQL_TX_SAID_READ)) {
        m.read_only = ps->def_read_only;
        add |= m.read_only;
    }
    if (!(m.said & SQL_TX_SAID_DEFERRABLE)) {
        m.deferrable = ps->def_deferrable;
        add |= m.deferrable;
    }
    ps->tx_isolation = (uint8_t)(m.isolation == SQL_ISO_DEFAULT ? SQL_ISO_READ_COMMITTED : m.isolation);
    ps->tx_read_only = (uint8_t)m.read_only;
    ps->tx_deferrable = (uint8_t)m.deferrable;
    if (!add)
        return 0;
    /* The modes in full: the executor reads them from the text (odbc_begin). */
    char buf[128];
    int n = snprintf(buf, sizeof(buf), "BEGIN%s%s%s%s", m.isolation != SQL_ISO_DEFAULT ? " ISOLATION LEVEL " : "",
                     m.isolation != SQL_ISO_DEFAULT ? params_isolation_names[m.isolation] : "",
                     m.read_only ? " READ ONLY" : "", m.deferrable ? " DEFERRABLE" : "");
    pgbuf_reset(text);
    pgproto_put_bytes(text, buf, (size_t)n);
    return 1;
}

int params_is_set_transaction(const char *stmt, size_t len)
{
    struct sql_tx_modes m;
    char msg[200];
    return sql_tx_modes(stmt, len, &m, msg, sizeof(msg)) == 0 && m.current;
}

int params_set_transaction(struct params *ps, const char *stmt, size_t len, char txstatus, struct pgbuf *out)
{
    struct sql_tx_modes m;
    char msg[200];
    if (txstatus == 'E' || sql_tx_modes(stmt, len, &m, msg, sizeof(msg)) < 0 || !m.current)
        return PARAMS_TX_NOT;
    /* In a block the executor says so, and the block fails. */
    if (m.said == 0 && txstatus == 'I') {
        params_error(out, "42601", "syntax error at end of input%s", "");
        return PARAMS_TX_FAILED;
    }
    if (txstatus == 'I') {
        pgproto_error(out, 'N', "WARNING", "25P01", "SET TRANSACTION can only be used in transaction blocks",
                      NULL, NULL);
        pgproto_command_complete(out, "SET");
        return PARAMS_TX_ANSWERED;
    }
    if (m.said & SQL_TX_SAID_ISOLATION)
        ps->tx_isolation = (uint8_t)m.isolation;
    if (m.said & SQL_TX_SAID_READ)
        ps->tx_read_only = (uint8_t)m.read_only;
    if (m.said & SQL_TX_SAID_DEFERRABLE)
        ps->tx_deferrable = (uint8_t)m.deferrable;
    return PARAMS_TX_SEND;
}

int params_refuse_write(const struct params *ps, enum sql_command cmd, const char *verb, const char *stmt,
                        size_t len, char *msg, size_t msglen)
{
    if (!ps->def_read_only)
        return 0;
    const char *what = verb;
    if (cmd == SQL_CMD_COPY) {
        struct copy_spec spec;
        char state[6], err[64];
        int from = copy_parse(stmt, len, &spec, state, err, sizeof(err)) == 0 && spec.dir == COPY_FROM;
        copy_spec_free(&spec);
        if (!from)
            return 0;
        what = "COPY FROM";
    } else if (cmd != SQL_CMD_INSERT && cmd != SQL_CMD_UPDATE && cmd != SQL_CMD_DELETE && cmd != SQL_CMD_DDL &&
               strcmp(verb, "MERGE") != 0) {
        return 0;
    }
    snprintf(msg, msglen, "cannot execute %s in a read-only transaction", what);
    return 1;
}

int params_show_answered(const struct params *ps, const char *stmt, size_t len)
{
    struct sql_token t[8];
    size_t nt = 0, k = 0;
    struct sql_lex_error err;
    char name[128];
    if (sql_lex(stmt, len, t, 8, &nt, &err) < 0)
        return 1;
    for (size_t i = 0; i < nt && i < 8; i++)
        if (t[i].type != SQL_TOK_COMMENT)
            t[k++] = t[i];
    if (k < 2)
        return 1;
    params_token_text(stmt, &t[1], name, sizeof(name));
    /* ALL, and the two-word names (TIME ZONE, TRANSACTION ISOLATION LEVEL), are answered here. */
    if (strcmp(name, "all") == 0 || strcmp(name, "time") == 0 || strcmp(name, "transaction") == 0)
        return 1;
    return params_name(ps, name) != NULL;
}

int params_execute(struct params *ps, enum sql_command cmd, const char *stmt, size_t len, int in_tx,
                   struct pgbuf *out)
{
    struct sql_token t[64];
    size_t nt = 0;
    struct sql_lex_error err;
    if (sql_lex(stmt, len, t, 64, &nt, &err) < 0)
        return params_error(out, "42601", "%s", err.message);
    /* Drop comments so positions below count only meaningful tokens. */
    size_t k = 0;
    for (size_t i = 0; i < nt && i < 64; i++)
        if (t[i].type != SQL_TOK_COMMENT)
            t[k++] = t[i];
    nt = k;
    char name[128], word[256];
    size_t i = 1;

    if (cmd == SQL_CMD_SHOW) {
        if (nt < 2)
            return params_error(out, "42601", "syntax error at end of input%s", "");
        params_token_text(stmt, &t[1], name, sizeof(name));
        if (strcmp(name, "all") == 0) {
            params_show_all(ps, in_tx, out);
            return 0;
        }
        /* SHOW TIME ZONE and SHOW TRANSACTION ISOLATION LEVEL are two-word names. */
        if (strcmp(name, "time") == 0)
            snprintf(name, sizeof(name), "TimeZone");
        else if (strcmp(name, "transaction") == 0)
            snprintf(name, sizeof(name), "transaction_isolation");
        const char *known = params_name(ps, name);
        if (known == NULL)
            return params_error(out, "42704", "unrecognized configuration parameter \"%s\"", name);
        params_show_one(out, known, params_show_value(ps, known, in_tx));
        return 0;
    }

    /* SET SESSION CHARACTERISTICS AS TRANSACTION modes: the defaults of the client's transactions. */
    if (nt > 2 && params_token_is(stmt, &t[1], "session") && params_token_is(stmt, &t[2], "characteristics")) {
        struct sql_tx_modes m;
        char msg[200];
        if (sql_tx_modes(stmt, len, &m, msg, sizeof(msg)) < 0)
            return params_error(out, "42601", "%s", msg);
        if (m.said == 0)
            return params_error(out, "42601", "syntax error at end of input%s", "");
        static const struct {
            int said;
            const char *name;
        } set[] = { { SQL_TX_SAID_ISOLATION, "default_transaction_isolation" },
                    { SQL_TX_SAID_READ, "default_transaction_read_only" },
                    { SQL_TX_SAID_DEFERRABLE, "default_transaction_deferrable" } };
        for (size_t k = 0; k < sizeof(set) / sizeof(set[0]); k++) {
            if (!(m.said & set[k].said))
                continue;
            const char *v = set[k].said == SQL_TX_SAID_ISOLATION ? params_isolation_names[m.isolation]
                            : (set[k].said == SQL_TX_SAID_READ ? m.read_only : m.deferrable) ? "on" : "off";
            if (params_remember(ps, in_tx, set[k].name, 0) < 0)
                return params_error(out, "53200", "out of memory%s", "");
            if (params_assign(ps, set[k].name, v, out) < 0)
                return -1;
            if (params_reported(set[k].name))
                pgproto_parameter_status(out, set[k].name, v);
        }
        pgproto_command_complete(out, "SET");
        return 0;
    }

    if (cmd == SQL_CMD_RESET) {
        if (nt < 2)
            return params_error(out, "42601", "syntax error at end of input%s", "");
        params_token_text(stmt, &t[1], name, sizeof(name));
        int all = strcmp(name, "all") == 0, rc = 0;
        for (int k = 0; all && k < ps->n && rc == 0; k++)
            rc = params_remember(ps, in_tx, ps->e[k].name, 0);
        if (rc < 0 || (!all && params_remember(ps, in_tx, name, 0) < 0))
            return params_error(out, "53200", "out of memory%s", "");
        params_reset(ps, all ? NULL : name, out);
        pgproto_command_complete(out, "RESET");
        return 0;
    }

    /* SET [SESSION | LOCAL] name { TO | = } value [, ...] | SET TIME ZONE value */
    int local = 0;
    if (i < nt) {
        params_token_text(stmt, &t[i], word, sizeof(word));
        if (strcmp(word, "session") == 0 || strcmp(word, "local") == 0) {
            local = word[0] == 'l';
            i++;
        }
    }
    if (i >= nt)
        return params_error(out, "42601", "syntax error at end of input%s", "");
    params_token_text(stmt, &t[i], name, sizeof(name));
    i++;
    int time_zone = 0;          /* SET TIME ZONE value: no TO or = */
    if (strcmp(name, "time") == 0 && i < nt) {
        params_token_text(stmt, &t[i], word, sizeof(word));
        if (strcmp(word, "zone") == 0) {
            snprintf(name, sizeof(name), "TimeZone");
            time_zone = 1;
            i++;
        }
    } else if (i < nt && t[i].len == 1 && stmt[t[i].off] == '.') {
        /* Qualified custom parameter: myapp.setting */
        if (i + 1 < nt) {
            size_t nl = strlen(name);
            snprintf(name + nl, sizeof(name) - nl, ".");
            params_token_text(stmt, &t[i + 1], name + nl + 1, sizeof(name) - nl - 1);
            i += 2;
        }
    }
    if (i < nt) {
        params_token_text(stmt, &t[i], word, sizeof(word));
        int to = strcmp(word, "to") == 0 || strcmp(word, "=") == 0;
        if (to == time_zone)    /* TO or = after a name, never after TIME ZONE */
            return params_error(out, "42601", "syntax error at or near \"%s\"", word);
        i += to;
    }
    if (i >= nt)
        return params_error(out, "42601", "syntax error at end of input%s", "");

    char value[512];
    size_t vo = 0;
    value[0] = '\0';
    int is_default = 0;
    for (; i < nt; i++) {
        if (t[i].type == SQL_TOK_PUNCT && stmt[t[i].off] == ',') {
            vo += (size_t)snprintf(value + vo, sizeof(value) - vo, ", ");
            continue;
        }
        params_token_text(stmt, &t[i], word, sizeof(word));
        if (t[i].type == SQL_TOK_IDENT && (strcmp(word, "default") == 0 || strcmp(word, "local") == 0))
            is_default = 1;
        /*
         * Keep identifiers as the client wrote them (e.g. 'Europe/Paris' vs
         * UTC); a search_path keeps a quoted one's quotes, as PostgreSQL
         * shows it ("$user", public) and as its case counts ("Public").
         */
        if (t[i].type == SQL_TOK_IDENT || (t[i].type == SQL_TOK_QIDENT && strcasecmp(name, "search_path") == 0))
            snprintf(word, sizeof(word), "%.*s", (int)t[i].len, stmt + t[i].off);
        if (vo < sizeof(value))
            vo += (size_t)snprintf(value + vo, sizeof(value) - vo, "%s", word);
    }
    if (vo >= sizeof(value))
        return params_error(out, "22023", "value for parameter \"%s\" is too long", name);
    if (is_default) {
        struct params_entry *e = params_find(ps, name);
        int def = params_default_index(name);
        snprintf(value, sizeof(value), "%s", e ? params_entry_reset(ps, e) : params_default_value(ps, def));
    }
    /* SET LOCAL outside a transaction block does nothing lasting (PostgreSQL warns). */
    if (local && !in_tx) {
        pgproto_error(out, 'N', "WARNING", "25P01", "SET LOCAL can only be used in transaction blocks", NULL, NULL);
        pgproto_command_complete(out, "SET");
        return 0;
    }
    if (params_remember(ps, in_tx, name, local) < 0)
        return params_error(out, "53200", "out of memory%s", "");
    if (params_assign(ps, name, value, out) < 0)
        return -1;
    pgproto_command_complete(out, "SET");
    struct params_entry *e = params_find(ps, name);
    if (e != NULL && params_reported(e->name))
        pgproto_parameter_status(out, e->name, params_entry_value(ps, e));
    return 0;
}
