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
};

extern struct worker_state worker;

#endif
