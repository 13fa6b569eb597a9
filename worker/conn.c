/*
 * conn: a client connection's input and output (see conn.h).
 *
 * A plain connection adds its one event for what it waits for: EV_READ
 * while reading is wanted, EV_WRITE while output is left that the socket
 * did not take.  Output is written first without waiting: whatever a turn
 * of the event loop queued for a connection goes out in one write at
 * conn_flush_all, the way a reply is answered in one system call and no
 * change to the epoll set.  The epoll backend is level-triggered, so one
 * callback does one thing, writing or reading, and the other waits for the
 * next round of the loop: the owner may free the connection in either.
 *
 * A TLS connection is told of its client's end of file the way a plain one
 * is: only while reading is wanted, after every byte sent before it, and
 * again each time reading resumes, so that a client that sends and then
 * closes its side still has all of it run.  libevent 2.1 reports the end
 * once, not again when reading resumes, and reports a close_notify before
 * the read callback for the bytes decrypted with it; so it is kept (eof)
 * and reported through ev, made active without a socket, on a later pass
 * of the loop.  Writing goes on after it: the filter still encrypts what is
 * queued, and OpenSSL refuses SSL_write only once we have sent a
 * close_notify of our own, which pgiris never does.
 */
#include "worker/conn.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>

#define CONN_READ_MAX 16384             /* per read(), as a socket bufferevent reads */
#define CONN_LINGER_S 5                 /* for a TLS connection's last bytes */

static void conn_event_cb(evutil_socket_t fd, short what, void *arg);

/* Plain connections with output queued this turn; NULL where one closed since. */
static struct conn **conn_queue;
static size_t conn_nqueued, conn_queue_cap;

/* How many bytes of out may be written now: those before the hold point. */
static size_t conn_writable(const struct conn *c)
{
    size_t n = c->out != NULL ? evbuffer_get_length(c->out) : 0;
    return c->hold != 0 && c->hold - 1 < n ? c->hold - 1 : n;
}

/* Add ev for what the connection waits for now. */
static void conn_watch(struct conn *c)
{
    uint8_t want = (c->reading ? EV_READ : 0) | (conn_writable(c) > 0 && !c->queued ? EV_WRITE : 0);
    if (want == c->watching)
        return;
    evutil_socket_t fd = event_get_fd(&c->ev);
    event_del(&c->ev);
    event_assign(&c->ev, event_get_base(&c->ev), fd, want | EV_PERSIST, conn_event_cb, c);
    if (want != 0)
        event_add(&c->ev, NULL);
    c->watching = want;
}

void conn_open(struct conn *c, struct event_base *base, int fd, const struct conn_ops *ops, size_t low_water)
{
    c->ops = ops;
    c->bev = NULL;
    c->in = c->out = NULL;
    c->low_water = (uint32_t)low_water;
    c->reading = 1;
    c->watching = 0;
    c->queued = 0;
    c->eof = 0;
    c->hold = 0;
    c->failed = 0;
    event_assign(&c->ev, base, fd, EV_PERSIST, conn_event_cb, c);
    conn_watch(c);
}

static void conn_linger_write_cb(struct bufferevent *bev, void *arg)
{
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        bufferevent_free(bev);
}

static void conn_linger_event_cb(struct bufferevent *bev, short what, void *arg)
{
    bufferevent_free(bev);
}

/*
 * Free the bufferevents.  What the filter encrypted last may still sit in
 * the socket's own bufferevent: that one lives on until it has written it.
 */
static void conn_close_bev(struct bufferevent *filter)
{
    struct bufferevent *under = bufferevent_get_underlying(filter);
    if (under == NULL) {
        bufferevent_free(filter);
        return;
    }
    SSL *ssl = bufferevent_openssl_get_ssl(filter);
    bufferevent_free(filter);
    SSL_free(ssl);
    if (evbuffer_get_length(bufferevent_get_output(under)) == 0) {
        bufferevent_free(under);
        return;
    }
    struct timeval tv = { CONN_LINGER_S, 0 };
    bufferevent_setcb(under, NULL, conn_linger_write_cb, conn_linger_event_cb, NULL);
    bufferevent_setwatermark(under, EV_WRITE, 0, 0);
    bufferevent_set_timeouts(under, NULL, &tv);
    bufferevent_disable(under, EV_READ);
    bufferevent_enable(under, EV_WRITE);
}

