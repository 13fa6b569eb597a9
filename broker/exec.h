/*
 * exec: backend executors.  One broker thread per backend connection, each
 * owning one shm_slot and one ODBC connection.  An executor connects, queues
 * its slot as free, and then serves whichever worker leases the slot:
 * requests come in through the slot's request ring, results go out through
 * its response ring as ready-made protocol bytes, and at the end of the lease
 * it resets the connection and queues the slot again.
 */
#ifndef PGIRIS_EXEC_H
#define PGIRIS_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"

/*
 * Settings executors read when they (re)connect, kept by the broker.
 * exec_pool_configure stores a pool's connection string and dialect
 * (copied); executors pick up a change at their next connect.
 */
void exec_pool_configure(uint32_t pool, const char *connstr, enum cfg_dialect dialect,
                         double connect_timeout);

/* The largest request an executor accepts (max_message_size plus framing). */
void exec_set_max_request(size_t bytes);

/*
 * Start an executor for 'slot' (state EMPTY) in 'pool'.  The caller has
 * already counted it in the pool's nopen and nconnecting.  0 or -1.
 */
int exec_start(uint32_t slot, uint32_t pool);

/*
 * Ask the statement running on 'slot' to stop (SQLCancel), from any broker
 * thread: only while the slot serves lease number lease_gen (its shm_slot
 * lease_gen), or whatever it serves with EXEC_ANY_LEASE.  A cancel for a
 * lease the executor has not begun yet is held until it begins it, and then
 * stops the lease's first request; one for a lease that is over reaches
 * nothing.  timeout says that statement_timeout asked, for the error message.
 */
#define EXEC_ANY_LEASE UINT32_MAX
void exec_cancel(uint32_t slot, int timeout, uint32_t lease_gen);

/* Number of executor threads still running (for shutdown). */
int exec_running(void);

#endif
