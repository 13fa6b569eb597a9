/*
 * ring: a single-producer single-consumer byte ring in shared memory.
 *
 * Each backend slot has two: requests (worker -> executor) and responses
 * (executor -> worker).  Positions are 64-bit byte counts that never wrap, so
 * "full" and "empty" need no extra state.  The data area is found through a
 * self-relative offset, so a ring works in any process that maps the region.
 * Waking the other side is the caller's business; the ring only keeps the
 * flags that say whether a side has gone to sleep on it.
 */
#ifndef PGIRIS_RING_H
#define PGIRIS_RING_H

#include <stddef.h>
#include <stdint.h>

#include <ck_cc.h>
#include <ck_md.h>

struct ring {
    uint64_t head;                  /* bytes consumed; written by the consumer */
    char pad0[CK_MD_CACHELINE - sizeof(uint64_t)];
    uint64_t tail;                  /* bytes produced; written by the producer */
    char pad1[CK_MD_CACHELINE - sizeof(uint64_t)];
    uint32_t size;                  /* power of two */
    uint32_t mask;
    int64_t data_rel;               /* data area = (uint8_t *)ring + data_rel */
    uint32_t consumer_waiting;      /* consumer found it empty and will sleep */
    uint32_t producer_waiting;      /* producer found it full and will sleep */
};

/* Set up a ring whose data area ('size' bytes, a power of two) is at 'data'. */
void ring_init(struct ring *r, void *data, uint32_t size);

/* Forget everything in the ring (only while neither side is using it). */
void ring_reset(struct ring *r);

/* Bytes the consumer can read now. */
size_t ring_readable(const struct ring *r);
/* Bytes the producer can write now. */
size_t ring_writable(const struct ring *r);

/* Producer: copy up to n bytes in; returns how many fit. */
size_t ring_write(struct ring *r, const void *p, size_t n);

/*
 * Consumer: the longest contiguous readable run starting at the head.
 * Returns its length (0 if empty) and points *p at it.
 */
size_t ring_peek(const struct ring *r, const uint8_t **p);
/* Consumer: copy n bytes from the head without consuming; 0, or -1 if fewer. */
int ring_peek_copy(const struct ring *r, void *out, size_t n);
/* Consumer: release n bytes that were read. */
void ring_consume(struct ring *r, size_t n);
/* Consumer: copy up to n bytes out and consume them; returns how many. */
size_t ring_read(struct ring *r, void *out, size_t n);

#endif
