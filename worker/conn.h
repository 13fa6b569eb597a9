/*
 * conn: the bytes of one client connection, in and out, with a
 * bufferevent's callbacks and watermark but not its cost.  A plain
 * connection is its socket, one event and two evbuffers that exist only
 * while they hold bytes: an idle client costs the event alone.  After an
 * SSLRequest everything goes through bufferevents (OpenSSL's filter over a
 * socket bufferevent), which libevent's TLS needs.
 */
#ifndef PGIRIS_CONN_H
#define PGIRIS_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
/* The event is part of the connection, not a malloc of its own (libevent 2.1's layout, fixed by its soname). */
#include <event2/event_struct.h>
#include <openssl/ssl.h>

struct conn;

/*
 * What the owner is told.  The connection may be freed inside any of them:
 * conn.c touches nothing after calling one.
 */
struct conn_ops {
    void (*read)(struct conn *c);   /* new input */
    void (*write)(struct conn *c);  /* output written down to the low-water mark */
    void (*error)(struct conn *c);  /* end of file (eof set) or a socket error */
};

struct conn {
    const struct conn_ops *ops;
    struct bufferevent *bev;        /* set by conn_start_tls: everything goes through it */
    struct evbuffer *in;            /* plain: received, not yet consumed; NULL when none */
    struct evbuffer *out;           /* plain: not yet written; NULL when none */
    uint32_t low_water;
    uint8_t reading;                /* input wanted */
    uint8_t watching;               /* EV_READ / EV_WRITE that ev is added for */
    uint8_t queued;                 /* in the list conn_flush_all writes */
    uint8_t eof;                    /* the client closed its side; for ops->error: not a socket error */
    uint32_t hold;                  /* plain: 1 + the bytes of out that may go now (conn_hold); 0: all */
    uint8_t failed;                 /* plain: output could not be kept (no memory); the connection ends */
    struct event ev;                /* plain: the socket; TLS: reports eof (see conn.c) */
};

/* Take fd (accepted, non-blocking) and start reading; low_water as conn_set_low_water. */
void conn_open(struct conn *c, struct event_base *base, int fd, const struct conn_ops *ops, size_t low_water);

/*
 * Close the socket and free the buffers.  A TLS connection's last bytes
 * (a FATAL, say) get five more seconds to leave; pgiris sends no
 * close_notify of its own (see conn.c).
 */
void conn_close(struct conn *c);

/*
 * Keep what is written from now on until conn_release; what was written
 * before still goes.  PostgreSQL sends its replies to an extended-protocol
 * batch (ParseComplete, BindComplete, the rows, ReadyForQuery) when it
 * reaches Sync or Flush, so the client reads them in one go and is woken
 * once; the worker answers Parse and Bind itself before the executor has the
 * rest.  Nothing changes for TLS connections.
 */
void conn_hold(struct conn *c);

/* Let all of the output go again, at the next conn_flush_all. */
void conn_release(struct conn *c);

/*
 * The bytes received and not yet consumed (drain what is used), or NULL
 * when there are none.  A plain connection's empty buffer is freed here,
 * so do not keep the pointer across anything that may call this again.
 */
struct evbuffer *conn_input(struct conn *c);

/*
 * Queue bytes for the client.  A plain connection writes them at
 * conn_flush_all, together with whatever else this turn of the event loop
 * queued for it; only what the socket does not take waits for EV_WRITE.
 */
void conn_write(struct conn *c, const void *data, size_t len);

/*
 * Write what plain connections queued since the last call: before the
 * event loop sleeps.  Returns how many owner callbacks (ops->write,
 * ops->error) ran: their owners may have more to do before sleeping.
 */
int conn_flush_all(void);

/* Bytes queued and not yet written. */
size_t conn_pending(const struct conn *c);

/*
 * Stop or resume reading from the client.  Resuming after the client's end
 * of file reports it again (ops->error) on a later pass of the event loop,
 * as reading a plain socket would.
 */
void conn_read_enable(struct conn *c, int on);

/* ops->write is called after a write leaves at most this many bytes queued. */
void conn_set_low_water(struct conn *c, size_t low_water);

/*
 * Go on in TLS with ssl (taken over) once what is queued has been sent in
 * plain (the 'S' answering SSLRequest).  The input must be empty.  -1 if
 * memory is short: the connection then stays usable in plain, to be closed.
 */
int conn_start_tls(struct conn *c, SSL *ssl);

/* The connection's SSL, NULL for a plain one. */
SSL *conn_ssl(const struct conn *c);

#endif
