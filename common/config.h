/*
 * config: the pgiris ini file ([pgiris] and one [database NAME] section per
 * database), parsed with inih into a struct cfg that owns all its strings.
 * Parsing is all-or-nothing: an unknown section or key, or a bad value, is
 * an error naming file, line and key, and the caller keeps its old config.
 */
#ifndef PGIRIS_CONFIG_H
#define PGIRIS_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CFG_NAME_MAX 64   /* database, user and dialect names, NUL included */
#define CFG_MAX_DATABASES 64

enum cfg_pool_mode { CFG_POOL_SESSION, CFG_POOL_TRANSACTION };
enum cfg_auth_type { CFG_AUTH_TRUST, CFG_AUTH_MD5, CFG_AUTH_SCRAM };
enum cfg_dialect { CFG_DIALECT_SQLITE, CFG_DIALECT_POSTGRES, CFG_DIALECT_IRIS };
/* pgbouncer's client_tls_sslmode, without verify-ca and verify-full. */
enum cfg_tls_sslmode { CFG_TLS_DISABLE, CFG_TLS_ALLOW, CFG_TLS_PREFER, CFG_TLS_REQUIRE };
/* secure: TLSv1.2 and TLSv1.3; all: TLSv1.0 and later; or just one version. */
enum cfg_tls_protocols { CFG_TLS_SECURE, CFG_TLS_ALL, CFG_TLS_V1_2, CFG_TLS_V1_3 };

struct cfg_database {
    char name[CFG_NAME_MAX];        /* the name clients connect to */
    enum cfg_dialect dialect;
    char *odbc;                     /* ODBC connection string (malloc'd) */
    int pool_size;                  /* -1: use default_pool_size */
    int min_pool_size;              /* -1: use the global min_pool_size */
    int auto_parameterize;          /* run repeated simple queries as their shape (postgres) */
    int line;                       /* where the section starts, for messages */
};

struct cfg {
    char *path;                     /* the file this was read from */

    char *listen_addr;              /* "127.0.0.1", "*" for all, "" for none */
    int listen_port;
    char *unix_socket_dir;          /* "" disables the Unix socket */
    int workers;                    /* 0 in the file as "auto": resolved by caller */
    double tcp_defer_accept;        /* seconds the kernel holds a silent TCP connection, 0 = none */
    enum cfg_pool_mode pool_mode;
    int default_pool_size;
    int min_pool_size;
    int max_client_conn;
    int max_backend_slots;          /* shared slot table capacity (restart to change) */
    enum cfg_auth_type auth_type;
    char *auth_file;                /* pgbouncer userlist.txt format */
    char *admin_users;              /* comma-separated */
    char *stats_users;              /* comma-separated, read-only admin */

    double query_wait_timeout;      /* seconds, 0 = wait forever */
    double client_login_timeout;    /* seconds for startup+auth, 0 = none */
    double shutdown_timeout;        /* SIGTERM grace period, seconds */
    double server_connect_timeout;  /* ODBC login timeout, seconds */
    size_t max_message_size;        /* bytes; larger client messages are rejected */
    size_t ring_size;               /* bytes per slot response ring, power of two */
    size_t translate_cache_size;    /* bytes of translations each worker keeps; 0 = none */
    size_t shared_cache_size;       /* bytes of the shared translation cache; 0 = none */

    char *logfile;                  /* "" = stderr */
    char *pidfile;                  /* "" = none */
    int verbose;                    /* 0 = info, 1 = debug */

    enum cfg_tls_sslmode client_tls_sslmode;
    char *client_tls_key_file;      /* PEM; "" = unset (required unless disable) */
    char *client_tls_cert_file;     /* PEM, may hold the chain after the certificate */
    char *client_tls_ca_file;       /* "" = do not ask clients for certificates */
    enum cfg_tls_protocols client_tls_protocols;
    char *client_tls_ciphers;       /* OpenSSL cipher list for TLSv1.2 and older */

    int ndatabases;
    struct cfg_database databases[CFG_MAX_DATABASES];
};

/*
 * Parse 'path' into a freshly allocated *out.  On failure returns -1, leaves
 * *out NULL and writes "FILE:LINE: key 'KEY': what is wrong" (or a message
 * naming the section) into errbuf.  Relative auth_file, logfile, pidfile and
 * client_tls_*_file paths are kept as written (relative to the working
 * directory).  Whether the TLS files can be read is tls_check's business.
 */
int cfg_load(const char *path, struct cfg **out, char *errbuf, size_t errlen);

/* Free a config returned by cfg_load (NULL is fine). */
void cfg_free(struct cfg *cfg);

/* The database section named 'name', or NULL. */
const struct cfg_database *cfg_find_database(const struct cfg *cfg, const char *name);

/* The effective pool size / min pool size of a database. */
int cfg_db_pool_size(const struct cfg *cfg, const struct cfg_database *db);
int cfg_db_min_pool_size(const struct cfg *cfg, const struct cfg_database *db);

/* Names for enums, for SHOW CONFIG and logs. */
const char *cfg_pool_mode_name(enum cfg_pool_mode m);
const char *cfg_auth_type_name(enum cfg_auth_type a);
const char *cfg_dialect_name(enum cfg_dialect d);
const char *cfg_tls_sslmode_name(enum cfg_tls_sslmode m);
const char *cfg_tls_protocols_name(enum cfg_tls_protocols p);

/* 1 if 'user' is listed in the comma-separated 'list' (spaces ignored). */
int cfg_user_in_list(const char *list, const char *user);

/*
 * Every key as (name, value-as-text) for SHOW CONFIG; calls fn once per key
 * of the [pgiris] section, in a stable order.  'reloadable' is 0 for keys
 * that need a restart.
 */
void cfg_foreach(const struct cfg *cfg,
                 void (*fn)(void *arg, const char *key, const char *value, int reloadable),
                 void *arg);

#endif
