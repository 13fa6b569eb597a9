/*
 * admin: the console of database "pgiris".  Each statement of a simple
 * Query is looked up in one command table and answered from the shared
 * tables and the worker's config.  Nothing here locks: every entry is
 * written by one process and read here with plain atomic loads, so a row
 * may describe an entry in the middle of a change but never reads outside
 * it (strings are copied with their array bound, never trusted to end).
 */
#include "worker/admin.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <ck_pr.h>

#include "common/log.h"
#include "common/sql_lexer.h"
#include "shm/qcache.h"
#include "shm/shm.h"

#define ADMIN_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Longest part of an unknown command quoted back in the error message. */
#define ADMIN_ECHO_MAX 64

/* A command has at most two words; more tokens than this is never one. */
#define ADMIN_MAX_TOKENS 8

struct admin_col {
    const char *name;
    int32_t oid;        /* PG_OID_TEXT, or PG_OID_INT8 for every number, as pgbouncer does */
};

#define ADMIN_T(name) { name, PG_OID_TEXT }
#define ADMIN_I(name) { name, PG_OID_INT8 }

struct admin_ctx {
    const struct cfg *cfg;
    int may_modify;
    struct pgbuf *out;
};

/* ---- message helpers --------------------------------------------------- */

static void admin_row_description(struct pgbuf *out, const struct admin_col *cols, size_t n)
{
    pgproto_row_description_begin(out, (int16_t)n);
    for (size_t i = 0; i < n; i++)
        pgproto_row_description_field(out, cols[i].name, cols[i].oid,
                                      cols[i].oid == PG_OID_INT8 ? 8 : -1, -1, 0);
    pgproto_end(out);
}

static void admin_text(struct pgbuf *out, const char *s)
{
    pgproto_data_row_value(out, s, (int32_t)strlen(s));
}

static void admin_int(struct pgbuf *out, int64_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof(buf), "%" PRId64, v);

    pgproto_data_row_value(out, buf, n);
}

/* A number pgiris cannot know (ODBC hides the server's address): NULL, not ''. */
static void admin_null(struct pgbuf *out)
{
    pgproto_data_row_value(out, NULL, -1);
}

/* Table indexes stand in for pgbouncer's object addresses, so ptr and link can be joined. */
static void admin_index(struct pgbuf *out, uint32_t idx)
{
    char buf[16];

    if (idx == SHM_NONE) {
        admin_text(out, "");
        return;
    }
    snprintf(buf, sizeof(buf), "%" PRIx32, idx);
    admin_text(out, buf);
}

/* Realtime microseconds as pgbouncer prints them: local time with the zone; NULL if unset. */
static void admin_time(struct pgbuf *out, int64_t us)
{
    char buf[64];
    struct tm tm;
    time_t t = (time_t)(us / 1000000);

    if (us <= 0 || localtime_r(&t, &tm) == NULL) {
        admin_null(out);
        return;
    }
    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %Z", &tm);
    admin_text(out, buf);
}

/* A shared name field, bounded by its array: the owner may be rewriting it. */
static void admin_copy_name(char *dst, const char *src, size_t n)
{
    memcpy(dst, src, n - 1);
    dst[n - 1] = '\0';
}

static void admin_error(struct pgbuf *out, const char *sqlstate, const char *message)
{
    pgproto_error(out, 'E', "ERROR", sqlstate, message, NULL, NULL);
}

static const char *admin_client_state(char status)
{
    switch (status) {
    case 'a':
        return "active";
    case 'w':
        return "waiting";
    case 'i':
        return "idle";
    default:
        /* Claimed but not through startup and authentication yet. */
        return "login";
    }
}

/* The entry's status is 0 until the client is through login (shm.h). */
static int admin_client_login(char status)
{
    return status == 0;
}

/* The entry keeps its pool, not a copy of the database name. */
static void admin_client_database(struct shm_client *c, char *buf, size_t n)
{
    uint32_t pool = ck_pr_load_32(&c->pool);

    if (ck_pr_load_8(&c->console))
        snprintf(buf, n, "pgiris");
    else if (pool < shm->npools)
        admin_copy_name(buf, shm_pool(pool)->name, n);
    else
        buf[0] = '\0';
}

