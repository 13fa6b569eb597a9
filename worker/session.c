/*
 * session: the PostgreSQL v3 protocol state machine for one client
 * (see session.h).
 *
 * A statement that needs the backend borrows a slot from its pool's free
 * ring, writes the request into the slot's request ring and then forwards
 * whatever the executor puts in the response ring, already encoded, until
 * the LEASE_DONE record.  Forwarding stops while the client's socket is
 * backed up, which in turn stops the executor once the ring is full: that
 * bounds memory whatever the size of the result.
 */
#include "worker/session.h"

#include <ctype.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <ck_pr.h>
#include <event2/buffer.h>

#include "common/log.h"
#include "common/sql_lexer.h"
#include "common/sql_translate.h"
#include "shm/lease.h"
#include "shm/shm.h"
#include "shm/wake.h"
#include "worker/admin.h"
#include "worker/extended.h"
#include "worker/tls.h"
#include "worker/xlate.h"
#include "worker/worker_internal.h"

#define SESSION_STARTUP_MAX 10000
#define SESSION_OUT_HIGH (256 * 1024)   /* stop forwarding above this much unsent */
#define SESSION_OUT_LOW (64 * 1024)     /* and resume below this */
#define SESSION_IN_HIGH (256 * 1024)    /* stop reading above this much while a query runs */
#define SESSION_COPY_CHUNK (16 * 1024)  /* CopyData payload per request-ring message */
#define SESSION_CLOSE_WAIT_S 5          /* how long a closing connection may take to flush */
/*
 * A free slot goes to another worker's client that has waited this much
 * longer than ours (session_serve_waiters), for at most DEFER_MAX: past
 * that, that worker is not taking slots, and ours takes it.
 */
#define SESSION_FAIR_GRACE_US 5000
#define SESSION_FAIR_DEFER_MAX_US 5000

/* One statement of a simple Query: where it sits in the query string. */
struct session_stmt {
    uint32_t off;
    uint32_t len;
};

/* A simple Query while it runs: one allocation, made when it arrives and freed at its end. */
struct session_query {
    struct session_stmt *stmts;
    int nstmts;
    int stmts_cap;
    int stmt_i;
    char *exec_sql;                     /* what a SQL EXECUTE runs, while it runs */
    char text[];                        /* the query string, NUL-terminated */
};

struct session_list session_running = TAILQ_HEAD_INITIALIZER(session_running);
static int session_n;

static void session_read_cb(struct conn *c);
static void session_write_cb(struct conn *c);
static void session_error_cb(struct conn *c);
static const struct conn_ops session_conn_ops = { session_read_cb, session_write_cb, session_error_cb };
static void session_next(struct session *s);
static int session_chain_leave(struct session *s);
static int session_chain_on_free(struct session *s);
static int session_chain_withdraw(struct session *b);
static int session_chain_next(struct session *b);
static int session_chain(struct session *b);
static void session_chain_orphans(void);
static void session_chain_unstick(uint32_t pool);
static void session_chain_clear(struct worker_chain *ch);
static void session_chain_refused(uint32_t idx);
static int session_resp_partial(struct shm_slot *slot);
static int session_chain_reached(const struct session *a);
static void session_chain_check_cancels(void);

/* A request is chained behind the lease on slot idx (its LEASE_NEXT record not read yet). */
static int session_chain_pending(uint32_t idx)
{
    return worker.chain != NULL && worker.chain[idx].pending;
}
static void session_process_input(struct session *s);
static int session_start_tls(struct session *s);
static int session_ring_room(struct session *s, size_t n);
static size_t session_copy_chunk(const struct shm_slot *slot);
static void session_held_free(struct session *s);

int session_count(void)
{
    return session_n;
}

static const char *session_state_name(enum session_state st)
{
    static const char *const names[] = { "startup", "auth_md5", "auth_sasl", "auth_sasl_final",
                                         "idle", "waiting", "running", "closing" };
    return names[st];
}

/* SHOW CLIENTS' state: waiting for a slot, holding one ("active"), or neither. */
static void session_publish_status(struct session *s)
{
    struct shm_client *c = shm_client(s->client);
    c->keeps = s->backend_state;
    /* 0 ("login" in SHOW CLIENTS) until the client is in: one that fails to log in stays so. */
    if (s->state == SESSION_IDLE || (s->state > SESSION_IDLE && c->status != 0))
        c->status = s->state == SESSION_WAITING ? 'w' : s->slot != SHM_NONE ? 'a' : 'i';
}

static void session_set_state(struct session *s, enum session_state st)
{
    if (s->state == st)
        return;
    log_debug("session", "client=%u %s -> %s", s->client, session_state_name(s->state),
              session_state_name(st));
    if (s->state == SESSION_RUNNING)
        TAILQ_REMOVE(&session_running, s, queue_link);
    if (st == SESSION_RUNNING)
        TAILQ_INSERT_TAIL(&session_running, s, queue_link);
    s->state = st;
    if (s->client != SHM_NONE) {
        session_publish_status(s);
        ck_pr_store_32(&shm_client(s->client)->running, st == SESSION_RUNNING);
    }
}

void session_send(struct session *s, struct pgbuf *b)
{
    if (b->len > 0)
        conn_write(&s->conn, b->data, b->len);
}

/* The client's names live in its shm entry, where SHOW CLIENTS reads them: the session keeps no copy. */
static const char *session_user(const struct session *s)
{
    return s->client == SHM_NONE ? "" : shm_client(s->client)->user;
}

static const char *session_database(const struct session *s)
{
    if (s->admin)
        return "pgiris";
    return s->pool == SHM_NONE ? "" : shm_pool(s->pool)->name;
}

const struct xlate *session_xlate(const struct session *s, enum xlate_source src, const char *stmt, size_t len)
{
    struct sql_translate_opts who = { .user = session_user(s), .database = session_database(s) };
    return xlate_get((enum cfg_dialect)shm_pool(s->pool)->dialect, src, stmt, len, &who);
}

static struct shm_stats *session_stats(struct session *s)
{
    return shm_stats(worker.index, s->pool == SHM_NONE ? 0 : s->pool);
}

static void session_timer_cb(evutil_socket_t fd, short what, void *arg);

/*
 * (Re)arm the session's one timer.  It is allocated here and freed by
 * session_timer_stop: an idle client holds none.
 */
static void session_timer_start(struct session *s, double seconds)
{
    if (s->timer == NULL && (s->timer = evtimer_new(worker.base, session_timer_cb, s)) == NULL) {
        log_warning("session", "client=%u no timer set: out of memory", s->client);
        return;
    }
    struct timeval tv = { (time_t)seconds, (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6) };
    evtimer_add(s->timer, &tv);
}

static void session_timer_stop(struct session *s)
{
    if (s->timer != NULL)
        event_free(s->timer);
    s->timer = NULL;
}

/* The SCRAM state is needed during the exchange only. */
static void session_scram_end(struct session *s)
{
    if (s->scram == NULL)
        return;
    auth_scram_free(s->scram);
    free(s->scram);
    s->scram = NULL;
}

/* What running a query needed: an idle client keeps none of it. */
static void session_query_free(struct session *s)
{
    if (s->query != NULL) {
        free(s->query->stmts);
        free(s->query->exec_sql);
        free(s->query);
        s->query = NULL;
    }
    pgbuf_free(&s->req);
}

void session_abort_block(struct session *s)
{
    if (s->txstatus == 'T')
        s->txstatus = 'E';
}

/* An error ends the simple Query: its remaining statements are not run, and a block it is in is aborted. */
static void session_query_stop(struct session *s)
{
    s->query->stmt_i = s->query->nstmts;
    session_abort_block(s);
}

/* A statement of the Query answered here: on to the next, or, if it failed, stop. */
static void session_stmt_next(struct session *s, int failed)
{
    if (failed)
        session_query_stop(s);
    else
        s->query->stmt_i++;
}

/* Tell the other workers when this worker's longest-waiting client for pool began to wait. */
static void session_waitq_publish(uint32_t pool)
{
    struct session *head = TAILQ_FIRST(&worker.waitq[pool]);
    int64_t since = head != NULL ? shm_client(head->client)->wait_start_us : 0;
    ck_pr_store_64((uint64_t *)&shm_pool(pool)->head_wait_us[worker.index], (uint64_t)since);
}

static void session_waitq_join(struct session *s)
{
    /* In the shm entry, where SHOW POOLS and the other workers read it too. */
    shm_client(s->client)->wait_start_us = shm_now_us();
    TAILQ_INSERT_TAIL(&worker.waitq[s->pool], s, queue_link);
    if (TAILQ_FIRST(&worker.waitq[s->pool]) == s)
        session_waitq_publish(s->pool);
    ck_pr_inc_32(&shm_pool(s->pool)->waiting[worker.index]);
}

static void session_waitq_leave(struct session *s)
{
    int was_head = TAILQ_FIRST(&worker.waitq[s->pool]) == s;
    TAILQ_REMOVE(&worker.waitq[s->pool], s, queue_link);
    if (was_head)
        session_waitq_publish(s->pool);
    ck_pr_dec_32(&shm_pool(s->pool)->waiting[worker.index]);
}

/* 1 if some worker has clients queued for pool p: a new request then queues behind them. */
static int session_pool_has_waiters(struct shm_pool *p)
{
    for (uint32_t w = 0; w < shm->nworkers; w++)
        if (ck_pr_load_32(&p->waiting[w]) != 0)
            return 1;
    return 0;
}

static void session_defer_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    /* Nothing to do here: the loop serves its waiters after every event. */
}

/*
 * 1 if the free slot that s would take should go to another worker's
 * client that has waited longer (lease_older_waiter): that worker is woken
 * to take it.  A deferral to the same client ends after
 * SESSION_FAIR_DEFER_MAX_US, and a timer makes sure this worker looks
 * again by then, so a slot left free is never left for good.
 */
static int session_defer_to_older(uint32_t pool, struct session *s)
{
    struct shm_pool *p = shm_pool(pool);
    struct worker_deferral *d = &worker.defer[pool];
    int64_t head = 0;
    uint32_t w = SHM_NONE;

    if (ck_pr_load_32(&p->free_top) != 0)
        w = lease_older_waiter(p, worker.index, shm_client(s->client)->wait_start_us, SESSION_FAIR_GRACE_US,
                               &head);
    if (w == SHM_NONE) {
        d->since_us = 0;
        return 0;
    }
    int64_t now = shm_now_us();
    if (d->since_us != 0 && d->worker == w && d->head_us == head)
        return now - d->since_us < SESSION_FAIR_DEFER_MAX_US;
    d->worker = w;
    d->head_us = head;
    d->since_us = now;
    wake_worker(w);
    if (worker.defer_timer == NULL)
        worker.defer_timer = evtimer_new(worker.base, session_defer_timer_cb, NULL);
    if (worker.defer_timer != NULL) {
        struct timeval tv = { 0, SESSION_FAIR_DEFER_MAX_US + 1000 };
        evtimer_add(worker.defer_timer, &tv);
        return 1;
    }
    /* Without a timer, nothing would bring us back: do not defer. */
    d->since_us = 0;
    return 0;
}

/*
 * s's client is gone: the executor rolls back, drops whatever is in the
 * rings and requeues the slot, unless a request chained behind the lease
 * takes it on.
 */
static void session_drop_slot(struct session *s)
{
    if (!session_chain_on_free(s))
        lease_abandon(s->slot);
    s->slot = SHM_NONE;
}

static void session_free(struct session *s)
{
    if (s->state == SESSION_WAITING && s->pool != SHM_NONE && session_chain_leave(s))
        session_waitq_leave(s);
    if (s->state == SESSION_RUNNING)
        TAILQ_REMOVE(&session_running, s, queue_link);
    if (s->slot != SHM_NONE)
        session_drop_slot(s);
    if (s->client != SHM_NONE) {
        shm_client_release(s->client);
        ck_pr_dec_32(&shm_worker(worker.index)->nclients);
    }
    session_held_free(s);
    TAILQ_REMOVE(&worker.sessions, s, link);
    session_n--;
    session_timer_stop(s);
    conn_close(&s->conn);
    session_scram_end(s);
    free(s->secret);
    params_free(&s->params);
    session_query_free(s);
    extended_free(s);
    free(s);
}

