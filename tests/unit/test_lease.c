/*
 * Tests for shm/lease and the pool free ring of shm/shm: leasing slots in
 * FIFO order and marking their owner, an empty pool, lease_abandon, and
 * lease_reclaim_worker after a worker dies: with leases held (also by a
 * real process killed with SIGKILL), and inside lease_acquire between its
 * dequeue and marking the slot LEASED, including the cases where the
 * pending slot must be left alone.  Two stress tests run leases from two
 * threads at once: one checks that no slot is ever held twice, the other
 * that recovering a dead worker's pending slot never takes a live
 * worker's lease away.  lease_release: the worker queueing a slot itself,
 * when it may not, waking the workers whose clients wait, a death at each
 * step inside it, and the free-ring lock left held by a dead process.
 * lease_older_waiter: which other worker's waiting client goes first.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ck_pr.h>

#include "shm/lease.h"
#include "shm/shm.h"
#include "shm/wake.h"

#define NWORKERS 2
#define NSLOTS 8
#define NCLIENTS 16
#define NPOOLED 4       /* slots 0..NPOOLED-1 belong to pool 0 */
#define GEN 5           /* generation of both workers */

/* A fresh region: pool 0 ("db") with slots 0..3 free, slot 0 on top (pushed last). */
static int setup(void **state)
{
    if (shm_create(NWORKERS, SHM_MAX_POOLS, NSLOTS, NCLIENTS, 4096, 0) != 0)
        return -1;
    struct shm_pool *p = shm_pool(0);
    strcpy(p->name, "db");
    p->pool_size = NPOOLED;
    p->min_pool_size = 0;
    p->pool_mode = 0;
    p->in_use = 1;
    for (uint32_t w = 0; w < NWORKERS; w++) {
        shm_worker(w)->state = SHM_WORKER_RUNNING;
        shm_worker(w)->gen = GEN;
    }
    for (uint32_t i = NPOOLED; i-- > 0;) {
        shm_slot(i)->pool = 0;
        if (shm_pool_put_free(p, i) != 0)
            return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    shm_destroy();
    return 0;
}

static struct shm_slotref ref_of(uint32_t idx)
{
    struct shm_slotref r = { .idx = idx, .ticket = shm_slot(idx)->ticket };
    return r;
}

/* What the executor does at the end of a lease: forget the owner, queue the slot again. */
static void requeue(uint32_t idx)
{
    struct shm_slot *s = shm_slot(idx);
    s->owner_worker = SHM_NONE;
    s->owner_wgen = 0;
    s->owner_client = SHM_NONE;
    ck_pr_store_32(&s->reclaim, 0);
    assert_int_equal(shm_pool_put_free(shm_pool(s->pool), idx), 0);
}

static void assert_leased(uint32_t idx, uint32_t w, uint32_t wgen, uint32_t client)
{
    struct shm_slot *s = shm_slot(idx);
    assert_int_equal(s->state, SHM_SLOT_LEASED);
    assert_int_equal(s->owner_worker, w);
    assert_int_equal(s->owner_wgen, wgen);
    assert_int_equal(s->owner_client, client);
}

/* Slot idx is IDLE, unclaimed and queued in pool 0's ring with its current ticket. */
static void assert_untouched_free(uint32_t idx)
{
    struct shm_slot *s = shm_slot(idx);
    assert_int_equal(s->state, SHM_SLOT_IDLE);
    assert_int_equal(s->reclaim, 0);
    assert_int_equal(s->owner_worker, SHM_NONE);
    assert_true(shm_pool_holds(shm_pool(0), ref_of(idx)));
}

static void test_put_free(void **state)
{
    struct shm_pool *p = shm_pool(0);
    for (uint32_t i = 0; i < NPOOLED; i++) {
        struct shm_slotref r = { .idx = i, .ticket = 1 };
        assert_int_equal(shm_slot(i)->state, SHM_SLOT_IDLE);
        assert_int_equal(shm_slot(i)->ticket, 1);
        assert_true(shm_pool_holds(p, r));
        r.ticket = 0;
        assert_false(shm_pool_holds(p, r));
        r.ticket = 2;
        assert_false(shm_pool_holds(p, r));
    }
    struct shm_slotref never = { .idx = NPOOLED, .ticket = 0 };
    assert_false(shm_pool_holds(p, never));
    assert_int_equal(shm_slot(NPOOLED)->state, SHM_SLOT_EMPTY);
    assert_int_equal(shm_pool_find("db"), 0);
    assert_int_equal(shm_pool_find("other"), SHM_NONE);
}

static void test_acquire_lifo(void **state)
{
    struct shm_pool *p = shm_pool(0);
    struct shm_worker *w = shm_worker(1);

    for (uint32_t i = 0; i < NPOOLED; i++) {
        struct shm_slotref r = ref_of(i);
        assert_true(shm_pool_holds(p, r));
        ck_pr_store_32(&w->dequeuing, 77);
        uint32_t got = lease_acquire(0, 1, GEN, 10 + i);
        assert_int_equal(got, i);
        assert_leased(i, 1, GEN, 10 + i);
        assert_int_equal(shm_slot(i)->lease_gen, 1);
        assert_int_equal(shm_slot(i)->reclaim, 0);
        assert_int_equal(w->dequeuing, 0);
        assert_int_equal(w->pending.idx, i);
        assert_int_equal(w->pending.ticket, r.ticket);
        assert_false(shm_pool_holds(p, r));
        for (uint32_t k = i + 1; k < NPOOLED; k++)
            assert_true(shm_pool_holds(p, ref_of(k)));
    }

    /* Empty: no slot, nothing touched, the flag is down again. */
    assert_int_equal(lease_acquire(0, 0, GEN, 3), SHM_NONE);
    assert_int_equal(shm_worker(0)->dequeuing, 0);
    for (uint32_t i = 0; i < NPOOLED; i++)
        assert_leased(i, 1, GEN, 10 + i);

    /* The slot queued last comes back first (it is the warm one), with a new ticket. */
    requeue(2);
    requeue(0);
    assert_int_equal(shm_slot(0)->ticket, 2);
    assert_int_equal(shm_slot(0)->state, SHM_SLOT_IDLE);
    assert_int_equal(lease_acquire(0, 0, GEN, 20), 0);
    assert_leased(0, 0, GEN, 20);
    assert_int_equal(shm_slot(0)->lease_gen, 2);
    assert_int_equal(shm_worker(0)->pending.ticket, 2);
    assert_int_equal(lease_acquire(0, 0, GEN, 21), 2);
    assert_int_equal(lease_acquire(0, 0, GEN, 22), SHM_NONE);
}

/* Shrinking a pool closes the connection idle longest: the bottom of the stack. */
static void test_oldest_free(void **state)
{
    struct shm_pool *p = shm_pool(0);
    struct shm_slotref r;
    assert_int_equal(shm_pool_get_oldest_free(p, &r), 0);
    assert_int_equal(r.idx, NPOOLED - 1);
    assert_int_equal(r.ticket, shm_slot(NPOOLED - 1)->ticket);
    assert_false(shm_pool_holds(p, r));
    assert_int_equal(shm_pool_idle(p), NPOOLED - 1);
    /* The others keep their order: the warm one is still leased first. */
    for (uint32_t i = 0; i < NPOOLED - 1; i++)
        assert_int_equal(lease_acquire(0, 0, GEN, i), i);
    assert_int_equal(lease_acquire(0, 0, GEN, 9), SHM_NONE);
    assert_int_equal(shm_pool_get_oldest_free(p, &r), -1);
}

static void test_acquire_other_pool(void **state)
{
    struct shm_pool *p1 = shm_pool(1);
    strcpy(p1->name, "db1");
    p1->in_use = 1;
    assert_int_equal(lease_acquire(1, 0, GEN, 1), SHM_NONE);
    assert_int_equal(shm_worker(0)->dequeuing, 0);

    shm_slot(NPOOLED)->pool = 1;
    assert_int_equal(shm_pool_put_free(p1, NPOOLED), 0);
    assert_int_equal(lease_acquire(1, 0, GEN, 1), NPOOLED);
    assert_int_equal(lease_acquire(1, 0, GEN, 2), SHM_NONE);
    for (uint32_t i = 0; i < NPOOLED; i++)
        assert_untouched_free(i);
}

struct futex_sleeper {
    uint32_t *word;
    uint32_t expect;
    int64_t slept_us;
};

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void *futex_sleeper(void *arg)
{
    struct futex_sleeper *f = arg;
    int64_t t0 = now_us();
    while (ck_pr_load_32(f->word) == f->expect && now_us() - t0 < 10000000)
        wake_futex_wait(f->word, f->expect, 10000);
    f->slept_us = now_us() - t0;
    return NULL;
}

static void test_abandon(void **state)
{
    uint32_t idx = lease_acquire(0, 0, GEN, 4);
    assert_int_equal(idx, 0);
    struct shm_slot *s = shm_slot(idx);
    uint32_t f0 = s->futex;

    /* An executor asleep on the slot's futex wakes up. */
    struct futex_sleeper f = { .word = &s->futex, .expect = f0, .slept_us = -1 };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, futex_sleeper, &f), 0);
    usleep(20000);
    lease_abandon(idx);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_true(f.slept_us < 5000000);

    assert_int_equal(s->reclaim, 1);
    assert_int_equal(s->futex, f0 + 1);
    /* The owner stays named until the executor ends the lease. */
    assert_leased(idx, 0, GEN, 4);
    for (uint32_t i = 1; i < NPOOLED; i++)
        assert_untouched_free(i);
}

