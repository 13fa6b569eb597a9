/*
 * supervisor: the broker's event loop (see supervisor.h).
 *
 * Everything here runs on the broker's main thread.  Executors are the only
 * other threads in the process; they share shared memory and the executor
 * settings in exec.c, nothing else.
 */
#include "broker/supervisor.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ck_pr.h>
#include <event2/event.h>

#include "broker/exec.h"
#include "common/log.h"
#include "worker/tls.h"
#include "shm/lease.h"
#include "shm/shm.h"
#include "shm/wake.h"
#include "worker/worker.h"

#define SV_MAX_LISTEN 8

static struct {
    struct cfg *cfg;
    struct event_base *base;
    int listen_fds[SV_MAX_LISTEN];
    int listen_tcp[SV_MAX_LISTEN];  /* listen_fds[k] is a TCP socket */
    int nlisten;
    char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    uint32_t nworkers;
    int64_t spawned_us[SHM_MAX_WORKERS];
    char *connstr[SHM_MAX_POOLS];   /* what each pool's executors connect with */
    int stopping;                   /* 0, 1 graceful, 2 fast */
    int64_t stop_deadline_us;
    struct event *ev_timer;
    char *argv0;
} sv;

/*
 * TCP_DEFER_ACCEPT: the kernel hands a TCP connection over only once its
 * first bytes (the startup packet) have arrived, so a login costs the worker
 * one wake-up less, and a connection that sends nothing waits in the kernel
 * (up to this long) instead of in a worker.
 */
static void sv_defer_accept(const struct cfg *cfg)
{
    double x = cfg->tcp_defer_accept < INT_MAX ? cfg->tcp_defer_accept : INT_MAX;
    int secs = (int)x;
    if (secs < x)
        secs++;                     /* whole seconds, rounded up: 0.5 is not off */
    for (int k = 0; k < sv.nlisten; k++)
        if (sv.listen_tcp[k] && setsockopt(sv.listen_fds[k], IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof(secs)) < 0)
            log_warning("broker", "setsockopt(TCP_DEFER_ACCEPT) failed: %s", strerror(errno));
}

static int sv_listen_tcp(const char *addr, int port)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
    struct addrinfo *res, *ai;
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    int rc = getaddrinfo(strcmp(addr, "*") == 0 ? NULL : addr, portstr, &hints, &res);
    if (rc != 0) {
        log_error("broker", "getaddrinfo(%s:%d) failed: %s", addr, port, gai_strerror(rc));
        return -1;
    }
    int opened = 0;
    for (ai = res; ai != NULL && sv.nlisten < SV_MAX_LISTEN; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (ai->ai_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 4096) < 0) {
            log_error("broker", "bind/listen(%s:%d) failed: %s", addr, port, strerror(errno));
            close(fd);
            continue;
        }
        sv.listen_tcp[sv.nlisten] = 1;
        sv.listen_fds[sv.nlisten++] = fd;
        opened++;
    }
    freeaddrinfo(res);
    return opened > 0 ? 0 : -1;
}

static int sv_listen_unix(const char *dir, int port)
{
    if (sv.nlisten >= SV_MAX_LISTEN) {
        log_error("broker", "too many listening sockets for the unix socket in %s", dir);
        return -1;
    }
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/.s.PGSQL.%d", dir, port);
    if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
        log_error("broker", "unix socket path too long: %s", dir);
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    unlink(sa.sun_path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0) {
        log_error("broker", "bind/listen(%s) failed: %s", sa.sun_path, strerror(errno));
        close(fd);
        return -1;
    }
    chmod(sa.sun_path, 0777);
    snprintf(sv.unix_path, sizeof(sv.unix_path), "%s", sa.sun_path);
    sv.listen_tcp[sv.nlisten] = 0;
    sv.listen_fds[sv.nlisten++] = fd;
    return 0;
}

static uint32_t sv_pool_by_name(const char *name)
{
    for (uint32_t i = 0; i < shm->npools; i++)
        if (shm_pool(i)->in_use && strcmp(shm_pool(i)->name, name) == 0)
            return i;
    return SHM_NONE;
}

