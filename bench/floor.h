/*
 * floor.h: what bench/sqlite_floor.c and bench/odbc_floor.c share: the
 * threads that run pgbench -S's lookup for a while, each with its own
 * random aid sequence, and the clock.
 */
#ifndef PGIRIS_BENCH_FLOOR_H
#define PGIRIS_BENCH_FLOOR_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct floor_thread {
    pthread_t tid;
    unsigned long long lookups;
    unsigned long long rng;
    int failed;
};

static inline double floor_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The next aid in 1..rows (xorshift64). */
static inline long floor_next_aid(struct floor_thread *t, long rows)
{
    t->rng ^= t->rng << 13;
    t->rng ^= t->rng >> 7;
    t->rng ^= t->rng << 17;
    return (long)(t->rng % (unsigned long long)rows) + 1;
}

/*
 * Run fn in n threads, each given its struct floor_thread, and wait for
 * them.  Returns the lookups they made in all, or -1 when a thread could
 * not start or one set failed.
 */
static inline long long floor_threads(int n, void *(*fn)(void *))
{
    struct floor_thread *t = calloc((size_t)n, sizeof(*t));
    long long total = 0;
    int i, started, failed = 0;

    if (t == NULL)
        return -1;
    for (started = 0; started < n; started++) {
        t[started].rng = 0x9E3779B97F4A7C15ull * (unsigned long long)(started + 1);
        if (pthread_create(&t[started].tid, NULL, fn, &t[started]) != 0) {
            fprintf(stderr, "floor: pthread_create failed\n");
            failed = 1;
            break;
        }
    }
    for (i = 0; i < started; i++) {
        pthread_join(t[i].tid, NULL);
        total += (long long)t[i].lookups;
        failed |= t[i].failed;
    }
    free(t);
    return failed ? -1 : total;
}

#endif