static void test_reclaim_worker_scope(void **state)
{
    /* Worker 0 of this generation holds 0 and 1; worker 1 holds 2; a past worker 0 holds 3. */
    assert_int_equal(lease_acquire(0, 0, GEN, 100), 0);
    assert_int_equal(lease_acquire(0, 0, GEN, 101), 1);
    assert_int_equal(lease_acquire(0, 1, GEN, 102), 2);
    assert_int_equal(lease_acquire(0, 0, GEN - 1, 103), 3);
    /* A slot leased by worker 0 and already returned, owner fields left behind. */
    shm_slot(NPOOLED)->pool = 0;
    assert_int_equal(shm_pool_put_free(shm_pool(0), NPOOLED), 0);
    assert_int_equal(lease_acquire(0, 0, GEN, 104), NPOOLED);
    assert_int_equal(shm_pool_put_free(shm_pool(0), NPOOLED), 0);
    assert_int_equal(shm_slot(NPOOLED)->owner_worker, 0);

    uint32_t futex[NSLOTS];
    for (uint32_t i = 0; i < NSLOTS; i++)
        futex[i] = shm_slot(i)->futex;

    uint32_t c0a = shm_client_claim(0, GEN), c0b = shm_client_claim(0, GEN);
    uint32_t c1 = shm_client_claim(1, GEN), c0old = shm_client_claim(0, GEN - 1);
    assert_true(c0a != SHM_NONE && c0b != SHM_NONE && c1 != SHM_NONE && c0old != SHM_NONE);
    assert_true(c0a != c0b && c0a != c1 && c0b != c1);
    assert_true(c0old != c0a && c0old != c0b && c0old != c1);
    shm_client(c0a)->slot = 0;
    shm_client(c0a)->cancel_key = 1234;

    shm_pool(0)->waiting[0] = 3;
    shm_pool(7)->waiting[0] = 2;
    shm_pool(SHM_MAX_POOLS - 1)->waiting[0] = 1;
    shm_pool(0)->waiting[1] = 4;

    assert_int_equal(lease_reclaim_worker(0, GEN), 2);

    for (uint32_t i = 0; i < 2; i++) {
        assert_int_equal(shm_slot(i)->reclaim, 1);
        assert_int_equal(shm_slot(i)->futex, futex[i] + 1);
    }
    for (uint32_t i = 2; i < NSLOTS; i++) {
        assert_int_equal(shm_slot(i)->reclaim, 0);
        assert_int_equal(shm_slot(i)->futex, futex[i]);
    }
    assert_leased(2, 1, GEN, 102);
    assert_leased(3, 0, GEN - 1, 103);
    assert_int_equal(shm_slot(NPOOLED)->state, SHM_SLOT_IDLE);

    assert_int_equal(shm_client(c0a)->state, SHM_CLIENT_FREE);
    assert_int_equal(shm_client(c0a)->slot, SHM_NONE);
    assert_int_equal(shm_client(c0a)->cancel_key, 0);
    assert_int_equal(shm_client(c0b)->state, SHM_CLIENT_FREE);
    assert_int_equal(shm_client(c1)->state, SHM_CLIENT_USED);
    assert_int_equal(shm_client(c0old)->state, SHM_CLIENT_USED);

    for (uint32_t p = 0; p < SHM_MAX_POOLS; p++)
        assert_int_equal(shm_pool(p)->waiting[0], 0);
    assert_int_equal(shm_pool(0)->waiting[1], 4);

    /* The next generation of worker 0 holds nothing yet. */
    assert_int_equal(lease_reclaim_worker(0, GEN + 1), 0);
    assert_int_equal(shm_slot(3)->reclaim, 0);
    assert_int_equal(shm_slot(0)->futex, futex[0] + 1);
}

