/*
 * sql_rules: the rewrite machinery shared by the translator's rule sets
 * (sql_rules_postgres.c, sql_rules_sqlite.c, sql_rules_iris.c).  Not a public
 * interface: callers use common/sql_translate.h.
 *
 * A statement is held as an array of tokens.  A token's text points either
 * into the caller's statement or into text the rules made (string literals
 * of this program, or the rewriter's arena), so rewriting never copies the
 * statement.  Rules find constructs by token type and keyword and replace
 * token ranges with templates, which are SQL snippets lexed by sql_lex:
 * "$0".."$9" in a template stand for token ranges given by the rule.
 */
#ifndef PGIRIS_SQL_RULES_H
#define PGIRIS_SQL_RULES_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/sql_lexer.h"

#define SQL_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Keywords the rules recognise, sorted by spelling (the table-order test keeps them so). */
#define SQL_KEYWORDS(X)\
    X(ABORT, "abort") X(ALL, "all") X(ALTER, "alter") X(ALWAYS, "always") X(AND, "and")     \
    X(ANY, "any") X(ARRAY, "array") X(AS, "as") X(ASC, "asc") X(AT, "at")                   \
    X(ATOMIC, "atomic") X(BEGIN, "begin") X(BETWEEN, "between") X(BTRIM, "btrim")           \
    X(BY, "by") X(BYTEA, "bytea") X(CASE, "case") X(CAST, "cast") X(CHAIN, "chain")         \
    X(CHAR_LENGTH, "char_length") X(CHARACTER_LENGTH, "character_length") X(CHECK, "check") \
    X(CLOCK_TIMESTAMP, "clock_timestamp") X(COLLATE, "collate") X(COLUMN, "column")         \
    X(COMMIT, "commit") X(COMMITTED, "committed") X(CONCAT, "concat")                       \
    X(CONFLICT, "conflict") X(CONSTRAINT, "constraint") X(CREATE, "create")                 \
    X(CROSS, "cross") X(CURRENT_CATALOG, "current_catalog")                                 \
    X(CURRENT_DATABASE, "current_database") X(CURRENT_DATE, "current_date")                 \
    X(CURRENT_ROLE, "current_role") X(CURRENT_SCHEMA, "current_schema")                     \
    X(CURRENT_TIME, "current_time") X(CURRENT_TIMESTAMP, "current_timestamp")               \
    X(CURRENT_USER, "current_user") X(CURRVAL, "currval") X(DATE, "date")                   \
    X(DATE_PART, "date_part") X(DATE_TRUNC, "date_trunc") X(DECODE, "decode")               \
    X(DEFAULT, "default") X(DEFERRABLE, "deferrable")                                       \
    X(DELETE, "delete") X(DESC, "desc") X(DISTINCT, "distinct") X(DO, "do") X(DROP, "drop") \
    X(ELSE, "else") X(END, "end") X(ESCAPE, "escape") X(EXCEPT, "except")                   \
    X(EXCLUDE, "exclude") X(EXCLUDED, "excluded") X(EXISTS, "exists") X(EXTRACT, "extract") \
    X(FALSE, "false") X(FETCH, "fetch") X(FILTER, "filter") X(FIRST, "first") X(FOR, "for") \
    X(FOREIGN, "foreign") X(FROM, "from") X(FULL, "full")                                   \
    X(GEN_RANDOM_UUID, "gen_random_uuid") X(GENERATE_SERIES, "generate_series")               \
    X(GENERATED, "generated") X(GREATEST, "greatest")                                       \
    X(GROUP, "group") X(HAVING, "having") X(IDENTITY, "identity") X(IF, "if")               \
    X(ILIKE, "ilike") X(IN, "in") X(INDEX, "index") X(INET_CLIENT_ADDR, "inet_client_addr") \
    X(INFORMATION_SCHEMA, "information_schema") X(INNER, "inner") X(INSERT, "insert")        \
    X(INTERSECT, "intersect") X(INTERVAL, "interval")                                       \
    X(INTO, "into") X(IS, "is") X(ISNULL, "isnull") X(ISOLATION, "isolation")               \
    X(JOIN, "join") X(KEY, "key") X(LASTVAL, "lastval") X(LATERAL, "lateral")               \
    X(LEAST, "least") X(LEFT, "left") X(LENGTH, "length") X(LEVEL, "level") X(LIKE, "like") \
    X(LIMIT, "limit") X(LN, "ln") X(LOCALTIME, "localtime")                                \
    X(LOCALTIMESTAMP, "localtimestamp") X(LOG, "log") X(LTRIM, "ltrim") X(MERGE, "merge")    \
    X(NATURAL, "natural") X(NEXT, "next")                                                   \
    X(NEXTVAL, "nextval") X(NO, "no") X(NOT, "not") X(NOTHING, "nothing")                   \
    X(NOTNULL, "notnull") X(NOW, "now") X(NULL, "null") X(NULLS, "nulls")                   \
    X(OFFSET, "offset") X(ON, "on") X(ONLY, "only") X(OR, "or") X(ORDER, "order")           \
    X(OVER, "over") X(PARTITION, "partition") X(PG_CATALOG, "pg_catalog")                   \
    X(PG_SLEEP, "pg_sleep")                                                                 \
    X(POSITION, "position") X(PRIMARY, "primary") X(PUBLIC, "public") X(RANDOM, "random")   \
    X(RANGE, "range") X(READ, "read") X(RECURSIVE, "recursive") X(REFERENCES, "references") \
    X(RELEASE, "release") X(REPEATABLE, "repeatable") X(RETURNING, "returning")             \
    X(RIGHT, "right") X(ROLLBACK, "rollback") X(ROW, "row") X(ROWS, "rows")                 \
    X(RTRIM, "rtrim") X(SAVEPOINT, "savepoint") X(SELECT, "select")                         \
    X(SERIALIZABLE, "serializable") X(SESSION, "session") X(SESSION_USER, "session_user")   \
    X(SET, "set") X(SETSEED, "setseed") X(SETVAL, "setval") X(SHARE, "share")               \
    X(SIMILAR, "similar") X(SOME, "some") X(START, "start")                                 \
    X(STATEMENT_TIMESTAMP, "statement_timestamp") X(STRING_AGG, "string_agg") X(STRPOS, "strpos") \
    X(SUBSTRING, "substring")                                                               \
    X(TABLE, "table") X(TEMP, "temp") X(TEMPORARY, "temporary") X(THEN, "then")             \
    X(TIES, "ties") X(TIME, "time") X(TIMEOFDAY, "timeofday")                               \
    X(TIMESTAMP, "timestamp") X(TIMESTAMPTZ, "timestamptz") X(TO, "to") X(TOP, "top")       \
    X(TRANSACTION, "transaction") X(TRANSACTION_TIMESTAMP, "transaction_timestamp")         \
    X(TRIM, "trim")                                                                         \
    X(TRUE, "true") X(TRUNCATE, "truncate") X(TXID_CURRENT, "txid_current")                 \
    X(UNCOMMITTED, "uncommitted") X(UNION, "union") X(UNIQUE, "unique")                     \
    X(UNLOGGED, "unlogged") X(UPDATE, "update") X(USER, "user") X(USING, "using")           \
    X(UUID_GENERATE_V1, "uuid_generate_v1") X(UUID_GENERATE_V4, "uuid_generate_v4")         \
    X(VALUES, "values") X(VECTOR, "vector") X(VERSION, "version") X(VIEW, "view")           \
    X(WHEN, "when")                                                                         \
    X(WHERE, "where") X(WINDOW, "window") X(WITH, "with") X(WORK, "work") X(WRITE, "write")

