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

/*
 * Entry point of a worker process after exec: "pgiris --worker INDEX SHMFD
 * SHMADDR LOGFLAGS CONFIG LISTENFD...", as the broker's supervisor builds
 * it.  Maps the shared region, loads the config and runs worker_main.
 */
int worker_exec_main(int argc, char **argv);

#endif
