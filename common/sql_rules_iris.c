/*
 * sql_rules_iris: the rule set for InterSystems IRIS SQL.  Each rule cites
 * the page of the InterSystems SQL reference it relies on; DOC below is
 * https://docs.intersystems.com/irislatest/csp/docbook/DocBook.UI.Page.cls
 * and a page is named by its KEY.  What IRIS cannot express with the same
 * meaning fails with SQLSTATE 0A000 naming the construct.
 *
 * Known difference that no rule can remove: IRIS compares strings by the
 * column's collation (SQLUPPER by default, so case-insensitively), where
 * PostgreSQL compares them exactly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sql_rules.h"
#include "common/sql_translate.h"

/*
 * Casts: "CAST (SQL)" (DOC?KEY=RSQL_cast) lists the target types; CHAR
 * VARYING keeps a value's full length where VARCHAR alone means 30
 * characters.  Column types: "System Datatypes"
 * (DOC?KEY=RACS_SystemDefinedSQLDatatypes) and "Data Types"
 * (DOC?KEY=RSQL_datatype); a VARCHAR column without a length is one
 * character, so text gets an explicit one.  Serial columns: "RowID Field"
 * (DOC?KEY=GSQL_tables_idfield) and CREATE TABLE's IDENTITY keyword
 * (DOC?KEY=RSQL_createtable).  Vectors: "TO_VECTOR (SQL)"
 * (DOC?KEY=RSQL_tovector) and VECTOR(type, length) columns.
 */
/*
 * Where IRIS's CAST answers otherwise than PostgreSQL's ("CAST (SQL)",
 * DOC?KEY=RSQL_cast): to BIT it takes only 'TRUE', so a string literal
 * cast to boolean is decoded as boolin decodes it (and stays a BIT, so
 * that IRIS describes the column as one); to an integer type it truncates
 * a fraction, where PostgreSQL rounds, so the operand is rounded first --
 * not a literal or a parameter, which PostgreSQL takes only as an
 * integer's text anyway.
 */
const char *sql_iris_cast_tmpl(struct sql_rw *rw, size_t op_first, size_t op_last, const struct sql_pgtype *ty,
                               const char *tmpl)
{
    const struct sql_tk *t = &rw->t[op_first];
    bool single = op_first == op_last;

    if (ty->array)
        return tmpl;
    if (strcmp(ty->name, "boolean") == 0 && single && t->type == SQL_TOK_STRING && t->s[0] == '\'')
        return sql_bool_literal(rw, &rw->t[op_first]) < 0 ? NULL : "CAST($0 AS BIT)";
    if (single && (t->type == SQL_TOK_STRING || t->type == SQL_TOK_PARAM ||
                   (t->type == SQL_TOK_NUMBER && strspn(t->s, "0123456789") == t->len)))
        return tmpl;
    if (strcmp(ty->name, "smallint") == 0)
        return "CAST(ROUND($0, 0) AS SMALLINT)";
    if (strcmp(ty->name, "integer") == 0)
        return "CAST(ROUND($0, 0) AS INTEGER)";
    if (strcmp(ty->name, "bigint") == 0)
        return "CAST(ROUND($0, 0) AS BIGINT)";
    return tmpl;
}

const char *sql_iris_type(struct sql_rw *rw, const struct sql_pgtype *ty, enum sql_type_ctx ctx)
{
    static const struct { const char *pg, *cast, *ddl; } map[] = {
        { "smallint", "CAST($0 AS SMALLINT)", "SMALLINT" },
        { "integer", "CAST($0 AS INTEGER)", "INTEGER" },
        { "bigint", "CAST($0 AS BIGINT)", "BIGINT" },
        { "real", "CAST($0 AS DOUBLE)", "DOUBLE" },
        { "double", "CAST($0 AS DOUBLE)", "DOUBLE" },
        { "text", "CAST($0 AS CHAR VARYING)", "VARCHAR(65535)" },
        { "name", "CAST($0 AS CHAR VARYING)", "VARCHAR(64)" },
        { "citext", "CAST($0 AS CHAR VARYING)", "VARCHAR(65535)" },
        /* boolin's words for text (IRIS's CAST AS BIT takes only 'TRUE'), non-zero for numbers */
        { "boolean", "CAST(CASE WHEN UPPER(TRIM($0)) IN ('T', 'TR', 'TRU', 'TRUE', 'Y', 'YE', 'YES', 'ON', '1') "
                     "THEN 1 WHEN UPPER(TRIM($0)) IN ('F', 'FA', 'FAL', 'FALS', 'FALSE', 'N', 'NO', 'OF', "
                     "'OFF', '0') THEN 0 ELSE $0 END AS BIT)", "BIT" },
        { "bytea", "CAST($0 AS VARBINARY)", "LONGVARBINARY" },
        { "date", "CAST($0 AS DATE)", "DATE" },
        { "time", "CAST($0 AS TIME)", "TIME" },
        { "timetz", "CAST($0 AS TIME)", "TIME" },
        { "timestamp", "CAST($0 AS TIMESTAMP)", "TIMESTAMP" },
        { "timestamptz", "CAST($0 AS TIMESTAMP)", "TIMESTAMP" },
        { "json", "CAST($0 AS CHAR VARYING)", "LONGVARCHAR" },
        { "jsonb", "CAST($0 AS CHAR VARYING)", "LONGVARCHAR" },
        { "uuid", "CAST($0 AS VARCHAR(36))", "VARCHAR(36)" },
        { "money", "CAST($0 AS MONEY)", "MONEY" },
        { "vector", "TO_VECTOR($0, DOUBLE)", NULL },
        { "serial", NULL, "INTEGER IDENTITY" },
        { "bigserial", NULL, "BIGINT IDENTITY" },
        { "smallserial", NULL, "SMALLINT IDENTITY" },
    };
    bool mod = ty->mod_open != 0;

    if (ty->array)
        return sql_rw_fail(rw, "0A000", "array types (%s[]) are not supported by IRIS", ty->name), NULL;
    if (strcmp(ty->name, "numeric") == 0)
        return ctx == SQL_TYPE_CAST ? (mod ? "CAST($0 AS NUMERIC($2))" : "CAST($0 AS NUMERIC)")
                                    : (mod ? "NUMERIC($2)" : "NUMERIC");
    if (strcmp(ty->name, "varchar") == 0)
        return ctx == SQL_TYPE_CAST ? (mod ? "CAST($0 AS VARCHAR($2))" : "CAST($0 AS CHAR VARYING)")
                                    : (mod ? "VARCHAR($2)" : "VARCHAR(65535)");
    if (strcmp(ty->name, "char") == 0)
        return ctx == SQL_TYPE_CAST ? (mod ? "CAST($0 AS CHAR($2))" : "CAST($0 AS CHAR)")
                                    : (mod ? "CHAR($2)" : "CHAR(1)");
    if (strcmp(ty->name, "vector") == 0 && ctx == SQL_TYPE_DDL) {
        if (!mod)
            return sql_rw_fail(rw, "0A000", "vector columns need a dimension on IRIS"), NULL;
        return "VECTOR(DOUBLE, $2)";
    }
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        const char *t;
        if (strcmp(ty->name, map[i].pg) != 0)
            continue;
        t = ctx == SQL_TYPE_CAST ? map[i].cast : map[i].ddl;
        if (t)
            return t;
        break;
    }
    return sql_rw_fail(rw, "0A000", "type %s has no IRIS equivalent%s", ty->name,
                       ctx == SQL_TYPE_CAST ? " in a cast" : ""), NULL;
}

