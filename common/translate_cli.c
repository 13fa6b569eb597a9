/*
 * translate_cli: the "translate" subcommand.  Splits the input into
 * statements with sql_split and prints each translation and its record.
 */
#include "common/translate_cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sql_lexer.h"
#include "common/sql_translate.h"

struct translate_cli {
    enum cfg_dialect dialect;
    struct sql_translate_opts opts;
    int failed;
};

static int translate_cli_stmt(void *arg, const char *stmt, size_t len)
{
    struct translate_cli *cli = arg;
    struct sql_translation t;
    char rec[1024];

    if (sql_translate_opts(cli->dialect, &cli->opts, stmt, len, &t) != 0) {
        fprintf(stderr, "ERROR %s: %s\n", t.sqlstate, t.error);
        cli->failed = 1;
    } else {
        sql_translation_describe(&t, rec, sizeof(rec));
        if (t.len)
            printf("%s;\n", t.sql);
        printf("-- %s\n", rec);
    }
    sql_translation_free(&t);
    return 0;
}

static char *translate_cli_read(FILE *f, size_t *len)
{
    size_t cap = 4096, n = 0, got;
    char *buf = malloc(cap);

    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *p = realloc(buf, cap *= 2);
            if (!p) {
                free(buf);
                return NULL;
            }
            buf = p;
        }
    }
    *len = n;
    return buf;
}

static int translate_cli_usage(FILE *f)
{
    fprintf(f, "usage: pgiris translate [--dialect iris|sqlite|postgres] [--schema NAME]\n"
               "                        [--user NAME] [--database NAME] ['SQL']\n"
               "  Prints the backend SQL for each statement (stdin when no SQL is given)\n"
               "  and a line describing it: kind, verb, parameters, tables, flags.\n"
               "  --user and --database stand for a client's session in current_user and\n"
               "  current_database() (otherwise left as written).\n");
    return f == stdout ? 0 : 2;
}

int translate_cli_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "dialect", required_argument, NULL, 'd' },
        { "schema", required_argument, NULL, 's' },
        { "user", required_argument, NULL, 'u' },
        { "database", required_argument, NULL, 'D' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct translate_cli cli = { CFG_DIALECT_IRIS, { NULL, NULL, NULL }, 0 };
    struct sql_lex_error err;
    char *text;
    size_t len;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "d:s:u:D:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            if (strcmp(optarg, "iris") == 0)
                cli.dialect = CFG_DIALECT_IRIS;
            else if (strcmp(optarg, "sqlite") == 0)
                cli.dialect = CFG_DIALECT_SQLITE;
            else if (strcmp(optarg, "postgres") == 0)
                cli.dialect = CFG_DIALECT_POSTGRES;
            else
                return translate_cli_usage(stderr);
            break;
        case 's':
            cli.opts.default_schema = optarg;
            break;
        case 'u':
            cli.opts.user = optarg;
            break;
        case 'D':
            cli.opts.database = optarg;
            break;
        case 'h':
            return translate_cli_usage(stdout);
        default:
            return translate_cli_usage(stderr);
        }
    }
    if (argc - optind > 1)
        return translate_cli_usage(stderr);
    if (optind < argc) {
        text = strdup(argv[optind]);
        len = text ? strlen(text) : 0;
    } else {
        text = translate_cli_read(stdin, &len);
    }
    if (!text) {
        fprintf(stderr, "ERROR 53200: out of memory\n");
        return 1;
    }
    rc = sql_split(text, len, translate_cli_stmt, &cli, &err);
    if (rc != 0) {
        fprintf(stderr, "ERROR 42601: %s at offset %u\n", err.message, err.off);
        cli.failed = 1;
    }
    free(text);
    return cli.failed;
}