enum sql_kw {
    KW_NONE,
#define SQL_KW_ENUM(id, s) KW_##id,
    SQL_KEYWORDS(SQL_KW_ENUM)
#undef SQL_KW_ENUM
    KW_COUNT_
};

/* Spelling of keyword kw ("" for KW_NONE); used by the table-order test. */
const char *sql_kw_name(int kw);
/* Keyword id of an identifier (any case), or KW_NONE. */
int sql_kw_lookup(const char *s, size_t len);

struct sql_tk {
    const char *s;
    uint32_t len;
    uint8_t type;               /* enum sql_tok */
    uint8_t space;              /* enum sql_space: white space before it in the output */
    uint16_t kw;                /* enum sql_kw for SQL_TOK_IDENT */
};

/*
 * sql_tk.space: the white space a token is printed after.  A newline is kept
 * only where it carries meaning, before the continuation of a quoted literal
 * (comments aside): 'a'<newline>'b' is one literal, whose second part the
 * lexer scans under the first part's quoting rules.  After a mere blank it
 * would be a literal of its own, quoted differently.
 */
enum sql_space { SQL_SPACE_NONE, SQL_SPACE_BLANK, SQL_SPACE_CONT };

/* Binding strength of operators, PostgreSQL's precedence table, loosest first. */
enum sql_level {
    LV_STOP,                    /* clause keywords, commas: never inside an operand */
    LV_OR, LV_AND, LV_NOT, LV_IS, LV_CMP, LV_LIKE, LV_OTHER, LV_ADD, LV_MUL, LV_EXP,
    LV_OPERAND,                 /* not an operator */
};

