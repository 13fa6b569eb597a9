/*
 * The translation caches: the worker's (worker/xlate.c) and the shared one
 * (shm/qcache.c), in a real shared region.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/pgproto.h"
#include "common/sql_translate.h"
#include "shm/qcache.h"
#include "shm/shm.h"
#include "worker/xlate.h"

static int setup(void **state)
{
    if (shm_create(2, SHM_MAX_POOLS, 4, 16, 4096, 64 * 1024) != 0)
        return -1;
    xlate_set_worker(0);
    xlate_configure(1 << 20);
    return 0;
}

static int teardown(void **state)
{
    xlate_clear();
    shm_destroy();
    return 0;
}

static void test_translates_and_caches(void **state)
{
    struct xlate_counters n0, n1;
    const char *sql = "SELECT x::text FROM t WHERE b = true";

    xlate_counters(&n0);
    const struct xlate *x = xlate_get(CFG_DIALECT_SQLITE, XLATE_SPLIT, sql, strlen(sql), NULL);
    assert_null(x->error);
    assert_string_equal(x->sql, "SELECT CAST(x AS TEXT) AS \"x\" FROM t WHERE b = 1");
    assert_int_equal(x->cmd, SQL_CMD_SELECT);
    assert_string_equal(x->verb, "SELECT");
    assert_true(x->flags & SQL_FLAG_READ_ONLY);
    x = xlate_get(CFG_DIALECT_SQLITE, XLATE_SPLIT, sql, strlen(sql), NULL);
    assert_string_equal(x->sql, "SELECT CAST(x AS TEXT) AS \"x\" FROM t WHERE b = 1");
    xlate_counters(&n1);
    assert_int_equal(n1.lookups - n0.lookups, 2);
    assert_int_equal(n1.hits - n0.hits, 1);
    assert_int_equal(n1.misses - n0.misses, 1);
    /* Published for SHOW CACHES. */
    assert_int_equal(shm_worker(0)->xl_hits, n1.hits);
    /* Another dialect is another entry. */
    x = xlate_get(CFG_DIALECT_POSTGRES, XLATE_SPLIT, sql, strlen(sql), NULL);
    assert_string_equal(x->sql, sql);
}

static void test_failures_are_cached(void **state)
{
    const char *sql = "SELECT date '2024-01-01' + interval '1 month'";
    struct xlate_counters n0, n1;

    const struct xlate *x = xlate_get(CFG_DIALECT_SQLITE, XLATE_SPLIT, sql, strlen(sql), NULL);
    assert_non_null(x->error);
    assert_string_equal(x->sqlstate, "0A000");
    char first[300];
    snprintf(first, sizeof(first), "%s", x->error);
    xlate_counters(&n0);
    x = xlate_get(CFG_DIALECT_SQLITE, XLATE_SPLIT, sql, strlen(sql), NULL);
    xlate_counters(&n1);
    assert_int_equal(n1.hits - n0.hits, 1);
    assert_string_equal(x->error, first);
    assert_string_equal(x->sqlstate, "0A000");
}

static void test_peek_knows_only_split_statements(void **state)
{
    const char *two = "SELECT 1; SELECT 2";
    const char *one = "SELECT x FROM t";

    /* A Parse of two statements does not make the string look like one. */
    xlate_get(CFG_DIALECT_SQLITE, XLATE_PARSE, two, strlen(two), NULL);
    assert_null(xlate_peek(CFG_DIALECT_SQLITE, two, strlen(two)));
    assert_null(xlate_peek(CFG_DIALECT_SQLITE, one, strlen(one)));
    xlate_get(CFG_DIALECT_SQLITE, XLATE_SPLIT, one, strlen(one), NULL);
    const struct xlate *x = xlate_peek(CFG_DIALECT_SQLITE, one, strlen(one));
    assert_non_null(x);
    assert_string_equal(x->sql, "SELECT x FROM t");
    assert_null(xlate_peek(CFG_DIALECT_IRIS, one, strlen(one)));
}

