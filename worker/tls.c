/*
 * tls: building the server SSL_CTX for clients from the client_tls_* keys,
 * and swapping it on reload.
 *
 * The files are read in full on every build, so a reload picks up a renewed
 * certificate under the same name.  The key is loaded before the
 * certificate: OpenSSL then drops a key that does not fit the certificate
 * instead of failing inside SSL_CTX_use_PrivateKey_file with a reason that
 * does not say which file is wrong, and SSL_CTX_check_private_key reports the
 * mismatch as such.
 */
#include "worker/tls.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

static SSL_CTX *tls_ctx;
static enum tls_mode tls_current_mode = TLS_DISABLE;

static const struct {
    int min, max;                   /* 0: no limit */
} tls_versions[] = {
    [CFG_TLS_SECURE] = { TLS1_2_VERSION, 0 },
    [CFG_TLS_ALL] = { TLS1_VERSION, 0 },
    [CFG_TLS_V1_2] = { TLS1_2_VERSION, TLS1_2_VERSION },
    [CFG_TLS_V1_3] = { TLS1_3_VERSION, TLS1_3_VERSION },
};

/* Write "what: reason" with the oldest error on OpenSSL's queue, which is the
 * one nearest the cause (the later ones are callers giving up), then clear it.
 * A failed fopen() is queued as a system error carrying errno, which
 * ERR_reason_error_string does not name. */
__attribute__((format(printf, 3, 4)))
static void tls_fail(char *err, size_t errlen, const char *fmt, ...)
{
    unsigned long e = ERR_get_error();
    const char *reason = NULL;
    va_list ap;
    int n;

    if (e != 0 && ERR_GET_LIB(e) == ERR_LIB_SYS)
        reason = strerror(ERR_GET_REASON(e));
    else if (e != 0)
        reason = ERR_reason_error_string(e);
    ERR_clear_error();
    if (errlen == 0)
        return;
    va_start(ap, fmt);
    n = vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= errlen)
        return;
    if (reason != NULL)
        snprintf(err + n, errlen - (size_t)n, ": %s", reason);
    else if (e != 0)
        snprintf(err + n, errlen - (size_t)n, ": OpenSSL error %lx", e);
    else
        snprintf(err + n, errlen - (size_t)n, ": unknown OpenSSL error");
}

/* A new context for cfg (whose mode is not disable), or NULL with err. */
static SSL_CTX *tls_ctx_build(const struct cfg *cfg, char *err, size_t errlen)
{
    STACK_OF(X509_NAME) *cas;
    SSL_CTX *ctx;

    ERR_clear_error();
    ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        tls_fail(err, errlen, "SSL_CTX_new() failed");
        return NULL;
    }

    if (!SSL_CTX_set_min_proto_version(ctx, tls_versions[cfg->client_tls_protocols].min)
        || !SSL_CTX_set_max_proto_version(ctx, tls_versions[cfg->client_tls_protocols].max)) {
        tls_fail(err, errlen, "client_tls_protocols '%s'",
                 cfg_tls_protocols_name(cfg->client_tls_protocols));
        goto failed;
    }
    /* Renegotiation started by a client costs the server a handshake each
     * time and buys nothing.  Session resumption would not work anyway: a
     * client's next connection lands on any worker, each with its own cache
     * and ticket keys, so do not spend a ticket message on every handshake. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE
                                 | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
    /* Most pooled clients sit idle; without this each keeps about 34 kB of
     * OpenSSL buffers between messages. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);

    if (!SSL_CTX_set_cipher_list(ctx, cfg->client_tls_ciphers)) {
        tls_fail(err, errlen, "client_tls_ciphers '%s'", cfg->client_tls_ciphers);
        goto failed;
    }
    if (!SSL_CTX_use_PrivateKey_file(ctx, cfg->client_tls_key_file, SSL_FILETYPE_PEM)) {
        tls_fail(err, errlen, "client_tls_key_file '%s': cannot load a PEM private key",
                 cfg->client_tls_key_file);
        goto failed;
    }
    if (!SSL_CTX_use_certificate_chain_file(ctx, cfg->client_tls_cert_file)) {
        tls_fail(err, errlen, "client_tls_cert_file '%s': cannot load a PEM certificate",
                 cfg->client_tls_cert_file);
        goto failed;
    }
    if (!SSL_CTX_check_private_key(ctx)) {
        ERR_clear_error();
        snprintf(err, errlen, "client_tls_key_file '%s': not the key of client_tls_cert_file '%s'",
                 cfg->client_tls_key_file, cfg->client_tls_cert_file);
        goto failed;
    }

    if (cfg->client_tls_ca_file[0] != '\0') {
        if (!SSL_CTX_load_verify_locations(ctx, cfg->client_tls_ca_file, NULL)) {
            tls_fail(err, errlen, "client_tls_ca_file '%s': cannot load CA certificates",
                     cfg->client_tls_ca_file);
            goto failed;
        }
        /* The names tell a client with several certificates which one to send. */
        cas = SSL_load_client_CA_file(cfg->client_tls_ca_file);
        if (cas == NULL) {
            tls_fail(err, errlen, "client_tls_ca_file '%s': cannot load CA certificates",
                     cfg->client_tls_ca_file);
            goto failed;
        }
        SSL_CTX_set_client_CA_list(ctx, cas);
        /* Asked for, not required: authentication stays the auth_type's job. */
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    return ctx;

failed:
    SSL_CTX_free(ctx);
    return NULL;
}

int tls_configure(const struct cfg *cfg, char *err, size_t errlen)
{
    SSL_CTX *ctx = NULL;

    if (cfg->client_tls_sslmode != CFG_TLS_DISABLE) {
        ctx = tls_ctx_build(cfg, err, errlen);
        if (ctx == NULL)
            return -1;
    }
    /* Connections already made hold their own reference to the old one. */
    SSL_CTX_free(tls_ctx);
    tls_ctx = ctx;
    tls_current_mode = (enum tls_mode)cfg->client_tls_sslmode;
    return 0;
}

int tls_check(const struct cfg *cfg, char *err, size_t errlen)
{
    SSL_CTX *ctx;

    if (cfg->client_tls_sslmode == CFG_TLS_DISABLE)
        return 0;
    ctx = tls_ctx_build(cfg, err, errlen);
    if (ctx == NULL)
        return -1;
    SSL_CTX_free(ctx);
    return 0;
}

enum tls_mode tls_mode(void)
{
    return tls_current_mode;
}

SSL *tls_new_ssl(void)
{
    SSL *ssl;

    if (tls_ctx == NULL)
        return NULL;
    ssl = SSL_new(tls_ctx);
    if (ssl != NULL)
        SSL_set_accept_state(ssl);
    return ssl;
}

void tls_shutdown(void)
{
    SSL_CTX_free(tls_ctx);
    tls_ctx = NULL;
    tls_current_mode = TLS_DISABLE;
}

const char *tls_describe(SSL *ssl, char *buf, size_t len)
{
    if (len == 0)
        return buf;
    if (ssl == NULL)
        buf[0] = '\0';
    else
        snprintf(buf, len, "%s/%s", SSL_get_version(ssl), SSL_get_cipher_name(ssl));
    return buf;
}