/* Make shared memory's pools match cfg: update, add, mark removed. */
static void sv_apply_pools(const struct cfg *cfg)
{
    for (int d = 0; d < cfg->ndatabases; d++) {
        const struct cfg_database *db = &cfg->databases[d];
        uint32_t i = sv_pool_by_name(db->name);
        if (i == SHM_NONE) {
            for (i = 0; i < shm->npools && shm_pool(i)->in_use; i++)
                ;
            if (i == shm->npools) {
                log_error("broker", "db=%s no room for another pool (max %u)", db->name, shm->npools);
                continue;
            }
            snprintf(shm_pool(i)->name, sizeof(shm_pool(i)->name), "%s", db->name);
        }
        struct shm_pool *p = shm_pool(i);
        p->dialect = (int32_t)db->dialect;
        ck_pr_store_32((uint32_t *)&p->pool_size, (uint32_t)cfg_db_pool_size(cfg, db));
        ck_pr_store_32((uint32_t *)&p->min_pool_size, (uint32_t)cfg_db_min_pool_size(cfg, db));
        p->pool_mode = (int32_t)cfg->pool_mode;
        ck_pr_store_32(&p->auto_parameterize, (uint32_t)db->auto_parameterize);
        if (sv.connstr[i] == NULL || strcmp(sv.connstr[i], db->odbc) != 0) {
            if (sv.connstr[i] != NULL) {
                log_info("broker", "db=%s connection string changed; recycling connections", db->name);
                ck_pr_inc_32(&p->conn_gen);
            }
            free(sv.connstr[i]);
            sv.connstr[i] = strdup(db->odbc);
        }
        exec_pool_configure(i, db->odbc, db->dialect, cfg->server_connect_timeout);
        ck_pr_store_32(&p->removed, 0);
        ck_pr_fence_store();
        ck_pr_store_32(&p->in_use, 1);
    }
    for (uint32_t i = 0; i < shm->npools; i++) {
        struct shm_pool *p = shm_pool(i);
        if (p->in_use && !p->removed && cfg_find_database(cfg, p->name) == NULL) {
            log_info("broker", "db=%s removed from the config; closing its pool", p->name);
            ck_pr_store_32(&p->removed, 1);
        }
    }
}

static uint32_t sv_free_slot(void)
{
    for (uint32_t i = 0; i < shm->nslots; i++)
        if (ck_pr_load_32(&shm_slot(i)->state) == SHM_SLOT_EMPTY)
            return i;
    return SHM_NONE;
}

static void sv_start_executor(uint32_t pool)
{
    uint32_t slot = sv_free_slot();
    if (slot == SHM_NONE) {
        log_warning("broker", "db=%s all %u backend slots in use (max_backend_slots)",
                    shm_pool(pool)->name, shm->nslots);
        return;
    }
    struct shm_pool *p = shm_pool(pool);
    ck_pr_inc_32(&p->nopen);
    ck_pr_inc_32(&p->nconnecting);
    if (exec_start(slot, pool) < 0) {
        ck_pr_dec_32(&p->nopen);
        ck_pr_dec_32(&p->nconnecting);
    }
}

/* Close the pool's connection idle longest, if one is idle now. */
static void sv_close_idle(struct shm_pool *p)
{
    struct shm_slotref ref;
    if (shm_pool_get_oldest_free(p, &ref) < 0)
        return;
    struct shm_slot *s = shm_slot(ref.idx);
    ck_pr_store_32(&s->close, 1);
    wake_futex_bump(&s->futex);
}

/*
 * Connections of a pool asked to close and not gone yet: nopen still counts
 * them until their executor exits, and closing as many again on the next
 * tick would shrink the pool below its size.
 */
static int sv_pool_closing(uint32_t pool)
{
    int n = 0;
    for (uint32_t k = 0; k < shm->nslots; k++) {
        struct shm_slot *s = shm_slot(k);
        if (ck_pr_load_32(&s->pool) == pool &&
            (ck_pr_load_32(&s->close) || ck_pr_load_32(&s->state) == SHM_SLOT_CLOSING))
            n++;
    }
    return n;
}

