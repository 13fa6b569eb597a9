/*
 * shm: the one shared-memory region every pgiris process maps.
 *
 * Created by the broker with mmap(MAP_SHARED|MAP_ANONYMOUS) before the first
 * fork, so it sits at the same address everywhere; still, everything inside
 * refers to other parts by index or offset, never by pointer, and the region
 * checks that it is mapped where it was made.  Sized once at start from the
 * configured maxima (workers, pools, backend slots, clients, ring size).
 *
 * Who writes what:
 *   shm_worker   the worker it describes (asleep, pending, releasing), the broker
 *                (pid, gen)
 *   shm_pool     the broker (settings, nopen); workers (waiting[w], their own)
 *   shm_slot     whoever holds it: the executor while IDLE, the leasing worker
 *                writes only owner_* at lease time, and the fields a release
 *                resets when it queues the slot itself; counters by the executor
 *   shm_client   the worker that claimed it (CAS on state), the broker when
 *                it reclaims a dead worker's entries
 *   shm_stats    one worker each (per worker and pool)
 */
#ifndef PGIRIS_SHM_H
#define PGIRIS_SHM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <ck_pr.h>

#include "common/config.h"
#include "shm/ring.h"

#define SHM_MAGIC 0x7067697269730001ULL
#define SHM_LAYOUT_VERSION 7
#define SHM_MAX_WORKERS 64
#define SHM_MAX_POOLS CFG_MAX_DATABASES
#define SHM_NONE UINT32_MAX
#define SHM_CANCEL_TIMEOUT 0x80000000u  /* in shm_slot.cancel: statement_timeout asked */

/* What the free stack carries: a slot and the ticket it was pushed with. */
struct shm_slotref {
    uint32_t idx;
    uint32_t ticket;
};

enum shm_worker_state { SHM_WORKER_EMPTY = 0, SHM_WORKER_RUNNING, SHM_WORKER_DEAD };

struct shm_worker {
    uint32_t state;
    uint32_t pid;
    uint32_t gen;               /* bumped by the broker at every (re)spawn */
    uint32_t asleep;            /* 1 while the worker may block in its event loop */
    int32_t efd;                /* eventfd that wakes it (inherited by every process) */
    uint32_t dequeuing;         /* pool + 1 while inside a free-stack pop */
    struct shm_slotref pending; /* what the last dequeue returned */
    uint32_t releasing;         /* 1 while queueing a slot it released itself (lease_release) */
    struct shm_slotref released;    /* that slot, and its ticket before the release */
    uint32_t nclients;
    uint32_t cancels;           /* 1: some waiting client of this worker has cancel_req set */
    /* its translation cache (worker/xlate.h), for SHOW CACHES */
    uint64_t xl_lookups, xl_hits, xl_misses, xl_evictions, xl_entries, xl_bytes;
} CK_CC_CACHELINE;

struct shm_pool {
    char name[CFG_NAME_MAX];
    uint32_t in_use;            /* configured (set once, never cleared) */
    uint32_t removed;           /* gone from the config: no new clients */
    int32_t dialect;
    int32_t pool_size;
    int32_t min_pool_size;
    int32_t pool_mode;
    uint32_t auto_parameterize; /* the database's setting, read by executors per request */
    uint64_t autoparam_count;   /* simple queries run as their shape (executors add) */
    uint32_t nopen;             /* executors alive (connecting or connected) */
    uint32_t nconnecting;
    uint32_t conn_gen;          /* bumped when the connection string changes */
    uint32_t schema_gen;        /* schema changes made through the pool (odbc_set_schema_counter) */
    int64_t last_connect_fail_us;   /* realtime of the last failed connect, 0 = none */
    char last_connect_error[256];
    uint32_t waiting[SHM_MAX_WORKERS];  /* clients queued for a slot, per worker */
    /* When each worker's longest-waiting client began to wait (shm_now_us), 0 = none queued. */
    int64_t head_wait_us[SHM_MAX_WORKERS];
    uint32_t free_top;          /* IDLE slots in the free stack (LIFO) */
    uint32_t free_cap;
    pthread_mutex_t free_lock;  /* taken by every push and pop */
    int64_t free_buf_off;       /* region offset of the stack's buffer */
};

enum shm_slot_state {
    SHM_SLOT_EMPTY = 0,     /* no executor */
    SHM_SLOT_CONNECTING,
    SHM_SLOT_IDLE,          /* connected, in the pool's free stack (or about to be) */
    SHM_SLOT_LEASED,        /* owned by a worker's client */
    SHM_SLOT_CLOSING,
};

