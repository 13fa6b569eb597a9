/*
 * Tests for worker/tls: contexts built from the client_tls_* settings, the
 * errors for bad files, keeping the old context when a reload fails, and real
 * handshakes between tls_new_ssl() and an OpenSSL client over a BIO pair.
 * The certificates are made here: two self-signed EC P-256 certificates
 * with their keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "worker/tls.h"

static char dir[64];
static char key_path[128], cert_path[128], other_key_path[128], other_cert_path[128];
static char junk_path[128];

static EVP_PKEY *make_key(void)
{
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
    EVP_PKEY *pkey = NULL;

    assert_non_null(pctx);
    assert_int_equal(EVP_PKEY_keygen_init(pctx), 1);
    assert_int_equal(EVP_PKEY_CTX_set_ec_paramgen_curve_nid(pctx, NID_X9_62_prime256v1), 1);
    assert_int_equal(EVP_PKEY_keygen(pctx, &pkey), 1);
    EVP_PKEY_CTX_free(pctx);
    return pkey;
}

static X509 *make_cert(EVP_PKEY *pkey)
{
    X509 *x = X509_new();
    X509_NAME *name;

    assert_non_null(x);
    assert_int_equal(X509_set_version(x, 2), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -60));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
    assert_int_equal(X509_set_pubkey(x, pkey), 1);
    name = X509_get_subject_name(x);
    assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                                (const unsigned char *)"localhost", -1, -1, 0), 1);
    assert_int_equal(X509_set_issuer_name(x, name), 1);
    assert_true(X509_sign(x, pkey, EVP_sha256()) > 0);
    return x;
}

static void write_key(const char *path, EVP_PKEY *pkey)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL), 1);
    assert_int_equal(fclose(f), 0);
}

static void write_cert(const char *path, X509 *cert)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(PEM_write_X509(f, cert), 1);
    assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
    EVP_PKEY *key, *other;
    X509 *cert, *other_cert;
    FILE *f;

    strcpy(dir, "/tmp/pgiris_test_tls_XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(key_path, sizeof(key_path), "%s/key.pem", dir);
    snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", dir);
    snprintf(other_key_path, sizeof(other_key_path), "%s/other-key.pem", dir);
    snprintf(other_cert_path, sizeof(other_cert_path), "%s/other-cert.pem", dir);
    snprintf(junk_path, sizeof(junk_path), "%s/junk.pem", dir);

    key = make_key();
    other = make_key();
    cert = make_cert(key);
    other_cert = make_cert(other);
    write_key(key_path, key);
    write_key(other_key_path, other);
    write_cert(cert_path, cert);
    write_cert(other_cert_path, other_cert);
    f = fopen(junk_path, "w");
    assert_non_null(f);
    assert_true(fputs("not a certificate\n", f) >= 0);
    assert_int_equal(fclose(f), 0);

    X509_free(cert);
    X509_free(other_cert);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other);
    return 0;
}

static int teardown(void **state)
{
    tls_shutdown();
    unlink(key_path);
    unlink(cert_path);
    unlink(other_key_path);
    unlink(other_cert_path);
    unlink(junk_path);
    rmdir(dir);
    return 0;
}

/* A config with only the TLS keys set: all that tls_configure reads. */
static struct cfg *tls_cfg(enum cfg_tls_sslmode mode)
{
    static struct cfg cfg;

    memset(&cfg, 0, sizeof(cfg));
    cfg.client_tls_sslmode = mode;
    cfg.client_tls_key_file = key_path;
    cfg.client_tls_cert_file = cert_path;
    cfg.client_tls_ca_file = "";
    cfg.client_tls_protocols = CFG_TLS_SECURE;
    cfg.client_tls_ciphers = "HIGH:!aNULL";
    return &cfg;
}

static void configure_ok(const struct cfg *cfg)
{
    char err[512];

    if (tls_configure(cfg, err, sizeof(err)) != 0)
        fail_msg("tls_configure: %s", err);
}