/* A token range handed to a template: $k expands to v[0..n). */
struct sql_arg {
    const struct sql_tk *v;
    size_t n;
};

/* What a cast or a column type becomes; see sql_rw_cast_tmpl. */
enum sql_type_ctx { SQL_TYPE_CAST, SQL_TYPE_DDL };

struct sql_pgtype {
    size_t first, last;         /* token extent of the type name */
    char name[32];              /* lower case, canonical: "varchar", "timestamptz", ... */
    size_t mod_open, mod_close; /* the (typmod) parentheses, or 0, 0 */
    bool array;
};

struct sql_rw;

/*
 * Dialect hook: the template a cast or a DDL column type becomes, with $0 the
 * operand (casts only), $1 the typmod with its parentheses (may be empty) and
 * $2 the typmod without them.  A placeholder must stand apart from a word
 * ("NUMERIC($2)", not "NUMERIC$1", which lexes as one identifier).  Returns NULL after sql_rw_fail when the type
 * has no equivalent; a DDL template of "" keeps the type as written.
 */
typedef const char *(*sql_type_fn)(struct sql_rw *rw, const struct sql_pgtype *ty,
                                   enum sql_type_ctx ctx);

/*
 * What a statement may hold, so that a rule with nothing to rewrite is not
 * run (struct sql_rule's trigger): a bit per keyword id, then these marks.
 * Bits are set for every token loaded or spliced in and never cleared, so a
 * clear bit means the statement has no such token.  A rule that turns a
 * token into one a later rule looks for splices it in rather than editing
 * it in place.
 */
enum sql_seen {
    SQL_SEEN_TYPECAST = KW_COUNT_,      /* the :: operator */
    SQL_SEEN_VECTOR_OP,                 /* a pgvector distance operator (sql_vector_op) */
    SQL_SEEN_OTHER_OP,                  /* any other operator outside sql_op_standard */
    SQL_SEEN_TYPE_,                     /* + enum sql_tok: a token of that type */
    SQL_SEEN_COUNT_ = SQL_SEEN_TYPE_ + SQL_TOK_COMMENT + 1
};
#define SQL_SEEN_WORDS ((SQL_SEEN_COUNT_ + 63) / 64)

struct sql_arena_blk;

struct sql_rw {
    enum cfg_dialect dialect;
    const char *schema;         /* what "public" becomes (iris) */
    const char *user;           /* the client's user and database (NULL: not known) */
    const char *database;
    sql_type_fn type_tmpl;
    struct sql_tk *t;           /* tk_buf, or malloc'd once it outgrows it */
    size_t n, cap;
    struct sql_tk *tk_buf;      /* the caller's buffer for the tokens */
    size_t tk_cap;
    char *scratch;              /* the caller's buffer the arena starts in (8-byte aligned) */
    size_t scratch_used, scratch_size;
    struct sql_arena_blk *arena;    /* malloc'd blocks once scratch is used up */
    int flags;                  /* SQL_FLAG_* a rule adds to the record */
    bool failed;
    char sqlstate[6];
    char *error;                /* malloc'd */
    struct sql_token *lex;      /* the lexer's tokens of the input (lex_buf or malloc'd) */
    size_t nlex;
    struct sql_token *lex_buf;  /* the caller's buffer for them */
    size_t lex_cap;
    uint64_t seen[SQL_SEEN_WORDS];      /* bits of enum sql_kw and enum sql_seen */
};

