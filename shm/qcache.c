/*
 * qcache: the shared translation cache (see qcache.h).
 */
#include "shm/qcache.h"

#include <string.h>

#include <ck_pr.h>

#include "shm/shm.h"

/* At the start of the cache's part of the region. */
struct qcache_hdr {
    uint32_t nsets;
    uint32_t pad;
    uint64_t clock;
    uint64_t lookups, hits, misses, inserts, evictions;
} CK_CC_CACHELINE;

static size_t qcache_hdr_size(void)
{
    return (sizeof(struct qcache_hdr) + 63) & ~(size_t)63;
}

size_t qcache_region_size(size_t bytes)
{
    size_t sets = bytes / (sizeof(struct qcache_entry) * QCACHE_WAYS);
    if (sets == 0)
        return 0;
    return qcache_hdr_size() + sets * QCACHE_WAYS * sizeof(struct qcache_entry);
}

static struct qcache_hdr *qcache_hdr(void)
{
    if (shm == NULL || shm->qcache_off == 0)
        return NULL;
    return (struct qcache_hdr *)((char *)shm + shm->qcache_off);
}

static struct qcache_entry *qcache_set(struct qcache_hdr *h, uint64_t hash)
{
    struct qcache_entry *e = (struct qcache_entry *)((char *)h + qcache_hdr_size());
    return e + (size_t)(hash % h->nsets) * QCACHE_WAYS;
}

void qcache_init(size_t off, size_t bytes)
{
    size_t size = qcache_region_size(bytes);
    shm->qcache_off = size ? off : 0;
    if (size == 0)
        return;
    struct qcache_hdr *h = qcache_hdr();
    memset(h, 0, size);
    h->nsets = (uint32_t)(bytes / (sizeof(struct qcache_entry) * QCACHE_WAYS));
}

uint32_t qcache_capacity(void)
{
    struct qcache_hdr *h = qcache_hdr();
    return h ? h->nsets * QCACHE_WAYS : 0;
}

int qcache_get(uint32_t dialect, uint64_t hash, const char *key, size_t klen, struct qcache_value *out,
               char *buf, size_t buflen)
{
    struct qcache_hdr *h = qcache_hdr();
    if (h == NULL)
        return 0;
    ck_pr_inc_64(&h->lookups);
    struct qcache_entry *set = qcache_set(h, hash);
    for (int w = 0; w < QCACHE_WAYS; w++) {
        struct qcache_entry *e = &set[w];
        uint32_t seq = ck_pr_load_32(&e->seq);
        if ((seq & 1) || seq == 0)
            continue;
        ck_pr_fence_load();
        /* Each field read once: a writer may be changing them under us. */
        uint32_t vlen = ck_pr_load_32(&e->vlen);
        if (e->hash != hash || e->dialect != dialect || ck_pr_load_32(&e->klen) != klen || vlen > buflen ||
            klen + vlen > QCACHE_MAX_DATA)
            continue;
        /* Copy first, then check that no writer came by meanwhile. */
        int same = memcmp(e->data, key, klen) == 0;
        memcpy(buf, e->data + klen, vlen);
        out->nparams = e->nparams;
        out->cmd = e->cmd;
        out->flags = e->flags;
        out->failed = e->failed;
        memcpy(out->verb, e->verb, sizeof(out->verb));
        memcpy(out->sqlstate, e->sqlstate, sizeof(out->sqlstate));
        ck_pr_fence_load();
        if (ck_pr_load_32(&e->seq) != seq || !same)
            continue;
        out->verb[sizeof(out->verb) - 1] = '\0';
        out->sqlstate[sizeof(out->sqlstate) - 1] = '\0';
        out->text = buf;
        out->len = vlen;
        ck_pr_store_64(&e->used, ck_pr_faa_64(&h->clock, 1));
        ck_pr_inc_64(&h->hits);
        return 1;
    }
    ck_pr_inc_64(&h->misses);
    return 0;
}

void qcache_put(uint32_t dialect, uint64_t hash, const char *key, size_t klen, const struct qcache_value *v)
{
    struct qcache_hdr *h = qcache_hdr();
    if (h == NULL || klen + v->len > QCACHE_MAX_DATA)
        return;
    struct qcache_entry *set = qcache_set(h, hash);
    struct qcache_entry *victim = NULL;
    uint32_t vseq = 0;
    for (int w = 0; w < QCACHE_WAYS; w++) {
        struct qcache_entry *e = &set[w];
        uint32_t seq = ck_pr_load_32(&e->seq);
        if (seq & 1)
            continue;
        if (seq == 0) {
            victim = e;
            vseq = 0;
            break;
        }
        if (victim == NULL || ck_pr_load_64(&e->used) < ck_pr_load_64(&victim->used)) {
            victim = e;
            vseq = seq;
        }
    }
    if (victim == NULL || !ck_pr_cas_32(&victim->seq, vseq, vseq + 1))
        return;
    ck_pr_fence_store();
    if (vseq != 0)
        ck_pr_inc_64(&h->evictions);
    victim->dialect = dialect;
    victim->hash = hash;
    victim->klen = (uint32_t)klen;
    victim->vlen = (uint32_t)v->len;
    victim->nparams = v->nparams;
    victim->cmd = v->cmd;
    victim->flags = v->flags;
    victim->failed = v->failed;
    memcpy(victim->verb, v->verb, sizeof(victim->verb));
    memcpy(victim->sqlstate, v->sqlstate, 6);
    memcpy(victim->data, key, klen);
    memcpy(victim->data + klen, v->text, v->len);
    victim->used = ck_pr_faa_64(&h->clock, 1);
    ck_pr_fence_store();
    ck_pr_store_32(&victim->seq, vseq + 2);
    ck_pr_inc_64(&h->inserts);
}

void qcache_stats(struct qcache_stats *out)
{
    struct qcache_hdr *h = qcache_hdr();
    memset(out, 0, sizeof(*out));
    if (h == NULL)
        return;
    out->lookups = ck_pr_load_64(&h->lookups);
    out->hits = ck_pr_load_64(&h->hits);
    out->misses = ck_pr_load_64(&h->misses);
    out->inserts = ck_pr_load_64(&h->inserts);
    out->evictions = ck_pr_load_64(&h->evictions);
    struct qcache_entry *e = (struct qcache_entry *)((char *)h + qcache_hdr_size());
    for (size_t i = 0; i < (size_t)h->nsets * QCACHE_WAYS; i++) {
        uint32_t seq = ck_pr_load_32(&e[i].seq);
        if (seq != 0 && !(seq & 1)) {
            out->entries++;
            out->bytes += e[i].klen + e[i].vlen;
        }
    }
}