/* Expect both tls_check and tls_configure to fail with all of 'needles' in err. */
static void configure_fails(const struct cfg *cfg, const char *needle1, const char *needle2)
{
    char err[512];

    assert_int_equal(tls_check(cfg, err, sizeof(err)), -1);
    if (strstr(err, needle1) == NULL || strstr(err, needle2) == NULL)
        fail_msg("tls_check: '%s' lacks '%s' or '%s'", err, needle1, needle2);
    memset(err, 0, sizeof(err));
    assert_int_equal(tls_configure(cfg, err, sizeof(err)), -1);
    if (strstr(err, needle1) == NULL || strstr(err, needle2) == NULL)
        fail_msg("tls_configure: '%s' lacks '%s' or '%s'", err, needle1, needle2);
    assert_int_equal(ERR_peek_error(), 0);
}

/* A client context; max_version 0 for no limit, cert and key NULL for none. */
static SSL_CTX *client_ctx(int max_version, const char *cert, const char *key)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    assert_non_null(ctx);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    assert_int_equal(SSL_CTX_set_max_proto_version(ctx, max_version), 1);
    if (cert != NULL) {
        assert_int_equal(SSL_CTX_use_certificate_file(ctx, cert, SSL_FILETYPE_PEM), 1);
        assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM), 1);
    }
    return ctx;
}

/*
 * Run the handshake between 'server' and a client made from cctx over a BIO
 * pair; 0 if both sides finish.  The server SSL goes back in *server_out for
 * inspection if that is not NULL, and is freed otherwise.
 */
static int handshake(SSL *server, SSL_CTX *cctx, SSL **server_out)
{
    SSL *client = SSL_new(cctx);
    BIO *sb, *cb;
    int sdone = 0, cdone = 0, rc = -1, i, r, e;

    assert_non_null(client);
    assert_int_equal(BIO_new_bio_pair(&sb, 0, &cb, 0), 1);
    SSL_set_bio(server, sb, sb);
    SSL_set_bio(client, cb, cb);
    SSL_set_connect_state(client);

    for (i = 0; i < 32 && !(sdone && cdone); i++) {
        if (!cdone) {
            r = SSL_do_handshake(client);
            e = SSL_get_error(client, r);
            if (r == 1)
                cdone = 1;
            else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                goto done;
        }
        if (!sdone) {
            r = SSL_do_handshake(server);
            e = SSL_get_error(server, r);
            if (r == 1)
                sdone = 1;
            else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                goto done;
        }
    }
    rc = sdone && cdone ? 0 : -1;

done:
    ERR_clear_error();
    if (server_out != NULL)
        *server_out = server;
    else
        SSL_free(server);
    SSL_free(client);
    return rc;
}

/* Handshake a new server SSL with a default client; returns the protocol name. */
static const char *negotiated(char *buf, size_t len)
{
    SSL_CTX *cctx = client_ctx(0, NULL, NULL);
    SSL *server = tls_new_ssl();

    assert_non_null(server);
    assert_int_equal(handshake(server, cctx, &server), 0);
    snprintf(buf, len, "%s", SSL_get_version(server));
    SSL_free(server);
    SSL_CTX_free(cctx);
    return buf;
}

static void test_modes(void **state)
{
    static const enum cfg_tls_sslmode modes[] = { CFG_TLS_ALLOW, CFG_TLS_PREFER, CFG_TLS_REQUIRE };
    struct cfg *cfg;
    char err[512];
    size_t i;
    SSL *ssl;

    assert_int_equal(tls_mode(), TLS_DISABLE);
    assert_null(tls_new_ssl());

    for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        assert_int_equal(tls_check(tls_cfg(modes[i]), err, sizeof(err)), 0);
        configure_ok(tls_cfg(modes[i]));
        assert_int_equal(tls_mode(), (enum tls_mode)modes[i]);
        ssl = tls_new_ssl();
        assert_non_null(ssl);
        assert_true(SSL_is_server(ssl));
        SSL_free(ssl);
    }
    assert_int_equal(tls_mode(), TLS_REQUIRE);

    /* disable needs no files: none are read. */
    cfg = tls_cfg(CFG_TLS_DISABLE);
    cfg->client_tls_key_file = "/nonexistent";
    assert_int_equal(tls_check(cfg, err, sizeof(err)), 0);
    configure_ok(cfg);
    assert_int_equal(tls_mode(), TLS_DISABLE);
    assert_null(tls_new_ssl());
}