/* A text beside the client table, read only if the entry's flag says it was written. */
static void admin_client_text(uint8_t *has, const char *text, char *buf, size_t n)
{
    if (ck_pr_load_8(has)) {
        ck_pr_fence_load();
        admin_copy_name(buf, text, n);
    } else {
        buf[0] = '\0';
    }
}

static const char *admin_slot_state(uint32_t state)
{
    switch (state) {
    case SHM_SLOT_CONNECTING:
        return "login";
    case SHM_SLOT_IDLE:
        return "idle";
    case SHM_SLOT_LEASED:
        return "active";
    case SHM_SLOT_CLOSING:
        return "closing";
    default:
        return "";
    }
}

static int admin_pool_shown(const struct shm_pool *p)
{
    return ck_pr_load_32(&p->in_use) && !ck_pr_load_32(&p->removed);
}

/* How long client c has waited for a slot (monotonic clock), 0 if it is not waiting. */
static int64_t admin_client_wait(struct shm_client *c, int64_t now)
{
    int64_t start;

    if (ck_pr_load_char(&c->status) != 'w')
        return 0;
    start = ck_pr_load_64((uint64_t *)&c->wait_start_us);
    return start > 0 && now > start ? now - start : 0;
}

/* ---- SHOW POOLS -------------------------------------------------------- */

struct admin_pool_counts {
    int64_t cl_active, cl_waiting;
    int64_t sv_active, sv_idle, sv_login;
    int64_t maxwait;    /* microseconds */
};

static void admin_count_pool(uint32_t pool, int64_t now, struct admin_pool_counts *pc)
{
    memset(pc, 0, sizeof(*pc));
    for (uint32_t i = 0; i < shm->nclients; i++) {
        struct shm_client *c = shm_client(i);
        char status = ck_pr_load_char(&c->status);

        if (ck_pr_load_32(&c->state) != SHM_CLIENT_USED || ck_pr_load_32(&c->pool) != pool ||
            admin_client_login(status))
            continue;
        if (status == 'w') {
            int64_t w = admin_client_wait(c, now);
            pc->cl_waiting++;
            if (w > pc->maxwait)
                pc->maxwait = w;
        } else {
            pc->cl_active++;
        }
    }
    for (uint32_t i = 0; i < shm->nslots; i++) {
        struct shm_slot *s = shm_slot(i);
        if (ck_pr_load_32(&s->pool) != pool)
            continue;
        switch (ck_pr_load_32(&s->state)) {
        case SHM_SLOT_LEASED:
            pc->sv_active++;
            break;
        case SHM_SLOT_IDLE:
            pc->sv_idle++;
            break;
        case SHM_SLOT_CONNECTING:
            pc->sv_login++;
            break;
        default:
            break;
        }
    }
}

static const struct admin_col admin_pools_cols[] = {
    ADMIN_T("database"), ADMIN_T("user"),
    ADMIN_I("cl_active"), ADMIN_I("cl_waiting"),
    ADMIN_I("cl_active_cancel_req"), ADMIN_I("cl_waiting_cancel_req"),
    ADMIN_I("sv_active"), ADMIN_I("sv_active_cancel"), ADMIN_I("sv_being_canceled"),
    ADMIN_I("sv_idle"), ADMIN_I("sv_used"), ADMIN_I("sv_tested"), ADMIN_I("sv_login"),
    ADMIN_I("maxwait"), ADMIN_I("maxwait_us"), ADMIN_T("pool_mode"),
    ADMIN_I("pool_size"),
};

