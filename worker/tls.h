/*
 * tls: the server side of TLS for clients (client_tls_* settings).  Each
 * process holds one SSL_CTX built from the config; a reload builds a new one
 * and swaps it in only if it is complete, so a broken certificate never takes
 * TLS away from a running pooler.  Connections keep the context they were
 * made with (SSL_CTX is reference-counted).  Not thread-safe: a worker's
 * event loop is the only caller.
 */
#ifndef PGIRIS_TLS_H
#define PGIRIS_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "common/config.h"

/* What to do with a client's SSLRequest; the values are the config's. */
enum tls_mode {
    TLS_DISABLE = CFG_TLS_DISABLE,   /* refuse it ('N'), talk in plain */
    TLS_ALLOW = CFG_TLS_ALLOW,       /* accept it, plain is fine too */
    TLS_PREFER = CFG_TLS_PREFER,     /* the same as allow, on the server side */
    TLS_REQUIRE = CFG_TLS_REQUIRE,   /* a plain client gets FATAL 28000 */
};

/*
 * Build the SSL_CTX from cfg and make it the current one.  On failure keep
 * the previous context and mode, write a message naming the key, its value
 * and OpenSSL's reason into err ("client_tls_cert_file 'x.pem': cannot load
 * a PEM certificate: no start line") and return -1.  With
 * client_tls_sslmode = disable, free the context and return 0.
 */
int tls_configure(const struct cfg *cfg, char *err, size_t errlen);

/*
 * What tls_configure would say about cfg, without touching the current
 * context: 0, or -1 with err (unreadable file, key not matching the
 * certificate, unknown ciphers).  For the broker, before start and reload.
 */
int tls_check(const struct cfg *cfg, char *err, size_t errlen);

/* The mode in force after the last successful tls_configure (TLS_DISABLE before any). */
enum tls_mode tls_mode(void);

/*
 * A new SSL in accept state for one client connection, or NULL when TLS is
 * disabled or memory is short.  The caller frees it (or hands it to a
 * bufferevent with BEV_OPT_CLOSE_ON_FREE).
 */
SSL *tls_new_ssl(void);

/* Free the context and return to TLS_DISABLE (at exit, for leak checkers). */
void tls_shutdown(void);

/*
 * "TLSv1.3/TLS_AES_256_GCM_SHA384" for SHOW CLIENTS and logs, into buf;
 * "" for a NULL ssl (a plain connection).  Returns buf.
 */
const char *tls_describe(SSL *ssl, char *buf, size_t len);

#endif