static void test_reclaim_dead_process(void **state)
{
    /* Worker 0 (alive) holds slot 0 throughout. */
    assert_int_equal(lease_acquire(0, 0, GEN, 1), 0);

    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Worker 1: a client, a lease for it, a client queued; then it hangs until killed. */
        uint32_t got[2];
        got[0] = shm_client_claim(1, GEN);
        got[1] = lease_acquire(0, 1, GEN, got[0]);
        shm_client(got[0])->slot = got[1];
        ck_pr_store_32(&shm_pool(0)->waiting[1], 1);
        if (write(fds[1], got, sizeof(got)) != sizeof(got))
            _exit(1);
        for (;;)
            pause();
    }
    close(fds[1]);
    uint32_t got[2] = { SHM_NONE, SHM_NONE };
    ssize_t n = read(fds[0], got, sizeof(got));
    close(fds[0]);
    kill(pid, SIGKILL);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(n, sizeof(got));
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);

    uint32_t client = got[0], idx = got[1];
    assert_true(client < NCLIENTS);
    assert_int_equal(shm_client(client)->state, SHM_CLIENT_USED);
    assert_int_equal(idx, 1);
    assert_leased(1, 1, GEN, client);
    assert_int_equal(shm_pool(0)->waiting[1], 1);

    assert_int_equal(lease_reclaim_worker(1, GEN), 1);
    assert_int_equal(shm_slot(1)->reclaim, 1);
    assert_int_equal(shm_client(client)->state, SHM_CLIENT_FREE);
    assert_int_equal(shm_pool(0)->waiting[1], 0);
    assert_leased(0, 0, GEN, 1);
    assert_int_equal(shm_slot(0)->reclaim, 0);
    for (uint32_t i = 2; i < NPOOLED; i++)
        assert_untouched_free(i);

    /* The executor ends the lease and requeues; the slot is the next one leased. */
    requeue(1);
    assert_int_equal(shm_slot(1)->state, SHM_SLOT_IDLE);
    assert_int_equal(lease_acquire(0, 1, GEN + 1, 2), 1);
    assert_int_equal(lease_acquire(0, 1, GEN + 1, 3), 2);
    assert_int_equal(lease_acquire(0, 1, GEN + 1, 4), 3);
    assert_leased(1, 1, GEN + 1, 2);
    assert_int_equal(shm_slot(1)->reclaim, 0);
    assert_int_equal(lease_acquire(0, 1, GEN + 1, 5), SHM_NONE);
}

