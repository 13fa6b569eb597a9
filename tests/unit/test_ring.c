/*
 * Tests for shm/ring: the SPSC byte ring.  Round trips, the wrap at the end
 * of the data area (peek stops there, peek_copy and read cross it), full and
 * empty rings, consume and reset, 64-bit positions past 2^32, the
 * self-relative data offset (one ring seen through two mappings at
 * different addresses), and an 8 MB stream between a producer and a
 * consumer running at once, first as two processes, then as two threads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shm/ring.h"

#define SMALL 64                        /* data area of the single-threaded tests */
#define STREAM_BYTES (8u << 20)         /* bytes sent through the concurrent tests */
#define STREAM_RING 4096                /* small, so the stream wraps 2048 times */
#define STREAM_MAX_CHUNK 6000           /* larger than the ring: writes come back short */
#define STREAM_DEADLINE_US 30000000LL   /* a stuck side fails the test instead of hanging it */

/* The byte at stream position i: depends on every bit of i, so a shifted run is caught. */
static uint8_t pat(uint64_t i)
{
    return (uint8_t)((i * 0x9E3779B97F4A7C15ULL) >> 56);
}

static void fill(uint8_t *buf, uint64_t from, size_t n)
{
    for (size_t k = 0; k < n; k++)
        buf[k] = pat(from + k);
}

/* Index of the first byte of buf that is not pat(from + k), or n if all match. */
static size_t mismatch(const uint8_t *buf, uint64_t from, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (buf[k] != pat(from + k))
            return k;
    return n;
}

static uint64_t rnd_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A ring and its data area side by side, as in the shared region. */
struct small_ring {
    struct ring r;
    uint8_t data[SMALL];
};

static void small_init(struct small_ring *s)
{
    memset(s, 0xEE, sizeof(*s));
    ring_init(&s->r, s->data, SMALL);
}

static void test_empty(void **state)
{
    struct small_ring s;
    const uint8_t *p = NULL;
    uint8_t out[8];

    small_init(&s);
    assert_int_equal(s.r.size, SMALL);
    assert_int_equal(s.r.mask, SMALL - 1);
    assert_int_equal(s.r.head, 0);
    assert_int_equal(s.r.tail, 0);
    assert_int_equal(s.r.consumer_waiting, 0);
    assert_int_equal(s.r.producer_waiting, 0);
    assert_int_equal(ring_readable(&s.r), 0);
    assert_int_equal(ring_writable(&s.r), SMALL);
    assert_int_equal(ring_peek(&s.r, &p), 0);
    assert_int_equal(ring_read(&s.r, out, sizeof(out)), 0);
    assert_int_equal(ring_peek_copy(&s.r, out, 1), -1);
    assert_int_equal(ring_peek_copy(&s.r, out, 0), 0);
    assert_int_equal(ring_write(&s.r, "x", 0), 0);
    assert_int_equal(s.r.tail, 0);
}

static void test_round_trip(void **state)
{
    struct small_ring s;
    uint8_t in[40], out[40];
    const uint8_t *p = NULL;

    small_init(&s);
    fill(in, 0, sizeof(in));
    assert_int_equal(ring_write(&s.r, in, sizeof(in)), sizeof(in));
    assert_int_equal(ring_readable(&s.r), 40);
    assert_int_equal(ring_writable(&s.r), SMALL - 40);

    /* Peeking shows the bytes in place and leaves them there. */
    assert_int_equal(ring_peek(&s.r, &p), 40);
    assert_ptr_equal(p, s.data);
    assert_memory_equal(p, in, 40);
    assert_int_equal(ring_peek_copy(&s.r, out, 25), 0);
    assert_memory_equal(out, in, 25);
    assert_int_equal(ring_peek_copy(&s.r, out, 41), -1);
    assert_int_equal(ring_readable(&s.r), 40);

    /* A read asks for more than there is and gets what there is, in order. */
    assert_int_equal(ring_read(&s.r, out, 15), 15);
    assert_memory_equal(out, in, 15);
    assert_int_equal(ring_read(&s.r, out, sizeof(out)), 25);
    assert_memory_equal(out, in + 15, 25);
    assert_int_equal(ring_readable(&s.r), 0);
    assert_int_equal(ring_writable(&s.r), SMALL);
    assert_int_equal(s.r.head, 40);
    assert_int_equal(s.r.tail, 40);
}