/* ---- statements -------------------------------------------------------- */

/*
 * Isolation and access modes after BEGIN / START TRANSACTION / SET
 * TRANSACTION.  PostgreSQL's default (and its READ UNCOMMITTED) is READ
 * COMMITTED, IRIS's default is READ UNCOMMITTED, so every transaction says
 * READ COMMITTED.  "START TRANSACTION (SQL)" (DOC?KEY=RSQL_starttransaction)
 * and "SET TRANSACTION (SQL)" (DOC?KEY=RSQL_settransaction).
 */
static int iris_txn_modes(struct sql_rw *rw, size_t i, char *out, size_t size)
{
    bool isolation = false;
    const char *access = NULL;

    while (i < rw->n) {
        if (sql_tk_punct(rw, i, ',')) {
            i++;
        } else if (sql_tk_kw(rw, i, KW_ISOLATION) && sql_tk_kw(rw, i + 1, KW_LEVEL)) {
            if (sql_tk_kw(rw, i + 2, KW_READ) &&
                (sql_tk_kw(rw, i + 3, KW_COMMITTED) || sql_tk_kw(rw, i + 3, KW_UNCOMMITTED))) {
                i += 4;
            } else {
                return sql_rw_fail(rw, "0A000", "isolation level %s is not supported by IRIS "
                                                "(READ COMMITTED is)",
                                   sql_tk_kw(rw, i + 2, KW_SERIALIZABLE) ? "SERIALIZABLE"
                                                                         : "REPEATABLE READ");
            }
            isolation = true;
        } else if (sql_tk_kw(rw, i, KW_READ) && sql_tk_kw(rw, i + 1, KW_ONLY)) {
            access = "READ ONLY", i += 2;
        } else if (sql_tk_kw(rw, i, KW_READ) && sql_tk_kw(rw, i + 1, KW_WRITE)) {
            access = "READ WRITE", i += 2;
        } else if (sql_tk_kw(rw, i, KW_DEFERRABLE) ||
                   (sql_tk_kw(rw, i, KW_NOT) && sql_tk_kw(rw, i + 1, KW_DEFERRABLE))) {
            return sql_rw_fail(rw, "0A000", "DEFERRABLE transactions are not supported by IRIS");
        } else {
            return sql_rw_fail(rw, "42601", "unexpected transaction mode");
        }
    }
    (void)isolation;
    snprintf(out, size, "ISOLATION LEVEL READ COMMITTED%s%s", access ? ", " : "", access ? access : "");
    return 0;
}

/*
 * BEGIN -> START TRANSACTION, END -> COMMIT, ABORT -> ROLLBACK,
 * ROLLBACK TO x -> ROLLBACK TO SAVEPOINT x ("SAVEPOINT (SQL)",
 * DOC?KEY=RSQL_savepoint; "Transaction Processing",
 * DOC?KEY=GSQL_modify_transaction).  IRIS has no RELEASE SAVEPOINT: the
 * statement is answered locally (SQL_FLAG_NO_BACKEND).
 */
static int iris_transactions(struct sql_rw *rw)
{
    char modes[96];
    size_t i = 1, last = sql_prev(rw, rw->n);
    struct sql_arg a;

    if (rw->n == 0 || rw->t[0].type != SQL_TOK_IDENT)
        return 0;
    switch (rw->t[0].kw) {
    case KW_BEGIN: case KW_START:
        if (rw->t[0].kw == KW_START && !sql_tk_kw(rw, 1, KW_TRANSACTION))
            return 0;
        if (sql_tk_kw(rw, i, KW_WORK) || sql_tk_kw(rw, i, KW_TRANSACTION))
            i++;
        if (iris_txn_modes(rw, i, modes, sizeof(modes)) != 0)
            return -1;
        return sql_rw_template(rw, 0, rw->n - 1, NULL, 0, "START TRANSACTION %s", modes) ? 0 : -1;
    case KW_SET:
        if (!sql_tk_kw(rw, 1, KW_TRANSACTION))
            return 0;
        if (iris_txn_modes(rw, 2, modes, sizeof(modes)) != 0)
            return -1;
        return sql_rw_template(rw, 0, rw->n - 1, NULL, 0, "SET TRANSACTION %s", modes) ? 0 : -1;
    case KW_COMMIT: case KW_END: case KW_ROLLBACK: case KW_ABORT:
        if (sql_tk_kw(rw, i, KW_WORK) || sql_tk_kw(rw, i, KW_TRANSACTION))
            i++;
        if (sql_tk_word(rw, 1, "prepared") || sql_tk_kw(rw, i, KW_AND))
            return sql_rw_fail(rw, "0A000", "%s is not supported by IRIS",
                               sql_tk_kw(rw, i, KW_AND) ? "AND CHAIN" : "two-phase commit");
        if (sql_tk_kw(rw, i, KW_TO)) {
            i++;
            if (sql_tk_kw(rw, i, KW_SAVEPOINT))
                i++;
            if (i != last)
                return sql_rw_fail(rw, "42601", "savepoint name expected");
            a = sql_rw_range(rw, i, i);
            return sql_rw_template(rw, 0, rw->n - 1, &a, 1, "ROLLBACK TO SAVEPOINT $0") ? 0 : -1;
        }
        if (i <= last && last != SIZE_MAX)
            return sql_rw_fail(rw, "42601", "unexpected words after %.*s", (int)rw->t[0].len, rw->t[0].s);
        return sql_rw_template(rw, 0, rw->n - 1, NULL, 0,
                               rw->t[0].kw == KW_COMMIT || rw->t[0].kw == KW_END ? "COMMIT" : "ROLLBACK")
                   ? 0 : -1;
    case KW_RELEASE:
        rw->flags |= SQL_FLAG_NO_BACKEND;
        return sql_rw_splice(rw, 0, rw->n, NULL, 0);
    default:
        return 0;
    }
}

/*
 * Clauses IRIS does not have.  RETURNING: "INSERT (SQL)"
 * (DOC?KEY=RSQL_insert) has none; SELECT ... FOR UPDATE and DISTINCT ON
 * are absent from "SELECT (SQL)" (DOC?KEY=RSQL_select).
 */
static int iris_unsupported(struct sql_rw *rw)
{
    for (size_t i = 0; i < rw->n; i++) {
        if (sql_tk_kw(rw, i, KW_RETURNING))
            return sql_rw_fail(rw, "0A000", "RETURNING is not supported by IRIS; read generated keys "
                                            "with LAST_IDENTITY() or a follow-up SELECT");
        if (sql_tk_kw(rw, i, KW_FOR) && (sql_tk_kw(rw, i + 1, KW_UPDATE) || sql_tk_kw(rw, i + 1, KW_SHARE) ||
                                         sql_tk_kw(rw, i + 1, KW_NO) || sql_tk_kw(rw, i + 1, KW_KEY)))
            return sql_rw_fail(rw, "0A000", "SELECT ... FOR UPDATE/SHARE is not supported by IRIS");
        if (sql_tk_kw(rw, i, KW_DISTINCT) && sql_tk_kw(rw, i + 1, KW_ON))
            return sql_rw_fail(rw, "0A000", "SELECT DISTINCT ON is not supported by IRIS");
    }
    return 0;
}

