/*
 * Tests for worker/admin: a shared region filled by hand, every console
 * command run through admin_query, and the reply parsed back into results
 * (columns, rows, command tag, error or notice) to check names and values.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/pgproto.h"
#include "shm/shm.h"
#include "worker/admin.h"

#define NWORKERS 2
#define NSLOTS 16
#define NCLIENTS 16

#define MAX_COLS 32
#define MAX_ROWS 32
#define MAX_RESULTS 8

static const char test_ini[] =
    "[pgiris]\n"
    "listen_port = 6543\n"
    "default_pool_size = 7\n"
    "admin_users = admin\n"
    "stats_users = stats\n"
    "[database demo]\n"
    "dialect = sqlite\n"
    "odbc = Driver=SQLite3;Database=x.db\n"
    "pool_size = 5\n"
    "[database other]\n"
    "dialect = iris\n"
    "odbc = DSN=IRIS_USER\n";

/* One reply of a statement, as a client would see it. */
struct result {
    int ncols;
    char *cols[MAX_COLS];
    int32_t oids[MAX_COLS];
    int nrows;
    char *vals[MAX_ROWS][MAX_COLS];     /* NULL for SQL NULL */
    char *tag;                          /* CommandComplete, "" for EmptyQueryResponse */
    char *sqlstate;                     /* ErrorResponse */
    char *message;
    char *notice;
    char *notice_detail;
};

struct reply {
    int n;
    struct result r[MAX_RESULTS];
};

static struct cfg *cfg;
static volatile sig_atomic_t got_sighup;

static void on_sighup(int sig)
{
    got_sighup++;
}

static char *dup_n(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);

    assert_non_null(s);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static void parse_fields(struct pgproto_reader *r, char **sqlstate, char **message, char **detail)
{
    uint8_t code;
    const char *v;

    for (;;) {
        assert_int_equal(pgproto_get_u8(r, &code), 0);
        if (code == 0)
            break;
        assert_int_equal(pgproto_get_cstr(r, &v), 0);
        if (code == 'C' && sqlstate)
            *sqlstate = strdup(v);
        else if (code == 'M')
            *message = strdup(v);
        else if (code == 'D' && detail)
            *detail = strdup(v);
    }
}

/* Split the produced bytes into results; every message must be well formed. */
static void parse_reply(const struct pgbuf *b, struct reply *rep)
{
    size_t pos = 0;
    struct result *cur;

    memset(rep, 0, sizeof(*rep));
    assert_int_equal(b->oom, 0);
    cur = &rep->r[0];
    while (pos < b->len) {
        struct pgproto_reader r;
        char type;
        uint32_t len;
        int16_t n;
        int32_t i32;
        const char *s;
        const uint8_t *p;

        assert_true(b->len - pos >= 5);
        type = (char)b->data[pos];
        len = pgproto_load_u32(b->data + pos + 1);
        assert_true(len >= 4 && b->len - pos - 1 >= len);
        pgproto_reader_init(&r, b->data + pos + 5, len - 4);
        pos += 1 + len;
        assert_true(rep->n < MAX_RESULTS);

        switch (type) {
        case 'T':
            assert_int_equal(pgproto_get_i16(&r, &n), 0);
            assert_true(n > 0 && n <= MAX_COLS);
            cur->ncols = n;
            for (int i = 0; i < n; i++) {
                int16_t i16;
                assert_int_equal(pgproto_get_cstr(&r, &s), 0);
                cur->cols[i] = strdup(s);
                pgproto_get_i32(&r, &i32);
                pgproto_get_i16(&r, &i16);
                pgproto_get_i32(&r, &cur->oids[i]);
                pgproto_get_i16(&r, &i16);
                pgproto_get_i32(&r, &i32);
                assert_int_equal(pgproto_get_i16(&r, &i16), 0);
                assert_int_equal(i16, 0);   /* text format */
            }
            break;
        case 'D':
            assert_int_equal(pgproto_get_i16(&r, &n), 0);
            assert_int_equal(n, cur->ncols);
            assert_true(cur->nrows < MAX_ROWS);
            for (int i = 0; i < n; i++) {
                assert_int_equal(pgproto_get_i32(&r, &i32), 0);
                if (i32 < 0)
                    continue;
                assert_int_equal(pgproto_get_bytes(&r, &p, (size_t)i32), 0);
                cur->vals[cur->nrows][i] = dup_n(p, (size_t)i32);
            }
            cur->nrows++;
            break;
        case 'C':
            assert_int_equal(pgproto_get_cstr(&r, &s), 0);
            cur->tag = strdup(s);
            cur = &rep->r[++rep->n];
            break;
        case 'I':
            cur->tag = strdup("");
            cur = &rep->r[++rep->n];
            break;
        case 'E':
            parse_fields(&r, &cur->sqlstate, &cur->message, NULL);
            cur = &rep->r[++rep->n];
            break;
        case 'N':
            parse_fields(&r, NULL, &cur->notice, &cur->notice_detail);
            break;
        default:
            fail_msg("unexpected message type '%c'", type);
        }
        assert_int_equal(pgproto_remaining(&r), 0);
        assert_int_equal(r.err, 0);
    }
    /* Nothing may trail the last complete result. */
    assert_int_equal(cur->ncols, 0);
    assert_null(cur->notice);
}

