/*
 * sql_translate: the translation engine.  Lexes a statement into a token
 * array, builds the record (kind, verb, parameters, tables, flags) from the
 * statement as the client wrote it, runs the dialect's rule pipeline over
 * the tokens and prints them back as SQL.
 *
 * Also the helpers every rule shares: splicing templates into the token
 * array, bracket matching, and finding the extent of an operand from
 * PostgreSQL's operator precedence, so that rules see expressions rather
 * than characters.
 */
#include "common/sql_translate.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/sql_rules.h"

/* ---- keywords ---------------------------------------------------------- */

static const char *const sql_kw_names[] = {
    "",
#define SQL_KW_NAME(id, s) s,
    SQL_KEYWORDS(SQL_KW_NAME)
#undef SQL_KW_NAME
};

const char *sql_kw_name(int kw)
{
    return kw >= 0 && kw < KW_COUNT_ ? sql_kw_names[kw] : "";
}

/*
 * Keyword lookup runs for every identifier of every statement: an open
 * addressing table built once.  The hash reads a few bytes whatever the
 * word's length and folds their case, so a word is read in full only when a
 * keyword of its length sits in its slot.
 */
#define SQL_KW_BITS 10
#define SQL_KW_SLOTS (1 << SQL_KW_BITS)     /* several times the keyword count */
#define SQL_KW_MAXLEN 23        /* no keyword is longer (test_keywords_sorted finds each) */

static uint16_t sql_kw_slots[SQL_KW_SLOTS];
static uint8_t sql_kw_lens[KW_COUNT_];
static pthread_once_t sql_kw_once = PTHREAD_ONCE_INIT;

/*
 * The length and the first, middle and last bytes, each with bit 5 set so
 * that 'A' and 'a' hash alike, mixed by a multiply (the high bits are the
 * well-mixed ones).  A word and its lower case hash alike.
 */
static uint32_t sql_kw_hash(const char *s, size_t len)
{
    uint32_t h = (uint32_t)len | ((unsigned char)s[0] | 0x20u) << 8 |
                 ((unsigned char)s[len / 2] | 0x20u) << 16 | ((unsigned char)s[len - 1] | 0x20u) << 24;
    return (h * 2654435761u) >> (32 - SQL_KW_BITS);
}

static void sql_kw_build(void)
{
    for (int kw = 1; kw < KW_COUNT_; kw++) {
        size_t len = strlen(sql_kw_names[kw]);
        uint32_t h = sql_kw_hash(sql_kw_names[kw], len);
        while (sql_kw_slots[h] != KW_NONE)
            h = (h + 1) & (SQL_KW_SLOTS - 1);
        sql_kw_slots[h] = (uint16_t)kw;
        sql_kw_lens[kw] = (uint8_t)len;
    }
}

/* s[0..len) in any case against the lower-case keyword name; ASCII only, like PostgreSQL. */
static bool sql_kw_equal(const char *name, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != name[i])
            return false;
    }
    return true;
}

/* The keyword id of s[0..len), once sql_kw_build has run. */
static int sql_kw_find(const char *s, size_t len)
{
    if (len == 0 || len > SQL_KW_MAXLEN)
        return KW_NONE;
    for (uint32_t h = sql_kw_hash(s, len);; h = (h + 1) & (SQL_KW_SLOTS - 1)) {
        int kw = sql_kw_slots[h];
        if (kw == KW_NONE)
            return KW_NONE;
        if (sql_kw_lens[kw] == len && sql_kw_equal(sql_kw_names[kw], s, len))
            return kw;
    }
}

int sql_kw_lookup(const char *s, size_t len)
{
    pthread_once(&sql_kw_once, sql_kw_build);
    return sql_kw_find(s, len);
}

/* ---- arena ------------------------------------------------------------- */

struct sql_arena_blk {
    struct sql_arena_blk *next;
    size_t used, size;
    char data[];
};

/* From the caller's scratch buffer while it lasts, then from malloc'd blocks. */
static void *sql_rw_alloc(struct sql_rw *rw, size_t n)
{
    struct sql_arena_blk *b = rw->arena;

    n = (n + 7) & ~(size_t)7;   /* token copies live here too */
    if (!b && rw->scratch_size - rw->scratch_used >= n) {
        rw->scratch_used += n;
        return rw->scratch + rw->scratch_used - n;
    }
    if (!b || b->size - b->used < n) {
        size_t size = n > 3968 ? n : 3968;
        b = malloc(sizeof(*b) + size);
        if (!b)
            return NULL;
        b->size = size;
        b->used = 0;
        b->next = rw->arena;
        rw->arena = b;
    }
    b->used += n;
    return b->data + b->used - n;
}

