/*
 * exec: the executor thread (see exec.h).
 *
 * Slot life: EMPTY -> CONNECTING -> IDLE (in the free stack) -> LEASED ->
 * IDLE ... -> CLOSING -> EMPTY.  The executor owns every transition except
 * IDLE -> LEASED, which the leasing worker makes.  The executor never
 * touches its slot's rings while it is IDLE, so a worker that has just
 * dequeued it finds them empty.
 */
#include "broker/exec.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ck_pr.h>

#include "broker/odbc.h"
#include "common/log.h"
#include "common/pgproto.h"
#include "shm/lease.h"
#include "shm/shm.h"
#include "shm/wake.h"

struct exec_pool_conf {
    char *connstr;
    enum cfg_dialect dialect;
    double connect_timeout;
};

/*
 * An extended request's parameters, decoded in place (values point into the
 * request buffer); the arrays are kept, and grown, across requests.
 */
struct exec_params {
    struct odbc_param *params;
    int nparams;
    int params_cap;             /* params and oids */
    int16_t *formats;
    int nformats;
    int formats_cap;
    int32_t *oids;
};

struct exec {
    uint32_t slot;
    uint32_t pool;
    uint32_t lease_gen;         /* the lease being served */
    struct odbc_conn *conn;
    int tx_failed;              /* an error happened inside the open transaction */
    int64_t xact_start_us;
    uint8_t *req;               /* the request being processed */
    size_t req_cap;
    uint8_t *copy;              /* the CopyData message being loaded */
    size_t copy_cap;
    struct pgbuf out;           /* small messages the executor writes itself */
    struct exec_params ep;      /* the parameters of the request being processed */
};

static pthread_mutex_t exec_conf_lock = PTHREAD_MUTEX_INITIALIZER;
static struct exec_pool_conf exec_conf[SHM_MAX_POOLS];
static struct odbc_conn *exec_conns[65536];     /* by slot, for cancel */

/*
 * Which lease of a slot a cancel may reach, under exec_conf_lock.  A worker
 * sends its first request as soon as it has leased the slot, so a cancel can
 * come for a lease its executor has not begun yet (it still sleeps, or waits
 * in the previous lease): that one is held, by lease_gen, until the executor
 * begins the lease.  Keyed by lease_gen, a held cancel whose lease never
 * began cannot reach a later one.  exec_conf_lock comes before a
 * connection's cancel lock (odbc_cancel), never after.
 */
struct exec_cancel_state {
    uint32_t served;            /* lease_gen being served, UINT32_MAX: none */
    uint32_t held;              /* lease_gen a cancel waits for, UINT32_MAX: none */
    int held_timeout;
    /*
     * The last request has been answered and the executor has not taken
     * the next: a cancel then reaches only a request already in the ring
     * (one that came later would stop a statement sent after it).
     */
    uint32_t idle;
};
static struct exec_cancel_state exec_cancels[65536];
static size_t exec_max_request = 64 * 1024 * 1024;
static int exec_nrunning;

/* exec_run's answer for a request that gets no reply at all. */
#define EXEC_NO_REPLY 0x100

void exec_pool_configure(uint32_t pool, const char *connstr, enum cfg_dialect dialect,
                         double connect_timeout)
{
    pthread_mutex_lock(&exec_conf_lock);
    free(exec_conf[pool].connstr);
    exec_conf[pool].connstr = strdup(connstr);
    exec_conf[pool].dialect = dialect;
    exec_conf[pool].connect_timeout = connect_timeout;
    pthread_mutex_unlock(&exec_conf_lock);
}

void exec_set_max_request(size_t bytes)
{
    exec_max_request = bytes;
}

int exec_running(void)
{
    return (int)ck_pr_load_int(&exec_nrunning);
}

/* Whether a request of the lease on slot is running or waiting in the ring; under exec_conf_lock. */
static int exec_cancel_in_reach(uint32_t slot, struct exec_cancel_state *g)
{
    /* The ring first: a request taken from it since was taken after idle went to 0. */
    size_t waiting = ring_readable(&shm_slot(slot)->req);
    ck_pr_fence_load();
    return waiting > 0 || !ck_pr_load_32(&g->idle);
}

void exec_cancel(uint32_t slot, int timeout, uint32_t lease_gen)
{
    struct exec_cancel_state *g = &exec_cancels[slot];
    pthread_mutex_lock(&exec_conf_lock);
    if (lease_gen == EXEC_ANY_LEASE || g->served == lease_gen) {
        if (exec_conns[slot] != NULL && (lease_gen == EXEC_ANY_LEASE || exec_cancel_in_reach(slot, g)))
            odbc_cancel(exec_conns[slot], timeout);
    } else {
        /* A lease not begun yet; or one that is over, which no lease to come matches. */
        g->held = lease_gen;
        g->held_timeout = timeout;
    }
    pthread_mutex_unlock(&exec_conf_lock);
}

/*
 * Let cancels reach lease gen of the slot from now on (UINT32_MAX: none):
 * forget those of older leases, and pass on the one held for gen.  All
 * under the lock, so no cancel lands between the clear and the gate.
 */
