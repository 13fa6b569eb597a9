/*
 * bigread: read one large result as it arrives and count it; used by
 * bench/suite.sh (large results).
 *
 *   bigread CONNINFO copy   SQL   COPY ... TO STDOUT, PQgetCopyData
 *   bigread CONNINFO select SQL   plain query in libpq's single-row mode
 *
 * Nothing is kept: each row is counted (rows, bytes of data) and dropped,
 * so the reader's memory stays flat and the server side sets the pace.
 * Prints "rows BYTES ROWS SECONDS" (time from sending the query to the end
 * of the result, the connection excluded) or an error on stderr, exit 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fail(PGconn *c, const char *what)
{
    fprintf(stderr, "bigread: %s: %s", what, PQerrorMessage(c));
    PQfinish(c);
    return 1;
}

int main(int argc, char **argv)
{
    long long bytes = 0, rows = 0;
    int copy, ok = 1;
    double t0;
    PGconn *c;
    PGresult *r;

    if (argc != 4 || (strcmp(argv[2], "copy") != 0 && strcmp(argv[2], "select") != 0)) {
        fprintf(stderr, "usage: bigread CONNINFO copy|select SQL\n");
        return 2;
    }
    copy = strcmp(argv[2], "copy") == 0;
    c = PQconnectdb(argv[1]);
    if (PQstatus(c) != CONNECTION_OK)
        return fail(c, "connect");
    t0 = now_s();
    if (!PQsendQuery(c, argv[3]))
        return fail(c, "send");
    if (!copy && !PQsetSingleRowMode(c))
        return fail(c, "single-row mode");
    while ((r = PQgetResult(c)) != NULL) {
        switch (PQresultStatus(r)) {
        case PGRES_COPY_OUT: {
            char *buf;
            int n;
            while ((n = PQgetCopyData(c, &buf, 0)) > 0) {
                bytes += n;
                rows++;
                PQfreemem(buf);
            }
            if (n == -2) {
                fprintf(stderr, "bigread: copy: %s", PQerrorMessage(c));
                ok = 0;
            }
            break;
        }
        case PGRES_SINGLE_TUPLE: {
            int nf = PQnfields(r);
            for (int i = 0; i < nf; i++)
                bytes += PQgetlength(r, 0, i) + 1;   /* + a separator, as COPY's text */
            rows++;
            break;
        }
        case PGRES_TUPLES_OK:
        case PGRES_COMMAND_OK:
            break;
        default:
            fprintf(stderr, "bigread: %s", PQresultErrorMessage(r));
            ok = 0;
        }
        PQclear(r);
    }
    if (!ok) {
        PQfinish(c);
        return 1;
    }
    printf("rows %lld %lld %.3f\n", bytes, rows, now_s() - t0);
    PQfinish(c);
    return 0;
}
