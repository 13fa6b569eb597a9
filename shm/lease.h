/*
 * lease: what travels through a backend slot's rings while a worker holds it.
 *
 * Both directions use PostgreSQL's framing (type byte, then a 4-byte
 * big-endian length that counts itself), so the worker forwards executor
 * output without re-framing it.
 *
 * Requests (worker -> executor):
 *   'Q'  verb NUL sql          run one statement (verb names its command tag)
 *   'B'  tag NUL [sql]         begin a transaction (with the modes sql names)
 *   'b'  NUL                   begin a transaction whose BEGIN the worker has
 *                              already answered, with the request after it in
 *                              the same write: nothing is answered when the
 *                              block opens.  If it cannot, its ErrorResponse
 *                              and DONE answer that next request, which is
 *                              read through.  Read through after an 'N', it
 *                              goes with its request
 *   'C'  tag NUL               commit
 *   'R'  tag NUL               roll back
 *   'S'  tag NUL sql           SAVEPOINT, RELEASE or ROLLBACK TO
 *   'M'  tag NUL sql           SET TRANSACTION modes, inside a transaction block
 *                              (sql as the client wrote it)
 *   'Y'  tag NUL sql           COPY; FROM STDIN is answered with CopyInResponse
 *                              and then reads 'd' CopyData messages up to a
 *                              'c' CopyDone or 'f' CopyFail (PostgreSQL's)
 *   'd' 'c' 'f'                outside a COPY: ignored, answered with nothing
 *                              (what a worker sent after the COPY failed)
 *   'X'                        end of lease: reset the connection, back to the pool
 *                              (not sent when the worker queues the slot itself:
 *                              lease_release)
 *   'N'  client:u32            a chained lease: the request after this one is
 *                              another client's, queued by the worker that holds
 *                              the slot behind a request it expects to end the
 *                              lease.  If that lease did end clean ('I', the
 *                              DONE said LEASE_F_CLEAN, nothing for the executor
 *                              to do at its end) and the worker has not taken the
 *                              request back (shm_slot.chain), the slot's lease
 *                              goes on to client and its request runs at once;
 *                              otherwise it is read through.  Answered with a
 *                              LEASE_NEXT record either way
 *   'E'  verb NUL flags:u8 max_rows:i32 portal:u32 sig:u64 nparams:i16
 *        { oid:i32 format:i16 len:i32 bytes } nformats:i16 { format:i16 } sql
 *                              run with parameters ('?' markers, in order);
 *                              flags is LEASE_EXEC_*; portal (not 0) names
 *                              the cursor a row limit leaves open, which
 *                              stays open while other statements run; sig
 *                              (0: none) is the DONE sig of the columns the
 *                              client was told for this statement: a run
 *                              that does not describe its rows fails with
 *                              0A000 if they changed since
 *   'F'  max_rows:i32 portal:u32
 *                              more rows from that suspended execution;
 *                              max_rows -1: close it, answered with
 *                              CloseComplete
 *   'D'  how:u8 nparams:i16 { oid:i32 } nformats:i16 { format:i16 } sql
 *                              describe without running; how is LEASE_DESCRIBE_*
 * Responses (executor -> worker): PostgreSQL messages, and after each
 * request but 'X' one LEASE_DONE record:
 *   0x01 txstatus flags sig:u64
 *                              txstatus 'I', 'T' or 'E'; flags LEASE_F_*;
 *                              sig (0: none) names the columns of the
 *                              statement an 'E' or 'D' request used, as the
 *                              driver describes them (odbc_take_sig)
 *   0x02 taken:u8             the answer to 'N': 1 when the lease went on to
 *                              that client (its replies follow), 0 when its
 *                              request was read through and the lease before
 *                              goes on, or ends as usual
 */
#ifndef PGIRIS_LEASE_H
#define PGIRIS_LEASE_H

#include <stdint.h>

struct shm_pool;
struct shm_slot;

#define LEASE_REQ_EXEC 'Q'
#define LEASE_REQ_BEGIN 'B'
#define LEASE_REQ_BEGIN_QUIET 'b'
#define LEASE_REQ_COMMIT 'C'
#define LEASE_REQ_ROLLBACK 'R'
#define LEASE_REQ_RELEASE 'X'
#define LEASE_REQ_EXEC_PARAMS 'E'
#define LEASE_REQ_FETCH 'F'
#define LEASE_REQ_DESCRIBE 'D'
#define LEASE_DESCRIBE_PARAMS 1         /* a statement's: ParameterDescription first */
#define LEASE_DESCRIBE_CURSOR 2         /* sql is the name of a cursor declared in SQL */
#define LEASE_DESCRIBE_ONCE 4           /* not kept in the prepared-handle cache (a FETCH) */