/* Leave head and tail at 'pos' with nothing readable. */
static void advance_empty(struct small_ring *s, uint64_t pos)
{
    uint8_t junk[SMALL];
    while (s->r.tail < pos) {
        size_t n = pos - s->r.tail < SMALL ? (size_t)(pos - s->r.tail) : SMALL;
        memset(junk, 0, sizeof(junk));
        assert_int_equal(ring_write(&s->r, junk, n), n);
        assert_int_equal(ring_read(&s->r, junk, n), n);
    }
    assert_int_equal(ring_readable(&s->r), 0);
}

static void test_wrap(void **state)
{
    struct small_ring s;
    uint8_t in[30], out[30];
    const uint8_t *p = NULL;

    small_init(&s);
    advance_empty(&s, 50);

    /* 30 bytes from offset 50: 14 at the end of the area, 16 at its start. */
    fill(in, 1000, sizeof(in));
    assert_int_equal(ring_write(&s.r, in, 30), 30);
    assert_memory_equal(s.data + 50, in, 14);
    assert_memory_equal(s.data, in + 14, 16);
    assert_int_equal(ring_readable(&s.r), 30);
    assert_int_equal(ring_writable(&s.r), SMALL - 30);

    /* Peek returns only the contiguous run up to the end. */
    assert_int_equal(ring_peek(&s.r, &p), 14);
    assert_ptr_equal(p, s.data + 50);
    assert_memory_equal(p, in, 14);

    /* peek_copy joins both parts without consuming. */
    memset(out, 0, sizeof(out));
    assert_int_equal(ring_peek_copy(&s.r, out, 30), 0);
    assert_memory_equal(out, in, 30);
    assert_int_equal(ring_peek_copy(&s.r, out, 31), -1);
    assert_int_equal(ring_readable(&s.r), 30);

    /* Consuming the first run moves peek to the start of the area. */
    ring_consume(&s.r, 14);
    assert_int_equal(ring_peek(&s.r, &p), 16);
    assert_ptr_equal(p, s.data);
    assert_memory_equal(p, in + 14, 16);
    assert_int_equal(ring_read(&s.r, out, 30), 16);
    assert_memory_equal(out, in + 14, 16);

    /* And a single read across the end. */
    advance_empty(&s, 2 * SMALL - 5);
    fill(in, 2000, sizeof(in));
    assert_int_equal(ring_write(&s.r, in, 20), 20);
    memset(out, 0, sizeof(out));
    assert_int_equal(ring_read(&s.r, out, 30), 20);
    assert_memory_equal(out, in, 20);
    assert_int_equal(ring_readable(&s.r), 0);
}

static void test_full(void **state)
{
    struct small_ring s;
    uint8_t in[100], out[SMALL];
    const uint8_t *p = NULL;

    small_init(&s);
    advance_empty(&s, 50);

    /* A write larger than the ring takes what fits and says so. */
    fill(in, 0, sizeof(in));
    assert_int_equal(ring_write(&s.r, in, 100), SMALL);
    assert_int_equal(ring_writable(&s.r), 0);
    assert_int_equal(ring_readable(&s.r), SMALL);
    assert_int_equal(ring_write(&s.r, in + SMALL, 1), 0);
    assert_int_equal(s.r.tail - s.r.head, SMALL);
    assert_int_equal(ring_peek(&s.r, &p), SMALL - 50);

    /* Freeing 10 bytes lets exactly 10 more in, after the others. */
    assert_int_equal(ring_read(&s.r, out, 10), 10);
    assert_memory_equal(out, in, 10);
    assert_int_equal(ring_writable(&s.r), 10);
    assert_int_equal(ring_write(&s.r, in + SMALL, 20), 10);
    assert_int_equal(ring_writable(&s.r), 0);
    assert_int_equal(ring_read(&s.r, out, SMALL), SMALL);
    assert_memory_equal(out, in + 10, SMALL);
    assert_int_equal(ring_readable(&s.r), 0);
    assert_int_equal(ring_writable(&s.r), SMALL);
    assert_int_equal(ring_read(&s.r, out, 1), 0);
}