/* Close after what is queued for the client has been written. */
static void session_close(struct session *s)
{
    if (s->state == SESSION_WAITING && s->pool != SHM_NONE) {
        if (session_chain_leave(s))
            session_waitq_leave(s);
        s->state = SESSION_IDLE;
    }
    /* A request chained behind its lease does not wait for its last bytes to be written. */
    if (s->slot != SHM_NONE && session_chain_pending(s->slot)) {
        session_drop_slot(s);
        shm_client(s->client)->slot = SHM_NONE;
    }
    session_set_state(s, SESSION_CLOSING);
    conn_release(&s->conn);
    conn_read_enable(&s->conn, 0);
    /* Nothing to flush, or no way to: a TLS handshake that never finished cannot carry it. */
    SSL *ssl = conn_ssl(&s->conn);
    if (conn_pending(&s->conn) == 0 || (ssl != NULL && !SSL_is_init_finished(ssl))) {
        session_free(s);
        return;
    }
    conn_set_low_water(&s->conn, 0);
    /* A client that reads nothing more does not keep the connection forever. */
    session_timer_start(s, SESSION_CLOSE_WAIT_S);
}

static void session_fatal(struct session *s, const char *sqlstate, const char *msg)
{
    struct pgbuf b;
    pgbuf_init(&b);
    pgproto_error(&b, 'E', "FATAL", sqlstate, msg, NULL, NULL);
    session_send(s, &b);
    pgbuf_free(&b);
    log_info("session", "client=%u user=%s db=%s closed: %s", s->client, session_user(s), session_database(s),
             msg);
    session_close(s);
}

void session_accept(int fd, const struct sockaddr *sa, int salen)
{
    if (worker.stopping) {
        close(fd);
        return;
    }
    struct session *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        close(fd);
        return;
    }
    s->client = SHM_NONE;
    s->pool = SHM_NONE;
    s->slot = SHM_NONE;
    s->txstatus = 'I';
    pgbuf_init(&s->req);
    s->unix_socket = sa->sa_family == AF_UNIX;
    if (!s->unix_socket) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    conn_open(&s->conn, worker.base, fd, &session_conn_ops, SESSION_OUT_LOW);
    TAILQ_INSERT_TAIL(&worker.sessions, s, link);
    session_n++;
    s->state = SESSION_STARTUP;

    s->client = shm_client_claim(worker.index, worker.gen);
    if (s->client == SHM_NONE) {
        session_fatal(s, "53300", "sorry, too many clients already");
        return;
    }
    ck_pr_inc_32(&shm_worker(worker.index)->nclients);
    struct shm_client *c = shm_client(s->client);
    c->status = 0;
    c->console = 0;
    shm_client_set_addr(c, sa);
    c->user[0] = '\0';
    c->has_appname = c->has_tls = 0;
    c->connect_time_us = shm_realtime_us();
    c->request_time_us = c->connect_time_us;
    if (worker.cfg->client_login_timeout > 0)
        session_timer_start(s, worker.cfg->client_login_timeout);
    /* With TCP_DEFER_ACCEPT the startup packet is already here: read it in this turn of the loop. */
    if (!s->unix_socket && worker.cfg->tcp_defer_accept > 0)
        event_active(&s->conn.ev, EV_READ, 1);
}

/* Ask the broker to cancel what runs on our slot for this client. */
static void session_cancel_running(uint32_t client, uint32_t slot, int timeout)
{
    uint32_t v = (client + 1) | (timeout ? SHM_CANCEL_TIMEOUT : 0);
    ck_pr_store_32(&shm_slot(slot)->cancel, v);
    ck_pr_fence_store();
    ck_pr_store_32(&shm->cancels, 1);
    wake_broker();
}

/* Leave the wait queue without a slot. */
static void session_unwait(struct session *s)
{
    session_waitq_leave(s);
    session_timer_stop(s);
    session_stats(s)->wait_us += (uint64_t)(shm_now_us() - shm_client(s->client)->wait_start_us);
    session_set_state(s, SESSION_IDLE);
}

/* The request never reached a slot; its ErrorResponse is sent.  On with the rest of the input. */
static void session_request_failed(struct session *s)
{
    /* In a block begun here, as in any block: the error aborts it (session_dispatch). */
    if (s->begin_deferred)
        s->txstatus = 'E';
    if (s->ext_busy) {
        extended_done(s, s->txstatus, LEASE_F_ERROR, 0);
        return;
    }
    session_query_stop(s);
    session_next(s);
}

/* Slots of pool leased to clients that keep them for their session state (shm_slot.discard). */
static uint32_t session_pool_kept(uint32_t pool)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < shm->nslots; i++) {
        struct shm_slot *slot = shm_slot(i);
        if (ck_pr_load_32(&slot->pool) == pool && ck_pr_load_32(&slot->state) == SHM_SLOT_LEASED &&
            ck_pr_load_32(&slot->discard))
            kept++;
    }
    return kept;
}

static void session_error(struct session *s, const char *sqlstate, const char *msg, const char *detail,
                          const char *hint)
{
    struct pgbuf b;
    pgbuf_init(&b);
    pgproto_error(&b, 'E', "ERROR", sqlstate, msg, detail, hint);
    session_send(s, &b);
    pgbuf_free(&b);
}

static void session_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct session *s = arg;
    if (s->state == SESSION_CLOSING) {
        session_free(s);
        return;
    }
    if (s->state < SESSION_IDLE) {
        session_fatal(s, "08006", "client_login_timeout: authentication took too long");
        return;
    }
    if (s->state == SESSION_RUNNING && s->timer_statement && s->slot != SHM_NONE) {
        s->timer_statement = 0;
        log_debug("session", "client=%u statement_timeout", s->client);
        session_cancel_running(s->client, s->slot, 1);
        return;
    }
    if (s->state != SESSION_WAITING)
        return;
    /* A request the executor has reached runs: the wait is over (and no timer runs on). */
    if (s->chained && !session_chain_withdraw(s)) {
        session_timer_stop(s);
        return;
    }
    struct shm_pool *p = shm_pool(s->pool);
    session_unwait(s);
    char msg[300], hint[400];
    snprintf(msg, sizeof(msg),
             "no backend connection available for database \"%s\" within query_wait_timeout (%gs)",
             session_database(s), worker.cfg->query_wait_timeout);
    uint32_t kept = session_pool_kept(s->pool);
    if (kept > 0)
        snprintf(hint, sizeof(hint),
                 "%u of the pool's connections are kept by clients that left session state on them "
                 "(temporary tables, cursors WITH HOLD, advisory locks, SET ROLE; the keeps column of "
                 "SHOW CLIENTS names them); raise pool_size, or have those clients end it with DISCARD ALL.",
                 kept);
    else
        snprintf(hint, sizeof(hint), "All backend connections of the pool are busy; raise pool_size or retry.");
    session_error(s, "53300", msg, p->last_connect_fail_us ? p->last_connect_error : NULL, hint);
    session_request_failed(s);
}

/* A waiting client's CancelRequest came (cancel_req): end its wait with 57014.  1 if it did. */
static int session_wait_cancelled(struct session *s)
{
    if (ck_pr_load_32(&shm_client(s->client)->cancel_req) == 0 ||
        ck_pr_fas_32(&shm_client(s->client)->cancel_req, 0) == 0)
        return 0;
    session_unwait(s);
    session_error(s, "57014", "canceling statement due to user request", NULL, NULL);
    session_request_failed(s);
    return 1;
}

void session_check_cancels(void)
{
    session_chain_check_cancels();
    for (uint32_t i = 0; i < shm->npools; i++) {
        struct session *s, *next;
        for (s = TAILQ_FIRST(&worker.waitq[i]); s != NULL; s = next) {
            next = TAILQ_NEXT(s, queue_link);
            session_wait_cancelled(s);
        }
    }
}

/*
 * A CancelRequest, on a connection of its own, for a client of any worker:
 * only with the right key, and only while that client has a statement
 * running or waiting, as PostgreSQL does.
 */
static void session_cancel_request(uint32_t pid, int32_t key)
{
    if (pid == 0 || pid > shm->nclients)
        return;
    uint32_t idx = pid - 1;
    struct shm_client *c = shm_client(idx);
    if (ck_pr_load_32(&c->state) != SHM_CLIENT_USED || c->cancel_key != key)
        return;
    log_debug("session", "cancel request for client=%u", idx);
    if (c->status == 'w') {
        uint32_t w = c->worker;
        ck_pr_store_32(&c->cancel_req, 1);
        ck_pr_fence_store();
        ck_pr_store_32(&shm_worker(w)->cancels, 1);
        wake_worker(w);
        return;
    }
    uint32_t slot = ck_pr_load_32(&c->slot);
    if (slot != SHM_NONE && ck_pr_load_32(&c->running))
        session_cancel_running(idx, slot, 0);
}

/* ---- startup and authentication ---- */

static void session_ready(struct session *s)
{
    struct pgbuf b;
    pgbuf_init(&b);
    pgproto_ready(&b, s->txstatus);
    session_send(s, &b);
    pgbuf_free(&b);
    conn_release(&s->conn);
}

/* What SHOW CLIENTS shows of a client beyond its entry: only the clients that have it touch those pages. */
static void session_publish_texts(struct session *s)
{
    struct shm_client *c = shm_client(s->client);
    const char *app = params_get(&s->params, "application_name");
    SSL *ssl = conn_ssl(&s->conn);

    if (app != NULL && app[0] != '\0') {
        snprintf(shm_client_appname(s->client), CFG_NAME_MAX, "%s", app);
        /* The text before the flag: a reader that sees the flag sees the text. */
        ck_pr_fence_store();
        ck_pr_store_8(&c->has_appname, 1);
    }
    if (ssl != NULL) {
        tls_describe(ssl, shm_client_tls(s->client), SHM_TLS_MAX);
        ck_pr_fence_store();
        ck_pr_store_8(&c->has_tls, 1);
    }
}

static void session_login_ok(struct session *s)
{
    struct shm_client *c = shm_client(s->client);
    int32_t key;
    /* What only authentication needed goes now: an idle client costs little. */
    session_scram_end(s);
    free(s->secret);
    s->secret = NULL;
    auth_random(&key, sizeof(key));
    c->cancel_key = key;
    session_publish_texts(s);
    session_timer_stop(s);

    struct pgbuf b;
    pgbuf_init(&b);
    pgproto_auth_request(&b, 0, NULL, 0);
    params_report_all(&s->params, &b);
    pgproto_backend_key(&b, (int32_t)s->client + 1, key);
    session_send(s, &b);
    pgbuf_free(&b);
    session_set_state(s, SESSION_IDLE);
    session_ready(s);
    char addr[SHM_ADDR_TEXT_MAX];
    log_debug("session", "client=%u user=%s db=%s logged in from %s", s->client, c->user, session_database(s),
              shm_client_addr(c, addr));
}

static void session_auth_failed(struct session *s)
{
    char msg[200];
    snprintf(msg, sizeof(msg), "password authentication failed for user \"%s\"", session_user(s));
    session_fatal(s, "28P01", msg);
}