char *sql_rw_strdup(struct sql_rw *rw, const char *s, size_t len)
{
    char *p = sql_rw_alloc(rw, len + 1);

    if (!p) {
        sql_rw_fail(rw, "53200", "out of memory");
        return NULL;
    }
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

static void sql_rw_release(struct sql_rw *rw)
{
    while (rw->arena) {
        struct sql_arena_blk *next = rw->arena->next;
        free(rw->arena);
        rw->arena = next;
    }
    if (rw->t != rw->tk_buf)
        free(rw->t);
    free(rw->error);
    if (rw->lex != rw->lex_buf)
        free(rw->lex);
    rw->t = NULL;
    rw->error = NULL;
    rw->lex = NULL;
}

int sql_rw_fail(struct sql_rw *rw, const char *sqlstate, const char *fmt, ...)
{
    va_list ap;
    char buf[512];

    if (rw->failed)
        return -1;
    rw->failed = true;
    snprintf(rw->sqlstate, sizeof(rw->sqlstate), "%s", sqlstate);
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    rw->error = strdup(buf);
    return -1;
}

/* ---- what a statement holds -------------------------------------------- */

bool sql_op_standard(const struct sql_tk *t)
{
    if (t->type != SQL_TOK_OP || t->len > 2)
        return false;
    if (t->len == 1)
        return t->s[0] == '+' || t->s[0] == '-' || t->s[0] == '*' || t->s[0] == '/' ||
               t->s[0] == '=' || t->s[0] == '<' || t->s[0] == '>';
    switch (t->s[0]) {
    case '<': return t->s[1] == '=' || t->s[1] == '>';
    case '>': case '!': return t->s[1] == '=';
    case '|': return t->s[1] == '|';
    default: return false;
    }
}

bool sql_vector_op(const struct sql_tk *t)
{
    return t->type == SQL_TOK_OP && t->len == 3 && t->s[0] == '<' && t->s[2] == '>' &&
           strchr("=-#+~%", t->s[1]);
}

static inline void sql_seen_set(struct sql_rw *rw, unsigned what)
{
    rw->seen[what / 64] |= UINT64_C(1) << (what % 64);
}

static void sql_rw_note_op(struct sql_rw *rw, const struct sql_tk *t)
{
    if (sql_op_standard(t))
        return;
    if (t->len == 2 && t->s[0] == ':' && t->s[1] == ':')
        sql_seen_set(rw, SQL_SEEN_TYPECAST);
    else
        sql_seen_set(rw, sql_vector_op(t) ? SQL_SEEN_VECTOR_OP : SQL_SEEN_OTHER_OP);
}

/* Record in rw->seen what token t brings to the statement (inline: it runs for every token). */
static inline void sql_rw_note(struct sql_rw *rw, const struct sql_tk *t)
{
    sql_seen_set(rw, SQL_SEEN_TYPE_ + t->type);
    if (t->type == SQL_TOK_IDENT)
        sql_seen_set(rw, t->kw);
    else if (t->type == SQL_TOK_OP)
        sql_rw_note_op(rw, t);
}

/* ---- token array ------------------------------------------------------- */

int sql_rw_splice(struct sql_rw *rw, size_t at, size_t del, const struct sql_tk *ins, size_t nins)
{
    if (rw->n - del + nins > rw->cap) {
        size_t cap = (rw->n - del + nins) * 2;
        struct sql_tk *t = rw->t == rw->tk_buf ? malloc(cap * sizeof(*t)) : realloc(rw->t, cap * sizeof(*t));
        if (!t)
            return sql_rw_fail(rw, "53200", "out of memory");
        if (rw->t == rw->tk_buf)
            memcpy(t, rw->t, rw->n * sizeof(*t));
        rw->t = t;
        rw->cap = cap;
    }
    if (del != nins)
        memmove(rw->t + at + nins, rw->t + at + del, (rw->n - at - del) * sizeof(*rw->t));
    for (size_t i = 0; i < nins; i++) {
        rw->t[at + i] = ins[i];
        sql_rw_note(rw, &ins[i]);
    }
    rw->n = rw->n - del + nins;
    return 0;
}

struct sql_arg sql_rw_range(struct sql_rw *rw, size_t from, size_t to)
{
    struct sql_arg a = { NULL, 0 };
    struct sql_tk *copy;

    if (to < from || to >= rw->n)
        return a;
    copy = sql_rw_alloc(rw, (to - from + 1) * sizeof(*copy));
    if (!copy) {
        sql_rw_fail(rw, "53200", "out of memory");
        return a;
    }
    memcpy(copy, rw->t + from, (to - from + 1) * sizeof(*copy));
    a.v = copy;
    a.n = to - from + 1;
    return a;
}

static struct sql_tk sql_tk_make(const char *text, const struct sql_token *tok, bool space)
{
    struct sql_tk t = { text + tok->off, tok->len, (uint8_t)tok->type, space, KW_NONE };

    if (tok->type == SQL_TOK_IDENT)
        t.kw = (uint16_t)sql_kw_find(t.s, t.len);
    return t;
}

/*
 * A template's text in the arena, NULL after a failure.  Most templates are
 * a fixed string, or one passed as "%s": those are copied without printf.
 */
static char *sql_template_text(struct sql_rw *rw, const char *fmt, va_list ap, size_t *len)
{
    char stackbuf[4096];        /* the longest: an emulated catalog relation (sqlite_catalog_rels) */
    const char *plain = NULL;
    int n;

    if (!strchr(fmt, '%'))
        plain = fmt;
    else if (strcmp(fmt, "%s") == 0)
        plain = va_arg(ap, const char *);
    n = plain ? (int)strnlen(plain, sizeof(stackbuf)) : vsnprintf(stackbuf, sizeof(stackbuf), fmt, ap);
    if (n < 0 || (size_t)n >= sizeof(stackbuf))
        return sql_rw_fail(rw, "54000", "rewritten expression too long"), NULL;
    *len = (size_t)n;
    return sql_rw_strdup(rw, plain ? plain : stackbuf, *len);
}

size_t sql_rw_template(struct sql_rw *rw, size_t from, size_t to, const struct sql_arg *args,
                       size_t nargs, const char *fmt, ...)
{
    struct sql_token toks[768];         /* an emulated catalog (sqlite_catalog_rels: pg_attribute) */
    struct sql_tk out[896];
    struct sql_lex_error err;
    size_t ntok = 0, nout = 0, len = 0;
    va_list ap;
    char *text;

    if (rw->failed)
        return 0;
    va_start(ap, fmt);
    text = sql_template_text(rw, fmt, ap, &len);
    va_end(ap);
    if (!text)
        return 0;
    if (sql_lex(text, len, toks, SQL_NELEM(toks), &ntok, &err) != 0 ||
        ntok > SQL_NELEM(toks))
        return sql_rw_fail(rw, "XX000", "bad rewrite template \"%s\"", text), 0;
    for (size_t i = 0; i < ntok; i++) {
        bool space = toks[i].off > 0 && isspace((unsigned char)text[toks[i].off - 1]);
        if (i == 0)
            space = rw->t[from].space;
        if (toks[i].type == SQL_TOK_PARAM && toks[i].len == 2) {
            size_t k = (size_t)(text[toks[i].off + 1] - '0');
            if (k >= nargs)
                return sql_rw_fail(rw, "XX000", "rewrite template \"%s\": no $%zu", text, k), 0;
            if (nout + args[k].n > SQL_NELEM(out))
                return sql_rw_fail(rw, "54000", "rewritten expression too long"), 0;
            for (size_t j = 0; j < args[k].n; j++) {
                out[nout] = args[k].v[j];
                if (j == 0)
                    out[nout].space = space;
                nout++;
            }
            continue;
        }
        if (nout == SQL_NELEM(out))
            return sql_rw_fail(rw, "54000", "rewritten expression too long"), 0;
        out[nout++] = sql_tk_make(text, &toks[i], space);
    }
    if (sql_rw_splice(rw, from, to - from + 1, out, nout) != 0)
        return 0;
    return from + nout;
}

/* ---- token predicates and navigation ----------------------------------- */

size_t sql_next(const struct sql_rw *rw, size_t i)
{
    for (i++; i < rw->n && rw->t[i].type == SQL_TOK_COMMENT; i++)
        ;
    return i;
}

size_t sql_prev(const struct sql_rw *rw, size_t i)
{
    while (i-- > 0)
        if (rw->t[i].type != SQL_TOK_COMMENT)
            return i;
    return SIZE_MAX;
}

static bool sql_is_open(const struct sql_tk *t)
{
    return t->type == SQL_TOK_PUNCT && (t->s[0] == '(' || t->s[0] == '[');
}

static bool sql_is_close(const struct sql_tk *t)
{
    return t->type == SQL_TOK_PUNCT && (t->s[0] == ')' || t->s[0] == ']');
}

size_t sql_match(const struct sql_rw *rw, size_t i)
{
    int depth = 0;

    for (; i < rw->n; i++) {
        if (sql_is_open(&rw->t[i]))
            depth++;
        else if (sql_is_close(&rw->t[i]) && --depth == 0)
            return i;
    }
    return rw->n;
}

size_t sql_match_back(const struct sql_rw *rw, size_t i)
{
    int depth = 0;

    for (size_t j = i + 1; j-- > 0;) {
        if (sql_is_close(&rw->t[j]))
            depth++;
        else if (sql_is_open(&rw->t[j]) && --depth == 0)
            return j;
    }
    return SIZE_MAX;
}

size_t sql_case_end(const struct sql_rw *rw, size_t i)
{
    int depth = 0;

    for (; i < rw->n; i++) {
        if (sql_tk_kw(rw, i, KW_CASE))
            depth++;
        else if (sql_tk_kw(rw, i, KW_END) && --depth == 0)
            return i;
    }
    return rw->n;
}

size_t sql_case_start(const struct sql_rw *rw, size_t i)
{
    int depth = 0;

    for (size_t j = i + 1; j-- > 0;) {
        if (sql_tk_kw(rw, j, KW_END))
            depth++;
        else if (sql_tk_kw(rw, j, KW_CASE) && --depth == 0)
            return j;
    }
    return SIZE_MAX;
}

/* ---- expressions ------------------------------------------------------- */

/* Keywords that end an operand: clause starts and list punctuation. */
static bool sql_kw_stops(int kw)
{
    switch (kw) {
    case KW_SELECT: case KW_FROM: case KW_WHERE: case KW_GROUP: case KW_HAVING: case KW_ORDER:
    case KW_BY: case KW_LIMIT: case KW_OFFSET: case KW_FETCH: case KW_UNION: case KW_INTERSECT:
    case KW_EXCEPT: case KW_ON: case KW_USING: case KW_JOIN: case KW_INNER: case KW_LEFT:
    case KW_RIGHT: case KW_FULL: case KW_CROSS: case KW_NATURAL: case KW_WHEN: case KW_THEN:
    case KW_ELSE: case KW_AS: case KW_ASC: case KW_DESC: case KW_NULLS: case KW_RETURNING:
    case KW_SET: case KW_VALUES: case KW_INTO: case KW_WINDOW: case KW_FOR: case KW_DO:
    case KW_WITH: case KW_LATERAL: case KW_DISTINCT: case KW_OVER: case KW_FILTER:
    case KW_PARTITION: case KW_ROWS: case KW_RANGE: case KW_INSERT: case KW_UPDATE:
    case KW_DELETE: case KW_CREATE: case KW_ALTER: case KW_TABLE: case KW_TOP: case KW_DEFAULT:
    case KW_CHECK: case KW_CONSTRAINT: case KW_PRIMARY: case KW_REFERENCES: case KW_UNIQUE:
    case KW_CONFLICT: case KW_NOTHING: case KW_CASE: case KW_END: case KW_ALL: case KW_ANY:
    case KW_SOME:
        return true;
    default:
        return false;
    }
}

enum sql_level sql_level_of(const struct sql_rw *rw, size_t i)
{
    const struct sql_tk *t = &rw->t[i];

    if (t->type == SQL_TOK_OP) {
        if (t->len == 1) {
            switch (t->s[0]) {
            case '^': return LV_EXP;
            case '*': case '/': case '%': return LV_MUL;
            case '+': case '-': return LV_ADD;
            case '<': case '>': case '=': return LV_CMP;
            default: return LV_OTHER;
            }
        }
        if (t->len == 2 && t->s[0] == ':' && t->s[1] == ':')
            return LV_EXP;
        if (t->len == 2 && (t->s[0] == '<' || t->s[0] == '>' || t->s[0] == '!') &&
            (t->s[1] == '=' || (t->s[0] == '<' && t->s[1] == '>')))
            return LV_CMP;
        return LV_OTHER;
    }
    if (t->type == SQL_TOK_PUNCT)
        return t->s[0] == '.' ? LV_EXP : LV_STOP;
    if (t->type != SQL_TOK_IDENT)
        return LV_OPERAND;
    switch (t->kw) {
    case KW_OR: return LV_OR;
    case KW_AND: return LV_AND;
    case KW_NOT: return LV_NOT;
    case KW_IS: case KW_ISNULL: case KW_NOTNULL: return LV_IS;
    case KW_LIKE: case KW_ILIKE: case KW_IN: case KW_BETWEEN: case KW_SIMILAR: case KW_ESCAPE:
        return LV_LIKE;
    case KW_COLLATE: case KW_AT: return LV_EXP;
    default:
        break;
    }
    if (!sql_kw_stops(t->kw))
        return LV_OPERAND;
    /* left(s, n), right(s, n), ANY(array), ALL(subquery) are calls, not clauses */
    if ((t->kw == KW_LEFT || t->kw == KW_RIGHT || t->kw == KW_ANY || t->kw == KW_ALL ||
         t->kw == KW_SOME) && sql_tk_punct(rw, i + 1, '('))
        return LV_OPERAND;
    return LV_STOP;
}

bool sql_literal_type_word(const struct sql_rw *rw, size_t i)
{
    static const char *const words[] = {
        "bool", "boolean", "int", "integer", "int2", "int4", "int8", "smallint", "bigint", "numeric",
        "decimal", "real", "float", "float4", "float8", "text", "varchar", "char", "uuid", "json", "jsonb",
    };

    if (sql_tk_kw(rw, i, KW_INTERVAL) || sql_tk_kw(rw, i, KW_DATE) || sql_tk_kw(rw, i, KW_TIMESTAMP) ||
        sql_tk_kw(rw, i, KW_TIME) || sql_tk_kw(rw, i, KW_TIMESTAMPTZ) || sql_tk_kw(rw, i, KW_BYTEA))
        return true;
    if (i >= rw->n || rw->t[i].type != SQL_TOK_IDENT)
        return false;
    if (sql_tk_word(rw, i, "precision"))
        return i > 0 && sql_tk_word(rw, i - 1, "double");
    for (size_t k = 0; k < SQL_NELEM(words); k++)
        if (sql_tk_word(rw, i, words[k]))
            return true;
    return false;
}

size_t sql_operand_left(const struct sql_rw *rw, size_t op, enum sql_level lv)
{
    size_t j = op;
    bool need = true;           /* the next token to the left must end an operand */

    while (j > 0) {
        size_t k = j - 1;
        const struct sql_tk *t = &rw->t[k];
        enum sql_level l;

        if (t->type == SQL_TOK_COMMENT) {
            j = k;
            continue;
        }
        if (sql_is_close(t)) {
            size_t open;
            if (!need && t->s[0] == ')')
                break;
            open = sql_match_back(rw, k);
            if (open == SIZE_MAX)
                break;
            j = open;
            need = t->s[0] == ']';      /* a subscript needs its base */
            if (t->s[0] == ')' && j > 0 &&
                (rw->t[j - 1].type == SQL_TOK_IDENT || rw->t[j - 1].type == SQL_TOK_QIDENT) &&
                sql_level_of(rw, j - 1) == LV_OPERAND)
                j--;                    /* function name */
            continue;
        }
        if (t->type == SQL_TOK_PUNCT && t->s[0] != '.')
            break;
        if (sql_tk_kw(rw, k, KW_END)) {
            size_t c;
            if (!need || (c = sql_case_start(rw, k)) == SIZE_MAX)
                break;
            j = c;
            need = false;
            continue;
        }
        l = sql_level_of(rw, k);
        if (l == LV_OPERAND) {
            if (!need) {
                if (rw->t[j].type == SQL_TOK_STRING && sql_literal_type_word(rw, k)) {
                    j = k;
                    continue;
                }
                break;
            }
            j = k;
            need = false;
            continue;
        }
        if (l == LV_STOP || l < lv)
            break;
        j = k;
        need = true;
    }
    return j;
}

size_t sql_operand_right(const struct sql_rw *rw, size_t op, enum sql_level lv)
{
    size_t j = op + 1, last = op;
    bool expect = true;         /* an operand must come next */
    bool after_name = false;    /* the previous token could be a function name */

    while (j < rw->n) {
        const struct sql_tk *t = &rw->t[j];
        enum sql_level l;

        if (t->type == SQL_TOK_COMMENT) {
            j++;
            continue;
        }
        if (sql_is_open(t)) {
            size_t close;
            if (!expect && t->s[0] == '(' && !after_name)
                break;
            close = sql_match(rw, j);
            if (close >= rw->n)
                break;
            last = close;
            j = close + 1;
            expect = false;
            after_name = false;
            continue;
        }
        if (t->type == SQL_TOK_PUNCT && t->s[0] != '.')
            break;
        if (sql_tk_kw(rw, j, KW_CASE)) {
            size_t e;
            if (!expect || (e = sql_case_end(rw, j)) >= rw->n)
                break;
            last = e;
            j = e + 1;
            expect = false;
            continue;
        }
        l = sql_level_of(rw, j);
        if (l == LV_OPERAND) {
            if (!expect) {
                if (t->type == SQL_TOK_STRING && sql_literal_type_word(rw, last) && last == j - 1) {
                    last = j++;
                    continue;
                }
                break;
            }
            after_name = t->type == SQL_TOK_IDENT || t->type == SQL_TOK_QIDENT;
            last = j++;
            expect = false;
            continue;
        }
        if (l == LV_STOP)
            break;
        if (expect) {
            if (sql_tk_op(rw, j, "-") || sql_tk_op(rw, j, "+")) {
                j++;            /* unary sign */
                continue;
            }
            break;
        }
        if (l <= lv)
            break;
        after_name = false;
        expect = true;
        j++;
    }
    return last;
}

size_t sql_primary_start(const struct sql_rw *rw, size_t end)
{
    size_t s = end;

    for (;;) {
        const struct sql_tk *t = &rw->t[s];
        if (t->type == SQL_TOK_PUNCT && t->s[0] == ']') {
            size_t o = sql_match_back(rw, s);
            if (o == SIZE_MAX || o == 0)
                return end;
            s = o - 1;
            continue;
        }
        if (t->type == SQL_TOK_PUNCT && t->s[0] == ')') {
            size_t o = sql_match_back(rw, s);
            if (o == SIZE_MAX)
                return end;
            s = o;
            if (s > 0 && (rw->t[s - 1].type == SQL_TOK_IDENT || rw->t[s - 1].type == SQL_TOK_QIDENT) &&
                sql_level_of(rw, s - 1) == LV_OPERAND)
                s--;            /* function name */
        } else if (sql_tk_kw(rw, s, KW_END)) {
            size_t c = sql_case_start(rw, s);
            if (c == SIZE_MAX)
                return end;
            s = c;
        } else if (t->type == SQL_TOK_STRING && s > 0 && sql_literal_type_word(rw, s - 1)) {
            s--;
        }
        while (s >= 2 && sql_tk_punct(rw, s - 1, '.') &&
               (rw->t[s - 2].type == SQL_TOK_IDENT || rw->t[s - 2].type == SQL_TOK_QIDENT))
            s -= 2;
        return s;
    }
}

size_t sql_args(const struct sql_rw *rw, size_t open, size_t first[], size_t last[], size_t max)
{
    size_t close = sql_match(rw, open), n = 0, start = open + 1;
    int depth = 0;

    if (close >= rw->n || close == open + 1)
        return 0;
    for (size_t i = open + 1; i <= close; i++) {
        if (i < close && sql_is_open(&rw->t[i]))
            depth++;
        else if (i < close && sql_is_close(&rw->t[i]))
            depth--;
        else if (i == close || (depth == 0 && sql_tk_punct(rw, i, ','))) {
            if (n < max) {
                first[n] = start;
                last[n] = i - 1;
            }
            n++;
            start = i + 1;
        }
    }
    return n;
}

static void sql_lower(char *dst, size_t size, const char *s, size_t len)
{
    sql_ident_fold(s, len, 0, dst, size);
}

bool sql_parse_type(const struct sql_rw *rw, size_t i, struct sql_pgtype *ty)
{
    static const struct { const char *from, *to; } alias[] = {
        { "int", "integer" },     { "int4", "integer" },       { "int8", "bigint" },
        { "int2", "smallint" },   { "float8", "double" },      { "float", "double" },
        { "double precision", "double" }, { "float4", "real" }, { "bool", "boolean" },
        { "decimal", "numeric" }, { "character varying", "varchar" },
        { "char varying", "varchar" }, { "character", "char" }, { "bpchar", "char" },
        { "serial4", "serial" },  { "serial8", "bigserial" },  { "serial2", "smallserial" },
        { "bit varying", "varbit" }, { "timestamp without time zone", "timestamp" },
        { "timestamp with time zone", "timestamptz" }, { "time without time zone", "time" },
        { "time with time zone", "timetz" },
    };
    char word[24];
    size_t j = i;

    memset(ty, 0, sizeof(*ty));
    if (j >= rw->n || rw->t[j].type != SQL_TOK_IDENT)
        return false;
    if (sql_tk_punct(rw, j + 1, '.') && j + 2 < rw->n && rw->t[j + 2].type == SQL_TOK_IDENT)
        j += 2;                 /* pg_catalog.int4 */
    ty->first = i;
    sql_lower(ty->name, sizeof(ty->name), rw->t[j].s, rw->t[j].len);
    if ((sql_tk_word(rw, j, "double") && sql_tk_word(rw, j + 1, "precision")) ||
        ((sql_tk_word(rw, j, "character") || sql_tk_word(rw, j, "char") ||
          sql_tk_word(rw, j, "bit")) && sql_tk_word(rw, j + 1, "varying"))) {
        sql_lower(word, sizeof(word), rw->t[j + 1].s, rw->t[j + 1].len);
        strncat(ty->name, " ", sizeof(ty->name) - strlen(ty->name) - 1);
        strncat(ty->name, word, sizeof(ty->name) - strlen(ty->name) - 1);
        j++;
    }
    ty->last = j;
    if (sql_tk_punct(rw, j + 1, '(')) {
        size_t close = sql_match(rw, j + 1);
        if (close >= rw->n)
            return false;
        ty->mod_open = j + 1;
        ty->mod_close = close;
        ty->last = j = close;
    }
    if ((strcmp(ty->name, "timestamp") == 0 || strcmp(ty->name, "time") == 0) &&
        (sql_tk_kw(rw, j + 1, KW_WITH) || sql_tk_word(rw, j + 1, "without")) &&
        sql_tk_word(rw, j + 2, "time") && sql_tk_word(rw, j + 3, "zone")) {
        strncat(ty->name, sql_tk_kw(rw, j + 1, KW_WITH) ? " with time zone" : " without time zone",
                sizeof(ty->name) - strlen(ty->name) - 1);
        ty->last = j = j + 3;
    }
    while (sql_tk_punct(rw, j + 1, '[')) {
        size_t close = sql_match(rw, j + 1);
        if (close >= rw->n)
            return false;
        ty->array = true;
        ty->last = j = close;
    }
    if (sql_tk_kw(rw, j + 1, KW_ARRAY)) {
        ty->array = true;
        ty->last = ++j;
    }
    for (size_t k = 0; k < SQL_NELEM(alias); k++)
        if (strcmp(ty->name, alias[k].from) == 0) {
            snprintf(ty->name, sizeof(ty->name), "%s", alias[k].to);
            break;
        }
    return true;
}

/* ---- the record -------------------------------------------------------- */

/* Names gathered in the rewriter's arena; the record gets one malloc'd copy of a list. */
struct sql_names {
    char **v;
    int n, cap;
};

static int sql_names_add(struct sql_rw *rw, struct sql_names *ns, const char *name)
{
    for (int i = 0; i < ns->n; i++)
        if (strcmp(ns->v[i], name) == 0)
            return 0;
    if (ns->n == ns->cap) {
        int cap = ns->cap ? ns->cap * 2 : 8;
        char **v = sql_rw_alloc(rw, (size_t)cap * sizeof(*v));
        if (!v)
            return -1;
        if (ns->n)
            memcpy(v, ns->v, (size_t)ns->n * sizeof(*v));
        ns->v = v;
        ns->cap = cap;
    }
    if (!(ns->v[ns->n] = sql_rw_strdup(rw, name, strlen(name))))
        return -1;
    ns->n++;
    return 0;
}

/* The list as one block (the pointers, then the strings) that free() releases; NULL if empty. */
static char **sql_names_export(const struct sql_names *ns, int *oom)
{
    size_t size = (size_t)ns->n * sizeof(char *);
    char **v, *p;

    if (ns->n == 0)
        return NULL;
    for (int i = 0; i < ns->n; i++)
        size += strlen(ns->v[i]) + 1;
    if (!(v = malloc(size))) {
        *oom = 1;
        return NULL;
    }
    p = (char *)(v + ns->n);
    for (int i = 0; i < ns->n; i++) {
        size_t len = strlen(ns->v[i]) + 1;
        v[i] = memcpy(p, ns->v[i], len);
        p += len;
    }
    return v;
}

/* One name part as PostgreSQL resolves it: folded unless quoted. */
static size_t sql_name_part(const struct sql_tk *t, char *dst, size_t size)
{
    return sql_ident_fold(t->s, t->len, t->type == SQL_TOK_QIDENT && t->len >= 2 && t->s[0] == '"', dst, size);
}

struct sql_scan {
    struct sql_rw *rw;
    struct sql_names read, written, ctes;
    bool volatile_fn, catalog, for_update, nextval, vector;
    int oom;
};

static bool sql_is_name(const struct sql_rw *rw, size_t i)
{
    return i < rw->n && (rw->t[i].type == SQL_TOK_QIDENT ||
                         (rw->t[i].type == SQL_TOK_IDENT && !sql_kw_stops(rw->t[i].kw) &&
                          rw->t[i].kw != KW_ONLY && rw->t[i].kw != KW_IF));
}

/*
 * A (qualified) table name at i; returns the index past it, or i if none.
 * In a FROM list a name followed by '(' is a set-returning function.
 */
static size_t sql_scan_table(struct sql_scan *sc, size_t i, struct sql_names *into, bool from_list)
{
    const struct sql_rw *rw = sc->rw;
    char name[256];
    size_t n = 0, j = i;

    if (!sql_is_name(rw, j))
        return i;
    for (;;) {
        n += sql_name_part(&rw->t[j], name + n, sizeof(name) - n);
        if (!(sql_tk_punct(rw, j + 1, '.') && sql_is_name(rw, j + 2)))
            break;
        if (n + 1 < sizeof(name))
            name[n++] = '.';
        j += 2;
    }
    name[n] = '\0';
    if (from_list && sql_tk_punct(rw, j + 1, '('))
        return sql_match(rw, j + 1) + 1;
    if (strncmp(name, "pg_", 3) == 0 || strncmp(name, "information_schema.", 19) == 0)
        sc->catalog = true;
    if (!strchr(name, '.')) {
        for (int k = 0; k < sc->ctes.n; k++)
            if (strcmp(sc->ctes.v[k], name) == 0)
                return j + 1;
    }
    if (sql_names_add(sc->rw, into, name) != 0)
        sc->oom = 1;
    return j + 1;
}

/* FROM/JOIN/USING items at i: tables, subqueries, functions, with aliases. */
static void sql_scan_from(struct sql_scan *sc, size_t i, struct sql_names *into, bool list)
{
    const struct sql_rw *rw = sc->rw;

    for (;;) {
        while (sql_tk_kw(rw, i, KW_ONLY) || sql_tk_kw(rw, i, KW_LATERAL))
            i++;
        if (sql_tk_punct(rw, i, '('))
            i = sql_match(rw, i) + 1;
        else
            i = sql_scan_table(sc, i, into, true);
        if (sql_tk_op(rw, i, "*"))
            i++;
        if (sql_tk_kw(rw, i, KW_AS))
            i++;
        if (sql_is_name(rw, i))
            i++;
        if (sql_tk_punct(rw, i, '('))
            i = sql_match(rw, i) + 1;
        if (!list || !sql_tk_punct(rw, i, ','))
            return;
        i++;
    }
}

static void sql_scan_ctes(struct sql_scan *sc)
{
    const struct sql_rw *rw = sc->rw;

    for (size_t i = 0; i < rw->n; i++) {
        size_t j;
        if (!sql_tk_kw(rw, i, KW_WITH) || sql_tk_word(rw, i + 1, "time") ||
            sql_tk_word(rw, i + 1, "ordinality") || sql_tk_punct(rw, i + 1, '('))
            continue;
        j = i + 1;
        if (sql_tk_kw(rw, j, KW_RECURSIVE))
            j++;
        while (sql_is_name(rw, j)) {
            char name[128];
            sql_name_part(&rw->t[j], name, sizeof(name));
            if (sql_names_add(sc->rw, &sc->ctes, name) != 0)
                sc->oom = 1;
            j++;
            if (sql_tk_punct(rw, j, '('))
                j = sql_match(rw, j) + 1;
            if (!sql_tk_kw(rw, j, KW_AS))
                break;
            j++;
            if (sql_tk_kw(rw, j, KW_NOT))
                j++;
            if (sql_tk_word(rw, j, "materialized"))
                j++;
            if (!sql_tk_punct(rw, j, '('))
                break;
            j = sql_match(rw, j) + 1;
            if (!sql_tk_punct(rw, j, ','))
                break;
            j++;
        }
    }
}

/* Functions whose value changes between calls or sessions: a query calling one is not cacheable. */
static const uint16_t sql_volatile_fns[] = {
    KW_RANDOM, KW_NOW, KW_CLOCK_TIMESTAMP, KW_STATEMENT_TIMESTAMP, KW_TRANSACTION_TIMESTAMP,
    KW_TIMEOFDAY, KW_CURRENT_TIMESTAMP, KW_CURRENT_DATE, KW_CURRENT_TIME, KW_LOCALTIME,
    KW_LOCALTIMESTAMP, KW_GEN_RANDOM_UUID, KW_UUID_GENERATE_V1, KW_UUID_GENERATE_V4, KW_NEXTVAL,
    KW_CURRVAL, KW_LASTVAL, KW_SETVAL, KW_SETSEED, KW_TXID_CURRENT, KW_PG_SLEEP, KW_CURRENT_USER,
    KW_SESSION_USER, KW_USER, KW_CURRENT_ROLE, KW_INET_CLIENT_ADDR, KW_CURRENT_DATABASE,
    KW_CURRENT_CATALOG,
};

/* Whether the parenthesis level depth is a function call's (fn_parens: one bit per level). */
static bool sql_in_fn(uint64_t fn_parens, int depth)
{
    return depth > 0 && depth <= 64 && (fn_parens >> (depth - 1) & 1);
}

/*
 * The record runs before the rules, so what the statement holds (rw->seen)
 * is what the client wrote: volatile functions and vector operators need no
 * walk of their own.
 */
static void sql_scan_statement(struct sql_scan *sc)
{
    const struct sql_rw *rw = sc->rw;
    /* parentheses that belong to a function call: FROM inside them is not a table list */
    uint64_t fn_parens = 0;
    int depth = 0;

    sc->volatile_fn = sql_seen_any(rw, sql_volatile_fns, SQL_NELEM(sql_volatile_fns));
    sc->vector = sql_seen(rw, SQL_SEEN_VECTOR_OP);
    if (sql_seen(rw, KW_WITH))
        sql_scan_ctes(sc);
    /* p: the token before t[i] that is not a comment (SIZE_MAX: none) */
    for (size_t i = 0, p = SIZE_MAX; i < rw->n; p = rw->t[i].type == SQL_TOK_COMMENT ? p : i, i++) {
        const struct sql_tk *t = &rw->t[i];

        if (sql_tk_punct(rw, i, '(')) {
            bool fn = p != SIZE_MAX && rw->t[p].type == SQL_TOK_IDENT &&
                      sql_level_of(rw, p) == LV_OPERAND;
            if (depth < 64)
                fn_parens = fn ? fn_parens | (UINT64_C(1) << depth) : fn_parens & ~(UINT64_C(1) << depth);
            depth++;
            continue;
        }
        if (sql_tk_punct(rw, i, ')')) {
            if (depth > 0)
                depth--;
            continue;
        }
        if (t->type != SQL_TOK_IDENT)
            continue;
        switch (t->kw) {
        case KW_VECTOR:
            if (p != SIZE_MAX && (sql_tk_op(rw, p, "::") || sql_tk_kw(rw, p, KW_AS) ||
                                  rw->t[p].type == SQL_TOK_IDENT || rw->t[p].type == SQL_TOK_QIDENT))
                sc->vector = true;
            break;
        case KW_NEXTVAL: case KW_SETVAL:
            if (sql_tk_punct(rw, i + 1, '('))
                sc->nextval = true;
            break;
        case KW_FROM:
            if (sql_in_fn(fn_parens, depth) || (p != SIZE_MAX && sql_tk_kw(rw, p, KW_DISTINCT)))
                break;
            if (p != SIZE_MAX && sql_tk_kw(rw, p, KW_DELETE))
                sql_scan_table(sc, sql_tk_kw(rw, i + 1, KW_ONLY) ? i + 2 : i + 1, &sc->written, false);
            else
                sql_scan_from(sc, i + 1, &sc->read, true);
            break;
        case KW_JOIN:
            sql_scan_from(sc, i + 1, &sc->read, false);
            break;
        case KW_USING:
            if (!sql_tk_punct(rw, i + 1, '('))
                sql_scan_from(sc, i + 1, &sc->read, true);
            break;
        case KW_INTO:
            if (p != SIZE_MAX && (sql_tk_kw(rw, p, KW_INSERT) || sql_tk_kw(rw, p, KW_MERGE)))
                sql_scan_table(sc, i + 1, &sc->written, false);
            else if (!sql_in_fn(fn_parens, depth)) {
                size_t j = i + 1;
                while (sql_tk_kw(rw, j, KW_TEMP) || sql_tk_kw(rw, j, KW_TEMPORARY) ||
                       sql_tk_kw(rw, j, KW_UNLOGGED) || sql_tk_kw(rw, j, KW_TABLE))
                    j++;
                sql_scan_table(sc, j, &sc->written, false);     /* SELECT ... INTO new_table */
            }
            break;
        case KW_UPDATE:
            if (p != SIZE_MAX && (sql_tk_kw(rw, p, KW_FOR) || sql_tk_kw(rw, p, KW_KEY) ||
                                  sql_tk_kw(rw, p, KW_NO))) {
                sc->for_update = true;
                break;
            }
            if (p == SIZE_MAX || sql_tk_punct(rw, p, '(') || sql_tk_punct(rw, p, ')'))
                sql_scan_table(sc, sql_tk_kw(rw, i + 1, KW_ONLY) ? i + 2 : i + 1, &sc->written, false);
            break;
        case KW_SHARE:
            if (p != SIZE_MAX && (sql_tk_kw(rw, p, KW_FOR) || sql_tk_kw(rw, p, KW_KEY)))
                sc->for_update = true;
            break;
        default:
            break;
        }
    }
}

/* Tables named by DDL: CREATE/ALTER/DROP/TRUNCATE TABLE, CREATE INDEX ... ON. */
static void sql_scan_ddl(struct sql_scan *sc, const char *verb)
{
    const struct sql_rw *rw = sc->rw;
    size_t i = 0;
    bool list = strncmp(verb, "DROP", 4) == 0 || strcmp(verb, "TRUNCATE TABLE") == 0;

    if (strcmp(verb, "CREATE INDEX") == 0) {
        while (i < rw->n && !sql_tk_kw(rw, i, KW_ON))
            i++;
        i++;
    } else if (strstr(verb, "TABLE") || strstr(verb, "VIEW")) {
        while (i < rw->n && !sql_tk_kw(rw, i, KW_TABLE) && !sql_tk_kw(rw, i, KW_VIEW) &&
               !(strcmp(verb, "TRUNCATE TABLE") == 0 && i == 1))
            i++;
        if (sql_tk_kw(rw, i, KW_TABLE) || sql_tk_kw(rw, i, KW_VIEW))
            i++;
    } else {
        return;
    }
    for (;;) {
        while (sql_tk_kw(rw, i, KW_IF) || sql_tk_kw(rw, i, KW_NOT) || sql_tk_kw(rw, i, KW_EXISTS) ||
               sql_tk_kw(rw, i, KW_ONLY))
            i++;
        i = sql_scan_table(sc, i, &sc->written, false);
        if (sql_tk_op(rw, i, "*"))
            i++;
        if (!list || !sql_tk_punct(rw, i, ','))
            break;
        i++;
    }
}

static enum sql_kind sql_kind_of(enum sql_command cmd, const char *verb)
{
    switch (cmd) {
    case SQL_CMD_SELECT: return SQL_KIND_QUERY;
    case SQL_CMD_INSERT: case SQL_CMD_UPDATE: case SQL_CMD_DELETE: return SQL_KIND_DML;
    case SQL_CMD_DDL: return SQL_KIND_DDL;
    case SQL_CMD_BEGIN: case SQL_CMD_COMMIT: case SQL_CMD_ROLLBACK: case SQL_CMD_SAVEPOINT:
        return SQL_KIND_TXN;
    case SQL_CMD_COPY: return SQL_KIND_DML;
    case SQL_CMD_SET: case SQL_CMD_SHOW: case SQL_CMD_RESET: case SQL_CMD_DISCARD:
        return SQL_KIND_SESSION;
    case SQL_CMD_OTHER:
        break;
    }
    if (strcmp(verb, "MERGE") == 0)
        return SQL_KIND_DML;
    if (strcmp(verb, "SAVEPOINT") == 0 || strcmp(verb, "RELEASE") == 0 ||
        strcmp(verb, "ROLLBACK") == 0 || strcmp(verb, "SET") == 0 ||
        strcmp(verb, "PREPARE TRANSACTION") == 0 || strcmp(verb, "COMMIT PREPARED") == 0 ||
        strcmp(verb, "ROLLBACK PREPARED") == 0)
        return SQL_KIND_TXN;
    return SQL_KIND_OTHER;
}

static int sql_record(struct sql_rw *rw, const char *in, size_t len, struct sql_translation *out)
{
    struct sql_scan sc;

    memset(&sc, 0, sizeof(sc));
    sc.rw = rw;
    out->cmd = sql_command_tokens(in, len, rw->lex, rw->nlex, out->verb, sizeof(out->verb));
    out->kind = sql_kind_of(out->cmd, out->verb);
    const char *refused = sql_refusal(out->verb);
    if (refused != NULL)
        return sql_rw_fail(rw, "0A000", refused);
    sql_scan_statement(&sc);
    if (out->kind == SQL_KIND_DDL)
        sql_scan_ddl(&sc, out->verb);
    if ((out->tables_read = sql_names_export(&sc.read, &sc.oom)))
        out->ntables_read = sc.read.n;
    if ((out->tables_written = sql_names_export(&sc.written, &sc.oom)))
        out->ntables_written = sc.written.n;
    if (sc.oom)
        return sql_rw_fail(rw, "53200", "out of memory");
    /* A lock taken or a setting changed is no read, and no result to keep. */
    out->flags |= sql_backend_flags(in, len, rw->lex, rw->nlex);
    if (!(out->flags & SQL_FLAG_BACKEND_STATE) && out->kind == SQL_KIND_QUERY && !sc.for_update && !sc.nextval &&
        sc.written.n == 0) {
        out->flags |= SQL_FLAG_READ_ONLY;
        if (!sc.volatile_fn && !sc.catalog)
            out->flags |= SQL_FLAG_CACHEABLE;
    }
    if (sc.vector)
        out->flags |= SQL_FLAG_VECTOR;
    return 0;
}

int sql_backend_flags(const char *stmt, size_t len, const struct sql_token *toks, size_t ntoks)
{
    int state = sql_backend_state_tokens(stmt, len, toks, ntoks);
    return ((state & SQL_STATE_KEEPS) ? SQL_FLAG_BACKEND_STATE : 0) |
           ((state & SQL_STATE_READS_SEQUENCE) ? SQL_FLAG_READS_SEQUENCE : 0);
}

const char *sql_refusal(const char *verb)
{
    if (strcmp(verb, "LISTEN") == 0)
        return "LISTEN is not supported: notifications cannot be delivered through the ODBC connections pgiris uses";
    return NULL;
}

/* ---- output ------------------------------------------------------------ */

static bool sql_wordlike(uint8_t type)
{
    return type != SQL_TOK_OP && type != SQL_TOK_PUNCT;
}

/* Two tokens printed without a space must not lex as one (or as a comment). */
static bool sql_needs_space(const struct sql_tk *a, const struct sql_tk *b)
{
    if (a->type == SQL_TOK_COMMENT || b->type == SQL_TOK_COMMENT)
        return true;
    if (sql_wordlike(a->type) && sql_wordlike(b->type))
        return true;
    if (a->type == SQL_TOK_OP && b->type == SQL_TOK_OP)
        return true;
    /* "1" "." would read as the number "1." */
    return a->type == SQL_TOK_NUMBER && b->type == SQL_TOK_PUNCT && b->s[0] == '.';
}

static int sql_print(struct sql_rw *rw, struct sql_translation *out)
{
    size_t size = 1;
    char *p;

    for (size_t i = 0; i < rw->n; i++)
        size += rw->t[i].len + 1;
    out->sql = p = malloc(size);
    if (!p)
        return sql_rw_fail(rw, "53200", "out of memory");
    for (size_t i = 0; i < rw->n; i++) {
        const struct sql_tk *t = &rw->t[i];
        if (i > 0) {
            const struct sql_tk *prev = &rw->t[i - 1];
            /* a line comment ends at the line's end; a continuation needs one before it */
            if ((prev->type == SQL_TOK_COMMENT && prev->s[0] == '-') || t->space == SQL_SPACE_CONT)
                *p++ = '\n';
            else if (t->space || sql_needs_space(prev, t))
                *p++ = ' ';
        }
        memcpy(p, t->s, t->len);
        p += t->len;
    }
    *p = '\0';
    out->len = (size_t)(p - out->sql);
    return 0;
}

/* ---- driver ------------------------------------------------------------ */

/*
 * Whether toks[i] continues a quoted literal, as sql_lex decided: it opens
 * with a bare quote, and only white space holding a newline and -- comments
 * lie between it and a quoted literal.
 */
static bool sql_lex_continues(const char *in, const struct sql_token *toks, size_t i)
{
    bool newline = false;

    if (in[toks[i].off] != '\'')
        return false;
    while (i-- > 0) {
        const char *gap = in + toks[i].off + toks[i].len;
        size_t n = toks[i + 1].off - (toks[i].off + toks[i].len);
        newline = newline || memchr(gap, '\n', n) || memchr(gap, '\r', n);
        if (toks[i].type != SQL_TOK_COMMENT || in[toks[i].off] != '-')
            return newline && (toks[i].type == SQL_TOK_STRING || toks[i].type == SQL_TOK_ESTRING ||
                               toks[i].type == SQL_TOK_BSTRING);
    }
    return false;
}

/*
 * Lex the statement into rw's tokens.  The lexer's own tokens stay in
 * rw->lex (the caller's lex_buf, or malloc'd for a long one) for the record's
 * classification, so nothing is lexed twice.
 */
static int sql_load(struct sql_rw *rw, const char *in, size_t len)
{
    struct sql_lex_error err = { 0, NULL };
    struct sql_token *toks = rw->lex_buf;
    size_t n = 0;
    int rc = sql_lex(in, len, toks, rw->lex_cap, &n, &err);

    /* once here, so that sql_tk_make need not ask for every word */
    pthread_once(&sql_kw_once, sql_kw_build);
    if (rc == 0 && n > rw->lex_cap) {
        toks = malloc(n * sizeof(*toks));
        if (!toks)
            return sql_rw_fail(rw, "53200", "out of memory");
        rc = sql_lex(in, len, toks, n, &n, &err);
    }
    rw->lex = toks;
    rw->nlex = n;
    if (rc != 0)
        return sql_rw_fail(rw, "42601", "%s at offset %u", err.message, err.off);
    rw->cap = n + n / 2 + 16;
    if (rw->cap <= rw->tk_cap) {
        rw->t = rw->tk_buf;
        rw->cap = rw->tk_cap;
    } else if (!(rw->t = malloc(rw->cap * sizeof(*rw->t)))) {
        return sql_rw_fail(rw, "53200", "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t end = i > 0 ? toks[i - 1].off + toks[i - 1].len : 0;
        rw->t[i] = sql_tk_make(in, &toks[i], i > 0 && toks[i].off > end);
        if (sql_lex_continues(in, toks, i))
            rw->t[i].space = SQL_SPACE_CONT;
        sql_rw_note(rw, &rw->t[i]);
    }
    rw->n = n;
    return 0;
}

static int sql_count_stmt(void *arg, const char *stmt, size_t len)
{
    (void)stmt;
    (void)len;
    (*(int *)arg)++;
    return 0;
}

/*
 * Balanced brackets, and one statement only: a semicolon followed by more
 * than comments is a second one.
 */
static int sql_check_single(struct sql_rw *rw, const char *in, size_t len)
{
    struct sql_lex_error err;
    int count = 0;
    bool more = false;
    long depth = 0;

    /* rules rely on balanced brackets; PostgreSQL would reject the statement anyway */
    for (size_t i = 0; i < rw->n && depth >= 0; i++) {
        char c;
        if (rw->t[i].type != SQL_TOK_PUNCT)
            continue;
        c = rw->t[i].s[0];
        depth += (c == '(' || c == '[') - (c == ')' || c == ']');
        if (c == ';' && sql_next(rw, i) < rw->n && !sql_tk_punct(rw, sql_next(rw, i), ';'))
            more = true;
    }
    if (depth != 0)
        return sql_rw_fail(rw, "42601", "syntax error: unbalanced parentheses");
    if (!more)
        return 0;
    /* sql_split knows the bodies (BEGIN ATOMIC ... END) whose semicolons do not count */
    if (sql_split(in, len, sql_count_stmt, &count, &err) == 0 && count <= 1)
        return 0;
    return sql_rw_fail(rw, "42601", "cannot translate several statements at once");
}

static int sql_count_params(struct sql_rw *rw, struct sql_translation *out)
{
    if (!sql_seen(rw, SQL_SEEN_TYPE_ + SQL_TOK_PARAM))
        return 0;
    for (size_t i = 0; i < rw->n; i++) {
        long v = 0;
        if (rw->t[i].type != SQL_TOK_PARAM)
            continue;
        for (size_t k = 1; k < rw->t[i].len && v <= 65535; k++)
            v = v * 10 + (rw->t[i].s[k] - '0');
        if (v < 1 || v > 65535)
            return sql_rw_fail(rw, "42P02", "there is no parameter $%.*s", (int)rw->t[i].len - 1,
                               rw->t[i].s + 1);
        if (v > out->nparams)
            out->nparams = (int)v;
    }
    return 0;
}

/* Whether the statement holds one of what rule r's trigger names, at r's turn. */
static inline bool sql_rule_triggered(const struct sql_rw *rw, const struct sql_rule *r)
{
    uint64_t hit = 0;

    if (!r->when)
        return true;
    for (size_t k = 0; k < SQL_SEEN_WORDS; k++)
        hit |= rw->seen[k] & r->when->bits[k];
    return hit != 0;
}

/*
 * Run the dialect's pipeline over the tokens.  Not inlined: inside
 * sql_translate_run this loop made GCC compile the print loop after it
 * worse, which cost more instructions than the call (callgrind,
 * bench/translate.md).
 */
__attribute__((noinline)) static void sql_apply_rules(struct sql_rw *rw, const struct sql_rule *rules,
                                                      size_t n, bool every_rule)
{
    /* every sql_seen answers yes: the triggers and the rules' own tests alike */
    if (every_rule)
        memset(rw->seen, 0xff, sizeof(rw->seen));
    for (size_t i = 0; i < n && !rw->failed; i++)
        if (sql_rule_triggered(rw, &rules[i]))
            rules[i].apply(rw);
}

static int sql_translate_run(enum cfg_dialect d, const struct sql_translate_opts *opts,
                             const char *in, size_t len, struct sql_translation *out, bool every_rule)
{
    struct sql_rw rw;
    const struct sql_rule *rules;
    size_t nrules;

    /*
     * Room for the tokens of statements up to several kilobytes, for the
     * rewritten tokens of the common ones and for what the rules and the
     * record make of them, without a malloc.
     */
    struct sql_token lexbuf[1024];
    struct sql_tk tkbuf[256];
    uint64_t scratch[512];

    memset(out, 0, sizeof(*out));
    memset(&rw, 0, sizeof(rw));
    rw.lex_buf = lexbuf;
    rw.lex_cap = SQL_NELEM(lexbuf);
    rw.tk_buf = tkbuf;
    rw.tk_cap = SQL_NELEM(tkbuf);
    rw.scratch = (char *)scratch;
    rw.scratch_size = sizeof(scratch);
    rw.dialect = d;
    rw.schema = opts && opts->default_schema ? opts->default_schema : "SQLUser";
    rw.user = opts ? opts->user : NULL;
    rw.database = opts ? opts->database : NULL;
    switch (d) {
    case CFG_DIALECT_IRIS:
        rules = sql_rules_iris, nrules = sql_rules_iris_n, rw.type_tmpl = sql_iris_type;
        break;
    case CFG_DIALECT_SQLITE:
        rules = sql_rules_sqlite, nrules = sql_rules_sqlite_n, rw.type_tmpl = sql_sqlite_type;
        break;
    default:
        rules = sql_rules_postgres, nrules = sql_rules_postgres_n;
        break;
    }
    long brace, qmark;
    size_t oplen = 0;
    /* a protocol string cannot hold NUL; the backend would see a truncated statement */
    if (memchr(in, '\0', len))
        sql_rw_fail(&rw, "22021", "invalid byte sequence: the statement contains a NUL byte");
    else if ((brace = sql_find_brace(in, len)) >= 0)
        sql_rw_fail(&rw, "42601", "syntax error at or near \"%c\"", in[brace]);
    else if ((qmark = sql_find_qmark_op(in, len, &oplen)) >= 0)
        sql_rw_fail(&rw, "0A000", SQL_QMARK_REFUSAL, (int)oplen, in + qmark);
    else if (sql_load(&rw, in, len) == 0 && sql_check_single(&rw, in, len) == 0 &&
        sql_count_params(&rw, out) == 0 && sql_record(&rw, in, len, out) == 0) {
        sql_apply_rules(&rw, rules, nrules, every_rule);
        if (!rw.failed)
            sql_print(&rw, out);
        out->flags |= rw.flags;
    }
    if (rw.failed) {
        enum sql_command cmd = out->cmd;
        enum sql_kind kind = out->kind;
        char verb[sizeof(out->verb)];
        memcpy(verb, out->verb, sizeof(verb));
        sql_translation_free(out);
        out->cmd = cmd;
        out->kind = kind;
        memcpy(out->verb, verb, sizeof(verb));
        memcpy(out->sqlstate, rw.sqlstate, sizeof(out->sqlstate));
        out->error = rw.error;
        rw.error = NULL;
        sql_rw_release(&rw);
        if (!out->error)
            out->error = strdup("out of memory");
        return -1;
    }
    sql_rw_release(&rw);
    return 0;
}

int sql_translate_opts(enum cfg_dialect d, const struct sql_translate_opts *opts, const char *in,
                       size_t len, struct sql_translation *out)
{
    return sql_translate_run(d, opts, in, len, out, false);
}

int sql_translate_every_rule(enum cfg_dialect d, const char *in, size_t len,
                             struct sql_translation *out)
{
    return sql_translate_run(d, NULL, in, len, out, true);
}

int sql_translate(enum cfg_dialect d, const char *in, size_t len, struct sql_translation *out)
{
    return sql_translate_opts(d, NULL, in, len, out);
}

void sql_translation_free(struct sql_translation *t)
{
    free(t->sql);
    free(t->error);
    free(t->tables_read);
    free(t->tables_written);
    memset(t, 0, sizeof(*t));
}

const char *sql_kind_name(enum sql_kind k)
{
    switch (k) {
    case SQL_KIND_QUERY: return "query";
    case SQL_KIND_DML: return "dml";
    case SQL_KIND_DDL: return "ddl";
    case SQL_KIND_TXN: return "transaction";
    case SQL_KIND_SESSION: return "session";
    case SQL_KIND_OTHER: break;
    }
    return "other";
}

int sql_translation_describe(const struct sql_translation *t, char *buf, size_t size)
{
    static const struct { int flag; const char *name; } flags[] = {
        { SQL_FLAG_READ_ONLY, "read-only" }, { SQL_FLAG_CACHEABLE, "cacheable" },
        { SQL_FLAG_VECTOR, "vector" },       { SQL_FLAG_NO_BACKEND, "no-backend" },
        { SQL_FLAG_SESSION, "session" },     { SQL_FLAG_BACKEND_STATE, "backend-state" },
        { SQL_FLAG_READS_SEQUENCE, "reads-sequence" },
    };
    size_t used = 0;
    int n;

#define SQL_PUT(...)                                                                      \
    do {                                                                                  \
        n = snprintf(buf + (used < size ? used : size), used < size ? size - used : 0,    \
                     __VA_ARGS__);                                                        \
        used += (size_t)(n > 0 ? n : 0);                                                  \
    } while (0)
    SQL_PUT("kind=%s verb=%s params=%d read=", sql_kind_name(t->kind), t->verb, t->nparams);
    for (int i = 0; i < t->ntables_read; i++)
        SQL_PUT("%s%s", i ? "," : "", t->tables_read[i]);
    SQL_PUT(" write=");
    for (int i = 0; i < t->ntables_written; i++)
        SQL_PUT("%s%s", i ? "," : "", t->tables_written[i]);
    SQL_PUT(" flags=");
    for (size_t i = 0, any = 0; i < SQL_NELEM(flags); i++)
        if (t->flags & flags[i].flag)
            SQL_PUT("%s%s", any++ ? "," : "", flags[i].name);
#undef SQL_PUT
    return (int)used;
}