/* Make worker w look killed right after its dequeue: the slot is out of the ring, still IDLE. */
static uint32_t die_after_dequeue(uint32_t w, uint32_t pool)
{
    struct shm_worker *wk = shm_worker(w);
    ck_pr_store_32(&wk->dequeuing, pool + 1);
    assert_int_equal(shm_pool_get_free(shm_pool(pool), &wk->pending), 0);
    return wk->pending.idx;
}

static void test_recover_inside_acquire(void **state)
{
    uint32_t idx = die_after_dequeue(1, 0);
    assert_int_equal(idx, 0);
    struct shm_slotref r = ref_of(0);
    assert_int_equal(shm_slot(0)->state, SHM_SLOT_IDLE);
    assert_false(shm_pool_holds(shm_pool(0), r));

    assert_int_equal(lease_reclaim_worker(1, GEN), 1);
    struct shm_slot *s = shm_slot(0);
    assert_int_equal(s->state, SHM_SLOT_LEASED);
    assert_int_equal(s->owner_worker, 1);
    assert_int_equal(s->owner_wgen, GEN);
    assert_int_equal(s->reclaim, 1);
    assert_int_equal(s->ticket, r.ticket);
    assert_int_equal(shm_worker(1)->dequeuing, 0);
    for (uint32_t i = 1; i < NPOOLED; i++)
        assert_untouched_free(i);

    /* Once the executor requeues it, it is an ordinary free slot again (on top). */
    requeue(0);
    assert_int_equal(lease_acquire(0, 0, GEN, 1), 0);
    assert_int_equal(lease_acquire(0, 0, GEN, 2), 1);
    assert_int_equal(lease_acquire(0, 0, GEN, 3), 2);
    assert_int_equal(lease_acquire(0, 0, GEN, 4), 3);
}

/* Worker 1 died before its dequeue took anything: pending names a slot still queued. */
static void test_recover_pending_still_queued(void **state)
{
    struct shm_worker *wk = shm_worker(1);
    ck_pr_store_32(&wk->dequeuing, 1);
    wk->pending = ref_of(0);
    assert_int_equal(lease_reclaim_worker(1, GEN), 0);
    assert_int_equal(wk->dequeuing, 0);
    for (uint32_t i = 0; i < NPOOLED; i++)
        assert_untouched_free(i);
    assert_int_equal(lease_acquire(0, 0, GEN, 1), 0);
}

/*
 * Worker 1 copied the ref during its dequeue but worker 0's dequeue won it
 * and worker 0 has not marked it LEASED yet: the slot is worker 0's.
 */
static void test_recover_other_worker_taking(void **state)
{
    uint32_t idx = die_after_dequeue(0, 0);
    struct shm_worker *w1 = shm_worker(1);
    ck_pr_store_32(&w1->dequeuing, 1);
    w1->pending = shm_worker(0)->pending;

    assert_int_equal(lease_reclaim_worker(1, GEN), 0);
    struct shm_slot *s = shm_slot(idx);
    assert_int_equal(s->state, SHM_SLOT_IDLE);
    assert_int_equal(s->reclaim, 0);
    assert_int_equal(s->owner_worker, SHM_NONE);
    assert_int_equal(w1->dequeuing, 0);
    assert_int_equal(shm_worker(0)->dequeuing, 1);
    for (uint32_t i = 1; i < NPOOLED; i++)
        assert_untouched_free(i);
}

/*
 * The pending ref is stale: the slot was leased by another worker since and
 * its executor is inside shm_pool_put_free (new ticket, IDLE, not queued
 * yet).  Marking it LEASED now would queue a leased slot.
 */
static void test_recover_stale_ticket(void **state)
{
    uint32_t idx = die_after_dequeue(1, 0);
    struct shm_slotref old = shm_worker(1)->pending;
    shm_slot(idx)->ticket = old.ticket + 1;

    assert_int_equal(lease_reclaim_worker(1, GEN), 0);
    assert_int_equal(shm_slot(idx)->state, SHM_SLOT_IDLE);
    assert_int_equal(shm_slot(idx)->reclaim, 0);
    assert_int_equal(shm_slot(idx)->owner_worker, SHM_NONE);
    assert_int_equal(shm_worker(1)->dequeuing, 0);

    /* And once it is queued again under its new ticket. */
    shm_slot(idx)->ticket = old.ticket;
    requeue(idx);
    ck_pr_store_32(&shm_worker(1)->dequeuing, 1);
    assert_int_equal(lease_reclaim_worker(1, GEN), 0);
    assert_untouched_free(idx);
}

