/*
 * translate_bench: cost of sql_translate per statement, uncached, over the
 * statements in the .sql files of bench/corpus.  Reports median, p99 and mean
 * nanoseconds per statement under 1 KB for each dialect; --once translates
 * each statement once (for callgrind, whose instruction counts are exact).
 * See bench/translate.md.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/sql_lexer.h"
#include "common/sql_translate.h"
#include "worker/xlate.h"

struct corpus {
    char **stmt;
    size_t *len;
    size_t n, cap;
};

static int corpus_add(void *arg, const char *s, size_t len)
{
    struct corpus *c = arg;

    if (len >= 1024)
        return 0;       /* the figures are for statements under 1 KB */
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 256;
        c->stmt = realloc(c->stmt, c->cap * sizeof(*c->stmt));
        c->len = realloc(c->len, c->cap * sizeof(*c->len));
        if (!c->stmt || !c->len)
            return -1;
    }
    c->stmt[c->n] = strndup(s, len);
    c->len[c->n++] = len;
    return 0;
}

static int corpus_load(struct corpus *c, const char *dir)
{
    DIR *dp = opendir(dir);
    struct dirent *e;

    if (!dp) {
        perror(dir);
        return -1;
    }
    while ((e = readdir(dp)) != NULL) {
        char path[1024], *buf;
        size_t n = strlen(e->d_name), got;
        struct sql_lex_error err;
        FILE *f;

        if (n < 5 || strcmp(e->d_name + n - 4, ".sql") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (!(f = fopen(path, "r")) || !(buf = malloc(1 << 20))) {
            perror(path);
            return -1;
        }
        got = fread(buf, 1, (1 << 20) - 1, f);
        fclose(f);
        if (sql_split(buf, got, corpus_add, c, &err) != 0) {
            fprintf(stderr, "%s: %s\n", path, err.message ? err.message : "out of memory");
            return -1;
        }
        free(buf);
    }
    closedir(dp);
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
    return x < y ? -1 : x > y;
}

static unsigned long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

/* Translates every statement once; the unit callgrind measures (--toggle-collect). */
__attribute__((noinline)) size_t bench_run_once(const struct corpus *c, enum cfg_dialect d)
{
    size_t failed = 0;
    for (size_t i = 0; i < c->n; i++) {
        struct sql_translation t;
        failed += sql_translate(d, c->stmt[i], c->len[i], &t) != 0;
        sql_translation_free(&t);
    }
    return failed;
}

int main(int argc, char **argv)
{
    static const struct { const char *name; enum cfg_dialect d; } dialects[] = {
        { "iris", CFG_DIALECT_IRIS }, { "sqlite", CFG_DIALECT_SQLITE }, { "postgres", CFG_DIALECT_POSTGRES },
    };
    struct corpus c = { 0 };
    const char *dir = "bench/corpus";
    int rounds = 200, once = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--once") == 0)
            once = 1;
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else
            dir = argv[i];
    }
    if (corpus_load(&c, dir) != 0 || c.n == 0)
        return 1;
    printf("%zu statements under 1 KB from %s\n", c.n, dir);
    for (size_t k = 0; k < sizeof(dialects) / sizeof(dialects[0]); k++) {
        size_t failed, ns = 0, total = c.n * (size_t)rounds;
        unsigned long long *s, sum = 0;

        failed = bench_run_once(&c, dialects[k].d);
        if (once) {
            printf("%-8s %zu translated, %zu rejected (0A000 and friends)\n", dialects[k].name,
                   c.n - failed, failed);
            continue;
        }
        s = malloc(total * sizeof(*s));
        unsigned long long *per = malloc(c.n * sizeof(*per)), *one = malloc((size_t)rounds * sizeof(*one));
        if (!s || !per || !one)
            return 1;
        for (int r = 0; r < rounds; r++)
            for (size_t i = 0; i < c.n; i++) {
                struct sql_translation t;
                unsigned long long t0 = now_ns();
                sql_translate(dialects[k].d, c.stmt[i], c.len[i], &t);
                sql_translation_free(&t);
                s[ns] = now_ns() - t0;
                sum += s[ns++];
            }
        /* Each statement's own median over the rounds: what it costs, without the machine's noise. */
        for (size_t i = 0; i < c.n; i++) {
            for (int r = 0; r < rounds; r++)
                one[r] = s[(size_t)r * c.n + i];
            qsort(one, (size_t)rounds, sizeof(*one), cmp_u64);
            per[i] = one[rounds / 2];
        }
        qsort(per, c.n, sizeof(*per), cmp_u64);
        qsort(s, ns, sizeof(*s), cmp_u64);
        printf("%-8s median %6llu ns  p99 %6llu ns  mean %6llu ns  max %7llu ns  (%zu samples, %zu rejected)\n",
               dialects[k].name, s[ns / 2], s[ns * 99 / 100], sum / ns, s[ns - 1], ns, failed);
        printf("%-8s per statement (each one's median): median %6llu ns  p99 %6llu ns  max %6llu ns\n",
               dialects[k].name, per[c.n / 2], per[c.n * 99 / 100], per[c.n - 1]);
        free(per);
        free(one);
        /* Cached: the worker's translation cache, as a worker looks a Parse text up. */
        xlate_configure(64 << 20);
        for (size_t i = 0; i < c.n; i++)
            xlate_get(dialects[k].d, XLATE_PARSE, c.stmt[i], c.len[i], NULL);
        ns = 0;
        sum = 0;
        for (int r = 0; r < rounds; r++)
            for (size_t i = 0; i < c.n; i++) {
                unsigned long long t0 = now_ns();
                const struct xlate *x = xlate_get(dialects[k].d, XLATE_PARSE, c.stmt[i], c.len[i], NULL);
                s[ns] = now_ns() - t0;
                sum += s[ns++];
                if (x->sql == NULL)
                    return 1;
            }
        qsort(s, ns, sizeof(*s), cmp_u64);
        printf("%-8s cached: median %4llu ns  p99 %5llu ns  mean %4llu ns  (clock_gettime included)\n",
               dialects[k].name, s[ns / 2], s[ns * 99 / 100], sum / ns);
        xlate_clear();
        free(s);
    }
    for (size_t i = 0; i < c.n; i++)
        free(c.stmt[i]);
    free(c.stmt);
    free(c.len);
    return 0;
}