static void test_bad_files(void **state)
{
    struct cfg *cfg;

    cfg = tls_cfg(CFG_TLS_REQUIRE);
    cfg->client_tls_key_file = "/nonexistent/key.pem";
    configure_fails(cfg, "client_tls_key_file '/nonexistent/key.pem': ", "");

    cfg = tls_cfg(CFG_TLS_PREFER);
    cfg->client_tls_cert_file = "/nonexistent/cert.pem";
    configure_fails(cfg, "client_tls_cert_file '/nonexistent/cert.pem': ", "");

    cfg = tls_cfg(CFG_TLS_REQUIRE);
    cfg->client_tls_cert_file = junk_path;
    configure_fails(cfg, "client_tls_cert_file '", junk_path);

    cfg = tls_cfg(CFG_TLS_REQUIRE);
    cfg->client_tls_key_file = cert_path;
    configure_fails(cfg, "client_tls_key_file '", cert_path);

    cfg = tls_cfg(CFG_TLS_REQUIRE);
    cfg->client_tls_ca_file = "/nonexistent/ca.pem";
    configure_fails(cfg, "client_tls_ca_file '/nonexistent/ca.pem': ", "");

    cfg = tls_cfg(CFG_TLS_REQUIRE);
    cfg->client_tls_ciphers = "NO-SUCH-CIPHER";
    configure_fails(cfg, "client_tls_ciphers 'NO-SUCH-CIPHER': ", "");

    assert_int_equal(tls_mode(), TLS_DISABLE);
    assert_null(tls_new_ssl());
}

static void test_missing_file_reason(void **state)
{
    struct cfg *cfg = tls_cfg(CFG_TLS_REQUIRE);
    char err[512];

    cfg->client_tls_key_file = "/nonexistent/key.pem";
    assert_int_equal(tls_configure(cfg, err, sizeof(err)), -1);
    /* OpenSSL's reason is there, not just our prefix. */
    assert_true(strlen(err) > strlen("client_tls_key_file '/nonexistent/key.pem': "));
    /* A buffer too small, or none, is not an overflow. */
    assert_int_equal(tls_configure(cfg, err, 8), -1);
    assert_int_equal(strlen(err), 7);
    assert_int_equal(tls_configure(cfg, NULL, 0), -1);
}

static void test_key_mismatch(void **state)
{
    struct cfg *cfg = tls_cfg(CFG_TLS_REQUIRE);

    cfg->client_tls_key_file = other_key_path;
    configure_fails(cfg, "not the key of client_tls_cert_file", other_key_path);
}

static void test_failed_reload_keeps_old(void **state)
{
    SSL_CTX *cctx = client_ctx(0, NULL, NULL);
    struct cfg *cfg;
    SSL *before, *after;
    char err[512], buf[64];

    configure_ok(tls_cfg(CFG_TLS_REQUIRE));
    before = tls_new_ssl();
    assert_non_null(before);

    cfg = tls_cfg(CFG_TLS_ALLOW);
    cfg->client_tls_cert_file = "/nonexistent/cert.pem";
    assert_int_equal(tls_configure(cfg, err, sizeof(err)), -1);
    assert_int_equal(tls_mode(), TLS_REQUIRE);
    after = tls_new_ssl();
    assert_non_null(after);
    assert_int_equal(handshake(after, cctx, NULL), 0);

    /* A good reload replaces the context; a connection made before keeps
     * the old one (TLSv1.3 allowed) while new ones get the new settings. */
    cfg = tls_cfg(CFG_TLS_PREFER);
    cfg->client_tls_protocols = CFG_TLS_V1_2;
    configure_ok(cfg);
    assert_int_equal(tls_mode(), TLS_PREFER);
    assert_int_equal(handshake(before, cctx, &before), 0);
    assert_string_equal(SSL_get_version(before), "TLSv1.3");
    SSL_free(before);
    assert_string_equal(negotiated(buf, sizeof(buf)), "TLSv1.2");

    SSL_CTX_free(cctx);
    tls_shutdown();
    assert_int_equal(tls_mode(), TLS_DISABLE);
    assert_null(tls_new_ssl());
}