static void admin_show_pools(struct admin_ctx *ctx)
{
    struct pgbuf *out = ctx->out;
    int64_t now = shm_now_us();

    admin_row_description(out, admin_pools_cols, ADMIN_ARRAY_LEN(admin_pools_cols));
    for (uint32_t i = 0; i < shm->npools; i++) {
        struct shm_pool *p = shm_pool(i);
        struct admin_pool_counts pc;
        char name[CFG_NAME_MAX];

        if (!admin_pool_shown(p))
            continue;
        admin_copy_name(name, p->name, sizeof(name));
        admin_count_pool(i, now, &pc);
        pgproto_data_row_begin(out, (int16_t)ADMIN_ARRAY_LEN(admin_pools_cols));
        admin_text(out, name);
        /* One pool per database: the backend identity is in the ODBC connection string. */
        admin_text(out, "*");
        admin_int(out, pc.cl_active);
        admin_int(out, pc.cl_waiting);
        admin_int(out, 0);
        admin_int(out, 0);
        admin_int(out, pc.sv_active);
        admin_int(out, 0);
        admin_int(out, 0);
        admin_int(out, pc.sv_idle);
        admin_int(out, 0);
        admin_int(out, 0);
        admin_int(out, pc.sv_login);
        admin_int(out, pc.maxwait / 1000000);
        admin_int(out, pc.maxwait % 1000000);
        admin_text(out, cfg_pool_mode_name((enum cfg_pool_mode)ck_pr_load_int(&p->pool_mode)));
        admin_int(out, ck_pr_load_int(&p->pool_size));
        pgproto_end(out);
    }
    pgproto_command_complete(out, "SHOW");
}

/* ---- SHOW CLIENTS / SHOW SERVERS --------------------------------------- */

static const struct admin_col admin_socket_cols[] = {
    ADMIN_T("type"), ADMIN_T("user"), ADMIN_T("database"), ADMIN_T("state"),
    ADMIN_T("addr"), ADMIN_I("port"), ADMIN_T("local_addr"), ADMIN_I("local_port"),
    ADMIN_T("connect_time"), ADMIN_T("request_time"), ADMIN_I("wait"), ADMIN_I("wait_us"),
    ADMIN_I("close_needed"), ADMIN_T("ptr"), ADMIN_T("link"), ADMIN_I("remote_pid"),
    ADMIN_T("tls"), ADMIN_T("application_name"), ADMIN_T("keeps"),
};

/* Why a client keeps its connection past its transactions (shm_client.keeps); "" when it does not. */
static const char *admin_keeps(uint8_t keeps)
{
    switch (keeps & (SHM_KEEPS_STATE | SHM_KEEPS_CURSORS)) {
    case SHM_KEEPS_STATE:
        return "session state";
    case SHM_KEEPS_CURSORS:
        return "cursors with hold";
    case SHM_KEEPS_STATE | SHM_KEEPS_CURSORS:
        return "session state, cursors with hold";
    default:
        return "";
    }
}

static void admin_show_clients(struct admin_ctx *ctx)
{
    struct pgbuf *out = ctx->out;
    int64_t now = shm_now_us();

    admin_row_description(out, admin_socket_cols, ADMIN_ARRAY_LEN(admin_socket_cols));
    for (uint32_t i = 0; i < shm->nclients; i++) {
        struct shm_client *c = shm_client(i);
        char user[CFG_NAME_MAX], database[CFG_NAME_MAX], appname[CFG_NAME_MAX];
        char addr[SHM_ADDR_TEXT_MAX], tls[SHM_TLS_MAX];
        int64_t wait;

        if (ck_pr_load_32(&c->state) != SHM_CLIENT_USED)
            continue;
        admin_copy_name(user, c->user, sizeof(user));
        admin_client_database(c, database, sizeof(database));
        admin_client_text(&c->has_appname, shm_client_appname(i), appname, sizeof(appname));
        shm_client_addr(c, addr);
        admin_client_text(&c->has_tls, shm_client_tls(i), tls, sizeof(tls));
        wait = admin_client_wait(c, now);

        pgproto_data_row_begin(out, (int16_t)ADMIN_ARRAY_LEN(admin_socket_cols));
        admin_text(out, "C");
        admin_text(out, user);
        admin_text(out, database);
        admin_text(out, admin_client_state(ck_pr_load_char(&c->status)));
        admin_text(out, addr);
        admin_int(out, ck_pr_load_16(&c->port));
        admin_text(out, "");
        admin_null(out);
        admin_time(out, ck_pr_load_64((uint64_t *)&c->connect_time_us));
        admin_time(out, ck_pr_load_64((uint64_t *)&c->request_time_us));
        admin_int(out, wait / 1000000);
        admin_int(out, wait % 1000000);
        admin_int(out, 0);
        admin_index(out, i);
        admin_index(out, ck_pr_load_32(&c->slot));
        admin_int(out, 0);
        admin_text(out, tls);
        admin_text(out, appname);
        admin_text(out, admin_keeps(ck_pr_load_8(&c->keeps)));
        pgproto_end(out);
    }
    pgproto_command_complete(out, "SHOW");
}