/* dequeuing names another pool than the pending slot's. */
static void test_recover_wrong_pool(void **state)
{
    uint32_t idx = die_after_dequeue(1, 0);
    ck_pr_store_32(&shm_worker(1)->dequeuing, 2);
    assert_int_equal(lease_reclaim_worker(1, GEN), 0);
    assert_int_equal(shm_slot(idx)->state, SHM_SLOT_IDLE);
    assert_int_equal(shm_slot(idx)->reclaim, 0);
    assert_int_equal(shm_slot(idx)->owner_worker, SHM_NONE);
}

/* Killed after marking LEASED but before lowering the flag: one lease, abandoned once. */
static void test_recover_already_leased(void **state)
{
    uint32_t idx = lease_acquire(0, 1, GEN, 6);
    ck_pr_store_32(&shm_worker(1)->dequeuing, 1);
    uint32_t f0 = shm_slot(idx)->futex;
    assert_int_equal(lease_reclaim_worker(1, GEN), 1);
    assert_leased(idx, 1, GEN, 6);
    assert_int_equal(shm_slot(idx)->reclaim, 1);
    assert_int_equal(shm_slot(idx)->futex, f0 + 1);
    assert_int_equal(shm_worker(1)->dequeuing, 0);
}

/* A worker that never dequeued anything leaves a pending ref naming no slot. */
static void test_recover_no_pending(void **state)
{
    struct shm_worker *wk = shm_worker(1);
    ck_pr_store_32(&wk->dequeuing, 1);
    wk->pending.idx = SHM_NONE;
    wk->pending.ticket = 0;
    assert_int_equal(lease_reclaim_worker(1, GEN), 0);
    assert_int_equal(wk->dequeuing, 0);
    for (uint32_t i = 0; i < NPOOLED; i++)
        assert_untouched_free(i);
}

#define CYCLES 100000

struct cycler {
    uint32_t worker;
    uint32_t *holder;       /* per slot: 0 free, worker + 1 while held */
    uint32_t *go;           /* 1 start, 2 stop: the other thread found a fault */
    uint32_t cycles;
    uint32_t empty;         /* acquires that found the ring empty */
    uint32_t doubles;       /* a slot found held by someone else */
    uint32_t wrong;         /* a leased slot not showing us as owner */
    uint32_t lost;          /* requeue failed */
};

static void *cycler_run(void *arg)
{
    struct cycler *c = arg;
    uint32_t me = c->worker + 1;
    while (!ck_pr_load_32(c->go))
        ck_pr_stall();
    while (c->cycles < CYCLES && ck_pr_load_32(c->go) == 1) {
        uint32_t idx = lease_acquire(0, c->worker, GEN, c->worker);
        if (idx == SHM_NONE) {
            c->empty++;
            break;
        }
        if (idx >= NPOOLED || !ck_pr_cas_32(&c->holder[idx], 0, me)) {
            c->doubles++;
            break;
        }
        struct shm_slot *s = shm_slot(idx);
        if (ck_pr_load_32(&s->state) != SHM_SLOT_LEASED || s->owner_worker != c->worker)
            c->wrong++;
        if ((c->cycles & 7) == 0)
            sched_yield();
        if (s->owner_worker != c->worker || ck_pr_load_32(&c->holder[idx]) != me)
            c->wrong++;
        s->owner_worker = SHM_NONE;
        s->owner_client = SHM_NONE;
        ck_pr_store_32(&c->holder[idx], 0);
        if (shm_pool_put_free(shm_pool(0), idx) != 0) {
            c->lost++;
            break;
        }
        c->cycles++;
    }
    if (c->cycles < CYCLES)
        ck_pr_store_32(c->go, 2);
    return NULL;
}

static void test_concurrent_cycles(void **state)
{
    uint32_t holder[NPOOLED] = { 0 };
    uint32_t go = 0;
    struct cycler c[2];
    pthread_t t[2];

    for (uint32_t i = 0; i < 2; i++) {
        memset(&c[i], 0, sizeof(c[i]));
        c[i].worker = i;
        c[i].holder = holder;
        c[i].go = &go;
        assert_int_equal(pthread_create(&t[i], NULL, cycler_run, &c[i]), 0);
    }
    ck_pr_store_32(&go, 1);
    for (uint32_t i = 0; i < 2; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);

    uint32_t tickets = 0;
    for (uint32_t i = 0; i < 2; i++) {
        assert_int_equal(c[i].doubles, 0);
        assert_int_equal(c[i].wrong, 0);
        assert_int_equal(c[i].lost, 0);
        /* With four slots and at most one held by each thread, the ring is never empty. */
        assert_int_equal(c[i].empty, 0);
        assert_int_equal(c[i].cycles, CYCLES);
    }
    for (uint32_t i = 0; i < NPOOLED; i++) {
        assert_int_equal(holder[i], 0);
        assert_untouched_free(i);
        tickets += shm_slot(i)->ticket - 1;
    }
    assert_int_equal(tickets, 2 * CYCLES);

    /* All four are in the ring, each once. */
    struct shm_slotref r;
    uint32_t seen = 0;
    for (uint32_t i = 0; i < NPOOLED; i++) {
        assert_int_equal(shm_pool_get_free(shm_pool(0), &r), 0);
        assert_true(r.idx < NPOOLED);
        assert_int_equal(r.ticket, shm_slot(r.idx)->ticket);
        assert_false(seen & (1u << r.idx));
        seen |= 1u << r.idx;
    }
    assert_int_equal(shm_pool_get_free(shm_pool(0), &r), -1);
}

