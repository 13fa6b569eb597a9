/*
 * Tests for broker/exec: a real executor thread on a SQLite database, driven
 * through its slot's rings the way a worker drives it.  A cancel that comes
 * after the lease began but before the executor has begun serving it (the
 * executor still sleeps, idle or waiting in the previous lease) stops the
 * lease's first request, with the statement_timeout message when that
 * asked, and is spent on it; a cancel for a lease that is over, held or
 * already on the connection, never reaches the next lease.
 *
 * The executor looks at its slot when a worker writes a request or when its
 * one-second sleep runs out.  Each test first makes it sleep afresh
 * (executor_settle), so what the test does in the microseconds after that
 * happens before the executor looks, with a second to spare.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ck_pr.h>

#include "broker/exec.h"
#include "common/pgproto.h"
#include "shm/lease.h"
#include "shm/shm.h"
#include "shm/wake.h"

#define SLOT 0
#define WORKER 0
#define WGEN 3
#define CLIENT 5
#define DEADLINE_US 10000000LL      /* a stuck executor fails the test instead of hanging it */

static char db_path[64];

/* What the executor answered to one request, up to and including its LEASE_DONE. */
struct reply {
    char sqlstate[6];       /* "" when no ErrorResponse came */
    char message[128];
    int rows;
    char tag[32];
    uint8_t flags;
};

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void pause_briefly(int64_t started)
{
    if (now_us() - started > DEADLINE_US)
        fail_msg("the executor did not get there within %lld s", DEADLINE_US / 1000000);
    struct timespec ts = { 0, 200000 };
    nanosleep(&ts, NULL);
}

/* As a worker does after moving ring bytes: wake the executor if it said it sleeps. */
static int wake_executor(uint32_t *flag)
{
    ck_pr_fence_memory();
    if (!ck_pr_load_32(flag) || !ck_pr_cas_32(flag, 1, 0))
        return 0;
    wake_futex_bump(&shm_slot(SLOT)->futex);
    return 1;
}

/*
 * Wake the sleeping executor and wait until it sleeps again: it then sleeps
 * a whole second unless a request wakes it.
 */
static void executor_settle(void)
{
    uint32_t *flag = &shm_slot(SLOT)->req.consumer_waiting;
    int64_t t0 = now_us();
    while (!wake_executor(flag))
        pause_briefly(t0);
    while (ck_pr_load_32(flag) == 0)
        pause_briefly(t0);
}

/* Lease the slot once its executor queued it and sleeps; returns the lease's lease_gen. */
static uint32_t lease(void)
{
    int64_t t0 = now_us();
    while (ck_pr_load_32(&shm_slot(SLOT)->state) != SHM_SLOT_IDLE)
        pause_briefly(t0);
    executor_settle();
    assert_int_equal(lease_acquire(0, WORKER, WGEN, CLIENT), SLOT);
    return shm_slot(SLOT)->lease_gen;
}

static void send_request(uint8_t type, const char *verb, const char *sql)
{
    struct shm_slot *s = shm_slot(SLOT);
    uint8_t rec[128];
    size_t vlen = strlen(verb) + 1, slen = strlen(sql);
    size_t n = 5 + vlen + slen;
    assert_true(n <= sizeof(rec));
    rec[0] = type;
    pgproto_store_u32(rec + 1, (uint32_t)(n - 1));
    memcpy(rec + 5, verb, vlen);
    memcpy(rec + 5 + vlen, sql, slen);
    assert_int_equal(ring_write(&s->req, rec, n), n);
    wake_executor(&s->req.consumer_waiting);
}

static void read_exact(void *out, size_t n)
{
    struct shm_slot *s = shm_slot(SLOT);
    size_t got = 0;
    int64_t t0 = now_us();
    while (got < n) {
        size_t k = ring_read(&s->resp, (uint8_t *)out + got, n - got);
        got += k;
        if (k > 0)
            wake_executor(&s->resp.producer_waiting);
        else
            pause_briefly(t0);
    }
}

static void read_reply(struct reply *r)
{
    memset(r, 0, sizeof(*r));
    for (;;) {
        uint8_t hdr[5], body[512];
        read_exact(hdr, sizeof(hdr));
        uint32_t len = pgproto_load_u32(hdr + 1);
        assert_true(len >= 4 && len - 4 <= sizeof(body));
        read_exact(body, len - 4);
        if (hdr[0] == LEASE_DONE) {
            assert_int_equal(len, LEASE_DONE_LEN - 1);
            r->flags = body[1];
            return;
        }
        if (hdr[0] == 'D')
            r->rows++;
        if (hdr[0] == 'C')
            snprintf(r->tag, sizeof(r->tag), "%.*s", (int)(len - 4), (const char *)body);
        if (hdr[0] != 'E')
            continue;
        struct pgproto_reader rd;
        uint8_t field;
        const char *value;
        pgproto_reader_init(&rd, body, len - 4);
        while (pgproto_get_u8(&rd, &field) == 0 && field != 0 && pgproto_get_cstr(&rd, &value) == 0) {
            if (field == 'C')
                snprintf(r->sqlstate, sizeof(r->sqlstate), "%s", value);
            else if (field == 'M')
                snprintf(r->message, sizeof(r->message), "%s", value);
        }
    }
}