static void conn_free_buffers(struct conn *c)
{
    if (c->in != NULL)
        evbuffer_free(c->in);
    if (c->out != NULL)
        evbuffer_free(c->out);
    c->in = c->out = NULL;
}

/* Take c out of the flush queue: it closes, or goes on in TLS. */
static void conn_unqueue(struct conn *c)
{
    if (!c->queued)
        return;
    for (size_t i = 0; i < conn_nqueued; i++)
        if (conn_queue[i] == c)
            conn_queue[i] = NULL;
    c->queued = 0;
}

/* Put c in the flush queue; without memory for that, wait for EV_WRITE. */
static void conn_enqueue(struct conn *c)
{
    if (c->queued || (c->watching & EV_WRITE))
        return;
    if (conn_nqueued == conn_queue_cap) {
        size_t cap = conn_queue_cap ? conn_queue_cap * 2 : 64;
        struct conn **q = realloc(conn_queue, cap * sizeof(*q));
        if (q == NULL) {
            conn_watch(c);
            return;
        }
        conn_queue = q;
        conn_queue_cap = cap;
    }
    conn_queue[conn_nqueued++] = c;
    c->queued = 1;
}

void conn_close(struct conn *c)
{
    conn_unqueue(c);
    event_del(&c->ev);
    if (c->bev != NULL) {
        conn_close_bev(c->bev);
        return;
    }
    close(event_get_fd(&c->ev));
    conn_free_buffers(c);
}

struct evbuffer *conn_input(struct conn *c)
{
    if (c->bev != NULL) {
        struct evbuffer *in = bufferevent_get_input(c->bev);
        return evbuffer_get_length(in) > 0 ? in : NULL;
    }
    if (c->in != NULL && evbuffer_get_length(c->in) == 0) {
        evbuffer_free(c->in);
        c->in = NULL;
    }
    return c->in;
}

void conn_write(struct conn *c, const void *data, size_t len)
{
    if (c->bev != NULL) {
        bufferevent_write(c->bev, data, len);
        return;
    }
    if (c->failed)
        return;
    if ((c->out == NULL && (c->out = evbuffer_new()) == NULL) || evbuffer_add(c->out, data, len) < 0) {
        /*
         * A reply with a piece missing must not reach the client: the
         * connection ends instead, from the loop (the caller may still use
         * the session now).
         */
        c->failed = 1;
        event_active(&c->ev, EV_WRITE, 1);
        return;
    }
    conn_enqueue(c);
}

void conn_hold(struct conn *c)
{
    if (c->bev == NULL && c->hold == 0)
        c->hold = 1 + (uint32_t)conn_pending(c);
}

void conn_release(struct conn *c)
{
    if (c->hold == 0)
        return;
    c->hold = 0;
    if (c->out != NULL)
        conn_enqueue(c);
}

size_t conn_pending(const struct conn *c)
{
    if (c->bev != NULL)
        return evbuffer_get_length(bufferevent_get_output(c->bev));
    return c->out != NULL ? evbuffer_get_length(c->out) : 0;
}

void conn_read_enable(struct conn *c, int on)
{
    c->reading = on != 0;
    if (c->bev == NULL) {
        conn_watch(c);
        return;
    }
    if (!on) {
        bufferevent_disable(c->bev, EV_READ);
        return;
    }
    /* Before enabling: that may decrypt bytes already received and call ops->read, which may close. */
    if (c->eof)
        event_active(&c->ev, EV_READ, 1);
    bufferevent_enable(c->bev, EV_READ);
}

void conn_set_low_water(struct conn *c, size_t low_water)
{
    c->low_water = (uint32_t)low_water;
    if (c->bev != NULL)
        bufferevent_setwatermark(c->bev, EV_WRITE, low_water, 0);
}

/* Write what the socket takes; 1 when ops->write was called (the connection may be gone). */
static int conn_flush(struct conn *c, evutil_socket_t fd)
{
    if (c->failed) {
        c->eof = 0;
        c->ops->error(c);
        return 1;
    }
    size_t go = conn_writable(c);
    if (go == 0) {
        conn_watch(c);
        return 0;
    }
    int n = evbuffer_write_atmost(c->out, fd, c->hold != 0 ? (ev_ssize_t)go : -1);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
        c->eof = 0;
        c->ops->error(c);
        return 1;
    }
    if (c->hold != 0 && n > 0)
        c->hold -= (uint32_t)n;
    size_t left = evbuffer_get_length(c->out);
    if (left == 0) {
        evbuffer_free(c->out);
        c->out = NULL;
    }
    conn_watch(c);
    if (left > c->low_water)
        return 0;
    c->ops->write(c);
    return 1;
}

