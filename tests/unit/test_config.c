/*
 * Tests for common/config: the sample file, defaults, every kind of error
 * (with its file, line and key), size suffixes and the lookup helpers.
 * Run from the repository root, where etc/pgiris.ini lives.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"

#define MINIMAL_DB "[database d]\ndialect = postgres\nodbc = DSN=x\n"

struct tmpfile {
    char path[64];
};

static void tmp_write(struct tmpfile *t, const char *text)
{
    size_t len = strlen(text);
    int fd;

    strcpy(t->path, "/tmp/test_config_XXXXXX");
    fd = mkstemp(t->path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

/* Parse 'text'; expect success and return the config. */
static struct cfg *load_ok(const char *text)
{
    struct tmpfile t;
    struct cfg *cfg = NULL;
    char err[512];
    int rc;

    tmp_write(&t, text);
    rc = cfg_load(t.path, &cfg, err, sizeof(err));
    unlink(t.path);
    if (rc != 0)
        fail_msg("unexpected error: %s", err);
    assert_non_null(cfg);
    return cfg;
}

/*
 * Parse 'text'; expect failure with a message that starts with
 * "PATH:LINE: " (or "PATH: " when line is 0) and contains 'needle'.
 */
static void load_fails(const char *text, int line, const char *needle)
{
    static struct cfg sentinel;
    struct tmpfile t;
    struct cfg *cfg = &sentinel;
    char err[512], prefix[96];

    tmp_write(&t, text);
    assert_int_equal(cfg_load(t.path, &cfg, err, sizeof(err)), -1);
    unlink(t.path);
    assert_null(cfg);

    if (line > 0)
        snprintf(prefix, sizeof(prefix), "%s:%d: ", t.path, line);
    else
        snprintf(prefix, sizeof(prefix), "%s: ", t.path);
    if (strncmp(err, prefix, strlen(prefix)) != 0)
        fail_msg("message '%s' does not start with '%s'", err, prefix);
    if (strstr(err, needle) == NULL)
        fail_msg("message '%s' does not contain '%s'", err, needle);
}

static void test_sample_file(void **state)
{
    struct cfg *cfg = NULL;
    const struct cfg_database *db;
    char err[512];

    if (cfg_load("etc/pgiris.ini", &cfg, err, sizeof(err)) != 0)
        fail_msg("etc/pgiris.ini: %s", err);
    assert_string_equal(cfg->path, "etc/pgiris.ini");
    assert_string_equal(cfg->listen_addr, "127.0.0.1");
    assert_int_equal(cfg->listen_port, 6432);
    assert_string_equal(cfg->unix_socket_dir, "");
    assert_true(cfg->tcp_defer_accept == 45.0);
    assert_int_equal(cfg->workers, 0);
    assert_int_equal(cfg->pool_mode, CFG_POOL_TRANSACTION);
    assert_int_equal(cfg->auth_type, CFG_AUTH_MD5);
    assert_string_equal(cfg->auth_file, "etc/userlist.txt");
    assert_string_equal(cfg->admin_users, "admin");
    assert_true(cfg_user_in_list(cfg->admin_users, "admin"));
    assert_int_equal(cfg->max_backend_slots, 256);
    assert_int_equal(cfg->ring_size, 262144);
    assert_int_equal(cfg->client_tls_sslmode, CFG_TLS_DISABLE);

    assert_int_equal(cfg->ndatabases, 1);
    db = cfg_find_database(cfg, "demo");
    assert_non_null(db);
    assert_int_equal(db->dialect, CFG_DIALECT_SQLITE);
    assert_string_equal(db->odbc, "Driver=SQLite3;Database=var/demo.db;StepAPI=1");
    assert_int_equal(db->pool_size, 5);
    assert_int_equal(cfg_db_pool_size(cfg, db), 5);
    assert_int_equal(cfg_db_min_pool_size(cfg, db), 0);
    cfg_free(cfg);
}