static void test_budget_evicts_least_recently_used(void **state)
{
    char sql[64];
    struct xlate_counters n;

    xlate_clear();
    xlate_configure(8192);
    for (int i = 0; i < 100; i++) {
        snprintf(sql, sizeof(sql), "SELECT %d AS n", i);
        xlate_get(CFG_DIALECT_SQLITE, XLATE_SPLIT, sql, strlen(sql), NULL);
        /* Keep statement 0 in use: it must survive. */
        xlate_get(CFG_DIALECT_SQLITE, XLATE_SPLIT, "SELECT 0 AS n", 13, NULL);
    }
    xlate_counters(&n);
    assert_true(n.bytes <= 8192);
    assert_true(n.evictions > 0);
    assert_non_null(xlate_peek(CFG_DIALECT_SQLITE, "SELECT 0 AS n", 13));
    assert_null(xlate_peek(CFG_DIALECT_SQLITE, "SELECT 1 AS n", 13));
    /* PostgreSQL's own simple-protocol statements pass through and are not kept. */
    size_t before = n.entries;
    const struct xlate *pg = xlate_get(CFG_DIALECT_POSTGRES, XLATE_SPLIT, "SELECT 7 AS n", 13, NULL);
    assert_memory_equal(pg->sql, "SELECT 7 AS n", 13);
    assert_string_equal(pg->verb, "SELECT");
    xlate_counters(&n);
    assert_int_equal(n.entries, before);
    /* A zero budget keeps nothing, and still translates. */
    xlate_configure(0);
    xlate_counters(&n);
    assert_int_equal(n.entries, 0);
    const struct xlate *x = xlate_get(CFG_DIALECT_SQLITE, XLATE_SPLIT, "SELECT true", 11, NULL);
    assert_string_equal(x->sql, "SELECT 1 /*pgiris:bool 1*/");
    xlate_configure(1 << 20);
}