/* A column name as PostgreSQL resolves it, for comparing column lists. */
static void iris_colname(const struct sql_rw *rw, size_t i, char *out, size_t size)
{
    const struct sql_tk *t = &rw->t[i];
    size_t n = 0;
    bool quoted = t->type == SQL_TOK_QIDENT;

    for (size_t k = quoted; k < t->len - quoted && n + 1 < size; k++)
        out[n++] = (char)(!quoted && t->s[k] >= 'A' && t->s[k] <= 'Z' ? t->s[k] + 32 : t->s[k]);
    out[n] = '\0';
}

static bool iris_col_in(const struct sql_rw *rw, size_t col, const size_t *list, size_t n)
{
    char a[128], b[128];

    iris_colname(rw, col, a, sizeof(a));
    for (size_t k = 0; k < n; k++) {
        iris_colname(rw, list[k], b, sizeof(b));
        if (strcmp(a, b) == 0)
            return true;
    }
    return false;
}

/*
 * INSERT ... ON CONFLICT -> INSERT OR UPDATE ("INSERT OR UPDATE (SQL)",
 * DOC?KEY=RSQL_insertorupdate), which updates the existing row with every
 * inserted value when any unique key matches.  That is ON CONFLICT DO
 * UPDATE only when the update sets each inserted column (outside the
 * conflict target) to EXCLUDED.column, and DO NOTHING only when every
 * inserted column is in the conflict target (the update then changes
 * nothing).  Anything else fails.
 */
static int iris_on_conflict(struct sql_rw *rw)
{
    size_t on = 0, into, open, close, cols[128], ncols = 0, target[32], ntarget = 0, set[128], nset = 0;
    size_t first[128], last[128], n, j;
    struct sql_tk or_update[2] = { { "OR", 2, SQL_TOK_IDENT, 1, KW_OR },
                                   { "UPDATE", 6, SQL_TOK_IDENT, 1, KW_UPDATE } };
    int depth = 0;

    if (!sql_tk_kw(rw, 0, KW_INSERT))
        return 0;
    for (size_t i = 0; i < rw->n && !on; i++) {
        if (sql_tk_punct(rw, i, '('))
            depth++;
        else if (sql_tk_punct(rw, i, ')'))
            depth--;
        else if (depth == 0 && sql_tk_kw(rw, i, KW_ON) && sql_tk_kw(rw, i + 1, KW_CONFLICT))
            on = i;
    }
    if (!on)
        return 0;
    into = sql_tk_kw(rw, 1, KW_INTO) ? 2 : 1;
    for (open = into; open < on && !sql_tk_punct(rw, open, '('); open++)
        if (sql_tk_kw(rw, open, KW_VALUES) || sql_tk_kw(rw, open, KW_SELECT) || sql_tk_kw(rw, open, KW_DEFAULT))
            return sql_rw_fail(rw, "0A000", "ON CONFLICT needs an explicit column list on IRIS");
    if (open >= on)
        return sql_rw_fail(rw, "0A000", "ON CONFLICT needs an explicit column list on IRIS");
    n = sql_args(rw, open, first, last, 128);
    for (size_t k = 0; k < n && k < 128; k++) {
        if (first[k] != last[k])
            return sql_rw_fail(rw, "0A000", "ON CONFLICT with column subscripts is not supported");
        cols[ncols++] = first[k];
    }
    j = on + 2;
    if (sql_tk_punct(rw, j, '(')) {
        close = sql_match(rw, j);
        n = sql_args(rw, j, first, last, 32);
        for (size_t k = 0; k < n && k < 32; k++)
            target[ntarget++] = first[k];
        j = close + 1;
        if (sql_tk_kw(rw, j, KW_WHERE))
            return sql_rw_fail(rw, "0A000", "ON CONFLICT with a partial-index predicate is not "
                                            "supported by IRIS");
    } else if (sql_tk_kw(rw, j, KW_ON) && sql_tk_kw(rw, j + 1, KW_CONSTRAINT)) {
        j += 3;
    }
    if (!sql_tk_kw(rw, j, KW_DO))
        return sql_rw_fail(rw, "42601", "DO expected after ON CONFLICT");
    if (sql_tk_kw(rw, j + 1, KW_NOTHING)) {
        for (size_t k = 0; k < ncols; k++)
            if (!iris_col_in(rw, cols[k], target, ntarget))
                return sql_rw_fail(rw, "0A000", "ON CONFLICT DO NOTHING has no IRIS equivalent unless "
                                                "every inserted column is in the conflict target");
    } else if (sql_tk_kw(rw, j + 1, KW_UPDATE) && sql_tk_kw(rw, j + 2, KW_SET)) {
        for (size_t i = j + 3; i < rw->n; i += 6) {
            char a[128], b[128];
            /* col = EXCLUDED.col */
            if (i + 4 >= rw->n || !sql_tk_op(rw, i + 1, "=") || !sql_tk_kw(rw, i + 2, KW_EXCLUDED) ||
                !sql_tk_punct(rw, i + 3, '.'))
                return sql_rw_fail(rw, "0A000", "ON CONFLICT DO UPDATE is supported on IRIS only as "
                                                "SET column = EXCLUDED.column for the inserted columns");
            iris_colname(rw, i, a, sizeof(a));
            iris_colname(rw, i + 4, b, sizeof(b));
            if (strcmp(a, b) != 0 || !iris_col_in(rw, i, cols, ncols))
                return sql_rw_fail(rw, "0A000", "ON CONFLICT DO UPDATE is supported on IRIS only as "
                                                "SET column = EXCLUDED.column for the inserted columns");
            set[nset++] = i;
            if (i + 5 < rw->n && !sql_tk_punct(rw, i + 5, ','))
                return sql_rw_fail(rw, "0A000", "ON CONFLICT DO UPDATE ... %s is not supported by IRIS",
                                   sql_tk_kw(rw, i + 5, KW_WHERE) ? "WHERE" : "with this form");
            if (nset == 128)
                return sql_rw_fail(rw, "54011", "too many columns in ON CONFLICT DO UPDATE");
        }
        for (size_t k = 0; k < ncols; k++)
            if (!iris_col_in(rw, cols[k], set, nset) && !iris_col_in(rw, cols[k], target, ntarget))
                return sql_rw_fail(rw, "0A000", "ON CONFLICT DO UPDATE must set every inserted column "
                                                "to EXCLUDED.column to become INSERT OR UPDATE on IRIS");
    } else {
        return sql_rw_fail(rw, "42601", "NOTHING or UPDATE SET expected after ON CONFLICT DO");
    }
    if (sql_rw_splice(rw, on, rw->n - on, NULL, 0) != 0)
        return -1;
    return sql_rw_splice(rw, 1, 0, or_update, 2);
}

/* ---- vectors ----------------------------------------------------------- */

/* True when t[first..last] is exactly one ORDER BY item (direction aside). */
static bool iris_order_item(const struct sql_rw *rw, size_t first, size_t last)
{
    size_t p = sql_prev(rw, first), nx = sql_next(rw, last);

    if (nx < rw->n && !(sql_tk_kw(rw, nx, KW_ASC) || sql_tk_kw(rw, nx, KW_DESC) ||
                        sql_tk_kw(rw, nx, KW_NULLS) || sql_tk_punct(rw, nx, ',') ||
                        sql_tk_punct(rw, nx, ')') || sql_tk_kw(rw, nx, KW_LIMIT) ||
                        sql_tk_kw(rw, nx, KW_OFFSET) || sql_tk_kw(rw, nx, KW_FETCH)))
        return false;
    /* walk back over earlier items of the list to ORDER BY */
    while (p != SIZE_MAX) {
        if (sql_tk_kw(rw, p, KW_BY)) {
            size_t q = sql_prev(rw, p);
            return q != SIZE_MAX && sql_tk_kw(rw, q, KW_ORDER);
        }
        if (!sql_tk_punct(rw, p, ','))
            return false;
        do {
            if (sql_tk_punct(rw, p, ')'))
                p = sql_match_back(rw, p);
            p = p == SIZE_MAX ? p : sql_prev(rw, p);
        } while (p != SIZE_MAX && !sql_tk_punct(rw, p, ',') && !sql_tk_kw(rw, p, KW_BY) &&
                 !sql_tk_punct(rw, p, '(') && sql_level_of(rw, p) != LV_STOP);
        if (p != SIZE_MAX && !sql_tk_punct(rw, p, ',') && !sql_tk_kw(rw, p, KW_BY))
            return false;
    }
    return false;
}