/*
 * The keywords and marks (enum sql_kw, enum sql_seen) a rule looks for, as
 * bits laid out like rw->seen's: the engine tests a trigger with an AND a
 * word, however many it names, where walking a list cost more than the
 * early returns it replaced.
 */
struct sql_trigger {
    uint64_t bits[SQL_SEEN_WORDS];
};

/*
 * A rule of a dialect's pipeline.  Most rules rewrite only statements that
 * hold one of a few keywords or marks; their trigger names them, and the
 * engine calls apply only when the statement holds one at the rule's turn
 * (an earlier rule may have spliced it in).  A trigger must name everything
 * the rule rewrites or rejects: test_sql_translate and fuzz_translate
 * compare translations with ones that ignore the triggers.
 */
struct sql_rule {
    const char *name;
    int (*apply)(struct sql_rw *rw);    /* 0, or -1 after sql_rw_fail */
    const struct sql_trigger *when;     /* NULL: always */
};

/*
 * SQL_TRIGGER(KW_A, SQL_SEEN_B, ...) initialises a struct sql_trigger with
 * up to 12 ids (a 13th fails to compile rather than be dropped);
 * SQL_WHEN(...) is one written in place in a rule table.
 */
#define SQL_WHEN(...) (&(const struct sql_trigger)SQL_TRIGGER(__VA_ARGS__))
#define SQL_TRIGGER(...) SQL_TRIGGER_(__VA_ARGS__, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
#define SQL_TRIGGER_(a, b, c, d, e, f, g, h, i, j, k, l, more, ...)                           \
    { { SQL_TRIGGER_WORD(0, a, b, c, d, e, f, g, h, i, j, k, l) +                               \
            0 * sizeof(char[(more) == 0 ? 1 : -1]),                                           \
        SQL_TRIGGER_WORD(1, a, b, c, d, e, f, g, h, i, j, k, l),                                \
        SQL_TRIGGER_WORD(2, a, b, c, d, e, f, g, h, i, j, k, l),                                \
        SQL_TRIGGER_WORD(3, a, b, c, d, e, f, g, h, i, j, k, l) } }
#define SQL_TRIGGER_WORD(w, a, b, c, d, e, f, g, h, i, j, k, l)                                \
    (SQL_TRIGGER_BIT(w, a) | SQL_TRIGGER_BIT(w, b) | SQL_TRIGGER_BIT(w, c) |                  \
     SQL_TRIGGER_BIT(w, d) | SQL_TRIGGER_BIT(w, e) | SQL_TRIGGER_BIT(w, f) |                  \
     SQL_TRIGGER_BIT(w, g) | SQL_TRIGGER_BIT(w, h) | SQL_TRIGGER_BIT(w, i) |                  \
     SQL_TRIGGER_BIT(w, j) | SQL_TRIGGER_BIT(w, k) | SQL_TRIGGER_BIT(w, l))
/* KW_NONE, the padding, sets no bit */
#define SQL_TRIGGER_BIT(w, id) \
    ((unsigned)(id) != KW_NONE && (unsigned)(id) / 64 == (w) ? UINT64_C(1) << (unsigned)(id) % 64 : 0)
_Static_assert(SQL_SEEN_WORDS == 4, "SQL_TRIGGER_ spells out four words of bits");

