/*
 * Tests for worker/auth: the userlist loader, md5 against vectors computed
 * with Python's hashlib, and SCRAM-SHA-256 full exchanges driven by a small
 * client written here with OpenSSL, plus the RFC 7677 example exchange.
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
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "worker/auth.h"

/* ---- userlist --------------------------------------------------------- */

static char *write_tmp(const char *content)
{
    char *path = strdup("/tmp/pgiris_test_auth_XXXXXX");
    FILE *f;
    int fd;

    assert_non_null(path);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    assert_int_equal(fputs(content, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    return path;
}

static int load_text(const char *content, struct auth_userlist **ul, char *err, size_t errlen)
{
    char *path = write_tmp(content);
    int rc = auth_userlist_load(path, ul, err, errlen);

    unlink(path);
    free(path);
    return rc;
}

static void test_userlist_parse(void **state)
{
    static const char text[] =
        "; pgbouncer style comment\n"
        "# shell style comment\n"
        "\n"
        "   \t\n"
        "\"alice\" \"wonder\"\n"
        "  \"bob\"\t\"say \"\"hi\"\"\"  trailing fields are ignored\n"
        "\"we\"\"ird\" \"md5c514c91e4ed341f263e458d44b3bb0a7\"\r\n"
        "\"carol\" \"first\"\n"
        "\"carol\" \"second\"\n"
        "\"dave\" \"\"\n"
        "\"semi;colon\" \"#not a comment\"";
    struct auth_userlist *ul = NULL;
    char err[256] = "";

    assert_int_equal(load_text(text, &ul, err, sizeof(err)), 0);
    assert_non_null(ul);
    assert_string_equal(auth_userlist_find(ul, "alice"), "wonder");
    assert_string_equal(auth_userlist_find(ul, "bob"), "say \"hi\"");
    assert_string_equal(auth_userlist_find(ul, "we\"ird"), "md5c514c91e4ed341f263e458d44b3bb0a7");
    assert_string_equal(auth_userlist_find(ul, "carol"), "second");
    assert_string_equal(auth_userlist_find(ul, "dave"), "");
    assert_string_equal(auth_userlist_find(ul, "semi;colon"), "#not a comment");
    assert_null(auth_userlist_find(ul, "mallory"));
    assert_null(auth_userlist_find(ul, "Alice"));
    assert_null(auth_userlist_find(ul, ""));
    auth_userlist_free(ul);
}

static void test_userlist_many(void **state)
{
    struct auth_userlist *ul = NULL;
    char err[256], name[32], want[32];
    char *text = malloc(1000 * 40);
    size_t off = 0;
    int i;

    assert_non_null(text);
    for (i = 999; i >= 0; i--)
        off += (size_t)sprintf(text + off, "\"user%d\" \"pw%d\"\n", i, i);
    assert_int_equal(load_text(text, &ul, err, sizeof(err)), 0);
    for (i = 0; i < 1000; i++) {
        snprintf(name, sizeof(name), "user%d", i);
        snprintf(want, sizeof(want), "pw%d", i);
        assert_string_equal(auth_userlist_find(ul, name), want);
    }
    assert_null(auth_userlist_find(ul, "user1000"));
    auth_userlist_free(ul);
    free(text);
}

static void test_userlist_empty_file(void **state)
{
    struct auth_userlist *ul = NULL;
    char err[256];

    assert_int_equal(load_text("", &ul, err, sizeof(err)), 0);
    assert_non_null(ul);
    assert_null(auth_userlist_find(ul, "alice"));
    auth_userlist_free(ul);
    assert_null(auth_userlist_find(NULL, "alice"));
}

static void test_userlist_missing_file(void **state)
{
    struct auth_userlist *ul = (struct auth_userlist *)&ul;
    char err[256] = "";

    assert_int_equal(auth_userlist_load("/nonexistent/pgiris/userlist.txt", &ul, err,
                                        sizeof(err)), -1);
    assert_null(ul);
    assert_non_null(strstr(err, "/nonexistent/pgiris/userlist.txt"));
    assert_non_null(strstr(err, "No such file"));
}

static void expect_bad_line(const char *text, const char *lineref)
{
    struct auth_userlist *ul = NULL;
    char err[256] = "";

    assert_int_equal(load_text(text, &ul, err, sizeof(err)), -1);
    assert_null(ul);
    assert_non_null(strstr(err, lineref));
}

static void test_userlist_malformed(void **state)
{
    expect_bad_line("\"a\" \"b\"\n; fine\nalice \"x\"\n", ":3:");
    expect_bad_line("\"a\" \"b\"\n\"alice \"x\"\n", ":2:");
    expect_bad_line("\"alice\"\n", ":1:");
    expect_bad_line("\"alice\" secret\n", ":1:");
    expect_bad_line("\"alice\" \"unterminated\n\"bob\" \"x\"\n", ":1:");
    expect_bad_line("\n\n\n\"\" \"x\"\n", ":4:");
    expect_bad_line("\"a\" \"SCRAM-SHA-256$4096:c2FsdA==$bm90LWEta2V5:bm90LWEta2V5\"\n", ":1:");
}

/* The error names the user, never the secret. */
static void test_userlist_error_hides_secret(void **state)
{
    struct auth_userlist *ul = NULL;
    char err[256] = "";

    assert_int_equal(load_text("\"alice\" \"SCRAM-SHA-256$4096:xx$hunter2\"\n", &ul, err,
                               sizeof(err)), -1);
    assert_non_null(strstr(err, "alice"));
    assert_null(strstr(err, "hunter2"));
}

/* ---- md5 -------------------------------------------------------------- */

/*
 * /usr/bin/python3: h = md5(b"demo" + b"demo").hexdigest();
 * "md5" + md5(h.encode() + bytes([1, 2, 3, 4])).hexdigest()
 */
#define DEMO_MD5_SECRET "md5c514c91e4ed341f263e458d44b3bb0a7"
#define DEMO_MD5_RESPONSE "md5833517f03fb8c5158456a63faec4aee6"
static const uint8_t demo_salt[4] = { 1, 2, 3, 4 };

static void test_md5_plain(void **state)
{
    static const uint8_t other_salt[4] = { 1, 2, 3, 5 };

    assert_int_equal(auth_md5_check("demo", "demo", demo_salt, DEMO_MD5_RESPONSE), 1);
    assert_int_equal(auth_md5_check("demO", "demo", demo_salt, DEMO_MD5_RESPONSE), 0);
    assert_int_equal(auth_md5_check("demo", "demo2", demo_salt, DEMO_MD5_RESPONSE), 0);
    assert_int_equal(auth_md5_check("demo", "demo", other_salt, DEMO_MD5_RESPONSE), 0);
}

static void test_md5_stored_hash(void **state)
{
    assert_int_equal(auth_md5_check(DEMO_MD5_SECRET, "demo", demo_salt, DEMO_MD5_RESPONSE), 1);
    /* The user is already inside the hash: the name given now must not matter to it. */
    assert_int_equal(auth_md5_check(DEMO_MD5_SECRET, "whoever", demo_salt, DEMO_MD5_RESPONSE), 1);
    assert_int_equal(auth_md5_check("md5c514c91e4ed341f263e458d44b3bb0a8", "demo", demo_salt,
                                    DEMO_MD5_RESPONSE), 0);
}

static void test_md5_bad_responses(void **state)
{
    assert_int_equal(auth_md5_check("demo", "demo", demo_salt, NULL), 0);
    assert_int_equal(auth_md5_check("demo", "demo", demo_salt, ""), 0);
    assert_int_equal(auth_md5_check("demo", "demo", demo_salt,
                                    "md5833517f03fb8c5158456a63faec4aee"), 0);
    assert_int_equal(auth_md5_check("demo", "demo", demo_salt, DEMO_MD5_RESPONSE "0"), 0);
    assert_int_equal(auth_md5_check("demo", "demo", demo_salt,
                                    "MD5833517F03FB8C5158456A63FAEC4AEE6"), 0);
    /* The client must not be able to log in by sending the stored hash. */
    assert_int_equal(auth_md5_check("demo", "demo", demo_salt, DEMO_MD5_SECRET), 0);
    assert_int_equal(auth_md5_check("", "demo", demo_salt, DEMO_MD5_RESPONSE), 0);
}

#define DEMO_VERIFIER                                                               \
    "SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$TEP+31VQSJwRuq3me133sNlwsCzNsXnUoGw5dlwjYtk=:" \
    "K7adkJUXfodZ0R0w0+3J3H7F1mweVaAwIHSJTHgs9GY="

static void test_possible(void **state)
{
    assert_int_equal(auth_md5_possible("demo"), 1);
    assert_int_equal(auth_scram_possible("demo"), 1);
    assert_int_equal(auth_md5_possible(DEMO_MD5_SECRET), 1);
    assert_int_equal(auth_scram_possible(DEMO_MD5_SECRET), 0);
    assert_int_equal(auth_md5_possible(DEMO_VERIFIER), 0);
    assert_int_equal(auth_scram_possible(DEMO_VERIFIER), 1);
    assert_int_equal(auth_md5_possible(""), 0);
    assert_int_equal(auth_scram_possible(""), 0);
    assert_int_equal(auth_md5_possible("SCRAM-SHA-256$broken"), 0);
    assert_int_equal(auth_scram_possible("SCRAM-SHA-256$broken"), 0);
    /* Not 32 lowercase hex digits: a plain password that happens to start with md5. */
    assert_int_equal(auth_scram_possible("md5C514C91E4ED341F263E458D44B3BB0A7"), 1);
    assert_int_equal(auth_scram_possible("md5short"), 1);
    /* A SCRAM verifier cannot answer md5. */
    assert_int_equal(auth_md5_check(DEMO_VERIFIER, "demo", demo_salt, DEMO_MD5_RESPONSE), 0);
}

/* ---- SCRAM client ----------------------------------------------------- */

static void b64(const uint8_t *in, size_t n, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

static size_t unb64(const char *in, uint8_t *out)
{
    size_t n = strlen(in);
    int len = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);

    assert_true(len >= 0);
    if (n >= 1 && in[n - 1] == '=')
        len--;
    if (n >= 2 && in[n - 2] == '=')
        len--;
    return (size_t)len;
}

static void hmac256(const uint8_t *key, size_t keylen, const void *d, size_t n, uint8_t out[32])
{
    unsigned int len = 0;

    assert_non_null(HMAC(EVP_sha256(), key, (int)keylen, d, n, out, &len));
    assert_int_equal(len, 32);
}

struct keys {
    uint8_t client_key[32], stored_key[32], server_key[32];
};

static void derive(const char *password, const uint8_t *salt, size_t saltlen, int iter,
                   struct keys *k)
{
    uint8_t salted[32];

    assert_int_equal(PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)saltlen,
                                       iter, EVP_sha256(), 32, salted), 1);
    hmac256(salted, 32, "Client Key", 10, k->client_key);
    hmac256(salted, 32, "Server Key", 10, k->server_key);
    SHA256(k->client_key, 32, k->stored_key);
}