static void test_defaults(void **state)
{
    struct cfg *cfg = load_ok(MINIMAL_DB);
    const struct cfg_database *db = &cfg->databases[0];

    assert_string_equal(cfg->listen_addr, "127.0.0.1");
    assert_int_equal(cfg->listen_port, 6432);
    assert_string_equal(cfg->unix_socket_dir, "");
    assert_int_equal(cfg->workers, 0);
    assert_int_equal(cfg->pool_mode, CFG_POOL_TRANSACTION);
    assert_int_equal(cfg->default_pool_size, 20);
    assert_int_equal(cfg->min_pool_size, 0);
    assert_int_equal(cfg->max_client_conn, 10000);
    assert_int_equal(cfg->max_backend_slots, 256);
    assert_int_equal(cfg->auth_type, CFG_AUTH_SCRAM);
    assert_string_equal(cfg->auth_file, "etc/userlist.txt");
    assert_string_equal(cfg->admin_users, "");
    assert_string_equal(cfg->stats_users, "");
    assert_true(cfg->query_wait_timeout == 120.0);
    assert_true(cfg->client_login_timeout == 60.0);
    assert_true(cfg->shutdown_timeout == 30.0);
    assert_true(cfg->server_connect_timeout == 15.0);
    assert_int_equal(cfg->max_message_size, 67108864);
    assert_int_equal(cfg->ring_size, 262144);
    assert_string_equal(cfg->logfile, "");
    assert_string_equal(cfg->pidfile, "");
    assert_int_equal(cfg->verbose, 0);
    assert_int_equal(cfg->client_tls_sslmode, CFG_TLS_DISABLE);
    assert_string_equal(cfg->client_tls_key_file, "");
    assert_string_equal(cfg->client_tls_cert_file, "");
    assert_string_equal(cfg->client_tls_ca_file, "");
    assert_int_equal(cfg->client_tls_protocols, CFG_TLS_SECURE);
    assert_string_equal(cfg->client_tls_ciphers, "HIGH:!aNULL");

    assert_int_equal(cfg->ndatabases, 1);
    assert_string_equal(db->name, "d");
    assert_int_equal(db->dialect, CFG_DIALECT_POSTGRES);
    assert_string_equal(db->odbc, "DSN=x");
    assert_int_equal(db->pool_size, -1);
    assert_int_equal(db->min_pool_size, -1);
    assert_int_equal(db->line, 1);
    assert_int_equal(cfg_db_pool_size(cfg, db), 20);
    assert_int_equal(cfg_db_min_pool_size(cfg, db), 0);
    cfg_free(cfg);
}

static void test_values(void **state)
{
    struct cfg *cfg = load_ok("\xEF\xBB\xBF; a comment after a byte order mark\r\n"
                              "[pgiris]\r\n"
                              "  listen_port=7000\r\n"
                              "listen_addr = *   ; inline comment\r\n"
                              "unix_socket_dir = /run/pgiris\n"
                              "workers = AUTO\n"
                              "pool_mode = Session\n"
                              "default_pool_size = 7\n"
                              "min_pool_size = 2\n"
                              "auth_type = trust\n"
                              "query_wait_timeout = 0.25\n"
                              "shutdown_timeout = 0\n"
                              "verbose = 2\n"
                              "# another comment\n"
                              "\n"
                              "[database  sales ]\n"
                              "dialect = IRIS\n"
                              "odbc = DSN=IRIS;UID=_SYSTEM;PWD=x;y\n"
                              "pool_size = 3\n"
                              "min_pool_size = 1\n"
                              "[database other]\n"
                              "dialect = sqlite\n"
                              "odbc = Driver=SQLite3;Database=:memory:");

    assert_string_equal(cfg->listen_addr, "*");
    assert_int_equal(cfg->listen_port, 7000);
    assert_string_equal(cfg->unix_socket_dir, "/run/pgiris");
    assert_int_equal(cfg->workers, 0);
    assert_int_equal(cfg->pool_mode, CFG_POOL_SESSION);
    assert_int_equal(cfg->auth_type, CFG_AUTH_TRUST);
    assert_true(cfg->query_wait_timeout == 0.25);
    assert_true(cfg->shutdown_timeout == 0.0);
    assert_int_equal(cfg->verbose, 2);

    assert_int_equal(cfg->ndatabases, 2);
    assert_string_equal(cfg->databases[0].name, "sales");
    assert_int_equal(cfg->databases[0].line, 16);
    assert_int_equal(cfg->databases[0].dialect, CFG_DIALECT_IRIS);
    assert_string_equal(cfg->databases[0].odbc, "DSN=IRIS;UID=_SYSTEM;PWD=x;y");
    assert_int_equal(cfg_db_pool_size(cfg, &cfg->databases[0]), 3);
    assert_int_equal(cfg_db_min_pool_size(cfg, &cfg->databases[0]), 1);
    assert_string_equal(cfg->databases[1].odbc, "Driver=SQLite3;Database=:memory:");
    assert_int_equal(cfg_db_pool_size(cfg, &cfg->databases[1]), 7);
    assert_int_equal(cfg_db_min_pool_size(cfg, &cfg->databases[1]), 2);
    cfg_free(cfg);
}