static void exec_cancel_gate(struct exec *e, uint32_t gen)
{
    struct exec_cancel_state *g = &exec_cancels[e->slot];
    pthread_mutex_lock(&exec_conf_lock);
    g->served = gen;
    if (e->conn != NULL) {
        odbc_cancel_clear(e->conn);
        if (gen != UINT32_MAX && g->held == gen)
            odbc_cancel(e->conn, g->held_timeout);
    }
    g->held = UINT32_MAX;
    pthread_mutex_unlock(&exec_conf_lock);
}

/* A request was answered: a cancel that came during it is spent, and one that comes now reaches no statement. */
static void exec_between_requests(struct exec *e)
{
    pthread_mutex_lock(&exec_conf_lock);
    if (e->conn != NULL)
        odbc_cancel_clear(e->conn);
    ck_pr_store_32(&exec_cancels[e->slot].idle, 1);
    pthread_mutex_unlock(&exec_conf_lock);
}

static void exec_set_conn(struct exec *e, struct odbc_conn *c)
{
    pthread_mutex_lock(&exec_conf_lock);
    exec_conns[e->slot] = c;
    pthread_mutex_unlock(&exec_conf_lock);
    e->conn = c;
}

static int exec_connect(struct exec *e)
{
    struct shm_pool *p = shm_pool(e->pool);
    struct shm_slot *s = shm_slot(e->slot);
    char *connstr;
    enum cfg_dialect dialect;
    double timeout;

    pthread_mutex_lock(&exec_conf_lock);
    connstr = strdup(exec_conf[e->pool].connstr ? exec_conf[e->pool].connstr : "");
    dialect = exec_conf[e->pool].dialect;
    timeout = exec_conf[e->pool].connect_timeout;
    s->conn_gen = ck_pr_load_32(&p->conn_gen);
    pthread_mutex_unlock(&exec_conf_lock);
    if (connstr == NULL)
        return -1;

    char err[sizeof(p->last_connect_error)];
    struct odbc_conn *c = NULL;
    int rc = odbc_connect(connstr, dialect, timeout, &c, err, sizeof(err));
    free(connstr);
    if (rc < 0) {
        log_warning("exec", "slot=%u db=%s connect failed: %s", e->slot, p->name, err);
        snprintf(p->last_connect_error, sizeof(p->last_connect_error), "%s", err);
        ck_pr_store_64((uint64_t *)&p->last_connect_fail_us, (uint64_t)shm_realtime_us());
        return -1;
    }
    ck_pr_store_64((uint64_t *)&p->last_connect_fail_us, 0);
    s->connect_time_us = shm_realtime_us();
    odbc_set_schema_counter(c, &p->schema_gen);
    exec_set_conn(e, c);
    log_debug("exec", "slot=%u db=%s connected", e->slot, p->name);
    return 0;
}

static void exec_disconnect(struct exec *e)
{
    if (e->conn != NULL) {
        struct odbc_conn *c = e->conn;
        exec_set_conn(e, NULL);
        odbc_disconnect(c);
    }
}

/*
 * Sleep on the slot's futex until ready() holds, raising *flag so that the
 * other side knows to wake us.  Returns when ready() holds or the slot is
 * reclaimed or closed.
 */
static void exec_sleep(struct shm_slot *s, uint32_t *flag, int (*ready)(struct shm_slot *))
{
    uint32_t v = ck_pr_load_32(&s->futex);
    ck_pr_store_32(flag, 1);
    /* Our flag must be visible before we look at the ring again (see wake.h). */
    ck_pr_fence_memory();
    if (!ready(s) && !ck_pr_load_32(&s->reclaim) && !ck_pr_load_32(&s->close))
        wake_futex_wait(&s->futex, v, 1000);
    ck_pr_store_32(flag, 0);
}

static int exec_req_ready(struct shm_slot *s)
{
    return ring_readable(&s->req) > 0;
}

static int exec_resp_ready(struct shm_slot *s)
{
    return ring_writable(&s->resp) > 0;
}

static int exec_leased(struct shm_slot *s)
{
    return ck_pr_load_32(&s->state) == SHM_SLOT_LEASED;
}

static void exec_notify_worker(struct shm_slot *s, uint32_t *flag)
{
    /* The bytes we moved must be visible before we read the worker's flag. */
    ck_pr_fence_memory();
    if (ck_pr_load_32(flag) && ck_pr_cas_32(flag, 1, 0))
        wake_worker(s->owner_worker);
}

/* Read exactly n request bytes; -1 if the lease was reclaimed meanwhile. */
static int exec_read_request(struct shm_slot *s, void *out, size_t n)
{
    size_t got = 0;
    while (got < n) {
        if (ck_pr_load_32(&s->reclaim))
            return -1;
        size_t k = ring_read(&s->req, (uint8_t *)out + got, n - got);
        if (k > 0) {
            got += k;
            exec_notify_worker(s, &s->req.producer_waiting);
            continue;
        }
        exec_sleep(s, &s->req.consumer_waiting, exec_req_ready);
    }
    return 0;
}