/*
 * ORDER BY alias, where alias names a distance in the select list, becomes
 * ORDER BY <the distance>, so the rule below can give the HNSW-friendly form.
 */
static int iris_vector_aliases(struct sql_rw *rw)
{
    for (size_t i = 0; i < rw->n; i++) {
        size_t ls, re, alias;
        int depth = 0;

        if (!sql_vector_op(&rw->t[i]))
            continue;
        ls = sql_operand_left(rw, i, LV_OTHER);
        re = sql_operand_right(rw, i, LV_OTHER);
        alias = sql_tk_kw(rw, re + 1, KW_AS) ? re + 2 : re + 1;
        if (alias >= rw->n || sql_level_of(rw, alias) != LV_OPERAND ||
            (rw->t[alias].type != SQL_TOK_IDENT && rw->t[alias].type != SQL_TOK_QIDENT))
            continue;
        for (size_t j = alias + 1; j < rw->n && depth >= 0; j++) {
            struct sql_arg a;
            if (sql_tk_punct(rw, j, '('))
                depth++;
            else if (sql_tk_punct(rw, j, ')'))
                depth--;
            if (depth != 0 || rw->t[j].len != rw->t[alias].len || rw->t[j].type != rw->t[alias].type ||
                strncasecmp(rw->t[j].s, rw->t[alias].s, rw->t[j].len) != 0 || !iris_order_item(rw, j, j))
                continue;
            a = sql_rw_range(rw, ls, re);
            if (!sql_rw_template(rw, j, j, &a, 1, "$0"))
                return -1;
            break;
        }
    }
    return 0;
}

/* A vector operand: literals and parameters go through TO_VECTOR. */
static struct sql_arg iris_vector_arg(struct sql_rw *rw, size_t first, size_t last)
{
    struct sql_arg a;
    struct sql_pgtype ty;

    if (last >= 2 && sql_tk_op(rw, last - 1, "::") && sql_parse_type(rw, last, &ty) &&
        strcmp(ty.name, "vector") == 0)
        last -= 2;              /* '[..]'::vector */
    else if (last >= 4 && sql_tk_punct(rw, last, ')') && sql_tk_kw(rw, last - 1, KW_VECTOR) &&
             sql_tk_punct(rw, last - 2, '(') && sql_tk_op(rw, last - 3, "::"))
        last -= 5;              /* '[..]'::vector(3) */
    a = sql_rw_range(rw, first, last);
    if (first == last && (rw->t[first].type == SQL_TOK_STRING || rw->t[first].type == SQL_TOK_PARAM)) {
        struct sql_tk tmp[6];
        static const char to[] = "TO_VECTOR", dbl[] = "DOUBLE";
        struct sql_tk *copy;
        tmp[0] = (struct sql_tk){ to, 9, SQL_TOK_IDENT, rw->t[first].space, KW_NONE };
        tmp[1] = (struct sql_tk){ "(", 1, SQL_TOK_PUNCT, 0, KW_NONE };
        tmp[2] = a.v[0];
        tmp[2].space = 0;
        tmp[3] = (struct sql_tk){ ",", 1, SQL_TOK_PUNCT, 0, KW_NONE };
        tmp[4] = (struct sql_tk){ dbl, 6, SQL_TOK_IDENT, 1, KW_NONE };
        tmp[5] = (struct sql_tk){ ")", 1, SQL_TOK_PUNCT, 0, KW_NONE };
        copy = (struct sql_tk *)sql_rw_strdup(rw, (const char *)tmp, sizeof(tmp));
        if (copy) {
            a.v = copy;
            a.n = 6;
        }
    }
    return a;
}

/*
 * pgvector's operators.  a <=> b is the cosine distance 1 - cosine
 * similarity, and "VECTOR_COSINE (SQL)" (DOC?KEY=RSQL_vectorcosine) is the
 * similarity; a <#> b is the negative inner product, "VECTOR_DOT_PRODUCT
 * (SQL)" (DOC?KEY=RSQL_vectordotproduct) the inner product.  As an ORDER BY
 * item the distance becomes the function in the opposite direction, the
 * form the reference's examples (SELECT TOP n ... ORDER BY VECTOR_COSINE(...)
 * DESC) and its HNSW index use.  IRIS has no Euclidean, L1, Hamming or
 * Jaccard distance function.
 */
static int iris_vectors(struct sql_rw *rw)
{
    if (iris_vector_aliases(rw) != 0)
        return -1;
    for (size_t i = 0; i < rw->n; i++) {
        size_t ls, re, nx;
        struct sql_arg a[2];
        bool cos, desc;

        if (!sql_vector_op(&rw->t[i]))
            continue;
        if (rw->t[i].s[1] != '=' && rw->t[i].s[1] != '#')
            return sql_rw_fail(rw, "0A000", "vector operator %.3s has no IRIS equivalent (IRIS has "
                                            "cosine <=> and inner product <#>)", rw->t[i].s);
        cos = rw->t[i].s[1] == '=';
        ls = sql_operand_left(rw, i, LV_OTHER);
        re = sql_operand_right(rw, i, LV_OTHER);
        if (ls == i || re == i)
            return sql_rw_fail(rw, "42601", "operand expected around %.3s", rw->t[i].s);
        a[0] = iris_vector_arg(rw, ls, i - 1);
        a[1] = iris_vector_arg(rw, i + 1, re);
        if (iris_order_item(rw, ls, re)) {
            nx = sql_next(rw, re);
            desc = sql_tk_kw(rw, nx, KW_DESC);
            if (sql_tk_kw(rw, nx, KW_ASC) || desc)
                re = nx;
            if (!sql_rw_template(rw, ls, re, a, 2, "%s($0, $1) %s",
                                 cos ? "VECTOR_COSINE" : "VECTOR_DOT_PRODUCT", desc ? "ASC" : "DESC"))
                return -1;
        } else if (!sql_rw_template(rw, ls, re, a, 2, cos ? "(1 - VECTOR_COSINE($0, $1))"
                                                          : "(-VECTOR_DOT_PRODUCT($0, $1))")) {
            return -1;
        }
        rw->flags |= SQL_FLAG_VECTOR;
        i = ls;
    }
    return 0;
}

/* ---- expressions ------------------------------------------------------- */


/*
 * a IS [NOT] DISTINCT FROM b, which IRIS does not have, as a NULL-safe
 * CASE ("CASE (SQL)", DOC?KEY=RSQL_case).  The operands appear twice.
 */
