/*
 * sql_rules_sqlite: the rule set that lets the embedded SQLite default run
 * everyday PostgreSQL: casts to SQLite's type affinities, PostgreSQL's
 * functions and operators in SQLite spelling, serial columns, standard
 * string literals.  Constructs with no SQLite equivalent fail with 0A000.
 * References: https://www.sqlite.org/lang.html (datatype3, lang_datefunc,
 * lang_corefunc, lang_createtable).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/civil.h"
#include "common/pgproto.h"
#include "common/sql_rules.h"
#include "common/sql_translate.h"

/*
 * Casts go to SQLite's type affinities (datatype3.html section 3.1).  Column
 * types are spelled so that the SQLite ODBC driver, which maps a column's
 * declared type by its leading word (sqlite3odbc.c mapsqltype: "int" is
 * SQL_INTEGER, "smallint", "bigint", "bool", "real"/"double"/"float",
 * "numeric", "date", "time", "timestamp"), reports the PostgreSQL type:
 * int2 and int8 would read as "int", decimal as text.  (int and int4 become
 * INTEGER, so an int PRIMARY KEY is the rowid and never holds NULL.)
 * timestamptz and timetz keep their names, so the declared type still says
 * "tz" for the broker, and the driver reads them as "timestamp" and "time".
 * The time and timestamp types lose their typmod there: PostgreSQL's is the
 * fractional digits, the driver's the column width.
 *
 * The time and timestamp casts use strftime's %f, not time() and datetime(),
 * which drop the fraction.  %f has three digits ('10:00:00.000' for whole
 * seconds, '.123' for '.123456'); the rtrim()s take the zeros off again so
 * that whole seconds read as PostgreSQL prints them and as the literals of
 * sqlite_datetime_text are written.  Like datetime(), strftime moves a value
 * with a zone offset to UTC, right for timestamptz, where PostgreSQL's
 * timestamp would drop the offset.  A string literal is converted at
 * translation instead, to the microsecond (sql_sqlite_cast_literal).
 */
#define SQLITE_TS_CAST "rtrim(rtrim(strftime('%Y-%m-%d %H:%M:%f', $0), '0'), '.')"
#define SQLITE_TIME_CAST "rtrim(rtrim(strftime('%H:%M:%f', $0), '0'), '.')"

const char *sql_sqlite_type(struct sql_rw *rw, const struct sql_pgtype *ty, enum sql_type_ctx ctx)
{
    static const struct { const char *pg, *cast, *ddl; } map[] = {
        { "smallint", "CAST($0 AS INTEGER)", "SMALLINT" },
        { "integer", "CAST($0 AS INTEGER)", "INTEGER" },
        { "bigint", "CAST($0 AS INTEGER)", "BIGINT" },
        { "numeric", "CAST($0 AS NUMERIC)", "NUMERIC" },
        { "real", "CAST($0 AS REAL)", "REAL" },
        { "double", "CAST($0 AS REAL)", "DOUBLE" },
        { "text", "CAST($0 AS TEXT)", "" },
        { "varchar", "CAST($0 AS TEXT)", "" },
        { "char", "CAST($0 AS TEXT)", "" },
        { "name", "CAST($0 AS TEXT)", "" },
        { "citext", "CAST($0 AS TEXT)", "" },
        /* boolin's words for text (a unique prefix of true, yes, on, false, ...), non-zero for numbers */
        { "boolean", "(CASE WHEN typeof($0) = 'text' THEN lower(trim($0)) IN ('t', 'tr', 'tru', 'true', "
                     "'y', 'ye', 'yes', 'on', '1') ELSE ($0) <> 0 END)", "BOOLEAN" },
        { "json", "CAST($0 AS TEXT)", "TEXT" },
        { "jsonb", "CAST($0 AS TEXT)", "TEXT" },
        { "uuid", "CAST($0 AS TEXT)", "TEXT" },
        { "bytea", "CAST($0 AS BLOB)", "BLOB" },
        /* an emulated catalog's oids (sqlite_catalog_rels) are integers; a reg* cast gives no name here */
        { "oid", "CAST($0 AS INTEGER)", "INTEGER" },
        { "regclass", "CAST($0 AS TEXT)", "TEXT" },
        { "regtype", "CAST($0 AS TEXT)", "TEXT" },
        { "regproc", "CAST($0 AS TEXT)", "TEXT" },
        { "regnamespace", "CAST($0 AS TEXT)", "TEXT" },
        { "regrole", "CAST($0 AS TEXT)", "TEXT" },
        /* dates are ISO-8601 text; date() also validates and normalises */
        { "date", "date($0)", "DATE" },
        { "timestamp", SQLITE_TS_CAST, "TIMESTAMP" },
        { "timestamptz", SQLITE_TS_CAST, "TIMESTAMPTZ" },
        { "time", SQLITE_TIME_CAST, "TIME" },
        { "timetz", SQLITE_TIME_CAST, "TIMETZ" },
        /* the rowid alias generates keys (lang_createtable.html#rowid) */
        { "serial", NULL, "INTEGER" },
        { "bigserial", NULL, "INTEGER" },
        { "smallserial", NULL, "INTEGER" },
    };

    if (ty->array)
        return sql_rw_fail(rw, "0A000", "array types (%s[]) are not supported by SQLite", ty->name),
               NULL;
    if (ctx == SQL_TYPE_DDL && ty->mod_open && strcmp(ty->name, "numeric") == 0)
        return "NUMERIC($2)";
    if (ctx == SQL_TYPE_DDL && ty->mod_open && strcmp(ty->name, "double") == 0 &&
        ty->mod_close == ty->mod_open + 2 && rw->t[ty->mod_open + 1].type == SQL_TOK_NUMBER &&
        strtol(rw->t[ty->mod_open + 1].s, NULL, 10) <= 24)
        return "REAL";          /* float(p) is real up to 24 bits of precision */
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(ty->name, map[i].pg) != 0)
            continue;
        if (ctx == SQL_TYPE_DDL)
            return map[i].ddl;
        if (map[i].cast)
            return map[i].cast;
        break;
    }
    if (ctx == SQL_TYPE_DDL && strcmp(ty->name, "interval") != 0 && strcmp(ty->name, "vector") != 0)
        return "";             /* SQLite accepts any type name and derives an affinity */
    return sql_rw_fail(rw, "0A000", "type %s is not supported by SQLite", ty->name), NULL;
}

/* ---- literals of bytea and the date and time types ---------------------- */

static int sqlite_hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        return (c | 0x20) - 'a' + 10;
    return -1;
}

/* Bytes of the UTF-8 character at s, as PostgreSQL quotes one in a message. */
static int sqlite_mblen(const char *s)
{
    unsigned char c = (unsigned char)*s;
    int n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;

    for (int k = 1; k < n; k++)
        if (s[k] == '\0')
            return k;
    return n;
}

/*
 * Append the bytes that PostgreSQL's hex_decode (encode.c) reads from
 * v[0..n) to out as hex digits: pairs of digits, white space between pairs.
 */
static int sqlite_hex_bytes(struct sql_rw *rw, const char *v, size_t n, char *out, size_t *used)
{
    for (size_t i = 0; i < n;) {
        if (v[i] == ' ' || v[i] == '\n' || v[i] == '\t' || v[i] == '\r') {
            i++;
            continue;
        }
        for (int k = 0; k < 2; k++, i++) {
            if (i == n)
                return sql_rw_fail(rw, "22023", "invalid hexadecimal data: odd number of digits");
            if (sqlite_hexval((unsigned char)v[i]) < 0)
                return sql_rw_fail(rw, "22023", "invalid hexadecimal digit: \"%.*s\"",
                                   sqlite_mblen(v + i), v + i);
            out[(*used)++] = (char)(v[i] >= 'a' ? v[i] - 32 : v[i]);
        }
    }
    return 0;
}

/* The same for byteain's escape format: \\ and \ooo (first digit 0-3) are the escapes. */
static int sqlite_escape_bytes(struct sql_rw *rw, const char *v, size_t n, char *out, size_t *used)
{
    static const char hex[] = "0123456789ABCDEF";

    for (size_t i = 0; i < n;) {
        unsigned char b;
        if (v[i] != '\\') {
            b = (unsigned char)v[i++];
        } else if (i + 1 < n && v[i + 1] == '\\') {
            b = '\\';
            i += 2;
        } else if (i + 3 < n && v[i + 1] >= '0' && v[i + 1] <= '3' && v[i + 2] >= '0' &&
                   v[i + 2] <= '7' && v[i + 3] >= '0' && v[i + 3] <= '7') {
            b = (unsigned char)((v[i + 1] - '0') * 64 + (v[i + 2] - '0') * 8 + (v[i + 3] - '0'));
            i += 4;
        } else {
            return sql_rw_fail(rw, "22P02", "invalid input syntax for type bytea");
        }
        out[(*used)++] = hex[b >> 4];
        out[(*used)++] = hex[b & 15];
    }
    return 0;
}

/*
 * Rewrite the literal token t to the blob literal X'..' holding the bytes
 * v[0..n) denotes in the given format ("hex" without the \x of byteain,
 * "escape", or "bytea" for byteain's choice between the two).
 */
static int sqlite_blob_literal(struct sql_rw *rw, struct sql_tk *t, const char *v, size_t n,
                               const char *format)
{
    char *out = malloc(2 * n + 4), *blob;
    size_t used = 2;
    int rc;

    if (!out)
        return sql_rw_fail(rw, "53200", "out of memory");
    memcpy(out, "X'", 2);
    if (strcmp(format, "bytea") == 0 && n >= 2 && v[0] == '\\' && v[1] == 'x')
        rc = sqlite_hex_bytes(rw, v + 2, n - 2, out, &used);
    else if (strcmp(format, "hex") == 0)
        rc = sqlite_hex_bytes(rw, v, n, out, &used);
    else
        rc = sqlite_escape_bytes(rw, v, n, out, &used);
    out[used++] = '\'';
    blob = rc == 0 ? sql_rw_strdup(rw, out, used) : NULL;
    free(out);
    if (!blob)
        return -1;
    t->s = blob;
    t->len = (uint32_t)used;
    t->type = SQL_TOK_BSTRING;
    return 0;
}

/* A date, time or timestamp literal in ISO 8601 form, as far as it was written. */
struct sqlite_datetime {
    int year, month, day;
    long long usec;             /* time of day, microseconds */
    int zone;                   /* offset east of UTC, seconds */
    bool has_date, has_time;
};

/* Digits at *p (at most max, at least min); -1 if fewer. */
static int sqlite_digits(const char **p, int min, int max)
{
    int v = 0, k = 0;

    while (k < max && **p >= '0' && **p <= '9')
        v = v * 10 + (*(*p)++ - '0'), k++;
    return k >= min ? v : -1;
}