/* odbc sink: copy into the response ring, sleeping while it is full. */
static int exec_sink_write(void *arg, const void *p, size_t n)
{
    struct shm_slot *s = arg;
    const uint8_t *b = p;
    while (n > 0) {
        if (ck_pr_load_32(&s->reclaim))
            return -1;
        size_t k = ring_write(&s->resp, b, n);
        if (k > 0) {
            b += k;
            n -= k;
            exec_notify_worker(s, &s->resp.consumer_waiting);
            continue;
        }
        exec_sleep(s, &s->resp.producer_waiting, exec_resp_ready);
    }
    return 0;
}

static char exec_txstatus(struct exec *e)
{
    if (e->conn == NULL || !odbc_in_transaction(e->conn))
        return 'I';
    return e->tx_failed ? 'E' : 'T';
}

/*
 * Whether the worker may end the lease itself after this request: it went
 * without error and left nothing for exec_release to undo.  Not after a
 * COPY, whose stray CopyData may still come.
 */
static int exec_clean(struct exec *e, uint8_t type, int flags)
{
    return flags == 0 && type != LEASE_REQ_COPY && e->conn != NULL && odbc_is_reset(e->conn);
}

static int exec_send_done(struct exec *e, int flags)
{
    uint8_t rec[LEASE_DONE_LEN] = { LEASE_DONE, 0, 0, 0, LEASE_DONE_LEN - 1 };
    uint64_t sig = e->conn != NULL ? odbc_take_sig(e->conn) : 0;
    rec[5] = (uint8_t)exec_txstatus(e);
    rec[6] = (uint8_t)flags;
    pgproto_store_u32(rec + 7, (uint32_t)(sig >> 32));
    pgproto_store_u32(rec + 11, (uint32_t)sig);
    shm_slot(e->slot)->txstatus = (char)rec[5];
    return exec_sink_write(shm_slot(e->slot), rec, sizeof(rec));
}

static int exec_send_error(struct exec *e, const char *sqlstate, const char *msg)
{
    pgbuf_reset(&e->out);
    pgproto_error(&e->out, 'E', "ERROR", sqlstate, msg, NULL, NULL);
    return exec_sink_write(shm_slot(e->slot), e->out.data, e->out.len);
}

static int exec_send_close_complete(struct exec *e)
{
    pgbuf_reset(&e->out);
    pgproto_begin(&e->out, '3');
    pgproto_end(&e->out);
    return exec_sink_write(shm_slot(e->slot), e->out.data, e->out.len);
}

/*
 * Room for n parameters and nf formats, kept from one request to the next:
 * most requests fit in what the previous ones left, with no allocation.
 */
static int exec_params_grow(struct exec_params *ep, int n, int nf)
{
    if (ep->params == NULL || n > ep->params_cap) {
        int cap = n < 16 ? 16 : n;
        struct odbc_param *p = realloc(ep->params, (size_t)cap * sizeof(*p));
        if (p == NULL)
            return -1;
        ep->params = p;
        int32_t *o = realloc(ep->oids, (size_t)cap * sizeof(*o));
        if (o == NULL)
            return -1;
        ep->oids = o;
        ep->params_cap = cap;
    }
    if (ep->formats == NULL || nf > ep->formats_cap) {
        int cap = nf < 16 ? 16 : nf;
        int16_t *f = realloc(ep->formats, (size_t)cap * sizeof(*f));
        if (f == NULL)
            return -1;
        ep->formats = f;
        ep->formats_cap = cap;
    }
    memset(ep->params, 0, (size_t)n * sizeof(*ep->params));
    return 0;
}

static void exec_params_free(struct exec_params *ep)
{
    free(ep->params);
    free(ep->oids);
    free(ep->formats);
    memset(ep, 0, sizeof(*ep));
}

/* A request with thousands of parameters should not leave its arrays behind for good. */
static void exec_params_trim(struct exec_params *ep)
{
    if (ep->params_cap > 256 || ep->formats_cap > 256)
        exec_params_free(ep);
}

/*
 * Decode the parameter part of an 'E' (values) or 'D' (types only) request
 * from r; the SQL is what remains.  -1 on a malformed request.
 */
