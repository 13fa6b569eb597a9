/*
 * auth: the auth_file loader and the server side of md5 and SCRAM-SHA-256
 * password authentication.
 *
 * The SCRAM exchange follows PostgreSQL's src/backend/libpq/auth-scram.c
 * message by message (same attribute checks, same tolerance of extensions,
 * same treatment of the gs2 header) so that a client that works against
 * PostgreSQL works here.  Channel binding is not offered, so only the "n"
 * and "y" gs2 flags are accepted.
 *
 * Plain passwords are used as their bytes, without SASLprep.  PostgreSQL
 * leaves ASCII passwords unchanged under SASLprep as well, so the two only
 * differ for non-ASCII passwords that are not already in NFKC form; store a
 * SCRAM verifier for those.
 *
 * Nothing here logs; error texts never contain a password or a proof.
 */
#include "worker/auth.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#define AUTH_SCRAM_KEY_LEN 32           /* SHA-256 output */
#define AUTH_SCRAM_SALT_LEN 16          /* PostgreSQL's SCRAM_DEFAULT_SALT_LEN */
#define AUTH_SCRAM_ITERATIONS 4096      /* PostgreSQL's default scram_iterations */
#define AUTH_SCRAM_RAW_NONCE_LEN 18     /* PostgreSQL's SCRAM_RAW_NONCE_LEN */
#define AUTH_SCRAM_PREFIX "SCRAM-SHA-256$"
#define AUTH_MD5_LEN 35                 /* "md5" + 32 hex digits */
#define AUTH_B64_MAX_DECODED 96         /* every decoded value here is 32 bytes or less */
#define AUTH_MALFORMED "malformed SCRAM message: "

enum auth_secret_kind {
    AUTH_SECRET_INVALID,
    AUTH_SECRET_PLAIN,
    AUTH_SECRET_MD5,
    AUTH_SECRET_SCRAM,
};

/*
 * Exchange states.  The gs2 flag of the client-first-message decides which
 * channel-binding attribute the client-final-message must carry, so the
 * waiting state remembers it.
 */
enum auth_scram_state {
    AUTH_SCRAM_UNSTARTED = 0,       /* a zeroed struct: auth_scram_begin() not called */
    AUTH_SCRAM_AWAIT_FIRST,
    AUTH_SCRAM_AWAIT_FINAL_N,
    AUTH_SCRAM_AWAIT_FINAL_Y,
    AUTH_SCRAM_DONE,
};

struct auth_user {
    char *name;
    char *secret;       /* points into the same allocation as name */
    size_t secret_len;
    unsigned line;
};

struct auth_userlist {
    struct auth_user *users;    /* sorted by name, one entry per name */
    size_t n;
};

