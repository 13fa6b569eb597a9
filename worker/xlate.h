/*
 * xlate: what a statement becomes on its backend, as the worker routes it.
 *
 * Three levels, fastest first: this worker's cache (a hash table with an
 * LRU list, bounded by translate_cache_size bytes), the shared cache in the
 * shared region (shm/qcache.h, which survives a worker restart), and the
 * translator itself (common/sql_translate.h), whose result goes into both
 * caches.  Failures are cached too: a statement that cannot be translated
 * fails the same way every time without being translated again.
 */
#ifndef PGIRIS_XLATE_H
#define PGIRIS_XLATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/sql_lexer.h"

struct xlate {
    const char *sql;        /* backend SQL, NUL-terminated, $n markers kept */
    size_t len;
    int nparams;            /* highest $n */
    enum sql_command cmd;
    const char *verb;       /* PostgreSQL command tag verb */
    int flags;              /* SQL_FLAG_* */
    const char *sqlstate;   /* on failure, else NULL */
    const char *error;      /* on failure: the message, else NULL */
};

/*
 * Where the text comes from.  A statement sql_split cut out of a simple
 * Query is one statement; a Parse text is whatever the client sent (maybe
 * several, which Parse then refuses).  They are cached apart, so that a
 * query string found among the split statements is known to be one.
 */
enum xlate_source { XLATE_SPLIT = 0, XLATE_PARSE = 1 };

struct sql_translate_opts;

/*
 * The translation of one statement (len bytes) for dialect d.  Never NULL
 * (out of memory is a failure with 53200).  Valid until the next call; a
 * simple-protocol statement for PostgreSQL itself is passed through
 * uncached (sql then points into stmt).  who names the client's user and
 * database: a statement that asks for them (SQL_FLAG_SESSION) is translated
 * anew with them, and that translation is kept by nobody.
 */
const struct xlate *xlate_get(enum cfg_dialect d, enum xlate_source src, const char *stmt, size_t len,
                              const struct sql_translate_opts *who);

/* A whole query string that was once split into exactly itself: its translation, else NULL.  Nothing is translated. */
const struct xlate *xlate_peek(enum cfg_dialect d, const char *stmt, size_t len);

/* Bound this worker's cache to 'bytes' (0 disables it), evicting what is over. */
void xlate_configure(size_t bytes);

/* Publish the counters in worker index's shm_worker entry from now on. */
void xlate_set_worker(uint32_t index);

/* Drop every entry of this worker's cache (for tests and at exit). */
void xlate_clear(void);

/* This worker's counters, also published in its shm_worker entry. */
struct xlate_counters {
    uint64_t lookups, hits, misses, evictions, entries, bytes;
};
void xlate_counters(struct xlate_counters *out);

/* The hash both caches use. */
uint64_t xlate_hash(const char *s, size_t n, uint32_t dialect);

#endif