static int exec_params_read(struct pgproto_reader *r, int with_values, struct exec_params *ep)
{
    int16_t n, nf;
    ep->nparams = ep->nformats = 0;
    if (pgproto_get_i16(r, &n) < 0 || n < 0)
        return -1;
    size_t mark = r->pos;
    /* Formats come after the parameters: find their count first by skipping. */
    for (int i = 0; i < n; i++) {
        int32_t oid, len = -1;
        int16_t fmt = 0;
        const uint8_t *v;
        if (pgproto_get_i32(r, &oid) < 0)
            return -1;
        if (with_values &&
            (pgproto_get_i16(r, &fmt) < 0 || pgproto_get_i32(r, &len) < 0 ||
             (len > 0 && pgproto_get_bytes(r, &v, (size_t)len) < 0)))
            return -1;
    }
    if (pgproto_get_i16(r, &nf) < 0 || nf < 0)
        return -1;
    if (exec_params_grow(ep, n, nf) < 0)
        return -1;
    ep->nparams = n;
    ep->nformats = nf;
    for (int i = 0; i < nf; i++)
        if (pgproto_get_i16(r, &ep->formats[i]) < 0)
            return -1;
    size_t end = r->pos;
    r->pos = mark;
    for (int i = 0; i < n; i++) {
        struct odbc_param *p = &ep->params[i];
        pgproto_get_i32(r, &ep->oids[i]);
        p->type_oid = ep->oids[i];
        p->len = -1;
        if (!with_values)
            continue;
        pgproto_get_i16(r, &p->format);
        pgproto_get_i32(r, &p->len);
        if (p->len > 0)
            pgproto_get_bytes(r, &p->value, (size_t)p->len);
        else if (p->len == 0)
            p->value = (const uint8_t *)"";
    }
    r->pos = end;
    return r->err ? -1 : 0;
}

_Static_assert(LEASE_EXEC_DESCRIBE == ODBC_F_DESCRIBE && LEASE_EXEC_SELECT_TAG == ODBC_F_SELECT_TAG &&
                   LEASE_EXEC_AS_DESCRIBED == ODBC_F_AS_DESCRIBED,
               "an 'E' request's flags are odbc_exec_params's");

/* The extended-protocol requests: 'E', 'F' and 'D'.  Returns an enum odbc_result. */
static int exec_run_extended(struct exec *e, uint8_t type, const char *body, size_t len)
{
    struct odbc_sink sink = { exec_sink_write, shm_slot(e->slot) };
    struct pgproto_reader r;
    struct exec_params *ep = &e->ep;
    int rc;

    if (type == LEASE_REQ_FETCH) {
        int32_t max_rows = 0, portal = 0;
        pgproto_reader_init(&r, body, len);
        if (pgproto_get_i32(&r, &max_rows) < 0 || pgproto_get_i32(&r, &portal) < 0)
            return exec_send_error(e, "08P01", "malformed fetch request") == 0 ? ODBC_ERROR : ODBC_ABANDONED;
        if (max_rows < 0)
            return odbc_close_portal(e->conn, (uint32_t)portal, &sink);
        return odbc_fetch_more(e->conn, (uint32_t)portal, max_rows, &sink);
    }
    if (type == LEASE_REQ_DESCRIBE) {
        uint8_t how = 0;
        pgproto_reader_init(&r, body, len);
        if (pgproto_get_u8(&r, &how) < 0 || exec_params_read(&r, 0, ep) < 0) {
            exec_params_trim(ep);
            return exec_send_error(e, "08P01", "malformed describe request") == 0 ? ODBC_ERROR : ODBC_ABANDONED;
        }
        if (how & LEASE_DESCRIBE_CURSOR)
            rc = odbc_describe_cursor(e->conn, body + r.pos, len - r.pos, &sink);
        else
            rc = odbc_describe(e->conn, body + r.pos, len - r.pos, ep->nparams, ep->oids,
                               ((how & LEASE_DESCRIBE_PARAMS) ? ODBC_DESCRIBE_PARAMS : 0) |
                                   ((how & LEASE_DESCRIBE_ONCE) ? ODBC_DESCRIBE_ONCE : 0),
                               ep->formats,
                               ep->nformats, &sink);
        exec_params_trim(ep);
        return rc;
    }
    const char *verb = body;
    size_t vlen = strnlen(body, len);
    uint8_t flags = 0;
    int32_t max_rows = 0, portal = 0, sig_hi = 0, sig_lo = 0;
    pgproto_reader_init(&r, body, len);
    r.pos = vlen + 1;
    if (vlen == len || pgproto_get_u8(&r, &flags) < 0 || pgproto_get_i32(&r, &max_rows) < 0 ||
        pgproto_get_i32(&r, &portal) < 0 || pgproto_get_i32(&r, &sig_hi) < 0 ||
        pgproto_get_i32(&r, &sig_lo) < 0 || exec_params_read(&r, 1, ep) < 0) {
        exec_params_trim(ep);
        return exec_send_error(e, "08P01", "malformed execute request") == 0 ? ODBC_ERROR : ODBC_ABANDONED;
    }
    odbc_set_portal(e->conn, (uint32_t)portal);
    odbc_set_seen_sig(e->conn, (uint64_t)(uint32_t)sig_hi << 32 | (uint32_t)sig_lo);
    rc = odbc_exec_params(e->conn, body + r.pos, len - r.pos, verb, ep->params, ep->nparams, ep->formats,
                          ep->nformats, flags, max_rows, &sink);
    exec_params_trim(ep);
    return rc;
}