static void free_reply(struct reply *rep)
{
    for (int k = 0; k <= rep->n && k < MAX_RESULTS; k++) {
        struct result *res = &rep->r[k];
        for (int i = 0; i < res->ncols; i++) {
            free(res->cols[i]);
            for (int j = 0; j < res->nrows; j++)
                free(res->vals[j][i]);
        }
        free(res->tag);
        free(res->sqlstate);
        free(res->message);
        free(res->notice);
        free(res->notice_detail);
    }
}

static void run(const char *sql, int may_modify, struct reply *rep)
{
    struct pgbuf b;

    pgbuf_init(&b);
    admin_query(sql, strlen(sql), cfg, may_modify, &b);
    parse_reply(&b, rep);
    pgbuf_free(&b);
}

static int col(const struct result *res, const char *name)
{
    for (int i = 0; i < res->ncols; i++)
        if (strcmp(res->cols[i], name) == 0)
            return i;
    fail_msg("no column %s", name);
    return -1;
}

/* The row whose column 'key' holds 'value'. */
static int row(const struct result *res, const char *key, const char *value)
{
    int c = col(res, key);

    for (int j = 0; j < res->nrows; j++)
        if (res->vals[j][c] && strcmp(res->vals[j][c], value) == 0)
            return j;
    fail_msg("no row with %s = %s", key, value);
    return -1;
}

static const char *val(const struct result *res, int r, const char *name)
{
    return res->vals[r][col(res, name)];
}

static long long ival(const struct result *res, int r, const char *name)
{
    const char *v = val(res, r, name);

    assert_non_null(v);
    return strtoll(v, NULL, 10);
}

static void assert_columns(const struct result *res, const char *const *names, int n)
{
    assert_int_equal(res->ncols, n);
    for (int i = 0; i < n; i++)
        assert_string_equal(res->cols[i], names[i]);
}

static void assert_oid(const struct result *res, const char *name, int32_t oid)
{
    assert_int_equal(res->oids[col(res, name)], oid);
}

static void set_pool(uint32_t i, const char *name, int size, int mode)
{
    struct shm_pool *p = shm_pool(i);

    snprintf(p->name, sizeof(p->name), "%s", name);
    p->in_use = 1;
    p->pool_size = size;
    p->pool_mode = mode;
}

static void set_slot(uint32_t i, uint32_t pool, uint32_t state, uint32_t client)
{
    struct shm_slot *s = shm_slot(i);

    s->pool = pool;
    s->state = state;
    s->owner_client = client;
    s->connect_time_us = shm_realtime_us();
}

static void set_client(uint32_t i, uint32_t pool, char status, uint32_t slot)
{
    struct shm_client *c = shm_client(i);

    c->state = SHM_CLIENT_USED;
    c->pool = pool;
    c->status = status;
    c->slot = slot;
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)(40000 + i)) };

    sin.sin_addr.s_addr = htonl(0x0a000000 + i);
    shm_client_set_addr(c, (const struct sockaddr *)&sin);
    snprintf(c->user, sizeof(c->user), "user%u", i);
    snprintf(shm_client_appname(i), CFG_NAME_MAX, "app%u", i);
    c->has_appname = 1;
    c->connect_time_us = shm_realtime_us();
}

