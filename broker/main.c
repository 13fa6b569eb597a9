/*
 * main: command line of the pgiris binary, started like pgbouncer:
 * pgiris [-d] [-q] [-v] [-V] [-h] path/to/pgiris.ini
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "broker/supervisor.h"
#include "common/translate_cli.h"
#include "worker/worker.h"
#include "common/config.h"
#include "common/log.h"
#include "worker/tls.h"

static void main_usage(FILE *f)
{
    fprintf(f,
            "pgiris is a PostgreSQL-protocol connection pooler and proxy for ODBC databases.\n"
            "\n"
            "Usage: pgiris [OPTION]... CONFIG.ini\n"
            "       pgiris translate [--dialect iris|sqlite|postgres] [--schema NAME] ['SQL']\n"
            "  -d   run in the background as a daemon (logfile must be set)\n"
            "  -q   quiet: log only warnings and errors\n"
            "  -v   verbose: log debug lines too\n"
            "  -V   print the version and exit\n"
            "  -h   print this help and exit\n");
}

static int main_daemonize(void)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid > 0)
        _exit(0);
    if (setsid() < 0)
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid > 0)
        _exit(0);
    int fd = open("/dev/null", O_RDWR);
    if (fd < 0)
        return -1;
    dup2(fd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    if (fd > 2)
        close(fd);
    return 0;
}

/*
 * libevent's own messages.  Its warnings are about its internals (each forked
 * worker creating a fresh base with signal events draws one), so they are
 * debug detail; its errors stay errors.
 */
static void main_libevent_log(int severity, const char *msg)
{
    if (severity >= EVENT_LOG_ERR)
        log_error("libevent", "%s", msg);
    else
        log_debug("libevent", "%s", msg);
}

int main(int argc, char **argv)
{
    event_set_log_callback(main_libevent_log);
    /* Internal: how the broker starts its workers (fork, then exec of this binary). */
    if (argc > 1 && strcmp(argv[1], "--worker") == 0)
        return worker_exec_main(argc, argv);
    if (argc > 1 && strcmp(argv[1], "translate") == 0)
        return translate_cli_main(argc - 1, argv + 1);
    int daemonize = 0, quiet = 0, verbose = 0, opt;
    while ((opt = getopt(argc, argv, "dqvVh")) != -1) {
        switch (opt) {
        case 'd':
            daemonize = 1;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'v':
            verbose = 1;
            break;
        case 'V':
            printf("pgiris %s\n", PGIRIS_VERSION);
            return 0;
        case 'h':
            main_usage(stdout);
            return 0;
        default:
            main_usage(stderr);
            return 1;
        }
    }
    if (optind != argc - 1) {
        main_usage(stderr);
        return 1;
    }

    char err[512];
    struct cfg *cfg = NULL;
    if (cfg_load(argv[optind], &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "pgiris: %s\n", err);
        return 1;
    }
    if (tls_check(cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "pgiris: %s: %s\n", cfg->path, err);
        cfg_free(cfg);
        return 1;
    }
    if (verbose || cfg->verbose > 0)
        log_set_level(LOG_LEVEL_DEBUG);
    log_set_quiet(quiet);
    if (daemonize && cfg->logfile[0] == '\0') {
        fprintf(stderr, "pgiris: -d needs logfile to be set in %s\n", cfg->path);
        cfg_free(cfg);
        return 1;
    }
    if (log_open(cfg->logfile) < 0) {
        fprintf(stderr, "pgiris: cannot open logfile %s: %s\n", cfg->logfile, strerror(errno));
        cfg_free(cfg);
        return 1;
    }
    if (daemonize && main_daemonize() < 0) {
        log_error("main", "daemonize failed: %s", strerror(errno));
        cfg_free(cfg);
        return 1;
    }
    int rc = supervisor_run(cfg, argv[0]);
    return rc;
}