/* odbc_copy_source: the next 'd', 'c' or 'f' message the worker forwarded. */
static int exec_copy_next(void *arg, char *type, const uint8_t **body, size_t *len)
{
    struct exec *e = arg;
    struct shm_slot *s = shm_slot(e->slot);
    uint8_t hdr[5];

    if (exec_read_request(s, hdr, sizeof(hdr)) < 0)
        return -1;
    uint32_t n = pgproto_load_u32(hdr + 1);
    if (n < 4 || n - 4 > exec_max_request)
        return -1;
    size_t blen = n - 4;
    if (blen + 1 > e->copy_cap) {
        uint8_t *nb = realloc(e->copy, blen + 1);
        if (nb == NULL)
            return -1;
        e->copy = nb;
        e->copy_cap = blen + 1;
    }
    if (exec_read_request(s, e->copy, blen) < 0)
        return -1;
    e->copy[blen] = '\0';
    *type = (char)hdr[0];
    *body = e->copy;
    *len = blen;
    return 0;
}

static int exec_copy(struct exec *e, const char *sql, size_t len, struct odbc_sink *sink)
{
    struct odbc_copy_source src = { exec_copy_next, e };
    int rc = odbc_copy(e->conn, sql, len, &src, sink);
    if (e->copy_cap > 64 * 1024) {
        free(e->copy);
        e->copy = NULL;
        e->copy_cap = 0;
    }
    return rc;
}

/* Run one request; returns LEASE_F_* flags, or -1 if the sink was abandoned. */
static int exec_run(struct exec *e, uint8_t type, const char *body, size_t len)
{
    struct shm_slot *s = shm_slot(e->slot);
    struct odbc_sink sink = { exec_sink_write, s };
    const char *verb = body;
    size_t vlen = strnlen(body, len);
    const char *sql = body + vlen + 1;
    size_t sql_len = vlen < len ? len - vlen - 1 : 0;
    int was_in_tx = e->conn != NULL && odbc_in_transaction(e->conn);
    int64_t t0 = shm_now_us();
    int rc;

    /* What a worker sent after the COPY ended gets no reply, whatever became of the connection. */
    if (type == LEASE_REQ_COPY_DATA || type == LEASE_REQ_COPY_DONE || type == LEASE_REQ_COPY_FAIL) {
        return EXEC_NO_REPLY;
    } else if (type == LEASE_REQ_FETCH && len >= 4 && (int32_t)pgproto_load_u32((const uint8_t *)body) < 0) {
        /* Close of a portal: CloseComplete in a failed transaction too, as in PostgreSQL. */
        if (e->conn != NULL)
            rc = exec_run_extended(e, type, body, len);
        else if (exec_send_close_complete(e) < 0)
            return -1;
        else
            return 0;
    } else if (e->conn == NULL) {
        rc = exec_send_error(e, "08006", "backend connection lost") == 0 ? ODBC_BROKEN : ODBC_ABANDONED;
    } else if (type == LEASE_REQ_SAVEPOINT && !was_in_tx) {
        char msg[80];
        snprintf(msg, sizeof(msg), "%s can only be used in transaction blocks",
                 strcmp(verb, "SAVEPOINT") == 0 ? "SAVEPOINT"
                 : strcmp(verb, "RELEASE") == 0 ? "RELEASE SAVEPOINT" : "ROLLBACK TO SAVEPOINT");
        if (exec_send_error(e, "25P01", msg) < 0)
            return -1;
        return LEASE_F_ERROR;
    } else if (e->tx_failed && type != LEASE_REQ_COMMIT && type != LEASE_REQ_ROLLBACK &&
               !(type == LEASE_REQ_SAVEPOINT && strcmp(verb, "ROLLBACK") == 0)) {
        if (exec_send_error(e, "25P02", PGPROTO_TX_ABORTED) < 0)
            return -1;
        return LEASE_F_ERROR;
    } else {
        switch (type) {
        case LEASE_REQ_BEGIN:
            rc = odbc_begin(e->conn, verb, sql, sql_len, &sink);
            break;
        case LEASE_REQ_TX_MODES:
            rc = odbc_set_transaction(e->conn, verb, sql, sql_len, &sink);
            break;
        case LEASE_REQ_SAVEPOINT:
            rc = odbc_exec(e->conn, sql, sql_len, verb, &sink);
            /* ROLLBACK TO undoes the error as well as the work. */
            if (rc == ODBC_OK && strcmp(verb, "ROLLBACK") == 0)
                e->tx_failed = 0;
            break;
        case LEASE_REQ_COPY:
            rc = exec_copy(e, sql, sql_len, &sink);
            break;
        case LEASE_REQ_COMMIT:
            /* COMMIT of a failed transaction rolls back, and says so, as PostgreSQL does. */
            rc = e->tx_failed ? odbc_rollback(e->conn, "ROLLBACK", &sink)
                              : odbc_commit(e->conn, verb, &sink);
            break;
        case LEASE_REQ_ROLLBACK:
            rc = odbc_rollback(e->conn, verb, &sink);
            break;
        case LEASE_REQ_EXEC_PARAMS:
        case LEASE_REQ_FETCH:
        case LEASE_REQ_DESCRIBE:
            rc = exec_run_extended(e, type, body, len);
            break;
        default: {
            struct shm_pool *p = shm_pool(e->pool);
            uint64_t shaped = odbc_autoparam_count(e->conn);
            odbc_set_autoparam(e->conn, (int)ck_pr_load_32(&p->auto_parameterize));
            rc = odbc_exec(e->conn, sql, sql_len, verb, &sink);
            if (odbc_autoparam_count(e->conn) != shaped)
                ck_pr_inc_64(&p->autoparam_count);
            break;
        }
        }
    }

    /* Taken whatever the outcome: a shape that failed to prepare before its literal form ran is no answer. */
    int unprepared = e->conn != NULL && odbc_take_unprepared(e->conn);
    int64_t dt = shm_now_us() - t0;
    ck_pr_store_64(&s->n_queries, s->n_queries + 1);
    ck_pr_store_64(&s->query_us, s->query_us + (uint64_t)dt);
    int in_tx = e->conn != NULL && odbc_in_transaction(e->conn);
    if (!was_in_tx && in_tx)
        e->xact_start_us = t0;
    if (!in_tx) {
        if (was_in_tx || rc == ODBC_OK || rc == ODBC_ERROR) {
            ck_pr_store_64(&s->n_xacts, s->n_xacts + 1);
            ck_pr_store_64(&s->xact_us,
                           s->xact_us + (uint64_t)(shm_now_us() - (was_in_tx ? e->xact_start_us : t0)));
        }
        e->tx_failed = 0;
    }

    switch (rc) {
    case ODBC_OK:
        return 0;
    case ODBC_ERROR:
        if (in_tx)
            e->tx_failed = 1;
        return LEASE_F_ERROR | (unprepared ? LEASE_F_UNPREPARED : 0);
    case ODBC_BROKEN:
        log_warning("exec", "slot=%u db=%s backend connection lost", e->slot, shm_pool(e->pool)->name);
        exec_disconnect(e);
        e->tx_failed = 0;
        return LEASE_F_ERROR | LEASE_F_BROKEN;
    default:
        return -1;
    }
}