static void auth_err(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void auth_err(char *errbuf, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (errbuf == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
}

/*
 * Salts, nonces and cancel keys come straight from the kernel: OpenSSL's
 * RAND_bytes takes its DRBG through a provider lookup per call, which was 5%
 * of the CPU a new connection cost.
 */
int auth_random(void *buf, size_t n)
{
    uint8_t *p = buf;

    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);

        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

/*
 * The digests, fetched from the default provider once per process: OpenSSL 3
 * looks EVP_md5()/EVP_sha256() up again at every init otherwise.
 */
static EVP_MD *auth_md_md5, *auth_md_sha256;
static pthread_once_t auth_md_once = PTHREAD_ONCE_INIT;

static void auth_md_fetch(void)
{
    auth_md_md5 = EVP_MD_fetch(NULL, "MD5", NULL);
    auth_md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *auth_md(int sha256)
{
    pthread_once(&auth_md_once, auth_md_fetch);
    if (sha256)
        return auth_md_sha256 != NULL ? auth_md_sha256 : EVP_sha256();
    return auth_md_md5 != NULL ? auth_md_md5 : EVP_md5();
}

/* ---- base64 ---------------------------------------------------------- */

/* Writes the encoding and its NUL; returns its length or -1 if out is too small. */
static int auth_b64_encode(const uint8_t *in, size_t n, char *out, size_t outlen)
{
    size_t need = (n + 2) / 3 * 4;

    if (n > AUTH_B64_MAX_DECODED || outlen < need + 1)
        return -1;
    return EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

/*
 * Strict decoding: only the standard alphabet, padding only at the end.
 * EVP_DecodeBlock counts padding as zero bytes, so the real length is taken
 * from the number of '=' characters.  Returns the decoded length or -1.
 */
static int auth_b64_decode(const char *in, size_t n, uint8_t *out, size_t outlen)
{
    uint8_t tmp[AUTH_B64_MAX_DECODED];
    size_t i, pad = 0, declen;

    if (n == 0)
        return 0;
    if (n % 4 != 0 || n / 4 * 3 > sizeof(tmp))
        return -1;
    for (i = 0; i < n; i++) {
        char c = in[i];

        if (c == '=') {
            if (i < n - 2)
                return -1;
            pad++;
        } else if (pad > 0) {
            return -1;
        } else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                     (c >= '0' && c <= '9') || c == '+' || c == '/')) {
            return -1;
        }
    }
    declen = n / 4 * 3 - pad;
    if (declen > outlen)
        return -1;
    if (EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)n) != (int)(n / 4 * 3))
        return -1;
    memcpy(out, tmp, declen);
    OPENSSL_cleanse(tmp, sizeof(tmp));
    return (int)declen;
}

/* ---- secrets ---------------------------------------------------------- */

static int auth_is_md5_hash(const char *secret)
{
    return strlen(secret) == AUTH_MD5_LEN && strncmp(secret, "md5", 3) == 0 &&
           strspn(secret + 3, "0123456789abcdef") == AUTH_MD5_LEN - 3;
}

/*
 * "SCRAM-SHA-256$<iter>:<salt b64>$<StoredKey b64>:<ServerKey b64>", as
 * PostgreSQL's parse_scram_secret() reads it, into s's salt, iterations
 * and keys.  Returns 0 or -1.
 */
static int auth_scram_parse_verifier(const char *secret, struct auth_scram *s)
{
    const char *p, *colon, *dollar, *colon2;
    char *end;
    long iter;
    int salt_len;

    if (strncmp(secret, AUTH_SCRAM_PREFIX, strlen(AUTH_SCRAM_PREFIX)) != 0)
        return -1;
    p = secret + strlen(AUTH_SCRAM_PREFIX);
    colon = strchr(p, ':');
    dollar = colon ? strchr(colon + 1, '$') : NULL;
    colon2 = dollar ? strchr(dollar + 1, ':') : NULL;
    if (colon2 == NULL)
        return -1;

    errno = 0;
    iter = strtol(p, &end, 10);
    if (end != colon || errno != 0 || iter < 1 || iter > INT_MAX)
        return -1;
    salt_len = auth_b64_decode(colon + 1, (size_t)(dollar - colon - 1), s->salt,
                               sizeof(s->salt));
    if (salt_len < 1)
        return -1;
    if (auth_b64_decode(dollar + 1, (size_t)(colon2 - dollar - 1), s->stored_key,
                        sizeof(s->stored_key)) != AUTH_SCRAM_KEY_LEN ||
        auth_b64_decode(colon2 + 1, strlen(colon2 + 1), s->server_key,
                        sizeof(s->server_key)) != AUTH_SCRAM_KEY_LEN)
        return -1;
    s->salt_len = (size_t)salt_len;
    s->iterations = (int)iter;
    return 0;
}

static int auth_scram_verifier_ok(const char *secret)
{
    struct auth_scram tmp;
    int ok;

    memset(&tmp, 0, sizeof(tmp));
    ok = auth_scram_parse_verifier(secret, &tmp) == 0;
    OPENSSL_cleanse(&tmp, sizeof(tmp));
    return ok;
}