static int iris_is_distinct(struct sql_rw *rw)
{
    for (size_t i = 1; i < rw->n; i++) {
        bool neg = sql_tk_kw(rw, i + 1, KW_NOT);
        size_t d = i + 1 + neg, ls, re;
        struct sql_arg a[2];

        if (!sql_tk_kw(rw, i, KW_IS) || !sql_tk_kw(rw, d, KW_DISTINCT) || !sql_tk_kw(rw, d + 1, KW_FROM))
            continue;
        ls = sql_operand_left(rw, i, LV_CMP);
        re = sql_operand_right(rw, d + 1, LV_IS);
        if (ls == i || re == d + 1)
            return sql_rw_fail(rw, "42601", "operand expected around IS DISTINCT FROM");
        a[0] = sql_rw_range(rw, ls, i - 1);
        a[1] = sql_rw_range(rw, d + 2, re);
        if (!sql_rw_template(rw, ls, re, a, 2,
                             "(CASE WHEN ($0) = ($1) OR (($0) IS NULL AND ($1) IS NULL) THEN 0 ELSE 1 END = %d)",
                             neg ? 0 : 1))
            return -1;
    }
    return 0;
}

static const char *iris_datepart(const char *unit)
{
    static const struct { const char *unit, *part; } parts[] = {
        { "year", "yyyy" }, { "month", "mm" }, { "day", "dd" },
        { "hour", "hh" },   { "minute", "mi" }, { "second", "ss" },
    };
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        if (strcmp(unit, parts[i].unit) == 0)
            return parts[i].part;
    return NULL;
}

/*
 * x +/- INTERVAL 'n unit' -> DATEADD(part, ±n, x) ("DATEADD (SQL)",
 * DOC?KEY=RSQL_dateadd).  Other uses of intervals fail.
 */
static const char *iris_interval_spell(struct sql_rw *rw, long n, const char *unit, char *buf,
                                       size_t len)
{
    snprintf(buf, len, "DATEADD('%s', %ld, $0)", iris_datepart(unit), n);
    return buf;
}

static int iris_interval(struct sql_rw *rw)
{
    return sql_rule_interval(rw, iris_interval_spell, "IRIS");
}


/*
 * date_trunc: DATEADD(part, DATEDIFF(part, anchor, x), anchor), since
 * DATEDIFF counts the part's boundaries crossed ("DATEDIFF (SQL)",
 * DOC?KEY=RSQL_datediff); weeks start on Monday like PostgreSQL's (the
 * anchor 2000-01-03 is one).  extract/date_part: "DATEPART (SQL)"
 * (DOC?KEY=RSQL_datepart), whose weekday counts from 1 on Sunday.
 */
static int iris_dates(struct sql_rw *rw)
{
    static const struct sql_date_unit units[] = {
        { "second", "DATEADD('ss', DATEDIFF('ss', '2000-01-01 00:00:00', $0), '2000-01-01 00:00:00')",
          "(DATEPART('ss', $0) + DATEPART('ms', $0) / 1000.0)" },
        { "minute", "DATEADD('mi', DATEDIFF('mi', '2000-01-01 00:00:00', $0), '2000-01-01 00:00:00')",
          "DATEPART('mi', $0)" },
        { "hour", "DATEADD('hh', DATEDIFF('hh', '2000-01-01 00:00:00', $0), '2000-01-01 00:00:00')",
          "DATEPART('hh', $0)" },
        { "day", "DATEADD('dd', DATEDIFF('dd', '2000-01-01 00:00:00', $0), '2000-01-01 00:00:00')",
          "DATEPART('dd', $0)" },
        { "week", "DATEADD('dd', 7 * FLOOR(DATEDIFF('dd', '2000-01-03 00:00:00', $0) / 7), "
                  "'2000-01-03 00:00:00')", NULL },
        { "month", "DATEADD('mm', DATEDIFF('mm', '2000-01-01 00:00:00', $0), '2000-01-01 00:00:00')",
          "DATEPART('mm', $0)" },
        { "quarter", "DATEADD('mm', 3 * FLOOR(DATEDIFF('mm', '2000-01-01 00:00:00', $0) / 3), "
                     "'2000-01-01 00:00:00')", "DATEPART('qq', $0)" },
        { "year", "DATEADD('yyyy', DATEDIFF('yyyy', '2000-01-01 00:00:00', $0), '2000-01-01 00:00:00')",
          "DATEPART('yyyy', $0)" },
        { "dow", NULL, "(DATEPART('dw', $0) - 1)" },
        { "doy", NULL, "DATEPART('dy', $0)" },
        { "epoch", NULL, "DATEDIFF('ss', '1970-01-01 00:00:00', $0)" },
    };

    return sql_rule_date_parts(rw, units, sizeof(units) / sizeof(units[0]), "IRIS");
}

/*
 * now() and its synonyms -> CURRENT_TIMESTAMP(6), microseconds like
 * PostgreSQL ("CURRENT_TIMESTAMP (SQL)", DOC?KEY=RSQL_currenttimestamp).
 */
static int iris_now(struct sql_rw *rw)
{
    for (size_t i = 0; i < rw->n; i++) {
        int kw = rw->t[i].type == SQL_TOK_IDENT ? rw->t[i].kw : KW_NONE;
        size_t end;

        if ((kw == KW_NOW || kw == KW_TRANSACTION_TIMESTAMP || kw == KW_STATEMENT_TIMESTAMP ||
             kw == KW_CLOCK_TIMESTAMP) && sql_tk_punct(rw, i + 1, '(') && sql_tk_punct(rw, i + 2, ')'))
            end = i + 2;
        else if ((kw == KW_CURRENT_TIMESTAMP || kw == KW_LOCALTIMESTAMP) && !sql_tk_punct(rw, i + 1, '('))
            end = i;
        else
            continue;
        if (!sql_rw_template(rw, i, end, NULL, 0, "CURRENT_TIMESTAMP(6)"))
            return -1;
    }
    return 0;
}

/*
 * String functions.  length -> CHAR_LENGTH: IRIS's LENGTH ignores trailing
 * blanks ("LENGTH (SQL)", DOC?KEY=RSQL_length; "CHAR_LENGTH (SQL)",
 * DOC?KEY=RSQL_charlength).  btrim/ltrim/rtrim with characters -> TRIM(BOTH
 * | LEADING | TRAILING chars FROM x) ("TRIM (SQL)", DOC?KEY=RSQL_trim).
 * POSITION(a IN b), COALESCE and NULLIF exist as they are
 * (DOC?KEY=RSQL_position).  GREATEST and LEAST do too, but return NULL if
 * any argument is NULL (DOC?KEY=RSQL_greatest, RSQL_least), where
 * PostgreSQL's skip NULLs: each argument is coalesced with the others
 * (sql_greatest_least).
 */
static int iris_functions(struct sql_rw *rw)
{
    for (size_t i = rw->n; i-- > 0;) {
        size_t first[3], last[3], n, close;
        const char *side;
        struct sql_arg a[2];

        if (rw->t[i].type != SQL_TOK_IDENT || !sql_tk_punct(rw, i + 1, '('))
            continue;
        switch (rw->t[i].kw) {
        case KW_LENGTH:
            if (!sql_rw_template(rw, i, i, NULL, 0, "CHAR_LENGTH"))
                return -1;
            break;
        case KW_GREATEST: case KW_LEAST:
            if (sql_call_at(rw, i) &&
                sql_greatest_least(rw, i, rw->t[i].kw == KW_GREATEST ? "GREATEST" : "LEAST", "IRIS") < 0)
                return -1;
            break;
        case KW_BTRIM: case KW_LTRIM: case KW_RTRIM:
            side = rw->t[i].kw == KW_BTRIM ? "BOTH" : rw->t[i].kw == KW_LTRIM ? "LEADING" : "TRAILING";
            close = sql_match(rw, i + 1);
            n = sql_args(rw, i + 1, first, last, 3);
            if (n == 0 || n > 2)
                return sql_rw_fail(rw, "42883", "%.*s takes one or two arguments", (int)rw->t[i].len,
                                   rw->t[i].s);
            a[0] = sql_rw_range(rw, first[0], last[0]);
            if (n == 1) {
                if (!sql_rw_template(rw, i, close, a, 1, "TRIM(%s FROM $0)", side))
                    return -1;
                break;
            }
            a[1] = sql_rw_range(rw, first[1], last[1]);
            if (!sql_rw_template(rw, i, close, a, 2, "TRIM(%s $1 FROM $0)", side))
                return -1;
            break;
        default:
            break;
        }
    }
    return 0;
}