static void session_startup(struct session *s, const uint8_t *body, size_t len)
{
    const char *user = NULL, *database = NULL;
    size_t pos = 0;
    while (pos < len && body[pos] != '\0') {
        const char *name = (const char *)body + pos;
        size_t nl = strnlen(name, len - pos);
        if (pos + nl + 1 >= len) {
            session_fatal(s, "08P01", "invalid startup packet layout: expected terminator as last byte");
            return;
        }
        const char *value = name + nl + 1;
        size_t vl = strnlen(value, len - pos - nl - 1);
        if (pos + nl + 1 + vl >= len) {
            session_fatal(s, "08P01", "invalid startup packet layout: expected terminator as last byte");
            return;
        }
        if (strcmp(name, "user") == 0)
            user = value;
        else if (strcmp(name, "database") == 0)
            database = value;
        pos += nl + 1 + vl + 1;
    }
    if (user == NULL || user[0] == '\0') {
        session_fatal(s, "28000", "no PostgreSQL user name specified in startup packet");
        return;
    }
    if (tls_mode() == TLS_REQUIRE && conn_ssl(&s->conn) == NULL && !s->unix_socket) {
        char msg[200];
        snprintf(msg, sizeof(msg), "SSL required: client_tls_sslmode is require, and user \"%.63s\" "
                 "connected without SSL", user);
        session_fatal(s, "28000", msg);
        return;
    }
    if (database == NULL || database[0] == '\0')
        database = user;
    struct shm_client *c = shm_client(s->client);
    if (strlen(user) >= sizeof(c->user) || strlen(database) >= CFG_NAME_MAX) {
        session_fatal(s, "42622", "user or database name too long");
        return;
    }
    snprintf(c->user, sizeof(c->user), "%s", user);
    user = c->user;
    char perr[160];
    int prc = params_init(&s->params, user, (const char *)body, len, perr, sizeof(perr));
    if (prc < 0) {
        if (prc == -2)
            session_fatal(s, "0A000", "a search_path naming a schema other than public is not supported by pgiris: "
                                      "statements are not resolved against it");
        else if (prc == -3 || prc == -4)
            session_fatal(s, prc == -3 ? "42601" : "22023", perr);
        else
            session_fatal(s, "53200", "out of memory");
        return;
    }
    if (strcmp(database, "pgiris") == 0) {
        s->admin = 1;
        c->console = 1;
        if (cfg_user_in_list(worker.cfg->admin_users, user))
            s->may_modify = 1;
        else if (!cfg_user_in_list(worker.cfg->stats_users, user)) {
            session_fatal(s, "42501", "permission denied: not an admin or stats user of the pgiris console");
            return;
        }
    } else {
        s->pool = shm_pool_find(database);
        if (s->pool == SHM_NONE) {
            char msg[200];
            snprintf(msg, sizeof(msg), "database \"%s\" does not exist", database);
            session_fatal(s, "3D000", msg);
            return;
        }
        c->pool = s->pool;
    }

    const char *secret = worker.users ? auth_userlist_find(worker.users, user) : NULL;
    if (secret != NULL) {
        s->secret = strdup(secret);
        if (s->secret == NULL) {
            session_fatal(s, "53200", "out of memory");
            return;
        }
    }
    enum cfg_auth_type at = worker.cfg->auth_type;
    if (at == CFG_AUTH_TRUST) {
        if (secret == NULL) {
            char msg[200];
            snprintf(msg, sizeof(msg), "no such user \"%s\" in auth_file", user);
            session_fatal(s, "28000", msg);
            return;
        }
        session_login_ok(s);
        return;
    }
    /* A SCRAM verifier cannot answer md5; PostgreSQL switches to SCRAM, and so do we. */
    if (at == CFG_AUTH_MD5 && (secret == NULL || auth_md5_possible(secret))) {
        auth_random(s->md5_salt, sizeof(s->md5_salt));
        struct pgbuf b;
        pgbuf_init(&b);
        pgproto_auth_request(&b, 5, s->md5_salt, 4);
        session_send(s, &b);
        pgbuf_free(&b);
        session_set_state(s, SESSION_AUTH_MD5);
        return;
    }
    /* Unknown users and md5-only secrets still go through the exchange and fail at its end. */
    char fake[40];
    const char *use = s->secret;
    if (use == NULL || !auth_scram_possible(use)) {
        uint8_t r[16];
        auth_random(r, sizeof(r));
        for (int k = 0; k < 16; k++)
            snprintf(fake + 2 * k, 3, "%02x", r[k]);
        use = fake;
        free(s->secret);
        s->secret = NULL;
    }
    s->scram = calloc(1, sizeof(*s->scram));
    if (s->scram == NULL || auth_scram_begin(s->scram, use) < 0) {
        free(s->scram);
        s->scram = NULL;
        session_fatal(s, "XX000", "could not start SCRAM authentication");
        return;
    }
    static const char mech[] = "SCRAM-SHA-256\0";
    struct pgbuf b;
    pgbuf_init(&b);
    pgproto_auth_request(&b, 10, mech, sizeof(mech));
    session_send(s, &b);
    pgbuf_free(&b);
    session_set_state(s, SESSION_AUTH_SASL);
}

static void session_auth_message(struct session *s, const uint8_t *body, size_t len)
{
    struct pgproto_reader r;
    pgproto_reader_init(&r, body, len);
    char out[512], err[200];

    if (s->state == SESSION_AUTH_MD5) {
        const char *resp;
        if (pgproto_get_cstr(&r, &resp) < 0) {
            session_fatal(s, "08P01", "invalid password packet");
            return;
        }
        if (s->secret != NULL && auth_md5_check(s->secret, session_user(s), s->md5_salt, resp) == 1)
            session_login_ok(s);
        else
            session_auth_failed(s);
        return;
    }
    if (s->state == SESSION_AUTH_SASL) {
        const char *mech;
        int32_t n;
        const uint8_t *data;
        if (pgproto_get_cstr(&r, &mech) < 0 || pgproto_get_i32(&r, &n) < 0 || n < 0 ||
            pgproto_get_bytes(&r, &data, (size_t)n) < 0) {
            session_fatal(s, "08P01", "invalid SASLInitialResponse message");
            return;
        }
        if (strcmp(mech, "SCRAM-SHA-256") != 0) {
            session_fatal(s, "28000", "client selected an invalid SASL authentication mechanism");
            return;
        }
        int m = auth_scram_client_first(s->scram, (const char *)data, (size_t)n, out, sizeof(out), err,
                                        sizeof(err));
        if (m < 0) {
            session_fatal(s, "08P01", err);
            return;
        }
        struct pgbuf b;
        pgbuf_init(&b);
        pgproto_auth_request(&b, 11, out, (size_t)m);
        session_send(s, &b);
        pgbuf_free(&b);
        session_set_state(s, SESSION_AUTH_SASL_FINAL);
        return;
    }
    /* SESSION_AUTH_SASL_FINAL */
    int ok = auth_scram_client_final(s->scram, (const char *)body, len, out, sizeof(out), err, sizeof(err));
    if (ok < 0) {
        session_fatal(s, "08P01", err);
        return;
    }
    if (ok == 0 || s->secret == NULL) {
        session_auth_failed(s);
        return;
    }
    struct pgbuf b;
    pgbuf_init(&b);
    pgproto_auth_request(&b, 12, out, strlen(out));
    session_send(s, &b);
    pgbuf_free(&b);
    session_login_ok(s);
}

/* ---- leases ---- */

static int session_lease(struct session *s)
{
    uint32_t idx = lease_acquire(s->pool, worker.index, worker.gen, s->client);
    if (idx == SHM_NONE)
        return -1;
    s->slot = idx;
    s->msg_left = 0;
    shm_client(s->client)->slot = idx;
    return 0;
}

/*
 * After moving ring bytes: wake the executor if it said (flag) that it
 * sleeps until we do.  The bytes must be visible before we read the flag
 * (see shm/wake.h).
 */
static void session_wake_executor(struct shm_slot *slot, uint32_t *flag)
{
    ck_pr_fence_memory();
    if (ck_pr_load_32(flag) && ck_pr_cas_32(flag, 1, 0))
        wake_futex_bump(&slot->futex);
}

/* Ask the executor to end the lease on slot idx: it resets the connection and queues the slot. */
static void session_release_request(uint32_t idx)
{
    struct shm_slot *slot = shm_slot(idx);
    uint8_t rec[5] = { LEASE_REQ_RELEASE, 0, 0, 0, 4 };
    /* Nothing else is in the request ring at a statement boundary, so this always fits. */
    if (ring_write(&slot->req, rec, sizeof(rec)) != sizeof(rec)) {
        lease_abandon(idx);
        return;
    }
    session_wake_executor(slot, &slot->req.consumer_waiting);
}

/* End the lease on slot idx: queue the slot ourselves when there is nothing to reset, else 'X'. */
static void session_release_slot(uint32_t idx, int clean)
{
    if (!clean || lease_release(idx, worker.index) < 0)
        session_release_request(idx);
}

static void session_chain_hand(struct session *a);

/*
 * Hand the slot back.  When the executor said there is nothing to reset,
 * queue it ourselves: that spares a wake-up of the executor per transaction.
 * A waiting client's request queued behind this lease gets the slot instead.
 */
static void session_release(struct session *s)
{
    if (session_chain_pending(s->slot))
        session_chain_hand(s);
    else
        session_release_slot(s->slot, s->slot_clean && !s->backend_state);
    s->slot_clean = 0;
    s->backend_state = 0;
    session_held_free(s);
    s->slot = SHM_NONE;
    shm_client(s->client)->slot = SHM_NONE;
    session_publish_status(s);
}

/* Push pending request bytes into the slot's ring; 1 when all are in. */
static int session_flush_request(struct session *s)
{
    struct shm_slot *slot = shm_slot(s->slot);
    while (s->req_sent < s->req.len) {
        size_t n = ring_write(&slot->req, s->req.data + s->req_sent, s->req.len - s->req_sent);
        if (n > 0) {
            s->req_sent += n;
            session_wake_executor(slot, &slot->req.consumer_waiting);
            continue;
        }
        ck_pr_store_32(&slot->req.producer_waiting, 1);
        ck_pr_fence_memory();
        if (ring_writable(&slot->req) == 0)
            return 0;
    }
    ck_pr_store_32(&slot->req.producer_waiting, 0);
    return 1;
}

/* The request in s->req goes to s->slot: RUNNING, with its timers. */
static void session_request_begin(struct session *s)
{
    s->stmt_failed = 0;
    s->msg_left = 0;
    s->query_start_us = shm_now_us();
    if (s->txstatus == 'I')
        s->xact_start_us = s->query_start_us;
    shm_client(s->client)->request_time_us = shm_realtime_us();
    /* A cancel meant for the wait is spent. */
    ck_pr_store_32(&shm_client(s->client)->cancel_req, 0);
    session_set_state(s, SESSION_RUNNING);
    /* Said before the request goes: should this worker die, the reclaim still sees it. */
    if (s->backend_state)
        ck_pr_store_32(&shm_slot(s->slot)->discard, 1);
    if (s->params.statement_timeout_ms > 0) {
        s->timer_statement = 1;
        session_timer_start(s, (double)s->params.statement_timeout_ms / 1000);
    }
    /*
     * Results are picked up by the worker loop's poll: calling it here would
     * recurse per message.  A request started after the loop's last poll
     * (a waiter served, the next query of a pipeline) would then sleep
     * through its result: say now that we wait for it, so the executor
     * wakes us whatever the loop does next.
     */
    ck_pr_store_32(&shm_slot(s->slot)->resp.consumer_waiting, 1);
    ck_pr_fence_store();
}

static void session_start_request(struct session *s)
{
    s->req_sent = 0;
    session_request_begin(s);
    session_flush_request(s);
}

/* Fail everyone waiting on a pool that cannot connect at all right now. */
static int session_pool_unreachable(struct shm_pool *p)
{
    int64_t failed = (int64_t)ck_pr_load_64((uint64_t *)&p->last_connect_fail_us);
    return failed != 0 && ck_pr_load_32(&p->nopen) == 0 && shm_realtime_us() - failed < 5000000;
}

static void session_wait_failed(struct session *s)
{
    struct shm_pool *p = shm_pool(s->pool);
    struct pgbuf b;
    pgbuf_init(&b);
    char msg[300];
    snprintf(msg, sizeof(msg), "could not connect to the backend of database \"%s\"",
             session_database(s));
    pgproto_error(&b, 'E', "ERROR", "08001", msg, p->last_connect_error, NULL);
    session_send(s, &b);
    pgbuf_free(&b);
}

void session_serve_waiters(void)
{
    if (worker.chain_orphans > 0)
        session_chain_orphans();
    for (uint32_t i = 0; i < shm->npools; i++) {
        struct session *s;
        if (worker.chain != NULL && ck_pr_load_32(&shm_pool(i)->free_top) != 0)
            session_chain_unstick(i);
        while ((s = TAILQ_FIRST(&worker.waitq[i])) != NULL) {
            struct shm_pool *p = shm_pool(i);
            int unreachable = session_pool_unreachable(p);
            /* Cancelled before it got a slot (a chained request sent back counts too). */
            if (session_wait_cancelled(s))
                continue;
            if (!unreachable && session_defer_to_older(i, s))
                break;
            if (!unreachable && session_lease(s) < 0) {
                /* No free slot: queued behind a lease that ends, s is out of the queue. */
                if (session_chain(s) == 0)
                    continue;
                break;
            }
            session_unwait(s);
            if (unreachable) {
                session_wait_failed(s);
                session_request_failed(s);
            } else {
                session_start_request(s);
            }
        }
    }
}

/* ---- transaction blocks begun here ---- */

/*
 * Under transaction pooling a client's BEGIN needs no backend connection
 * yet: it is answered here, and the executor is told with the block's
 * first request, as a 'b' record written before it (shm/lease.h).  A
 * block begun so costs one trip to the executor fewer, holds no slot until
 * a statement needs one, and if nothing runs in it, its COMMIT or ROLLBACK
 * is answered here too.  Only a BEGIN that names no modes, from a client
 * whose defaults add none, is answered so: a mode could fail on the
 * backend, where the client would then not see the error on its BEGIN.
 */