/*
 * As PostgreSQL classifies stored passwords, except that a secret that
 * claims to be a SCRAM verifier but does not parse is unusable rather than
 * taken as a plain password equal to that text.  An empty secret never
 * matches, as in PostgreSQL.
 */
static enum auth_secret_kind auth_secret_classify(const char *secret)
{
    if (secret == NULL || secret[0] == '\0')
        return AUTH_SECRET_INVALID;
    if (strncmp(secret, AUTH_SCRAM_PREFIX, strlen(AUTH_SCRAM_PREFIX)) == 0)
        return auth_scram_verifier_ok(secret) ? AUTH_SECRET_SCRAM : AUTH_SECRET_INVALID;
    if (auth_is_md5_hash(secret))
        return AUTH_SECRET_MD5;
    return AUTH_SECRET_PLAIN;
}

/* ---- userlist --------------------------------------------------------- */

/*
 * Unquote the field at *pp in place ("" is a literal quote).  Returns the
 * field and moves *pp past the closing quote, or NULL if there is no
 * complete quoted field.
 */
static char *auth_unquote(char **pp)
{
    char *r = *pp, *w, *start;

    if (*r != '"')
        return NULL;
    start = w = ++r;
    for (;;) {
        if (*r == '\0')
            return NULL;
        if (*r == '"') {
            if (r[1] != '"')
                break;
            r++;
        }
        *w++ = *r++;
    }
    /* w never passes r, so terminating the field cannot clobber what follows. */
    *pp = r + 1;
    *w = '\0';
    return start;
}

static int auth_user_cmp(const void *a, const void *b)
{
    const struct auth_user *ua = a, *ub = b;
    int c = strcmp(ua->name, ub->name);

    if (c != 0)
        return c;
    return ua->line < ub->line ? -1 : ua->line > ub->line;
}

static void auth_user_clear(struct auth_user *u)
{
    OPENSSL_cleanse(u->secret, u->secret_len);
    free(u->name);
}

void auth_userlist_free(struct auth_userlist *ul)
{
    size_t i;

    if (ul == NULL)
        return;
    for (i = 0; i < ul->n; i++)
        auth_user_clear(&ul->users[i]);
    free(ul->users);
    free(ul);
}

static int auth_userlist_add(struct auth_userlist *ul, size_t *cap, const char *name,
                             const char *secret, unsigned line)
{
    size_t nlen = strlen(name), slen = strlen(secret);
    struct auth_user *u;
    char *mem;

    if (ul->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;

        u = realloc(ul->users, ncap * sizeof(*u));
        if (u == NULL)
            return -1;
        ul->users = u;
        *cap = ncap;
    }
    mem = malloc(nlen + 1 + slen + 1);
    if (mem == NULL)
        return -1;
    memcpy(mem, name, nlen + 1);
    memcpy(mem + nlen + 1, secret, slen + 1);
    u = &ul->users[ul->n++];
    u->name = mem;
    u->secret = mem + nlen + 1;
    u->secret_len = slen;
    u->line = line;
    return 0;
}

/*
 * One line of the file.  As in pgbouncer, whatever follows the second field
 * is ignored.  Returns 0 (added or skipped) or -1 with errbuf set.
 */