/*
 * End of lease: roll back what is open, then queue the slot again, or close
 * it when the pool shrank, the connection string changed or we are stopping.
 * Returns 0 if the executor goes on, -1 if it must stop.
 */
static int exec_release(struct exec *e)
{
    struct shm_slot *s = shm_slot(e->slot);
    struct shm_pool *p = shm_pool(e->pool);

    exec_cancel_gate(e, UINT32_MAX);
    if (ck_pr_load_32(&s->discard)) {
        /* Temporary tables, held cursors, locks: only a new connection is sure to have none. */
        ck_pr_store_32(&s->discard, 0);
        if (e->conn != NULL) {
            log_info("exec", "slot=%u db=%s: the client left session state on the connection; reconnecting",
                     e->slot, p->name);
            exec_disconnect(e);
        }
    }
    if (e->conn != NULL && odbc_reset(e->conn) < 0) {
        log_warning("exec", "slot=%u db=%s reset failed; reconnecting", e->slot, p->name);
        exec_disconnect(e);
    }
    e->tx_failed = 0;
    s->txstatus = 'I';
    s->owner_worker = SHM_NONE;
    s->owner_client = SHM_NONE;
    ck_pr_store_32(&s->reclaim, 0);
    ck_pr_store_32(&s->cancel, 0);
    ck_pr_store_32(&s->chain, LEASE_CHAIN_NONE);
    /* Whatever a departed owner left in the rings is discarded; nobody else reads them now. */
    ring_reset(&s->req);
    ring_reset(&s->resp);

    if (ck_pr_load_32(&shm->shutdown) || ck_pr_load_32(&s->close) || shm_pool_oversized(p) ||
        ck_pr_load_32(&p->removed))
        return -1;
    if (s->conn_gen != ck_pr_load_32(&p->conn_gen))
        exec_disconnect(e);
    if (e->conn == NULL && exec_connect(e) < 0)
        return -1;
    if (shm_pool_put_free(p, e->slot) < 0) {
        log_error("exec", "slot=%u db=%s free stack full", e->slot, p->name);
        return -1;
    }
    lease_wake_waiters(p, SHM_NONE);
    return 0;
}

/* Let cancels reach the lease now on the slot, and apply one that came before. */
static void exec_lease_begin(struct exec *e)
{
    /*
     * We saw LEASED (or the lease's first request): the lease_gen the worker
     * wrote before it must be what we read, or the gate would drop the
     * cancel held for this lease.
     */
    ck_pr_fence_load();
    e->lease_gen = ck_pr_load_32(&shm_slot(e->slot)->lease_gen);
    exec_cancel_gate(e, e->lease_gen);
}

/*
 * Wait for the next request of the lease: 0 when one is there, 1 when the
 * worker ended the lease itself (lease_release) and nobody leased the slot
 * again, -1 when the lease was reclaimed.  A worker may end the lease and
 * another begin the next before we look: the request then belongs to the
 * new lease (lease_gen moved on), which gets the cancel gate.
 */
