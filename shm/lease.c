/*
 * lease: taking a backend slot and taking it back (see lease.h).
 *
 * A lease begins in the worker with a pop from the pool's free stack and
 * ends in the executor, which resets the connection and requeues the slot,
 * or, when there is nothing to reset, in the worker, which requeues it
 * without waking the executor.  Between the two the slot's owner fields say
 * who holds it, so a dead worker's leases can be found.
 */
#include "shm/lease.h"

#include <ck_pr.h>

#include "common/log.h"
#include "shm/shm.h"
#include "shm/wake.h"

uint32_t lease_acquire(uint32_t pool, uint32_t worker, uint32_t wgen, uint32_t client)
{
    struct shm_pool *p = shm_pool(pool);
    struct shm_worker *w = shm_worker(worker);
    ck_pr_store_32(&w->dequeuing, pool + 1);
    ck_pr_fence_store();
    /* The dequeue writes straight into shared memory, so the broker can see what we took. */
    if (shm_pool_get_free(p, &w->pending) < 0) {
        ck_pr_store_32(&w->dequeuing, 0);
        return SHM_NONE;
    }
    uint32_t idx = w->pending.idx;
    struct shm_slot *slot = shm_slot(idx);
    slot->owner_worker = worker;
    slot->owner_wgen = wgen;
    slot->owner_client = client;
    slot->lease_gen++;
    /* Owner fields first: the broker trusts them once it sees LEASED. */
    ck_pr_fence_store();
    ck_pr_store_32(&slot->state, SHM_SLOT_LEASED);
    ck_pr_fence_store();
    ck_pr_store_32(&w->dequeuing, 0);
    return idx;
}

int lease_reusable(const struct shm_slot *s)
{
    struct shm_pool *p = shm_pool(s->pool);
    return !ck_pr_load_32((uint32_t *)&s->reclaim) && !ck_pr_load_32((uint32_t *)&s->close) &&
           !ck_pr_load_32(&shm->shutdown) && !ck_pr_load_32(&p->removed) && !shm_pool_oversized(p) &&
           s->conn_gen == ck_pr_load_32(&p->conn_gen);
}

int lease_release(uint32_t slot, uint32_t worker)
{
    struct shm_slot *s = shm_slot(slot);
    struct shm_pool *p = shm_pool(s->pool);
    if (!lease_reusable(s))
        return -1;
    struct shm_worker *w = shm_worker(worker);
    w->released.idx = slot;
    w->released.ticket = s->ticket;
    ck_pr_fence_store();
    ck_pr_store_32(&w->releasing, 1);
    ck_pr_fence_store();
    s->txstatus = 'I';
    s->owner_worker = SHM_NONE;
    s->owner_wgen = 0;
    s->owner_client = SHM_NONE;
    ck_pr_store_32(&s->cancel, 0);
    /* The ring holds every slot, so this cannot fail; if it did, the executor would close the slot. */
    if (shm_pool_put_free(p, slot) < 0) {
        ck_pr_store_32(&w->releasing, 0);
        lease_abandon(slot);
        return 0;
    }
    ck_pr_fence_store();
    ck_pr_store_32(&w->releasing, 0);
    /* Who waits for a slot in this worker finds it at the end of the loop turn. */
    lease_wake_waiters(p, worker);
    return 0;
}

void lease_wake_waiters(struct shm_pool *p, uint32_t except)
{
    for (uint32_t w = 0; w < shm->nworkers; w++)
        if (w != except && ck_pr_load_32(&p->waiting[w]) != 0)
            wake_worker(w);
}

uint32_t lease_older_waiter(struct shm_pool *p, uint32_t self, int64_t since_us, int64_t grace_us,
                            int64_t *head_us)
{
    uint32_t found = SHM_NONE;
    int64_t oldest = since_us - grace_us;
    for (uint32_t w = 0; w < shm->nworkers; w++) {
        int64_t head = (int64_t)ck_pr_load_64((uint64_t *)&p->head_wait_us[w]);
        if (w != self && head != 0 && head < oldest && ck_pr_load_32(&p->waiting[w]) != 0) {
            oldest = head;
            found = w;
        }
    }
    *head_us = oldest;
    return found;
}

void lease_abandon(uint32_t slot)
{
    struct shm_slot *s = shm_slot(slot);
    ck_pr_store_32(&s->reclaim, 1);
    wake_futex_bump(&s->futex);
}

/* 1 if a live worker other than w is inside a dequeue that returned this ref. */
static int lease_other_taking(uint32_t w, struct shm_slotref ref)
{
    for (uint32_t v = 0; v < shm->nworkers; v++) {
        if (v == w)
            continue;
        struct shm_worker *o = shm_worker(v);
        if (ck_pr_load_32(&o->dequeuing) == 0)
            continue;
        ck_pr_fence_load();
        if (o->pending.idx == ref.idx && o->pending.ticket == ref.ticket)
            return 1;
    }
    return 0;
}