static void make_verifier(const char *password, const uint8_t *salt, size_t saltlen, int iter,
                          char *out)
{
    char salt64[64], stored64[64], server64[64];
    struct keys k;

    derive(password, salt, saltlen, iter, &k);
    b64(salt, saltlen, salt64);
    b64(k.stored_key, 32, stored64);
    b64(k.server_key, 32, server64);
    sprintf(out, "SCRAM-SHA-256$%d:%s$%s:%s", iter, salt64, stored64, server64);
}

struct client {
    const char *gs2;            /* "n,," or "y,," */
    char first_bare[256];
    char server_first[512];
    char nonce[256];            /* the combined nonce from server-first */
    uint8_t salt[64];
    size_t salt_len;
    int iter;
    char without_proof[512];
    char final[768];
    char expect_v[64];
};

/* Sends the client-first-message; returns the server's result. */
static int client_first(struct auth_scram *s, struct client *c, const char *gs2,
                        const char *cnonce)
{
    char msg[300], err[256] = "";
    char *p, *comma;
    int n;

    memset(c, 0, sizeof(*c));
    c->gs2 = gs2;
    snprintf(c->first_bare, sizeof(c->first_bare), "n=ignored,r=%s", cnonce);
    snprintf(msg, sizeof(msg), "%s%s", gs2, c->first_bare);
    n = auth_scram_client_first(s, msg, strlen(msg), c->server_first,
                                sizeof(c->server_first), err, sizeof(err));
    if (n < 0)
        return n;
    assert_int_equal((size_t)n, strlen(c->server_first));

    /* r=<nonce>,s=<salt>,i=<iter> */
    p = c->server_first;
    assert_memory_equal(p, "r=", 2);
    comma = strchr(p, ',');
    assert_non_null(comma);
    memcpy(c->nonce, p + 2, (size_t)(comma - p - 2));
    assert_memory_equal(c->nonce, cnonce, strlen(cnonce));
    assert_true(strlen(c->nonce) > strlen(cnonce));
    p = comma + 1;
    assert_memory_equal(p, "s=", 2);
    comma = strchr(p, ',');
    assert_non_null(comma);
    *comma = '\0';
    c->salt_len = unb64(p + 2, c->salt);
    *comma = ',';
    assert_memory_equal(comma + 1, "i=", 2);
    c->iter = atoi(comma + 3);
    assert_true(c->iter > 0);
    return n;
}