static int auth_userlist_parse_line(struct auth_userlist *ul, size_t *cap, char *p,
                                    const char *path, unsigned lineno,
                                    char *errbuf, size_t errlen)
{
    char *user, *secret;

    p += strspn(p, " \t");
    if (*p == '\0' || *p == ';' || *p == '#')
        return 0;
    user = auth_unquote(&p);
    if (user == NULL) {
        auth_err(errbuf, errlen, "%s:%u: expected a quoted user name", path, lineno);
        return -1;
    }
    if (user[0] == '\0') {
        auth_err(errbuf, errlen, "%s:%u: empty user name", path, lineno);
        return -1;
    }
    p += strspn(p, " \t");
    secret = auth_unquote(&p);
    if (secret == NULL) {
        auth_err(errbuf, errlen, "%s:%u: expected a quoted secret after the user name",
                 path, lineno);
        return -1;
    }
    if (strncmp(secret, AUTH_SCRAM_PREFIX, strlen(AUTH_SCRAM_PREFIX)) == 0 &&
        !auth_scram_verifier_ok(secret)) {
        auth_err(errbuf, errlen, "%s:%u: malformed SCRAM verifier for user \"%s\"",
                 path, lineno, user);
        return -1;
    }
    if (auth_userlist_add(ul, cap, user, secret, lineno) < 0) {
        auth_err(errbuf, errlen, "%s:%u: out of memory", path, lineno);
        return -1;
    }
    return 0;
}

int auth_userlist_load(const char *path, struct auth_userlist **out, char *errbuf, size_t errlen)
{
    struct auth_userlist *ul;
    char *line = NULL;
    size_t linecap = 0, cap = 0, i, j;
    unsigned lineno = 0;
    ssize_t n;
    FILE *f;

    *out = NULL;
    ul = calloc(1, sizeof(*ul));
    if (ul == NULL) {
        auth_err(errbuf, errlen, "%s: out of memory", path);
        return -1;
    }
    f = fopen(path, "re");
    if (f == NULL) {
        auth_err(errbuf, errlen, "fopen(\"%s\") failed: %s", path, strerror(errno));
        goto failed;
    }
    while ((n = getline(&line, &linecap, f)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (auth_userlist_parse_line(ul, &cap, line, path, lineno, errbuf, errlen) < 0)
            goto failed;
    }
    if (ferror(f)) {
        auth_err(errbuf, errlen, "%s:%u: read failed: %s", path, lineno + 1, strerror(errno));
        goto failed;
    }

    /* A user listed twice keeps the later line, as pgbouncer does. */
    if (ul->n > 1) {
        qsort(ul->users, ul->n, sizeof(ul->users[0]), auth_user_cmp);
        for (i = 0, j = 0; i < ul->n; i++) {
            if (i + 1 < ul->n && strcmp(ul->users[i].name, ul->users[i + 1].name) == 0)
                auth_user_clear(&ul->users[i]);
            else
                ul->users[j++] = ul->users[i];
        }
        ul->n = j;
    }

    if (line != NULL)
        OPENSSL_cleanse(line, linecap);
    free(line);
    fclose(f);
    *out = ul;
    return 0;

failed:
    if (line != NULL)
        OPENSSL_cleanse(line, linecap);
    free(line);
    if (f != NULL)
        fclose(f);
    auth_userlist_free(ul);
    return -1;
}

const char *auth_userlist_find(const struct auth_userlist *ul, const char *user)
{
    size_t lo = 0, hi;

    if (ul == NULL || user == NULL)
        return NULL;
    hi = ul->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct auth_user *u = &ul->users[mid];
        int c = strcmp(user, u->name);

        if (c == 0)
            return u->secret;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* ---- md5 -------------------------------------------------------------- */

/* hex(md5(a || b)) into out[33]. */
static int auth_md5_hex(const void *a, size_t alen, const void *b, size_t blen, char out[33])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0, i;
    EVP_MD_CTX *ctx;
    int ok;

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        return -1;
    ok = EVP_DigestInit_ex(ctx, auth_md(0), NULL) == 1 &&
         EVP_DigestUpdate(ctx, a, alen) == 1 &&
         EVP_DigestUpdate(ctx, b, blen) == 1 &&
         EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 16;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return -1;
    for (i = 0; i < 16; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0xf];
    }
    out[32] = '\0';
    return 0;
}

int auth_md5_possible(const char *secret)
{
    enum auth_secret_kind k = auth_secret_classify(secret);

    return k == AUTH_SECRET_PLAIN || k == AUTH_SECRET_MD5;
}

