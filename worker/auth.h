/*
 * auth: the pgbouncer-format auth_file (userlist.txt) and the server side of
 * PostgreSQL password authentication: cleartext-free md5 and SCRAM-SHA-256
 * (RFC 5802 / RFC 7677, as PostgreSQL implements it, without channel binding).
 *
 * The userlist holds one "user" "secret" pair per line; a secret is either a
 * plain password, "md5" + md5(password || user) in hex, or a PostgreSQL
 * SCRAM verifier "SCRAM-SHA-256$<iter>:<salt b64>$<StoredKey b64>:<ServerKey b64>".
 * Which methods a secret allows: plain allows md5 and SCRAM; an md5 hash
 * allows md5 only; a SCRAM verifier allows SCRAM only.
 */
#ifndef PGIRIS_AUTH_H
#define PGIRIS_AUTH_H

#include <stddef.h>
#include <stdint.h>

struct auth_userlist;

/*
 * Load 'path'.  Returns 0 and a new list, or -1 with a message in errbuf
 * naming the file and line.  Lines that are empty or start with ';' or '#'
 * are skipped; "" inside a quoted field is a literal quote, as in pgbouncer.
 */
int auth_userlist_load(const char *path, struct auth_userlist **out, char *errbuf, size_t errlen);
void auth_userlist_free(struct auth_userlist *ul);
/* The secret for 'user', or NULL if the user is not listed. */
const char *auth_userlist_find(const struct auth_userlist *ul, const char *user);

/* md5: the 4-byte salt is the caller's (random). */
/* 1 if 'response' (the client's PasswordMessage, "md5" + 32 hex) is right. */
int auth_md5_check(const char *secret, const char *user, const uint8_t salt[4],
                   const char *response);
/* 1 if md5 can be used with this secret (plain or md5 hash). */
int auth_md5_possible(const char *secret);

/* SCRAM-SHA-256, one exchange.  Holds no pointers into client messages. */
struct auth_scram {
    int state;                  /* internal */
    char *client_first_bare;
    char *server_first;
    char client_nonce[128];
    char server_nonce[64];      /* client nonce + ours, base64 characters */
    uint8_t salt[32];
    size_t salt_len;
    int iterations;
    uint8_t stored_key[32];
    uint8_t server_key[32];
};

/* 1 if SCRAM can be used with this secret (plain or SCRAM verifier). */
int auth_scram_possible(const char *secret);

/*
 * Start an exchange for 'secret' (plain passwords are salted with a random
 * salt and 4096 iterations, as PostgreSQL does).  Returns 0 or -1.
 */
int auth_scram_begin(struct auth_scram *s, const char *secret);

/*
 * Handle the client-first-message (the SASLInitialResponse data, mechanism
 * already checked by the caller).  On success writes the server-first-message
 * (NUL-terminated) into out and returns its length; -1 on a malformed message,
 * with a reason in errbuf.
 */
int auth_scram_client_first(struct auth_scram *s, const char *msg, size_t len,
                            char *out, size_t outlen, char *errbuf, size_t errlen);

/*
 * Handle the client-final-message.  Returns 1 with the server-final-message
 * ("v=...") in out when the proof is right, 0 when the password is wrong,
 * -1 on a malformed message (reason in errbuf).
 */
int auth_scram_client_final(struct auth_scram *s, const char *msg, size_t len,
                            char *out, size_t outlen, char *errbuf, size_t errlen);

void auth_scram_free(struct auth_scram *s);

/* Fill buf with cryptographically random bytes; 0 or -1. */
int auth_random(void *buf, size_t n);

#endif
