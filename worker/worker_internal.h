/*
 * The worker process's own state, shared by worker.c and session.c.
 */
#ifndef PGIRIS_WORKER_INTERNAL_H
#define PGIRIS_WORKER_INTERNAL_H

#include <stdint.h>

#include <event2/event.h>

#include "common/config.h"
#include "worker/auth.h"
#include "shm/shm.h"
#include "worker/session.h"

struct worker_state {
    uint32_t index;
    uint32_t gen;
    struct cfg *cfg;
    struct auth_userlist *users;
    struct event_base *base;
    int stopping;                               /* graceful shutdown under way */
    struct session_list sessions;
    struct session_list waitq[SHM_MAX_POOLS];   /* per pool, first come first served */
    /* Per pool: another worker's longer-waiting client this one left free slots to, and since when. */
    struct worker_deferral {
        uint32_t worker;
        int64_t head_us;
        int64_t since_us;               /* 0 = not deferring */
    } defer[SHM_MAX_POOLS];
    struct event *defer_timer;          /* wakes the loop when a deferral has lasted too long */
    /*
     * Per slot: a waiting client's request queued behind the lease on it
     * (session.c, "chained leases"); NULL when this worker could not
     * allocate it (no chaining then).
     */
    struct worker_chain {
        struct session *next;           /* whose request it is; NULL once taken back or its client left */
        int64_t since_us;               /* when it was chained */
        uint8_t pending;                /* 'N' written, its LEASE_NEXT record not read yet */
        uint8_t handed;                 /* the lease before ended here: the record is read next */
        uint8_t clean;                  /* and needed no reset ('X' otherwise, if the record says not taken) */
        uint8_t withdrawn;              /* taken back: the record will say not taken */
    } *chain;
    uint32_t chain_orphans;             /* slots whose lease ended with a request taken back behind it */
};

extern struct worker_state worker;

#endif