/*
 * Arithmetic operators whose IRIS spelling differs: a % b -> MOD(a, b) and
 * a ^ b -> POWER(a, b) ("MOD (SQL)", DOC?KEY=RSQL_mod; "POWER (SQL)",
 * DOC?KEY=RSQL_power).  IRIS reads # as modulo and & and ! as AND and OR
 * ("Operators", DOC?KEY=RSQL_operators), so every operator not known to mean
 * the same fails rather than run with another meaning.
 */
static int iris_operators(struct sql_rw *rw)
{
    for (size_t i = 0; i < rw->n; i++) {
        size_t ls, re;
        struct sql_arg a[2];

        if (rw->t[i].type != SQL_TOK_OP)
            continue;
        if (sql_tk_op(rw, i, "%") || sql_tk_op(rw, i, "^")) {
            enum sql_level lv = rw->t[i].s[0] == '%' ? LV_MUL : LV_EXP;
            ls = sql_operand_left(rw, i, lv);
            re = sql_operand_right(rw, i, lv);
            if (ls == i || re == i)
                return sql_rw_fail(rw, "42601", "operand expected around %c", rw->t[i].s[0]);
            /* Signs bind tighter than ^ in PostgreSQL: -2 ^ 2 is 4, POWER(-2, 2); - -2 ^ 2 too. */
            for (size_t sign = sql_prev(rw, ls);
                 lv == LV_EXP && (sql_tk_op(rw, sign, "-") || sql_tk_op(rw, sign, "+")) &&
                 (sql_prev(rw, sign) >= rw->n || sql_expr_starts_after(rw, sql_prev(rw, sign)));
                 sign = sql_prev(rw, ls))
                ls = sign;
            a[0] = sql_rw_range(rw, ls, i - 1);
            a[1] = sql_rw_range(rw, i + 1, re);
            if (!sql_rw_template(rw, ls, re, a, 2, "%s($0, $1)", rw->t[i].s[0] == '%' ? "MOD" : "POWER"))
                return -1;
            i = ls;
            continue;
        }
        if (!sql_op_standard(&rw->t[i]))
            return sql_rw_fail(rw, "0A000", "operator %.*s is not supported by IRIS", (int)rw->t[i].len,
                               rw->t[i].s);
    }
    return 0;
}

/*
 * ln(x) and log(x), PostgreSQL's natural and base-10 logarithms, ->
 * {fn LOG(x)} and {fn LOG10(x)}: IRIS's LOG is the natural one and exists
 * only as an ODBC scalar function (DOC?KEY=RSQL_log).  log(b, x) is
 * refused: a ratio of two logarithms is not PostgreSQL's exact numeric
 * answer (floor(log(10, 1000)) would be 2).  After the operators rule,
 * whose operand scan takes no braces.
 */
static int iris_logarithms(struct sql_rw *rw)
{
    for (size_t i = rw->n; i-- > 0;) {
        size_t first[2], last[2], n;
        struct sql_arg a;
        bool ln = sql_tk_kw(rw, i, KW_LN);

        if (!(ln || sql_tk_kw(rw, i, KW_LOG)) || !sql_tk_punct(rw, i + 1, '(') || !sql_call_at(rw, i))
            continue;
        n = sql_args(rw, i + 1, first, last, 2);
        if (n == 2 && !ln)
            return sql_rw_fail(rw, "0A000", "log(b, x) is not supported by IRIS; write log(x) / log(b)");
        if (n != 1)
            return sql_rw_fail(rw, "42883", "%s takes one argument", ln ? "ln" : "log");
        a = sql_rw_range(rw, first[0], last[0]);
        if (!sql_rw_template(rw, i, sql_match(rw, i + 1), &a, 1, ln ? "{fn LOG($0)}" : "{fn LOG10($0)}"))
            return -1;
    }
    return 0;
}

/* public.t -> <default schema>.t: IRIS's default schema is SQLUser ("Schemas", DOC?KEY=GSQL_schemas). */
static int iris_public_schema(struct sql_rw *rw)
{
    for (size_t i = 0; i + 1 < rw->n; i++) {
        const struct sql_tk *t = &rw->t[i];
        bool pub = sql_tk_kw(rw, i, KW_PUBLIC) ||
                   (t->type == SQL_TOK_QIDENT && t->len == 8 && memcmp(t->s, "\"public\"", 8) == 0);
        if (pub && sql_tk_punct(rw, i + 1, '.') && (i == 0 || !sql_tk_punct(rw, i - 1, '.'))) {
            rw->t[i].s = rw->schema;
            rw->t[i].len = (uint32_t)strlen(rw->schema);
            rw->t[i].type = SQL_TOK_IDENT;
        }
    }
    return 0;
}

/*
 * INSERT ... VALUES (...), (...): IRIS's VALUES inserts one row; more come
 * from a query ("INSERT (SQL)", DOC?KEY=RSQL_insert: multi-row inserts are
 * INSERT INTO table query), so the rows become SELECT ... UNION ALL SELECT
 * .... A row with DEFAULT in it has no such spelling: refused.
 */
static int iris_multirow_values(struct sql_rw *rw)
{
    static const struct sql_tk sel = { "SELECT", 6, SQL_TOK_IDENT, 1, KW_SELECT };
    static const struct sql_tk uni[3] = { { "UNION", 5, SQL_TOK_IDENT, 1, KW_UNION },
                                          { "ALL", 3, SQL_TOK_IDENT, 1, KW_ALL },
                                          { "SELECT", 6, SQL_TOK_IDENT, 1, KW_SELECT } };
    size_t v = SIZE_MAX, first, open, close, comma;

    if (!sql_tk_kw(rw, 0, KW_INSERT))
        return 0;
    for (size_t i = 1; i < rw->n; i++) {
        if (sql_tk_punct(rw, i, '(')) {
            i = sql_match(rw, i);
            continue;
        }
        if (sql_tk_kw(rw, i, KW_VALUES)) {
            v = i;
            break;
        }
    }
    first = sql_next(rw, v);
    if (v == SIZE_MAX || !sql_tk_punct(rw, first, '('))
        return 0;
    comma = sql_next(rw, sql_match(rw, first));
    if (!sql_tk_punct(rw, comma, ',') || !sql_tk_punct(rw, sql_next(rw, comma), '('))
        return 0;               /* one row: IRIS's own VALUES */
    /* Each row's ")" found first: a separator rewritten would hide the next row's "(". */
    size_t rows = 0, cap = 64, *ends = malloc(cap * sizeof(*ends));
    if (ends == NULL)
        return sql_rw_fail(rw, "53200", "out of memory");
    for (open = first;; open = sql_next(rw, comma)) {
        close = sql_match(rw, open);
        for (size_t k = open + 1; k < close; k++)
            if (sql_tk_kw(rw, k, KW_DEFAULT)) {
                free(ends);
                return sql_rw_fail(rw, "0A000", "DEFAULT in a multi-row VALUES is not supported by IRIS");
            }
        if (rows == cap) {
            size_t *grown = realloc(ends, 2 * cap * sizeof(*ends));
            if (grown == NULL) {
                free(ends);
                return sql_rw_fail(rw, "53200", "out of memory");
            }
            ends = grown, cap *= 2;
        }
        ends[rows++] = close;
        comma = sql_next(rw, close);
        if (!sql_tk_punct(rw, comma, ',') || !sql_tk_punct(rw, sql_next(rw, comma), '('))
            break;
    }
    /* ") , (" between two rows (comments between them stay) becomes UNION ALL SELECT, in place */
    for (size_t r = 0; r + 1 < rows; r++) {
        size_t c = ends[r], m = sql_next(rw, c), o = sql_next(rw, m);
        rw->t[c] = uni[0], rw->t[m] = uni[1], rw->t[o] = uni[2];
    }
    free(ends);
    if (sql_rw_splice(rw, close, 1, NULL, 0) != 0 || sql_rw_splice(rw, first, 1, NULL, 0) != 0)
        return -1;
    rw->t[v] = sel;             /* VALUES ( -> SELECT */
    return 0;
}