static void test_bad_values(void **state)
{
    static const struct {
        const char *text;
        int line;
        const char *needle;
    } cases[] = {
        { "[pgiris]\nlisten_port = 70000\n" MINIMAL_DB, 2, "key 'listen_port': '70000' is out of range 1..65535" },
        { "[pgiris]\nlisten_port = 0\n" MINIMAL_DB, 2, "key 'listen_port': '0' is out of range" },
        { "[pgiris]\n\nlisten_port = 64x\n" MINIMAL_DB, 3, "key 'listen_port': '64x' is not an integer" },
        { "[pgiris]\nlisten_port =\n" MINIMAL_DB, 2, "key 'listen_port': value is empty" },
        { "[pgiris]\nworkers = 0\n" MINIMAL_DB, 2, "key 'workers'" },
        { "[pgiris]\nworkers = 257\n" MINIMAL_DB, 2, "key 'workers'" },
        { "[pgiris]\nworkers = many\n" MINIMAL_DB, 2, "key 'workers': 'many' is not 'auto'" },
        { "[pgiris]\npool_mode = statement\n" MINIMAL_DB, 2,
          "key 'pool_mode': 'statement' is not one of session, transaction" },
        { "[pgiris]\nauth_type = password\n" MINIMAL_DB, 2, "key 'auth_type': 'password' is not one of" },
        { "[pgiris]\ndefault_pool_size = 0\n" MINIMAL_DB, 2, "key 'default_pool_size'" },
        { "[pgiris]\nmin_pool_size = -1\n" MINIMAL_DB, 2, "key 'min_pool_size'" },
        { "[pgiris]\nmax_client_conn = 1000001\n" MINIMAL_DB, 2, "key 'max_client_conn'" },
        { "[pgiris]\nmax_backend_slots = 99999999999999999999\n" MINIMAL_DB, 2, "key 'max_backend_slots'" },
        { "[pgiris]\nquery_wait_timeout = -1\n" MINIMAL_DB, 2, "key 'query_wait_timeout': '-1' is out of range" },
        { "[pgiris]\nclient_login_timeout = soon\n" MINIMAL_DB, 2, "key 'client_login_timeout': 'soon' is not" },
        { "[pgiris]\nshutdown_timeout = nan\n" MINIMAL_DB, 2, "key 'shutdown_timeout'" },
        { "[pgiris]\nserver_connect_timeout = 10s\n" MINIMAL_DB, 2, "key 'server_connect_timeout'" },
        { "[pgiris]\nmax_message_size = 1000\n" MINIMAL_DB, 2, "key 'max_message_size': '1000' is out of range" },
        { "[pgiris]\nmax_message_size = 2GB\n" MINIMAL_DB, 2, "key 'max_message_size': '2GB' is out of range" },
        { "[pgiris]\nmax_message_size = 1TB\n" MINIMAL_DB, 2, "key 'max_message_size': '1TB' is not a size" },
        { "[pgiris]\nmax_message_size = 64mb\n" MINIMAL_DB, 2, "key 'max_message_size': '64mb' is not a size" },
        { "[pgiris]\nmax_message_size = -5\n" MINIMAL_DB, 2, "key 'max_message_size'" },
        { "[pgiris]\nring_size = 300000\n" MINIMAL_DB, 2, "key 'ring_size': '300000' is not a power of two" },
        { "[pgiris]\nring_size = 2kB\n" MINIMAL_DB, 2, "key 'ring_size': '2kB' is out of range" },
        { "[pgiris]\nring_size = 128MB\n" MINIMAL_DB, 2, "key 'ring_size': '128MB' is out of range" },
        { "[pgiris]\nverbose = 3\n" MINIMAL_DB, 2, "key 'verbose'" },
        { "[pgiris]\nlisten_port = 1\nlisten_port = 2\n" MINIMAL_DB, 3,
          "key 'listen_port': already set at line 2" },
        { "[pgiris]\nlisten_port = 1\n[pgiris]\nlisten_port = 2\n" MINIMAL_DB, 4,
          "key 'listen_port': already set at line 2" },
        { MINIMAL_DB "dialect = mysql\n", 4, "key 'dialect': already set at line 2" },
        { "[database d]\ndialect = mysql\nodbc = DSN=x\n", 2,
          "key 'dialect': 'mysql' is not one of sqlite, postgres, iris" },
        { "[database d]\ndialect = sqlite\nodbc =\n", 3, "key 'odbc': connection string is empty" },
        { MINIMAL_DB "pool_size = 0\n", 4, "key 'pool_size': '0' is out of range 1..10000" },
        { MINIMAL_DB "pool_size = ten\n", 4, "key 'pool_size': 'ten' is not an integer" },
        { MINIMAL_DB "min_pool_size = 10001\n", 4, "key 'min_pool_size'" },
        { MINIMAL_DB "min_pool_size =\n", 4, "key 'min_pool_size': value is empty" },
        { "[pgiris]\nclient_tls_sslmode = verify-full\n" MINIMAL_DB, 2,
          "key 'client_tls_sslmode': 'verify-full' is not one of disable, allow, prefer, require" },
        { "[pgiris]\nclient_tls_sslmode = on\n" MINIMAL_DB, 2, "key 'client_tls_sslmode': 'on'" },
        { "[pgiris]\nclient_tls_sslmode =\n" MINIMAL_DB, 2,
          "key 'client_tls_sslmode': value is empty" },
        { "[pgiris]\nclient_tls_protocols = tlsv1.1\n" MINIMAL_DB, 2,
          "key 'client_tls_protocols': 'tlsv1.1' is not one of secure, all, tlsv1.2, tlsv1.3" },
        { "[pgiris]\nclient_tls_protocols = tlsv1.2,tlsv1.3\n" MINIMAL_DB, 2,
          "key 'client_tls_protocols'" },
        { "[pgiris]\nclient_tls_cert_file = a\nclient_tls_cert_file = b\n" MINIMAL_DB, 3,
          "key 'client_tls_cert_file': already set at line 2" },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        load_fails(cases[i].text, cases[i].line, cases[i].needle);
}

static void test_tls_keys(void **state)
{
    static const struct {
        const char *value;
        enum cfg_tls_sslmode mode;
    } modes[] = {
        { "disable", CFG_TLS_DISABLE },
        { "allow", CFG_TLS_ALLOW },
        { "prefer", CFG_TLS_PREFER },
        { "Require", CFG_TLS_REQUIRE },
    };
    static const struct {
        const char *value;
        enum cfg_tls_protocols protocols;
    } protocols[] = {
        { "secure", CFG_TLS_SECURE },
        { "all", CFG_TLS_ALL },
        { "tlsv1.2", CFG_TLS_V1_2 },
        { "TLSv1.3", CFG_TLS_V1_3 },
    };
    char text[512];
    struct cfg *cfg;
    size_t i;

    /* The files are not opened here: that is tls_check's job. */
    cfg = load_ok("[pgiris]\n"
                  "client_tls_sslmode = require\n"
                  "client_tls_key_file = /nonexistent/server.key\n"
                  "client_tls_cert_file = etc/server.crt\n"
                  "client_tls_ca_file = etc/root.crt\n"
                  "client_tls_protocols = tlsv1.3\n"
                  "client_tls_ciphers = ECDHE+AESGCM:!aNULL\n" MINIMAL_DB);
    assert_int_equal(cfg->client_tls_sslmode, CFG_TLS_REQUIRE);
    assert_string_equal(cfg->client_tls_key_file, "/nonexistent/server.key");
    assert_string_equal(cfg->client_tls_cert_file, "etc/server.crt");
    assert_string_equal(cfg->client_tls_ca_file, "etc/root.crt");
    assert_int_equal(cfg->client_tls_protocols, CFG_TLS_V1_3);
    assert_string_equal(cfg->client_tls_ciphers, "ECDHE+AESGCM:!aNULL");
    cfg_free(cfg);

    for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        snprintf(text, sizeof(text), "[pgiris]\nclient_tls_sslmode = %s\nclient_tls_key_file = k\n"
                 "client_tls_cert_file = c\n" MINIMAL_DB, modes[i].value);
        cfg = load_ok(text);
        assert_int_equal(cfg->client_tls_sslmode, modes[i].mode);
        cfg_free(cfg);
    }
    for (i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++) {
        snprintf(text, sizeof(text), "[pgiris]\nclient_tls_protocols = %s\n" MINIMAL_DB,
                 protocols[i].value);
        cfg = load_ok(text);
        assert_int_equal(cfg->client_tls_protocols, protocols[i].protocols);
        cfg_free(cfg);
    }

    /* disable needs no files; anything else needs both. */
    cfg = load_ok("[pgiris]\nclient_tls_sslmode = disable\n" MINIMAL_DB);
    cfg_free(cfg);
    load_fails("[pgiris]\nlisten_port = 6432\nclient_tls_sslmode = require\n"
               "client_tls_key_file = k.pem\n" MINIMAL_DB,
               3, "key 'client_tls_sslmode': require needs client_tls_cert_file");
    load_fails("[pgiris]\nclient_tls_sslmode = allow\nclient_tls_cert_file = c.pem\n" MINIMAL_DB,
               2, "key 'client_tls_sslmode': allow needs client_tls_key_file");
    load_fails("[pgiris]\nclient_tls_sslmode = prefer\nclient_tls_key_file =\n"
               "client_tls_cert_file = c.pem\n" MINIMAL_DB,
               2, "key 'client_tls_sslmode': prefer needs client_tls_key_file");
}

