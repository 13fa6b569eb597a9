/*
 * libFuzzer target for sql_translate: any input, every dialect.  Properties:
 * no crash or leak (run under ASan), a failure always carries a SQLSTATE
 * and a message, a success's SQL always lexes with sql_lex, and running
 * every rule whatever its trigger says changes nothing (a trigger names
 * all its rule rewrites).  A client's session (current_user) translated in
 * keeps the SQL lexing and fails only where the plain translation fails.
 * Whether a statement leaves backend state reads the same from its text
 * (sql_backend_flags without tokens) as from the translation's tokens.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE \
 *     common/sql_lexer.c common/sql_translate.c common/sql_rules_*.c \
 *     tests/fuzz/fuzz_translate.c -o build/fuzz_translate
 *   build/fuzz_translate -max_len=2048 tests/sql
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/sql_lexer.h"
#include "common/sql_rules.h"
#include "common/sql_translate.h"

/* Both translations failed alike, or both succeeded with the same SQL and flags. */
static int fuzz_same(const struct sql_translation *a, int rc_a, const struct sql_translation *b,
                     int rc_b)
{
    if (rc_a != rc_b || strcmp(a->sqlstate, b->sqlstate) != 0 || a->flags != b->flags)
        return 0;
    return rc_a != 0 ? strcmp(a->error, b->error) == 0 : strcmp(a->sql, b->sql) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum cfg_dialect dialects[] = { CFG_DIALECT_IRIS, CFG_DIALECT_SQLITE,
                                                 CFG_DIALECT_POSTGRES };

    for (size_t k = 0; k < sizeof(dialects) / sizeof(dialects[0]); k++) {
        struct sql_translation t, every;
        int rc = sql_translate(dialects[k], (const char *)data, size, &t);
        int rc_every = sql_translate_every_rule(dialects[k], (const char *)data, size, &every);

        if (!fuzz_same(&t, rc, &every, rc_every))
            abort();
        sql_translation_free(&every);
        if (rc != 0) {
            if (t.sqlstate[0] == '\0' || !t.error)
                abort();
        } else {
            size_t ntok;
            struct sql_lex_error err;
            if (!t.sql || strlen(t.sql) != t.len || sql_lex(t.sql, t.len, NULL, 0, &ntok, &err) != 0)
                abort();
        }
        if (t.flags & SQL_FLAG_SESSION) {
            static const struct sql_translate_opts who = { .user = "o'brien\"x", .database = "shop" };
            struct sql_translation s;
            int rc_s = sql_translate_opts(dialects[k], &who, (const char *)data, size, &s);
            size_t ntok;
            struct sql_lex_error err;
            if (rc_s != rc || (rc_s == 0 && sql_lex(s.sql, s.len, NULL, 0, &ntok, &err) != 0))
                abort();
            sql_translation_free(&s);
        }
        /* The text alone (PostgreSQL's simple-protocol path) says what the translation's tokens said. */
        if (rc == 0 && sql_backend_flags((const char *)data, size, NULL, 0) !=
                           (t.flags & (SQL_FLAG_BACKEND_STATE | SQL_FLAG_READS_SEQUENCE)))
            abort();
        sql_translation_free(&t);
    }
    return 0;
}