static void test_protocols(void **state)
{
    static const struct {
        enum cfg_tls_protocols protocols;
        const char *version;
    } cases[] = {
        { CFG_TLS_SECURE, "TLSv1.3" },
        { CFG_TLS_ALL, "TLSv1.3" },
        { CFG_TLS_V1_2, "TLSv1.2" },
        { CFG_TLS_V1_3, "TLSv1.3" },
    };
    struct cfg *cfg;
    SSL_CTX *cctx;
    char buf[64];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cfg = tls_cfg(CFG_TLS_REQUIRE);
        cfg->client_tls_protocols = cases[i].protocols;
        configure_ok(cfg);
        assert_string_equal(negotiated(buf, sizeof(buf)), cases[i].version);
    }

    /* A TLSv1.2 client meets a TLSv1.3-only server: no common version. */
    cctx = client_ctx(TLS1_2_VERSION, NULL, NULL);
    assert_int_equal(handshake(tls_new_ssl(), cctx, NULL), -1);
    SSL_CTX_free(cctx);

    /* secure refuses TLSv1.1. */
    cfg = tls_cfg(CFG_TLS_REQUIRE);
    configure_ok(cfg);
    cctx = client_ctx(TLS1_1_VERSION, NULL, NULL);
    assert_int_equal(handshake(tls_new_ssl(), cctx, NULL), -1);
    SSL_CTX_free(cctx);
    tls_shutdown();
}

static void test_ca_file(void **state)
{
    struct cfg *cfg = tls_cfg(CFG_TLS_REQUIRE);
    SSL_CTX *cctx;
    SSL *server;

    /* The self-signed certificate is its own CA. */
    cfg->client_tls_ca_file = cert_path;
    configure_ok(cfg);

    /* Asked for, not required. */
    cctx = client_ctx(0, NULL, NULL);
    assert_int_equal(handshake(tls_new_ssl(), cctx, &server), 0);
    assert_null(SSL_SESSION_get0_peer(SSL_get_session(server)));
    SSL_free(server);
    SSL_CTX_free(cctx);

    cctx = client_ctx(0, cert_path, key_path);
    assert_int_equal(handshake(tls_new_ssl(), cctx, &server), 0);
    assert_non_null(SSL_SESSION_get0_peer(SSL_get_session(server)));
    assert_int_equal(SSL_get_verify_result(server), X509_V_OK);
    SSL_free(server);
    SSL_CTX_free(cctx);

    /* A certificate that is sent must verify. */
    cctx = client_ctx(0, other_cert_path, other_key_path);
    assert_int_equal(handshake(tls_new_ssl(), cctx, NULL), -1);
    SSL_CTX_free(cctx);
    tls_shutdown();
}

static void test_describe(void **state)
{
    SSL_CTX *cctx = client_ctx(0, NULL, NULL);
    SSL *server;
    char buf[128];

    assert_string_equal(tls_describe(NULL, buf, sizeof(buf)), "");
    configure_ok(tls_cfg(CFG_TLS_REQUIRE));
    assert_int_equal(handshake(tls_new_ssl(), cctx, &server), 0);
    assert_ptr_equal(tls_describe(server, buf, sizeof(buf)), buf);
    assert_memory_equal(buf, "TLSv1.3/TLS_", 12);
    assert_string_equal(buf + 8, SSL_get_cipher_name(server));
    /* Cut to fit. */
    tls_describe(server, buf, 5);
    assert_string_equal(buf, "TLSv");
    SSL_free(server);
    SSL_CTX_free(cctx);
    tls_shutdown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modes),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_missing_file_reason),
        cmocka_unit_test(test_key_mismatch),
        cmocka_unit_test(test_failed_reload_keeps_old),
        cmocka_unit_test(test_protocols),
        cmocka_unit_test(test_ca_file),
        cmocka_unit_test(test_describe),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