/* Builds the client-final-message for 'password' (and the v= the server must answer). */
static void client_final_build(struct client *c, const char *password, const char *nonce)
{
    char gs2_64[16], proof64[64], authmsg[2048];
    uint8_t sig[32], proof[32], server_sig[32];
    struct keys k;
    int i;

    b64((const uint8_t *)c->gs2, strlen(c->gs2), gs2_64);
    snprintf(c->without_proof, sizeof(c->without_proof), "c=%s,r=%s", gs2_64,
             nonce ? nonce : c->nonce);
    snprintf(authmsg, sizeof(authmsg), "%s,%s,%s", c->first_bare, c->server_first,
             c->without_proof);
    derive(password, c->salt, c->salt_len, c->iter, &k);
    hmac256(k.stored_key, 32, authmsg, strlen(authmsg), sig);
    for (i = 0; i < 32; i++)
        proof[i] = k.client_key[i] ^ sig[i];
    b64(proof, 32, proof64);
    snprintf(c->final, sizeof(c->final), "%s,p=%s", c->without_proof, proof64);
    hmac256(k.server_key, 32, authmsg, strlen(authmsg), server_sig);
    strcpy(c->expect_v, "v=");
    b64(server_sig, 32, c->expect_v + 2);
}

static int send_final(struct auth_scram *s, const char *msg, char *out, size_t outlen,
                      char *err, size_t errlen)
{
    return auth_scram_client_final(s, msg, strlen(msg), out, outlen, err, errlen);
}