static int exec_wait_request(struct exec *e)
{
    struct shm_slot *s = shm_slot(e->slot);
    for (;;) {
        if (ck_pr_load_32(&s->reclaim))
            return -1;
        if (ring_readable(&s->req) > 0) {
            ck_pr_fence_load();
            if (ck_pr_load_32(&s->lease_gen) != e->lease_gen)
                exec_lease_begin(e);
            return 0;
        }
        if (!exec_leased(s))
            return 1;
        exec_sleep(s, &s->req.consumer_waiting, exec_req_ready);
    }
}

/* Read and drop n request bytes; -1 if the lease was reclaimed meanwhile. */
static int exec_skip_request(struct exec *e, size_t n)
{
    uint8_t buf[4096];
    while (n > 0) {
        size_t k = n < sizeof(buf) ? n : sizeof(buf);
        if (exec_read_request(shm_slot(e->slot), buf, k) < 0)
            return -1;
        n -= k;
    }
    return 0;
}

/* Read the next request through, unanswered: a 'b' with the request it opens the block for. */
static int exec_skip_next(struct exec *e)
{
    uint8_t hdr[5];
    do {
        if (exec_read_request(shm_slot(e->slot), hdr, sizeof(hdr)) < 0)
            return -1;
        uint32_t n = pgproto_load_u32(hdr + 1);
        if (n < 4 || exec_skip_request(e, n - 4) < 0)
            return -1;
    } while (hdr[0] == LEASE_REQ_BEGIN_QUIET);
    return 0;
}

/*
 * 'N' (a chained lease, see shm/lease.h): the worker queued its next
 * client's request behind the request just answered, which it expected to
 * end the lease.  When that lease did end clean the slot goes on to the
 * client at once, without going back to the pool and without this thread
 * sleeping until a worker leases it again; otherwise the request is read
 * through and the worker ends the lease as usual.  Returns -1 if the lease
 * was reclaimed meanwhile.
 */
static int exec_chain(struct exec *e, int clean, const uint8_t *body, size_t len)
{
    struct shm_slot *s = shm_slot(e->slot);
    uint32_t chain = ck_pr_fas_32(&s->chain, LEASE_CHAIN_NONE);
    int take = clean && len == 4 && chain == LEASE_CHAIN_PENDING && exec_txstatus(e) == 'I' &&
               !ck_pr_load_32(&s->discard) && lease_reusable(s);
    if (take) {
        /* No cancel of the lease before may reach the next one's request. */
        exec_cancel_gate(e, UINT32_MAX);
        s->owner_client = pgproto_load_u32(body);
        ck_pr_store_32(&s->cancel, 0);
        ck_pr_fence_store();
        ck_pr_store_32(&s->lease_gen, s->lease_gen + 1);
        exec_lease_begin(e);
    } else if (exec_skip_next(e) < 0) {
        return -1;
    }
    uint8_t rec[LEASE_NEXT_LEN] = { LEASE_NEXT, 0, 0, 0, LEASE_NEXT_LEN - 1, (uint8_t)take };
    if (exec_sink_write(s, rec, sizeof(rec)) < 0)
        return -1;
    /* Taken, the gate has just passed on a cancel held for the new lease: it stays. */
    if (!take)
        exec_between_requests(e);
    return 0;
}

