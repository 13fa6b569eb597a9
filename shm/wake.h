/*
 * wake: how processes sleep and wake each other through shared memory.
 *
 * Executors (broker threads) sleep on a futex word in their slot; workers
 * sleep in libevent and are woken through their eventfd.  Every sleeper first
 * raises a flag, then re-checks its condition, then sleeps; a waker acts only
 * when it can clear the flag.  Both sides put a full fence between their
 * store and their load, so one of them always sees the other.
 */
#ifndef PGIRIS_WAKE_H
#define PGIRIS_WAKE_H

#include <stdint.h>

/*
 * Sleep while *word == expect, at most timeout_ms (<= 0: forever).  Shared
 * (not FUTEX_PRIVATE) because the word lives in memory other processes map.
 */
void wake_futex_wait(uint32_t *word, uint32_t expect, int timeout_ms);
/* Bump *word and wake its sleepers. */
void wake_futex_bump(uint32_t *word);

/* Wake worker w if it said it is asleep (one eventfd write per sleep). */
void wake_worker(uint32_t w);
/* Wake the broker's event loop. */
void wake_broker(void);
/* Signal an eventfd once. */
void wake_eventfd(int efd);

#endif