/* Grow pools that have waiting clients or are under min_pool_size; shrink oversized ones. */
static void sv_pools_tick(void)
{
    if (sv.stopping)
        return;
    int64_t now = shm_realtime_us();
    for (uint32_t i = 0; i < shm->npools; i++) {
        struct shm_pool *p = shm_pool(i);
        if (!p->in_use)
            continue;
        int open = (int)ck_pr_load_32(&p->nopen);
        if (p->removed) {
            while (shm_pool_idle(p) > 0 && open-- > 0)
                sv_close_idle(p);
            continue;
        }
        int size = (int)ck_pr_load_32((uint32_t *)&p->pool_size);
        if (open > size) {
            for (int k = open - sv_pool_closing(i) - size; k > 0 && shm_pool_idle(p) > 0; k--)
                sv_close_idle(p);
            continue;
        }
        /* After a failed connect, retry at most once a second. */
        int64_t failed = (int64_t)ck_pr_load_64((uint64_t *)&p->last_connect_fail_us);
        if (failed != 0 && now - failed < 1000000)
            continue;
        int waiting = 0;
        for (uint32_t w = 0; w < shm->nworkers; w++)
            waiting += (int)ck_pr_load_32(&p->waiting[w]);
        int idle = (int)shm_pool_idle(p);
        int connecting = (int)ck_pr_load_32(&p->nconnecting);
        int want = waiting - idle - connecting;
        int below_min = (int)ck_pr_load_32((uint32_t *)&p->min_pool_size) - open;
        if (below_min > want)
            want = below_min;
        if (want > size - open)
            want = size - open;
        if (failed != 0 && want > 1)
            want = 1;
        while (want-- > 0)
            sv_start_executor(i);
    }
}

/*
 * Pass the cancels workers asked for to the executors (SQLCancel needs the
 * broker's ODBC handle).  A cancel reaches its slot only while the client
 * that asked still holds it, and only that lease.
 */
static void sv_pass_cancels(void)
{
    if (ck_pr_fas_32(&shm->cancels, 0) == 0)
        return;
    for (uint32_t k = 0; k < shm->nslots; k++) {
        struct shm_slot *s = shm_slot(k);
        uint32_t v = ck_pr_load_32(&s->cancel);
        if (v == 0)
            continue;
        v = ck_pr_fas_32(&s->cancel, 0);
        uint32_t client = (v & ~SHM_CANCEL_TIMEOUT) - 1;
        uint32_t gen = ck_pr_load_32(&s->lease_gen);
        ck_pr_fence_load();
        if (ck_pr_load_32(&s->state) != SHM_SLOT_LEASED || ck_pr_load_32(&s->owner_client) != client)
            continue;
        log_debug("broker", "slot=%u client=%u cancel%s", k, client,
                  (v & SHM_CANCEL_TIMEOUT) ? " (statement_timeout)" : "");
        exec_cancel(k, (v & SHM_CANCEL_TIMEOUT) != 0, gen);
    }
}

static void sv_on_broker_wake(evutil_socket_t fd, short what, void *arg)
{
    uint64_t v;
    ssize_t n = read(fd, &v, sizeof(v));
    (void)n;
    sv_pass_cancels();
    sv_pools_tick();
}

/*
 * Fork, then exec this binary as a worker.  Executor threads may hold any
 * lock (the allocator's, OpenSSL's, the time zone's) at the moment of the
 * fork; a fresh image inherits none of them.  Between fork and exec the
 * child only clears close-on-exec on the descriptors it keeps.
 */