/* ---- row limits -------------------------------------------------------- */

/* The clauses of one query level: a parenthesis' contents or the statement. */
struct iris_level {
    size_t select;              /* index of SELECT + 1; 0: none */
    size_t order, limit, offset, fetch, end;
    bool setop, top, sub;
};

static bool iris_simple_count(const struct sql_rw *rw, size_t i)
{
    return i < rw->n && (rw->t[i].type == SQL_TOK_NUMBER || rw->t[i].type == SQL_TOK_PARAM);
}

/*
 * A count written as CAST(n AS an integer type) -- what $1::INTEGER is by
 * now, the casts rule having run (SQLAlchemy casts its LIMIT and OFFSET
 * parameters so): the index of the number or parameter inside, else i.
 */
static size_t iris_count_at(const struct sql_rw *rw, size_t i)
{
    if (sql_tk_kw(rw, i, KW_CAST) && sql_tk_punct(rw, i + 1, '(') && iris_simple_count(rw, i + 2) &&
        sql_tk_kw(rw, i + 3, KW_AS) && (sql_tk_word(rw, i + 4, "integer") || sql_tk_word(rw, i + 4, "bigint") ||
                                        sql_tk_word(rw, i + 4, "smallint")) && sql_tk_punct(rw, i + 5, ')'))
        return i + 2;
    return i;
}

/*
 * A LIMIT's or OFFSET's count at i is a number or a parameter (cast or not)
 * and the whole of its expression, as the rewrite keeps that one token:
 * LIMIT 2 + 3 is no TOP 2.
 */
static bool iris_whole_count(const struct sql_rw *rw, size_t i, size_t end)
{
    size_t inner = iris_count_at(rw, i);
    if (!iris_simple_count(rw, inner))
        return false;
    i = sql_next(rw, inner == i ? i : i + 5);
    return i >= end || sql_tk_kw(rw, i, KW_OFFSET) || sql_tk_kw(rw, i, KW_LIMIT) || sql_tk_kw(rw, i, KW_FETCH) ||
           sql_tk_kw(rw, i, KW_ROW) || sql_tk_kw(rw, i, KW_ROWS) || sql_tk_kw(rw, i, KW_FOR);
}

/*
 * Apply the row-limit rule to one level; returns 1 when it changed the
 * tokens (the caller rescans), 0 when there was nothing to do, -1 on error.
 *
 * LIMIT n without OFFSET -> SELECT TOP n ("TOP (SQL)", DOC?KEY=RSQL_top):
 * valid at every level and in every IRIS version, and the form of the
 * vector-search examples.  LIMIT/OFFSET and FETCH at the outermost level
 * stay in IRIS's LIMIT n OFFSET m form ("LIMIT (SQL Clause)",
 * DOC?KEY=RSQL_limit; "FETCH (SQL Clause)", DOC?KEY=RSQL_ansi), which is not
 * allowed after ORDER BY in a subquery; there an ORDER BY also needs TOP,
 * so a subquery's ORDER BY without a limit gets TOP ALL ("View ID: %VID",
 * DOC?KEY=GSQL_views_vid: "a view can only use an ORDER BY clause when it
 * is paired with a TOP clause").
 */
static int iris_level_apply(struct sql_rw *rw, const struct iris_level *lv)
{
    size_t start, count = 0, off = 0, at;
    bool has_count = false;
    struct sql_tk top[2] = { { "TOP", 3, SQL_TOK_IDENT, 1, KW_TOP }, { "ALL", 3, SQL_TOK_IDENT, 1, KW_ALL } };

    if (!lv->select)
        return 0;
    start = lv->limit ? lv->limit : SIZE_MAX;
    if (lv->offset && lv->offset < start)
        start = lv->offset;
    if (lv->fetch && lv->fetch < start)
        start = lv->fetch;
    if (start == SIZE_MAX) {
        if (!(lv->sub && lv->order && !lv->top && !lv->setop))
            return 0;
        at = lv->select;
        if (sql_tk_kw(rw, at, KW_DISTINCT) || sql_tk_kw(rw, at, KW_ALL))
            at++;
        return sql_rw_splice(rw, at, 0, top, 2) == 0 ? 1 : -1;
    }
    if (start < lv->select || start >= lv->end)
        return 0;               /* not a query's trailing clause: the backend reports the syntax */
    if (lv->top)
        return sql_rw_fail(rw, "42601", "TOP and LIMIT in the same query");
    if (lv->limit) {
        size_t c = sql_next(rw, lv->limit);
        if (iris_whole_count(rw, c, lv->end))
            count = iris_count_at(rw, c), has_count = true;
        else if (!sql_tk_kw(rw, c, KW_ALL) && !sql_tk_kw(rw, c, KW_NULL))
            return sql_rw_fail(rw, "0A000", "LIMIT takes a number or a parameter on IRIS");
    }
    if (lv->fetch) {
        size_t j = lv->fetch + 2, inner = iris_count_at(rw, j);
        if (iris_simple_count(rw, inner)) {
            count = inner;
            j += inner == j ? 1 : 6;
        }
        if (sql_tk_kw(rw, j, KW_ROW) || sql_tk_kw(rw, j, KW_ROWS)) {
            if (!sql_tk_kw(rw, j + 1, KW_ONLY))
                return sql_rw_fail(rw, "0A000", "FETCH ... WITH TIES is not supported by IRIS");
        } else {
            return sql_rw_fail(rw, "0A000", "FETCH FIRST takes a number or a parameter on IRIS");
        }
        if (!count)
            count = lv->fetch;  /* FETCH FIRST ROW ONLY: one row, spelled below */
        has_count = true;
    }
    if (lv->offset) {
        off = sql_next(rw, lv->offset);
        if (!iris_whole_count(rw, off, lv->end))
            return sql_rw_fail(rw, "0A000", "OFFSET takes a number or a parameter on IRIS");
        off = iris_count_at(rw, off);
    }
    {
        static const char one[] = "1", big[] = "2147483647";
        struct sql_tk out[4] = {
            { "TOP", 3, SQL_TOK_IDENT, 1, KW_TOP },
            { one, 1, SQL_TOK_NUMBER, 1, KW_NONE },     /* FETCH FIRST ROW ONLY */
            { "OFFSET", 6, SQL_TOK_IDENT, 1, KW_OFFSET },
            { one, 1, SQL_TOK_NUMBER, 1, KW_NONE },
        };
        if (has_count && count != lv->fetch)
            out[1] = rw->t[count], out[1].space = 1;
        if (!has_count)
            out[1].s = big, out[1].len = sizeof(big) - 1;   /* IRIS's OFFSET needs a LIMIT */
        if (off)
            out[3] = rw->t[off], out[3].space = 1;
        if (has_count && !off && !lv->setop) {
            at = lv->select;
            if (sql_tk_kw(rw, at, KW_DISTINCT) || sql_tk_kw(rw, at, KW_ALL))
                at++;
            if (sql_rw_splice(rw, start, lv->end - start, NULL, 0) != 0 ||
                sql_rw_splice(rw, at, 0, out, 2) != 0)
                return -1;
            return 1;
        }
        if (!has_count && !off)         /* LIMIT ALL */
            return sql_rw_splice(rw, start, lv->end - start, NULL, 0) == 0 ? 1 : -1;
        if (lv->sub && lv->order)
            return sql_rw_fail(rw, "0A000", "OFFSET (or LIMIT on UNION) after ORDER BY in a subquery "
                                            "is not supported by IRIS");
        /* already LIMIT n [OFFSET m] at the end: the form IRIS takes */
        if (lv->limit == start && has_count && !lv->fetch &&
            lv->end == lv->limit + (off ? 4 : 2) && (!off || lv->offset == lv->limit + 2))
            return 0;
        out[0] = (struct sql_tk){ "LIMIT", 5, SQL_TOK_IDENT, 1, KW_LIMIT };
        if (sql_rw_splice(rw, start, lv->end - start, out, off ? 4 : 2) != 0)
            return -1;
        return 1;
    }
}