int auth_md5_check(const char *secret, const char *user, const uint8_t salt[4],
                   const char *response)
{
    char stored[33], expected[AUTH_MD5_LEN + 1];
    int ok;

    switch (auth_secret_classify(secret)) {
    case AUTH_SECRET_PLAIN:
        if (auth_md5_hex(secret, strlen(secret), user, strlen(user), stored) < 0)
            return 0;
        break;
    case AUTH_SECRET_MD5:
        memcpy(stored, secret + 3, 33);
        break;
    default:
        return 0;
    }
    memcpy(expected, "md5", 3);
    if (auth_md5_hex(stored, 32, salt, 4, expected + 3) < 0) {
        OPENSSL_cleanse(stored, sizeof(stored));
        return 0;
    }
    ok = response != NULL && strlen(response) == AUTH_MD5_LEN &&
         CRYPTO_memcmp(expected, response, AUTH_MD5_LEN) == 0;
    OPENSSL_cleanse(stored, sizeof(stored));
    OPENSSL_cleanse(expected, sizeof(expected));
    return ok;
}

/* ---- SCRAM-SHA-256 ---------------------------------------------------- */

static int auth_hmac_sha256(const uint8_t *key, size_t keylen, const void *data, size_t n,
                            uint8_t out[AUTH_SCRAM_KEY_LEN])
{
    unsigned int len = 0;

    if (HMAC(auth_md(1), key, (int)keylen, data, n, out, &len) == NULL ||
        len != AUTH_SCRAM_KEY_LEN)
        return -1;
    return 0;
}

int auth_scram_possible(const char *secret)
{
    enum auth_secret_kind k = auth_secret_classify(secret);

    return k == AUTH_SECRET_PLAIN || k == AUTH_SECRET_SCRAM;
}

/* What PostgreSQL stores for a password, derived here at every login. */
static int auth_scram_derive(struct auth_scram *s, const char *password)
{
    uint8_t salted[AUTH_SCRAM_KEY_LEN], client_key[AUTH_SCRAM_KEY_LEN];
    int rc = -1;

    s->salt_len = AUTH_SCRAM_SALT_LEN;
    s->iterations = AUTH_SCRAM_ITERATIONS;
    if (auth_random(s->salt, s->salt_len) < 0)
        return -1;
    if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), s->salt, (int)s->salt_len,
                          s->iterations, auth_md(1), sizeof(salted), salted) != 1)
        goto out;
    if (auth_hmac_sha256(salted, sizeof(salted), "Client Key", 10, client_key) < 0 ||
        auth_hmac_sha256(salted, sizeof(salted), "Server Key", 10, s->server_key) < 0)
        goto out;
    if (SHA256(client_key, sizeof(client_key), s->stored_key) == NULL)
        goto out;
    rc = 0;
out:
    OPENSSL_cleanse(salted, sizeof(salted));
    OPENSSL_cleanse(client_key, sizeof(client_key));
    return rc;
}

int auth_scram_begin(struct auth_scram *s, const char *secret)
{
    memset(s, 0, sizeof(*s));
    switch (auth_secret_classify(secret)) {
    case AUTH_SECRET_SCRAM:
        if (auth_scram_parse_verifier(secret, s) < 0)
            return -1;
        break;
    case AUTH_SECRET_PLAIN:
        if (auth_scram_derive(s, secret) < 0) {
            auth_scram_free(s);
            return -1;
        }
        break;
    default:
        return -1;
    }
    s->state = AUTH_SCRAM_AWAIT_FIRST;
    return 0;
}

void auth_scram_free(struct auth_scram *s)
{
    free(s->client_first_bare);
    free(s->server_first);
    OPENSSL_cleanse(s, sizeof(*s));
}

/*
 * A NUL-terminated private copy of a client message; SCRAM messages are
 * text, so an embedded NUL is malformed, as in PostgreSQL.
 */