/*
 * demo (pool 0): slots 0,1 leased, 2 idle, 3 connecting, 4 closing;
 * clients 0 (active, slot 0), 1 (active, slot 1), 2 and 3 waiting, 4 idle,
 * 9 free but naming pool 0 (must not count).
 * other (pool 1): slot 5 idle with a stale conn_gen, client 5 idle.
 * gone (pool 2): removed from the config, slot 6 still connecting.
 * client 6 is on the console (no pool); client 7 is still logging in to demo
 * (must not count as active).
 */
static int setup(void **state)
{
    char path[] = "/tmp/test_admin_XXXXXX";
    char err[256];
    int fd = mkstemp(path);
    int64_t now;

    assert_true(fd >= 0);
    assert_int_equal(write(fd, test_ini, strlen(test_ini)), (ssize_t)strlen(test_ini));
    close(fd);
    if (cfg_load(path, &cfg, err, sizeof(err)) != 0)
        fail_msg("cfg_load: %s", err);
    unlink(path);

    assert_int_equal(shm_create(NWORKERS, SHM_MAX_POOLS, NSLOTS, NCLIENTS, 65536, 0), 0);
    set_pool(0, "demo", 5, CFG_POOL_TRANSACTION);
    set_pool(1, "other", 7, CFG_POOL_SESSION);
    set_pool(2, "gone", 3, CFG_POOL_TRANSACTION);
    shm_pool(2)->removed = 1;
    shm_pool(0)->nopen = 4;
    shm_pool(1)->nopen = 1;
    shm_pool(1)->conn_gen = 2;

    set_slot(0, 0, SHM_SLOT_LEASED, 0);
    set_slot(1, 0, SHM_SLOT_LEASED, 1);
    set_slot(2, 0, SHM_SLOT_IDLE, SHM_NONE);
    set_slot(3, 0, SHM_SLOT_CONNECTING, SHM_NONE);
    set_slot(4, 0, SHM_SLOT_CLOSING, SHM_NONE);
    set_slot(5, 1, SHM_SLOT_IDLE, SHM_NONE);
    shm_slot(5)->conn_gen = 1;
    set_slot(6, 2, SHM_SLOT_CONNECTING, SHM_NONE);

    now = shm_now_us();
    set_client(0, 0, 'a', 0);
    set_client(1, 0, 'a', 1);
    /* client 1 keeps slot 1 for a temporary table and a held cursor */
    shm_client(1)->keeps = SHM_KEEPS_STATE | SHM_KEEPS_CURSORS;
    shm_slot(1)->discard = 1;
    set_client(2, 0, 'w', SHM_NONE);
    shm_client(2)->wait_start_us = now - 3400000;
    set_client(3, 0, 'w', SHM_NONE);
    shm_client(3)->wait_start_us = now - 1000000;
    set_client(4, 0, 'i', SHM_NONE);
    set_client(5, 1, 'i', SHM_NONE);
    set_client(6, SHM_NONE, 'a', SHM_NONE);
    shm_client(6)->console = 1;
    set_client(7, 0, 0, SHM_NONE);
    shm_client(9)->pool = 0;
    shm_client(9)->status = 'w';
    shm_client(9)->wait_start_us = now - 60000000;
    shm_client(0)->request_time_us = shm_realtime_us();
    return 0;
}

static int teardown(void **state)
{
    shm_destroy();
    cfg_free(cfg);
    cfg = NULL;
    return 0;
}