static void test_auto_parameterize(void **state)
{
    static const struct { const char *value; int on; } values[] = {
        { "on", 1 }, { "off", 0 }, { "TRUE", 1 }, { "false", 0 }, { "yes", 1 }, { "no", 0 },
        { "1", 1 }, { "0", 0 },
    };
    char text[256];
    struct cfg *cfg;
    size_t i;

    cfg = load_ok(MINIMAL_DB);
    assert_int_equal(cfg->databases[0].auto_parameterize, 1);
    cfg_free(cfg);
    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        snprintf(text, sizeof(text), MINIMAL_DB "auto_parameterize = %s\n", values[i].value);
        cfg = load_ok(text);
        assert_int_equal(cfg->databases[0].auto_parameterize, values[i].on);
        cfg_free(cfg);
    }
    load_fails(MINIMAL_DB "auto_parameterize = maybe\n", 4,
               "key 'auto_parameterize': 'maybe' is not one of off, on, false, true, no, yes, 0, 1");
    load_fails(MINIMAL_DB "auto_parameterize = on\nauto_parameterize = off\n", 5,
               "key 'auto_parameterize': already set at line 4");
}

static void test_unknown_keys_and_sections(void **state)
{
    load_fails("[pgiris]\nlisten_port = 1\nlisten_host = x\n" MINIMAL_DB, 3,
               "key 'listen_host': unknown key in [pgiris]");
    /* Keys are case-sensitive, as in pgbouncer. */
    load_fails("[pgiris]\nListen_Port = 1\n" MINIMAL_DB, 2, "key 'Listen_Port': unknown key");
    load_fails(MINIMAL_DB "pool_mode = session\n", 4, "key 'pool_mode': unknown key in [database d]");
    load_fails("listen_port = 1\n" MINIMAL_DB, 1, "key 'listen_port': not inside a section");
    load_fails(MINIMAL_DB "[pgbouncer]\n", 4, "section [pgbouncer]: unknown section");
    /* An unknown section is an error even with no keys in it. */
    load_fails("[foo]\n" MINIMAL_DB, 1, "section [foo]: unknown section");
    load_fails("[databases]\n" MINIMAL_DB, 1, "section [databases]: unknown section");
    load_fails("[database]\n" MINIMAL_DB, 1, "section [database]: database name is empty");
    load_fails(MINIMAL_DB "[database pgiris]\n", 4, "section [database pgiris]: the name 'pgiris' is reserved");
    load_fails("[pgiris]\n" MINIMAL_DB "\n[database d]\n", 6, "section [database d]: database 'd' already defined at line 2");
}