/* pgbouncer shows the linked client's application_name on its server too. */
static void admin_linked_appname(uint32_t client, uint32_t slot, char *buf, size_t n)
{
    struct shm_client *c;

    buf[0] = '\0';
    if (client >= shm->nclients)
        return;
    c = shm_client(client);
    if (ck_pr_load_32(&c->state) == SHM_CLIENT_USED && ck_pr_load_32(&c->slot) == slot)
        admin_client_text(&c->has_appname, shm_client_appname(client), buf, n);
}

static void admin_show_servers(struct admin_ctx *ctx)
{
    struct pgbuf *out = ctx->out;

    admin_row_description(out, admin_socket_cols, ADMIN_ARRAY_LEN(admin_socket_cols));
    for (uint32_t i = 0; i < shm->nslots; i++) {
        struct shm_slot *s = shm_slot(i);
        uint32_t state = ck_pr_load_32(&s->state);
        uint32_t pool = ck_pr_load_32(&s->pool);
        uint32_t link = SHM_NONE;
        char database[CFG_NAME_MAX] = "";
        char appname[CFG_NAME_MAX];
        int close_needed;

        if (state == SHM_SLOT_EMPTY)
            continue;
        close_needed = ck_pr_load_32(&s->close) != 0;
        if (pool < shm->npools) {
            struct shm_pool *p = shm_pool(pool);
            admin_copy_name(database, p->name, sizeof(database));
            /* A changed connection string recycles this connection when it is released. */
            if (ck_pr_load_32(&s->conn_gen) != ck_pr_load_32(&p->conn_gen))
                close_needed = 1;
        }
        if (state == SHM_SLOT_LEASED)
            link = ck_pr_load_32(&s->owner_client);
        admin_linked_appname(link, i, appname, sizeof(appname));

        pgproto_data_row_begin(out, (int16_t)ADMIN_ARRAY_LEN(admin_socket_cols));
        admin_text(out, "S");
        admin_text(out, "*");
        admin_text(out, database);
        admin_text(out, admin_slot_state(state));
        admin_text(out, "");
        admin_null(out);
        admin_text(out, "");
        admin_null(out);
        admin_time(out, ck_pr_load_64((uint64_t *)&s->connect_time_us));
        admin_time(out, ck_pr_load_64((uint64_t *)&s->request_time_us));
        admin_int(out, 0);
        admin_int(out, 0);
        admin_int(out, close_needed);
        admin_index(out, i);
        admin_index(out, link);
        admin_int(out, 0);
        admin_text(out, "");
        admin_text(out, appname);
        /* The connection is made anew when it goes back. */
        admin_text(out, state == SHM_SLOT_LEASED && ck_pr_load_32(&s->discard) ? "session state" : "");
        pgproto_end(out);
    }
    pgproto_command_complete(out, "SHOW");
}

/* ---- SHOW STATS -------------------------------------------------------- */

static const struct admin_col admin_stats_cols[] = {
    ADMIN_T("database"),
    ADMIN_I("total_xact_count"), ADMIN_I("total_query_count"),
    ADMIN_I("total_received"), ADMIN_I("total_sent"),
    ADMIN_I("total_xact_time"), ADMIN_I("total_query_time"), ADMIN_I("total_wait_time"),
    ADMIN_I("avg_xact_count"), ADMIN_I("avg_query_count"),
    ADMIN_I("avg_recv"), ADMIN_I("avg_sent"),
    ADMIN_I("avg_xact_time"), ADMIN_I("avg_query_time"), ADMIN_I("avg_wait_time"),
    ADMIN_I("total_autoparam_count"), ADMIN_I("total_chained_count"),
};

static uint64_t admin_div(uint64_t a, uint64_t b)
{
    return b ? a / b : 0;
}

/*
 * Totals are the per-worker counters of the pool summed.  pgiris keeps no
 * stats_period, so the averages are over the whole uptime: the counts and
 * byte totals per second since the region was created, the times per item
 * in microseconds (avg_xact_time per transaction, avg_query_time per
 * query), and avg_wait_time per transaction, because in transaction
 * pooling a client waits for a slot at most once per transaction.
 */
