/*
 * ring: SPSC byte ring (see ring.h).  The only ordering that matters is
 * that data bytes become visible before the position that publishes them,
 * and that a consumer has finished reading bytes before it frees them.
 */
#include "shm/ring.h"

#include <string.h>

#include <ck_pr.h>

void ring_init(struct ring *r, void *data, uint32_t size)
{
    memset(r, 0, sizeof(*r));
    r->size = size;
    r->mask = size - 1;
    r->data_rel = (uint8_t *)data - (uint8_t *)r;
}

void ring_reset(struct ring *r)
{
    r->head = 0;
    r->tail = 0;
    r->consumer_waiting = 0;
    r->producer_waiting = 0;
}

static inline uint8_t *ring_data(const struct ring *r)
{
    return (uint8_t *)r + r->data_rel;
}

size_t ring_readable(const struct ring *r)
{
    uint64_t tail = ck_pr_load_64(&r->tail);
    /* Reads of the data must not be hoisted above the load of tail. */
    ck_pr_fence_load();
    return (size_t)(tail - ck_pr_load_64(&r->head));
}

size_t ring_writable(const struct ring *r)
{
    uint64_t head = ck_pr_load_64(&r->head);
    /* Writes into the space must not start before the consumer released it. */
    ck_pr_fence_load_store();
    return r->size - (size_t)(ck_pr_load_64(&r->tail) - head);
}

size_t ring_write(struct ring *r, const void *p, size_t n)
{
    size_t room = ring_writable(r);
    if (n > room)
        n = room;
    if (n == 0)
        return 0;
    uint64_t tail = r->tail;
    size_t off = (size_t)(tail & r->mask);
    size_t first = r->size - off;
    if (first > n)
        first = n;
    memcpy(ring_data(r) + off, p, first);
    memcpy(ring_data(r), (const uint8_t *)p + first, n - first);
    /* Publish the bytes before the position that makes them readable. */
    ck_pr_fence_store();
    ck_pr_store_64(&r->tail, tail + n);
    return n;
}

size_t ring_peek(const struct ring *r, const uint8_t **p)
{
    size_t avail = ring_readable(r);
    size_t off = (size_t)(r->head & r->mask);
    size_t first = r->size - off;
    *p = ring_data(r) + off;
    return avail < first ? avail : first;
}

int ring_peek_copy(const struct ring *r, void *out, size_t n)
{
    if (ring_readable(r) < n)
        return -1;
    size_t off = (size_t)(r->head & r->mask);
    size_t first = r->size - off;
    if (first > n)
        first = n;
    memcpy(out, ring_data(r) + off, first);
    memcpy((uint8_t *)out + first, ring_data(r), n - first);
    return 0;
}

void ring_consume(struct ring *r, size_t n)
{
    /* Our reads of the released bytes must complete before the producer may reuse them. */
    ck_pr_fence_load_store();
    ck_pr_store_64(&r->head, r->head + n);
}

size_t ring_read(struct ring *r, void *out, size_t n)
{
    size_t avail = ring_readable(r);
    if (n > avail)
        n = avail;
    if (n == 0)
        return 0;
    size_t off = (size_t)(r->head & r->mask);
    size_t first = r->size - off;
    if (first > n)
        first = n;
    memcpy(out, ring_data(r) + off, first);
    memcpy((uint8_t *)out + first, ring_data(r), n - first);
    ring_consume(r, n);
    return n;
}