/* COMMIT or ROLLBACK ... AND CHAIN (not AND NO CHAIN). */
static int session_and_chain(const char *stmt, size_t len)
{
    for (size_t i = 0; i + 5 <= len; i++) {
        if (strncasecmp(stmt + i, "CHAIN", 5) != 0)
            continue;
        size_t j = i;
        while (j > 0 && isspace((unsigned char)stmt[j - 1]))
            j--;
        return !(j >= 3 && strncasecmp(stmt + j - 2, "NO", 2) == 0 && isspace((unsigned char)stmt[j - 3]));
    }
    return 0;
}

int session_tx_local(struct session *s, enum sql_command cmd, const char *verb, const char *stmt, size_t len,
                     struct pgbuf *out)
{
    struct shm_stats *st = session_stats(s);
    if (cmd == SQL_CMD_BEGIN) {
        if (s->txstatus != 'I' || s->slot != SHM_NONE || s->backend_state ||
            worker.cfg->pool_mode != CFG_POOL_TRANSACTION)
            return 0;
        struct sql_tx_modes m;
        char msg[200];
        if (sql_tx_modes(stmt, len, &m, msg, sizeof(msg)) < 0 || m.said != 0)
            return 0;
        struct pgbuf modes;
        pgbuf_init(&modes);
        int more = params_begin(&s->params, stmt, len, &modes);
        pgbuf_free(&modes);
        if (more)
            return 0;
        s->begin_deferred = 1;
        s->txstatus = 'T';
        s->xact_start_us = shm_now_us();
        st->query_count++;
        pgproto_command_complete(out, verb);
        return 1;
    }
    if (cmd != SQL_CMD_COMMIT && cmd != SQL_CMD_ROLLBACK)
        return 0;
    /* The executor ends transactions through ODBC, which cannot begin the next one with the same modes. */
    if (session_and_chain(stmt, len)) {
        pgproto_error(out, 'E', "ERROR", "0A000", "AND CHAIN is not supported", NULL, NULL);
        return -1;
    }
    if (!s->begin_deferred)
        return 0;
    /* COMMIT of an aborted block rolls back, and says so, as PostgreSQL does. */
    int committed = cmd == SQL_CMD_COMMIT && s->txstatus != 'E';
    s->begin_deferred = 0;
    s->txstatus = 'I';
    st->query_count++;
    st->xact_count++;
    st->xact_us += (uint64_t)(shm_now_us() - s->xact_start_us);
    pgproto_command_complete(out, cmd == SQL_CMD_COMMIT && !committed ? "ROLLBACK" : verb);
    params_tx_end(&s->params, committed, out);
    extended_block_end(s);
    return 1;
}

/* The block's BEGIN goes before the request in s->req: 0, or -1 out of memory. */
static int session_begin_first(struct session *s)
{
    static const uint8_t rec[6] = { LEASE_REQ_BEGIN_QUIET, 0, 0, 0, 5, 0 };
    if (s->req.len > 0 && s->req.data[0] == LEASE_REQ_BEGIN_QUIET)
        return 0;
    if (pgbuf_reserve(&s->req, sizeof(rec)) < 0)
        return -1;
    memmove(s->req.data + sizeof(rec), s->req.data, s->req.len);
    memcpy(s->req.data, rec, sizeof(rec));
    s->req.len += sizeof(rec);
    return 0;
}

/* Whether the request in s->req may run in an aborted block: its end, a ROLLBACK TO, a portal's Close. */
static int session_runs_when_aborted(const struct session *s)
{
    const uint8_t *r = s->req.data;
    switch (r[0]) {
    case LEASE_REQ_COMMIT:
    case LEASE_REQ_ROLLBACK:
    case LEASE_REQ_DESCRIBE:
        return 1;
    case LEASE_REQ_SAVEPOINT:
        return s->req.len > 5 && strcmp((const char *)r + 5, "ROLLBACK") == 0;
    case LEASE_REQ_FETCH:
        return s->req.len >= 9 && (int32_t)pgproto_load_u32(r + 5) < 0;
    default:
        return 0;
    }
}

/* Run the request in s->req: now if a slot is at hand, else queue for one. */
void session_dispatch(struct session *s)
{
    struct shm_pool *p = shm_pool(s->pool);
    /* A block begun here that a statement's error aborted before anything ran: nothing opened on the backend. */
    if (s->begin_deferred && s->txstatus == 'E') {
        int to_savepoint = s->req.len > 5 && s->req.data[0] == LEASE_REQ_SAVEPOINT &&
                           strcmp((const char *)s->req.data + 5, "ROLLBACK") == 0;
        if (to_savepoint)
            session_error(s, "3B001", "savepoint does not exist", NULL, NULL);
        else
            session_error(s, "25P02", PGPROTO_TX_ABORTED, NULL, NULL);
        session_request_failed(s);
        return;
    }
    /*
     * An aborted block on the backend: only its end, or a ROLLBACK TO, runs.
     * The worker may have aborted it (an error it answered itself), so the
     * executor cannot be left to refuse the rest.
     */
    if (s->txstatus == 'E' && s->req.len > 0 && !session_runs_when_aborted(s)) {
        session_error(s, "25P02", PGPROTO_TX_ABORTED, NULL, NULL);
        session_request_failed(s);
        return;
    }
    if (s->begin_deferred && session_begin_first(s) < 0) {
        session_error(s, "53200", "out of memory", NULL, NULL);
        session_request_failed(s);
        return;
    }
    /* First come, first served: while clients wait for a slot, a new request queues behind them. */
    if (s->slot != SHM_NONE || (!session_pool_has_waiters(p) && session_lease(s) == 0)) {
        session_start_request(s);
        return;
    }
    if (session_pool_unreachable(p)) {
        session_wait_failed(s);
        session_request_failed(s);
        return;
    }
    session_waitq_join(s);
    session_set_state(s, SESSION_WAITING);
    if (worker.cfg->query_wait_timeout > 0)
        session_timer_start(s, worker.cfg->query_wait_timeout);
    if (ck_pr_load_32(&p->nopen) < (uint32_t)ck_pr_load_32((uint32_t *)&p->pool_size))
        wake_broker();
    /* A slot may have been queued between our failed dequeue and the waiting count. */
    session_serve_waiters();
}

/* ---- chained leases ---- */

/*
 * With every slot of a pool busy and clients waiting, the first waiter's
 * request is queued in the request ring of a slot whose running request
 * will end its lease (the last statement of a Query, or an Execute with its
 * Sync already read, run outside a transaction block or ending one, under
 * transaction pooling), behind an 'N' record (shm/lease.h).
 * When that lease ends clean the executor runs it at once: the slot does
 * not go back to the pool, and the executor thread does not sleep until a
 * worker leases it again (a futex wait and wake-up per transaction).
 *
 * The waiter stays WAITING, out of the wait queue (chained), until the
 * lease before it ends here (session_chain_hand); then it reads the slot's
 * LEASE_NEXT record and either holds the slot, or goes back to the head of
 * the queue while the lease before ends as it would have.  Until the
 * executor reaches the request the worker can take it back
 * (session_chain_withdraw): for a query_wait_timeout, a cancel, or a
 * client that leaves; the request is then back in the wait queue.
 */

static struct worker_chain *session_chain_find(const struct session *b, uint32_t *idx)
{
    for (uint32_t i = 0; i < shm->nslots; i++)
        if (worker.chain[i].next == b) {
            *idx = i;
            return &worker.chain[i];
        }
    return NULL;
}

static void session_chain_clear(struct worker_chain *ch)
{
    if (ch->handed && ch->withdrawn)
        worker.chain_orphans--;
    memset(ch, 0, sizeof(*ch));
}

/* Back in the wait queue, in the place its wait began (it was the first waiter when it was chained). */
static void session_chain_requeue(struct session *b)
{
    /* The cancel reached nothing that ran: the wait ends with it (session_serve_waiters). */
    if (b->chained & SESSION_CHAIN_CANCEL)
        ck_pr_store_32(&shm_client(b->client)->cancel_req, 1);
    b->chained = 0;
    if (b->timer_statement) {
        b->timer_statement = 0;
        session_timer_stop(b);
    }
    session_set_state(b, SESSION_WAITING);
    int64_t since = shm_client(b->client)->wait_start_us;
    struct session *w = TAILQ_FIRST(&worker.waitq[b->pool]);
    while (w != NULL && shm_client(w->client)->wait_start_us <= since)
        w = TAILQ_NEXT(w, queue_link);
    if (w != NULL)
        TAILQ_INSERT_BEFORE(w, b, queue_link);
    else
        TAILQ_INSERT_TAIL(&worker.waitq[b->pool], b, queue_link);
    session_waitq_publish(b->pool);
    ck_pr_inc_32(&shm_pool(b->pool)->waiting[worker.index]);
    if (worker.cfg->query_wait_timeout > 0 && b->timer == NULL) {
        /* What is left of its query_wait_timeout. */
        double left = worker.cfg->query_wait_timeout - (double)(shm_now_us() - since) / 1e6;
        session_timer_start(b, left > 0.001 ? left : 0.001);
    }
}

/* The next message from a's client is a Sync, already all read. */
static int session_sync_next(struct session *a)
{
    struct evbuffer *in = conn_input(&a->conn);
    uint8_t hdr[5];
    return in != NULL && evbuffer_copyout(in, hdr, sizeof(hdr)) == (ev_ssize_t)sizeof(hdr) && hdr[0] == 'S' &&
           pgproto_load_u32(hdr + 1) == 4;
}

/*
 * Whether a's running request ends its lease, should it end outside a
 * transaction block: a statement run outside one, or the COMMIT or
 * ROLLBACK that ends one; the last of a Query, or an Execute whose Sync
 * the worker already holds (it is read as soon as the Execute is
 * answered: nothing the client sends later comes before it).
 */
static int session_chain_after(struct session *a)
{
    if (a->slot == SHM_NONE || a->chained || a->backend_state || a->copy_in != 0 || a->req.len == 0 ||
        a->req_sent != a->req.len || worker.chain[a->slot].pending)
        return 0;
    char type = (char)a->req.data[0];
    if (type != LEASE_REQ_COMMIT && type != LEASE_REQ_ROLLBACK &&
        (a->txstatus != 'I' || type != (a->ext_busy ? LEASE_REQ_EXEC_PARAMS : LEASE_REQ_EXEC)))
        return 0;
    if (a->ext_busy)
        return session_sync_next(a);
    return a->query != NULL && a->query->stmt_i + 1 == a->query->nstmts;
}

/* Queue waiter b's request behind a lease that ends: 0, or -1 when no slot can take it now. */
static int session_chain(struct session *b)
{
    if (worker.chain == NULL || worker.cfg->pool_mode != CFG_POOL_TRANSACTION || b->backend_state)
        return -1;
    struct shm_pool *p = shm_pool(b->pool);
    int64_t head;
    /* A client of another worker that has waited longer is first in line for a slot. */
    if (lease_older_waiter(p, worker.index, shm_client(b->client)->wait_start_us, SESSION_FAIR_GRACE_US,
                           &head) != SHM_NONE)
        return -1;
    uint8_t rec[9] = { LEASE_REQ_NEXT, 0, 0, 0, 8 };
    pgproto_store_u32(rec + 5, b->client);
    struct session *a;
    TAILQ_FOREACH(a, &session_running, queue_link) {
        if (a->pool != b->pool || !session_chain_after(a))
            continue;
        struct shm_slot *slot = shm_slot(a->slot);
        if (ring_writable(&slot->req) < sizeof(rec) + b->req.len)
            continue;
        struct worker_chain *ch = &worker.chain[a->slot];
        /* The word before the record: the executor reads it when it gets there. */
        ck_pr_store_32(&slot->chain, LEASE_CHAIN_PENDING);
        ck_pr_fence_store();
        ring_write(&slot->req, rec, sizeof(rec));
        ring_write(&slot->req, b->req.data, b->req.len);
        session_wake_executor(slot, &slot->req.consumer_waiting);
        ch->next = b;
        ch->pending = 1;
        ch->since_us = shm_now_us();
        session_waitq_leave(b);
        b->chained = SESSION_CHAINED;
        b->req_sent = b->req.len;
        return 0;
    }
    return -1;
}