static void expect_canceled(const char *message)
{
    struct reply r;
    send_request(LEASE_REQ_EXEC, "SELECT", "SELECT 1");
    read_reply(&r);
    assert_string_equal(r.sqlstate, "57014");
    assert_string_equal(r.message, message);
    assert_true(r.flags & LEASE_F_ERROR);
}

/* SELECT 1 runs to its end; returns the LEASE_DONE flags. */
static uint8_t expect_answered(void)
{
    struct reply r;
    send_request(LEASE_REQ_EXEC, "SELECT", "SELECT 1");
    read_reply(&r);
    assert_string_equal(r.sqlstate, "");
    assert_int_equal(r.rows, 1);
    assert_string_equal(r.tag, "SELECT 1");
    return r.flags;
}

/* Ask the executor to end the lease ('X'), as a worker does when it may not requeue the slot itself. */
static void end_lease(void)
{
    uint8_t rec[5] = { LEASE_REQ_RELEASE, 0, 0, 0, 4 };
    struct shm_slot *s = shm_slot(SLOT);
    assert_int_equal(ring_write(&s->req, rec, sizeof(rec)), sizeof(rec));
    wake_executor(&s->req.consumer_waiting);
}

/* One worker, pool 0 with one SQLite connection, its executor started and queued. */
static int setup(void **state)
{
    snprintf(db_path, sizeof(db_path), "/tmp/pgiris-test-exec-%d.db", (int)getpid());
    unlink(db_path);
    char connstr[128];
    snprintf(connstr, sizeof(connstr), "Driver=SQLite3;Database=%s;StepAPI=1", db_path);
    if (shm_create(1, SHM_MAX_POOLS, 2, 4, 4096, 0) != 0)
        return -1;
    struct shm_pool *p = shm_pool(0);
    strcpy(p->name, "db");
    p->dialect = CFG_DIALECT_SQLITE;
    p->pool_size = 1;
    p->in_use = 1;
    shm_worker(WORKER)->state = SHM_WORKER_RUNNING;
    shm_worker(WORKER)->gen = WGEN;
    exec_pool_configure(0, connstr, CFG_DIALECT_SQLITE, 5);
    /* What the broker does before it starts an executor. */
    p->nopen = 1;
    p->nconnecting = 1;
    return exec_start(SLOT, 0);
}

/* Stop the executor, ending the lease a failed test left open. */
static int teardown(void **state)
{
    struct shm_slot *s = shm_slot(SLOT);
    if (ck_pr_load_32(&s->state) == SHM_SLOT_LEASED)
        lease_abandon(SLOT);
    ck_pr_store_32(&s->close, 1);
    wake_futex_bump(&s->futex);
    int64_t t0 = now_us();
    while (exec_running() > 0 && now_us() - t0 < DEADLINE_US)
        usleep(1000);
    int stopped = exec_running() == 0;
    if (stopped)
        shm_destroy();
    unlink(db_path);
    return stopped ? 0 : -1;
}

/* The executor sleeps idle when the slot is leased and the cancel comes. */
static void test_cancel_before_lease_begins(void **state)
{
    uint32_t gen = lease();
    exec_cancel(SLOT, 0, gen);
    expect_canceled("canceling statement due to user request");
    /* Spent on that request: the next one of the lease runs. */
    expect_answered();
    end_lease();
}

/*
 * The executor still waits in the previous lease, which its worker ended
 * itself (lease_release), when the next lease starts and statement_timeout
 * cancels it.
 */
static void test_cancel_before_next_lease_begins(void **state)
{
    lease();
    assert_true(expect_answered() & LEASE_F_CLEAN);
    executor_settle();
    assert_int_equal(lease_release(SLOT, WORKER), 0);
    assert_int_equal(lease_acquire(0, WORKER, WGEN, CLIENT), SLOT);
    exec_cancel(SLOT, 1, shm_slot(SLOT)->lease_gen);
    expect_canceled("canceling statement due to statement timeout");
    expect_answered();
    end_lease();
}

/*
 * A cancel that comes late, for a lease its worker ended itself while the
 * executor still serves it, reaches the connection but not the next lease.
 */
static void test_cancel_of_ended_lease(void **state)
{
    uint32_t old = lease();
    assert_true(expect_answered() & LEASE_F_CLEAN);
    executor_settle();
    assert_int_equal(lease_release(SLOT, WORKER), 0);
    assert_int_equal(lease_acquire(0, WORKER, WGEN, CLIENT), SLOT);
    exec_cancel(SLOT, 0, old);
    expect_answered();
    end_lease();
}

/* One for a lease the executor ended is held, and must not reach the next lease either. */
static void test_held_cancel_of_ended_lease(void **state)
{
    uint32_t old = lease();
    end_lease();
    lease();
    exec_cancel(SLOT, 0, old);
    expect_answered();
    end_lease();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cancel_before_lease_begins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_before_next_lease_begins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_of_ended_lease, setup, teardown),
        cmocka_unit_test_setup_teardown(test_held_cancel_of_ended_lease, setup, teardown),
    };
    return cmocka_run_group_tests_name("exec", tests, NULL, NULL);
}