/* Serve one lease until the worker releases the slot or goes away. */
static int exec_serve_lease(struct exec *e)
{
    struct shm_slot *s = shm_slot(e->slot);
    int clean = 0;              /* the last DONE said LEASE_F_CLEAN */
    exec_lease_begin(e);
    for (;;) {
        uint8_t hdr[5];
        int w = exec_wait_request(e);
        if (w > 0)
            return 0;
        /* Taken: before its bytes leave the ring (exec_cancel_in_reach). */
        ck_pr_store_32(&exec_cancels[e->slot].idle, 0);
        ck_pr_fence_memory();
        if (w < 0 || exec_read_request(s, hdr, sizeof(hdr)) < 0)
            return exec_release(e);
        uint32_t len = pgproto_load_u32(hdr + 1);
        if (len < 4) {
            log_error("exec", "slot=%u bad request length %u; dropping lease", e->slot, len);
            return exec_release(e);
        }
        size_t body_len = len - 4;
        if (body_len > exec_max_request) {
            /*
             * Larger than a client's message may be, once the worker built it
             * (each parameter marker carries its value, a translation grows
             * the text): read it through, so that the ring stays in step with
             * the worker, and refuse it.
             */
            char msg[160];
            if (exec_skip_request(e, body_len) < 0)
                return exec_release(e);
            snprintf(msg, sizeof(msg), "statement of %zu bytes, with its parameters, exceeds the %zu bytes "
                     "an executor takes (max_message_size + %d)", body_len, exec_max_request, LEASE_REQUEST_SLACK);
            if (e->conn != NULL && odbc_in_transaction(e->conn))
                e->tx_failed = 1;
            if (exec_send_error(e, "54000", msg) < 0 || exec_send_done(e, LEASE_F_ERROR) < 0)
                return exec_release(e);
            exec_between_requests(e);
            continue;
        }
        if (body_len + 1 > e->req_cap) {
            uint8_t *nb = realloc(e->req, body_len + 1);
            if (nb == NULL)
                return exec_release(e);
            e->req = nb;
            e->req_cap = body_len + 1;
        }
        if (exec_read_request(s, e->req, body_len) < 0)
            return exec_release(e);
        e->req[body_len] = '\0';
        s->request_time_us = shm_realtime_us();

        if (hdr[0] == LEASE_REQ_RELEASE)
            return exec_release(e);
        if (hdr[0] == LEASE_REQ_NEXT) {
            int was_clean = clean;
            clean = 0;
            if (exec_chain(e, was_clean, e->req, body_len) < 0)
                return exec_release(e);
            continue;
        }
        clean = 0;
        int quiet = hdr[0] == LEASE_REQ_BEGIN_QUIET;
        int flags = exec_run(e, quiet ? LEASE_REQ_BEGIN : hdr[0], (const char *)e->req, body_len);
        if (flags == EXEC_NO_REPLY || (quiet && flags == 0))
            continue;
        /* The quiet BEGIN failed: its error answers the request the block was opened for. */
        if (quiet && flags > 0 && exec_skip_next(e) < 0)
            return exec_release(e);
        if (flags >= 0 && exec_clean(e, hdr[0], flags))
            flags |= LEASE_F_CLEAN;
        if (flags < 0 || exec_send_done(e, flags) < 0)
            return exec_release(e);
        clean = (flags & LEASE_F_CLEAN) != 0;
        /* A cancel reaches the request it came during, not the next one. */
        exec_between_requests(e);
        if (e->req_cap > 1024 * 1024) {
            free(e->req);
            e->req = NULL;
            e->req_cap = 0;
        }
    }
}

static void *exec_main(void *arg)
{
    struct exec *e = arg;
    struct shm_slot *s = shm_slot(e->slot);
    struct shm_pool *p = shm_pool(e->pool);

    int ok = exec_connect(e) == 0;
    ck_pr_dec_32(&p->nconnecting);
    if (ok && shm_pool_put_free(p, e->slot) == 0) {
        lease_wake_waiters(p, SHM_NONE);
        for (;;) {
            if (exec_leased(s)) {
                if (exec_serve_lease(e) < 0)
                    break;
                continue;
            }
            if (ck_pr_load_32(&s->close) || ck_pr_load_32(&shm->shutdown) == 2)
                break;
            /* A worker that leases the slot wakes us through the request ring. */
            exec_sleep(s, &s->req.consumer_waiting, exec_req_ready);
        }
    } else if (!ok) {
        /* Let queued clients learn about the failure instead of waiting it out. */
        lease_wake_waiters(p, SHM_NONE);
    }

    ck_pr_store_32(&s->state, SHM_SLOT_CLOSING);
    exec_disconnect(e);
    pgbuf_free(&e->out);
    exec_params_free(&e->ep);
    free(e->req);
    free(e->copy);
    /* Out of nopen while still counted as closing (sv_pool_closing): a shrink undercounts, never overshoots. */
    ck_pr_dec_32(&p->nopen);
    ck_pr_fence_store();
    ck_pr_store_32(&s->close, 0);
    ck_pr_store_32(&s->reclaim, 0);
    s->pool = SHM_NONE;
    /* EMPTY last: from here the broker may reuse the slot. */
    ck_pr_fence_store();
    ck_pr_store_32(&s->state, SHM_SLOT_EMPTY);
    free(e);
    ck_pr_dec_int(&exec_nrunning);
    wake_broker();
    return NULL;
}

int exec_start(uint32_t slot, uint32_t pool)
{
    struct exec *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return -1;
    e->slot = slot;
    e->pool = pool;
    pgbuf_init(&e->out);
    struct shm_slot *s = shm_slot(slot);
    s->pool = pool;
    s->owner_worker = SHM_NONE;
    s->owner_client = SHM_NONE;
    s->txstatus = 'I';
    s->n_queries = s->n_xacts = s->query_us = s->xact_us = 0;
    ring_reset(&s->req);
    ring_reset(&s->resp);
    ck_pr_store_32(&s->state, SHM_SLOT_CONNECTING);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* ODBC drivers need little stack; many executors should not cost 8 MB each. */
    pthread_attr_setstacksize(&attr, 512 * 1024);
    pthread_t t;
    ck_pr_inc_int(&exec_nrunning);
    int rc = pthread_create(&t, &attr, exec_main, e);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        ck_pr_dec_int(&exec_nrunning);
        log_error("exec", "pthread_create(slot=%u) failed: %s", slot, strerror(rc));
        ck_pr_store_32(&s->state, SHM_SLOT_EMPTY);
        pgbuf_free(&e->out);
        free(e);
        return -1;
    }
    return 0;
}