/*
 * Whether the executor has got to a request chained behind a's lease: a's
 * reply is then all in the ring, and the chained client's reply, if it
 * runs, behind it.  The worker reads a's reply out of the ring whatever
 * its client has not taken yet (at most the ring's size more), so that a
 * client that stops reading does not hold up the next one.
 */
static int session_chain_reached(const struct session *a)
{
    return session_chain_pending(a->slot) && !worker.chain[a->slot].handed &&
           ck_pr_load_32(&shm_slot(a->slot)->chain) == LEASE_CHAIN_NONE;
}

/*
 * Take b's request back before the executor reaches it: 1 when it will not
 * run, and b is first in the wait queue again; 0 when it runs (or ran).
 */
static int session_chain_withdraw(struct session *b)
{
    uint32_t idx;
    struct worker_chain *ch = session_chain_find(b, &idx);
    if (ch == NULL || ch->handed)
        return 0;
    if (!ck_pr_cas_32(&shm_slot(idx)->chain, LEASE_CHAIN_PENDING, LEASE_CHAIN_WITHDRAWN))
        return 0;
    /* The record is still to come; whoever ends the lease before reads it (session_chain_orphans). */
    ch->next = NULL;
    ch->withdrawn = 1;
    session_chain_requeue(b);
    return 1;
}

/*
 * s, WAITING, is leaving (its client went): 1 if it is in the wait queue
 * (taken back from a chain, or never chained), 0 if its request stays
 * behind a lease, whose end now resets the slot instead.
 */
static int session_chain_leave(struct session *s)
{
    if (!s->chained || session_chain_withdraw(s))
        return 1;
    uint32_t idx;
    struct worker_chain *ch = session_chain_find(s, &idx);
    if (ch != NULL)
        ch->next = NULL;
    s->chained = 0;
    return 0;
}

/*
 * Cancels for chained clients: those taken back are in the wait queue,
 * where they are answered.  One the executor has got to is passed to the
 * slot, which stops it if it runs; if it was read through instead, its
 * client is answered when it is back in the queue.
 */
static void session_chain_check_cancels(void)
{
    if (worker.chain == NULL)
        return;
    for (uint32_t i = 0; i < shm->nslots; i++) {
        struct session *b = worker.chain[i].next;
        if (b == NULL || worker.chain[i].handed || ck_pr_load_32(&shm_client(b->client)->cancel_req) == 0 ||
            session_chain_withdraw(b))
            continue;
        ck_pr_store_32(&shm_client(b->client)->cancel_req, 0);
        b->chained |= SESSION_CHAIN_CANCEL;
        session_cancel_running(b->client, i, 0);
    }
}

/* b, chained, now reads the slot idx: its request is on it (or read through). */
static void session_chain_take(struct session *b, uint32_t idx)
{
    session_timer_stop(b);
    b->slot = idx;
    session_request_begin(b);
    /* Its cancels go to the slot from now on (the broker checks that the lease is its). */
    shm_client(b->client)->slot = idx;
}

/* a's lease ends with a request queued behind it: the slot goes to that client, or is reset. */
static void session_chain_hand(struct session *a)
{
    struct worker_chain *ch = &worker.chain[a->slot];
    ch->handed = 1;
    ch->clean = a->slot_clean && !a->backend_state;
    if (ch->withdrawn) {
        /* Taken back: the worker reads the record and ends the lease as usual. */
        worker.chain_orphans++;
        return;
    }
    if (ch->next == NULL) {
        /* Its client left after the executor reached it: what the rings hold is nobody's. */
        lease_abandon(a->slot);
        session_chain_clear(ch);
        return;
    }
    session_chain_take(ch->next, a->slot);
}

/*
 * Read the LEASE_NEXT record that comes next in slot's response ring into
 * rec: 1, or 0 when it is not all there yet (the executor wakes us for it).
 */
static int session_chain_record(struct shm_slot *slot, uint8_t rec[LEASE_NEXT_LEN])
{
    while (ring_peek_copy(&slot->resp, rec, LEASE_NEXT_LEN) < 0)
        if (session_resp_partial(slot))
            return 0;
    ring_consume(&slot->resp, LEASE_NEXT_LEN);
    session_wake_executor(slot, &slot->resp.producer_waiting);
    return 1;
}

/*
 * Slots whose lease ended with a request taken back behind it: once the
 * executor has read that request through (its LEASE_NEXT record), the slot
 * goes back to the pool as the lease would have sent it.
 */
static void session_chain_orphans(void)
{
    for (uint32_t i = 0; worker.chain_orphans > 0 && i < shm->nslots; i++) {
        struct worker_chain *ch = &worker.chain[i];
        if (!ch->handed || !ch->withdrawn)
            continue;
        uint8_t rec[LEASE_NEXT_LEN];
        if (!session_chain_record(shm_slot(i), rec))
            continue;
        int clean = ch->clean;
        session_chain_clear(ch);
        if (rec[0] != LEASE_NEXT || rec[5]) {
            log_error("session", "slot=%u: chained lease out of step (record 0x%02x); resetting it", i, rec[0]);
            lease_abandon(i);
            continue;
        }
        session_release_slot(i, clean);
    }
}

/*
 * A slot is free while requests wait chained behind leases that have taken
 * more than SESSION_FAIR_GRACE_US (a long statement, a client slow to read
 * its reply): take those back, so that the longest waiting is served first
 * by the free slot rather than by the end of that lease.
 */
static void session_chain_unstick(uint32_t pool)
{
    int64_t old = shm_now_us() - SESSION_FAIR_GRACE_US;
    struct session *a;
    TAILQ_FOREACH(a, &session_running, queue_link) {
        if (a->pool != pool || a->slot == SHM_NONE)
            continue;
        struct worker_chain *ch = &worker.chain[a->slot];
        if (ch->pending && !ch->handed && ch->next != NULL && ch->since_us < old)
            session_chain_withdraw(ch->next);
    }
}

/*
 * s holds a slot with a chained request behind it and its client is gone:
 * 1 when the slot went to the chained client (the executor reached its
 * request: it reads on past the rest of s's reply), 0 when the caller
 * abandons the slot.
 */
static int session_chain_on_free(struct session *s)
{
    if (!session_chain_pending(s->slot))
        return 0;
    struct worker_chain *ch = &worker.chain[s->slot];
    struct session *b = ch->next;
    if (s->chained || ch->handed || b == NULL) {
        /* s is the chained client itself, or nobody is: the slot is reset. */
        session_chain_clear(ch);
        return 0;
    }
    if (ck_pr_cas_32(&shm_slot(s->slot)->chain, LEASE_CHAIN_PENDING, LEASE_CHAIN_WITHDRAWN)) {
        session_chain_clear(ch);
        session_chain_requeue(b);
        return 0;
    }
    ch->handed = 1;
    ch->clean = 0;
    session_chain_take(b, s->slot);
    b->chained |= SESSION_CHAIN_SKIP;
    b->msg_left = s->msg_left;
    return 1;
}

/*
 * What the client before b left in the ring, up to the LEASE_NEXT record
 * (SESSION_CHAIN_SKIP): dropped.  1 when the record is next.
 */
static int session_chain_skip(struct session *b)
{
    struct shm_slot *slot = shm_slot(b->slot);
    for (;;) {
        const uint8_t *p;
        size_t n = ring_peek(&slot->resp, &p);
        if (n == 0) {
            if (session_resp_partial(slot))
                return 0;
            continue;
        }
        if (b->msg_left > 0) {
            size_t take = b->msg_left < n ? b->msg_left : n;
            ring_consume(&slot->resp, take);
            b->msg_left -= take;
            session_wake_executor(slot, &slot->resp.producer_waiting);
            continue;
        }
        uint8_t hdr[5];
        if (ring_peek_copy(&slot->resp, hdr, sizeof(hdr)) < 0) {
            if (session_resp_partial(slot))
                return 0;
            continue;
        }
        if (hdr[0] == LEASE_NEXT)
            return 1;
        b->msg_left = hdr[0] == LEASE_DONE ? LEASE_DONE_LEN : 1 + (size_t)pgproto_load_u32(hdr + 1);
    }
}

/*
 * b reads the LEASE_NEXT record of the slot it was chained on: 1 when b
 * holds the slot now (its replies follow), 0 when not yet, or not: then the
 * lease before ends as it would have and b is first in the queue again.
 */
static int session_chain_next(struct session *b)
{
    uint8_t rec[LEASE_NEXT_LEN];
    if ((b->chained & SESSION_CHAIN_SKIP) && !session_chain_skip(b))
        return 0;
    if (!session_chain_record(shm_slot(b->slot), rec))
        return 0;
    uint32_t idx = b->slot;
    struct worker_chain *ch = &worker.chain[idx];
    int clean = ch->clean;
    session_chain_clear(ch);
    b->chained &= ~SESSION_CHAIN_SKIP;
    if (rec[0] != LEASE_NEXT) {
        log_error("session", "slot=%u: chained lease out of step (record 0x%02x); resetting it", idx, rec[0]);
        lease_abandon(idx);
        b->slot = SHM_NONE;
        session_chain_requeue(b);
        return 0;
    }
    if (rec[5]) {
        b->chained = 0;
        session_stats(b)->wait_us += (uint64_t)(shm_now_us() - shm_client(b->client)->wait_start_us);
        session_stats(b)->chained++;
        session_publish_status(b);
        return 1;
    }
    b->slot = SHM_NONE;
    session_release_slot(idx, clean);
    session_chain_requeue(b);
    /* Stopping, the slots close as they come back: nothing will serve it. */
    if (worker.stopping)
        session_fatal(b, "57P01", "terminating connection due to administrator command");
    return 0;
}

/*
 * The lease a request was chained behind goes on (the DONE said a
 * transaction is open): the executor reads that request through, and its
 * client waits in the queue again.  The record is read with the lease's
 * next reply.
 */
static void session_chain_refused(uint32_t idx)
{
    if (!session_chain_pending(idx) || worker.chain[idx].next == NULL)
        return;
    struct worker_chain *ch = &worker.chain[idx];
    struct session *b = ch->next;
    ch->next = NULL;
    session_chain_requeue(b);
}

static void session_build_request(struct session *s, char type, const char *verb, const char *sql,
                                  size_t len)
{
    pgbuf_reset(&s->req);
    pgproto_begin(&s->req, type);
    pgproto_put_cstr(&s->req, verb);
    if (sql != NULL)
        pgproto_put_bytes(&s->req, sql, len);
    pgproto_end(&s->req);
}

/* ---- forwarding ---- */

static void session_done(struct session *s, char txstatus, int flags, uint64_t sig)
{
    struct shm_stats *st = session_stats(s);
    /* The statement timeout, armed or spent: an idle client keeps no timer. */
    s->timer_statement = 0;
    session_timer_stop(s);
    if (s->copy_in) {
        /* Whatever CopyData the client still sends is dropped, as PostgreSQL does. */
        s->copy_skip = s->copy_left;
        s->copy_left = 0;
        s->copy_in = 0;
        s->input_paused = 0;
    }
    int64_t now = shm_now_us();
    st->query_count++;
    st->query_us += (uint64_t)(now - s->query_start_us);
    if (txstatus == 'I') {
        st->xact_count++;
        st->xact_us += (uint64_t)(now - s->xact_start_us);
    }
    if (flags & LEASE_F_ERROR)
        st->errors++;
    s->slot_clean = (flags & LEASE_F_CLEAN) != 0;
    /* The block's BEGIN went with this request: it is open on the backend now. */
    if (s->req.len > 0 && s->req.data[0] == LEASE_REQ_BEGIN_QUIET)
        s->begin_deferred = 0;
    /*
     * A statement of a block that failed and left no block on the backend
     * (its BEGIN failed, the backend connection was lost): for the client
     * the block is aborted, as PostgreSQL's would be, until it ends it
     * (session_dispatch, session_tx_local); statements meanwhile must not
     * run outside it.  A COMMIT or ROLLBACK that fails ends its block.
     */
    if (s->txstatus != 'I' && txstatus == 'I' && (flags & LEASE_F_ERROR) && s->req.len > 0 &&
        s->req.data[0] != LEASE_REQ_COMMIT && s->req.data[0] != LEASE_REQ_ROLLBACK) {
        s->begin_deferred = 1;
        txstatus = 'E';
    }
    if (txstatus != 'I' && s->slot != SHM_NONE)
        session_chain_refused(s->slot);
    /* The executor lost its backend: hand the slot back so it reconnects, even in session pooling. */
    if ((flags & LEASE_F_BROKEN) && s->slot != SHM_NONE)
        session_release(s);
    /* Session parameters follow the transaction block: SET undone by ROLLBACK, SET LOCAL at its end. */
    if (s->txstatus != 'I' && txstatus == 'I') {
        int committed = s->txstatus == 'T' && s->req.len > 0 && s->req.data[0] == LEASE_REQ_COMMIT &&
                        !(flags & LEASE_F_ERROR);
        struct pgbuf b;
        pgbuf_init(&b);
        params_tx_end(&s->params, committed, &b);
        session_send(s, &b);
        pgbuf_free(&b);
    }
    if (s->ext_busy) {
        extended_done(s, txstatus, flags, sig);
        return;
    }
    if (s->txstatus != 'I' && txstatus == 'I')
        extended_block_end(s);
    s->txstatus = txstatus;
    if (flags & LEASE_F_ERROR)
        session_query_stop(s);
    else
        s->query->stmt_i++;
    session_set_state(s, SESSION_IDLE);
    session_next(s);
}