struct shm_slot {
    uint32_t state;
    uint32_t pool;
    uint32_t ticket;            /* bumped every time the slot is queued as free */
    uint32_t lease_gen;
    uint32_t owner_worker;      /* valid while LEASED */
    uint32_t owner_wgen;
    uint32_t owner_client;
    uint32_t reclaim;           /* owner is gone: end the lease, roll back */
    uint32_t close;             /* disconnect and stop the executor */
    uint32_t cancel;            /* cancel asked: client + 1, | SHM_CANCEL_TIMEOUT (broker acts) */
    uint32_t futex;             /* the executor sleeps on this word */
    uint32_t conn_gen;          /* pool conn_gen this connection was made with */
    /*
     * The lease left state on the backend connection that belongs to its
     * client (a temporary table, a held cursor, a lock): connect anew
     * before the next lease.
     */
    uint32_t discard;
    uint32_t chain;             /* LEASE_CHAIN_*: a chained lease's 'N' in the request ring */
    char txstatus;              /* 'I', 'T' or 'E' as last reported */
    int64_t connect_time_us;    /* realtime */
    int64_t request_time_us;    /* realtime of the last request */
    uint64_t n_queries;
    uint64_t n_xacts;
    uint64_t query_us;
    uint64_t xact_us;
    struct ring req;            /* worker -> executor */
    struct ring resp;           /* executor -> worker */
};

enum shm_client_state { SHM_CLIENT_FREE = 0, SHM_CLIENT_USED };

/* shm_client.keeps: state the client left on its backend connection. */
enum { SHM_KEEPS_STATE = 1, SHM_KEEPS_CURSORS = 2 };

#define SHM_TLS_MAX 48          /* "TLSv1.3/TLS_AES_256_GCM_SHA384" */
#define SHM_ADDR_TEXT_MAX 46    /* INET6_ADDRSTRLEN */

struct shm_client {
    uint32_t state;
    uint32_t worker;
    uint32_t wgen;
    uint32_t pool;              /* named by the startup packet; SHM_NONE for the console */
    int32_t cancel_key;
    uint32_t slot;              /* SHM_NONE when it holds none */
    uint32_t running;           /* 1 while a request of it is on its slot */
    uint32_t cancel_req;        /* a CancelRequest came while it waited for a slot */
    char status;                /* 'a' active, 'w' waiting, 'i' idle, 0 logging in */
    uint8_t console;            /* on the admin console (database "pgiris") */
    uint16_t port;
    /* set once shm_client_appname() / shm_client_tls() hold the client's */
    uint8_t has_appname;
    uint8_t has_tls;
    uint8_t family;             /* AF_INET, AF_INET6 or AF_UNIX */
    uint8_t keeps;              /* why it keeps its slot past transactions: SHM_KEEPS_* bits, 0 when it does not */
    uint8_t addr[16];           /* in binary (AF_INET: the first 4 bytes); shm_client_addr() prints it */
    char user[CFG_NAME_MAX];    /* the database is not stored: it is the pool's name */
    int64_t connect_time_us;
    int64_t request_time_us;
    int64_t wait_start_us;      /* monotonic, while waiting */
};

/* Per worker and pool, written by that worker only. */
struct shm_stats {
    uint64_t xact_count;
    uint64_t query_count;
    uint64_t bytes_received;
    uint64_t bytes_sent;
    uint64_t xact_us;
    uint64_t query_us;
    uint64_t wait_us;
    uint64_t errors;
    uint64_t chained;           /* requests run on a slot handed on without the pool (chained leases) */
} CK_CC_CACHELINE;

struct shm_header {
    uint64_t magic;
    uint32_t layout_version;
    uint32_t pad;
    size_t size;
    void *self;                 /* where the region was mapped, for a sanity check */
    uint32_t nworkers;
    uint32_t npools;
    uint32_t nslots;
    uint32_t nclients;
    uint32_t ring_size;
    uint32_t free_stack_size;
    int32_t broker_efd;         /* workers poke the broker through this eventfd */
    uint32_t broker_pid;
    uint32_t shutdown;          /* 1 graceful, 2 fast */
    uint32_t config_gen;        /* bumped by every successful reload */
    uint32_t cancels;           /* 1: some slot has a cancel for the broker to pass on */
    int64_t start_time_us;
    size_t workers_off, pools_off, slots_off, clients_off, stats_off, rings_off, free_bufs_off;
    size_t qcache_off;          /* the shared translation cache (shm/qcache.h), 0 = none */
    size_t appnames_off, tls_off;   /* beside the client table: see shm_client_appname() */
};