/* 'E' flags: odbc_exec_params's ODBC_F_* of the same values (exec.c checks that they agree). */
#define LEASE_EXEC_DESCRIBE 0x01    /* RowDescription (or NoData) before the rows */
#define LEASE_EXEC_SELECT_TAG 0x04  /* tagged SELECT n: Execute of a cursor declared in SQL */
#define LEASE_EXEC_AS_DESCRIBED 0x08 /* rows typed as a Describe of the portal would give them, none sent */

#define LEASE_REQ_SAVEPOINT 'S'
#define LEASE_REQ_TX_MODES 'M'
#define LEASE_REQ_COPY 'Y'
#define LEASE_REQ_COPY_DATA 'd'
#define LEASE_REQ_COPY_DONE 'c'
#define LEASE_REQ_COPY_FAIL 'f'

#define LEASE_REQ_NEXT 'N'

#define LEASE_DONE 0x01
#define LEASE_NEXT 0x02
#define LEASE_NEXT_LEN 6            /* type + length + taken */
/* shm_slot.chain: an 'N' the worker queued, until the executor reaches it. */
#define LEASE_CHAIN_NONE 0
#define LEASE_CHAIN_PENDING 1
#define LEASE_CHAIN_WITHDRAWN 2     /* the worker took the request back: read it through */
#define LEASE_DONE_LEN 15           /* type + length + txstatus + flags + sig */
/* A request's body may exceed the client's max_message_size by this much (its verb, flags, ids). */
#define LEASE_REQUEST_SLACK 64
#define LEASE_F_ERROR 0x01          /* the request ended in an ErrorResponse */
#define LEASE_F_BROKEN 0x02         /* the backend connection is gone; slot released */
#define LEASE_F_CLEAN 0x04          /* nothing to reset: the worker may queue the slot itself */
#define LEASE_F_UNPREPARED 0x08     /* the statement failed to prepare, as a Parse would have (odbc_take_unprepared) */

/*
 * Take an idle slot of 'pool' for (worker, wgen, client): dequeue it from
 * the pool's free stack and mark it LEASED with its owner.  Returns the slot
 * index, or UINT32_MAX when none is free.
 */
uint32_t lease_acquire(uint32_t pool, uint32_t worker, uint32_t wgen, uint32_t client);

/*
 * End worker's lease of slot without waking its executor: after a DONE
 * that said LEASE_F_CLEAN, and only when the executor has nothing to do at
 * the end of this lease (close, reconnect, shrink the pool, stop), put the
 * slot back in the free stack.  The executor, waiting for the next request,
 * serves whoever leases the slot next.  Returns 0, or -1 when the executor
 * must end the lease itself ('X').
 */
int lease_release(uint32_t slot, uint32_t worker);

/*
 * Whether a lease of slot that ended clean may leave the slot as it is for
 * the next one: nothing asks the executor to close, reconnect, shrink the
 * pool or stop.
 */
int lease_reusable(const struct shm_slot *s);

/* Wake every worker but 'except' (SHM_NONE: none) that has clients queued for a slot of p. */
void lease_wake_waiters(struct shm_pool *p, uint32_t except);

/*
 * The worker other than self whose longest-waiting client for pool p began
 * to wait more than grace_us before since_us (the oldest such), its start
 * in *head_us; UINT32_MAX when there is none.  A worker about to give a
 * free slot to its own waiter that began at since_us leaves it to that one,
 * so that slots go to the clients that waited longest whichever worker
 * holds them.
 */
uint32_t lease_older_waiter(struct shm_pool *p, uint32_t self, int64_t since_us, int64_t grace_us,
                            int64_t *head_us);

/*
 * End a lease without the owner's cooperation (its client vanished, or its
 * worker died): the executor rolls back, discards the rings and requeues
 * the slot.
 */
void lease_abandon(uint32_t slot);

/*
 * After worker w of generation wgen died: abandon every slot it leased and
 * free its client entries and queue counts.  Run by the broker only.
 * Returns the number of leases abandoned.
 */
int lease_reclaim_worker(uint32_t w, uint32_t wgen);

#endif
