/*
 * session: one client connection inside a worker, from the startup packet
 * to Terminate.  Its states are an explicit enum and every change goes
 * through session_set_state(); the worker loop only calls the entry points
 * below.
 */
#ifndef PGIRIS_SESSION_H
#define PGIRIS_SESSION_H

#include <stdint.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "common/config.h"
#include "common/pgproto.h"
#include "shm/shm.h"
#include "worker/auth.h"
#include "worker/conn.h"
#include "worker/params.h"
#include "worker/xlate.h"

enum session_state {
    SESSION_STARTUP,        /* waiting for the startup packet */
    SESSION_AUTH_MD5,       /* waiting for the md5 PasswordMessage */
    SESSION_AUTH_SASL,      /* waiting for SASLInitialResponse */
    SESSION_AUTH_SASL_FINAL,/* waiting for SASLResponse */
    SESSION_IDLE,           /* ReadyForQuery sent */
    SESSION_WAITING,        /* a statement waits for a backend slot */
    SESSION_RUNNING,        /* a request is on a slot; forwarding its results */
    SESSION_CLOSING,        /* flushing the last bytes, then gone */
};

struct session_query;
struct session_held;

/* session.chained */
#define SESSION_CHAINED 1           /* queued behind another client's lease */
#define SESSION_CHAIN_SKIP 2        /* the client before left mid-reply: drop the rest of it first */
#define SESSION_CHAIN_CANCEL 4      /* cancelled after the executor got to it: 57014 if it comes back to the queue */

struct session {
    TAILQ_ENTRY(session) link;          /* the worker's sessions */
    /* its pool's wait queue while WAITING, the running list while RUNNING: never both */
    TAILQ_ENTRY(session) queue_link;
    struct conn conn;
    struct event *timer;                /* login, query wait, statement or close timeout; NULL when none runs */
    enum session_state state;
    uint32_t client;                    /* shm client entry */
    uint32_t pool;                      /* SHM_NONE for the admin console */

    /* the lease */
    uint32_t slot;                      /* SHM_NONE when none */
    char txstatus;
    /* Flags are bytes, next to each other: every idle client carries them. */
    uint8_t admin;                      /* connected to the console */
    uint8_t may_modify;
    uint8_t unix_socket;                /* a local client: no TLS to offer or require */
    uint8_t stmt_failed;
    uint8_t out_blocked;                /* client output over the high-water mark */
    uint8_t close_when_idle;            /* graceful shutdown asked for it */
    uint8_t ext_error;                  /* extended-protocol message refused; skip to Sync */
    uint8_t ext_busy;                   /* the request on the slot is extended.c's */
    uint8_t ext_describe_next;          /* the next Execute also describes its portal */
    /* COPY FROM STDIN: 1 while client CopyData goes to the slot, 2 after CopyDone/CopyFail */
    uint8_t copy_in;
    uint8_t input_paused;               /* reading stopped until the request ring drains */
    uint8_t timer_statement;            /* s->timer runs statement_timeout */
    uint8_t slot_clean;                 /* the last DONE said LEASE_F_CLEAN */
    uint8_t begin_deferred;             /* BEGIN answered here; 'b' goes before the block's first request */
    /*
     * A chained lease (session.c), SESSION_CHAIN_* bits: the request is
     * queued behind another client's lease (WAITING, out of the wait
     * queue) and, once that lease ended, the slot's LEASE_NEXT record is
     * still to be read.
     */
    uint8_t chained;
    /*
     * A statement left state on the backend connection (SQL_FLAG_BACKEND_STATE):
     * the client keeps its slot past its transactions, and the slot is
     * connected anew when it goes back (shm_slot.discard).  SHM_KEEPS_*
     * bits, as SHOW CLIENTS shows them: cursors WITH HOLD alone (named in
     * held) are let go once closed.
     */
    uint8_t backend_state;
    uint8_t md5_salt[4];                /* authentication */
    size_t msg_left;                    /* bytes of the current message still to forward */
    struct pgbuf req;                   /* request bytes not yet in the ring */
    struct session_held *held;          /* open cursors WITH HOLD (SHM_KEEPS_CURSORS); NULL when none */
    size_t req_sent;
    int64_t query_start_us;
    int64_t xact_start_us;