static void admin_show_stats(struct admin_ctx *ctx)
{
    struct pgbuf *out = ctx->out;
    int64_t up_us = shm_realtime_us() - shm->start_time_us;
    uint64_t up_s = up_us > 1000000 ? (uint64_t)(up_us / 1000000) : 1;

    admin_row_description(out, admin_stats_cols, ADMIN_ARRAY_LEN(admin_stats_cols));
    for (uint32_t i = 0; i < shm->npools; i++) {
        struct shm_pool *p = shm_pool(i);
        struct shm_stats t;
        char name[CFG_NAME_MAX];

        if (!admin_pool_shown(p))
            continue;
        admin_copy_name(name, p->name, sizeof(name));
        memset(&t, 0, sizeof(t));
        for (uint32_t w = 0; w < shm->nworkers; w++) {
            struct shm_stats *st = shm_stats(w, i);
            t.xact_count += ck_pr_load_64(&st->xact_count);
            t.query_count += ck_pr_load_64(&st->query_count);
            t.bytes_received += ck_pr_load_64(&st->bytes_received);
            t.bytes_sent += ck_pr_load_64(&st->bytes_sent);
            t.xact_us += ck_pr_load_64(&st->xact_us);
            t.query_us += ck_pr_load_64(&st->query_us);
            t.wait_us += ck_pr_load_64(&st->wait_us);
            t.chained += ck_pr_load_64(&st->chained);
        }
        pgproto_data_row_begin(out, (int16_t)ADMIN_ARRAY_LEN(admin_stats_cols));
        admin_text(out, name);
        admin_int(out, (int64_t)t.xact_count);
        admin_int(out, (int64_t)t.query_count);
        admin_int(out, (int64_t)t.bytes_received);
        admin_int(out, (int64_t)t.bytes_sent);
        admin_int(out, (int64_t)t.xact_us);
        admin_int(out, (int64_t)t.query_us);
        admin_int(out, (int64_t)t.wait_us);
        admin_int(out, (int64_t)(t.xact_count / up_s));
        admin_int(out, (int64_t)(t.query_count / up_s));
        admin_int(out, (int64_t)(t.bytes_received / up_s));
        admin_int(out, (int64_t)(t.bytes_sent / up_s));
        admin_int(out, (int64_t)admin_div(t.xact_us, t.xact_count));
        admin_int(out, (int64_t)admin_div(t.query_us, t.query_count));
        admin_int(out, (int64_t)admin_div(t.wait_us, t.xact_count));
        admin_int(out, (int64_t)ck_pr_load_64(&p->autoparam_count));
        admin_int(out, (int64_t)t.chained);
        pgproto_end(out);
    }
    pgproto_command_complete(out, "SHOW");
}

/* ---- SHOW DATABASES ---------------------------------------------------- */

static const struct admin_col admin_databases_cols[] = {
    ADMIN_T("name"), ADMIN_T("host"), ADMIN_I("port"), ADMIN_T("database"),
    ADMIN_T("force_user"), ADMIN_I("pool_size"), ADMIN_I("min_pool_size"),
    ADMIN_I("reserve_pool"), ADMIN_I("server_lifetime"), ADMIN_T("pool_mode"),
    ADMIN_I("max_connections"), ADMIN_I("current_connections"),
    ADMIN_I("paused"), ADMIN_I("disabled"), ADMIN_T("dialect"),
};