/* The mapped region of this process (set by shm_create or shm_attach). */
extern struct shm_header *shm;
/* The memfd behind it, which worker processes map after exec. */
extern int shm_fd;

/*
 * Create and initialise the region for the given maxima.  Returns 0, or -1
 * with errno set (and a log line naming mmap and the size).
 */
int shm_create(uint32_t nworkers, uint32_t npools, uint32_t nslots, uint32_t nclients,
               uint32_t ring_size, size_t qcache_bytes);
void shm_destroy(void);
/*
 * Map the region from its memfd at the address the broker mapped it at (a
 * worker after exec), and check its header.  0, or -1 with a log line.
 */
int shm_attach(int fd, void *addr);
/* 0 if the header is sane (magic, version, mapped at its own address). */
int shm_check(const struct shm_header *h);

static inline struct shm_worker *shm_worker(uint32_t i)
{
    return (struct shm_worker *)((char *)shm + shm->workers_off) + i;
}
static inline struct shm_pool *shm_pool(uint32_t i)
{
    return (struct shm_pool *)((char *)shm + shm->pools_off) + i;
}
static inline struct shm_slot *shm_slot(uint32_t i)
{
    return (struct shm_slot *)((char *)shm + shm->slots_off) + i;
}
/* More connections open than the pool may have now (it shrank by reload): close one at its lease's end. */
static inline int shm_pool_oversized(struct shm_pool *p)
{
    return (int)ck_pr_load_32(&p->nopen) > (int)ck_pr_load_32((uint32_t *)&p->pool_size);
}
static inline struct shm_client *shm_client(uint32_t i)
{
    return (struct shm_client *)((char *)shm + shm->clients_off) + i;
}
/*
 * Texts only some clients have sit in tables beside the client table, so
 * that the pages for clients without them are never touched.  Written before
 * the entry's has_appname / has_tls is set; read only when it is.
 */
static inline char *shm_client_appname(uint32_t i)
{
    return (char *)shm + shm->appnames_off + (size_t)i * CFG_NAME_MAX;
}
static inline char *shm_client_tls(uint32_t i)
{
    return (char *)shm + shm->tls_off + (size_t)i * SHM_TLS_MAX;
}
static inline struct shm_stats *shm_stats(uint32_t worker, uint32_t pool)
{
    return (struct shm_stats *)((char *)shm + shm->stats_off) + (size_t)worker * shm->npools + pool;
}
static inline struct shm_slotref *shm_pool_free_buf(struct shm_pool *p)
{
    return (struct shm_slotref *)((char *)shm + p->free_buf_off);
}

/* Pool lookup by name among configured, not removed pools; SHM_NONE if absent. */
uint32_t shm_pool_find(const char *name);

/*
 * The free stack of each pool: IDLE slots, the one released last on top, so
 * the connections (and executor threads) used last are used again while
 * warm.  Push and pop are safe from any process; both take the pool's
 * process-shared mutex.
 */
int shm_pool_put_free(struct shm_pool *p, uint32_t slot);
int shm_pool_get_free(struct shm_pool *p, struct shm_slotref *out);
/*
 * The slot idle longest, from the bottom of the stack: what the broker
 * closes when a pool shrinks (the broker only; entries above move down).
 */
int shm_pool_get_oldest_free(struct shm_pool *p, struct shm_slotref *out);
/* Slots in the free stack now (a snapshot). */
static inline uint32_t shm_pool_idle(struct shm_pool *p)
{
    return ck_pr_load_32(&p->free_top);
}
/* 1 if ref is in p's free stack now (a scan; for recovery, not the fast path). */
int shm_pool_holds(struct shm_pool *p, struct shm_slotref ref);

/* Claim a free client entry for worker w (CAS); SHM_NONE when the table is full. */
uint32_t shm_client_claim(uint32_t worker, uint32_t wgen);
void shm_client_release(uint32_t idx);
/* Record where the client connects from (family, address, port). */
void shm_client_set_addr(struct shm_client *c, const struct sockaddr *sa);
/* The client's address as SHOW CLIENTS prints it ("unix" for a local socket); returns buf. */
const char *shm_client_addr(const struct shm_client *c, char buf[SHM_ADDR_TEXT_MAX]);

/* Microseconds: monotonic for durations, realtime for display. */
int64_t shm_now_us(void);
int64_t shm_realtime_us(void);

#endif