static char *auth_scram_copy(const char *msg, size_t len, char *errbuf, size_t errlen)
{
    char *copy;

    if (len == 0) {
        auth_err(errbuf, errlen, AUTH_MALFORMED "the message is empty");
        return NULL;
    }
    if (memchr(msg, '\0', len) != NULL) {
        auth_err(errbuf, errlen, AUTH_MALFORMED "the message contains a NUL byte");
        return NULL;
    }
    copy = malloc(len + 1);
    if (copy == NULL) {
        auth_err(errbuf, errlen, "out of memory");
        return NULL;
    }
    memcpy(copy, msg, len);
    copy[len] = '\0';
    return copy;
}

/*
 * Split off "<name>=<value>" at *pp, where name must be 'attr' (or any
 * letter if attr is 0; the name is stored in *found).  The separating comma
 * is overwritten with a NUL.  Returns the value or NULL.
 */
static char *auth_scram_attr(char **pp, char attr, char *found, const char *where,
                             char *errbuf, size_t errlen)
{
    char *p = *pp, *value;

    if (*p == '\0') {
        auth_err(errbuf, errlen, AUTH_MALFORMED "attribute expected at the end of %s", where);
        return NULL;
    }
    if (attr != 0 ? *p != attr : !((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))) {
        if (attr != 0)
            auth_err(errbuf, errlen, AUTH_MALFORMED "expected attribute \"%c\" in %s",
                     attr, where);
        else
            auth_err(errbuf, errlen, AUTH_MALFORMED "invalid attribute name in %s", where);
        return NULL;
    }
    if (found != NULL)
        *found = *p;
    if (p[1] != '=') {
        auth_err(errbuf, errlen, AUTH_MALFORMED "expected \"=\" after attribute \"%c\" in %s",
                 *p, where);
        return NULL;
    }
    value = p + 2;
    p = value + strcspn(value, ",");
    if (*p == ',')
        *p++ = '\0';
    *pp = p;
    return value;
}

/* RFC 5802 printable: %x21-2B / %x2D-7E, everything but ',' and controls. */
static int auth_scram_printable(const char *s)
{
    for (; *s; s++)
        if (*s < 0x21 || *s > 0x7e || *s == ',')
            return 0;
    return 1;
}

static int auth_scram_output(const char *text, char *out, size_t outlen,
                             char *errbuf, size_t errlen)
{
    size_t n = strlen(text);

    if (n + 1 > outlen || n > INT_MAX) {
        auth_err(errbuf, errlen, "SCRAM output buffer too small");
        return -1;
    }
    memcpy(out, text, n + 1);
    return (int)n;
}