static void admin_show_databases(struct admin_ctx *ctx)
{
    struct pgbuf *out = ctx->out;
    const struct cfg *cfg = ctx->cfg;

    admin_row_description(out, admin_databases_cols, ADMIN_ARRAY_LEN(admin_databases_cols));
    for (int i = 0; i < cfg->ndatabases; i++) {
        const struct cfg_database *db = &cfg->databases[i];
        uint32_t pool = shm_pool_find(db->name);
        int pool_size = cfg_db_pool_size(cfg, db);

        pgproto_data_row_begin(out, (int16_t)ADMIN_ARRAY_LEN(admin_databases_cols));
        admin_text(out, db->name);
        admin_text(out, "");
        admin_null(out);
        admin_text(out, db->name);
        admin_text(out, "");
        admin_int(out, pool_size);
        admin_int(out, cfg_db_min_pool_size(cfg, db));
        admin_int(out, 0);
        admin_int(out, 0);
        admin_text(out, cfg_pool_mode_name(cfg->pool_mode));
        /* The pool size is the only cap on backend connections. */
        admin_int(out, pool_size);
        admin_int(out, pool == SHM_NONE ? 0 : ck_pr_load_32(&shm_pool(pool)->nopen));
        admin_int(out, 0);
        admin_int(out, 0);
        admin_text(out, cfg_dialect_name(db->dialect));
        pgproto_end(out);
    }
    pgproto_command_complete(out, "SHOW");
}

/* ---- SHOW CONFIG / VERSION / LISTS ------------------------------------- */

static const struct admin_col admin_config_cols[] = {
    ADMIN_T("key"), ADMIN_T("value"), ADMIN_T("default"), ADMIN_T("changeable"),
};

static void admin_config_row(void *arg, const char *key, const char *value, int reloadable)
{
    struct pgbuf *out = arg;

    pgproto_data_row_begin(out, (int16_t)ADMIN_ARRAY_LEN(admin_config_cols));
    admin_text(out, key);
    admin_text(out, value);
    /* config.h does not expose its defaults; an empty default reads as "not shown". */
    admin_text(out, "");
    admin_text(out, reloadable ? "yes" : "no");
    pgproto_end(out);
}

static void admin_show_config(struct admin_ctx *ctx)
{
    admin_row_description(ctx->out, admin_config_cols, ADMIN_ARRAY_LEN(admin_config_cols));
    cfg_foreach(ctx->cfg, admin_config_row, ctx->out);
    pgproto_command_complete(ctx->out, "SHOW");
}

static const struct admin_col admin_version_cols[] = { ADMIN_T("version") };

static void admin_show_version(struct admin_ctx *ctx)
{
    admin_row_description(ctx->out, admin_version_cols, ADMIN_ARRAY_LEN(admin_version_cols));
    pgproto_data_row_begin(ctx->out, 1);
    admin_text(ctx->out, "pgiris " PGIRIS_VERSION);
    pgproto_end(ctx->out);
    pgproto_command_complete(ctx->out, "SHOW");
}

static const struct admin_col admin_lists_cols[] = { ADMIN_T("list"), ADMIN_I("items") };

static void admin_list_row(struct pgbuf *out, const char *name, int64_t n)
{
    pgproto_data_row_begin(out, (int16_t)ADMIN_ARRAY_LEN(admin_lists_cols));
    admin_text(out, name);
    admin_int(out, n);
    pgproto_end(out);
}

static void admin_show_lists(struct admin_ctx *ctx)
{
    int64_t pools = 0, used_clients = 0, login_clients = 0, used_servers = 0;

    for (uint32_t i = 0; i < shm->npools; i++)
        pools += admin_pool_shown(shm_pool(i));
    for (uint32_t i = 0; i < shm->nclients; i++) {
        struct shm_client *c = shm_client(i);
        if (ck_pr_load_32(&c->state) != SHM_CLIENT_USED)
            continue;
        used_clients++;
        login_clients += admin_client_login(ck_pr_load_char(&c->status));
    }
    for (uint32_t i = 0; i < shm->nslots; i++)
        used_servers += ck_pr_load_32(&shm_slot(i)->state) != SHM_SLOT_EMPTY;

    admin_row_description(ctx->out, admin_lists_cols, ADMIN_ARRAY_LEN(admin_lists_cols));
    admin_list_row(ctx->out, "databases", ctx->cfg->ndatabases);
    admin_list_row(ctx->out, "pools", pools);
    admin_list_row(ctx->out, "free_clients", (int64_t)shm->nclients - used_clients);
    admin_list_row(ctx->out, "used_clients", used_clients);
    admin_list_row(ctx->out, "login_clients", login_clients);
    admin_list_row(ctx->out, "free_servers", (int64_t)shm->nslots - used_servers);
    admin_list_row(ctx->out, "used_servers", used_servers);
    pgproto_command_complete(ctx->out, "SHOW");
}