/*
 * Only part of a header or of the DONE record is in the response ring: the
 * executor is writing the rest, or waits for the room the worker has just
 * made.  1: sleep until it writes more (it is woken after the loop for that
 * room); 0: more came meanwhile, read on.
 */
static int session_resp_partial(struct shm_slot *slot)
{
    size_t have = ring_readable(&slot->resp);
    ck_pr_store_32(&slot->resp.consumer_waiting, 1);
    ck_pr_fence_memory();
    if (ring_readable(&slot->resp) == have)
        return 1;
    ck_pr_store_32(&slot->resp.consumer_waiting, 0);
    return 0;
}

void session_poll(struct session *s)
{
    if (s->state != SESSION_RUNNING)
        return;
    if (s->chained && !session_chain_next(s))
        return;
    if (s->req_sent < s->req.len && !session_flush_request(s))
        return;
    struct shm_slot *slot = shm_slot(s->slot);
    struct pgbuf *capture = extended_capture(s);
    size_t forwarded = 0;
    for (;;) {
        if (conn_pending(&s->conn) > SESSION_OUT_HIGH && !session_chain_reached(s)) {
            s->out_blocked = 1;
            break;
        }
        const uint8_t *p;
        size_t n = ring_peek(&slot->resp, &p);
        if (n == 0) {
            /* Say we will sleep, then look once more (see shm/wake.h). */
            ck_pr_store_32(&slot->resp.consumer_waiting, 1);
            ck_pr_fence_memory();
            if (ring_readable(&slot->resp) == 0)
                break;
            ck_pr_store_32(&slot->resp.consumer_waiting, 0);
            continue;
        }
        /* The executor answers: what the worker held back goes out with it. */
        conn_release(&s->conn);
        size_t fwd = 0;
        while (fwd < n) {
            if (s->msg_left > 0) {
                size_t take = s->msg_left < n - fwd ? s->msg_left : n - fwd;
                fwd += take;
                s->msg_left -= take;
                continue;
            }
            if (n - fwd < 5 || p[fwd] == LEASE_DONE || p[fwd] == LEASE_NEXT)
                break;
            if (p[fwd] == 'G')
                s->copy_in = 1;
            s->msg_left = 1 + (size_t)pgproto_load_u32(p + fwd + 1);
        }
        if (fwd > 0) {
            conn_write(&s->conn, p, fwd);
            if (capture != NULL)
                pgproto_put_bytes(capture, p, fwd);
            ring_consume(&slot->resp, fwd);
            forwarded += fwd;
            continue;
        }
        /* At a message boundary whose header is split by the ring's end, or a DONE record. */
        uint8_t hdr[LEASE_DONE_LEN];
        if (ring_peek_copy(&slot->resp, hdr, 5) < 0) {
            if (session_resp_partial(slot))
                break;
            continue;
        }
        if (hdr[0] == LEASE_NEXT) {
            /* A request chained behind this lease was read through (session_chain_refused). */
            if (!session_chain_record(slot, hdr))
                break;
            if (worker.chain != NULL) {
                session_chain_refused(s->slot);
                session_chain_clear(&worker.chain[s->slot]);
            }
            if (hdr[5]) {
                log_error("session", "slot=%u: a chained lease was taken while client=%u holds it; resetting it",
                          s->slot, s->client);
                session_fatal(s, "08006", "the backend connection was handed to another client in error");
                return;
            }
            continue;
        }
        if (hdr[0] != LEASE_DONE) {
            if (hdr[0] == 'G')
                s->copy_in = 1;
            s->msg_left = 1 + (size_t)pgproto_load_u32(hdr + 1);
            size_t take = s->msg_left < 5 ? s->msg_left : 5;
            conn_write(&s->conn, hdr, take);
            if (capture != NULL)
                pgproto_put_bytes(capture, hdr, take);
            ring_consume(&slot->resp, take);
            s->msg_left -= take;
            forwarded += take;
            continue;
        }
        if (ring_peek_copy(&slot->resp, hdr, LEASE_DONE_LEN) < 0) {
            if (session_resp_partial(slot))
                break;
            continue;
        }
        ring_consume(&slot->resp, LEASE_DONE_LEN);
        session_wake_executor(slot, &slot->resp.producer_waiting);
        session_stats(s)->bytes_sent += forwarded;
        session_done(s, (char)hdr[5], hdr[6],
                     (uint64_t)pgproto_load_u32(hdr + 7) << 32 | pgproto_load_u32(hdr + 11));
        return;
    }
    if (forwarded > 0) {
        session_stats(s)->bytes_sent += forwarded;
        session_wake_executor(slot, &slot->resp.producer_waiting);
    }
    /* COPY FROM STDIN: the client's data goes on as the request ring makes room. */
    /*
     * The executor wakes us as soon as it has read anything, maybe before a
     * whole chunk fits: then ask again to be woken, or both sides sleep.
     */
    if (s->copy_in == 1 && (!s->input_paused || session_ring_room(s, session_copy_chunk(slot) + 5))) {
        s->input_paused = 0;
        conn_read_enable(&s->conn, 1);
        session_process_input(s);
    }
}

/*
 * The CopyData payload per request: SESSION_COPY_CHUNK, or half the request
 * ring where that is smaller (ring_size / 4, at least 4 kB), so that a chunk
 * always fits the ring with room left for the executor to read on.
 */
static size_t session_copy_chunk(const struct shm_slot *slot)
{
    size_t half = slot->req.size / 2;
    return half < SESSION_COPY_CHUNK ? half : SESSION_COPY_CHUNK;
}

/* Whether the slot's request ring has room for n bytes; if not, ask to be woken when it has. */
static int session_ring_room(struct session *s, size_t n)
{
    struct shm_slot *slot = shm_slot(s->slot);
    if (ring_writable(&slot->req) >= n)
        return 1;
    ck_pr_store_32(&slot->req.producer_waiting, 1);
    ck_pr_fence_memory();
    return ring_writable(&slot->req) >= n;
}

/* Write one whole message that session_ring_room() made room for. */
static void session_ring_push(struct session *s, const uint8_t *msg, size_t n)
{
    struct shm_slot *slot = shm_slot(s->slot);
    ring_write(&slot->req, msg, n);
    session_wake_executor(slot, &slot->req.consumer_waiting);
}

/*
 * Copy-in: move the client's CopyData to the executor.  The payload goes in
 * CopyData messages of at most SESSION_COPY_CHUNK bytes, each written whole
 * once the ring has room for it, so a COPY that ends early (an error)
 * never leaves half a message in the ring.  CopyDone and CopyFail end it;
 * Flush and Sync are ignored, as PostgreSQL does during COPY.
 */
static void session_copy_input(struct session *s, struct evbuffer *in)
{
    static uint8_t chunk[SESSION_COPY_CHUNK + 5];
    while (s->copy_in == 1) {
        if (s->copy_left > 0) {
            size_t n = evbuffer_get_length(in);
            if (n == 0)
                return;
            if (n > s->copy_left)
                n = s->copy_left;
            size_t most = session_copy_chunk(shm_slot(s->slot));
            if (n > most)
                n = most;
            if (!session_ring_room(s, n + 5))
                goto paused;
            chunk[0] = 'd';
            pgproto_store_u32(chunk + 1, (uint32_t)n + 4);
            evbuffer_remove(in, chunk + 5, n);
            session_ring_push(s, chunk, n + 5);
            s->copy_left -= n;
            session_stats(s)->bytes_received += n;
            continue;
        }
        uint8_t hdr[5];
        if (evbuffer_copyout(in, hdr, 5) < 5)
            return;
        uint32_t len = pgproto_load_u32(hdr + 1);
        if (len < 4 || (size_t)len - 4 > worker.cfg->max_message_size) {
            session_fatal(s, "08P01", "invalid message length during COPY from stdin");
            return;
        }
        switch (hdr[0]) {
        case 'd':
            evbuffer_drain(in, 5);
            s->copy_left = len - 4;
            session_stats(s)->bytes_received += 5;
            break;
        case 'c':
        case 'f': {
            if (evbuffer_get_length(in) < (size_t)len + 1)
                return;
            if ((size_t)len + 1 > sizeof(chunk) || (size_t)len + 1 > shm_slot(s->slot)->req.size) {
                session_fatal(s, "08P01", "CopyFail message too long");
                return;
            }
            if (!session_ring_room(s, (size_t)len + 1))
                goto paused;
            evbuffer_remove(in, chunk, len + 1);
            session_ring_push(s, chunk, len + 1);
            session_stats(s)->bytes_received += len + 1;
            /* The rest of the input waits for the COPY's result. */
            s->copy_in = 2;
            conn_read_enable(&s->conn, 0);
            return;
        }
        case 'H':
        case 'S':
            if (evbuffer_get_length(in) < (size_t)len + 1)
                return;
            evbuffer_drain(in, len + 1);
            break;
        case 'X':
            session_close(s);
            return;
        default: {
            char m[80];
            snprintf(m, sizeof(m), "unexpected message type 0x%02X during COPY from stdin", hdr[0]);
            session_fatal(s, "08P01", m);
            return;
        }
        }
    }
    return;
paused:
    /* The executor wakes us when it has read; session_poll resumes. */
    s->input_paused = 1;
    conn_read_enable(&s->conn, 0);
}

/* ---- queries ---- */

static int session_add_stmt(void *arg, const char *stmt, size_t len)
{
    struct session_query *q = arg;
    if (q->nstmts == q->stmts_cap) {
        int cap = q->stmts_cap ? q->stmts_cap * 2 : 4;
        struct session_stmt *n = realloc(q->stmts, sizeof(*n) * (size_t)cap);
        if (n == NULL)
            return -1;
        q->stmts = n;
        q->stmts_cap = cap;
    }
    q->stmts[q->nstmts].off = (uint32_t)(stmt - q->text);
    q->stmts[q->nstmts].len = (uint32_t)len;
    q->nstmts++;
    return 0;
}

/* The names of a client's open cursors WITH HOLD. */
struct session_held {
    int n, cap;
    char **names;
};

static void session_held_free(struct session *s)
{
    if (s->held == NULL)
        return;
    for (int i = 0; i < s->held->n; i++)
        free(s->held->names[i]);
    free(s->held->names);
    free(s->held);
    s->held = NULL;
}

/*
 * The cursor a DECLARE or CLOSE names (the word after the first, comments
 * aside), folded as PostgreSQL folds it, into out; "" when there is none
 * (or comments crowd it out of the first few tokens).
 */
static void session_cursor_name(const char *stmt, size_t len, char *out, size_t cap)
{
    struct sql_token t[8];
    struct sql_lex_error err;
    size_t nt = 0, words = 0;

    out[0] = '\0';
    if (sql_lex(stmt, len, t, 8, &nt, &err) < 0)
        return;
    for (size_t i = 0; i < nt && i < 8; i++) {
        if (t[i].type == SQL_TOK_COMMENT)
            continue;
        if (++words == 2) {
            if (t[i].type == SQL_TOK_IDENT || t[i].type == SQL_TOK_QIDENT)
                sql_token_fold(stmt, &t[i], out, cap);
            return;
        }
    }
}