/*
 * The broker recovers worker 1's pending slot while worker 0 is in the
 * middle of leasing that same slot (worker 1 had copied the ref in its
 * dequeue and was killed before winning it).  Whatever the interleaving,
 * the lease is worker 0's: it must keep its owner fields and must not be
 * abandoned.
 */
#define RACE_ROUNDS 200000
#define RACE_MAX_US 3000000

struct racer {
    uint32_t round;         /* bumped by the main thread to start a round */
    uint32_t done;          /* round the racer finished */
    uint32_t got;
};

static void *racer_run(void *arg)
{
    struct racer *r = arg;
    uint32_t seen = 0;
    for (;;) {
        uint32_t round;
        while ((round = ck_pr_load_32(&r->round)) == seen)
            ck_pr_stall();
        if (round == UINT32_MAX)
            return NULL;
        seen = round;
        r->got = lease_acquire(0, 0, GEN, 42);
        /* The result must be visible before the main thread sees the round done. */
        ck_pr_fence_store();
        ck_pr_store_32(&r->done, round);
    }
}

static void test_recover_races_live_acquire(void **state)
{
    struct shm_pool *p = shm_pool(0);
    const struct shm_slotref *buf = shm_pool_free_buf(p);
    struct shm_worker *w1 = shm_worker(1);
    struct racer r = { 0 };
    pthread_t t;
    uint32_t bad_round = 0, bad_idx = 0, bad_owner = 0, bad_reclaim = 0;
    int bad_ret = 0;

    assert_int_equal(pthread_create(&t, NULL, racer_run, &r), 0);
    int64_t t0 = now_us();
    for (uint32_t round = 1; round <= RACE_ROUNDS && now_us() - t0 < RACE_MAX_US; round++) {
        /* Worker 1 "copied" the top of the stack and died before taking it off. */
        w1->pending = buf[p->free_top - 1];
        ck_pr_store_32(&w1->dequeuing, 1);
        ck_pr_fence_memory();
        ck_pr_store_32(&r.round, round);
        /* Start the broker a little later each round, to sweep across the worker's acquire. */
        for (uint32_t k = round % 64; k > 0; k--)
            ck_pr_stall();
        int ret = lease_reclaim_worker(1, GEN);
        while (ck_pr_load_32(&r.done) != round)
            ck_pr_stall();
        ck_pr_fence_load();

        uint32_t idx = r.got;
        if (idx >= NPOOLED) {
            ck_pr_store_32(&r.round, UINT32_MAX);
            pthread_join(t, NULL);
            fail_msg("round %u: lease_acquire returned %u", round, idx);
        }
        struct shm_slot *s = shm_slot(idx);
        if (s->owner_worker != 0 || s->reclaim != 0 || ret != 0) {
            bad_round = round;
            bad_idx = idx;
            bad_owner = s->owner_worker;
            bad_reclaim = s->reclaim;
            bad_ret = ret;
            break;
        }
        requeue(idx);
    }
    ck_pr_store_32(&r.round, UINT32_MAX);
    assert_int_equal(pthread_join(t, NULL), 0);
    if (bad_round != 0)
        fail_msg("round %u: worker 0's lease of slot %u was taken over by the recovery of "
                 "dead worker 1 (owner_worker=%u reclaim=%u, lease_reclaim_worker returned %d)",
                 bad_round, bad_idx, bad_owner, bad_reclaim, bad_ret);
}

/* ---- lease_release: the worker ends the lease itself ---- */

static void test_release_requeues(void **state)
{
    assert_int_equal(lease_acquire(0, 1, GEN, 7), 0);
    struct shm_slot *s = shm_slot(0);
    uint32_t ticket = s->ticket;
    s->txstatus = 'T';
    s->cancel = 8;
    assert_int_equal(lease_release(0, 1), 0);
    assert_int_equal(s->state, SHM_SLOT_IDLE);
    assert_int_equal(s->ticket, ticket + 1);
    assert_int_equal(s->txstatus, 'I');
    assert_int_equal(s->cancel, 0);
    assert_int_equal(shm_worker(1)->releasing, 0);
    assert_int_equal(s->reclaim, 0);
    for (uint32_t i = 0; i < NPOOLED; i++)
        assert_untouched_free(i);
    /* On top of the slots that were free before it. */
    assert_int_equal(lease_acquire(0, 0, GEN, 1), 0);
    assert_leased(0, 0, GEN, 1);
    assert_int_equal(lease_acquire(0, 0, GEN, 2), 1);
    assert_int_equal(lease_acquire(0, 0, GEN, 3), 2);
    assert_int_equal(lease_acquire(0, 0, GEN, 4), 3);
}