/* ---- SHOW CACHES ------------------------------------------------------- */

static const struct admin_col admin_caches_cols[] = {
    ADMIN_T("cache"), ADMIN_I("worker"), ADMIN_I("entries"), ADMIN_I("bytes"), ADMIN_I("capacity"),
    ADMIN_I("lookups"), ADMIN_I("hits"), ADMIN_I("misses"), ADMIN_I("evictions"),
};

static void admin_cache_row(struct pgbuf *out, const char *name, int64_t worker, uint64_t entries,
                            uint64_t bytes, int64_t capacity, uint64_t lookups, uint64_t hits, uint64_t misses,
                            uint64_t evictions)
{
    pgproto_data_row_begin(out, (int16_t)ADMIN_ARRAY_LEN(admin_caches_cols));
    admin_text(out, name);
    if (worker < 0)
        admin_null(out);
    else
        admin_int(out, worker);
    admin_int(out, (int64_t)entries);
    admin_int(out, (int64_t)bytes);
    admin_int(out, capacity);
    admin_int(out, (int64_t)lookups);
    admin_int(out, (int64_t)hits);
    admin_int(out, (int64_t)misses);
    admin_int(out, (int64_t)evictions);
    pgproto_end(out);
}

/*
 * The translation caches: one row per worker's own cache ("translate",
 * capacity in bytes) and one for the shared cache ("shared", capacity in
 * entries; a miss there is a statement translated once for every worker).
 */
static void admin_show_caches(struct admin_ctx *ctx)
{
    struct qcache_stats q;

    admin_row_description(ctx->out, admin_caches_cols, ADMIN_ARRAY_LEN(admin_caches_cols));
    for (uint32_t i = 0; i < shm->nworkers; i++) {
        struct shm_worker *w = shm_worker(i);
        if (ck_pr_load_32(&w->state) != SHM_WORKER_RUNNING)
            continue;
        admin_cache_row(ctx->out, "translate", i, ck_pr_load_64(&w->xl_entries), ck_pr_load_64(&w->xl_bytes),
                        (int64_t)ctx->cfg->translate_cache_size, ck_pr_load_64(&w->xl_lookups),
                        ck_pr_load_64(&w->xl_hits), ck_pr_load_64(&w->xl_misses),
                        ck_pr_load_64(&w->xl_evictions));
    }
    qcache_stats(&q);
    admin_cache_row(ctx->out, "shared", -1, q.entries, q.bytes, qcache_capacity(), q.lookups, q.hits, q.misses,
                    q.evictions);
    pgproto_command_complete(ctx->out, "SHOW");
}

/* ---- SHOW HELP / RELOAD ------------------------------------------------ */

static void admin_show_help(struct admin_ctx *ctx)
{
    pgproto_error(ctx->out, 'N', "NOTICE", "00000", "Console usage",
                  "\tSHOW HELP|POOLS|CLIENTS|SERVERS|STATS|DATABASES|CONFIG|LISTS|CACHES|VERSION\n"
                  "\tRELOAD",
                  NULL);
    pgproto_command_complete(ctx->out, "SHOW");
}

static void admin_reload(struct admin_ctx *ctx)
{
    pid_t pid = (pid_t)ck_pr_load_32(&shm->broker_pid);
    char msg[128];

    /* kill(0) or kill(-1) would signal whole groups: only ever a real broker pid. */
    if (pid <= 1) {
        admin_error(ctx->out, "55000", "the broker's process id is not known yet");
        return;
    }
    if (kill(pid, SIGHUP) < 0) {
        log_error("admin", "kill(%d, SIGHUP) failed: %s", (int)pid, strerror(errno));
        snprintf(msg, sizeof(msg), "could not signal the broker: %s", strerror(errno));
        admin_error(ctx->out, "58000", msg);
        return;
    }
    log_info("admin", "broker_pid=%d reload requested from the console", (int)pid);
    pgproto_command_complete(ctx->out, "RELOAD");
}

/* ---- dispatch ---------------------------------------------------------- */

struct admin_cmd {
    const char *verb;
    const char *object;     /* NULL for a one-word command */
    int modifies;
    void (*run)(struct admin_ctx *ctx);
};