/* 0, or -1 when out of memory. */
static int session_held_add(struct session *s, const char *name)
{
    struct session_held *h = s->held;
    if (h == NULL && (h = s->held = calloc(1, sizeof(*h))) == NULL)
        return -1;
    for (int i = 0; i < h->n; i++)
        if (strcmp(h->names[i], name) == 0)
            return 0;
    if (h->n == h->cap) {
        int cap = h->cap ? 2 * h->cap : 4;
        char **names = realloc(h->names, (size_t)cap * sizeof(*names));
        if (names == NULL)
            return -1;
        h->names = names;
        h->cap = cap;
    }
    char *copy = strdup(name);
    if (copy == NULL)
        return -1;
    h->names[h->n++] = copy;
    return 0;
}

static void session_held_remove(struct session *s, const char *name, int all)
{
    struct session_held *h = s->held;
    if (h == NULL)
        return;
    for (int i = h->n - 1; i >= 0; i--) {
        if (all || strcmp(h->names[i], name) == 0) {
            free(h->names[i]);
            h->names[i] = h->names[--h->n];
        }
    }
}

void session_backend_statement(struct session *s, int flags, const char *verb, const char *stmt, size_t len)
{
    char name[64];

    if (flags & SQL_FLAG_BACKEND_STATE) {
        int cursor = strcmp(verb, "DECLARE CURSOR") == 0;
        if (s->backend_state == 0 && worker.cfg->pool_mode == CFG_POOL_TRANSACTION)
            log_info("session", "client=%u user=%s db=%s keeps its backend connection: %s leaves state there",
                     s->client, session_user(s), session_database(s), verb);
        if (!cursor) {
            s->backend_state |= SHM_KEEPS_STATE;
            return;
        }
        session_cursor_name(stmt, len, name, sizeof(name));
        /*
         * A cursor whose name cannot be read or written down is kept as
         * other state is, until the client goes: it is never forgotten wrongly.
         */
        if (name[0] == '\0' || session_held_add(s, name) < 0)
            s->backend_state |= SHM_KEEPS_STATE;
        else
            s->backend_state |= SHM_KEEPS_CURSORS;
        return;
    }
    /*
     * CLOSE in a transaction block is left alone: its transaction could
     * still fail.  Outside one it either closes the cursor or finds none.
     */
    if (!(s->backend_state & SHM_KEEPS_CURSORS) || s->txstatus != 'I' || strncmp(verb, "CLOSE CURSOR", 12) != 0)
        return;
    session_cursor_name(stmt, len, name, sizeof(name));
    session_held_remove(s, name, strcmp(verb, "CLOSE CURSOR ALL") == 0);
}

/* A client kept for its cursors WITH HOLD alone, all of them closed now, keeps its slot no more. */
static void session_held_done(struct session *s)
{
    if (s->backend_state != SHM_KEEPS_CURSORS || (s->held != NULL && s->held->n > 0) || s->txstatus != 'I')
        return;
    s->backend_state = 0;
    session_held_free(s);
    /* Closed: nothing is left on the connection that needs it made anew. */
    if (s->slot != SHM_NONE)
        ck_pr_store_32(&shm_slot(s->slot)->discard, 0);
    if (worker.cfg->pool_mode == CFG_POOL_TRANSACTION)
        log_info("session", "client=%u user=%s db=%s closed its cursors WITH HOLD: its connection goes back",
                 s->client, session_user(s), session_database(s));
}

void session_warn_sequence(struct session *s, struct pgbuf *out)
{
    /* Within a transaction, or on a kept connection, the session is the one nextval() ran in. */
    if (s->slot != SHM_NONE || s->backend_state || worker.cfg->pool_mode != CFG_POOL_TRANSACTION)
        return;
    pgproto_error(out, 'N', "WARNING", "01000",
                  "currval() and lastval() read the backend connection's session, and under transaction "
                  "pooling this transaction need not run on the connection where nextval() last ran",
                  NULL, "Use INSERT ... RETURNING, or call them in the transaction that called nextval().");
}

void session_discard_backend(struct session *s)
{
    if (!s->backend_state || s->txstatus != 'I')
        return;
    if (s->slot != SHM_NONE) {
        session_release(s);     /* which forgets the state too */
        return;
    }
    s->backend_state = 0;
    session_held_free(s);
}

void session_resume(struct session *s)
{
    session_set_state(s, SESSION_IDLE);
    conn_read_enable(&s->conn, 1);
    session_process_input(s);
}

void session_end_of_query(struct session *s)
{
    session_held_done(s);
    /* A request chained behind this lease counts on its end (even should a reload change the mode). */
    if (s->slot != SHM_NONE && s->txstatus == 'I' && !s->backend_state &&
        (worker.cfg->pool_mode == CFG_POOL_TRANSACTION || session_chain_pending(s->slot)))
        session_release(s);
    session_query_free(s);
    session_set_state(s, SESSION_IDLE);
    session_ready(s);
    if (s->close_when_idle && s->txstatus == 'I') {
        session_fatal(s, "57P01", "terminating connection due to administrator command");
        return;
    }
    conn_read_enable(&s->conn, 1);
    session_process_input(s);
}

int session_show_on_backend(const struct session *s, enum sql_command cmd, const char *stmt, size_t len)
{
    return cmd == SQL_CMD_SHOW && shm_pool(s->pool)->dialect == CFG_DIALECT_POSTGRES &&
           !params_show_answered(&s->params, stmt, len);
}

static void session_next(struct session *s)
{
    struct session_query *q = s->query;
    struct pgbuf local;
    pgbuf_init(&local);
    while (q->stmt_i < q->nstmts) {
        const char *stmt = q->text + q->stmts[q->stmt_i].off;
        size_t len = q->stmts[q->stmt_i].len;
        const struct xlate *x = session_xlate(s, XLATE_SPLIT, stmt, len);
        if (x->error != NULL) {
            pgproto_error(&local, 'E', "ERROR", x->sqlstate, x->error, NULL, NULL);
            session_query_stop(s);
            break;
        }
        const char *verb = x->verb;
        enum sql_command cmd = x->cmd;
        int sql_prepare = strcmp(verb, "PREPARE") == 0, sql_execute = strcmp(verb, "EXECUTE") == 0;
        if ((sql_prepare || sql_execute) && s->txstatus == 'E') {
            pgproto_error(&local, 'E', "ERROR", "25P02", PGPROTO_TX_ABORTED, NULL, NULL);
            session_query_stop(s);
            break;
        }
        /* SQL PREPARE makes a statement of the client's, as Parse does: it lives here, not on a backend. */
        if (sql_prepare) {
            int rc = extended_sql_prepare(s, stmt, len, &local);
            session_stmt_next(s, rc < 0);
            continue;
        }
        /* EXECUTE runs that statement's text with its arguments in place, on whatever slot. */
        if (sql_execute) {
            free(q->exec_sql);
            q->exec_sql = extended_sql_execute(s, stmt, len, &local);
            if (q->exec_sql == NULL) {
                session_query_stop(s);
                break;
            }
            stmt = q->exec_sql;
            len = strlen(stmt);
            x = session_xlate(s, XLATE_PARSE, stmt, len);
            if (x->error != NULL) {
                pgproto_error(&local, 'E', "ERROR", x->sqlstate, x->error, NULL, NULL);
                session_query_stop(s);
                break;
            }
            verb = x->verb;
            cmd = x->cmd;
        }
        if (x->flags & SQL_FLAG_NO_BACKEND) {
            /* Nothing to do on this backend (RELEASE SAVEPOINT on IRIS): the tag alone. */
            pgproto_command_complete(&local, verb);
            q->stmt_i++;
            continue;
        }
        if ((cmd == SQL_CMD_SET || cmd == SQL_CMD_SHOW || cmd == SQL_CMD_RESET) &&
            !session_show_on_backend(s, cmd, stmt, len)) {
            if (s->txstatus == 'E') {
                pgproto_error(&local, 'E', "ERROR", "25P02", PGPROTO_TX_ABORTED, NULL, NULL);
                session_query_stop(s);
                break;
            }
            int rc = params_execute(&s->params, cmd, stmt, len, s->txstatus != 'I', &local);
            session_stmt_next(s, rc < 0);
            continue;
        }
        int set_tx = cmd == SQL_CMD_OTHER && strcmp(verb, "SET") == 0
                         ? params_set_transaction(&s->params, stmt, len, s->txstatus, &local)
                         : PARAMS_TX_NOT;
        if (set_tx == PARAMS_TX_ANSWERED || set_tx == PARAMS_TX_FAILED) {
            session_stmt_next(s, set_tx == PARAMS_TX_FAILED);
            continue;
        }
        /* Prepared statements are the client's, kept in this worker: so are their removal. */
        if (cmd == SQL_CMD_DISCARD && strcmp(verb, "DISCARD ALL") == 0 && s->txstatus == 'T') {
            pgproto_error(&local, 'E', "ERROR", "25001", "DISCARD ALL cannot run inside a transaction block",
                          NULL, NULL);
            session_query_stop(s);
            break;
        }
        if ((cmd == SQL_CMD_DISCARD && strcmp(verb, "DISCARD ALL") == 0) || strcmp(verb, "DEALLOCATE") == 0 ||
            strcmp(verb, "DEALLOCATE ALL") == 0) {
            if (s->txstatus == 'E') {
                pgproto_error(&local, 'E', "ERROR", "25P02", PGPROTO_TX_ABORTED, NULL, NULL);
                session_query_stop(s);
                break;
            }
            int rc = extended_deallocate(s, stmt, len, verb, &local);
            session_stmt_next(s, rc < 0);
            continue;
        }
        char refusal[128];
        if (s->txstatus == 'I' && params_refuse_write(&s->params, cmd, verb, stmt, len, refusal, sizeof(refusal))) {
            pgproto_error(&local, 'E', "ERROR", "25006", refusal, NULL, NULL);
            session_query_stop(s);
            break;
        }
        int answered = session_tx_local(s, cmd, verb, stmt, len, &local);
        if (answered < 0) {
            session_query_stop(s);
            break;
        }
        if (answered > 0) {
            q->stmt_i++;
            continue;
        }
        if (x->flags & SQL_FLAG_READS_SEQUENCE)
            session_warn_sequence(s, &local);
        session_send(s, &local);
        pgbuf_free(&local);
        char type = LEASE_REQ_EXEC;
        if (cmd == SQL_CMD_BEGIN)
            type = LEASE_REQ_BEGIN;
        else if (cmd == SQL_CMD_COMMIT)
            type = LEASE_REQ_COMMIT;
        else if (cmd == SQL_CMD_ROLLBACK)
            type = LEASE_REQ_ROLLBACK;
        else if (cmd == SQL_CMD_SAVEPOINT)
            type = LEASE_REQ_SAVEPOINT;
        else if (cmd == SQL_CMD_COPY)
            type = LEASE_REQ_COPY;
        else if (set_tx == PARAMS_TX_SEND)
            type = LEASE_REQ_TX_MODES;
        /*
         * BEGIN, COPY and SET TRANSACTION go as the client wrote them: the
         * executor reads their options itself.  A BEGIN that starts a block
         * names the client's default modes too.
         */
        struct pgbuf modes;
        pgbuf_init(&modes);
        /* COMMIT of an aborted block rolls back, and says so, as PostgreSQL does. */
        if (type == LEASE_REQ_COMMIT && s->txstatus == 'E')
            session_build_request(s, LEASE_REQ_ROLLBACK, "ROLLBACK", NULL, 0);
        else if (type == LEASE_REQ_COMMIT || type == LEASE_REQ_ROLLBACK)
            session_build_request(s, type, verb, NULL, 0);
        else if (type == LEASE_REQ_BEGIN && s->txstatus == 'I' && params_begin(&s->params, stmt, len, &modes))
            session_build_request(s, type, verb, (const char *)modes.data, modes.len);
        else if (type == LEASE_REQ_BEGIN || type == LEASE_REQ_COPY || type == LEASE_REQ_TX_MODES)
            session_build_request(s, type, verb, stmt, len);
        else
            session_build_request(s, type, verb, x->sql, x->len);
        pgbuf_free(&modes);
        session_backend_statement(s, x->flags, verb, stmt, len);
        session_dispatch(s);
        return;
    }
    session_send(s, &local);
    pgbuf_free(&local);
    session_end_of_query(s);
}