static void test_show_pools(void **state)
{
    static const char *const names[] = {
        "database", "user", "cl_active", "cl_waiting", "cl_active_cancel_req",
        "cl_waiting_cancel_req", "sv_active", "sv_active_cancel", "sv_being_canceled",
        "sv_idle", "sv_used", "sv_tested", "sv_login", "maxwait", "maxwait_us",
        "pool_mode", "pool_size",
    };
    struct reply rep;
    struct result *res;
    int r;

    run("SHOW POOLS", 0, &rep);
    assert_int_equal(rep.n, 1);
    res = &rep.r[0];
    assert_string_equal(res->tag, "SHOW");
    assert_columns(res, names, (int)(sizeof(names) / sizeof(names[0])));
    assert_oid(res, "database", PG_OID_TEXT);
    assert_oid(res, "cl_active", PG_OID_INT8);
    assert_oid(res, "pool_mode", PG_OID_TEXT);
    assert_int_equal(res->nrows, 2);    /* "gone" is removed */

    r = row(res, "database", "demo");
    assert_string_equal(val(res, r, "user"), "*");
    assert_int_equal(ival(res, r, "cl_active"), 3);
    assert_int_equal(ival(res, r, "cl_waiting"), 2);
    assert_int_equal(ival(res, r, "sv_active"), 2);
    assert_int_equal(ival(res, r, "sv_idle"), 1);
    assert_int_equal(ival(res, r, "sv_login"), 1);
    assert_int_equal(ival(res, r, "sv_used"), 0);
    assert_int_equal(ival(res, r, "maxwait"), 3);
    assert_in_range(ival(res, r, "maxwait_us"), 400000, 999999);
    assert_string_equal(val(res, r, "pool_mode"), "transaction");
    assert_int_equal(ival(res, r, "pool_size"), 5);

    r = row(res, "database", "other");
    assert_int_equal(ival(res, r, "cl_active"), 1);
    assert_int_equal(ival(res, r, "cl_waiting"), 0);
    assert_int_equal(ival(res, r, "sv_idle"), 1);
    assert_int_equal(ival(res, r, "maxwait"), 0);
    assert_string_equal(val(res, r, "pool_mode"), "session");
    assert_int_equal(ival(res, r, "pool_size"), 7);
    free_reply(&rep);
}

static const char *const socket_cols[] = {
    "type", "user", "database", "state", "addr", "port", "local_addr", "local_port",
    "connect_time", "request_time", "wait", "wait_us", "close_needed", "ptr", "link",
    "remote_pid", "tls", "application_name", "keeps",
};

static void assert_timestamp(const char *v)
{
    int y, mo, d, h, mi, s;
    char zone[16];

    assert_non_null(v);
    assert_int_equal(sscanf(v, "%4d-%2d-%2d %2d:%2d:%2d %15s", &y, &mo, &d, &h, &mi, &s, zone), 7);
    assert_true(y >= 2000);
}

static void test_show_clients(void **state)
{
    struct reply rep;
    struct result *res;
    int r;

    run("show clients", 0, &rep);
    assert_int_equal(rep.n, 1);
    res = &rep.r[0];
    assert_columns(res, socket_cols, (int)(sizeof(socket_cols) / sizeof(socket_cols[0])));
    assert_oid(res, "port", PG_OID_INT8);
    assert_oid(res, "ptr", PG_OID_TEXT);
    assert_int_equal(res->nrows, 8);

    r = row(res, "ptr", "0");
    assert_string_equal(val(res, r, "type"), "C");
    assert_string_equal(val(res, r, "user"), "user0");
    assert_string_equal(val(res, r, "database"), "demo");
    assert_string_equal(val(res, r, "state"), "active");
    assert_string_equal(val(res, r, "addr"), "10.0.0.0");
    assert_int_equal(ival(res, r, "port"), 40000);
    assert_string_equal(val(res, r, "link"), "0");
    assert_string_equal(val(res, r, "application_name"), "app0");
    assert_timestamp(val(res, r, "connect_time"));
    assert_timestamp(val(res, r, "request_time"));
    assert_int_equal(ival(res, r, "wait"), 0);

    assert_string_equal(val(res, r, "keeps"), "");

    r = row(res, "ptr", "1");
    assert_string_equal(val(res, r, "link"), "1");
    assert_null(val(res, r, "request_time"));
    assert_string_equal(val(res, r, "keeps"), "session state, cursors with hold");

    r = row(res, "ptr", "2");
    assert_string_equal(val(res, r, "state"), "waiting");
    assert_string_equal(val(res, r, "link"), "");
    assert_int_equal(ival(res, r, "wait"), 3);
    assert_in_range(ival(res, r, "wait_us"), 400000, 999999);

    assert_string_equal(val(res, row(res, "ptr", "4"), "state"), "idle");
    assert_string_equal(val(res, row(res, "ptr", "6"), "database"), "pgiris");
    assert_string_equal(val(res, row(res, "ptr", "7"), "state"), "login");
    assert_string_equal(val(res, row(res, "ptr", "7"), "database"), "demo");
    free_reply(&rep);
}