/* A whole exchange; returns the server's verdict and checks v= when it says yes. */
static int exchange(const char *secret, const char *password, const char *gs2)
{
    struct auth_scram s;
    struct client c;
    char out[256], err[256] = "";
    int rc;

    assert_int_equal(auth_scram_begin(&s, secret), 0);
    assert_true(client_first(&s, &c, gs2, "fyko+d2lbbFgONRv9qkxdawL") > 0);
    client_final_build(&c, password, NULL);
    rc = send_final(&s, c.final, out, sizeof(out), err, sizeof(err));
    if (rc == 1)
        assert_string_equal(out, c.expect_v);
    auth_scram_free(&s);
    return rc;
}

static void test_scram_plain_secret(void **state)
{
    assert_int_equal(exchange("demo", "demo", "n,,"), 1);
    assert_int_equal(exchange("demo", "demO", "n,,"), 0);
    assert_int_equal(exchange("demo", "", "n,,"), 0);
}

/* Plain secrets get a fresh 16-byte salt each time and PostgreSQL's 4096 iterations. */
static void test_scram_plain_salt(void **state)
{
    struct auth_scram s1, s2;
    struct client c1, c2;

    assert_int_equal(auth_scram_begin(&s1, "demo"), 0);
    assert_int_equal(auth_scram_begin(&s2, "demo"), 0);
    assert_true(client_first(&s1, &c1, "n,,", "abc") > 0);
    assert_true(client_first(&s2, &c2, "n,,", "abc") > 0);
    assert_int_equal(c1.salt_len, 16);
    assert_int_equal(c1.iter, 4096);
    assert_memory_not_equal(c1.salt, c2.salt, 16);
    assert_string_not_equal(c1.nonce, c2.nonce);
    auth_scram_free(&s1);
    auth_scram_free(&s2);
}

