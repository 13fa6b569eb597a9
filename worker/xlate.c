/*
 * xlate: the worker's translation cache in front of the shared one and the
 * translator (see xlate.h).
 */
#include "worker/xlate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <ck_pr.h>

#include "common/sql_translate.h"
#include "shm/qcache.h"
#include "shm/shm.h"

/* One cached translation: the key and the value follow the struct. */
struct xlate_entry {
    struct xlate_entry *next;           /* hash chain */
    TAILQ_ENTRY(xlate_entry) lru;       /* most recently used first */
    uint64_t hash;
    uint32_t dialect;
    uint32_t klen;
    size_t size;                        /* bytes charged to the budget */
    struct xlate x;
    char verb[64];
    char sqlstate[6];
    char data[];                        /* key, NUL, value (SQL or error), NUL */
};

TAILQ_HEAD(xlate_lru, xlate_entry);

static struct {
    struct xlate_entry **buckets;
    size_t nbuckets;                    /* a power of two */
    struct xlate_lru lru;
    size_t budget;
    struct xlate_counters n;
    struct xlate_entry *uncached;       /* the last result that the cache could not keep */
    struct xlate failed;                /* out of memory */
    int ready;
} xl;

/* Whose shm_worker entry the counters are published in (SHOW CACHES). */
static uint32_t xlate_worker_index = UINT32_MAX;

void xlate_set_worker(uint32_t index)
{
    xlate_worker_index = index;
}

uint64_t xlate_hash(const char *s, size_t n, uint32_t dialect)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)dialect * 0x100000001B3ULL) ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
        h ^= h >> 29;
    }
    uint64_t w = 0;
    memcpy(&w, s + i, n - i);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ULL;
    h ^= h >> 32;
    return h;
}

static void xlate_init(void)
{
    if (xl.ready)
        return;
    TAILQ_INIT(&xl.lru);
    xl.ready = 1;
    xl.failed.sqlstate = "53200";
    xl.failed.error = "out of memory";
    xl.failed.verb = "";
}

static void xlate_publish(void)
{
    if (shm == NULL || xlate_worker_index >= shm->nworkers)
        return;
    struct shm_worker *w = shm_worker(xlate_worker_index);
    ck_pr_store_64(&w->xl_lookups, xl.n.lookups);
    ck_pr_store_64(&w->xl_hits, xl.n.hits);
    ck_pr_store_64(&w->xl_misses, xl.n.misses);
    ck_pr_store_64(&w->xl_evictions, xl.n.evictions);
    ck_pr_store_64(&w->xl_entries, xl.n.entries);
    ck_pr_store_64(&w->xl_bytes, xl.n.bytes);
}