static pid_t sv_spawn_worker(uint32_t i)
{
    struct shm_worker *w = shm_worker(i);
    w->gen++;
    w->asleep = 0;
    w->dequeuing = 0;
    w->nclients = 0;

    char a_index[16], a_fd[16], a_addr[32], a_log[3], a_listen[SV_MAX_LISTEN][16];
    char *args[8 + SV_MAX_LISTEN];
    int n = 0;
    snprintf(a_index, sizeof(a_index), "%u", i);
    snprintf(a_fd, sizeof(a_fd), "%d", shm_fd);
    snprintf(a_addr, sizeof(a_addr), "%llx", (unsigned long long)(uintptr_t)shm);
    a_log[0] = (char)('0' + log_get_level());
    a_log[1] = log_get_quiet() ? '1' : '0';
    a_log[2] = '\0';
    args[n++] = sv.argv0;
    args[n++] = "--worker";
    args[n++] = a_index;
    args[n++] = a_fd;
    args[n++] = a_addr;
    args[n++] = a_log;
    args[n++] = sv.cfg->path;
    for (int k = 0; k < sv.nlisten; k++) {
        snprintf(a_listen[k], sizeof(a_listen[k]), "%d", sv.listen_fds[k]);
        args[n++] = a_listen[k];
    }
    args[n] = NULL;
    int keep[3 + SV_MAX_LISTEN + SHM_MAX_WORKERS], nkeep = 0;
    keep[nkeep++] = shm_fd;
    keep[nkeep++] = shm->broker_efd;
    /* Every worker's eventfd: a worker wakes another one for a cancel it received. */
    for (uint32_t k = 0; k < sv.nworkers; k++)
        keep[nkeep++] = shm_worker(k)->efd;
    for (int k = 0; k < sv.nlisten; k++)
        keep[nkeep++] = sv.listen_fds[k];

    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    pid_t pid = fork();
    if (pid == 0) {
        for (int k = 0; k < nkeep; k++)
            fcntl(keep[k], F_SETFD, 0);
        execv("/proc/self/exe", args);
        _exit(127);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) {
        log_error("broker", "fork() for worker %u failed: %s", i, strerror(errno));
        w->state = SHM_WORKER_DEAD;
        return -1;
    }
    w->pid = (uint32_t)pid;
    ck_pr_store_32(&w->state, SHM_WORKER_RUNNING);
    sv.spawned_us[i] = shm_now_us();
    log_info("broker", "worker=%u pid=%d gen=%u started", i, (int)pid, w->gen);
    return pid;
}

static void sv_on_timer(evutil_socket_t fd, short what, void *arg);

static void sv_reap(void)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (uint32_t i = 0; i < sv.nworkers; i++) {
            struct shm_worker *w = shm_worker(i);
            if (w->pid != (uint32_t)pid || w->state != SHM_WORKER_RUNNING)
                continue;
            ck_pr_store_32(&w->state, SHM_WORKER_DEAD);
            if (WIFSIGNALED(status))
                log_warning("broker", "worker=%u pid=%d killed by signal %d", i, (int)pid, WTERMSIG(status));
            else if (WEXITSTATUS(status) != 0 || !sv.stopping)
                log_warning("broker", "worker=%u pid=%d exited with status %d", i, (int)pid,
                            WEXITSTATUS(status));
            int leases = lease_reclaim_worker(i, w->gen);
            for (uint32_t k = 0; k < shm->nslots; k++)
                if (shm_slot(k)->owner_worker == i && ck_pr_load_32(&shm_slot(k)->reclaim))
                    exec_cancel(k, 0, EXEC_ANY_LEASE);
            log_info("broker", "worker=%u reclaimed leases=%d", i, leases);
            /* A worker that keeps dying at once is respawned by the timer, a second later. */
            if (!sv.stopping && shm_now_us() - sv.spawned_us[i] > 1000000)
                sv_spawn_worker(i);
        }
    }
}

static int sv_workers_alive(void)
{
    int n = 0;
    for (uint32_t i = 0; i < sv.nworkers; i++)
        if (ck_pr_load_32(&shm_worker(i)->state) == SHM_WORKER_RUNNING)
            n++;
    return n;
}

static void sv_signal_workers(int sig)
{
    for (uint32_t i = 0; i < sv.nworkers; i++)
        if (shm_worker(i)->state == SHM_WORKER_RUNNING)
            kill((pid_t)shm_worker(i)->pid, sig);
}