static void test_show_servers(void **state)
{
    struct reply rep;
    struct result *res;
    int r;

    run("SHOW SERVERS", 0, &rep);
    assert_int_equal(rep.n, 1);
    res = &rep.r[0];
    assert_columns(res, socket_cols, (int)(sizeof(socket_cols) / sizeof(socket_cols[0])));
    assert_int_equal(res->nrows, 7);

    r = row(res, "ptr", "1");
    assert_string_equal(val(res, r, "type"), "S");
    assert_string_equal(val(res, r, "database"), "demo");
    assert_string_equal(val(res, r, "state"), "active");
    assert_string_equal(val(res, r, "link"), "1");
    assert_string_equal(val(res, r, "application_name"), "app1");
    assert_string_equal(val(res, r, "keeps"), "session state");
    assert_string_equal(val(res, row(res, "ptr", "0"), "keeps"), "");
    assert_int_equal(ival(res, r, "close_needed"), 0);
    assert_null(val(res, r, "port"));
    assert_timestamp(val(res, r, "connect_time"));

    r = row(res, "ptr", "2");
    assert_string_equal(val(res, r, "state"), "idle");
    assert_string_equal(val(res, r, "link"), "");
    assert_string_equal(val(res, r, "application_name"), "");
    assert_string_equal(val(res, row(res, "ptr", "3"), "state"), "login");
    assert_string_equal(val(res, row(res, "ptr", "4"), "state"), "closing");

    r = row(res, "ptr", "5");
    assert_string_equal(val(res, r, "database"), "other");
    assert_int_equal(ival(res, r, "close_needed"), 1);
    free_reply(&rep);
}

static void test_show_stats(void **state)
{
    static const char *const names[] = {
        "database", "total_xact_count", "total_query_count", "total_received",
        "total_sent", "total_xact_time", "total_query_time", "total_wait_time",
        "avg_xact_count", "avg_query_count", "avg_recv", "avg_sent", "avg_xact_time",
        "avg_query_time", "avg_wait_time", "total_autoparam_count", "total_chained_count",
    };
    struct shm_stats *a = shm_stats(0, 0), *b = shm_stats(1, 0);
    struct reply rep;
    struct result *res;
    int64_t saved_start = shm->start_time_us;
    int r;

    a->xact_count = 10;
    b->xact_count = 30;
    a->query_count = 100;
    b->query_count = 60;
    a->bytes_received = 5000;
    a->bytes_sent = 12000;
    b->bytes_sent = 8000;
    a->xact_us = 3000;
    b->xact_us = 1000;
    a->query_us = 3200;
    a->wait_us = 800;
    a->chained = 5;
    b->chained = 2;
    shm_stats(1, 1)->query_count = 9;
    shm_pool(0)->autoparam_count = 77;
    shm->start_time_us = shm_realtime_us() - 10 * 1000000 - 300000;

    run("SHOW STATS;", 0, &rep);
    shm->start_time_us = saved_start;
    assert_int_equal(rep.n, 1);
    res = &rep.r[0];
    assert_columns(res, names, (int)(sizeof(names) / sizeof(names[0])));
    assert_oid(res, "avg_xact_time", PG_OID_INT8);
    assert_int_equal(res->nrows, 2);

    r = row(res, "database", "demo");
    assert_int_equal(ival(res, r, "total_xact_count"), 40);
    assert_int_equal(ival(res, r, "total_query_count"), 160);
    assert_int_equal(ival(res, r, "total_received"), 5000);
    assert_int_equal(ival(res, r, "total_sent"), 20000);
    assert_int_equal(ival(res, r, "total_xact_time"), 4000);
    assert_int_equal(ival(res, r, "total_query_time"), 3200);
    assert_int_equal(ival(res, r, "total_wait_time"), 800);
    assert_int_equal(ival(res, r, "avg_xact_count"), 4);
    assert_int_equal(ival(res, r, "avg_query_count"), 16);
    assert_int_equal(ival(res, r, "avg_recv"), 500);
    assert_int_equal(ival(res, r, "avg_sent"), 2000);
    assert_int_equal(ival(res, r, "avg_xact_time"), 100);
    assert_int_equal(ival(res, r, "avg_query_time"), 20);
    assert_int_equal(ival(res, r, "avg_wait_time"), 20);
    assert_int_equal(ival(res, r, "total_autoparam_count"), 77);
    assert_int_equal(ival(res, r, "total_chained_count"), 7);

    r = row(res, "database", "other");
    assert_int_equal(ival(res, r, "total_query_count"), 9);
    assert_int_equal(ival(res, r, "total_autoparam_count"), 0);
    assert_int_equal(ival(res, r, "avg_query_time"), 0);
    assert_int_equal(ival(res, r, "avg_xact_time"), 0);
    free_reply(&rep);
}