static void test_scram_fixed_verifier(void **state)
{
    struct auth_scram s;
    struct client c;

    assert_int_equal(exchange(DEMO_VERIFIER, "demo", "n,,"), 1);
    assert_int_equal(exchange(DEMO_VERIFIER, "demo ", "n,,"), 0);

    /* The salt and iteration count travel to the client unchanged. */
    assert_int_equal(auth_scram_begin(&s, DEMO_VERIFIER), 0);
    assert_true(client_first(&s, &c, "n,,", "xyz") > 0);
    assert_non_null(strstr(c.server_first, ",s=MDEyMzQ1Njc4OWFiY2RlZg==,i=4096"));
    auth_scram_free(&s);
}

/* A verifier made here must agree with the one hashlib made for the same inputs. */
static void test_scram_generated_verifier(void **state)
{
    char v[256];

    make_verifier("demo", (const uint8_t *)"0123456789abcdef", 16, 4096, v);
    assert_string_equal(v, DEMO_VERIFIER);

    make_verifier("s3cr3t \"quoted\"", (const uint8_t *)"\x01\x02\xff", 3, 1000, v);
    assert_int_equal(exchange(v, "s3cr3t \"quoted\"", "n,,"), 1);
    assert_int_equal(exchange(v, "s3cr3t", "n,,"), 0);
}

static void test_scram_y_flag(void **state)
{
    struct auth_scram s;
    struct client c;
    char out[256], err[256] = "";

    assert_int_equal(exchange("demo", "demo", "y,,"), 1);

    /* "y,," first, then the "n,," binding in the final message: a downgrade. */
    assert_int_equal(auth_scram_begin(&s, "demo"), 0);
    assert_true(client_first(&s, &c, "y,,", "abc") > 0);
    c.gs2 = "n,,";
    client_final_build(&c, "demo", NULL);
    assert_int_equal(send_final(&s, c.final, out, sizeof(out), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "channel-binding"));
    auth_scram_free(&s);
}

/*
 * RFC 7677 section 3.  The server nonce is random, so the test puts the
 * RFC's in place after the client-first-message: server_nonce holds the
 * server's part only, server_first the message the proof signs.
 */