extern const struct sql_rule sql_rules_postgres[];
extern const struct sql_rule sql_rules_sqlite[];
extern const struct sql_rule sql_rules_iris[];
extern const size_t sql_rules_postgres_n, sql_rules_sqlite_n, sql_rules_iris_n;
const char *sql_sqlite_type(struct sql_rw *rw, const struct sql_pgtype *ty, enum sql_type_ctx ctx);
const char *sql_iris_type(struct sql_rw *rw, const struct sql_pgtype *ty, enum sql_type_ctx ctx);
/*
 * SQLite: a cast of the string literal t[lit] to ty done at translation,
 * the token rewritten to the value (X'..' for bytea, the normalised text of
 * a time or timestamp).  1 if done, 0 if the cast is left to sql_sqlite_type,
 * -1 after sql_rw_fail (bad input, with PostgreSQL's SQLSTATE).
 */
int sql_sqlite_cast_literal(struct sql_rw *rw, size_t lit, const struct sql_pgtype *ty);
/*
 * The template for casting t[op_first..op_last] to ty on IRIS, where IRIS's
 * own CAST differs from PostgreSQL's for that operand (tmpl otherwise);
 * NULL on failure (rw failed).
 */
const char *sql_iris_cast_tmpl(struct sql_rw *rw, size_t op_first, size_t op_last, const struct sql_pgtype *ty,
                               const char *tmpl);
/* The value of the '...' literal t (quotes undoubled), NUL-terminated; malloc'd. */
char *sql_literal_value(struct sql_rw *rw, const struct sql_tk *t, size_t *len);
/* The '...' literal t cast to boolean, as boolin reads it, becomes 1 or 0: 1, or -1 (22P02). */
int sql_bool_literal(struct sql_rw *rw, struct sql_tk *t);

/* ---- engine (sql_translate.c) ---- */