static int iris_limits(struct sql_rw *rw)
{
    struct iris_level stack[64];

    /* whatever its clauses, a statement without SELECT has no level to change (iris_level_apply) */
    if (!sql_seen(rw, KW_SELECT))
        return 0;
    for (int guard = 0; guard < 1000; guard++) {
        int depth = 0, rc = 0;

        memset(&stack[0], 0, sizeof(stack[0]));
        for (size_t i = 0; i <= rw->n && rc == 0; i++) {
            struct iris_level *lv = &stack[depth < 64 ? depth : 63];
            if (i == rw->n || sql_tk_punct(rw, i, ')')) {
                lv->end = i;
                rc = iris_level_apply(rw, lv);
                if (depth > 0)
                    depth--;
                continue;
            }
            if (sql_tk_punct(rw, i, '(') || sql_tk_punct(rw, i, '[')) {
                if (sql_tk_punct(rw, i, '[')) {
                    i = sql_match(rw, i);
                    continue;
                }
                depth++;
                if (depth < 64) {
                    memset(&stack[depth], 0, sizeof(stack[depth]));
                    stack[depth].sub = true;
                }
                continue;
            }
            if (rw->t[i].type != SQL_TOK_IDENT || depth >= 64)
                continue;
            switch (rw->t[i].kw) {
            case KW_SELECT:
                if (!lv->select) {
                    lv->select = i + 1;
                    lv->top = sql_tk_kw(rw, i + 1, KW_TOP) ||
                              ((sql_tk_kw(rw, i + 1, KW_DISTINCT) || sql_tk_kw(rw, i + 1, KW_ALL)) &&
                               sql_tk_kw(rw, i + 2, KW_TOP));
                }
                break;
            case KW_UNION: case KW_INTERSECT: case KW_EXCEPT:
                lv->setop = true;
                break;
            case KW_ORDER:
                if (sql_tk_kw(rw, i + 1, KW_BY))
                    lv->order = i;
                break;
            case KW_LIMIT:
                lv->limit = i;
                break;
            case KW_OFFSET:
                lv->offset = i;
                break;
            case KW_FETCH:
                if (sql_tk_kw(rw, i + 1, KW_FIRST) || sql_tk_kw(rw, i + 1, KW_NEXT))
                    lv->fetch = i;
                break;
            default:
                break;
            }
        }
        if (rc <= 0)
            return rc;
    }
    return sql_rw_fail(rw, "XX000", "row-limit rewrite did not converge");
}

const struct sql_rule sql_rules_iris[] = {
    { "trim_semicolons", sql_rule_trim_semicolons, NULL },
    { "column_names", sql_rule_column_names, &sql_rule_column_names_when },
    { "catalogs", sql_rule_catalogs, &sql_rule_catalogs_when },
    { "session_info", sql_rule_session_info, &sql_rule_session_info_when },
    { "transactions", iris_transactions, NULL },
    { "unsupported", iris_unsupported, SQL_WHEN(KW_RETURNING, KW_FOR, KW_DISTINCT) },
    { "plain_strings", sql_rule_plain_strings, &sql_rule_plain_strings_when },
    { "utc_zone", sql_rule_utc_zone, &sql_rule_utc_zone_when },
    { "on_conflict", iris_on_conflict, SQL_WHEN(KW_CONFLICT) },
    { "multirow_values", iris_multirow_values, SQL_WHEN(KW_VALUES) },
    { "vectors", iris_vectors, SQL_WHEN(SQL_SEEN_VECTOR_OP) },
    { "casts", sql_rule_casts, &sql_rule_casts_when },
    { "ddl_types", sql_rule_ddl_types, NULL },
    { "ilike", sql_rule_ilike, SQL_WHEN(KW_ILIKE) },
    { "like_escape", sql_rule_like_escape, SQL_WHEN(KW_LIKE, KW_ILIKE) },
    { "is_distinct", iris_is_distinct, SQL_WHEN(KW_DISTINCT) },
    { "interval", iris_interval, &sql_rule_interval_when },
    { "dates", iris_dates, &sql_rule_date_parts_when },
    { "now", iris_now, SQL_WHEN(KW_NOW, KW_TRANSACTION_TIMESTAMP, KW_STATEMENT_TIMESTAMP,
                                KW_CLOCK_TIMESTAMP, KW_CURRENT_TIMESTAMP, KW_LOCALTIMESTAMP) },
    { "functions", iris_functions, SQL_WHEN(KW_LENGTH, KW_BTRIM, KW_LTRIM, KW_RTRIM, KW_GREATEST, KW_LEAST) },
    { "substring", sql_rule_substring, &sql_rule_substring_when },
    { "concat", sql_rule_concat, &sql_rule_concat_when },
    { "operators", iris_operators, SQL_WHEN(SQL_SEEN_TYPECAST, SQL_SEEN_VECTOR_OP, SQL_SEEN_OTHER_OP) },
    { "logarithms", iris_logarithms, SQL_WHEN(KW_LN, KW_LOG) },
    { "booleans", sql_rule_booleans, &sql_rule_booleans_when },
    { "public_schema", iris_public_schema, SQL_WHEN(KW_PUBLIC, SQL_SEEN_TYPE_ + SQL_TOK_QIDENT) },
    /* a level changes only with one of these clauses (ORDER BY: TOP ALL in a subquery) */
    { "limits", iris_limits, SQL_WHEN(KW_LIMIT, KW_OFFSET, KW_FETCH, KW_ORDER) },
};
const size_t sql_rules_iris_n = sizeof(sql_rules_iris) / sizeof(sql_rules_iris[0]);
