/*
 * qcache: the shared translation cache, in the shared region.
 *
 * A set-associative table of fixed-size entries (QCACHE_WAYS per set), each
 * holding one statement's text as the client wrote it (the key, with its
 * dialect) and what it translates to (the value: backend SQL or the error,
 * and the record a worker routes by).  Every worker reads and fills it, so a
 * statement is translated once for the whole pooler, and a restarted worker
 * finds its statements already there.
 *
 * Each entry is guarded by a sequence word: odd while a writer owns it.  A
 * writer takes an entry by CAS from even to odd and releases it with the
 * next even value; a reader copies the entry out and keeps the copy only if
 * the word was even and unchanged around the copy.  Nobody ever waits: a
 * reader that meets a writer treats it as a miss, a writer that meets
 * another writer skips the insert.  An entry whose writer died stays odd and
 * is simply never used again.
 */
#ifndef PGIRIS_QCACHE_H
#define PGIRIS_QCACHE_H

#include <stddef.h>
#include <stdint.h>

#define QCACHE_ENTRY_SIZE 2048
#define QCACHE_WAYS 4

/* What a cached statement translates to. */
struct qcache_value {
    int32_t nparams;
    int32_t cmd;            /* enum sql_command */
    int32_t flags;          /* SQL_FLAG_* */
    int32_t failed;         /* text is the error message, sqlstate says which */
    char verb[64];
    char sqlstate[6];
    const char *text;       /* backend SQL or error message (not NUL-terminated) */
    size_t len;
};

struct qcache_entry {
    uint32_t seq;           /* even: stable; odd: being written */
    uint32_t dialect;
    uint64_t hash;
    uint64_t used;          /* the cache clock at the last hit, for replacement */
    uint32_t klen;
    uint32_t vlen;
    int32_t nparams, cmd, flags, failed;
    char verb[64];
    char sqlstate[8];
    char data[QCACHE_ENTRY_SIZE - 128];     /* key, then value */
};

struct qcache_stats {
    uint64_t lookups, hits, misses, inserts, evictions, bytes, entries;
};

/* Bytes the region needs for a cache of about 'bytes' (0: none). */
size_t qcache_region_size(size_t bytes);
/* Set up the cache in the region at off (called by shm_create). */
void qcache_init(size_t off, size_t bytes);

/* The longest key plus value an entry holds. */
#define QCACHE_MAX_DATA (sizeof(((struct qcache_entry *)0)->data))

/*
 * Look up (dialect, key).  On a hit copy the value's text into buf (buflen
 * bytes; a hit whose text does not fit is a miss), fill *out with text
 * pointing into buf and return 1; else 0.
 */
int qcache_get(uint32_t dialect, uint64_t hash, const char *key, size_t klen, struct qcache_value *out,
               char *buf, size_t buflen);

/* Store (dialect, key) -> v, replacing the least recently used way of its set.  Silently skipped when it does not fit or the set is busy. */
void qcache_put(uint32_t dialect, uint64_t hash, const char *key, size_t klen, const struct qcache_value *v);

/* Counters and occupancy, for SHOW CACHES. */
void qcache_stats(struct qcache_stats *out);
/* Number of entries (0 when there is no shared cache). */
uint32_t qcache_capacity(void);

#endif