static void test_show_databases(void **state)
{
    static const char *const names[] = {
        "name", "host", "port", "database", "force_user", "pool_size", "min_pool_size",
        "reserve_pool", "server_lifetime", "pool_mode", "max_connections",
        "current_connections", "paused", "disabled", "dialect",
    };
    struct reply rep;
    struct result *res;
    int r;

    run("SHOW DATABASES", 0, &rep);
    res = &rep.r[0];
    assert_columns(res, names, (int)(sizeof(names) / sizeof(names[0])));
    assert_int_equal(res->nrows, 2);

    r = row(res, "name", "demo");
    assert_string_equal(val(res, r, "database"), "demo");
    assert_string_equal(val(res, r, "host"), "");
    assert_int_equal(ival(res, r, "pool_size"), 5);
    assert_int_equal(ival(res, r, "current_connections"), 4);
    assert_string_equal(val(res, r, "dialect"), "sqlite");
    assert_string_equal(val(res, r, "pool_mode"), "transaction");

    r = row(res, "name", "other");
    assert_int_equal(ival(res, r, "pool_size"), 7);
    assert_int_equal(ival(res, r, "current_connections"), 1);
    assert_string_equal(val(res, r, "dialect"), "iris");
    free_reply(&rep);
}

static void count_key(void *arg, const char *key, const char *value, int reloadable)
{
    (*(int *)arg)++;
}

static void test_show_config(void **state)
{
    static const char *const names[] = { "key", "value", "default", "changeable" };
    struct reply rep;
    struct result *res;
    int nkeys = 0, r;

    cfg_foreach(cfg, count_key, &nkeys);
    run("SHOW CONFIG", 0, &rep);
    res = &rep.r[0];
    assert_columns(res, names, 4);
    assert_int_equal(res->nrows, nkeys);

    r = row(res, "key", "listen_port");
    assert_string_equal(val(res, r, "value"), "6543");
    assert_string_equal(val(res, r, "changeable"), "no");
    r = row(res, "key", "default_pool_size");
    assert_string_equal(val(res, r, "value"), "7");
    assert_string_equal(val(res, r, "changeable"), "yes");
    free_reply(&rep);
}

static void test_show_version_and_lists(void **state)
{
    struct reply rep;
    struct result *res;

    run("SHOW VERSION", 0, &rep);
    res = &rep.r[0];
    assert_int_equal(res->ncols, 1);
    assert_string_equal(res->cols[0], "version");
    assert_int_equal(res->nrows, 1);
    assert_memory_equal(res->vals[0][0], "pgiris ", 7);
    assert_true(strlen(res->vals[0][0]) > 7);
    free_reply(&rep);

    run("SHOW LISTS", 0, &rep);
    res = &rep.r[0];
    assert_int_equal(res->ncols, 2);
    assert_string_equal(res->cols[0], "list");
    assert_string_equal(res->cols[1], "items");
    assert_int_equal(ival(res, row(res, "list", "databases"), "items"), 2);
    assert_int_equal(ival(res, row(res, "list", "pools"), "items"), 2);
    assert_int_equal(ival(res, row(res, "list", "used_clients"), "items"), 8);
    assert_int_equal(ival(res, row(res, "list", "free_clients"), "items"), NCLIENTS - 8);
    assert_int_equal(ival(res, row(res, "list", "login_clients"), "items"), 1);
    assert_int_equal(ival(res, row(res, "list", "used_servers"), "items"), 7);
    assert_int_equal(ival(res, row(res, "list", "free_servers"), "items"), NSLOTS - 7);
    free_reply(&rep);
}

static void test_show_help(void **state)
{
    struct reply rep;

    run("SHOW HELP", 0, &rep);
    assert_int_equal(rep.n, 1);
    assert_non_null(rep.r[0].notice);
    assert_non_null(rep.r[0].notice_detail);
    assert_non_null(strstr(rep.r[0].notice_detail, "POOLS"));
    assert_int_equal(rep.r[0].ncols, 0);
    assert_string_equal(rep.r[0].tag, "SHOW");
    free_reply(&rep);
}