static void xlate_unlink(struct xlate_entry *e)
{
    struct xlate_entry **pp = &xl.buckets[e->hash & (xl.nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    TAILQ_REMOVE(&xl.lru, e, lru);
    xl.n.entries--;
    xl.n.bytes -= e->size;
}

static void xlate_evict_to(size_t budget)
{
    struct xlate_entry *e;
    while (xl.n.bytes > budget && (e = TAILQ_LAST(&xl.lru, xlate_lru)) != NULL) {
        xlate_unlink(e);
        free(e);
        xl.n.evictions++;
    }
}

void xlate_configure(size_t bytes)
{
    xlate_init();
    xl.budget = bytes;
    xlate_evict_to(bytes);
    xlate_publish();
}

void xlate_clear(void)
{
    xlate_init();
    xlate_evict_to(0);
    free(xl.buckets);
    xl.buckets = NULL;
    xl.nbuckets = 0;
    free(xl.uncached);
    xl.uncached = NULL;
    xlate_publish();
}

void xlate_counters(struct xlate_counters *out)
{
    *out = xl.n;
}

static int xlate_grow(void)
{
    size_t n = xl.nbuckets ? xl.nbuckets * 2 : 256;
    struct xlate_entry **b = calloc(n, sizeof(*b));
    if (b == NULL)
        return -1;
    for (size_t i = 0; i < xl.nbuckets; i++) {
        struct xlate_entry *e = xl.buckets[i], *next;
        for (; e != NULL; e = next) {
            next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    }
    free(xl.buckets);
    xl.buckets = b;
    xl.nbuckets = n;
    return 0;
}

static struct xlate_entry *xlate_find(uint64_t hash, uint32_t dialect, const char *stmt, size_t len)
{
    if (xl.nbuckets == 0)
        return NULL;
    for (struct xlate_entry *e = xl.buckets[hash & (xl.nbuckets - 1)]; e != NULL; e = e->next)
        if (e->hash == hash && e->dialect == dialect && e->klen == len && memcmp(e->data, stmt, len) == 0)
            return e;
    return NULL;
}

/* A new entry holding key and value; its xlate points into it. */
static struct xlate_entry *xlate_entry_new(uint64_t hash, uint32_t dialect, const char *stmt, size_t len,
                                           const struct qcache_value *v)
{
    size_t size = sizeof(struct xlate_entry) + len + 1 + v->len + 1;
    struct xlate_entry *e = malloc(size);
    if (e == NULL)
        return NULL;
    e->next = NULL;
    e->hash = hash;
    e->dialect = dialect;
    e->klen = (uint32_t)len;
    e->size = size;
    memcpy(e->data, stmt, len);
    e->data[len] = '\0';
    char *val = e->data + len + 1;
    memcpy(val, v->text, v->len);
    val[v->len] = '\0';
    memcpy(e->verb, v->verb, sizeof(e->verb));
    e->verb[sizeof(e->verb) - 1] = '\0';
    memcpy(e->sqlstate, v->sqlstate, sizeof(e->sqlstate));
    e->sqlstate[5] = '\0';
    e->x.sql = v->failed ? "" : val;
    e->x.len = v->failed ? 0 : v->len;
    e->x.nparams = v->nparams;
    e->x.cmd = (enum sql_command)v->cmd;
    e->x.verb = e->verb;
    e->x.flags = v->flags;
    e->x.sqlstate = v->failed ? e->sqlstate : NULL;
    e->x.error = v->failed ? val : NULL;
    return e;
}

/* Keep e in the cache if the budget allows; otherwise it is the one uncached result. */
static const struct xlate *xlate_keep(struct xlate_entry *e)
{
    if (e->size > xl.budget / 4 || (xl.n.entries >= xl.nbuckets && xlate_grow() < 0)) {
        free(xl.uncached);
        xl.uncached = e;
        return &e->x;
    }
    xlate_evict_to(xl.budget - e->size);
    size_t b = e->hash & (xl.nbuckets - 1);
    e->next = xl.buckets[b];
    xl.buckets[b] = e;
    TAILQ_INSERT_HEAD(&xl.lru, e, lru);
    xl.n.entries++;
    xl.n.bytes += e->size;
    return &e->x;
}

/* The cache key's namespace: the dialect, and where the text came from. */
static uint32_t xlate_space(enum cfg_dialect d, enum xlate_source src)
{
    return (uint32_t)d | (src == XLATE_PARSE ? 0x100u : 0);
}

/* A cache hit: counted, moved to the front of the LRU list. */
static const struct xlate *xlate_hit(struct xlate_entry *e)
{
    xl.n.lookups++;
    xl.n.hits++;
    if (e != TAILQ_FIRST(&xl.lru)) {
        TAILQ_REMOVE(&xl.lru, e, lru);
        TAILQ_INSERT_HEAD(&xl.lru, e, lru);
    }
    xlate_publish();
    return &e->x;
}

const struct xlate *xlate_peek(enum cfg_dialect d, const char *stmt, size_t len)
{
    xlate_init();
    /* PostgreSQL's own simple-protocol statements are never kept (xlate_passthrough). */
    if (d == CFG_DIALECT_POSTGRES)
        return NULL;
    uint32_t space = xlate_space(d, XLATE_SPLIT);
    struct xlate_entry *e = xlate_find(xlate_hash(stmt, len, space), space, stmt, len);
    return e != NULL ? xlate_hit(e) : NULL;
}

/*
 * PostgreSQL's own dialect needs no rewriting of a simple-protocol
 * statement (markers are Parse's business): its command and tag are enough.
 * Caching these would fill the cache with one entry per literal value.
 */
static const struct xlate *xlate_passthrough(const char *stmt, size_t len)
{
    static char verb[64];
    static struct xlate x;
    /* Lexed once for both readings below; a longer statement is read as it goes, twice. */
    struct sql_token toks[64];
    struct sql_lex_error err;
    size_t ntoks = 0;
    if (sql_lex(stmt, len, toks, 64, &ntoks, &err) < 0 || ntoks > 64)
        ntoks = 0;
    const struct sql_token *t = ntoks > 0 ? toks : NULL;
    x.sql = stmt;
    x.len = len;
    x.cmd = sql_command_tokens(stmt, len, t, ntoks, verb, sizeof(verb));
    x.verb = verb;
    x.nparams = 0;
    x.flags = sql_backend_flags(stmt, len, t, ntoks);
    x.error = sql_refusal(verb);
    x.sqlstate = x.error != NULL ? "0A000" : NULL;
    long brace = sql_find_brace(stmt, len), qmark;
    size_t oplen = 0;
    if (brace >= 0) {
        /* psqlODBC would run an ODBC escape clause that PostgreSQL refuses (sql_find_brace) */
        x.error = stmt[brace] == '{' ? "syntax error at or near \"{\"" : "syntax error at or near \"}\"";
        x.sqlstate = "42601";
    } else if ((qmark = sql_find_qmark_op(stmt, len, &oplen)) >= 0) {
        /* psqlODBC would take it for a parameter marker: 07002, which is no PostgreSQL SQLSTATE */
        static char msg[320];
        snprintf(msg, sizeof(msg), SQL_QMARK_REFUSAL, (int)(oplen > 8 ? 8 : oplen), stmt + qmark);
        x.error = msg;
        x.sqlstate = "0A000";
    }
    return &x;
}

/* The translation of stmt as the caches keep it; t owns the text v points to. */
static void xlate_translate(enum cfg_dialect d, const struct sql_translate_opts *opts, const char *stmt,
                            size_t len, struct sql_translation *t, struct qcache_value *v)
{
    int rc = sql_translate_opts(d, opts, stmt, len, t);
    memset(v, 0, sizeof(*v));
    v->nparams = t->nparams;
    v->cmd = (int32_t)t->cmd;
    v->flags = t->flags;
    v->failed = rc < 0;
    memcpy(v->verb, t->verb, sizeof(v->verb));
    memcpy(v->sqlstate, rc < 0 ? t->sqlstate : "00000", 6);
    v->text = rc < 0 ? (t->error ? t->error : "cannot translate statement") : t->sql;
    v->len = strlen(v->text);
}

/*
 * x, or, when x asks for the client's user or database, the statement
 * translated for this client.  The caches keep the translation made without
 * them (which names nobody); this one is the worker's uncached result.
 */
static const struct xlate *xlate_for(const struct xlate *x, enum cfg_dialect d, uint32_t space, uint64_t hash,
                                     const char *stmt, size_t len, const struct sql_translate_opts *who)
{
    if (!(x->flags & SQL_FLAG_SESSION) || x->error != NULL || who == NULL)
        return x;
    struct sql_translation t;
    struct qcache_value v;
    xlate_translate(d, who, stmt, len, &t, &v);
    struct xlate_entry *e = xlate_entry_new(hash, space, stmt, len, &v);
    sql_translation_free(&t);
    if (e == NULL)
        return &xl.failed;
    /* x may be the previous uncached result: it is not used after this. */
    free(xl.uncached);
    xl.uncached = e;
    return &e->x;
}

const struct xlate *xlate_get(enum cfg_dialect d, enum xlate_source src, const char *stmt, size_t len,
                              const struct sql_translate_opts *who)
{
    xlate_init();
    if (d == CFG_DIALECT_POSTGRES && src == XLATE_SPLIT)
        return xlate_passthrough(stmt, len);
    uint32_t space = xlate_space(d, src);
    uint64_t hash = xlate_hash(stmt, len, space);
    struct xlate_entry *e = xlate_find(hash, space, stmt, len);
    if (e != NULL)
        return xlate_for(xlate_hit(e), d, space, hash, stmt, len, who);
    xl.n.lookups++;
    xl.n.misses++;

    static char buf[QCACHE_MAX_DATA];
    struct qcache_value v;
    struct sql_translation t;
    int from_shared = qcache_get(space, hash, stmt, len, &v, buf, sizeof(buf));
    memset(&t, 0, sizeof(t));
    if (!from_shared) {
        xlate_translate(d, NULL, stmt, len, &t, &v);
        qcache_put(space, hash, stmt, len, &v);
    }
    e = xlate_entry_new(hash, space, stmt, len, &v);
    sql_translation_free(&t);
    if (e == NULL)
        return &xl.failed;
    const struct xlate *x = xlate_keep(e);
    xlate_publish();
    return xlate_for(x, d, space, hash, stmt, len, who);
}
