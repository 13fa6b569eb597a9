/*
 * shm: creating the shared region and the few operations on its tables that
 * more than one module needs (pool lookup, free stack, client claims).
 */
#include "shm/shm.h"
#include "shm/qcache.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include <ck_pr.h>

#include "common/log.h"

struct shm_header *shm;
int shm_fd = -1;

static size_t shm_align(size_t n)
{
    return (n + CK_MD_CACHELINE - 1) & ~(size_t)(CK_MD_CACHELINE - 1);
}

/* The free stack's lock: see shm_pool_lock. */
static int shm_pool_lock_init(struct shm_pool *p)
{
    pthread_mutexattr_t a;
    int rc = pthread_mutexattr_init(&a);
    if (rc == 0)
        rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    if (rc == 0)
        rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    if (rc == 0)
        rc = pthread_mutex_init(&p->free_lock, &a);
    pthread_mutexattr_destroy(&a);
    return rc == 0 ? 0 : -1;
}

int shm_create(uint32_t nworkers, uint32_t npools, uint32_t nslots, uint32_t nclients,
               uint32_t ring_size, size_t qcache_bytes)
{
    size_t off = shm_align(sizeof(struct shm_header));
    size_t workers_off = off;
    off = shm_align(off + sizeof(struct shm_worker) * nworkers);
    size_t pools_off = off;
    off = shm_align(off + sizeof(struct shm_pool) * npools);
    size_t slots_off = off;
    off = shm_align(off + sizeof(struct shm_slot) * nslots);
    size_t clients_off = off;
    off = shm_align(off + sizeof(struct shm_client) * nclients);
    size_t appnames_off = off;
    off = shm_align(off + (size_t)CFG_NAME_MAX * nclients);
    size_t tls_off = off;
    off = shm_align(off + (size_t)SHM_TLS_MAX * nclients);
    size_t stats_off = off;
    off = shm_align(off + sizeof(struct shm_stats) * nworkers * npools);
    /* A pool may grow by reload up to every slot, so each free stack can hold them all. */
    uint32_t free_stack_size = nslots;
    size_t free_bufs_off = off;
    off = shm_align(off + sizeof(struct shm_slotref) * (size_t)free_stack_size * npools);
    size_t rings_off = off;
    /* Request rings are a quarter of the response rings: SQL is smaller than results. */
    uint32_t req_size = ring_size / 4 < 4096 ? 4096 : ring_size / 4;
    off += ((size_t)ring_size + req_size) * nslots;
    off = shm_align(off);
    size_t qcache_off = off;
    off += qcache_region_size(qcache_bytes);
    size_t size = shm_align(off);

    /*
     * A memfd rather than an anonymous mapping: workers are exec'd (so they
     * inherit no lock held by an executor thread at fork time) and map the
     * same file again, at the same address.
     */
    int fd = memfd_create("pgiris-shm", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
        log_error("shm", "memfd_create/ftruncate(%zu) failed: %s", size, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        log_error("shm", "mmap(MAP_SHARED, %zu) failed: %s", size, strerror(errno));
        close(fd);
        return -1;
    }
    shm_fd = fd;
    shm = p;
    shm->magic = SHM_MAGIC;
    shm->layout_version = SHM_LAYOUT_VERSION;
    shm->size = size;
    shm->self = p;
    shm->nworkers = nworkers;
    shm->npools = npools;
    shm->nslots = nslots;
    shm->nclients = nclients;
    shm->ring_size = ring_size;
    shm->free_stack_size = free_stack_size;
    shm->broker_efd = -1;
    shm->start_time_us = shm_realtime_us();
    shm->workers_off = workers_off;
    shm->pools_off = pools_off;
    shm->slots_off = slots_off;
    shm->clients_off = clients_off;
    shm->appnames_off = appnames_off;
    shm->tls_off = tls_off;
    shm->stats_off = stats_off;
    shm->free_bufs_off = free_bufs_off;
    shm->rings_off = rings_off;
    qcache_init(qcache_off, qcache_bytes);

    for (uint32_t i = 0; i < npools; i++) {
        struct shm_pool *pool = shm_pool(i);
        pool->free_buf_off = (int64_t)(free_bufs_off + sizeof(struct shm_slotref) * (size_t)free_stack_size * i);
        pool->free_top = 0;
        pool->free_cap = free_stack_size;
        if (shm_pool_lock_init(pool) < 0) {
            log_error("shm", "cannot make the free-stack lock of pool %u", i);
            shm_destroy();
            return -1;
        }
    }
    uint8_t *ring_data = (uint8_t *)shm + rings_off;
    for (uint32_t i = 0; i < nslots; i++) {
        struct shm_slot *s = shm_slot(i);
        s->pool = SHM_NONE;
        s->owner_worker = SHM_NONE;
        s->owner_client = SHM_NONE;
        ring_init(&s->resp, ring_data, ring_size);
        ring_data += ring_size;
        ring_init(&s->req, ring_data, req_size);
        ring_data += req_size;
    }
    for (uint32_t i = 0; i < nclients; i++)
        shm_client(i)->slot = SHM_NONE;
    for (uint32_t i = 0; i < nworkers; i++)
        shm_worker(i)->efd = -1;
    return 0;
}

void shm_destroy(void)
{
    if (shm != NULL) {
        munmap(shm, shm->size);
        shm = NULL;
    }
    if (shm_fd >= 0) {
        close(shm_fd);
        shm_fd = -1;
    }
}

int shm_attach(int fd, void *addr)
{
    struct stat st;
    if (fstat(fd, &st) < 0) {
        log_error("shm", "fstat(shm fd %d) failed: %s", fd, strerror(errno));
        return -1;
    }
    void *p = mmap(addr, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
    if (p == MAP_FAILED || p != addr) {
        log_error("shm", "mmap(%p, %zu, MAP_FIXED_NOREPLACE) failed: %s", addr, (size_t)st.st_size,
                  p == MAP_FAILED ? strerror(errno) : "mapped elsewhere");
        if (p != MAP_FAILED)
            munmap(p, (size_t)st.st_size);
        return -1;
    }
    if (shm_check(p) < 0) {
        log_error("shm", "shared region at %p has a bad header", p);
        munmap(p, (size_t)st.st_size);
        return -1;
    }
    shm = p;
    shm_fd = fd;
    return 0;
}

int shm_check(const struct shm_header *h)
{
    if (h == NULL || h->magic != SHM_MAGIC || h->layout_version != SHM_LAYOUT_VERSION)
        return -1;
    return h->self == (const void *)h ? 0 : -1;
}

uint32_t shm_pool_find(const char *name)
{
    for (uint32_t i = 0; i < shm->npools; i++) {
        struct shm_pool *p = shm_pool(i);
        if (ck_pr_load_32(&p->in_use) && !ck_pr_load_32(&p->removed) && strcmp(p->name, name) == 0)
            return i;
    }
    return SHM_NONE;
}

/*
 * The free stack is a mutex's, not lock-free.  It was a ck ring, FIFO: every
 * lease took the connection idle longest, so a pool of 20 under 16 clients
 * cycled all 20 executor threads and PostgreSQL backends, each cold (pool 8
 * against pool 20 used about 8% less CPU per query in pgiris and in
 * PostgreSQL).  A stack hands out the one released last.  Its ring had
 * producers under a mutex already: the lock-free multi-producer enqueue
 * makes every producer spin until the one before it publishes, and with
 * more executor threads than cores a producer preempted in that window had
 * the others burn whole time slices.  A mutex sleeps instead.
 *
 * The mutex is process-shared (executors and workers both push and pop) and
 * robust.  Each operation publishes with one store of free_top, after the
 * entry it adds or after the copy it pops (into shared memory), so a worker
 * that dies holding the mutex leaves the stack whole, and the broker's
 * recovery (lease.c) sees either the entry still in the stack or the copy
 * in the worker's pending ref; the next owner only marks the mutex
 * consistent.
 */
static void shm_pool_lock(struct shm_pool *p)
{
    if (pthread_mutex_lock(&p->free_lock) == EOWNERDEAD)
        pthread_mutex_consistent(&p->free_lock);
}

int shm_pool_put_free(struct shm_pool *p, uint32_t slot)
{
    struct shm_slot *s = shm_slot(slot);
    struct shm_slotref ref = { .idx = slot, .ticket = s->ticket + 1 };
    ck_pr_store_32(&s->ticket, ref.ticket);
    ck_pr_store_32(&s->state, SHM_SLOT_IDLE);
    shm_pool_lock(p);
    uint32_t top = p->free_top;
    int rc = -1;
    if (top < p->free_cap) {
        shm_pool_free_buf(p)[top] = ref;
        /* The slot's state and the entry must be visible before a worker can pop it. */
        ck_pr_fence_store();
        ck_pr_store_32(&p->free_top, top + 1);
        rc = 0;
    }
    pthread_mutex_unlock(&p->free_lock);
    return rc;
}

int shm_pool_get_free(struct shm_pool *p, struct shm_slotref *out)
{
    if (ck_pr_load_32(&p->free_top) == 0)
        return -1;
    shm_pool_lock(p);
    uint32_t top = p->free_top;
    int rc = -1;
    if (top > 0) {
        /* The copy lands in shared memory first (see above), then the pop is published. */
        *out = shm_pool_free_buf(p)[top - 1];
        ck_pr_fence_store();
        ck_pr_store_32(&p->free_top, top - 1);
        rc = 0;
    }
    pthread_mutex_unlock(&p->free_lock);
    return rc;
}

int shm_pool_get_oldest_free(struct shm_pool *p, struct shm_slotref *out)
{
    struct shm_slotref *buf = shm_pool_free_buf(p);
    int rc = -1;
    shm_pool_lock(p);
    uint32_t top = p->free_top;
    if (top > 0) {
        /* Only the broker calls this, so no worker's recovery depends on the order of these stores. */
        *out = buf[0];
        memmove(buf, buf + 1, sizeof(*buf) * (top - 1));
        ck_pr_store_32(&p->free_top, top - 1);
        rc = 0;
    }
    pthread_mutex_unlock(&p->free_lock);
    return rc;
}

int shm_pool_holds(struct shm_pool *p, struct shm_slotref ref)
{
    const struct shm_slotref *buf = shm_pool_free_buf(p);
    int found = 0;
    shm_pool_lock(p);
    for (uint32_t i = 0; i < p->free_top && !found; i++)
        found = buf[i].idx == ref.idx && buf[i].ticket == ref.ticket;
    pthread_mutex_unlock(&p->free_lock);
    return found;
}

uint32_t shm_client_claim(uint32_t worker, uint32_t wgen)
{
    /* Start where this worker's share of the table begins to keep workers apart. */
    uint32_t n = shm->nclients;
    uint32_t start = (uint32_t)(((uint64_t)n * worker) / shm->nworkers);
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = (start + k) % n;
        struct shm_client *c = shm_client(i);
        if (ck_pr_load_32(&c->state) == SHM_CLIENT_FREE &&
            ck_pr_cas_32(&c->state, SHM_CLIENT_FREE, SHM_CLIENT_USED)) {
            c->worker = worker;
            c->wgen = wgen;
            c->slot = SHM_NONE;
            c->pool = SHM_NONE;
            return i;
        }
    }
    return SHM_NONE;
}

void shm_client_release(uint32_t idx)
{
    struct shm_client *c = shm_client(idx);
    c->slot = SHM_NONE;
    c->cancel_key = 0;
    c->running = 0;
    c->cancel_req = 0;
    /* Readers of SHOW CLIENTS may see a half-cleared entry; the state flips last. */
    ck_pr_fence_store();
    ck_pr_store_32(&c->state, SHM_CLIENT_FREE);
}

void shm_client_set_addr(struct shm_client *c, const struct sockaddr *sa)
{
    memset(c->addr, 0, sizeof(c->addr));
    c->port = 0;
    c->family = (uint8_t)sa->sa_family;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        memcpy(c->addr, &in->sin_addr, sizeof(in->sin_addr));
        c->port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        memcpy(c->addr, &in6->sin6_addr, sizeof(in6->sin6_addr));
        c->port = ntohs(in6->sin6_port);
    }
}

const char *shm_client_addr(const struct shm_client *c, char buf[SHM_ADDR_TEXT_MAX])
{
    uint8_t family = ck_pr_load_8((uint8_t *)&c->family);

    if (family != AF_INET && family != AF_INET6)
        return strcpy(buf, "unix");
    if (inet_ntop(family, c->addr, buf, SHM_ADDR_TEXT_MAX) == NULL)
        buf[0] = '\0';
    return buf;
}

int64_t shm_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t shm_realtime_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