static bool sqlite_leap(int y)
{
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

/*
 * Parse YYYY-MM-DD, HH:MM[:SS[.f]] or both (blank or T between), then an
 * optional zone: Z, UTC, +HH, +HHMM or +HH:MM.  Returns 1, 0 for text in any
 * other form (PostgreSQL's other date styles, 'now', zone names), or -1 after
 * sql_rw_fail for a field out of range, with PostgreSQL's SQLSTATEs.
 */
static int sqlite_parse_datetime(struct sql_rw *rw, const char *v, struct sqlite_datetime *dt)
{
    static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    const char *p = v, *q;
    int h = 0, mi = 0, s = 0;
    long long frac = 0;

    memset(dt, 0, sizeof(*dt));
    while (*p == ' ')
        p++;
    q = p;
    if (sqlite_digits(&q, 4, 4) >= 0 && *q == '-') {
        dt->year = sqlite_digits(&p, 4, 4);
        p++;
        if ((dt->month = sqlite_digits(&p, 1, 2)) < 0 || *p++ != '-' ||
            (dt->day = sqlite_digits(&p, 1, 2)) < 0)
            return 0;
        dt->has_date = true;
        q = p;
        if (*q == 'T' || *q == 't')
            q++;
        else
            while (*q == ' ')
                q++;
        if (q == p || !(*q >= '0' && *q <= '9'))
            q = NULL;           /* no time follows */
        else
            p = q;
    }
    if (!dt->has_date || q) {
        if ((h = sqlite_digits(&p, 1, 2)) < 0 || *p++ != ':' || (mi = sqlite_digits(&p, 2, 2)) < 0)
            return 0;
        if (*p == ':') {
            p++;
            if ((s = sqlite_digits(&p, 2, 2)) < 0)
                return 0;
            if (*p == '.') {
                int k = 0;
                p++;
                if (!(*p >= '0' && *p <= '9'))
                    return 0;
                for (; *p >= '0' && *p <= '9'; p++, k++) {
                    if (k < 6)
                        frac = frac * 10 + (*p - '0');
                    else if (k == 6 && *p >= '5')
                        frac++;         /* PostgreSQL rounds to microseconds */
                }
                for (; k < 6; k++)
                    frac *= 10;
            }
        }
        dt->has_time = true;
        while (*p == ' ')
            p++;
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (strncasecmp(p, "utc", 3) == 0) {
            p += 3;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, zh, zm = 0;
            q = p;
            if ((zh = sqlite_digits(&p, 1, 2)) < 0)
                return 0;
            if ((*p == ':' && (p++, (zm = sqlite_digits(&p, 2, 2)) < 0)) ||
                (p - q == 2 && *p >= '0' && *p <= '9' && (zm = sqlite_digits(&p, 2, 2)) < 0))
                return 0;       /* +HH:MM, +HHMM */
            if (zh > 15 || zm > 59)
                return sql_rw_fail(rw, "22009", "time zone displacement out of range: \"%s\"", v);
            dt->zone = sign * (zh * 3600 + zm * 60);
        }
    }
    while (*p == ' ')
        p++;
    if (*p != '\0')
        return 0;
    if (dt->has_date && (dt->month < 1 || dt->month > 12 || dt->day < 1 ||
                         dt->day > mdays[dt->month - 1] + (dt->month == 2 && sqlite_leap(dt->year))))
        return sql_rw_fail(rw, "22008", "date/time field value out of range: \"%s\"", v);
    if (h > 24 || mi > 59 || s > 60 || (h == 24 && (mi || s || frac)))
        return sql_rw_fail(rw, "22008", "date/time field value out of range: \"%s\"", v);
    dt->usec = ((h * 60LL + mi) * 60 + s) * 1000000 + frac;
    return 1;
}

/* ".ffffff" without its trailing zeros, or "" for whole seconds. */
static void sqlite_fraction(long long usec, char *out, size_t size)
{
    size_t n;

    out[0] = '\0';
    if (usec % 1000000 == 0)
        return;
    n = (size_t)snprintf(out, size, ".%06lld", usec % 1000000);
    while (n > 0 && out[n - 1] == '0')
        out[--n] = '\0';
}

/*
 * The text a time or timestamp literal stands for, as PostgreSQL prints it:
 * a timestamp drops a zone, a timestamptz is moved to UTC (the sessions'
 * TimeZone; one without a zone is taken as UTC), a time drops the date and
 * the zone, a timetz is moved to UTC as time() did; prec (0-5, or -1) rounds
 * the fraction as a typmod does.  Returns 1 with the text in out, 0 if the
 * cast is left to SQLite's functions, -1 on failure.
 */
static int sqlite_datetime_text(struct sql_rw *rw, const char *v, const char *type, int prec,
                                char *out, size_t size)
{
    struct sqlite_datetime dt;
    const long long day = 86400LL * 1000000;
    bool tz = strcmp(type, "timestamptz") == 0 || strcmp(type, "timetz") == 0;
    bool stamp = strncmp(type, "timestamp", 9) == 0;
    long long usec, days;
    char frac[8];
    int64_t y;
    int m, d, rc = sqlite_parse_datetime(rw, v, &dt);

    if (rc <= 0)
        return rc;
    if (stamp ? !dt.has_date : !dt.has_time)
        return 0;
    if (prec >= 0 && prec < 6) {
        long long scale = 1;
        for (int k = prec; k < 6; k++)
            scale *= 10;
        dt.usec = (dt.usec + scale / 2) / scale * scale;
    }
    usec = dt.usec - (tz ? dt.zone * 1000000LL : 0);
    if (!stamp) {
        if (tz)
            usec = (usec % day + day) % day;
        else if (usec > day)
            return sql_rw_fail(rw, "22008", "date/time field value out of range: \"%s\"", v);
        sqlite_fraction(usec, frac, sizeof(frac));
        snprintf(out, size, "%02lld:%02lld:%02lld%s", usec / 3600000000, usec / 60000000 % 60,
                 usec / 1000000 % 60, frac);
        return 1;
    }
    days = civil_days_from_date(dt.year, dt.month, dt.day) + (usec >= 0 ? usec / day : -1);
    usec = (usec % day + day) % day;
    civil_date_from_days(days, &y, &m, &d);
    if (y < 1 || y > 9999)
        return 0;
    sqlite_fraction(usec, frac, sizeof(frac));
    snprintf(out, size, "%04d-%02d-%02d %02lld:%02lld:%02lld%s", (int)y, m, d, usec / 3600000000,
             usec / 60000000 % 60, usec / 1000000 % 60, frac);
    return 1;
}

int sql_sqlite_cast_literal(struct sql_rw *rw, size_t lit, const struct sql_pgtype *ty)
{
    struct sql_tk *t = &rw->t[lit];
    char text[48], *v, *q;
    size_t n;
    int rc, prec = -1;

    if (t->s[0] != '\'' || ty->array ||
        (strcmp(ty->name, "bytea") != 0 && strcmp(ty->name, "time") != 0 &&
         strcmp(ty->name, "timetz") != 0 && strcmp(ty->name, "timestamp") != 0 &&
         strcmp(ty->name, "timestamptz") != 0 && strcmp(ty->name, "boolean") != 0))
        return 0;
    if (!(v = sql_literal_value(rw, t, &n)))
        return -1;
    if (strcmp(ty->name, "boolean") == 0) {
        free(v);
        return sql_bool_literal(rw, t);
    }
    if (strcmp(ty->name, "bytea") == 0) {
        rc = sqlite_blob_literal(rw, t, v, n, "bytea");
        free(v);
        return rc == 0 ? 1 : -1;
    }
    if (ty->mod_open && ty->mod_close == ty->mod_open + 2 &&
        rw->t[ty->mod_open + 1].type == SQL_TOK_NUMBER) {
        long digits = strtol(rw->t[ty->mod_open + 1].s, NULL, 10);
        prec = digits > 6 ? 6 : (int)digits;
    }
    rc = n < 64 ? sqlite_datetime_text(rw, v, ty->name, prec, text + 1, sizeof(text) - 2) : 0;
    free(v);
    if (rc <= 0)
        return rc;
    text[0] = '\'';
    n = strlen(text);
    text[n++] = '\'';
    if (!(q = sql_rw_strdup(rw, text, n)))
        return -1;
    t->s = q;
    t->len = (uint32_t)n;
    return 1;
}

/* public.t -> t: SQLite's only schema is main. */
static int sqlite_public_schema(struct sql_rw *rw)
{
    for (size_t i = rw->n; i-- > 0;)
        if (sql_tk_kw(rw, i, KW_PUBLIC) && sql_tk_punct(rw, i + 1, '.') &&
            (i == 0 || !sql_tk_punct(rw, i - 1, '.')) &&
            sql_rw_splice(rw, i, 2, NULL, 0) != 0)
            return -1;
    return 0;
}

/* now() and friends (lang_datefunc.html): %f keeps PostgreSQL's fractional seconds. */
static int sqlite_now(struct sql_rw *rw)
{
    for (size_t i = 0; i < rw->n; i++) {
        const char *tmpl = NULL;
        size_t end = i;
        int kw = rw->t[i].type == SQL_TOK_IDENT ? rw->t[i].kw : KW_NONE;

        if ((kw == KW_NOW || kw == KW_TRANSACTION_TIMESTAMP || kw == KW_STATEMENT_TIMESTAMP ||
             kw == KW_CLOCK_TIMESTAMP) && sql_tk_punct(rw, i + 1, '(') && sql_tk_punct(rw, i + 2, ')')) {
            tmpl = "strftime('%Y-%m-%d %H:%M:%f', 'now')";
            end = i + 2;
        } else if (kw == KW_CURRENT_TIMESTAMP || kw == KW_LOCALTIMESTAMP) {
            tmpl = "strftime('%Y-%m-%d %H:%M:%f', 'now')";
            if (sql_tk_punct(rw, i + 1, '('))
                end = sql_match(rw, i + 1);     /* precision */
        } else if (kw == KW_CURRENT_DATE) {
            tmpl = "date('now')";
        } else if (kw == KW_CURRENT_TIME) {
            tmpl = "time('now')";
        }
        if (tmpl && end < rw->n && !sql_rw_template(rw, i, end, NULL, 0, "%s", tmpl))
            return -1;
    }
    return 0;
}

/* pgvector's distance operators: SQLite has no vector type. */
static int sqlite_vectors(struct sql_rw *rw)
{
    for (size_t i = 0; i < rw->n; i++) {
        const struct sql_tk *t = &rw->t[i];
        if (sql_vector_op(t))
            return sql_rw_fail(rw, "0A000", "vector operator %.3s is not supported by SQLite", t->s);
    }
    return 0;
}

/* a IS [NOT] DISTINCT FROM b -> a IS [NOT] b: SQLite's IS is NULL-safe equality. */
static int sqlite_is_distinct(struct sql_rw *rw)
{
    static const char not_[] = "NOT";

    for (size_t i = 0; i < rw->n; i++) {
        bool neg = sql_tk_kw(rw, i + 1, KW_NOT);
        size_t d = i + 1 + neg;
        struct sql_tk t = { not_, 3, SQL_TOK_IDENT, 1, KW_NOT };

        if (!sql_tk_kw(rw, i, KW_IS) || !sql_tk_kw(rw, d, KW_DISTINCT) || !sql_tk_kw(rw, d + 1, KW_FROM))
            continue;
        if (neg) {
            if (sql_rw_splice(rw, i + 1, 3, NULL, 0) != 0)      /* IS NOT DISTINCT FROM -> IS */
                return -1;
        } else if (sql_rw_splice(rw, i + 1, 2, &t, 1) != 0) {   /* IS DISTINCT FROM -> IS NOT */
            return -1;
        }
    }
    return 0;
}

/* x +/- INTERVAL 'n unit' -> strftime(..., x, '+n units') (lang_datefunc.html#modifiers). */
static const char *sqlite_interval_spell(struct sql_rw *rw, long n, const char *unit, char *buf,
                                         size_t len)
{
    if (strcmp(unit, "month") == 0 || strcmp(unit, "year") == 0) {
        sql_rw_fail(rw, "0A000", "interval arithmetic in months or years differs in "
                                 "SQLite (no end-of-month clamping)");
        return NULL;
    }
    snprintf(buf, len, "strftime('%%Y-%%m-%%d %%H:%%M:%%f', $0, '%+ld %ss')", n, unit);
    return buf;
}

static int sqlite_interval(struct sql_rw *rw)
{
    return sql_rule_interval(rw, sqlite_interval_spell, "SQLite");
}


/* date_trunc, extract and date_part with the date functions' modifiers and strftime. */
static int sqlite_dates(struct sql_rw *rw)
{
    static const struct sql_date_unit units[] = {
        { "second", "strftime('%Y-%m-%d %H:%M:%S', $0)", "CAST(strftime('%f', $0) AS REAL)" },
        { "minute", "strftime('%Y-%m-%d %H:%M:00', $0)", "CAST(strftime('%M', $0) AS INTEGER)" },
        { "hour", "strftime('%Y-%m-%d %H:00:00', $0)", "CAST(strftime('%H', $0) AS INTEGER)" },
        { "day", "datetime($0, 'start of day')", "CAST(strftime('%d', $0) AS INTEGER)" },
        { "week", "datetime($0, 'start of day', '-6 days', 'weekday 1')", NULL },
        { "month", "datetime($0, 'start of month')", "CAST(strftime('%m', $0) AS INTEGER)" },
        { "quarter", NULL, "((CAST(strftime('%m', $0) AS INTEGER) + 2) / 3)" },
        { "year", "datetime($0, 'start of year')", "CAST(strftime('%Y', $0) AS INTEGER)" },
        { "dow", NULL, "CAST(strftime('%w', $0) AS INTEGER)" },
        { "doy", NULL, "CAST(strftime('%j', $0) AS INTEGER)" },
        { "epoch", NULL, "((julianday($0) - 2440587.5) * 86400.0)" },
    };

    return sql_rule_date_parts(rw, units, sizeof(units) / sizeof(units[0]), "SQLite");
}

/* decode('..', 'hex' | 'escape'): a blob literal; SQLite before 3.41 has no unhex(). */
static int sqlite_decode(struct sql_rw *rw, size_t i)
{
    size_t first[3], last[3], n = 0, fn = 0;
    char *v = NULL, *format = NULL;
    int rc = -1;

    if (sql_match(rw, i + 1) < rw->n && sql_args(rw, i + 1, first, last, 3) == 2 &&
        first[0] == last[0] && first[1] == last[1] &&
        rw->t[first[0]].type == SQL_TOK_STRING && rw->t[first[1]].type == SQL_TOK_STRING) {
        if (!(v = sql_literal_value(rw, &rw->t[first[0]], &n)) ||
            !(format = sql_literal_value(rw, &rw->t[first[1]], &fn)))
            goto done;
        for (size_t k = 0; k < fn; k++)
            format[k] = (char)(format[k] >= 'A' && format[k] <= 'Z' ? format[k] + 32 : format[k]);
        if (strcmp(format, "hex") == 0 || strcmp(format, "escape") == 0) {
            struct sql_tk blob = rw->t[first[0]];
            blob.space = rw->t[i].space;
            if (sqlite_blob_literal(rw, &blob, v, n, format) == 0 &&
                sql_rw_splice(rw, i, sql_match(rw, i + 1) - i + 1, &blob, 1) == 0)
                rc = 0;
            goto done;
        }
    }
    sql_rw_fail(rw, "0A000", "decode() is supported by SQLite only for a string literal "
                             "in 'hex' or 'escape' format");
done:
    free(v);
    free(format);
    return rc;
}

/*
 * Where NULL sorts: first in ascending order in SQLite, last in
 * PostgreSQL (and the other way round for DESC).  Every ORDER BY item
 * that names no NULLS placement gets PostgreSQL's, which SQLite takes
 * since 3.30 (lang_select.html#nullslast): NULLS LAST after an ascending
 * item, NULLS FIRST after a descending one; in a window's ORDER BY too.
 */
static bool sqlite_order_ends(const struct sql_rw *rw, size_t k)
{
    size_t next = sql_next(rw, k);
    /* ROWS, RANGE or GROUPS starts a window frame only as a word of its own, not t.range or a column range */
    bool frame = (sql_tk_kw(rw, k, KW_ROWS) || sql_tk_kw(rw, k, KW_RANGE) || sql_tk_word(rw, k, "groups")) &&
                 !sql_tk_punct(rw, sql_prev(rw, k), '.') &&
                 (sql_tk_kw(rw, next, KW_BETWEEN) || sql_tk_word(rw, next, "unbounded") ||
                  sql_tk_word(rw, next, "current") ||
                  ((rw->t[next].type == SQL_TOK_NUMBER || rw->t[next].type == SQL_TOK_PARAM) && next < rw->n));
    return k >= rw->n || sql_tk_punct(rw, k, ')') || sql_tk_punct(rw, k, ';') || sql_tk_punct(rw, k, ']') ||
           sql_tk_kw(rw, k, KW_LIMIT) || sql_tk_kw(rw, k, KW_OFFSET) || sql_tk_kw(rw, k, KW_FETCH) ||
           sql_tk_kw(rw, k, KW_FOR) || frame || sql_tk_kw(rw, k, KW_UNION) || sql_tk_kw(rw, k, KW_INTERSECT) ||
           sql_tk_kw(rw, k, KW_EXCEPT) || sql_tk_kw(rw, k, KW_RETURNING) || sql_tk_kw(rw, k, KW_ON) ||
           (sql_tk_kw(rw, k, KW_WITH) && !sql_tk_punct(rw, sql_prev(rw, k), '.')) ||
           (sql_tk_kw(rw, k, KW_WINDOW) && sql_tk_kw(rw, sql_next(rw, next), KW_AS));
}

static int sqlite_nulls_order(struct sql_rw *rw)
{
    static const struct sql_tk first[2] = { { "NULLS", 5, SQL_TOK_IDENT, 1, KW_NULLS },
                                            { "FIRST", 5, SQL_TOK_IDENT, 1, KW_FIRST } };
    static const struct sql_tk last[2] = { { "NULLS", 5, SQL_TOK_IDENT, 1, KW_NULLS },
                                           { "LAST", 4, SQL_TOK_IDENT, 1, KW_NONE } };

    for (size_t i = 0; i < rw->n; i++) {
        if (!sql_tk_kw(rw, i, KW_ORDER) || !sql_tk_kw(rw, sql_next(rw, i), KW_BY))
            continue;
        size_t k = sql_next(rw, sql_next(rw, i)), end_item = SIZE_MAX;
        bool placed = false, using = false;
        while (true) {
            if (sql_tk_punct(rw, k, '(') || sql_tk_punct(rw, k, '[')) {
                end_item = sql_match(rw, k);
                k = sql_next(rw, end_item);
                continue;
            }
            bool ends = sqlite_order_ends(rw, k), comma = sql_tk_punct(rw, k, ',');
            if (ends || comma) {
                if (end_item != SIZE_MAX && !placed && !using) {
                    bool desc = sql_tk_kw(rw, end_item, KW_DESC);
                    if (sql_rw_splice(rw, end_item + 1, 0, desc ? first : last, 2) != 0)
                        return -1;
                    k += 2;
                }
                if (ends)
                    break;
                end_item = SIZE_MAX, placed = false, using = false;
                k = sql_next(rw, k);
                continue;
            }
            placed |= sql_tk_kw(rw, k, KW_NULLS);
            using |= sql_tk_kw(rw, k, KW_USING);
            end_item = k;
            k = sql_next(rw, k);
        }
        /* on from the BY: an ORDER BY inside an item's parentheses gets its turn too */
    }
    return 0;
}

/* Function renames and argument orders (lang_corefunc.html). */
static int sqlite_functions(struct sql_rw *rw)
{
    for (size_t i = rw->n; i-- > 0;) {
        struct sql_arg a[2];

        if (rw->t[i].type != SQL_TOK_IDENT || !sql_tk_punct(rw, i + 1, '('))
            continue;
        if (rw->t[i].kw == KW_DECODE) {
            if (sqlite_decode(rw, i) != 0)
                return -1;
            continue;
        }
        switch (rw->t[i].kw) {
        case KW_BTRIM:
            if (!sql_rw_template(rw, i, i, NULL, 0, "trim"))
                return -1;
            break;
        case KW_TRIM: {
            /* TRIM([LEADING | TRAILING | BOTH] [chars] FROM s): ltrim, rtrim or trim(s, chars) */
            size_t close = sql_match(rw, i + 1), j = i + 2, from = 0;
            const char *fn = "trim";
            if (close >= rw->n)
                break;
            if (sql_tk_word(rw, j, "leading") || sql_tk_word(rw, j, "trailing") || sql_tk_word(rw, j, "both")) {
                fn = sql_tk_word(rw, j, "leading") ? "ltrim" : sql_tk_word(rw, j, "trailing") ? "rtrim" : "trim";
                j++;
            }
            for (size_t k = j; k < close; k++) {
                if (sql_tk_punct(rw, k, '('))
                    k = sql_match(rw, k);
                else if (sql_tk_kw(rw, k, KW_FROM)) {
                    from = k;
                    break;
                }
            }
            if (from == 0 && j == i + 2)
                break;          /* trim(s), trim(s, chars): SQLite's own */
            if (from == 0) {
                /* TRIM(LEADING s, chars) */
                if (j >= close)
                    return sql_rw_fail(rw, "42601", "TRIM needs a string to trim");
                a[0] = sql_rw_range(rw, j, close - 1);
                if (!sql_rw_template(rw, i, close, a, 1, "%s($0)", fn))
                    return -1;
                break;
            }
            if (from + 1 >= close)
                return sql_rw_fail(rw, "42601", "TRIM ... FROM needs a string to trim");
            a[0] = sql_rw_range(rw, from + 1, close - 1);
            a[1] = sql_rw_range(rw, j, from - 1);
            if (!sql_rw_template(rw, i, close, a, from == j ? 1 : 2, from == j ? "%s($0)" : "%s($0, $1)", fn))
                return -1;
            break;
        }
        case KW_CHAR_LENGTH: case KW_CHARACTER_LENGTH:
            if (!sql_rw_template(rw, i, i, NULL, 0, "length"))
                return -1;
            break;
        case KW_STRPOS:         /* strpos(s, sub) is instr(s, sub): the same order */
            if (!sql_rw_template(rw, i, i, NULL, 0, "instr"))
                return -1;
            break;
        case KW_GREATEST: case KW_LEAST:
            /* Multi-argument max() and min() are scalar, and NULL if any argument is. */
            if (sql_call_at(rw, i) &&
                sql_greatest_least(rw, i, rw->t[i].kw == KW_GREATEST ? "max" : "min", "SQLite") < 0)
                return -1;
            break;
        case KW_STRING_AGG: {
            /* group_concat(x, sep), which takes no ORDER BY before SQLite 3.44 */
            size_t close = sql_match(rw, i + 1);
            for (size_t j = i + 2; j < close; j++) {
                if (sql_tk_punct(rw, j, '('))
                    j = sql_match(rw, j);
                else if (sql_tk_kw(rw, j, KW_ORDER))
                    return sql_rw_fail(rw, "0A000", "string_agg(... ORDER BY ...) is not supported by SQLite; "
                                                    "order the rows in a subquery");
            }
            if (!sql_rw_template(rw, i, i, NULL, 0, "group_concat"))
                return -1;
            break;
        }
        case KW_POSITION: {
            size_t in = 0, close = sql_match(rw, i + 1);
            for (size_t j = i + 2; j < close; j++) {
                if (sql_tk_punct(rw, j, '('))
                    j = sql_match(rw, j);
                else if (sql_tk_kw(rw, j, KW_IN)) {
                    in = j;
                    break;
                }
            }
            if (!in)
                break;
            a[0] = sql_rw_range(rw, i + 2, in - 1);
            a[1] = sql_rw_range(rw, in + 1, close - 1);
            if (!sql_rw_template(rw, i, close, a, 2, "instr($1, $0)"))
                return -1;
            break;
        }
        default:
            break;
        }
    }
    return 0;
}

/* FETCH FIRST n ROWS ONLY -> LIMIT n; OFFSET n ROWS -> OFFSET n (lang_select.html#limitoffset). */
static int sqlite_fetch(struct sql_rw *rw)
{
    for (size_t i = rw->n; i-- > 0;) {
        size_t j = i + 1, count = 0;
        struct sql_arg a;

        if (sql_tk_kw(rw, i, KW_OFFSET) && (sql_tk_kw(rw, i + 2, KW_ROWS) || sql_tk_kw(rw, i + 2, KW_ROW))) {
            if (sql_rw_splice(rw, i + 2, 1, NULL, 0) != 0)
                return -1;
            continue;
        }
        if (!sql_tk_kw(rw, i, KW_FETCH) || !(sql_tk_kw(rw, j, KW_FIRST) || sql_tk_kw(rw, j, KW_NEXT)))
            continue;
        j++;
        if (!sql_tk_kw(rw, j, KW_ROW) && !sql_tk_kw(rw, j, KW_ROWS))
            count = j++;
        if (!(sql_tk_kw(rw, j, KW_ROW) || sql_tk_kw(rw, j, KW_ROWS)) || !sql_tk_kw(rw, j + 1, KW_ONLY))
            return sql_rw_fail(rw, "0A000", "FETCH ... WITH TIES is not supported by SQLite");
        a = count ? sql_rw_range(rw, count, count) : (struct sql_arg){ 0 };
        if (!sql_rw_template(rw, i, j + 1, &a, 1, count ? "LIMIT $0" : "LIMIT 1"))
            return -1;
    }
    return 0;
}

/* Whether the OFFSET at i follows a LIMIT clause: the nearest clause keyword before it, at its level. */
static bool sqlite_offset_after_limit(const struct sql_rw *rw, size_t i)
{
    for (size_t k = i; k-- > 0;) {
        if (sql_tk_punct(rw, k, ')') || sql_tk_punct(rw, k, ']')) {
            k = sql_match_back(rw, k);
            if (k >= rw->n)
                return false;
            continue;
        }
        if (sql_tk_punct(rw, k, '(') || sql_tk_punct(rw, k, '['))
            return false;
        if (rw->t[k].type != SQL_TOK_COMMENT && sql_level_of(rw, k) == LV_STOP)
            return sql_tk_kw(rw, k, KW_LIMIT);
    }
    return false;
}

/*
 * SQLite reads OFFSET only after a LIMIT, and has no LIMIT ALL
 * (lang_select.html#limitoffset: a negative LIMIT is none); PostgreSQL also
 * takes OFFSET alone or before LIMIT.  So LIMIT ALL -> LIMIT -1, OFFSET a
 * LIMIT b -> LIMIT b OFFSET a, and OFFSET a alone -> LIMIT -1 OFFSET a.
 */
static int sqlite_limit_offset(struct sql_rw *rw)
{
    for (size_t i = 0; i + 1 < rw->n; i++)
        if (sql_tk_kw(rw, i, KW_LIMIT) && sql_tk_kw(rw, i + 1, KW_ALL) &&
            !sql_rw_template(rw, i + 1, i + 1, NULL, 0, "-1"))
            return -1;
    /* Backwards: a rewrite moves only the tokens after it. */
    for (size_t i = rw->n; i-- > 0;) {
        if (!sql_tk_kw(rw, i, KW_OFFSET) || sqlite_offset_after_limit(rw, i))
            continue;
        size_t e = sql_operand_right(rw, i, LV_STOP), f;
        if (e == i)
            continue;
        struct sql_arg a[2] = { sql_rw_range(rw, i + 1, e) };
        if (sql_tk_kw(rw, e + 1, KW_LIMIT) && (f = sql_operand_right(rw, e + 1, LV_STOP)) > e + 1) {
            a[1] = sql_rw_range(rw, e + 2, f);
            if (!sql_rw_template(rw, i, f, a, 2, "LIMIT $1 OFFSET $0"))
                return -1;
        } else if (!sql_rw_template(rw, i, e, a, 1, "LIMIT -1 OFFSET $0")) {
            return -1;
        }
    }
    return 0;
}

/* DEFAULT takes a parenthesised expression unless it is a literal (lang_createtable.html). */
static int sqlite_default_parens(struct sql_rw *rw)
{
    if (!sql_tk_kw(rw, 0, KW_CREATE) && !sql_tk_kw(rw, 0, KW_ALTER))
        return 0;
    for (size_t i = 0; i + 1 < rw->n; i++) {
        size_t e, f = i + 1;
        struct sql_arg a;
        if (!sql_tk_kw(rw, i, KW_DEFAULT) || sql_tk_punct(rw, f, '('))
            continue;
        e = sql_operand_right(rw, i, LV_NOT);
        if (e == i)
            continue;
        if (sql_tk_op(rw, f, "-") || sql_tk_op(rw, f, "+"))
            f++;
        if (e == f && rw->t[f].type != SQL_TOK_IDENT && rw->t[f].type != SQL_TOK_QIDENT)
            continue;           /* a literal */
        if (e == f && (sql_tk_kw(rw, f, KW_NULL) || sql_tk_kw(rw, f, KW_TRUE) || sql_tk_kw(rw, f, KW_FALSE)))
            continue;
        a = sql_rw_range(rw, i + 1, e);
        if (!sql_rw_template(rw, i + 1, e, &a, 1, "($0)"))
            return -1;
    }
    return 0;
}

/*
 * INSERT/UPDATE/DELETE ... RETURNING: SQLite has it (lang_returning.html),
 * but its ODBC driver hands back rows only for statements that start like
 * a query, so the statement gets an unused WITH in front.
 */
static int sqlite_returning(struct sql_rw *rw)
{
    size_t first = sql_next(rw, SIZE_MAX);
    int depth = 0;
    bool returning = false;

    if (!(sql_tk_kw(rw, first, KW_INSERT) || sql_tk_kw(rw, first, KW_UPDATE) || sql_tk_kw(rw, first, KW_DELETE)))
        return 0;
    for (size_t i = first; i < rw->n && !returning; i++) {
        if (sql_tk_punct(rw, i, '('))
            depth++;
        else if (sql_tk_punct(rw, i, ')'))
            depth--;
        else if (depth == 0 && sql_tk_kw(rw, i, KW_RETURNING))
            returning = true;
    }
    if (!returning)
        return 0;
    struct sql_arg a = sql_rw_range(rw, first, first);
    return sql_rw_template(rw, first, first, &a, 1, "WITH pgiris_returning AS (SELECT 1) $0") ? 0 : -1;
}

/*
 * A VALUES list on its own is a query in SQLite too (lang_select.html), but
 * the driver reads it as a statement with no rows (see sqlite_returning),
 * and SQLite takes no ORDER BY or LIMIT after it: the list becomes a
 * subquery, whose columns keep their names (column1, column2 ...), and
 * what follows it stays outside.
 */
static int sqlite_values(struct sql_rw *rw)
{
    size_t first = sql_next(rw, SIZE_MAX), last = first, i = sql_next(rw, first);

    if (!sql_tk_kw(rw, first, KW_VALUES))
        return 0;
    while (sql_tk_punct(rw, i, '(')) {
        last = sql_match(rw, i);
        if (last >= rw->n)
            return 0;   /* unbalanced: SQLite's error says where */
        i = sql_next(rw, last);
        if (!sql_tk_punct(rw, i, ','))
            break;
        i = sql_next(rw, i);
    }
    struct sql_arg a = sql_rw_range(rw, first, last);
    return sql_rw_template(rw, first, last, &a, 1, "SELECT * FROM ($0)") ? 0 : -1;
}

/*
 * SELECT ... FOR UPDATE, NO KEY UPDATE, SHARE or KEY SHARE [OF t, ...]
 * [NOWAIT | SKIP LOCKED]: SQLite has neither row locks nor the clause.  Its
 * transactions are serializable: of two that read a row and then write it,
 * the second to write fails (SQLITE_BUSY) instead of overwriting the first,
 * so no update is lost without the clause, which goes (as Django's SQLite
 * backend ignores select_for_update).
 */
static int sqlite_row_locks(struct sql_rw *rw)
{
    size_t i = 0, j, last;

    while (i < rw->n) {
        if (!sql_tk_kw(rw, i, KW_FOR)) {
            i++;
            continue;
        }
        j = sql_next(rw, i);
        if (sql_tk_kw(rw, j, KW_NO) && sql_tk_kw(rw, sql_next(rw, j), KW_KEY))
            j = sql_next(rw, sql_next(rw, j));
        else if (sql_tk_kw(rw, j, KW_KEY))
            j = sql_next(rw, j);
        if (!sql_tk_kw(rw, j, KW_UPDATE) && !sql_tk_kw(rw, j, KW_SHARE)) {
            i++;
            continue;
        }
        last = j;
        j = sql_next(rw, last);
        if (sql_tk_word(rw, j, "of")) {
            for (;;) {
                last = sql_next(rw, j);     /* a table, maybe schema-qualified */
                while (sql_tk_punct(rw, sql_next(rw, last), '.'))
                    last = sql_next(rw, sql_next(rw, last));
                j = sql_next(rw, last);
                if (!sql_tk_punct(rw, j, ','))
                    break;
            }
        }
        if (sql_tk_word(rw, j, "nowait"))
            last = j;
        else if (sql_tk_word(rw, j, "skip") && sql_tk_word(rw, sql_next(rw, j), "locked"))
            last = sql_next(rw, j);
        if (last >= rw->n)
            return 0;   /* cut short: SQLite's error says where */
        if (sql_rw_splice(rw, i, last - i + 1, NULL, 0) < 0)
            return -1;
    }
    return 0;
}

/*
 * SQLite's driver counts the "?" in comments as parameter markers, and then
 * refuses the statement ("parameter marker count incorrect"): such
 * comments go.
 */
static int sqlite_marker_comments(struct sql_rw *rw)
{
    size_t i = 0;

    while (i < rw->n) {
        if (rw->t[i].type != SQL_TOK_COMMENT || memchr(rw->t[i].s, '?', rw->t[i].len) == NULL)
            i++;
        else if (sql_rw_splice(rw, i, 1, NULL, 0) < 0)
            return -1;
    }
    return 0;
}

/* ROLLBACK WORK TO s: SQLite knows ROLLBACK [TRANSACTION] TO (lang_savepoint.html), not WORK. */
static int sqlite_rollback_work(struct sql_rw *rw)
{
    size_t first = sql_next(rw, SIZE_MAX), second = sql_next(rw, first);

    if (sql_tk_kw(rw, first, KW_ROLLBACK) && sql_tk_kw(rw, second, KW_WORK))
        return sql_rw_splice(rw, second, 1, NULL, 0);
    return 0;
}

/* ---- PostgreSQL's catalogs, as far as psql's lists need them ---------- */

/*
 * The relations of pg_catalog that psql's \dt, \dv, \di, \d, \dn and \l
 * read, as subqueries of SQLite's own catalog (sqlite_master: tables, views
 * and indexes of the main database, its internal sqlite_ tables left out
 * but for the indexes of UNIQUE constraints).  A relation's oid is its
 * sqlite_master rowid plus 16384, an integer (CAST gives it that affinity,
 * so '16390' compares equal to it as a PostgreSQL oid literal would).
 * Owners are the client's user (SQLite has none), every relation is in
 * schema public (oid 2200).  The database's row is built per session.
 */
/* The type oid of a column declared p.type, by the words SQLite reads its affinity from (datatype3.html). */
#define SQLITE_TYPE_OID \
    "CASE WHEN upper(p.type) LIKE '%INT%' THEN CASE WHEN upper(p.type) LIKE '%BIGINT%' OR upper(p.type) LIKE" \
    " 'INT8%' THEN 20 WHEN upper(p.type) LIKE '%SMALLINT%' OR upper(p.type) LIKE 'INT2%' THEN 21 ELSE 23" \
    " END WHEN upper(p.type) LIKE '%CHAR%' THEN 1043 WHEN upper(p.type) LIKE 'BOOL%' THEN 16 WHEN upper(p.type)" \
    " LIKE 'NUMERIC%' OR upper(p.type) LIKE 'DECIMAL%' THEN 1700 WHEN upper(p.type) LIKE 'REAL%' OR upper(p.type)" \
    " LIKE 'FLOA%' OR upper(p.type) LIKE 'DOUB%' THEN 701 WHEN upper(p.type) LIKE 'DATE%' THEN 1082 WHEN" \
    " upper(p.type) LIKE 'TIMESTAMPTZ%' THEN 1184 WHEN upper(p.type) LIKE 'TIMESTAMP%' THEN 1114 WHEN" \
    " upper(p.type) LIKE 'TIME%' THEN 1083 WHEN upper(p.type) LIKE 'BLOB%' OR upper(p.type) LIKE 'BYTEA%' THEN 17" \
    " ELSE 25 END"

static const struct {
    const char *name;
    const char *sql;
} sqlite_catalog_rels[] = {
    { "pg_namespace",
      "(SELECT 11 AS oid, 'pg_catalog' AS nspname, 10 AS nspowner, NULL AS nspacl UNION ALL SELECT"
      " 2200, 'public', 10, NULL)" },
    { "pg_am",
      "(SELECT 2 AS oid, 'heap' AS amname, 't' AS amtype UNION ALL SELECT 403, 'btree', 'i')" },
    { "pg_class",
      "(SELECT CAST(m.rowid + 16384 AS INTEGER) AS oid, m.name AS relname, 2200 AS relnamespace, CASE"
      " m.type WHEN 'view' THEN 'v' WHEN 'index' THEN 'i' ELSE 'r' END AS relkind, 10 AS relowner, CASE"
      " m.type WHEN 'table' THEN 2 WHEN 'index' THEN 403 ELSE 0 END AS relam, 0 AS reltablespace, 0 AS"
      " reltoastrelid, 0 AS reloftype, 0 AS reltype, 'p' AS relpersistence, NULL AS reloptions, NULL AS"
      " relacl, EXISTS (SELECT 1 FROM sqlite_master x WHERE x.type = 'index' AND x.tbl_name = m.name)"
      " AS relhasindex, 0 AS relchecks, 0 AS relhasrules, 0 AS relhastriggers, 0 AS relrowsecurity, 0"
      " AS relforcerowsecurity, 0 AS relispartition, 0 AS relisshared, 'd' AS relreplident, -1 AS"
      " reltuples, 0 AS relpages, NULL AS relpartbound FROM sqlite_master m WHERE m.type IN ('table',"
      " 'view', 'index') AND (m.name NOT LIKE 'sqlite!_%' ESCAPE '!' OR m.name LIKE"
      " 'sqlite!_autoindex!_%' ESCAPE '!'))" },
    { "pg_index",
      "(SELECT CAST(x.rowid + 16384 AS INTEGER) AS indexrelid, CAST(t.rowid + 16384 AS INTEGER) AS"
      " indrelid, l.origin = 'pk' AS indisprimary, l.\"unique\" AS indisunique, 0 AS indisclustered, 1 AS"
      " indisvalid, 0 AS indisreplident, 1 AS indimmediate, 0 AS indnullsnotdistinct, NULL AS indpred,"
      " (SELECT count(*) FROM pragma_index_info(x.name)) AS indnatts,"
      " (SELECT count(*) FROM pragma_index_info(x.name)) AS indnkeyatts,"
      " NULL AS indexprs, 'CREATE ' || CASE WHEN l.\"unique\" THEN 'UNIQUE ' ELSE '' END || 'INDEX ' ||"
      " x.name || ' ON public.' || t.name || ' USING btree (' || (SELECT group_concat(coalesce(k.name, 'expr'), ', ')"
      " FROM pragma_index_info(x.name) k) || ')' AS pgiris_indexdef FROM sqlite_master x JOIN"
      " sqlite_master t ON t.name = x.tbl_name AND t.type = 'table' JOIN pragma_index_list(t.name) l ON"
      " l.name = x.name WHERE x.type = 'index')" },
    { "pg_attribute",
      "(SELECT CAST(m.rowid + 16384 AS INTEGER) AS attrelid, p.name AS attname,"
      " CAST(p.cid + 1 AS INTEGER) AS attnum, " SQLITE_TYPE_OID " AS atttypid, -1 AS atttypmod,"
      " coalesce(nullif(lower(p.type), ''), 'text') AS pgiris_type, (p.\"notnull\" OR p.pk > 0) AS attnotnull,"
      " p.dflt_value IS NOT NULL AS atthasdef, 0 AS attisdropped, '' AS attidentity, '' AS attgenerated,"
      " 0 AS attcollation, 0 AS attndims, 1 AS attislocal, NULL AS attacl"
      " FROM sqlite_master m, pragma_table_xinfo(m.name) p WHERE m.type IN ('table', 'view') AND p.hidden <> 1"
      /* an index's columns, typed as its table's */
      " UNION ALL SELECT CAST(x.rowid + 16384 AS INTEGER), coalesce(k.name, 'expr'), CAST(k.seqno + 1 AS INTEGER), "
      SQLITE_TYPE_OID ", -1, coalesce(nullif(lower(p.type), ''), 'text'), 0, 0, 0, '', '', 0, 0, 1, NULL"
      " FROM sqlite_master x, pragma_index_info(x.name) k LEFT JOIN pragma_table_info(x.tbl_name) p"
      " ON p.name = k.name WHERE x.type = 'index')" },
    { "pg_attrdef",
      "(SELECT CAST(m.rowid + 16384 AS INTEGER) AS adrelid, CAST(p.cid + 1 AS INTEGER) AS adnum,"
      " p.dflt_value AS adbin FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table'"
      " AND p.dflt_value IS NOT NULL)" },
    { "pg_type",
      "(SELECT 16 AS oid, 'bool' AS typname, 11 AS typnamespace, 10 AS typowner, 1 AS typlen, 'b' AS"
      " typtype, 'B' AS typcategory, 0 AS typcollation, 0 AS typelem, 0 AS typrelid, 0 AS typbasetype,"
      " -1 AS typtypmod UNION ALL SELECT 17, 'bytea', 11, 10, -1, 'b', 'U', 0, 0, 0, 0, -1 UNION ALL"
      " SELECT 20, 'int8', 11, 10, 8, 'b', 'N', 0, 0, 0, 0, -1 UNION ALL SELECT 21, 'int2', 11, 10, 2,"
      " 'b', 'N', 0, 0, 0, 0, -1 UNION ALL SELECT 23, 'int4', 11, 10, 4, 'b', 'N', 0, 0, 0, 0, -1 UNION"
      " ALL SELECT 25, 'text', 11, 10, -1, 'b', 'S', 100, 0, 0, 0, -1 UNION ALL SELECT 26, 'oid', 11,"
      " 10, 4, 'b', 'N', 0, 0, 0, 0, -1 UNION ALL SELECT 700, 'float4', 11, 10, 4, 'b', 'N', 0, 0, 0,"
      " 0, -1 UNION ALL SELECT 701, 'float8', 11, 10, 8, 'b', 'N', 0, 0, 0, 0, -1 UNION ALL SELECT"
      " 1042, 'bpchar', 11, 10, -1, 'b', 'S', 100, 0, 0, 0, -1 UNION ALL SELECT 1043, 'varchar', 11,"
      " 10, -1, 'b', 'S', 100, 0, 0, 0, -1 UNION ALL SELECT 1082, 'date', 11, 10, 4, 'b', 'D', 0, 0, 0,"
      " 0, -1 UNION ALL SELECT 1083, 'time', 11, 10, 8, 'b', 'D', 0, 0, 0, 0, -1 UNION ALL SELECT 1114,"
      " 'timestamp', 11, 10, 8, 'b', 'D', 0, 0, 0, 0, -1 UNION ALL SELECT 1184, 'timestamptz', 11, 10,"
      " 8, 'b', 'D', 0, 0, 0, 0, -1 UNION ALL SELECT 1700, 'numeric', 11, 10, -1, 'b', 'N', 0, 0, 0, 0,"
      " -1 UNION ALL SELECT 2950, 'uuid', 11, 10, 16, 'b', 'U', 0, 0, 0, 0, -1)" },
    { "pg_collation",
      "(SELECT 100 AS oid, 'default' AS collname, 11 AS collnamespace WHERE 0)" },
    { "pg_constraint",
      "(SELECT 0 AS oid, '' AS conname, 2200 AS connamespace, '' AS contype, 0 AS condeferrable, 0 AS"
      " condeferred, 1 AS convalidated, 0 AS conrelid, 0 AS conindid, 0 AS confrelid, 0 AS conparentid,"
      " NULL AS conkey, NULL AS confkey WHERE 0)" },
    { "pg_database", NULL },
};

/* s as a SQL string literal into out (at most size bytes with its NUL); false if it does not fit. */
static bool sqlite_quote(const char *s, char *out, size_t size)
{
    size_t n = 0;

    out[n++] = '\'';
    for (; *s; s++) {
        if (n + 4 >= size)
            return false;
        if (*s == '\'')
            out[n++] = '\'';
        out[n++] = *s;
    }
    out[n++] = '\'';
    out[n] = '\0';
    return true;
}

/*
 * A regular expression as a GLOB pattern, where one says the same: literal
 * characters (a backslash escapes one), "." and ".*", anchored by ^ and $
 * (unanchored, it matches anywhere, as ~ does), the whole in parentheses
 * as psql writes it ('^(acc.*)$').  False for anything else.
 */
static bool sqlite_regex_glob(const char *re, size_t n, char *out, size_t size)
{
    size_t a = 0, b = n, k = 0;
    bool start = false, end = false;

    if (a < b && re[a] == '^')
        start = true, a++;
    if (b > a && re[b - 1] == '$' && !(b >= 2 && re[b - 2] == '\\'))
        end = true, b--;
    if (b - a >= 2 && re[a] == '(' && re[b - 1] == ')')
        a++, b--;
    if (!start && k + 1 < size)
        out[k++] = '*';
    for (size_t i = a; i < b; i++) {
        char c = re[i];
        if (k + 4 >= size)
            return false;
        if (c == '.' && i + 1 < b && re[i + 1] == '*') {
            out[k++] = '*';
            i++;
        } else if (c == '.') {
            out[k++] = '?';
        } else if (c == '\\' && i + 1 < b && !isalnum((unsigned char)re[i + 1])) {
            c = re[++i];
            if (c == '*' || c == '?' || c == '[') {
                out[k++] = '[';
                out[k++] = c;
                out[k++] = ']';
            } else {
                out[k++] = c;
            }
        } else if (strchr("\\[](){}|+*?^$", c) != NULL) {
            return false;
        } else {
            out[k++] = c;
        }
    }
    if (!end)
        out[k++] = '*';
    out[k] = '\0';
    return true;
}

/* x ~ 'regex' and x !~ 'regex' (OPERATOR(pg_catalog.~) as psql writes it) as GLOB, which SQLite has. */
static int sqlite_regex(struct sql_rw *rw, size_t i)
{
    size_t lit, prev = sql_prev(rw, i), n;
    const struct sql_tk *t = &rw->t[i];
    bool negate = t->len == 2 && t->s[0] == '!';
    char glob[512], quoted[1100], *re;

    if (t->s[t->len - 1] == '*')
        return sql_rw_fail(rw, "0A000", "case-insensitive regular expressions (%.*s) are not supported by SQLite",
                           (int)t->len, t->s);
    /* ~ x with nothing before it is bitwise NOT, as in SQLite */
    if (prev == SIZE_MAX || rw->t[prev].type == SQL_TOK_OP ||
        (rw->t[prev].type == SQL_TOK_PUNCT && !sql_tk_punct(rw, prev, ')') && !sql_tk_punct(rw, prev, ']')) ||
        (rw->t[prev].type == SQL_TOK_IDENT && sql_level_of(rw, prev) != LV_OPERAND))
        return negate ? sql_rw_fail(rw, "42601", "syntax error at or near \"!~\"") : 0;
    lit = sql_next(rw, i);
    if (lit >= rw->n || rw->t[lit].type != SQL_TOK_STRING || rw->t[lit].s[0] != '\'')
        return sql_rw_fail(rw, "0A000", "a regular expression match (%s) is supported by SQLite only with a "
                           "string literal for its pattern", negate ? "!~" : "~");
    if (!(re = sql_literal_value(rw, &rw->t[lit], &n)))
        return -1;
    bool ok = sqlite_regex_glob(re, n, glob, sizeof(glob));
    if (!ok) {
        sql_rw_fail(rw, "0A000", "the regular expression '%.*s' has no equivalent on SQLite: only literal "
                    "text, . and .* between ^ and $ are", (int)(n > 64 ? 64 : n), re);
        free(re);
        return -1;
    }
    free(re);
    if (!sqlite_quote(glob, quoted, sizeof(quoted)))
        return sql_rw_fail(rw, "54000", "regular expression too long");
    return sql_rw_template(rw, i, lit, NULL, 0, "%s %s", negate ? "NOT GLOB" : "GLOB", quoted) ? 0 : -1;
}

/*
 * Catalogs of things SQLite does not have (row security policies,
 * extended statistics, publications, inheritance, triggers and rules as
 * PostgreSQL keeps them): empty.  psql's \d asks each of them about the
 * relation it describes, in queries full of arrays and reg* casts.
 */
static const char *const sqlite_empty_catalogs[] = {
    "pg_policy", "pg_statistic_ext", "pg_publication", "pg_publication_rel", "pg_publication_namespace",
    "pg_inherits", "pg_trigger", "pg_rewrite", "pg_partitioned_table", "pg_foreign_table",
};

/* Whether t[i..i+2] is pg_catalog.<one of sqlite_empty_catalogs>. */
static bool sqlite_empty_catalog_at(const struct sql_rw *rw, size_t i)
{
    if (!sql_tk_kw(rw, i, KW_PG_CATALOG) || !sql_tk_punct(rw, i + 1, '.'))
        return false;
    for (size_t k = 0; k < sizeof(sqlite_empty_catalogs) / sizeof(sqlite_empty_catalogs[0]); k++)
        if (sql_tk_word(rw, i + 2, sqlite_empty_catalogs[k]))
            return true;
    return false;
}

/*
 * Whether the statement's result is empty for want of rows in those
 * catalogs: each SELECT of it (a UNION's branches too; none under WITH)
 * reads one of them in its FROM list, after FROM, a comma or an inner
 * JOIN (not on the optional side of an outer join).
 */
static bool sqlite_catalog_empty(const struct sql_rw *rw)
{
    size_t i = sql_next(rw, SIZE_MAX);
    bool any = false;

    while (i < rw->n) {
        if (!sql_tk_kw(rw, i, KW_SELECT))
            return false;
        bool from = false, inner = false, empty = false;
        for (i = sql_next(rw, i); i < rw->n; i = sql_next(rw, i)) {
            const struct sql_tk *t = &rw->t[i];
            size_t skip = sql_skip_nested(rw, i);
            if (skip != i) {
                i = skip;
                continue;
            }
            if (sql_tk_kw(rw, i, KW_UNION) || sql_tk_kw(rw, i, KW_INTERSECT) || sql_tk_kw(rw, i, KW_EXCEPT))
                break;
            if (!from) {
                /* an aggregate without GROUP BY has a row even over none: count(*) is 0 */
                static const char *const aggregates[] = {
                    "count", "sum", "avg", "min", "max", "every", "bool_and", "bool_or", "array_agg",
                    "string_agg", "json_agg", "jsonb_agg", "json_object_agg", "group_concat", "total",
                };
                for (size_t k = 0; k < SQL_NELEM(aggregates); k++)
                    if (sql_tk_word(rw, i, aggregates[k]) && sql_tk_punct(rw, i + 1, '('))
                        return false;
                from = sql_tk_kw(rw, i, KW_FROM) && !sql_tk_kw(rw, sql_prev(rw, i), KW_DISTINCT);
                inner = from;
                continue;
            }
            /* what a RIGHT or FULL join keeps does not depend on the catalog's rows */
            if (sql_tk_kw(rw, i, KW_RIGHT) || sql_tk_kw(rw, i, KW_FULL))
                return false;
            if (sql_tk_punct(rw, i, ',')) {
                inner = true;
            } else if (sql_tk_kw(rw, i, KW_JOIN)) {
                size_t p = sql_prev(rw, i);
                if (sql_tk_word(rw, p, "outer"))
                    p = sql_prev(rw, p);
                inner = !(sql_tk_kw(rw, p, KW_LEFT) || sql_tk_kw(rw, p, KW_RIGHT) || sql_tk_kw(rw, p, KW_FULL));
            } else if (inner && sqlite_empty_catalog_at(rw, i)) {
                empty = true;
            } else if (t->type == SQL_TOK_IDENT && (t->kw == KW_WHERE || t->kw == KW_GROUP || t->kw == KW_HAVING ||
                                                    t->kw == KW_ORDER || t->kw == KW_LIMIT || t->kw == KW_WINDOW)) {
                from = false;   /* past the FROM list: on to the end of this SELECT */
                inner = false;
                while (i < rw->n && !(sql_tk_kw(rw, sql_next(rw, i), KW_UNION) ||
                                      sql_tk_kw(rw, sql_next(rw, i), KW_INTERSECT) ||
                                      sql_tk_kw(rw, sql_next(rw, i), KW_EXCEPT))) {
                    i = sql_next(rw, i);
                    if (sql_tk_punct(rw, i, '(') || sql_tk_punct(rw, i, '['))
                        i = sql_match(rw, i);
                }
            }
        }
        if (!empty)
            return false;
        any = true;
        if (i < rw->n)
            i = sql_next(rw, i);        /* past UNION */
        if (sql_tk_kw(rw, i, KW_ALL) || sql_tk_kw(rw, i, KW_DISTINCT))
            i = sql_next(rw, i);
    }
    return any;
}

/*
 * What psql's \dt, \dv, \di, \ds, \d (a list), \dn and \l ask of
 * PostgreSQL's catalogs, answered from SQLite's: the relations above, the
 * functions those queries call (pg_get_userbyid: the client's user;
 * pg_table_is_visible: true; pg_encoding_to_char: UTF8; array_to_string
 * of what is no array here: the value itself), regular expression matches
 * on literal patterns (as GLOB), and COLLATE pg_catalog.default (dropped).
 * Other catalogs are left for sql_rule_catalogs to refuse by name.
 */
static int sqlite_pg_catalog(struct sql_rw *rw)
{
    char lit[512], db[1024];
    /* read by a query; an UPDATE of a catalog is left for sql_rule_catalogs to refuse */
    bool query = sql_main_select(rw) != SIZE_MAX;

    /* no rows, its columns named as the query names them (a list too long for that is refused below) */
    if (query && sqlite_catalog_empty(rw) && sql_select_nulls(rw, sql_next(rw, SIZE_MAX), db + 7, sizeof(db) - 16)) {
        memcpy(db, "SELECT ", 7);
        strcat(db, " LIMIT 0");
        return sql_rw_template(rw, 0, rw->n - 1, NULL, 0, "%s", db) ? 0 : -1;
    }
    for (size_t i = 0; i < rw->n; i++) {
        /* OPERATOR(pg_catalog.~) -> ~ */
        if (sql_tk_word(rw, i, "operator") && sql_tk_punct(rw, i + 1, '(') && sql_tk_kw(rw, i + 2, KW_PG_CATALOG) &&
            sql_tk_punct(rw, i + 3, '.') && sql_tk_punct(rw, i + 5, ')') && rw->t[i + 4].type == SQL_TOK_OP) {
            struct sql_tk op = rw->t[i + 4];
            op.space = rw->t[i].space;
            if (sql_rw_splice(rw, i, 6, &op, 1) != 0)
                return -1;
        }
        if (rw->t[i].type == SQL_TOK_OP &&
            ((rw->t[i].len == 1 && rw->t[i].s[0] == '~') || sql_tk_op(rw, i, "!~") || sql_tk_op(rw, i, "~*") ||
             sql_tk_op(rw, i, "!~*"))) {
            if (sqlite_regex(rw, i) < 0)
                return -1;
            continue;
        }
        /* COLLATE pg_catalog.default: the column's own collation */
        if (sql_tk_kw(rw, i, KW_COLLATE) && sql_tk_kw(rw, i + 1, KW_PG_CATALOG) && sql_tk_punct(rw, i + 2, '.') &&
            (sql_tk_kw(rw, i + 3, KW_DEFAULT) ||
             (i + 3 < rw->n && rw->t[i + 3].type == SQL_TOK_QIDENT && rw->t[i + 3].len == 9 && memcmp(rw->t[i + 3].s, "\"default\"", 9) == 0))) {
            if (sql_rw_splice(rw, i, 4, NULL, 0) != 0)
                return -1;
            i--;
            continue;
        }
        if (!sql_tk_kw(rw, i, KW_PG_CATALOG) || !sql_tk_punct(rw, i + 1, '.') || i + 2 >= rw->n ||
            rw->t[i + 2].type != SQL_TOK_IDENT ||
            (i > 0 && sql_tk_punct(rw, i - 1, '.')))
            continue;
        size_t name = i + 2, after = sql_next(rw, name);
        if (sql_tk_punct(rw, after, '(')) {
            size_t close = sql_match(rw, after), first[2], last[2];
            const char *value = NULL;
            if (close >= rw->n)
                continue;
            if (sql_tk_word(rw, name, "pg_get_userbyid")) {
                /* the user is known when the statement is translated for a session (SQL_FLAG_SESSION) */
                rw->flags |= SQL_FLAG_SESSION;
                value = rw->user != NULL && sqlite_quote(rw->user, lit, sizeof(lit)) ? lit : "NULL";
            } else if (sql_tk_word(rw, name, "pg_table_is_visible")) {
                value = "1";
            } else if (sql_tk_word(rw, name, "pg_encoding_to_char")) {
                value = "'UTF8'";
            } else if ((sql_tk_word(rw, name, "array_to_string") && sql_args(rw, after, first, last, 2) >= 2) ||
                       (sql_tk_word(rw, name, "pg_get_expr") && sql_args(rw, after, first, last, 2) >= 1)) {
                /* an array's text, of what is no array here; a stored expression's, which is its text here */
                struct sql_arg arg = sql_rw_range(rw, first[0], last[0]);
                if (!sql_rw_template(rw, i, close, &arg, 1, "($0)"))
                    return -1;
                continue;
            } else if (sql_tk_word(rw, name, "format_type") || sql_tk_word(rw, name, "pg_get_indexdef")) {
                /* of a pg_attribute's or a pg_index's row: the column the emulation keeps for it */
                bool fmt = sql_tk_word(rw, name, "format_type");
                const char *col = fmt ? "atttypid" : "indexrelid";
                size_t nargs = sql_args(rw, after, first, last, 2);
                value = "NULL";
                /* pg_get_indexdef(a.attrelid, a.attnum, ...): the index column's definition, its name here */
                if (!fmt && nargs >= 2 && last[0] == first[0] + 2 && sql_tk_punct(rw, first[0] + 1, '.') &&
                    sql_tk_word(rw, last[0], "attrelid")) {
                    struct sql_arg arg = sql_rw_range(rw, first[0], first[0]);
                    if (!sql_rw_template(rw, i, close, &arg, 1, "$0.attname"))
                        return -1;
                    continue;
                }
                if (nargs >= 1 && last[0] == first[0] + 2 &&
                    sql_tk_punct(rw, first[0] + 1, '.') && sql_tk_word(rw, last[0], col)) {
                    struct sql_arg arg = sql_rw_range(rw, first[0], first[0]);
                    if (!sql_rw_template(rw, i, close, &arg, 1, fmt ? "$0.pgiris_type" : "$0.pgiris_indexdef"))
                        return -1;
                    continue;
                }
                /* format_type(oid, typmod) of another oid: the name of a type pg_type lists */
                if (fmt && nargs >= 1) {
                    struct sql_arg arg = sql_rw_range(rw, first[0], last[0]);
                    if (!sql_rw_template(rw, i, close, &arg, 1,
                                         "(CASE $0 WHEN 16 THEN 'boolean' WHEN 17 THEN 'bytea' WHEN 20 THEN 'bigint' "
                                         "WHEN 21 THEN 'smallint' WHEN 23 THEN 'integer' WHEN 25 THEN 'text' "
                                         "WHEN 26 THEN 'oid' WHEN 700 THEN 'real' WHEN 701 THEN 'double precision' "
                                         "WHEN 1042 THEN 'character' WHEN 1043 THEN 'character varying' "
                                         "WHEN 1082 THEN 'date' WHEN 1083 THEN 'time without time zone' "
                                         "WHEN 1114 THEN 'timestamp without time zone' "
                                         "WHEN 1184 THEN 'timestamp with time zone' WHEN 1700 THEN 'numeric' "
                                         "WHEN 2950 THEN 'uuid' END)"))
                        return -1;
                    continue;
                }
            } else if (sql_tk_word(rw, name, "pg_get_constraintdef")) {
                value = "NULL";         /* no constraint is listed (pg_constraint) */
            } else {
                /* pg_catalog.lower(x): SQLite's own function, if it has one ("no such function" if not) */
                rw->t[name].space = rw->t[i].space;
                if (sql_rw_splice(rw, i, 2, NULL, 0) != 0)
                    return -1;
                continue;
            }
            if (value != NULL && !sql_rw_template(rw, i, close, NULL, 0, "%s", value))
                return -1;
            continue;
        }
        /* A relation: after FROM, JOIN or a comma, not a column (pg_catalog.pg_class.relname). */
        size_t before = sql_prev(rw, i);
        if (!query || sql_tk_punct(rw, after, '.') || before == SIZE_MAX ||
            !(sql_tk_kw(rw, before, KW_FROM) || sql_tk_kw(rw, before, KW_JOIN) || sql_tk_punct(rw, before, ',')))
            continue;
        for (size_t r = 0; r < sizeof(sqlite_catalog_rels) / sizeof(sqlite_catalog_rels[0]); r++) {
            if (!sql_tk_word(rw, name, sqlite_catalog_rels[r].name))
                continue;
            const char *sql = sqlite_catalog_rels[r].sql;
            if (sql == NULL) {
                rw->flags |= SQL_FLAG_SESSION;
                if (rw->database == NULL || !sqlite_quote(rw->database, lit, sizeof(lit)))
                    snprintf(lit, sizeof(lit), "NULL");
                snprintf(db, sizeof(db), "(SELECT 1 AS oid, %s AS datname, 10 AS datdba, 6 AS encoding,"
                         " 'C' AS datcollate, 'C' AS datctype, NULL AS daticulocale, 'c' AS datlocprovider,"
                         " NULL AS datacl, 0 AS datistemplate, 1 AS datallowconn, -1 AS datconnlimit)", lit);
                sql = db;
            }
            bool aliased = after < rw->n && (sql_tk_kw(rw, after, KW_AS) || rw->t[after].type == SQL_TOK_QIDENT ||
                                             (rw->t[after].type == SQL_TOK_IDENT &&
                                              sql_level_of(rw, after) == LV_OPERAND));
            if (!sql_rw_template(rw, i, name, NULL, 0, aliased ? "%s" : "%s AS %s", sql, sqlite_catalog_rels[r].name))
                return -1;
            break;
        }
    }
    return 0;
}

/*
 * generate_series(start, stop [, step]) in a FROM list: Debian's SQLite
 * library has no series extension.  It becomes a recursive CTE in a
 * subquery, named as PostgreSQL names a scalar function's result (the
 * column is "generate_series", or the alias, or the alias's column):
 *
 *     (WITH RECURSIVE "pgiris series"(v, e, s) AS (
 *          SELECT a, b, c FROM (SELECT CAST(start AS NUMERIC) AS a, CAST(stop ...) AS b,
 *                                      CAST(step ...) AS c) WHERE <a within b>
 *          UNION ALL SELECT v + s, e, s FROM "pgiris series" WHERE <v + s within e>)
 *      SELECT v AS "g" FROM "pgiris series") AS g
 *
 * The arguments are evaluated once and read as numbers (a parameter bound
 * as text, '3', would otherwise sort after every integer and never end the
 * series); "within" is <= for a positive step, >= for a negative one, and
 * neither for a NULL or a 0 step, which give no rows (a literal 0 is
 * PostgreSQL's error).  Series of timestamps, WITH ORDINALITY, LATERAL and
 * a call in an expression are refused by name; a table of that name is
 * left alone.
 */
static int sqlite_generate_series(struct sql_rw *rw)
{
    static const char within[] = "CASE WHEN %1$s > 0 THEN %2$s <= %3$s WHEN %1$s < 0 THEN %2$s >= %3$s END";

    for (size_t i = 0; i < rw->n; i++) {
        if (!sql_tk_kw(rw, i, KW_GENERATE_SERIES) || !sql_tk_punct(rw, i + 1, '('))
            continue;
        size_t before = sql_prev(rw, i), close = sql_match(rw, i + 1), first[3], last[3];
        if (close >= rw->n)
            continue;
        /* a table named generate_series: INSERT INTO, CREATE TABLE, CREATE INDEX ... ON, REFERENCES */
        if (sql_tk_kw(rw, before, KW_INTO) || sql_tk_kw(rw, before, KW_TABLE) || sql_tk_kw(rw, before, KW_ON) ||
            sql_tk_kw(rw, before, KW_REFERENCES) || sql_tk_kw(rw, before, KW_EXISTS))
            continue;
        if (sql_tk_kw(rw, before, KW_LATERAL))
            return sql_rw_fail(rw, "0A000", "LATERAL generate_series() is not supported by SQLite");
        if (!(sql_tk_kw(rw, before, KW_FROM) || sql_tk_kw(rw, before, KW_JOIN) || sql_tk_punct(rw, before, ',')))
            return sql_rw_fail(rw, "0A000", "generate_series() is supported by SQLite only in a FROM list");
        size_t nargs = sql_args(rw, i + 1, first, last, 3);
        if (nargs < 2 || nargs > 3)
            return sql_rw_fail(rw, "42883", "function generate_series() takes 2 or 3 arguments on SQLite");
        for (size_t k = i + 2; k < close; k++)
            if (sql_tk_kw(rw, k, KW_INTERVAL) || sql_tk_kw(rw, k, KW_TIMESTAMP) ||
                sql_tk_kw(rw, k, KW_TIMESTAMPTZ) || sql_tk_kw(rw, k, KW_DATE))
                return sql_rw_fail(rw, "0A000", "generate_series() of dates and times is not supported by SQLite");
        struct sql_arg a[4];
        a[0] = sql_rw_range(rw, first[0], last[0]);
        a[1] = sql_rw_range(rw, first[1], last[1]);
        a[2] = (struct sql_arg){ 0 };
        if (nargs == 3) {
            a[2] = sql_rw_range(rw, first[2], last[2]);
            size_t f = first[2];
            bool neg = sql_tk_op(rw, f, "-") && last[2] == f + 1;
            if ((last[2] == f || neg) && rw->t[last[2]].type == SQL_TOK_NUMBER && strtod(rw->t[last[2]].s, NULL) == 0)
                return sql_rw_fail(rw, "22023", "step size cannot equal zero");
        }
        /* the alias (any word that is no clause: a keyword such as level too), and a column list after it */
        size_t after = sql_next(rw, close), alias = SIZE_MAX, end = close;
        if (sql_tk_word(rw, after, "with"))
            return sql_rw_fail(rw, "0A000", "generate_series() WITH ORDINALITY is not supported by SQLite");
        if (sql_tk_kw(rw, after, KW_AS))
            after = sql_next(rw, after);
        if (after < rw->n && (rw->t[after].type == SQL_TOK_QIDENT ||
                              (rw->t[after].type == SQL_TOK_IDENT && sql_level_of(rw, after) == LV_OPERAND)))
            alias = end = after;
        else if (sql_tk_kw(rw, sql_next(rw, close), KW_AS))
            return sql_rw_fail(rw, "42601", "syntax error at or near \"AS\"");
        a[3] = alias != SIZE_MAX ? sql_rw_range(rw, alias, alias) : (struct sql_arg){ 0 };
        struct sql_arg col = a[3];
        size_t open = sql_next(rw, end);
        if (alias != SIZE_MAX && sql_tk_punct(rw, open, '(')) {
            size_t cf[2], cl[2];
            if (sql_args(rw, open, cf, cl, 2) != 1 || cl[0] != cf[0])
                return sql_rw_fail(rw, "42601", "generate_series() returns one column");
            col = sql_rw_range(rw, cf[0], cf[0]);
            end = sql_match(rw, open);
        }
        char tmpl[768], start_test[128], next_test[128];
        snprintf(start_test, sizeof(start_test), within, "c", "a", "b");
        snprintf(next_test, sizeof(next_test), within, "s", "v + s", "e");
        snprintf(tmpl, sizeof(tmpl),
                 "(WITH RECURSIVE \"pgiris series\"(v, e, s) AS (SELECT a, b, c FROM (SELECT CAST($0 AS NUMERIC) AS a, "
                 "CAST($1 AS NUMERIC) AS b, CAST(%s AS NUMERIC) AS c) WHERE %s UNION ALL "
                 "SELECT v + s, e, s FROM \"pgiris series\" WHERE %s) SELECT v AS %s FROM \"pgiris series\") AS %s",
                 nargs == 3 ? "$2" : "1", start_test, next_test,
                 alias == SIZE_MAX ? "\"generate_series\"" : "$4", alias == SIZE_MAX ? "\"generate_series\"" : "$3");
        struct sql_arg args[5] = { a[0], a[1], a[2], a[3], col };
        if (!sql_rw_template(rw, i, end, args, 5, "%s", tmpl))
            return -1;
    }
    return 0;
}

/* ARRAY[...] and ARRAY(subquery): SQLite has no arrays, and would report a syntax error elsewhere. */
static int sqlite_arrays(struct sql_rw *rw)
{
    for (size_t i = 0; i < rw->n; i++)
        if (sql_tk_kw(rw, i, KW_ARRAY) && (sql_tk_punct(rw, i + 1, '[') || sql_tk_punct(rw, i + 1, '(')))
            return sql_rw_fail(rw, "0A000", "arrays (ARRAY%c...%c) are not supported by SQLite",
                               rw->t[i + 1].s[0], rw->t[i + 1].s[0] == '[' ? ']' : ')');
    return 0;
}

const struct sql_rule sql_rules_sqlite[] = {
    { "trim_semicolons", sql_rule_trim_semicolons, NULL },
    { "column_names", sql_rule_column_names, &sql_rule_column_names_when },
    { "column_types", sql_rule_column_types, &sql_rule_column_types_when },
    { "session_info", sql_rule_session_info, &sql_rule_session_info_when },
    { "plain_strings", sql_rule_plain_strings, &sql_rule_plain_strings_when },
    { "utc_zone", sql_rule_utc_zone, &sql_rule_utc_zone_when },
    { "pg_catalog", sqlite_pg_catalog, SQL_WHEN(KW_PG_CATALOG, SQL_SEEN_OTHER_OP) },
    { "catalogs", sql_rule_catalogs, &sql_rule_catalogs_when },
    { "arrays", sqlite_arrays, SQL_WHEN(KW_ARRAY) },
    { "generate_series", sqlite_generate_series, SQL_WHEN(KW_GENERATE_SERIES) },
    { "public_schema", sqlite_public_schema, SQL_WHEN(KW_PUBLIC) },
    { "vectors", sqlite_vectors, SQL_WHEN(SQL_SEEN_VECTOR_OP) },
    { "casts", sql_rule_casts, &sql_rule_casts_when },
    { "ddl_types", sql_rule_ddl_types, NULL },
    { "interval", sqlite_interval, &sql_rule_interval_when },
    { "dates", sqlite_dates, &sql_rule_date_parts_when },
    { "now", sqlite_now, SQL_WHEN(KW_NOW, KW_TRANSACTION_TIMESTAMP, KW_STATEMENT_TIMESTAMP,
                                  KW_CLOCK_TIMESTAMP, KW_CURRENT_TIMESTAMP, KW_LOCALTIMESTAMP,
                                  KW_CURRENT_DATE, KW_CURRENT_TIME) },
    { "ilike", sql_rule_ilike, SQL_WHEN(KW_ILIKE) },
    { "like_escape", sql_rule_like_escape, SQL_WHEN(KW_LIKE, KW_ILIKE) },
    { "is_distinct", sqlite_is_distinct, SQL_WHEN(KW_DISTINCT) },
    { "substring", sql_rule_substring, &sql_rule_substring_when },
    { "concat", sql_rule_concat, &sql_rule_concat_when },
    { "functions", sqlite_functions, SQL_WHEN(KW_DECODE, KW_BTRIM, KW_TRIM, KW_CHAR_LENGTH,
                                              KW_CHARACTER_LENGTH, KW_GREATEST, KW_LEAST, KW_POSITION,
                                              KW_STRING_AGG, KW_STRPOS) },
    { "fetch", sqlite_fetch, SQL_WHEN(KW_OFFSET, KW_FETCH) },
    { "limit_offset", sqlite_limit_offset, SQL_WHEN(KW_OFFSET, KW_LIMIT) },
    { "booleans", sql_rule_booleans, &sql_rule_booleans_when },
    { "default_parens", sqlite_default_parens, SQL_WHEN(KW_DEFAULT) },
    { "returning", sqlite_returning, SQL_WHEN(KW_RETURNING) },
    { "values", sqlite_values, SQL_WHEN(KW_VALUES) },
    { "row_locks", sqlite_row_locks, SQL_WHEN(KW_FOR) },
    { "nulls_order", sqlite_nulls_order, SQL_WHEN(KW_ORDER) },
    { "rollback_work", sqlite_rollback_work, NULL },
    { "marker_comments", sqlite_marker_comments, NULL },
};
const size_t sql_rules_sqlite_n = sizeof(sql_rules_sqlite) / sizeof(sql_rules_sqlite[0]);
