/*
 * sql_lexer: PostgreSQL's lexical rules (scan.l) as a token stream, plus the
 * two things every query needs before translation: splitting a simple-query
 * string into statements and naming each statement's command.
 *
 * Tokens point into the caller's text (offset, length); nothing is copied.
 * Whitespace is not a token; comments are tokens (so rewrites can keep them)
 * but sql_split/sql_command ignore them.
 */
#ifndef PGIRIS_SQL_LEXER_H
#define PGIRIS_SQL_LEXER_H

#include <stddef.h>
#include <stdint.h>

enum sql_tok {
    SQL_TOK_IDENT,      /* unquoted identifier or keyword: abc, SELECT */
    SQL_TOK_QIDENT,     /* "quoted identifier" (also U&"...") */
    SQL_TOK_STRING,     /* 'standard' string, also N'..' and U&'..' */
    SQL_TOK_ESTRING,    /* E'escaped' string */
    SQL_TOK_BSTRING,    /* B'0101' or X'1F' bit string */
    SQL_TOK_DOLLAR,     /* $$body$$ or $tag$body$tag$ */
    SQL_TOK_NUMBER,     /* 42, 3.14, 1e10, 0x1F, 1_000 */
    SQL_TOK_PARAM,      /* $1 */
    SQL_TOK_OP,         /* operator: + - * / < > = ~ ! @ # % ^ & | ` ? and runs of them, :: */
    SQL_TOK_PUNCT,      /* single ( ) [ ] , ; : . */
    SQL_TOK_COMMENT,    /* -- line or nested block comment */
};

struct sql_token {
    enum sql_tok type;
    uint32_t off;
    uint32_t len;
};

struct sql_lex_error {
    uint32_t off;               /* where the bad construct starts */
    const char *message;        /* static text, e.g. "unterminated quoted string" */
};

/*
 * Tokenise text[0..len).  Writes at most max tokens; *ntok receives the
 * total count (which may exceed max: call again with a bigger array).
 * Returns 0, or -1 for an unterminated string, quoted identifier, dollar
 * quote or block comment (err filled in).
 */
int sql_lex(const char *text, size_t len, struct sql_token *toks, size_t max, size_t *ntok,
            struct sql_lex_error *err);

/*
 * The offset of the first '{' or '}' outside quotes and comments, or -1
 * (also for text that does not lex).  Braces are no PostgreSQL syntax, but
 * ODBC drivers read them as escape clauses ({fn ...}, {d ...}, {call ...})
 * and would run what PostgreSQL refuses.
 */
long sql_find_brace(const char *text, size_t len);

/*
 * The offset of the first operator outside quotes and comments that holds
 * a '?' (jsonb's ?, ?|, ?&, @?; geometric ?-, ?|| ...), its length in
 * *oplen, or -1.  Every ODBC driver reads a bare ? as a parameter marker.
 */
long sql_find_qmark_op(const char *text, size_t len, size_t *oplen);
/* Its error (0A000), with the operator as "%.*s". */
#define SQL_QMARK_REFUSAL                                                                              \
    "the operator \"%.*s\" cannot reach the backend: ODBC reads \"?\" as a parameter marker (jsonb's ?, " \
    "?| and ?& are jsonb_exists(), jsonb_exists_any() and jsonb_exists_all(), @? is jsonb_path_exists())"

/*
 * Split a simple-query string at top-level semicolons.  Calls fn once per
 * statement that has any token other than comments, with the statement's
 * text (from its first token to its last, semicolon excluded).  Stops and
 * returns fn's value if fn returns non-zero.  Returns 0 when done, or -1
 * for a lexical error (err filled in; fn not called at all in that case).
 */
int sql_split(const char *text, size_t len,
              int (*fn)(void *arg, const char *stmt, size_t stmt_len), void *arg,
              struct sql_lex_error *err);

/*
 * An identifier token's text (len bytes at s, its quotes included when
 * quoted) as PostgreSQL resolves it: a quoted one as written with "" read
 * as one quote, any other in lower case.  Into dst (NUL-terminated,
 * truncated to size); returns the length written.
 */
size_t sql_ident_fold(const char *s, size_t len, int quoted, char *dst, size_t size);

/* The same for token t of text. */
static inline size_t sql_token_fold(const char *text, const struct sql_token *t, char *dst, size_t size)
{
    return sql_ident_fold(text + t->off, t->len, t->type == SQL_TOK_QIDENT, dst, size);
}

