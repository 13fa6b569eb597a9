/*
 * worker: the worker process (see worker.h): its event loop, accepting,
 * wake-ups from executors, signals and reloads.
 *
 * The loop runs libevent one round at a time.  Before each round it says it
 * is asleep and polls every running session once, so an executor that
 * produced data meanwhile either is seen by that poll or sees the flag and
 * writes the eventfd (see shm/wake.h).
 */
#include "worker/worker.h"

#include <errno.h>
#include <stdint.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <ck_pr.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "common/log.h"
#include "worker/tls.h"
#include "worker/xlate.h"
#include "shm/shm.h"
#include "shm/wake.h"
#include "worker/conn.h"
#include "worker/session.h"
#include "worker/worker_internal.h"

struct worker_state worker;

/* Flush-and-poll rounds per loop turn before its events get their turn. */
#define WORKER_FLUSH_ROUNDS 8

static struct evconnlistener *worker_listeners[8];
static int worker_nlisteners;
static int worker_exit;

static void worker_load_users(void)
{
    char err[512];
    struct auth_userlist *ul = NULL;
    if (worker.cfg->auth_file[0] == '\0')
        return;
    if (auth_userlist_load(worker.cfg->auth_file, &ul, err, sizeof(err)) < 0) {
        log_error("worker", "worker=%u auth_file not loaded, keeping the previous one: %s", worker.index, err);
        return;
    }
    auth_userlist_free(worker.users);
    worker.users = ul;
}

static void worker_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                             void *arg)
{
    session_accept(fd, sa, salen);
}

static void worker_accept_error_cb(struct evconnlistener *l, void *arg)
{
    int err = EVUTIL_SOCKET_ERROR();
    log_warning("worker", "worker=%u accept() failed: %s", worker.index, evutil_socket_error_to_string(err));
    /* Out of descriptors: back off briefly instead of spinning. */
    if (err == EMFILE || err == ENFILE)
        usleep(10000);
}

static void worker_poll_sessions(void)
{
    struct shm_worker *self = shm_worker(worker.index);
    if (ck_pr_load_32(&self->cancels) && ck_pr_fas_32(&self->cancels, 0))
        session_check_cancels();
    struct session *s, *next;
    for (s = TAILQ_FIRST(&session_running); s != NULL; s = next) {
        next = TAILQ_NEXT(s, queue_link);
        session_poll(s);
    }
    session_serve_waiters();
}

static void worker_wake_cb(evutil_socket_t fd, short what, void *arg)
{
    uint64_t v;
    ssize_t n = read(fd, &v, sizeof(v));
    (void)n;
}

static void worker_stop_listening(void)
{
    for (int i = 0; i < worker_nlisteners; i++)
        evconnlistener_free(worker_listeners[i]);
    worker_nlisteners = 0;
}

static void worker_signal_cb(evutil_socket_t sig, short what, void *arg)
{
    if (sig == SIGHUP) {
        char err[512];
        struct cfg *ncfg = NULL;
        if (cfg_load(worker.cfg->path, &ncfg, err, sizeof(err)) < 0) {
            log_error("worker", "worker=%u reload rejected: %s", worker.index, err);
            return;
        }
        if (tls_configure(ncfg, err, sizeof(err)) < 0)
            log_error("worker", "worker=%u keeps its TLS settings: %s", worker.index, err);
        xlate_configure(ncfg->translate_cache_size);
        cfg_free(worker.cfg);
        worker.cfg = ncfg;
        worker_load_users();
        return;
    }
    if (sig == SIGTERM) {
        worker.stopping = 1;
        worker_stop_listening();
        session_shutdown_idle();
        return;
    }
    worker_exit = 1;
}