int auth_scram_client_first(struct auth_scram *s, const char *msg, size_t len,
                            char *out, size_t outlen, char *errbuf, size_t errlen)
{
    static const char *where = "client-first-message";
    uint8_t raw_nonce[AUTH_SCRAM_RAW_NONCE_LEN];
    char salt_b64[(sizeof(s->salt) + 2) / 3 * 4 + 1];
    char *buf, *p, *nonce, *bare, attr;
    enum auth_scram_state next;
    int rc = -1;

    if (s->state != AUTH_SCRAM_AWAIT_FIRST) {
        auth_err(errbuf, errlen, "SCRAM exchange out of order");
        return -1;
    }
    s->state = AUTH_SCRAM_DONE;
    buf = auth_scram_copy(msg, len, errbuf, errlen);
    if (buf == NULL)
        return -1;
    p = buf;

    /* gs2-cbind-flag.  "y": the client could bind but thinks we cannot, which is true. */
    switch (*p) {
    case 'n':
        next = AUTH_SCRAM_AWAIT_FINAL_N;
        break;
    case 'y':
        next = AUTH_SCRAM_AWAIT_FINAL_Y;
        break;
    case 'p':
        auth_err(errbuf, errlen, AUTH_MALFORMED "the client selected SCRAM-SHA-256 "
                 "without channel binding, but the SCRAM message includes channel binding data");
        goto out;
    default:
        auth_err(errbuf, errlen, AUTH_MALFORMED "unexpected channel-binding type");
        goto out;
    }
    if (p[1] != ',') {
        auth_err(errbuf, errlen, AUTH_MALFORMED "unexpected channel-binding flag");
        goto out;
    }
    p += 2;
    if (*p == 'a') {
        auth_err(errbuf, errlen, "client uses authorization identity, but it is not supported");
        goto out;
    }
    if (*p != ',') {
        auth_err(errbuf, errlen, AUTH_MALFORMED "unexpected attribute in %s", where);
        goto out;
    }
    p++;

    bare = strdup(p);
    if (bare == NULL) {
        auth_err(errbuf, errlen, "out of memory");
        goto out;
    }
    s->client_first_bare = bare;

    if (*p == 'm') {
        auth_err(errbuf, errlen, "client requires an unsupported SCRAM extension");
        goto out;
    }
    /* The user name was already given in the startup packet; PostgreSQL ignores this one. */
    if (auth_scram_attr(&p, 'n', NULL, where, errbuf, errlen) == NULL)
        goto out;
    nonce = auth_scram_attr(&p, 'r', NULL, where, errbuf, errlen);
    if (nonce == NULL)
        goto out;
    if (nonce[0] == '\0' || !auth_scram_printable(nonce)) {
        auth_err(errbuf, errlen, AUTH_MALFORMED "client nonce is empty or not printable");
        goto out;
    }
    if (strlen(nonce) >= sizeof(s->client_nonce)) {
        auth_err(errbuf, errlen, AUTH_MALFORMED "client nonce is too long");
        goto out;
    }
    strcpy(s->client_nonce, nonce);
    /* Optional extensions may follow; none is supported, so they are skipped. */
    while (*p != '\0')
        if (auth_scram_attr(&p, 0, &attr, where, errbuf, errlen) == NULL)
            goto out;

    if (auth_random(raw_nonce, sizeof(raw_nonce)) < 0 ||
        auth_b64_encode(raw_nonce, sizeof(raw_nonce), s->server_nonce,
                        sizeof(s->server_nonce)) < 0 ||
        auth_b64_encode(s->salt, s->salt_len, salt_b64, sizeof(salt_b64)) < 0) {
        auth_err(errbuf, errlen, "could not generate a SCRAM nonce");
        goto out;
    }
    if (asprintf(&s->server_first, "r=%s%s,s=%s,i=%d", s->client_nonce, s->server_nonce,
                 salt_b64, s->iterations) < 0) {
        s->server_first = NULL;
        auth_err(errbuf, errlen, "out of memory");
        goto out;
    }
    rc = auth_scram_output(s->server_first, out, outlen, errbuf, errlen);
    if (rc >= 0)
        s->state = next;
out:
    free(buf);
    return rc;
}

/* The final nonce must be exactly the client's nonce followed by ours. */
static int auth_scram_nonce_ok(const struct auth_scram *s, const char *nonce)
{
    size_t cl = strlen(s->client_nonce), sl = strlen(s->server_nonce);

    return strlen(nonce) == cl + sl && memcmp(nonce, s->client_nonce, cl) == 0 &&
           memcmp(nonce + cl, s->server_nonce, sl) == 0;
}