static void test_syntax_errors(void **state)
{
    char text[512], name[80];

    load_fails("[pgiris]\nlisten_port 6432\n" MINIMAL_DB, 2, "syntax error");
    load_fails("[pgiris\nlisten_port = 6432\n" MINIMAL_DB, 1, "syntax error");
    /* The earlier of inih's syntax error and a later key error wins. */
    load_fails("[pgiris]\nbogus\nlisten_port = x\n" MINIMAL_DB, 2, "syntax error");
    load_fails("[pgiris]\nlisten_port = 6432\n    workers = 2\n" MINIMAL_DB, 3,
               "key 'listen_port': continued on an indented line");

    /* Lines must fit inih's 200-byte buffer with their newline and NUL:
     * "odbc = DSN=" is 11 characters, the digits make the line 198 or 199. */
    snprintf(text, sizeof(text), "[database d]\ndialect = sqlite\nodbc = DSN=%0*d\n", 199 - 11, 0);
    load_fails(text, 3, "line is longer than 198 characters");
    snprintf(text, sizeof(text), "[database d]\ndialect = sqlite\nodbc = DSN=%0*d\n", 198 - 11, 0);
    {
        struct cfg *cfg = load_ok(text);
        assert_int_equal(strlen(cfg->databases[0].odbc), 198 - 7);
        cfg_free(cfg);
    }

    /* 63 characters is the longest database name; inih alone would cut it at 40. */
    memset(name, 'n', 63);
    name[63] = '\0';
    snprintf(text, sizeof(text), "[database %s]\ndialect = sqlite\nodbc = DSN=x\n", name);
    {
        struct cfg *cfg = load_ok(text);
        assert_non_null(cfg_find_database(cfg, name));
        cfg_free(cfg);
    }
    snprintf(text, sizeof(text), "[database %sn]\ndialect = sqlite\nodbc = DSN=x\n", name);
    load_fails(text, 1, "database name is longer than 63 characters");
}

