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
};

extern struct worker_state worker;

#endif