static void test_consume(void **state)
{
    struct small_ring s;
    uint8_t in[40], out[40];
    const uint8_t *p = NULL;

    small_init(&s);
    fill(in, 7, sizeof(in));
    assert_int_equal(ring_write(&s.r, in, 40), 40);
    ring_consume(&s.r, 15);
    assert_int_equal(ring_readable(&s.r), 25);
    assert_int_equal(ring_writable(&s.r), SMALL - 25);
    assert_int_equal(s.r.head, 15);
    assert_int_equal(ring_peek(&s.r, &p), 25);
    assert_ptr_equal(p, s.data + 15);
    assert_memory_equal(p, in + 15, 25);
    ring_consume(&s.r, 0);
    assert_int_equal(ring_readable(&s.r), 25);
    ring_consume(&s.r, 25);
    assert_int_equal(ring_readable(&s.r), 0);
    assert_int_equal(ring_read(&s.r, out, sizeof(out)), 0);
}

static void test_reset(void **state)
{
    struct small_ring s;
    uint8_t in[30], out[30];
    const uint8_t *p = NULL;

    small_init(&s);
    advance_empty(&s, 200);
    fill(in, 0, sizeof(in));
    assert_int_equal(ring_write(&s.r, in, 30), 30);
    s.r.consumer_waiting = 1;
    s.r.producer_waiting = 1;
    int64_t rel = s.r.data_rel;

    ring_reset(&s.r);
    assert_int_equal(s.r.head, 0);
    assert_int_equal(s.r.tail, 0);
    assert_int_equal(s.r.consumer_waiting, 0);
    assert_int_equal(s.r.producer_waiting, 0);
    assert_int_equal(s.r.size, SMALL);
    assert_int_equal(s.r.mask, SMALL - 1);
    assert_int_equal(s.r.data_rel, rel);
    assert_int_equal(ring_readable(&s.r), 0);
    assert_int_equal(ring_writable(&s.r), SMALL);
    assert_int_equal(ring_peek(&s.r, &p), 0);

    /* The ring starts over at the beginning of its data area. */
    assert_int_equal(ring_write(&s.r, in + 5, 20), 20);
    assert_memory_equal(s.data, in + 5, 20);
    assert_int_equal(ring_peek(&s.r, &p), 20);
    assert_ptr_equal(p, s.data);
    assert_int_equal(ring_read(&s.r, out, 30), 20);
    assert_memory_equal(out, in + 5, 20);
}

/*
 * Start with head == tail == 'start' and push 'total' bytes through in
 * uneven chunks, checking every byte and the counts at each step.
 */
static void run_from(uint64_t start, size_t total)
{
    struct small_ring s;
    uint8_t buf[SMALL + 32];
    uint64_t seed = 0x1234567ULL ^ start;
    uint64_t wpos = 0, rpos = 0;

    small_init(&s);
    s.r.head = start;
    s.r.tail = start;
    assert_int_equal(ring_readable(&s.r), 0);
    assert_int_equal(ring_writable(&s.r), SMALL);

    while (rpos < total) {
        size_t n = (size_t)(rnd_next(&seed) % (SMALL + 20)) + 1;
        if (n > total - wpos)
            n = (size_t)(total - wpos);
        size_t room = ring_writable(&s.r);
        fill(buf, wpos, n);
        size_t w = ring_write(&s.r, buf, n);
        assert_int_equal(w, n < room ? n : room);
        wpos += w;
        assert_int_equal(ring_readable(&s.r), wpos - rpos);
        assert_int_equal(ring_writable(&s.r), SMALL - (wpos - rpos));

        const uint8_t *p = NULL;
        size_t run = ring_peek(&s.r, &p);
        size_t off = (size_t)((start + rpos) % SMALL);
        size_t expect_run = SMALL - off < wpos - rpos ? SMALL - off : (size_t)(wpos - rpos);
        assert_int_equal(run, expect_run);
        if (run > 0)
            assert_ptr_equal(p, s.data + off);
        assert_int_equal(mismatch(p, rpos, run), run);

        n = (size_t)(rnd_next(&seed) % (SMALL + 20)) + 1;
        size_t r = ring_read(&s.r, buf, n);
        assert_int_equal(r, n < wpos - rpos ? n : (size_t)(wpos - rpos));
        assert_int_equal(mismatch(buf, rpos, r), r);
        rpos += r;
    }
    assert_int_equal(s.r.head, start + total);
    assert_int_equal(s.r.tail, start + total);
}