static void sv_reload(void)
{
    char err[512];
    struct cfg *ncfg = NULL;
    if (cfg_load(sv.cfg->path, &ncfg, err, sizeof(err)) < 0) {
        log_error("broker", "reload rejected, keeping the old settings: %s", err);
        return;
    }
    if (tls_check(ncfg, err, sizeof(err)) < 0) {
        log_error("broker", "reload rejected, keeping the old settings: %s: %s", ncfg->path, err);
        cfg_free(ncfg);
        return;
    }
    struct cfg *o = sv.cfg;
    if (strcmp(o->listen_addr, ncfg->listen_addr) != 0 || o->listen_port != ncfg->listen_port ||
        strcmp(o->unix_socket_dir, ncfg->unix_socket_dir) != 0 || o->workers != ncfg->workers ||
        o->max_client_conn != ncfg->max_client_conn || o->max_backend_slots != ncfg->max_backend_slots ||
        o->ring_size != ncfg->ring_size)
        log_warning("broker", "listen_*, unix_socket_dir, workers, max_client_conn, max_backend_slots "
                              "and ring_size take effect only after a restart");
    if (log_open(ncfg->logfile) < 0)
        log_error("broker", "cannot open logfile %s: %s", ncfg->logfile, strerror(errno));
    sv_apply_pools(ncfg);
    sv_defer_accept(ncfg);
    exec_set_max_request(ncfg->max_message_size + LEASE_REQUEST_SLACK);
    sv.cfg = ncfg;
    cfg_free(o);
    ck_pr_inc_32(&shm->config_gen);
    sv_signal_workers(SIGHUP);
    log_info("broker", "configuration reloaded from %s", sv.cfg->path);
    sv_pools_tick();
}

static void sv_begin_stop(int how)
{
    if (sv.stopping >= how)
        return;
    sv.stopping = how;
    ck_pr_store_32(&shm->shutdown, (uint32_t)how);
    /* Workers close their copies too, so new clients are refused at once instead of queuing. */
    for (int k = 0; k < sv.nlisten; k++)
        close(sv.listen_fds[k]);
    sv.nlisten = 0;
    if (sv.unix_path[0]) {
        unlink(sv.unix_path);
        sv.unix_path[0] = '\0';
    }
    if (how == 1) {
        log_info("broker", "graceful shutdown: waiting up to %gs for transactions", sv.cfg->shutdown_timeout);
        sv.stop_deadline_us = shm_now_us() + (int64_t)(sv.cfg->shutdown_timeout * 1e6);
        sv_signal_workers(SIGTERM);
    } else {
        log_info("broker", "fast shutdown");
        sv.stop_deadline_us = shm_now_us() + 2000000;
        sv_signal_workers(SIGINT);
    }
}

static void sv_on_signal(evutil_socket_t sig, short what, void *arg)
{
    switch (sig) {
    case SIGCHLD:
        sv_reap();
        break;
    case SIGHUP:
        sv_reload();
        break;
    case SIGTERM:
        sv_begin_stop(1);
        break;
    case SIGINT:
    case SIGQUIT:
        sv_begin_stop(2);
        break;
    }
}

static void sv_on_timer(evutil_socket_t fd, short what, void *arg)
{
    sv_reap();
    if (sv.stopping) {
        if (sv_workers_alive() > 0) {
            if (shm_now_us() > sv.stop_deadline_us) {
                log_warning("broker", "shutdown_timeout reached; killing workers");
                sv_signal_workers(SIGKILL);
            }
            return;
        }
        /* Workers are gone: stop executors (they roll back and disconnect). */
        ck_pr_store_32(&shm->shutdown, 2);
        for (uint32_t s = 0; s < shm->nslots; s++)
            wake_futex_bump(&shm_slot(s)->futex);
        if (exec_running() == 0 || shm_now_us() > sv.stop_deadline_us + 5000000)
            event_base_loopbreak(sv.base);
        return;
    }
    for (uint32_t i = 0; i < sv.nworkers; i++)
        if (shm_worker(i)->state == SHM_WORKER_DEAD)
            sv_spawn_worker(i);
    sv_pools_tick();
}

