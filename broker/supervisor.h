/*
 * supervisor: the broker's event loop.  It forks and respawns workers,
 * reclaims what a dead worker held, grows and shrinks the pools by starting
 * and stopping executors, applies reloads, and runs shutdown.  Signal
 * handling goes through libevent, so handlers never run inside other code.
 */
#ifndef PGIRIS_SUPERVISOR_H
#define PGIRIS_SUPERVISOR_H

#include "common/config.h"

/*
 * Run the broker with the loaded config: create shared memory, open the
 * listeners, start executors and workers, and serve until shutdown.
 * argv0 is the program name workers are started with.  Returns the
 * process exit status.
 */
int supervisor_run(struct cfg *cfg, char *argv0);

#endif
