/*
 * wake: futex and eventfd wake-ups between workers, executors and broker.
 */
#include "shm/wake.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <ck_pr.h>

#include "shm/shm.h"

void wake_futex_wait(uint32_t *word, uint32_t expect, int timeout_ms)
{
    struct timespec ts, *tsp = NULL;
    if (timeout_ms > 0) {
        ts.tv_sec = timeout_ms / 1000;
        ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
        tsp = &ts;
    }
    syscall(SYS_futex, word, FUTEX_WAIT, expect, tsp, NULL, 0);
}

void wake_futex_bump(uint32_t *word)
{
    ck_pr_inc_32(word);
    syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

void wake_eventfd(int efd)
{
    uint64_t one = 1;
    ssize_t n;
    do {
        n = write(efd, &one, sizeof(one));
    } while (n < 0 && errno == EINTR);
}

void wake_worker(uint32_t w)
{
    if (w >= shm->nworkers)
        return;
    struct shm_worker *wk = shm_worker(w);
    if (ck_pr_load_32(&wk->asleep) && ck_pr_cas_32(&wk->asleep, 1, 0))
        wake_eventfd(wk->efd);
}

void wake_broker(void)
{
    wake_eventfd(shm->broker_efd);
}