static int sv_write_pidfile(const char *path)
{
    if (path[0] == '\0')
        return 0;
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "%d\n", (int)getpid());
    return fclose(f);
}

int supervisor_run(struct cfg *cfg, char *argv0)
{
    sv.cfg = cfg;
    sv.argv0 = argv0;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    sv.nworkers = cfg->workers > 0 ? (uint32_t)cfg->workers : (uint32_t)(ncpu > 0 ? ncpu : 1);
    if (sv.nworkers > SHM_MAX_WORKERS)
        sv.nworkers = SHM_MAX_WORKERS;
    signal(SIGPIPE, SIG_IGN);

    if (shm_create(sv.nworkers, SHM_MAX_POOLS, (uint32_t)cfg->max_backend_slots,
                   (uint32_t)cfg->max_client_conn, (uint32_t)cfg->ring_size, cfg->shared_cache_size) < 0)
        return 1;
    shm->broker_pid = (uint32_t)getpid();
    shm->broker_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    for (uint32_t i = 0; i < sv.nworkers; i++)
        shm_worker(i)->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

    if (cfg->listen_addr[0] != '\0' && sv_listen_tcp(cfg->listen_addr, cfg->listen_port) < 0)
        goto failed;
    if (cfg->unix_socket_dir[0] != '\0' && sv_listen_unix(cfg->unix_socket_dir, cfg->listen_port) < 0)
        goto failed;
    if (sv.nlisten == 0) {
        log_error("broker", "nothing to listen on: set listen_addr or unix_socket_dir");
        goto failed;
    }
    sv_defer_accept(cfg);
    if (sv_write_pidfile(cfg->pidfile) < 0)
        log_warning("broker", "cannot write pidfile %s: %s", cfg->pidfile, strerror(errno));

    exec_set_max_request(cfg->max_message_size + LEASE_REQUEST_SLACK);
    sv_apply_pools(cfg);

    sv.base = event_base_new();
    if (sv.base == NULL)
        goto failed;
    struct event *ev_wake = event_new(sv.base, shm->broker_efd, EV_READ | EV_PERSIST, sv_on_broker_wake, NULL);
    event_add(ev_wake, NULL);
    int sigs[] = { SIGCHLD, SIGHUP, SIGTERM, SIGINT, SIGQUIT };
    struct event *ev_sig[5];
    for (int k = 0; k < 5; k++) {
        ev_sig[k] = evsignal_new(sv.base, sigs[k], sv_on_signal, NULL);
        evsignal_add(ev_sig[k], NULL);
    }
    sv.ev_timer = event_new(sv.base, -1, EV_PERSIST, sv_on_timer, NULL);
    struct timeval tick = { 0, 250000 };
    event_add(sv.ev_timer, &tick);

    log_info("broker", "pgiris %s listening on %s:%d%s%s workers=%u pool_mode=%s", PGIRIS_VERSION,
             cfg->listen_addr, cfg->listen_port, sv.unix_path[0] ? " and " : "", sv.unix_path,
             sv.nworkers, cfg_pool_mode_name(cfg->pool_mode));
    sv_pools_tick();
    for (uint32_t i = 0; i < sv.nworkers; i++)
        sv_spawn_worker(i);

    event_base_dispatch(sv.base);

    log_info("broker", "stopped");
    for (int k = 0; k < 5; k++)
        event_free(ev_sig[k]);
    event_free(ev_wake);
    event_free(sv.ev_timer);
    event_base_free(sv.base);
    if (sv.unix_path[0])
        unlink(sv.unix_path);
    if (sv.cfg->pidfile[0])
        unlink(sv.cfg->pidfile);
    for (int k = 0; k < sv.nlisten; k++)
        close(sv.listen_fds[k]);
    cfg_free(sv.cfg);
    return 0;

failed:
    for (int k = 0; k < sv.nlisten; k++)
        close(sv.listen_fds[k]);
    return 1;
}