static void test_positions_past_2_32(void **state)
{
    /* Each start puts the 2^32 (or 2^33, 2^40) crossing inside the run. */
    static const uint64_t starts[] = {
        (uint64_t)UINT32_MAX - 5,
        (uint64_t)UINT32_MAX - 100,
        (uint64_t)UINT32_MAX * 2 - 37,
        (uint64_t)UINT32_MAX * 3 + 3 - 20,
        ((uint64_t)1 << 40) - 1000,
    };
    for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++)
        run_from(starts[i], 5000);

    /* A straddling write with tail - head crossing 2^32 between them. */
    struct small_ring s;
    uint8_t in[30], out[30];
    const uint8_t *p = NULL;
    uint64_t start = ((uint64_t)1 << 32) * 3 - 20;

    small_init(&s);
    s.r.head = start;
    s.r.tail = start;
    fill(in, 0, sizeof(in));
    assert_int_equal(ring_write(&s.r, in, 30), 30);
    assert_int_equal(s.r.tail, start + 30);
    assert_int_equal(ring_readable(&s.r), 30);
    assert_int_equal(ring_writable(&s.r), SMALL - 30);
    assert_int_equal(ring_peek(&s.r, &p), 20);
    assert_ptr_equal(p, s.data + SMALL - 20);
    assert_int_equal(ring_peek_copy(&s.r, out, 30), 0);
    assert_memory_equal(out, in, 30);
    assert_int_equal(ring_read(&s.r, out, 30), 30);
    assert_memory_equal(out, in, 30);
    assert_int_equal(s.r.head, start + 30);
    assert_int_equal(ring_readable(&s.r), 0);
    assert_int_equal(ring_writable(&s.r), SMALL);
}

/*
 * The data area is found relative to the ring, so the same memory mapped
 * twice at different addresses is one ring: bytes written through one
 * mapping are read through the other.
 */
static void test_self_relative(void **state)
{
    size_t len = 2 * (size_t)sysconf(_SC_PAGESIZE);
    int fd = memfd_create("test_ring", 0);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)len), 0);
    uint8_t *a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    uint8_t *b = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_true(a != MAP_FAILED && b != MAP_FAILED);
    assert_ptr_not_equal(a, b);
    close(fd);

    struct ring *ra = (struct ring *)a, *rb = (struct ring *)b;
    ring_init(ra, a + 1024, 1024);
    uint8_t in[300], out[300];
    const uint8_t *p = NULL;
    fill(in, 99, sizeof(in));
    assert_int_equal(ring_write(ra, in, 300), 300);
    assert_int_equal(ring_readable(rb), 300);
    assert_int_equal(ring_peek(rb, &p), 300);
    assert_ptr_equal(p, b + 1024);
    assert_int_equal(ring_read(rb, out, 300), 300);
    assert_memory_equal(out, in, 300);
    assert_int_equal(ring_readable(ra), 0);
    assert_int_equal(ring_writable(ra), 1024);

    munmap(a, len);
    munmap(b, len);
}

/* Producer of the concurrent tests: STREAM_BYTES of pat() in random chunks; -1 on timeout. */
static int stream_produce(struct ring *r, uint64_t seed)
{
    static uint8_t buf[STREAM_MAX_CHUNK];
    int64_t deadline = now_us() + STREAM_DEADLINE_US;
    uint64_t pos = 0;

    while (pos < STREAM_BYTES) {
        size_t n = (size_t)(rnd_next(&seed) % STREAM_MAX_CHUNK) + 1;
        if (n > STREAM_BYTES - pos)
            n = (size_t)(STREAM_BYTES - pos);
        fill(buf, pos, n);
        size_t w = ring_write(r, buf, n);
        pos += w;
        if (w < n) {
            if (now_us() > deadline)
                return -1;
            sched_yield();
        }
    }
    return 0;
}