static void session_query(struct session *s, const uint8_t *body, size_t len)
{
    size_t sl = strnlen((const char *)body, len);
    if (sl == len) {
        session_fatal(s, "08P01", "invalid Query message: string not terminated");
        return;
    }
    struct pgbuf b;
    pgbuf_init(&b);
    if (s->admin) {
        admin_query((const char *)body, sl, worker.cfg, s->may_modify, &b);
        pgproto_ready(&b, 'I');
        session_send(s, &b);
        pgbuf_free(&b);
        return;
    }
    extended_simple_query(s);
    struct session_query *q = calloc(1, sizeof(*q) + sl + 1);
    if (q == NULL) {
        session_fatal(s, "53200", "out of memory");
        pgbuf_free(&b);
        return;
    }
    memcpy(q->text, body, sl + 1);
    s->query = q;
    struct sql_lex_error err;
    int rc;
    /* A query string seen before as one statement needs no splitting. */
    if (sl > 0 && xlate_peek((enum cfg_dialect)shm_pool(s->pool)->dialect, q->text, sl) != NULL)
        rc = session_add_stmt(q, q->text, sl);
    else
        rc = sql_split(q->text, sl, session_add_stmt, q, &err);
    if (rc != 0) {
        char msg[200];
        if (rc < 0)
            snprintf(msg, sizeof(msg), "%s at character %u", err.message, err.off + 1);
        pgproto_error(&b, 'E', "ERROR", rc < 0 ? "42601" : "53200", rc < 0 ? msg : "out of memory",
                      NULL, NULL);
        session_abort_block(s);
        pgproto_ready(&b, s->txstatus);
        session_send(s, &b);
        pgbuf_free(&b);
        session_query_free(s);
        return;
    }
    pgbuf_free(&b);
    if (q->nstmts == 0) {
        pgbuf_init(&b);
        pgproto_empty_query(&b);
        pgproto_ready(&b, s->txstatus);
        session_send(s, &b);
        pgbuf_free(&b);
        session_query_free(s);
        return;
    }
    session_next(s);
}

/* ---- input ---- */

static int session_startup_packet(struct session *s, struct evbuffer *in)
{
    uint8_t hdr[8];
    if (evbuffer_copyout(in, hdr, 4) < 4)
        return 0;
    uint32_t len = pgproto_load_u32(hdr);
    if (len < 8 || len > SESSION_STARTUP_MAX) {
        session_fatal(s, "08P01", "invalid length of startup packet");
        return -1;
    }
    if (evbuffer_get_length(in) < len)
        return 0;
    uint8_t *pkt = evbuffer_pullup(in, len);
    uint32_t code = pgproto_load_u32(pkt + 4);
    if (code == PGPROTO_SSL_REQUEST && conn_ssl(&s->conn) != NULL) {
        evbuffer_drain(in, len);
        session_fatal(s, "08P01", "SSL negotiation requested on a connection that is already encrypted");
        return -1;
    }
    if (code == PGPROTO_SSL_REQUEST && tls_mode() != TLS_DISABLE && !s->unix_socket) {
        evbuffer_drain(in, len);
        /* The input must be empty: bytes after SSLRequest would be read as plain text (CVE-2021-23222). */
        if (evbuffer_get_length(in) > 0) {
            session_fatal(s, "08P01", "received unencrypted data after SSL request");
            return -1;
        }
        return session_start_tls(s);
    }
    if (code == PGPROTO_SSL_REQUEST || code == PGPROTO_GSSENC_REQUEST) {
        evbuffer_drain(in, len);
        conn_write(&s->conn, "N", 1);
        return 1;
    }
    if (code == PGPROTO_CANCEL_REQUEST) {
        if (len == 16)
            session_cancel_request(pgproto_load_u32(pkt + 8), (int32_t)pgproto_load_u32(pkt + 12));
        evbuffer_drain(in, len);
        session_close(s);
        return -1;
    }
    if (code >> 16 != 3) {
        char msg[200];
        snprintf(msg, sizeof(msg), "unsupported frontend protocol %u.%u: server supports 3.0 to 3.0",
                 code >> 16, code & 0xffff);
        evbuffer_drain(in, len);
        session_fatal(s, "0A000", msg);
        return -1;
    }
    uint8_t *body = malloc(len - 8 + 1);
    if (body == NULL) {
        session_fatal(s, "53200", "out of memory");
        return -1;
    }
    memcpy(body, pkt + 8, len - 8);
    body[len - 8] = 0;
    evbuffer_drain(in, len);
    session_startup(s, body, len - 8);
    free(body);
    return s->state == SESSION_CLOSING ? -1 : 1;
}

/*
 * Answer 'S' and go on in TLS.  Returns 0 so that input processing stops:
 * what follows arrives decrypted, in another read callback.
 */
static int session_start_tls(struct session *s)
{
    SSL *ssl = tls_new_ssl();
    if (ssl == NULL) {
        conn_write(&s->conn, "N", 1);
        return 1;
    }
    conn_write(&s->conn, "S", 1);
    if (conn_start_tls(&s->conn, ssl) < 0) {
        session_close(s);
        return -1;
    }
    return 0;
}

/*
 * Copy a message body out of the input (NUL-terminated) and drain the whole
 * message: handlers send, close and re-enter input processing, any of which
 * invalidates the pulled-up input.  NULL (session closing) when out of memory.
 */
static uint8_t *session_take_body(struct session *s, struct evbuffer *in, const uint8_t *body, size_t blen)
{
    uint8_t *copy = malloc(blen + 1);
    if (copy == NULL) {
        session_fatal(s, "53200", "out of memory");
        return NULL;
    }
    memcpy(copy, body, blen);
    copy[blen] = 0;
    evbuffer_drain(in, blen + 5);
    return copy;
}

/*
 * Reading goes on while a query runs (stopping and starting it would cost
 * two epoll changes per query): what the client sends meanwhile waits in
 * the input buffer, up to SESSION_IN_HIGH bytes; past that, reading stops
 * until the query ends (session_end_of_query, session_resume).
 */
static void session_input_hold(struct session *s, struct evbuffer *in)
{
    if (evbuffer_get_length(in) > SESSION_IN_HIGH)
        conn_read_enable(&s->conn, 0);
}

static void session_process_input(struct session *s)
{
    while (s->state != SESSION_CLOSING) {
        /* Fetched anew each time: a handler may have consumed (and so freed) the input. */
        struct evbuffer *in = conn_input(&s->conn);
        if (in == NULL)
            return;
        if (s->state == SESSION_STARTUP) {
            if (session_startup_packet(s, in) <= 0)
                return;
            continue;
        }
        if (s->state == SESSION_RUNNING && s->copy_in == 1) {
            session_copy_input(s, in);
            return;
        }
        if (s->state == SESSION_WAITING || s->state == SESSION_RUNNING) {
            session_input_hold(s, in);
            return;
        }
        if (s->copy_skip > 0) {
            size_t n = evbuffer_get_length(in);
            if (n == 0)
                return;
            if (n > s->copy_skip)
                n = s->copy_skip;
            evbuffer_drain(in, n);
            s->copy_skip -= n;
            continue;
        }
        uint8_t hdr[5];
        if (evbuffer_copyout(in, hdr, 5) < 5)
            return;
        uint32_t len = pgproto_load_u32(hdr + 1);
        if (len < 4) {
            session_fatal(s, "08P01", "invalid message length");
            return;
        }
        if ((size_t)len - 4 > worker.cfg->max_message_size) {
            char msg[200];
            snprintf(msg, sizeof(msg), "message of %u bytes exceeds max_message_size (%zu)", len - 4,
                     worker.cfg->max_message_size);
            session_fatal(s, "08P01", msg);
            return;
        }
        if (evbuffer_get_length(in) < (size_t)len + 1)
            return;
        uint8_t *msg = evbuffer_pullup(in, (ssize_t)len + 1);
        const uint8_t *body = msg + 5;
        size_t blen = len - 4;
        char type = (char)hdr[0];
        if (s->pool != SHM_NONE)
            session_stats(s)->bytes_received += len + 1;
        if (s->state >= SESSION_AUTH_MD5 && s->state <= SESSION_AUTH_SASL_FINAL) {
            if (type != 'p') {
                session_fatal(s, "08P01", "expected password response");
                return;
            }
            uint8_t *copy = session_take_body(s, in, body, blen);
            if (copy == NULL)
                return;
            session_auth_message(s, copy, blen);
            free(copy);
            continue;
        }
        switch (type) {
        case 'Q':
            if (s->ext_error) {
                evbuffer_drain(in, len + 1);
                break;
            }
            {
                uint8_t *copy = session_take_body(s, in, body, blen);
                if (copy == NULL)
                    return;
                session_query(s, copy, blen);
                free(copy);
            }
            break;
        case 'X':
            evbuffer_drain(in, len + 1);
            session_close(s);
            return;
        case 'P': case 'B': case 'D': case 'E': case 'C': case 'S': case 'H': {
            if (s->admin) {
                evbuffer_drain(in, len + 1);
                if (type == 'S')
                    session_ready(s);
                else if (type != 'H')
                    session_fatal(s, "0A000", "the admin console supports only the simple query protocol");
                break;
            }
            uint8_t *copy = session_take_body(s, in, body, blen);
            if (copy == NULL)
                return;
            extended_message(s, type, copy, blen);
            free(copy);
            break;
        }
        case 'F': {
            /*
             * An error, as for any statement pgiris cannot run, and the
             * connection stays (libpq's lo_* and PgJDBC's large objects send
             * it; a FATAL closed the client's connection for it).
             */
            evbuffer_drain(in, len + 1);
            /* Skipped with the rest of a batch an error ended, up to its Sync, as PostgreSQL does. */
            if (s->ext_error)
                break;
            conn_release(&s->conn);
            struct pgbuf b;
            pgbuf_init(&b);
            pgproto_error(&b, 'E', "ERROR", "0A000", "the fast-path function call protocol is not supported",
                          NULL, "Large objects (lo_*) use it: store the data in a bytea column instead.");
            session_abort_block(s);
            pgproto_ready(&b, s->txstatus);
            session_send(s, &b);
            pgbuf_free(&b);
            break;
        }
        case 'd': case 'c': case 'f':
            /* COPY data outside COPY is ignored, as PostgreSQL does. */
            evbuffer_drain(in, len + 1);
            break;
        default: {
            char m[80];
            snprintf(m, sizeof(m), "invalid frontend message type %d", (int)(uint8_t)type);
            session_fatal(s, "08P01", m);
            return;
        }
        }
    }
}

static struct session *session_of(struct conn *c)
{
    return (struct session *)((char *)c - offsetof(struct session, conn));
}

static void session_read_cb(struct conn *c)
{
    session_process_input(session_of(c));
}

static void session_write_cb(struct conn *c)
{
    struct session *s = session_of(c);
    if (s->state == SESSION_CLOSING) {
        if (conn_pending(c) == 0)
            session_free(s);
        return;
    }
    if (s->out_blocked) {
        s->out_blocked = 0;
        session_poll(s);
    }
}

static void session_error_cb(struct conn *c)
{
    struct session *s = session_of(c);
    /*
     * A client that sent its query and closed its side still gets the
     * whole query run, as PostgreSQL runs a Query message to its end:
     * reading resumes, and ends the session, once it is done.  In COPY
     * FROM STDIN the end of file comes only after every byte before it has
     * gone to the executor (reading stops while the request ring is full,
     * and at CopyDone): a COPY that gets it never had its CopyDone, and is
     * rolled back.
     */
    if (c->eof && (s->state == SESSION_WAITING || (s->state == SESSION_RUNNING && s->copy_in != 1))) {
        conn_read_enable(c, 0);
        return;
    }
    log_debug("session", "client=%u disconnected", s->client);
    /* Half closed: what is still queued for it goes out first, as PostgreSQL would send it. */
    if (c->eof && s->state == SESSION_IDLE && conn_pending(c) > 0) {
        session_close(s);
        return;
    }
    session_free(s);
}

void session_shutdown_idle(void)
{
    struct session *s, *next;
    for (s = TAILQ_FIRST(&worker.sessions); s != NULL; s = next) {
        next = TAILQ_NEXT(s, link);
        if (s->state == SESSION_CLOSING)
            continue;
        /*
         * A chained request the executor has got to runs: its client is told
         * after.  A block begun in the worker in which nothing has run yet has
         * nothing on the backend to finish: its client is idle.
         */
        if ((s->state == SESSION_IDLE && (s->txstatus == 'I' || s->begin_deferred)) || s->state < SESSION_IDLE ||
            (s->state == SESSION_WAITING && (!s->chained || session_chain_withdraw(s))))
            session_fatal(s, "57P01", "terminating connection due to administrator command");
        else
            s->close_when_idle = 1;
    }
}