static void test_shared_cache_serves_another_worker(void **state)
{
    const char *sql = "SELECT 'shared'::text AS s";
    struct qcache_stats q0, q1;

    xlate_clear();
    qcache_stats(&q0);
    pid_t pid = fork();
    if (pid == 0) {
        /* Another worker process translates it first. */
        xlate_clear();
        xlate_set_worker(1);
        const struct xlate *x = xlate_get(CFG_DIALECT_SQLITE, XLATE_SPLIT, sql, strlen(sql), NULL);
        _exit(x->error == NULL ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    const struct xlate *x = xlate_get(CFG_DIALECT_SQLITE, XLATE_SPLIT, sql, strlen(sql), NULL);
    assert_string_equal(x->sql, "SELECT CAST('shared' AS TEXT) AS s");
    qcache_stats(&q1);
    assert_int_equal(q1.hits - q0.hits, 1);
    assert_true(q1.entries >= 1);
}

static void test_shared_cache_replaces_within_a_set(void **state)
{
    struct qcache_value v = { 0 }, out;
    char buf[QCACHE_MAX_DATA];
    char key[32];
    uint32_t cap = qcache_capacity();

    assert_true(cap > 0);
    memcpy(v.verb, "SELECT", 7);
    v.text = "SELECT 1";
    v.len = 8;
    /* Far more keys than entries: the table stays consistent and keeps recent ones. */
    for (uint32_t i = 0; i < cap * 4; i++) {
        int n = snprintf(key, sizeof(key), "k%u", i);
        qcache_put(7, xlate_hash(key, (size_t)n, 7), key, (size_t)n, &v);
    }
    int n = snprintf(key, sizeof(key), "k%u", cap * 4 - 1);
    assert_int_equal(qcache_get(7, xlate_hash(key, (size_t)n, 7), key, (size_t)n, &out, buf, sizeof(buf)), 1);
    assert_int_equal(out.len, 8);
    assert_memory_equal(out.text, "SELECT 1", 8);
    assert_string_equal(out.verb, "SELECT");
    /* Same hash, other key: a miss, never someone else's value. */
    assert_int_equal(qcache_get(7, xlate_hash(key, (size_t)n, 7), "kx", 2, &out, buf, sizeof(buf)), 0);
    /* Too big for an entry: not stored. */
    static char big[QCACHE_MAX_DATA + 10];
    memset(big, 'a', sizeof(big));
    qcache_put(7, 99, big, sizeof(big), &v);
    assert_int_equal(qcache_get(7, 99, big, sizeof(big), &out, buf, sizeof(buf)), 0);
    struct qcache_stats q;
    qcache_stats(&q);
    assert_true(q.evictions > 0);
    assert_true(q.entries <= cap);
}

/*
 * A statement naming the client's user or database is translated for each
 * client, on a miss and on a hit; what the caches keep names nobody.
 */
static void test_session_statements_per_client(void **state)
{
    const char *sql = "SELECT current_user, current_database() FROM t WHERE o = session_user";
    struct sql_translate_opts alice = { .user = "alice", .database = "shop" };
    struct sql_translate_opts bob = { .user = "o'brien", .database = "crm" };
    struct xlate_counters n0, n1;

    xlate_counters(&n0);
    const struct xlate *x = xlate_get(CFG_DIALECT_SQLITE, XLATE_SPLIT, sql, strlen(sql), &alice);
    assert_null(x->error);
    assert_true(x->flags & SQL_FLAG_SESSION);
    assert_string_equal(x->sql, "SELECT 'alice' AS \"current_user\", 'shop' AS \"current_database\" FROM t "
                                "WHERE o = 'alice'");
    x = xlate_get(CFG_DIALECT_SQLITE, XLATE_SPLIT, sql, strlen(sql), &bob);
    assert_string_equal(x->sql, "SELECT 'o''brien' AS \"current_user\", 'crm' AS \"current_database\" FROM t "
                                "WHERE o = 'o''brien'");
    x = xlate_get(CFG_DIALECT_SQLITE, XLATE_PARSE, sql, strlen(sql), &alice);
    assert_string_equal(x->sql, "SELECT 'alice' AS \"current_user\", 'shop' AS \"current_database\" FROM t "
                                "WHERE o = 'alice'");
    xlate_counters(&n1);
    assert_int_equal(n1.hits - n0.hits, 1);         /* bob's came from the cache entry */
    /* The entries, the worker's and the shared one, hold the statement for nobody. */
    x = xlate_get(CFG_DIALECT_SQLITE, XLATE_SPLIT, sql, strlen(sql), NULL);
    assert_null(strstr(x->sql, "alice"));
    assert_null(strstr(x->sql, "brien"));
    struct qcache_value v;
    static char buf[QCACHE_MAX_DATA];
    uint32_t space = CFG_DIALECT_SQLITE;
    assert_int_equal(qcache_get(space, xlate_hash(sql, strlen(sql), space), sql, strlen(sql), &v, buf, sizeof(buf)), 1);
    assert_null(memmem(v.text, v.len, "alice", 5));
    /* Other statements are not translated again. */
    const char *plain = "SELECT version()";
    x = xlate_get(CFG_DIALECT_SQLITE, XLATE_SPLIT, plain, strlen(plain), &alice);
    assert_false(x->flags & SQL_FLAG_SESSION);
    assert_string_equal(x->sql, "SELECT 'PostgreSQL " PGIRIS_SERVER_VERSION " on SQLite' AS \"version\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_translates_and_caches),
        cmocka_unit_test(test_failures_are_cached),
        cmocka_unit_test(test_peek_knows_only_split_statements),
        cmocka_unit_test(test_budget_evicts_least_recently_used),
        cmocka_unit_test(test_shared_cache_serves_another_worker),
        cmocka_unit_test(test_shared_cache_replaces_within_a_set),
        cmocka_unit_test(test_session_statements_per_client),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