/* Record an error (first one wins); always returns -1. */
int sql_rw_fail(struct sql_rw *rw, const char *sqlstate, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Copy len bytes into the rewriter's arena (freed with the rewriter). */
char *sql_rw_strdup(struct sql_rw *rw, const char *s, size_t len);
/* Replace t[at .. at+del) by ins[0..nins). */
int sql_rw_splice(struct sql_rw *rw, size_t at, size_t del, const struct sql_tk *ins, size_t nins);
/*
 * Replace t[from..to] (inclusive) by the template fmt (printf-formatted,
 * then lexed); "$k" expands to args[k].  The first new token takes over the
 * white space of t[from].  Returns the index just past the new tokens, or 0
 * after a failure.
 */
size_t sql_rw_template(struct sql_rw *rw, size_t from, size_t to, const struct sql_arg *args,
                       size_t nargs, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* A copy of t[from..to] usable as a template argument (empty if to < from). */
struct sql_arg sql_rw_range(struct sql_rw *rw, size_t from, size_t to);

static inline bool sql_tk_kw(const struct sql_rw *rw, size_t i, int kw)
{
    return i < rw->n && rw->t[i].type == SQL_TOK_IDENT && rw->t[i].kw == kw;
}
static inline bool sql_tk_punct(const struct sql_rw *rw, size_t i, char c)
{
    return i < rw->n && rw->t[i].type == SQL_TOK_PUNCT && rw->t[i].s[0] == c;
}
/* Inline so that strlen of the literal argument folds to a constant. */
static inline bool sql_tk_op(const struct sql_rw *rw, size_t i, const char *op)
{
    size_t n = __builtin_strlen(op);
    return i < rw->n && rw->t[i].type == SQL_TOK_OP && rw->t[i].len == n &&
           __builtin_memcmp(rw->t[i].s, op, n) == 0;
}
/* Case-insensitive comparison of an identifier token with a lower-case word. */
static inline bool sql_tk_word(const struct sql_rw *rw, size_t i, const char *word)
{
    size_t n = __builtin_strlen(word);
    if (i >= rw->n || rw->t[i].type != SQL_TOK_IDENT || rw->t[i].len != n)
        return false;
    for (size_t k = 0; k < n; k++) {
        char c = rw->t[i].s[k];
        if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != word[k])
            return false;
    }
    return true;
}
/* Whether the statement may hold keyword or mark 'what' (enum sql_kw or enum sql_seen). */
static inline bool sql_seen(const struct sql_rw *rw, unsigned what)
{
    return rw->seen[what / 64] >> (what % 64) & 1;
}
/*
 * Whether it may hold any of the n keywords or marks in what[].  Asked of
 * constant lists: inlined and unrolled, each test folds to a load and a bit
 * test, where the loop cost more than the work it saves.
 */
static inline __attribute__((always_inline)) bool sql_seen_any(const struct sql_rw *rw,
                                                               const uint16_t *what, size_t n)
{
#pragma GCC unroll 32
    for (size_t i = 0; i < n; i++)
        if (sql_seen(rw, what[i]))
            return true;
    return false;
}
/* The operators SQL spells as PostgreSQL does: + - * / = < > <= >= <> != || */
bool sql_op_standard(const struct sql_tk *t);
/* pgvector's distance operators: <=> <-> <#> <+> <~> <%> */
bool sql_vector_op(const struct sql_tk *t);

/* The next/previous token that is not a comment (rw->n / SIZE_MAX if none). */
size_t sql_next(const struct sql_rw *rw, size_t i);
size_t sql_prev(const struct sql_rw *rw, size_t i);

/* Matching ')' or ']' of the bracket at i (rw->n if unbalanced), and back. */
size_t sql_match(const struct sql_rw *rw, size_t i);
size_t sql_match_back(const struct sql_rw *rw, size_t i);
/* The END of the CASE at i, and the CASE of the END at i. */
size_t sql_case_end(const struct sql_rw *rw, size_t i);
size_t sql_case_start(const struct sql_rw *rw, size_t i);
/* The last token of the bracket or CASE ... END that opens at i; i when it opens neither. */
static inline size_t sql_skip_nested(const struct sql_rw *rw, size_t i)
{
    if (sql_tk_punct(rw, i, '(') || sql_tk_punct(rw, i, '['))
        return sql_match(rw, i);
    return sql_tk_kw(rw, i, KW_CASE) ? sql_case_end(rw, i) : i;
}

/* How token i binds as a binary operator (LV_OPERAND: it is not one). */
enum sql_level sql_level_of(const struct sql_rw *rw, size_t i);
/*
 * Extent of the operands of a binary operator of strength lv at token op:
 * the first token of the left operand, the last token of the right one
 * (op itself when there is none).
 */
size_t sql_operand_left(const struct sql_rw *rw, size_t op, enum sql_level lv);
size_t sql_operand_right(const struct sql_rw *rw, size_t op, enum sql_level lv);
/* First token of the primary expression (x, t.x, f(..), (..), CASE..END, a[i]) ending at end. */
size_t sql_primary_start(const struct sql_rw *rw, size_t end);
/* The statement's own SELECT (after any WITH), or SIZE_MAX when it is no query (WITH ... INSERT). */
size_t sql_main_select(const struct sql_rw *rw);
/* "NULL AS name, ..." for the SELECT list at t[sel], into out; its items, 0 for a * or no room. */
size_t sql_select_nulls(const struct sql_rw *rw, size_t sel, char *out, size_t size);
/* Parse a PostgreSQL type name starting at i; false if there is none. */
bool sql_parse_type(const struct sql_rw *rw, size_t i, struct sql_pgtype *ty);
/*
 * Token i ends the type name of a typed literal when a string follows it:
 * DATE, TIME, TIMESTAMP, TIMESTAMPTZ, BYTEA, INTERVAL, or a word of the
 * numeric, boolean, character, uuid and json types (int '5', double
 * precision '1.5').
 */
bool sql_literal_type_word(const struct sql_rw *rw, size_t i);
/*
 * The comma-separated arguments of the parenthesis at open: writes up to max
 * (first, last) pairs and returns their count (0 for "()").
 */
size_t sql_args(const struct sql_rw *rw, size_t open, size_t first[], size_t last[], size_t max);

/*
 * sql_translate with every rule run, and every sql_seen answering yes,
 * whatever the statement holds; for the tests, where a trigger that misses
 * something its rule rewrites shows as a difference between the two.
 */
struct sql_translation;
int sql_translate_every_rule(enum cfg_dialect d, const char *in, size_t len,
                             struct sql_translation *out);

/*
 * ---- rules shared by the dialects (sql_rules_common.c) ----
 * sql_rule_X_when is rule X's trigger, defined beside the rule so that the
 * dialects' tables point to it rather than repeat it.
 */
int sql_rule_trim_semicolons(struct sql_rw *rw);
int sql_rule_plain_strings(struct sql_rw *rw);      /* E'..', $$..$$, continuations -> '..' */
extern const struct sql_trigger sql_rule_plain_strings_when;
int sql_rule_casts(struct sql_rw *rw);              /* x::t and CAST(x AS t) via type_tmpl */
extern const struct sql_trigger sql_rule_casts_when;
int sql_rule_ddl_types(struct sql_rw *rw);          /* column types in CREATE/ALTER TABLE */
int sql_rule_booleans(struct sql_rw *rw);           /* TRUE/FALSE -> 1/0 */
extern const struct sql_trigger sql_rule_booleans_when;
int sql_rule_substring(struct sql_rw *rw);          /* substring(x FROM a FOR b) -> $fn(x, a, b) */
extern const struct sql_trigger sql_rule_substring_when;
int sql_rule_concat(struct sql_rw *rw);             /* concat(a, b) -> (COALESCE(a,'') || ...) */
extern const struct sql_trigger sql_rule_concat_when;
int sql_rule_session_info(struct sql_rw *rw);       /* current_user, current_database(), version() */
extern const struct sql_trigger sql_rule_session_info_when;
int sql_rule_utc_zone(struct sql_rw *rw);           /* x AT TIME ZONE 'UTC' is x; another zone 0A000 */
extern const struct sql_trigger sql_rule_utc_zone_when;
int sql_rule_catalogs(struct sql_rw *rw);           /* pg_catalog.pg_class ... -> 0A000 */
extern const struct sql_trigger sql_rule_catalogs_when;
int sql_rule_column_names(struct sql_rw *rw);       /* SELECT count(*) -> SELECT count(*) AS "count" */
extern const struct sql_trigger sql_rule_column_names_when;
int sql_rule_ilike(struct sql_rw *rw);              /* a ILIKE b -> UPPER(a) LIKE UPPER(b) */
int sql_rule_like_escape(struct sql_rw *rw);        /* LIKE p -> LIKE p ESCAPE '\', PostgreSQL's default */
int sql_rule_column_types(struct sql_rw *rw);       /* SELECT a = b, count(*): boolean and integer columns noted */
extern const struct sql_trigger sql_rule_column_types_when;

/* One unit of date_trunc / extract / date_part: a template ($0 = the value) for each, NULL if none. */
struct sql_date_unit {
    const char *unit;
    const char *trunc;
    const char *part;
};
/* date_trunc, extract and date_part through a dialect's unit table; 'backend' names it in errors. */
int sql_rule_date_parts(struct sql_rw *rw, const struct sql_date_unit *units, size_t nunits,
                        const char *backend);
extern const struct sql_trigger sql_rule_date_parts_when;

/*
 * A dialect's spelling of x + n units, n signed, unit one of year month day
 * hour minute second (weeks arrive as days): a template with $0 = x into buf,
 * or NULL after sql_rw_fail when the dialect cannot add that unit.
 */
typedef const char *(*sql_interval_fn)(struct sql_rw *rw, long n, const char *unit, char *buf,
                                       size_t len);
/* x +/- INTERVAL 'n unit' through a dialect's spelling; 'backend' names it in errors. */
int sql_rule_interval(struct sql_rw *rw, sql_interval_fn spell, const char *backend);
/* Whether an expression starts after token p (an operator, "(", ",", SELECT, WHERE, AND, ...). */
bool sql_expr_starts_after(const struct sql_rw *rw, size_t p);
/* Whether the name at i, followed by "(", is a function call (not a relation named with a column list). */
bool sql_call_at(const struct sql_rw *rw, size_t i);
/* greatest/least at i as fn(...) that is NULL when any argument is: each argument coalesced with the others. */
int sql_greatest_least(struct sql_rw *rw, size_t i, const char *fn, const char *backend);
extern const struct sql_trigger sql_rule_interval_when;

#endif