static void test_missing_and_totals(void **state)
{
    load_fails("[pgiris]\nlisten_port = 6432\n", 0, "no [database NAME] section");
    load_fails("", 0, "no [database NAME] section");
    load_fails(MINIMAL_DB "\n[database e]\ndialect = sqlite\n", 5,
               "section [database e]: missing required key 'odbc'");
    load_fails("[database e]\nodbc = DSN=x\n", 1, "section [database e]: missing required key 'dialect'");
    /* A section with no keys at all is still seen. */
    load_fails(MINIMAL_DB "[database e]\n", 4, "section [database e]: missing required key 'dialect'");
    load_fails("[pgiris]\nmin_pool_size = 30\n" MINIMAL_DB, 3,
               "section [database d]: min_pool_size 30 is larger than pool_size 20");
    load_fails(MINIMAL_DB "pool_size = 2\nmin_pool_size = 3\n", 1, "min_pool_size 3 is larger than pool_size 2");

    /* 20 (default) + 200 + 37 = 257 > 256 */
    load_fails(MINIMAL_DB "[database e]\ndialect = sqlite\nodbc = DSN=y\npool_size = 200\n"
               "[database f]\ndialect = sqlite\nodbc = DSN=z\npool_size = 37\n",
               0, "pool sizes add up to 257, more than max_backend_slots = 256");
    load_fails("[pgiris]\nmax_backend_slots = 10\n" MINIMAL_DB, 0, "max_backend_slots = 10");
    {
        struct cfg *cfg = load_ok("[pgiris]\nmax_backend_slots = 256\n" MINIMAL_DB
                                  "[database e]\ndialect = sqlite\nodbc = DSN=y\npool_size = 236\n");
        cfg_free(cfg);
    }
    load_fails("[pgiris]\nlisten_addr =\n" MINIMAL_DB, 0, "nothing to listen on");
}

static void test_missing_file(void **state)
{
    static struct cfg sentinel;
    struct cfg *cfg = &sentinel;
    char err[256];

    assert_int_equal(cfg_load("/nonexistent/pgiris.ini", &cfg, err, sizeof(err)), -1);
    assert_null(cfg);
    assert_string_equal(err, "/nonexistent/pgiris.ini: fopen() failed: No such file or directory");
    /* No error buffer is fine too. */
    cfg = &sentinel;
    assert_int_equal(cfg_load("/nonexistent/pgiris.ini", &cfg, NULL, 0), -1);
    assert_null(cfg);
}