enum sql_command {
    SQL_CMD_OTHER,
    SQL_CMD_SELECT,     /* SELECT, VALUES, TABLE, WITH ... SELECT */
    SQL_CMD_INSERT,
    SQL_CMD_UPDATE,
    SQL_CMD_DELETE,
    SQL_CMD_BEGIN,      /* BEGIN [WORK|TRANSACTION] ..., START TRANSACTION ... */
    SQL_CMD_COMMIT,     /* COMMIT, END [WORK|TRANSACTION] */
    SQL_CMD_ROLLBACK,   /* ROLLBACK / ABORT without TO */
    SQL_CMD_SET,        /* SET ... (not SET TRANSACTION / SET CONSTRAINTS / SET SESSION AUTHORIZATION) */
    SQL_CMD_SHOW,
    SQL_CMD_RESET,      /* RESET ... (not RESET ROLE / RESET SESSION AUTHORIZATION) */
    SQL_CMD_DISCARD,
    SQL_CMD_DDL,        /* CREATE, ALTER, DROP, TRUNCATE, COMMENT, GRANT, REVOKE */
    SQL_CMD_SAVEPOINT,  /* SAVEPOINT, RELEASE [SAVEPOINT], ROLLBACK [WORK|TRANSACTION] TO */
    SQL_CMD_COPY,       /* COPY */
};

/*
 * Name a single statement: its command class and the CommandComplete verb
 * PostgreSQL uses for it ("SELECT", "INSERT", "CREATE TABLE", "DROP INDEX",
 * "BEGIN", "COMMIT", "ROLLBACK", "SET", ...), upper case, into verb
 * (NUL-terminated, truncated to verblen).  A WITH statement is named after
 * its main statement.  An empty statement is SQL_CMD_OTHER with verb "".
 */
enum sql_command sql_command(const char *stmt, size_t len, char *verb, size_t verblen);
/* The same over the statement's tokens as sql_lex gave them (a lexer's second pass saved). */
enum sql_command sql_command_tokens(const char *stmt, size_t len, const struct sql_token *toks, size_t ntoks,
                                    char *verb, size_t verblen);

/*
 * Whether the statement leaves state on the backend connection that
 * outlives its transaction and belongs to this client alone: a temporary
 * table, view or sequence (not one ON COMMIT DROP), a cursor WITH HOLD,
 * LISTEN (which the translator refuses), a session-level advisory lock, SET ROLE, SET SESSION
 * AUTHORIZATION, set_config(..., is_local) unless
 * is_local is written true (SQL_STATE_KEEPS); and whether it reads the
 * session's sequence values with currval() or lastval()
 * (SQL_STATE_READS_SEQUENCE), which a column default's nextval() set
 * unseen.  What a function or DO block does inside is not seen.
 */
enum { SQL_STATE_KEEPS = 1, SQL_STATE_READS_SEQUENCE = 2 };
/* toks as sql_command_tokens takes them, or NULL to read the text as it goes. */
int sql_backend_state_tokens(const char *stmt, size_t len, const struct sql_token *toks, size_t ntoks);

/* The transaction modes of BEGIN / START TRANSACTION, as PostgreSQL accepts them. */
enum sql_isolation {
    SQL_ISO_DEFAULT,
    SQL_ISO_READ_UNCOMMITTED,
    SQL_ISO_READ_COMMITTED,
    SQL_ISO_REPEATABLE_READ,
    SQL_ISO_SERIALIZABLE,
};

struct sql_tx_modes {
    enum sql_isolation isolation;
    int read_only;      /* 1 READ ONLY, 0 READ WRITE or not said */
    int deferrable;     /* 1 DEFERRABLE, 0 NOT DEFERRABLE or not said */
    int said;           /* SQL_TX_SAID_*: the modes the statement names */
    int current;        /* 1: SET [LOCAL|SESSION] TRANSACTION, the open transaction's modes */
};

#define SQL_TX_SAID_ISOLATION 1
#define SQL_TX_SAID_READ 2
#define SQL_TX_SAID_DEFERRABLE 4

/*
 * Parse the modes of a BEGIN [WORK|TRANSACTION], START TRANSACTION, SET
 * [LOCAL|SESSION] TRANSACTION or SET SESSION CHARACTERISTICS AS
 * TRANSACTION statement: ISOLATION LEVEL ...,
 * READ ONLY | READ WRITE, [NOT] DEFERRABLE, separated by commas or spaces.
 * 0, or -1 with a message naming the token that is not a mode (SQLSTATE
 * 42601).
 */
int sql_tx_modes(const char *stmt, size_t len, struct sql_tx_modes *out, char *msg, size_t msglen);

#endif