/*
 * Worker w died inside lease_acquire.  If the slot its dequeue returned is
 * out of the ring and nobody else is taking it, w had taken it: finish the
 * lease in w's name, so that reclaiming it sends the slot home.  When in
 * doubt, leave it: a lost slot costs capacity, a doubly leased one costs
 * correctness.
 */
static void lease_recover_pending(uint32_t w, uint32_t wgen)
{
    struct shm_worker *wk = shm_worker(w);
    struct shm_slotref ref = wk->pending;
    if (ref.idx >= shm->nslots)
        return;
    struct shm_slot *s = shm_slot(ref.idx);
    uint32_t pool = ck_pr_load_32(&wk->dequeuing) - 1;
    if (ck_pr_load_32(&s->state) != SHM_SLOT_IDLE || ck_pr_load_32(&s->ticket) != ref.ticket ||
        ck_pr_load_32(&s->pool) != pool)
        return;
    if (shm_pool_holds(shm_pool(pool), ref) || lease_other_taking(w, ref))
        return;
    /* A live worker that took it after all has marked it LEASED by now; then the CAS fails. */
    if (!ck_pr_cas_32(&s->state, SHM_SLOT_IDLE, SHM_SLOT_LEASED))
        return;
    s->owner_worker = w;
    s->owner_wgen = wgen;
    ck_pr_fence_store();
}

/*
 * Worker w died inside lease_release.  The ticket says how far it got, and
 * that the slot has not moved on to another lease since: still the ticket
 * of w's lease, LEASED with no owner, it was being released (nobody else
 * can lease a LEASED slot): abandon it like any lease of w.  The ticket
 * w's enqueue gave it, IDLE, yet neither in the ring, nor being taken by
 * another worker, nor taken by the broker to be closed: w died before the
 * enqueue; queue it.  Returns the number of leases abandoned (0 or 1).
 */
static int lease_recover_release(uint32_t w)
{
    struct shm_worker *wk = shm_worker(w);
    struct shm_slotref ref = wk->released;
    ck_pr_store_32(&wk->releasing, 0);
    if (ref.idx >= shm->nslots)
        return 0;
    struct shm_slot *s = shm_slot(ref.idx);
    uint32_t state = ck_pr_load_32(&s->state);
    uint32_t ticket = ck_pr_load_32(&s->ticket);
    if (state == SHM_SLOT_LEASED && ticket == ref.ticket && s->owner_worker == SHM_NONE) {
        lease_abandon(ref.idx);
        return 1;
    }
    ref.ticket++;
    if (state != SHM_SLOT_IDLE || ticket != ref.ticket || ck_pr_load_32(&s->close) ||
        ck_pr_load_32(&s->pool) >= shm->npools)
        return 0;
    struct shm_pool *p = shm_pool(s->pool);
    if (shm_pool_holds(p, ref) || lease_other_taking(w, ref))
        return 0;
    if (shm_pool_put_free(p, ref.idx) < 0)
        log_error("lease", "slot=%u free stack full", ref.idx);
    return 0;
}

int lease_reclaim_worker(uint32_t w, uint32_t wgen)
{
    int leases = 0;
    struct shm_worker *wk = shm_worker(w);
    if (ck_pr_load_32(&wk->releasing) != 0)
        leases += lease_recover_release(w);
    /*
     * A worker killed between its dequeue and marking the slot LEASED leaves
     * the slot IDLE but out of the ring.  Finish the lease for it, so the
     * executor requeues the slot: pending and the ticket tell which one it
     * was, and a ticket that moved on means the slot was requeued meanwhile.
     */
    if (ck_pr_load_32(&wk->dequeuing) != 0) {
        lease_recover_pending(w, wgen);
        ck_pr_store_32(&wk->dequeuing, 0);
    }
    for (uint32_t i = 0; i < shm->nslots; i++) {
        struct shm_slot *s = shm_slot(i);
        if (ck_pr_load_32(&s->state) == SHM_SLOT_LEASED && s->owner_worker == w && s->owner_wgen == wgen) {
            lease_abandon(i);
            leases++;
        }
    }
    for (uint32_t c = 0; c < shm->nclients; c++) {
        struct shm_client *cl = shm_client(c);
        if (ck_pr_load_32(&cl->state) == SHM_CLIENT_USED && cl->worker == w && cl->wgen == wgen)
            shm_client_release(c);
    }
    for (uint32_t p = 0; p < shm->npools; p++) {
        ck_pr_store_32(&shm_pool(p)->waiting[w], 0);
        ck_pr_store_64((uint64_t *)&shm_pool(p)->head_wait_us[w], 0);
    }
    return leases;
}