static void test_size_suffixes(void **state)
{
    static const struct {
        const char *value;
        size_t bytes;
    } cases[] = {
        { "1024", 1024 },
        { "1kB", 1024 },
        { "64 kB", 65536 },
        { "16MB", 16777216 },
        { "1GB", 1073741824 },
    };
    char text[256];
    struct cfg *cfg;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(text, sizeof(text), "[pgiris]\nmax_message_size = %s\n" MINIMAL_DB, cases[i].value);
        cfg = load_ok(text);
        assert_int_equal(cfg->max_message_size, cases[i].bytes);
        cfg_free(cfg);
    }

    cfg = load_ok("[pgiris]\nring_size = 4096\n" MINIMAL_DB);
    assert_int_equal(cfg->ring_size, 4096);
    cfg_free(cfg);
    cfg = load_ok("[pgiris]\nring_size = 64MB\n" MINIMAL_DB);
    assert_int_equal(cfg->ring_size, 64 * 1024 * 1024);
    cfg_free(cfg);
}

static void test_find_database(void **state)
{
    struct cfg *cfg = load_ok(MINIMAL_DB "[database Sales]\ndialect = iris\nodbc = DSN=IRIS\n");

    assert_ptr_equal(cfg_find_database(cfg, "d"), &cfg->databases[0]);
    assert_ptr_equal(cfg_find_database(cfg, "Sales"), &cfg->databases[1]);
    assert_null(cfg_find_database(cfg, "sales"));
    assert_null(cfg_find_database(cfg, "pgiris"));
    assert_null(cfg_find_database(cfg, ""));
    cfg_free(cfg);
}

static void test_user_in_list(void **state)
{
    assert_true(cfg_user_in_list("admin", "admin"));
    assert_true(cfg_user_in_list(" admin , bob,carol ", "admin"));
    assert_true(cfg_user_in_list(" admin , bob,carol ", "bob"));
    assert_true(cfg_user_in_list(" admin , bob,carol ", "carol"));
    assert_true(cfg_user_in_list("a,,b", "b"));
    assert_false(cfg_user_in_list(" admin , bob,carol ", "bo"));
    assert_false(cfg_user_in_list(" admin , bob,carol ", "bob,carol"));
    assert_false(cfg_user_in_list("admin", "Admin"));
    assert_false(cfg_user_in_list("admin", "admin2"));
    assert_false(cfg_user_in_list("admins", "admin"));
    assert_false(cfg_user_in_list("", "admin"));
    assert_false(cfg_user_in_list("a,,b", ""));
    assert_false(cfg_user_in_list(NULL, "admin"));
}

static void test_enum_names(void **state)
{
    assert_string_equal(cfg_pool_mode_name(CFG_POOL_SESSION), "session");
    assert_string_equal(cfg_pool_mode_name(CFG_POOL_TRANSACTION), "transaction");
    assert_string_equal(cfg_auth_type_name(CFG_AUTH_TRUST), "trust");
    assert_string_equal(cfg_auth_type_name(CFG_AUTH_MD5), "md5");
    assert_string_equal(cfg_auth_type_name(CFG_AUTH_SCRAM), "scram-sha-256");
    assert_string_equal(cfg_dialect_name(CFG_DIALECT_SQLITE), "sqlite");
    assert_string_equal(cfg_dialect_name(CFG_DIALECT_POSTGRES), "postgres");
    assert_string_equal(cfg_dialect_name(CFG_DIALECT_IRIS), "iris");
    assert_string_equal(cfg_tls_sslmode_name(CFG_TLS_DISABLE), "disable");
    assert_string_equal(cfg_tls_sslmode_name(CFG_TLS_ALLOW), "allow");
    assert_string_equal(cfg_tls_sslmode_name(CFG_TLS_PREFER), "prefer");
    assert_string_equal(cfg_tls_sslmode_name(CFG_TLS_REQUIRE), "require");
    assert_string_equal(cfg_tls_protocols_name(CFG_TLS_SECURE), "secure");
    assert_string_equal(cfg_tls_protocols_name(CFG_TLS_ALL), "all");
    assert_string_equal(cfg_tls_protocols_name(CFG_TLS_V1_2), "tlsv1.2");
    assert_string_equal(cfg_tls_protocols_name(CFG_TLS_V1_3), "tlsv1.3");
}

struct collected {
    int n;
    char key[32][64];
    char value[32][64];
    int reloadable[32];
};