    /* authentication */
    char *secret;
    struct auth_scram *scram;           /* during a SCRAM exchange only */

    struct params params;

    struct session_query *query;        /* the simple Query being run; NULL when none */

    /* extended query protocol (worker/extended.c) */
    struct extended_state *ext;

    /* COPY FROM STDIN (copy_in above) */
    size_t copy_left;                   /* payload of the client's current CopyData not yet moved */
    size_t copy_skip;                   /* input bytes to drop: the rest of a CopyData after the COPY ended */
};

TAILQ_HEAD(session_list, session);

/* Take a new client connection (fd already accepted and non-blocking). */
void session_accept(int fd, const struct sockaddr *sa, int salen);

/* Forward what the executor produced / push pending request bytes. */
void session_poll(struct session *s);

/* A slot may have freed up: give it to the first waiter of each pool. */
void session_serve_waiters(void);

/* Graceful shutdown: close idle sessions now, the rest when their transaction ends. */
void session_shutdown_idle(void);

/* Number of sessions still open in this worker. */
int session_count(void);

/* For worker/extended.c: queue bytes for the client. */
void session_send(struct session *s, struct pgbuf *b);

/* xlate_get for this session's pool and client (its user and database). */
const struct xlate *session_xlate(const struct session *s, enum xlate_source src, const char *stmt, size_t len);
/* For worker/extended.c: run the request built in s->req on a slot (now or when one frees up). */
void session_dispatch(struct session *s);

/* An error the worker answered inside a block: the block is aborted ('T' -> 'E'), as an executor's error aborts it. */
void session_abort_block(struct session *s);
/* A SHOW of a setting pgiris does not keep, on PostgreSQL: its server answers it (work_mem). */
int session_show_on_backend(const struct session *s, enum sql_command cmd, const char *stmt, size_t len);
/*
 * BEGIN, COMMIT or ROLLBACK (cmd, its tag verb, the text stmt) answered
 * here, into out, under transaction pooling: a plain BEGIN when no
 * backend connection is held (it is sent with the block's first request,
 * 'b' in shm/lease.h), and the end of a block in which nothing ran.
 * 1 when answered, 0 when the statement goes on, -1 when refused (AND
 * CHAIN; its ErrorResponse in out).
 */
int session_tx_local(struct session *s, enum sql_command cmd, const char *verb, const char *stmt, size_t len,
                     struct pgbuf *out);
/* End of a Query or of an extended-protocol Sync: release the slot if the pool mode says so, ReadyForQuery. */
void session_end_of_query(struct session *s);

/*
 * Before a statement runs: one with SQL_FLAG_BACKEND_STATE (flags) leaves
 * state on the backend connection that is the client's, so the slot is kept
 * from now on; a DECLARE ... WITH HOLD is remembered by name, and a CLOSE
 * outside a transaction block forgets it, so that a client kept for its
 * cursors alone lets the slot go once they are closed.  stmt is the
 * client's text, verb its command tag.
 */
void session_backend_statement(struct session *s, int flags, const char *verb, const char *stmt, size_t len);

/*
 * A statement reads currval() or lastval() (SQL_FLAG_READS_SEQUENCE): when
 * it begins a transaction of its own under transaction pooling, append a
 * WARNING to out, since the connection it gets may not be the one whose
 * nextval() the client means.
 */
void session_warn_sequence(struct session *s, struct pgbuf *out);

/*
 * DISCARD ALL: the client's state on the backend goes too.  A client that
 * kept its slot for it hands the slot back, to be connected anew.
 */
void session_discard_backend(struct session *s);
/* A request finished: back to IDLE and on with buffered input. */
void session_resume(struct session *s);

/* CancelRequests for clients of this worker that wait for a slot (shm_worker.cancels). */
void session_check_cancels(void);

/* The running list, for the worker loop's poll before it sleeps. */
extern struct session_list session_running;

#endif