/* Each of these needs the executor at the end of the lease: the slot stays leased. */
static void test_release_refused(void **state)
{
    struct shm_pool *p = shm_pool(0);
    struct shm_slot *s = shm_slot(0);
    assert_int_equal(lease_acquire(0, 1, GEN, 7), 0);
    for (int k = 0; k < 6; k++) {
        uint32_t *flag = k == 0 ? &s->close : k == 1 ? &s->reclaim : k == 2 ? &shm->shutdown
                       : k == 3 ? &p->removed : k == 4 ? &p->conn_gen : &p->nopen;
        uint32_t was = *flag;
        *flag = k == 5 ? (uint32_t)p->pool_size + 1 : was + 1;
        assert_int_equal(lease_release(0, 1), -1);
        assert_leased(0, 1, GEN, 7);
        assert_int_equal(shm_worker(1)->releasing, 0);
        *flag = was;
    }
    p->nopen = (uint32_t)p->pool_size;
    assert_int_equal(lease_release(0, 1), 0);
    assert_untouched_free(0);
}

static void test_release_wakes_waiting_workers(void **state)
{
    int efd[NWORKERS];
    for (uint32_t w = 0; w < NWORKERS; w++) {
        efd[w] = eventfd(0, EFD_NONBLOCK);
        assert_true(efd[w] >= 0);
        shm_worker(w)->efd = efd[w];
        shm_worker(w)->asleep = 1;
    }
    /* Both workers have clients waiting; the releasing one (0) finds the slot itself. */
    shm_pool(0)->waiting[0] = 2;
    shm_pool(0)->waiting[1] = 1;
    assert_int_equal(lease_acquire(0, 0, GEN, 7), 0);
    assert_int_equal(lease_release(0, 0), 0);
    uint64_t v = 0;
    assert_int_equal(read(efd[1], &v, sizeof(v)), sizeof(v));
    assert_int_equal(read(efd[0], &v, sizeof(v)), -1);
    assert_int_equal(shm_worker(0)->asleep, 1);
    assert_int_equal(shm_worker(1)->asleep, 0);
    for (uint32_t w = 0; w < NWORKERS; w++)
        close(efd[w]);
}

/* What lease_release notes first: worker w is releasing slot idx, whose ticket is this. */
static void die_inside_release(uint32_t w, uint32_t idx)
{
    shm_worker(w)->released.idx = idx;
    shm_worker(w)->released.ticket = shm_slot(idx)->ticket;
    shm_worker(w)->releasing = 1;
}

/* Worker 1 died inside lease_release after it cleared the owner, before the slot was IDLE. */
static void test_recover_inside_release_leased(void **state)
{
    assert_int_equal(lease_acquire(0, 1, GEN, 7), 0);
    struct shm_slot *s = shm_slot(0);
    die_inside_release(1, 0);
    s->owner_worker = SHM_NONE;
    s->owner_client = SHM_NONE;
    assert_int_equal(lease_reclaim_worker(1, GEN), 1);
    assert_int_equal(s->state, SHM_SLOT_LEASED);
    assert_int_equal(s->reclaim, 1);
    assert_int_equal(shm_worker(1)->releasing, 0);
    for (uint32_t i = 1; i < NPOOLED; i++)
        assert_untouched_free(i);
}

/* ... after the slot was IDLE, before it was in the ring: it is queued. */
static void test_recover_inside_release_idle(void **state)
{
    assert_int_equal(lease_acquire(0, 1, GEN, 7), 0);
    struct shm_slot *s = shm_slot(0);
    die_inside_release(1, 0);
    s->owner_worker = SHM_NONE;
    s->ticket++;
    s->state = SHM_SLOT_IDLE;
    assert_false(shm_pool_holds(shm_pool(0), ref_of(0)));
    assert_int_equal(lease_reclaim_worker(1, GEN), 0);
    assert_int_equal(shm_worker(1)->releasing, 0);
    for (uint32_t i = 0; i < NPOOLED; i++)
        assert_untouched_free(i);
    assert_int_equal(lease_acquire(0, 0, GEN, 1), 0);
    assert_int_equal(lease_acquire(0, 0, GEN, 2), 1);
    assert_int_equal(lease_acquire(0, 0, GEN, 3), 2);
    assert_int_equal(lease_acquire(0, 0, GEN, 4), 3);
    assert_int_equal(lease_acquire(0, 0, GEN, 5), SHM_NONE);
}