/*
 * Consumer of the concurrent tests, switching between read, peek+consume
 * and peek_copy+consume.  Returns STREAM_BYTES when all arrived intact,
 * otherwise the stream position of the first wrong byte (or where it
 * stopped waiting).
 */
static uint64_t stream_consume(struct ring *r, uint64_t seed)
{
    static uint8_t buf[STREAM_MAX_CHUNK];
    int64_t deadline = now_us() + STREAM_DEADLINE_US;
    uint64_t pos = 0;

    while (pos < STREAM_BYTES) {
        size_t want = (size_t)(rnd_next(&seed) % STREAM_MAX_CHUNK) + 1;
        size_t got = 0, bad;
        const uint8_t *p = NULL;

        switch (rnd_next(&seed) % 3) {
        case 0:
            got = ring_read(r, buf, want);
            bad = mismatch(buf, pos, got);
            break;
        case 1:
            got = ring_peek(r, &p);
            if (got > want)
                got = want;
            bad = mismatch(p, pos, got);
            ring_consume(r, got);
            break;
        default:
            got = ring_readable(r);
            if (got > want)
                got = want;
            if (ring_peek_copy(r, buf, got) < 0)
                return pos;
            bad = mismatch(buf, pos, got);
            ring_consume(r, got);
            break;
        }
        if (bad < got)
            return pos + bad;
        pos += got;
        if (got == 0) {
            if (now_us() > deadline)
                return pos;
            sched_yield();
        }
    }
    /* Anything beyond the stream would be bytes the producer never wrote. */
    return pos + ring_readable(r);
}

static void test_stream_two_processes(void **state)
{
    size_t len = 4096 + STREAM_RING;
    uint8_t *region = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(region != MAP_FAILED);
    struct ring *r = (struct ring *)region;
    ring_init(r, region + 4096, STREAM_RING);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(stream_produce(r, 0xC0FFEEULL) == 0 ? 0 : 3);

    uint64_t got = stream_consume(r, 0xBADC0DEULL);
    if (got != STREAM_BYTES)
        kill(pid, SIGKILL);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (got != STREAM_BYTES)
        fail_msg("stream broken at byte %llu of %u", (unsigned long long)got, STREAM_BYTES);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(r->head, STREAM_BYTES);
    assert_int_equal(r->tail, STREAM_BYTES);
    munmap(region, len);
}

struct producer_arg {
    struct ring *r;
    int rc;
    int done;
};

static void *producer_thread(void *arg)
{
    struct producer_arg *a = arg;
    a->rc = stream_produce(a->r, 0xFEEDULL);
    __atomic_store_n(&a->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void test_stream_two_threads(void **state)
{
    static struct {
        struct ring r;
        uint8_t data[STREAM_RING];
    } ring_and_data;
    __typeof__(ring_and_data) *s = &ring_and_data;
    ring_init(&s->r, s->data, STREAM_RING);
    /* Start just below 2^32 so the concurrent run crosses it too. */
    uint64_t start = (uint64_t)UINT32_MAX - 3 * STREAM_RING - 17;
    s->r.head = s->r.tail = start;

    struct producer_arg a = { .r = &s->r, .rc = -2 };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, producer_thread, &a), 0);
    uint64_t got = stream_consume(&s->r, 0x5EEDULL);
    if (got != STREAM_BYTES) {
        /* Drain so the producer, which only ever waits for room, can finish. */
        uint8_t sink[STREAM_RING];
        while (!__atomic_load_n(&a.done, __ATOMIC_ACQUIRE)) {
            ring_read(&s->r, sink, sizeof(sink));
            sched_yield();
        }
    }
    assert_int_equal(pthread_join(t, NULL), 0);
    if (got != STREAM_BYTES)
        fail_msg("stream broken at byte %llu of %u", (unsigned long long)got, STREAM_BYTES);
    assert_int_equal(a.rc, 0);
    assert_int_equal(s->r.head, start + STREAM_BYTES);
    assert_int_equal(s->r.tail, start + STREAM_BYTES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_wrap),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_consume),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_positions_past_2_32),
        cmocka_unit_test(test_self_relative),
        cmocka_unit_test(test_stream_two_processes),
        cmocka_unit_test(test_stream_two_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