static void test_invalid_commands(void **state)
{
    static const char *const bad[] = {
        "SHOW NONSENSE", "SHOW", "SHOW POOLS now", "SELECT 1", "show 'pools'", "POOLS",
    };
    char longq[300];
    struct reply rep;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        run(bad[i], 1, &rep);
        assert_int_equal(rep.n, 1);
        assert_null(rep.r[0].tag);
        assert_string_equal(rep.r[0].sqlstate, "42601");
        assert_non_null(strstr(rep.r[0].message, bad[i]));
        assert_non_null(strstr(rep.r[0].message, "SHOW HELP"));
        free_reply(&rep);
    }

    memset(longq, 'x', sizeof(longq) - 1);
    longq[sizeof(longq) - 1] = '\0';
    run(longq, 1, &rep);
    assert_string_equal(rep.r[0].sqlstate, "42601");
    assert_true(strlen(rep.r[0].message) < 120);
    assert_non_null(strstr(rep.r[0].message, "..."));
    free_reply(&rep);

    run("SHOW 'unterminated", 1, &rep);
    assert_int_equal(rep.n, 1);
    assert_string_equal(rep.r[0].sqlstate, "42601");
    free_reply(&rep);
}

static void test_reload(void **state)
{
    struct sigaction sa, old;
    struct reply rep;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sighup;
    assert_int_equal(sigaction(SIGHUP, &sa, &old), 0);
    shm->broker_pid = (uint32_t)getpid();
    got_sighup = 0;

    run("RELOAD", 0, &rep);
    assert_int_equal(rep.n, 1);
    assert_string_equal(rep.r[0].sqlstate, "42501");
    assert_string_equal(rep.r[0].message, "admin access needed");
    assert_int_equal(got_sighup, 0);
    free_reply(&rep);

    run("reload;", 1, &rep);
    assert_int_equal(rep.n, 1);
    assert_null(rep.r[0].sqlstate);
    assert_string_equal(rep.r[0].tag, "RELOAD");
    assert_int_equal(got_sighup, 1);
    free_reply(&rep);

    /* Never kill(0): that would signal the whole process group. */
    shm->broker_pid = 0;
    run("RELOAD", 1, &rep);
    assert_non_null(rep.r[0].sqlstate);
    assert_int_equal(got_sighup, 1);
    free_reply(&rep);

    sigaction(SIGHUP, &old, NULL);
}

static void test_statements(void **state)
{
    struct reply rep;

    run("show version; SHOW LISTS ;  ", 0, &rep);
    assert_int_equal(rep.n, 2);
    assert_string_equal(rep.r[0].cols[0], "version");
    assert_string_equal(rep.r[1].cols[0], "list");
    assert_string_equal(rep.r[1].tag, "SHOW");
    free_reply(&rep);

    /* An error ends the query string, as in PostgreSQL. */
    run("show version; bogus; show lists", 0, &rep);
    assert_int_equal(rep.n, 2);
    assert_string_equal(rep.r[0].tag, "SHOW");
    assert_string_equal(rep.r[1].sqlstate, "42601");
    free_reply(&rep);

    run("SHOW POOLS; RELOAD; SHOW LISTS", 0, &rep);
    assert_int_equal(rep.n, 2);
    assert_string_equal(rep.r[1].sqlstate, "42501");
    free_reply(&rep);

    run("  sHoW \t VeRsIoN \n\t ", 0, &rep);
    assert_int_equal(rep.n, 1);
    assert_string_equal(rep.r[0].cols[0], "version");
    free_reply(&rep);

    run("SHOW /* which */ POOLS -- all of them\n", 0, &rep);
    assert_int_equal(rep.n, 1);
    assert_string_equal(rep.r[0].cols[0], "database");
    free_reply(&rep);

    run(" ; ", 0, &rep);
    assert_int_equal(rep.n, 1);
    assert_string_equal(rep.r[0].tag, "");
    free_reply(&rep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_show_pools),
        cmocka_unit_test(test_show_clients),
        cmocka_unit_test(test_show_servers),
        cmocka_unit_test(test_show_stats),
        cmocka_unit_test(test_show_databases),
        cmocka_unit_test(test_show_config),
        cmocka_unit_test(test_show_version_and_lists),
        cmocka_unit_test(test_show_help),
        cmocka_unit_test(test_invalid_commands),
        cmocka_unit_test(test_reload),
        cmocka_unit_test(test_statements),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