static void test_scram_rfc7677(void **state)
{
    static const char verifier[] =
        "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"
        "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=";
    static const char first[] = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
    static const char final[] =
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    struct auth_scram s;
    char out[256], err[256] = "";

    assert_int_equal(auth_scram_begin(&s, verifier), 0);
    assert_true(auth_scram_client_first(&s, first, strlen(first), out, sizeof(out), err,
                                        sizeof(err)) > 0);
    assert_non_null(strstr(out, ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"));
    strcpy(s.server_nonce, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
    free(s.server_first);
    s.server_first = strdup("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                            "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
    assert_non_null(s.server_first);
    assert_int_equal(send_final(&s, final, out, sizeof(out), err, sizeof(err)), 1);
    assert_string_equal(out, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    auth_scram_free(&s);
}

static void expect_bad_first(const char *msg, size_t len, const char *errpart)
{
    struct auth_scram s;
    char out[256], err[256] = "";

    assert_int_equal(auth_scram_begin(&s, "demo"), 0);
    assert_int_equal(auth_scram_client_first(&s, msg, len, out, sizeof(out), err, sizeof(err)), -1);
    assert_true(err[0] != '\0');
    if (errpart != NULL)
        assert_non_null(strstr(err, errpart));
    auth_scram_free(&s);
}

#define BAD_FIRST(m, e) expect_bad_first(m, sizeof(m) - 1, e)

static void test_scram_bad_client_first(void **state)
{
    BAD_FIRST("", "empty");
    BAD_FIRST("x,,n=,r=abc", NULL);
    BAD_FIRST("n", NULL);
    BAD_FIRST("nn,n=,r=abc", NULL);
    BAD_FIRST("n,n=,r=abc", NULL);
    BAD_FIRST("n,,r=abc", NULL);
    BAD_FIRST("n,,n=", NULL);
    BAD_FIRST("n,,n=,r=", NULL);
    BAD_FIRST("n,,n=,r=a b", NULL);
    BAD_FIRST("n,,n=,rabc", NULL);
    BAD_FIRST("n,,n=,r=abc,1=x", NULL);
    BAD_FIRST("n,,n=,r=abc,x", NULL);
    BAD_FIRST("n,a=bob,n=,r=abc", "authorization identity");
    BAD_FIRST("n,,m=ext,n=,r=abc", "extension");
    BAD_FIRST("n,,n=,r=ab\0c", NULL);
}

static void test_scram_channel_binding_rejected(void **state)
{
    BAD_FIRST("p=tls-server-end-point,,n=,r=abc", "channel binding");
}

static void test_scram_nonce_limits(void **state)
{
    struct auth_scram s;
    struct client c;
    char nonce[200];

    /* The client nonce must fit client_nonce[128] with its NUL. */
    memset(nonce, 'a', sizeof(nonce));
    nonce[128] = '\0';
    assert_int_equal(auth_scram_begin(&s, "demo"), 0);
    assert_int_equal(client_first(&s, &c, "n,,", nonce), -1);
    auth_scram_free(&s);

    nonce[127] = '\0';
    assert_int_equal(auth_scram_begin(&s, "demo"), 0);
    assert_true(client_first(&s, &c, "n,,", nonce) > 0);
    auth_scram_free(&s);
}

/* Unknown extensions after the nonce are skipped, as PostgreSQL does. */
static void test_scram_first_extensions(void **state)
{
    static const char first[] = "n,,n=x,r=abc,x=future,y=";
    struct auth_scram s;
    char out[256], err[256] = "";

    assert_int_equal(auth_scram_begin(&s, "demo"), 0);
    assert_true(auth_scram_client_first(&s, first, strlen(first), out, sizeof(out), err,
                                        sizeof(err)) > 0);
    assert_memory_equal(out, "r=abc", 5);
    assert_string_equal(s.client_first_bare, "n=x,r=abc,x=future,y=");
    auth_scram_free(&s);
}

/* Starts an exchange for password "demo"; the caller sends a final message. */
static void start(struct auth_scram *s, struct client *c)
{
    assert_int_equal(auth_scram_begin(s, "demo"), 0);
    assert_true(client_first(s, c, "n,,", "abcdef") > 0);
}

static void expect_bad_final(const char *fmt, const char *errpart)
{
    struct auth_scram s;
    struct client c;
    char msg[1024], out[256], err[256] = "";

    start(&s, &c);
    client_final_build(&c, "demo", NULL);
    snprintf(msg, sizeof(msg), fmt, c.nonce, strstr(c.final, ",p=") + 3);
    assert_int_equal(send_final(&s, msg, out, sizeof(out), err, sizeof(err)), -1);
    if (errpart != NULL)
        assert_non_null(strstr(err, errpart));
    auth_scram_free(&s);
}

static void test_scram_bad_client_final(void **state)
{
    expect_bad_final("c=biws,r=%s,p=%.40s", "proof");                 /* proof too short */
    expect_bad_final("c=biws,r=%s,p=%s,x=1", "garbage");
    expect_bad_final("c=biws,r=%s,x=%s", NULL);                       /* no proof at all */
    expect_bad_final("c=biws,r=%s", NULL);
    expect_bad_final("c=eSws,r=%s,p=%s", "channel-binding");
    expect_bad_final("c=cD10bHMtc2VydmVyLWVuZC1wb2ludCws,r=%s,p=%s", "channel-binding");
    expect_bad_final("r=%s,p=%s", NULL);
    expect_bad_final("c=biws,x=%s,p=%s", NULL);
    expect_bad_final("c=biws,r=%s,p=%s!", "proof");
}

/* An extension between the nonce and the proof is signed too, and accepted. */
static void test_scram_final_extension(void **state)
{
    struct auth_scram s;
    struct client c;
    char nonce_ext[300], out[256], err[256] = "";

    start(&s, &c);
    snprintf(nonce_ext, sizeof(nonce_ext), "%s,x=ext", c.nonce);
    client_final_build(&c, "demo", nonce_ext);
    assert_int_equal(send_final(&s, c.final, out, sizeof(out), err, sizeof(err)), 1);
    assert_string_equal(out, c.expect_v);
    auth_scram_free(&s);
}

/*
 * A final nonce other than client nonce + server nonce is a protocol
 * violation (-1), not a wrong password, as in PostgreSQL; even with a proof
 * that is correct for the nonce the client sent.
 */
static void test_scram_nonce_mismatch(void **state)
{
    struct auth_scram s;
    struct client c;
    char nonce[300], out[256], err[256] = "";

    start(&s, &c);
    snprintf(nonce, sizeof(nonce), "%sX", c.nonce);
    client_final_build(&c, "demo", nonce);
    assert_int_equal(send_final(&s, c.final, out, sizeof(out), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "nonce"));
    auth_scram_free(&s);

    start(&s, &c);
    client_final_build(&c, "demo", "abcdef");
    assert_int_equal(send_final(&s, c.final, out, sizeof(out), err, sizeof(err)), -1);
    auth_scram_free(&s);

    start(&s, &c);
    strcpy(nonce, c.nonce);
    nonce[strlen(nonce) - 1] ^= 1;
    client_final_build(&c, "demo", nonce);
    assert_int_equal(send_final(&s, c.final, out, sizeof(out), err, sizeof(err)), -1);
    auth_scram_free(&s);
}

static void test_scram_out_of_order(void **state)
{
    struct auth_scram s;
    struct client c;
    char out[256], err[256] = "";

    assert_int_equal(auth_scram_begin(&s, "demo"), 0);
    assert_int_equal(send_final(&s, "c=biws,r=abc,p=AAAA", out, sizeof(out), err, sizeof(err)), -1);
    auth_scram_free(&s);

    start(&s, &c);
    assert_int_equal(client_first(&s, &c, "n,,", "again"), -1);
    auth_scram_free(&s);

    /* After a verdict the exchange is over, even for a correct repeat. */
    start(&s, &c);
    client_final_build(&c, "demo", NULL);
    assert_int_equal(send_final(&s, c.final, out, sizeof(out), err, sizeof(err)), 1);
    assert_int_equal(send_final(&s, c.final, out, sizeof(out), err, sizeof(err)), -1);
    auth_scram_free(&s);

    /* A malformed first message ends the exchange too. */
    assert_int_equal(auth_scram_begin(&s, "demo"), 0);
    assert_int_equal(client_first(&s, &c, "x,,", "abc"), -1);
    assert_int_equal(client_first(&s, &c, "n,,", "abc"), -1);
    auth_scram_free(&s);
}

static void test_scram_small_output(void **state)
{
    struct auth_scram s;
    struct client c;
    char out[256], err[256] = "";
    static const char first[] = "n,,n=,r=abc";

    assert_int_equal(auth_scram_begin(&s, "demo"), 0);
    assert_int_equal(auth_scram_client_first(&s, first, strlen(first), out, 10, err,
                                             sizeof(err)), -1);
    auth_scram_free(&s);

    start(&s, &c);
    client_final_build(&c, "demo", NULL);
    assert_int_equal(send_final(&s, c.final, out, 46, err, sizeof(err)), -1);
    auth_scram_free(&s);

    start(&s, &c);
    client_final_build(&c, "demo", NULL);
    assert_int_equal(send_final(&s, c.final, out, 47, NULL, 0), 1);
    assert_int_equal(strlen(out), 46);
    auth_scram_free(&s);
}

static void test_scram_begin_rejects(void **state)
{
    struct auth_scram s;

    assert_int_equal(auth_scram_begin(&s, DEMO_MD5_SECRET), -1);
    auth_scram_free(&s);
    assert_int_equal(auth_scram_begin(&s, ""), -1);
    auth_scram_free(&s);
    assert_int_equal(auth_scram_begin(&s, "SCRAM-SHA-256$0:MDEy$AAAA:AAAA"), -1);
    auth_scram_free(&s);
    /* Padding inside the salt. */
    assert_int_equal(auth_scram_begin(&s, "SCRAM-SHA-256$4096:MDE=MzQ1Njc4OWFiY2RlZg==$"
                                          "TEP+31VQSJwRuq3me133sNlwsCzNsXnUoGw5dlwjYtk=:"
                                          "K7adkJUXfodZ0R0w0+3J3H7F1mweVaAwIHSJTHgs9GY="), -1);
    auth_scram_free(&s);
    assert_int_equal(auth_scram_begin(&s, "SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg=A$"
                                          "TEP+31VQSJwRuq3me133sNlwsCzNsXnUoGw5dlwjYtk=:"
                                          "K7adkJUXfodZ0R0w0+3J3H7F1mweVaAwIHSJTHgs9GY="), -1);
    auth_scram_free(&s);
    /* StoredKey of 31 bytes. */
    assert_int_equal(auth_scram_begin(&s, "SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$"
                                          "TEP+31VQSJwRuq3me133sNlwsCzNsXnUoGw5dlwjYg==:"
                                          "K7adkJUXfodZ0R0w0+3J3H7F1mweVaAwIHSJTHgs9GY="), -1);
    auth_scram_free(&s);
}

static void test_random(void **state)
{
    uint8_t a[32] = { 0 }, b[32] = { 0 };

    assert_int_equal(auth_random(a, sizeof(a)), 0);
    assert_int_equal(auth_random(b, sizeof(b)), 0);
    assert_memory_not_equal(a, b, sizeof(a));
    assert_int_equal(auth_random(a, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_userlist_parse),
        cmocka_unit_test(test_userlist_many),
        cmocka_unit_test(test_userlist_empty_file),
        cmocka_unit_test(test_userlist_missing_file),
        cmocka_unit_test(test_userlist_malformed),
        cmocka_unit_test(test_userlist_error_hides_secret),
        cmocka_unit_test(test_md5_plain),
        cmocka_unit_test(test_md5_stored_hash),
        cmocka_unit_test(test_md5_bad_responses),
        cmocka_unit_test(test_possible),
        cmocka_unit_test(test_scram_plain_secret),
        cmocka_unit_test(test_scram_plain_salt),
        cmocka_unit_test(test_scram_fixed_verifier),
        cmocka_unit_test(test_scram_generated_verifier),
        cmocka_unit_test(test_scram_y_flag),
        cmocka_unit_test(test_scram_rfc7677),
        cmocka_unit_test(test_scram_bad_client_first),
        cmocka_unit_test(test_scram_channel_binding_rejected),
        cmocka_unit_test(test_scram_nonce_limits),
        cmocka_unit_test(test_scram_first_extensions),
        cmocka_unit_test(test_scram_bad_client_final),
        cmocka_unit_test(test_scram_final_extension),
        cmocka_unit_test(test_scram_nonce_mismatch),
        cmocka_unit_test(test_scram_out_of_order),
        cmocka_unit_test(test_scram_small_output),
        cmocka_unit_test(test_scram_begin_rejects),
        cmocka_unit_test(test_random),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