int auth_scram_client_final(struct auth_scram *s, const char *msg, size_t len,
                            char *out, size_t outlen, char *errbuf, size_t errlen)
{
    static const char *where = "client-final-message";
    uint8_t proof[AUTH_SCRAM_KEY_LEN], sig[AUTH_SCRAM_KEY_LEN], key[AUTH_SCRAM_KEY_LEN];
    uint8_t key_hash[AUTH_SCRAM_KEY_LEN];
    char final[2 + (AUTH_SCRAM_KEY_LEN + 2) / 3 * 4 + 1];
    char *buf = NULL, *authmsg = NULL, *p, *cbind, *nonce, *value, *proof_at, attr;
    const char *want_cbind;
    size_t i, without_proof;
    int rc = -1;

    if (s->state != AUTH_SCRAM_AWAIT_FINAL_N && s->state != AUTH_SCRAM_AWAIT_FINAL_Y) {
        auth_err(errbuf, errlen, "SCRAM exchange out of order");
        return -1;
    }
    /* base64("n,,") or base64("y,,"): the gs2 header the client sent first. */
    want_cbind = s->state == AUTH_SCRAM_AWAIT_FINAL_N ? "biws" : "eSws";
    s->state = AUTH_SCRAM_DONE;
    buf = auth_scram_copy(msg, len, errbuf, errlen);
    if (buf == NULL)
        return -1;
    p = buf;

    cbind = auth_scram_attr(&p, 'c', NULL, where, errbuf, errlen);
    if (cbind == NULL)
        goto out;
    if (strcmp(cbind, want_cbind) != 0) {
        auth_err(errbuf, errlen, "unexpected SCRAM channel-binding attribute in %s", where);
        goto out;
    }
    nonce = auth_scram_attr(&p, 'r', NULL, where, errbuf, errlen);
    if (nonce == NULL)
        goto out;
    /* Extensions before the proof are skipped; the proof's comma ends what is signed. */
    do {
        proof_at = p - 1;
        value = auth_scram_attr(&p, 0, &attr, where, errbuf, errlen);
        if (value == NULL)
            goto out;
    } while (attr != 'p');
    if (auth_b64_decode(value, strlen(value), proof, sizeof(proof)) != AUTH_SCRAM_KEY_LEN) {
        auth_err(errbuf, errlen, AUTH_MALFORMED "malformed proof in %s", where);
        goto out;
    }
    if (*p != '\0') {
        auth_err(errbuf, errlen, AUTH_MALFORMED "garbage found at the end of %s", where);
        goto out;
    }
    if (!auth_scram_nonce_ok(s, nonce)) {
        auth_err(errbuf, errlen, "invalid SCRAM response: nonce does not match");
        goto out;
    }

    without_proof = (size_t)(proof_at - buf);
    if (asprintf(&authmsg, "%s,%s,%.*s", s->client_first_bare, s->server_first,
                 (int)without_proof, msg) < 0) {
        authmsg = NULL;
        auth_err(errbuf, errlen, "out of memory");
        goto out;
    }

    /* ClientKey = proof XOR HMAC(StoredKey, AuthMessage); H(ClientKey) must be StoredKey. */
    if (auth_hmac_sha256(s->stored_key, sizeof(s->stored_key), authmsg, strlen(authmsg),
                         sig) < 0)
        goto crypto_failed;
    for (i = 0; i < sizeof(key); i++)
        key[i] = proof[i] ^ sig[i];
    if (SHA256(key, sizeof(key), key_hash) == NULL)
        goto crypto_failed;
    if (CRYPTO_memcmp(key_hash, s->stored_key, sizeof(key_hash)) != 0) {
        rc = 0;
        goto out;
    }

    if (auth_hmac_sha256(s->server_key, sizeof(s->server_key), authmsg, strlen(authmsg),
                         sig) < 0)
        goto crypto_failed;
    memcpy(final, "v=", 2);
    if (auth_b64_encode(sig, sizeof(sig), final + 2, sizeof(final) - 2) < 0)
        goto crypto_failed;
    if (auth_scram_output(final, out, outlen, errbuf, errlen) < 0)
        goto out;
    rc = 1;
    goto out;

crypto_failed:
    auth_err(errbuf, errlen, "SCRAM computation failed");
out:
    OPENSSL_cleanse(proof, sizeof(proof));
    OPENSSL_cleanse(sig, sizeof(sig));
    OPENSSL_cleanse(key, sizeof(key));
    free(authmsg);
    free(buf);
    return rc;
}