int worker_exec_main(int argc, char **argv)
{
    if (argc < 8 || strlen(argv[5]) != 2) {
        log_error("worker", "bad worker arguments");
        return 2;
    }
    uint32_t index = (uint32_t)strtoul(argv[2], NULL, 10);
    int fd = atoi(argv[3]);
    void *addr = (void *)(uintptr_t)strtoull(argv[4], NULL, 16);
    log_set_level((enum log_level)(argv[5][0] - '0'));
    log_set_quiet(argv[5][1] == '1');
    char err[512];
    struct cfg *cfg = NULL;
    if (cfg_load(argv[6], &cfg, err, sizeof(err)) < 0) {
        log_error("worker", "worker=%u cannot start: %s", index, err);
        return 1;
    }
    if (log_open(cfg->logfile) < 0)
        log_error("worker", "worker=%u cannot open logfile %s: %s", index, cfg->logfile, strerror(errno));
    if (shm_attach(fd, addr) < 0 || index >= shm->nworkers) {
        /* The broker went away (or is another build) before this worker could attach. */
        cfg_free(cfg);
        return 1;
    }
    int nlisten = argc - 7;
    int fds[8];
    if (nlisten > 8)
        nlisten = 8;
    for (int i = 0; i < nlisten; i++)
        fds[i] = atoi(argv[7 + i]);
    /* The broker blocked every signal around fork; exec kept the mask. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    worker_main(index, cfg, fds, nlisten);
}

void worker_main(uint32_t index, struct cfg *cfg, const int *listen_fds, int nlisten)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != (pid_t)shm->broker_pid)
        _exit(1);
    worker.index = index;
    worker.gen = shm_worker(index)->gen;
    worker.cfg = cfg;
    TAILQ_INIT(&worker.sessions);
    for (int i = 0; i < SHM_MAX_POOLS; i++)
        TAILQ_INIT(&worker.waitq[i]);
    worker.chain = calloc(shm->nslots, sizeof(*worker.chain));
    worker_load_users();
    char err[512];
    if (tls_configure(cfg, err, sizeof(err)) < 0)
        log_error("worker", "worker=%u TLS disabled: %s", index, err);
    xlate_set_worker(index);
    xlate_configure(cfg->translate_cache_size);

    worker.base = event_base_new();
    if (worker.base == NULL) {
        log_error("worker", "worker=%u event_base_new() failed", index);
        _exit(1);
    }
    for (int i = 0; i < nlisten && i < 8; i++) {
        worker_listeners[i] = evconnlistener_new(worker.base, worker_accept_cb, NULL, LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_CLOSE_ON_FREE, -1,
                                                 listen_fds[i]);
        if (worker_listeners[i] == NULL) {
            log_error("worker", "worker=%u evconnlistener_new(fd=%d) failed", index, listen_fds[i]);
            _exit(1);
        }
        evconnlistener_set_error_cb(worker_listeners[i], worker_accept_error_cb);
        worker_nlisteners++;
    }
    struct shm_worker *self = shm_worker(index);
    struct event *ev_wake = event_new(worker.base, self->efd, EV_READ | EV_PERSIST, worker_wake_cb, NULL);
    event_add(ev_wake, NULL);
    int sigs[] = { SIGHUP, SIGTERM, SIGINT, SIGQUIT };
    struct event *ev_sig[4];
    for (int k = 0; k < 4; k++) {
        ev_sig[k] = evsignal_new(worker.base, sigs[k], worker_signal_cb, NULL);
        evsignal_add(ev_sig[k], NULL);
    }

    while (!worker_exit) {
        ck_pr_store_32(&self->asleep, 1);
        /* The flag must be visible before we look at the rings (see shm/wake.h). */
        ck_pr_fence_memory();
        /*
         * Output goes out now.  Writing may resume a result, end a query
         * (and free its slot for a waiter) or a closing session: poll again
         * until it does nothing more.  A stream that never stops doing
         * something gets a bounded share: then the loop looks at its
         * events without sleeping, and comes back.
         */
        worker_poll_sessions();
        int rounds = 0;
        while (conn_flush_all() > 0 && rounds++ < WORKER_FLUSH_ROUNDS)
            worker_poll_sessions();
        if (worker.stopping && session_count() == 0)
            break;
        event_base_loop(worker.base, rounds > WORKER_FLUSH_ROUNDS ? EVLOOP_NONBLOCK : EVLOOP_ONCE);
        ck_pr_store_32(&self->asleep, 0);
        worker_poll_sessions();
    }
    log_debug("worker", "worker=%u exiting", index);
    _exit(0);
}