static void collect(void *arg, const char *key, const char *value, int reloadable)
{
    struct collected *c = arg;

    assert_true(c->n < 32);
    snprintf(c->key[c->n], sizeof(c->key[0]), "%s", key);
    snprintf(c->value[c->n], sizeof(c->value[0]), "%s", value);
    c->reloadable[c->n] = reloadable;
    c->n++;
}

static void test_foreach(void **state)
{
    static const struct {
        const char *key, *value;
        int reloadable;
    } want[] = {
        { "listen_addr", "0.0.0.0", 0 },
        { "listen_port", "6432", 0 },
        { "unix_socket_dir", "", 0 },
        { "tcp_defer_accept", "45", 1 },
        { "workers", "4", 0 },
        { "pool_mode", "session", 1 },
        { "default_pool_size", "20", 1 },
        { "min_pool_size", "0", 1 },
        { "max_client_conn", "10000", 0 },
        { "max_backend_slots", "256", 0 },
        { "auth_type", "trust", 1 },
        { "auth_file", "etc/userlist.txt", 1 },
        { "admin_users", "admin, ops", 1 },
        { "stats_users", "", 1 },
        { "query_wait_timeout", "0.5", 1 },
        { "client_login_timeout", "60", 1 },
        { "shutdown_timeout", "30", 1 },
        { "server_connect_timeout", "1234.5678", 1 },
        { "max_message_size", "1048576", 1 },
        { "ring_size", "262144", 0 },
        { "translate_cache_size", "1048576", 1 },
        { "shared_cache_size", "0", 0 },
        { "logfile", "", 1 },
        { "pidfile", "var/pgiris.pid", 1 },
        { "verbose", "1", 1 },
        { "client_tls_sslmode", "prefer", 1 },
        { "client_tls_key_file", "etc/server.key", 1 },
        { "client_tls_cert_file", "etc/server.crt", 1 },
        { "client_tls_ca_file", "", 1 },
        { "client_tls_protocols", "tlsv1.2", 1 },
        { "client_tls_ciphers", "HIGH:!aNULL", 1 },
    };
    struct collected *c = calloc(1, sizeof(*c));
    struct cfg *cfg;
    size_t i;

    cfg = load_ok("[pgiris]\nlisten_addr = 0.0.0.0\nworkers = 4\npool_mode = session\n"
                  "auth_type = trust\nadmin_users = admin, ops\nquery_wait_timeout = 0.5\n"
                  "server_connect_timeout = 1234.5678\nmax_message_size = 1MB\n"
                  "pidfile = var/pgiris.pid\nverbose = 1\nclient_tls_sslmode = PREFER\n"
                  "client_tls_key_file = etc/server.key\nclient_tls_cert_file = etc/server.crt\n"
                  "client_tls_protocols = TLSv1.2\ntranslate_cache_size = 1MB\nshared_cache_size = 0\n"
                  MINIMAL_DB);
    cfg_foreach(cfg, collect, c);
    assert_int_equal(c->n, sizeof(want) / sizeof(want[0]));
    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_string_equal(c->key[i], want[i].key);
        assert_string_equal(c->value[i], want[i].value);
        assert_int_equal(c->reloadable[i], want[i].reloadable);
    }
    cfg_free(cfg);

    /* workers = auto is stored as 0 and shown as "auto". */
    cfg = load_ok(MINIMAL_DB);
    c->n = 0;
    cfg_foreach(cfg, collect, c);
    assert_string_equal(c->key[4], "workers");
    assert_string_equal(c->value[4], "auto");
    assert_string_equal(c->value[14], "120");
    assert_string_equal(c->value[10], "scram-sha-256");
    assert_string_equal(c->key[20], "translate_cache_size");
    assert_string_equal(c->value[20], "4194304");
    assert_string_equal(c->value[21], "8388608");
    assert_string_equal(c->value[25], "disable");
    assert_string_equal(c->value[29], "secure");
    cfg_free(cfg);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_file),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_tls_keys),
        cmocka_unit_test(test_auto_parameterize),
        cmocka_unit_test(test_unknown_keys_and_sections),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_missing_and_totals),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_size_suffixes),
        cmocka_unit_test(test_find_database),
        cmocka_unit_test(test_user_in_list),
        cmocka_unit_test(test_enum_names),
        cmocka_unit_test(test_foreach),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