int conn_flush_all(void)
{
    int called = 0;
    /* ops->write may queue more, for this connection or another: the loop sees those too. */
    for (size_t i = 0; i < conn_nqueued; i++) {
        struct conn *c = conn_queue[i];
        if (c == NULL)
            continue;
        conn_queue[i] = NULL;
        c->queued = 0;
        if (c->out != NULL)
            called += conn_flush(c, event_get_fd(&c->ev));
    }
    conn_nqueued = 0;
    return called;
}

/*
 * Read into a buffer on the stack, then append: evbuffer_read asks the
 * kernel how much is waiting (FIONREAD) before every read, one more system
 * call per client message.  Bytes read that cannot be kept (no memory) end
 * the connection rather than go missing.
 */
static void conn_read(struct conn *c, evutil_socket_t fd)
{
    char buf[CONN_READ_MAX];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0) {
        if ((c->in == NULL && (c->in = evbuffer_new()) == NULL) || evbuffer_add(c->in, buf, (size_t)n) < 0) {
            c->eof = 0;
            c->ops->error(c);
            return;
        }
        c->ops->read(c);
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        c->eof = n == 0;
        c->ops->error(c);
    }
}

static void conn_event_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    if ((what & EV_WRITE) && conn_flush(c, fd))
        return;
    if (what & EV_READ)
        conn_read(c, fd);
}

static void conn_bev_read_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    c->ops->read(c);
}

static void conn_bev_write_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    c->ops->write(c);
}

/* The client's end of file, for a TLS connection that wants to read (see the top). */
static void conn_bev_eof_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    if (c->reading)
        c->ops->error(c);
}

static void conn_bev_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    if (what & BEV_EVENT_EOF) {
        c->eof = 1;
        if (c->reading)
            event_active(&c->ev, EV_READ, 1);
        return;
    }
    if (what & BEV_EVENT_ERROR) {
        c->eof = 0;
        c->ops->error(c);
    }
}

/*
 * The socket's bufferevent takes over the socket and what is queued; the
 * filter goes over it.  Not BEV_OPT_CLOSE_ON_FREE for the filter:
 * conn_close_bev lets the socket finish writing first.
 */
int conn_start_tls(struct conn *c, SSL *ssl)
{
    struct event_base *base = event_get_base(&c->ev);
    evutil_socket_t fd = event_get_fd(&c->ev);
    struct bufferevent *under = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (under == NULL) {
        SSL_free(ssl);
        return -1;
    }
    event_del(&c->ev);
    event_assign(&c->ev, base, -1, 0, conn_bev_eof_cb, c);
    c->watching = 0;
    c->reading = 1;
    conn_unqueue(c);
    if (c->out != NULL)
        evbuffer_add_buffer(bufferevent_get_output(under), c->out);
    conn_free_buffers(c);
    c->bev = under;
    bufferevent_setcb(under, conn_bev_read_cb, conn_bev_write_cb, conn_bev_event_cb, c);
    bufferevent_enable(under, EV_READ | EV_WRITE);
    struct bufferevent *tb = bufferevent_openssl_filter_new(base, under, ssl, BUFFEREVENT_SSL_ACCEPTING, 0);
    if (tb == NULL) {
        SSL_free(ssl);
        return -1;
    }
    /* Clients often close without close_notify; that is not an error worth a log line. */
    bufferevent_openssl_set_allow_dirty_shutdown(tb, 1);
    c->bev = tb;
    bufferevent_setcb(tb, conn_bev_read_cb, conn_bev_write_cb, conn_bev_event_cb, c);
    bufferevent_setwatermark(tb, EV_WRITE, c->low_water, 0);
    bufferevent_enable(tb, EV_READ | EV_WRITE);
    return 0;
}

SSL *conn_ssl(const struct conn *c)
{
    return c->bev != NULL ? bufferevent_openssl_get_ssl(c->bev) : NULL;
}
