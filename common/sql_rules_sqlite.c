/*
 * sql_rules_sqlite: the rule set that lets the embedded SQLite default run
 * everyday PostgreSQL: casts to SQLite's type affinities, PostgreSQL's
 * functions and operators in SQLite spelling, serial columns, standard
 * string literals.  Constructs with no SQLite equivalent fail with 0A000.
 * References: https://www.sqlite.org/lang.html (datatype3, lang_datefunc,
 * lang_corefunc, lang_createtable).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sql_rules.h"

/* Type affinities (https://www.sqlite.org/datatype3.html section 3.1). */
const char *sql_sqlite_type(struct sql_rw *rw, const struct sql_pgtype *ty, enum sql_type_ctx ctx)
{
    static const struct { const char *pg, *cast, *ddl; } map[] = {
        { "smallint", "CAST($0 AS INTEGER)", "" },  { "integer", "CAST($0 AS INTEGER)", "" },
        { "bigint", "CAST($0 AS INTEGER)", "" },    { "numeric", "CAST($0 AS NUMERIC)", "" },
        { "real", "CAST($0 AS REAL)", "" },         { "double", "CAST($0 AS REAL)", "" },
        { "text", "CAST($0 AS TEXT)", "" },         { "varchar", "CAST($0 AS TEXT)", "" },
        { "char", "CAST($0 AS TEXT)", "" },         { "name", "CAST($0 AS TEXT)", "" },
        { "citext", "CAST($0 AS TEXT)", "" },       { "boolean", "CAST($0 AS INTEGER)", "" },
        { "json", "CAST($0 AS TEXT)", "TEXT" },     { "jsonb", "CAST($0 AS TEXT)", "TEXT" },
        { "uuid", "CAST($0 AS TEXT)", "TEXT" },     { "bytea", "CAST($0 AS BLOB)", "BLOB" },
        /* dates are ISO-8601 text; date() and friends also validate and normalise */
        { "date", "date($0)", "" },                 { "timestamp", "datetime($0)", "" },
        { "timestamptz", "datetime($0)", "" },      { "time", "time($0)", "" },
        { "timetz", "time($0)", "" },
        /* the rowid alias generates keys (lang_createtable.html#rowid) */
        { "serial", NULL, "INTEGER" },              { "bigserial", NULL, "INTEGER" },
        { "smallserial", NULL, "INTEGER" },
    };

    if (ty->array)
        return sql_rw_fail(rw, "0A000", "array types (%s[]) are not supported by SQLite", ty->name),
               NULL;
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

/* public.t -> t: SQLite's only schema is main. */
static int sqlite_public_schema(struct sql_rw *rw)
{
    for (size_t i = rw->n; i-- > 0;)
        if (sql_tk_word(rw, i, "public") && sql_tk_punct(rw, i + 1, '.') &&
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
        if (t->type == SQL_TOK_OP && t->len == 3 && t->s[0] == '<' && t->s[2] == '>' &&
            strchr("=-#+~%", t->s[1]))
            return sql_rw_fail(rw, "0A000", "vector operator %.3s is not supported by SQLite", t->s);
    }
    return 0;
}

/* LIKE is case-insensitive for ASCII in SQLite (lang_expr.html#like). */
static int sqlite_ilike(struct sql_rw *rw)
{
    static const char like[] = "LIKE";
    for (size_t i = 0; i < rw->n; i++)
        if (sql_tk_kw(rw, i, KW_ILIKE)) {
            rw->t[i].s = like;
            rw->t[i].len = 4;
            rw->t[i].kw = KW_LIKE;
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
static int sqlite_interval(struct sql_rw *rw)
{
    for (size_t i = 1; i < rw->n; i++) {
        char count[24];
        const char *unit;
        long n;
        size_t op = i - 1, ls;
        struct sql_arg a;

        if (!sql_tk_kw(rw, i, KW_INTERVAL))
            continue;
        if (!sql_interval_literal(rw, i, count, sizeof(count), &unit) ||
            !(sql_tk_op(rw, op, "+") || sql_tk_op(rw, op, "-")) || op == 0)
            return sql_rw_fail(rw, "0A000", "interval values are supported only as "
                                            "x + INTERVAL 'n unit' or x - INTERVAL 'n unit'");
        if (strcmp(unit, "month") == 0 || strcmp(unit, "year") == 0)
            return sql_rw_fail(rw, "0A000", "interval arithmetic in months or years differs in "
                                            "SQLite (no end-of-month clamping)");
        n = strtol(count, NULL, 10);
        if (sql_tk_op(rw, op, "-"))
            n = -n;
        if (strcmp(unit, "week") == 0)
            n *= 7, unit = "day";
        ls = sql_operand_left(rw, op, LV_ADD);
        if (ls >= op)
            return sql_rw_fail(rw, "42601", "operand expected before INTERVAL");
        a = sql_rw_range(rw, ls, op - 1);
        if (!sql_rw_template(rw, ls, i + 1, &a, 1, "strftime('%%Y-%%m-%%d %%H:%%M:%%f', $0, '%+ld %ss')",
                             n, unit))
            return -1;
        i = ls;
    }
    return 0;
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

/* Function renames and argument orders (lang_corefunc.html). */
static int sqlite_functions(struct sql_rw *rw)
{
    for (size_t i = rw->n; i-- > 0;) {
        size_t first[8], last[8], n, close;
        struct sql_arg a[2];

        if (rw->t[i].type != SQL_TOK_IDENT || !sql_tk_punct(rw, i + 1, '('))
            continue;
        close = sql_match(rw, i + 1);
        switch (rw->t[i].kw) {
        case KW_BTRIM:
            if (!sql_rw_template(rw, i, i, NULL, 0, "trim"))
                return -1;
            break;
        case KW_CHAR_LENGTH: case KW_CHARACTER_LENGTH:
            if (!sql_rw_template(rw, i, i, NULL, 0, "length"))
                return -1;
            break;
        case KW_GREATEST: case KW_LEAST:
            /* multi-argument max()/min() are scalar; they return NULL if any argument is NULL */
            n = sql_args(rw, i + 1, first, last, 8);
            if (n == 1) {
                rw->t[i + 1].space = rw->t[i].space;
                if (sql_rw_splice(rw, i, 1, NULL, 0) != 0)      /* greatest(x) is (x) */
                    return -1;
            } else if (!sql_rw_template(rw, i, i, NULL, 0, rw->t[i].kw == KW_GREATEST ? "max" : "min")) {
                return -1;
            }
            break;
        case KW_POSITION: {
            size_t in = 0;
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

const struct sql_rule sql_rules_sqlite[] = {
    { "trim_semicolons", sql_rule_trim_semicolons },
    { "plain_strings", sql_rule_plain_strings },
    { "public_schema", sqlite_public_schema },
    { "vectors", sqlite_vectors },
    { "casts", sql_rule_casts },
    { "ddl_types", sql_rule_ddl_types },
    { "interval", sqlite_interval },
    { "dates", sqlite_dates },
    { "now", sqlite_now },
    { "ilike", sqlite_ilike },
    { "is_distinct", sqlite_is_distinct },
    { "substring", sql_rule_substring },
    { "concat", sql_rule_concat },
    { "functions", sqlite_functions },
    { "fetch", sqlite_fetch },
    { "booleans", sql_rule_booleans },
    { "default_parens", sqlite_default_parens },
    { "returning", sqlite_returning },
};
const size_t sql_rules_sqlite_n = sizeof(sql_rules_sqlite) / sizeof(sql_rules_sqlite[0]);
