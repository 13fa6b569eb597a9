/*
 * worker: a pre-forked process serving client connections with its own
 * libevent base: accepting, the session state machine, leases of backend
 * slots and forwarding of their results.
 */
#ifndef PGIRIS_WORKER_H
#define PGIRIS_WORKER_H

#include <stdint.h>

#include "common/config.h"

/*
 * Run worker 'index' (its shm_worker entry already filled in by the broker)
 * until shutdown; never returns.  'cfg' is the configuration inherited from
 * the broker; the worker re-reads the file itself on SIGHUP.
 */
void worker_main(uint32_t index, struct cfg *cfg, const int *listen_fds, int nlisten)
    __attribute__((noreturn));

#endif