static const struct admin_cmd admin_cmds[] = {
    { "SHOW", "HELP", 0, admin_show_help },
    { "SHOW", "POOLS", 0, admin_show_pools },
    { "SHOW", "CLIENTS", 0, admin_show_clients },
    { "SHOW", "SERVERS", 0, admin_show_servers },
    { "SHOW", "STATS", 0, admin_show_stats },
    { "SHOW", "DATABASES", 0, admin_show_databases },
    { "SHOW", "CONFIG", 0, admin_show_config },
    { "SHOW", "VERSION", 0, admin_show_version },
    { "SHOW", "LISTS", 0, admin_show_lists },
    { "SHOW", "CACHES", 0, admin_show_caches },
    { "RELOAD", NULL, 1, admin_reload },
};

/* ASCII only, so a locale such as Turkish cannot change what matches. */
static int admin_word_is(const char *w, size_t n, const char *kw)
{
    size_t i;

    for (i = 0; i < n; i++) {
        char c = w[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - ('a' - 'A'));
        if (kw[i] == '\0' || c != kw[i])
            return 0;
    }
    return kw[i] == '\0';
}

static const struct admin_cmd *admin_lookup(const char *stmt, size_t len)
{
    struct sql_token toks[ADMIN_MAX_TOKENS];
    struct sql_token *words[2];
    struct sql_lex_error err;
    size_t ntok, nwords = 0;

    if (sql_lex(stmt, len, toks, ADMIN_MAX_TOKENS, &ntok, &err) < 0 || ntok > ADMIN_MAX_TOKENS)
        return NULL;
    for (size_t i = 0; i < ntok; i++) {
        if (toks[i].type == SQL_TOK_COMMENT)
            continue;
        if (toks[i].type != SQL_TOK_IDENT || nwords == ADMIN_ARRAY_LEN(words))
            return NULL;
        words[nwords++] = &toks[i];
    }
    for (size_t i = 0; i < ADMIN_ARRAY_LEN(admin_cmds); i++) {
        const struct admin_cmd *c = &admin_cmds[i];
        if (nwords != (c->object != NULL ? 2u : 1u))
            continue;
        if (!admin_word_is(stmt + words[0]->off, words[0]->len, c->verb))
            continue;
        if (c->object == NULL || admin_word_is(stmt + words[1]->off, words[1]->len, c->object))
            return c;
    }
    return NULL;
}

static void admin_invalid(struct pgbuf *out, const char *stmt, size_t len)
{
    char msg[ADMIN_ECHO_MAX + 64];
    size_t n = len;
    const char *more = "";

    if (n > ADMIN_ECHO_MAX) {
        n = ADMIN_ECHO_MAX;
        /* Cut on a character boundary: the message must stay valid UTF-8. */
        while (n > 0 && ((unsigned char)stmt[n] & 0xC0) == 0x80)
            n--;
        more = "...";
    }
    snprintf(msg, sizeof(msg), "invalid command \"%.*s%s\"; use SHOW HELP;", (int)n, stmt, more);
    admin_error(out, "42601", msg);
}

struct admin_run {
    struct admin_ctx ctx;
    int nstmts;
};

/* One statement; non-zero stops the rest, as PostgreSQL does after an error. */
static int admin_statement(void *arg, const char *stmt, size_t len)
{
    struct admin_run *run = arg;
    const struct admin_cmd *cmd = admin_lookup(stmt, len);

    run->nstmts++;
    if (cmd == NULL) {
        admin_invalid(run->ctx.out, stmt, len);
        return 1;
    }
    if (cmd->modifies && !run->ctx.may_modify) {
        admin_error(run->ctx.out, "42501", "admin access needed");
        return 1;
    }
    cmd->run(&run->ctx);
    return 0;
}

void admin_query(const char *sql, size_t len, const struct cfg *cfg, int may_modify, struct pgbuf *out)
{
    struct admin_run run = { .ctx = { .cfg = cfg, .may_modify = may_modify, .out = out } };
    struct sql_lex_error err;

    if (sql_split(sql, len, admin_statement, &run, &err) < 0) {
        admin_error(out, "42601", err.message);
        return;
    }
    if (run.nstmts == 0)
        pgproto_empty_query(out);
}