/* ... after the slot was queued: nothing more to do, and above all no second copy. */
static void test_recover_after_release(void **state)
{
    assert_int_equal(lease_acquire(0, 1, GEN, 7), 0);
    assert_int_equal(lease_release(0, 1), 0);
    shm_worker(1)->releasing = 1;
    assert_int_equal(lease_reclaim_worker(1, GEN), 0);
    for (uint32_t i = 0; i < NPOOLED; i++)
        assert_int_equal(lease_acquire(0, 0, GEN, i), i);
    assert_int_equal(lease_acquire(0, 0, GEN, 9), SHM_NONE);
}

/*
 * ... after the slot was queued, and it has moved on since: leased by
 * worker 0 and being ended by its executor (LEASED, no owner yet queued).
 * That lease is not worker 1's to abandon.
 */
static void test_recover_release_slot_moved_on(void **state)
{
    assert_int_equal(lease_acquire(0, 1, GEN, 7), 0);
    assert_int_equal(lease_release(0, 1), 0);
    shm_worker(1)->releasing = 1;
    assert_int_equal(lease_acquire(0, 0, GEN, 9), 0);
    for (uint32_t i = 1; i < NPOOLED; i++)
        assert_int_equal(lease_acquire(0, 0, GEN, i), i);
    struct shm_slot *s = shm_slot(0);
    s->owner_worker = SHM_NONE;     /* its executor's exec_release, halfway */
    assert_int_equal(lease_reclaim_worker(1, GEN), 0);
    assert_int_equal(s->state, SHM_SLOT_LEASED);
    assert_int_equal(s->reclaim, 0);
    assert_int_equal(shm_worker(1)->releasing, 0);
}

/* ... after the slot was queued, and the broker took it out to close it: it stays out. */
static void test_recover_release_slot_closing(void **state)
{
    assert_int_equal(lease_acquire(0, 1, GEN, 7), 0);
    for (uint32_t i = 1; i < NPOOLED; i++)
        assert_int_equal(lease_acquire(0, 0, GEN, i), i);
    assert_int_equal(lease_release(0, 1), 0);
    shm_worker(1)->releasing = 1;
    struct shm_slotref ref;
    assert_int_equal(shm_pool_get_free(shm_pool(0), &ref), 0);     /* sv_close_idle */
    assert_int_equal(ref.idx, 0);
    shm_slot(0)->close = 1;
    assert_int_equal(lease_reclaim_worker(1, GEN), 0);
    assert_false(shm_pool_holds(shm_pool(0), ref_of(0)));
    assert_int_equal(lease_acquire(0, 0, GEN, 9), SHM_NONE);
}

/* A process that dies holding the free stack's lock does not stop the others queueing. */
static void test_free_lock_owner_dies(void **state)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(pthread_mutex_lock(&shm_pool(0)->free_lock));    /* and die holding it */
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    alarm(10);      /* a lock that stayed taken would hang here */
    assert_int_equal(lease_acquire(0, 0, GEN, 1), 0);
    assert_int_equal(lease_release(0, 0), 0);
    assert_int_equal(lease_acquire(0, 0, GEN, 2), 0);
    alarm(0);
    assert_leased(0, 0, GEN, 2);
    assert_untouched_free(1);
}

/* lease_older_waiter: another worker's client that began to wait more than the grace before ours. */
static void test_older_waiter(void **state)
{
    struct shm_pool *p = shm_pool(0);
    int64_t head = 0;

    assert_int_equal(lease_older_waiter(p, 0, 10000, 1000, &head), SHM_NONE);
    p->waiting[1] = 3;
    p->head_wait_us[1] = 5000;
    assert_int_equal(lease_older_waiter(p, 0, 10000, 1000, &head), 1);
    assert_int_equal(head, 5000);
    /* Within the grace, or younger than ours: ours goes first. */
    assert_int_equal(lease_older_waiter(p, 0, 5500, 1000, &head), SHM_NONE);
    assert_int_equal(lease_older_waiter(p, 0, 4000, 1000, &head), SHM_NONE);
    /* A worker never defers to itself. */
    assert_int_equal(lease_older_waiter(p, 1, 100000, 1000, &head), SHM_NONE);
    /* A start left behind with nobody queued does not count. */
    p->waiting[1] = 0;
    assert_int_equal(lease_older_waiter(p, 0, 10000, 1000, &head), SHM_NONE);
    /* A dead worker's queue is gone, start included. */
    p->waiting[1] = 2;
    assert_int_equal(lease_reclaim_worker(1, GEN), 0);
    assert_int_equal(p->head_wait_us[1], 0);
    assert_int_equal(p->waiting[1], 0);
    p->waiting[1] = 2;
    assert_int_equal(lease_older_waiter(p, 0, 10000, 1000, &head), SHM_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_free, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acquire_lifo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oldest_free, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acquire_other_pool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abandon, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reclaim_worker_scope, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reclaim_dead_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover_inside_acquire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover_pending_still_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover_other_worker_taking, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover_stale_ticket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover_wrong_pool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover_already_leased, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover_no_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_cycles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover_races_live_acquire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_requeues, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_wakes_waiting_workers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover_inside_release_leased, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover_inside_release_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover_after_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover_release_slot_moved_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover_release_slot_closing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_lock_owner_dies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_older_waiter, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
