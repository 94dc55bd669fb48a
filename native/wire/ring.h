/*
 * ring.h — the event transport: a single-producer single-consumer ring of
 * coroscope_event records (coroscope_events.h) in a shared memory file.
 *
 * Design
 *   One ring per producing thread. The owner creates it (cs_ring_create): a
 *   memfd (memfd_create, MFD_CLOEXEC, made mode 0600 with fchmod before
 *   anything is written, sized once and then sealed against shrinking and
 *   growing), mapped shared. A consumer — another thread, or another process
 *   that received the fd (SCM_RIGHTS, /proc/PID/fd by the same user, fork) —
 *   maps the same file with cs_ring_attach and reads with cs_ring_read. The
 *   producer never blocks, never allocates and makes no system call after
 *   cs_ring_create: a full ring drops the new record and counts it; unread
 *   records are never overwritten — except in overwrite mode (the flight
 *   recorder, below), where the producer itself gives the oldest records up.
 *
 * Shared layout (all integers little-endian, as on the only supported
 * target, x86-64; `head`, `tail` and the drop fields are 64-bit words
 * accessed atomically):
 *
 *   offset  size  field          written by / meaning
 *   ------  ----  -------------  ---------------------------------------------
 *   cache line 0: fixed at creation, read-only afterwards
 *        0     8  magic          CS_RING_MAGIC, the bytes "CSRING\0\1"
 *        8     4  version        CS_RING_VERSION (this layout)
 *       12     4  record_size    COROSCOPE_EVENT_SIZE (64)
 *       16     4  capacity       records; a power of two in
 *                                [CS_RING_MIN_CAPACITY, CS_RING_MAX_CAPACITY]
 *       20     4  slots_offset   CS_RING_HEADER_SIZE (4096): offset of slot 0
 *       24     4  producer_tid   OS thread id of the producer (0: not known yet)
 *       28     4  worker         worker index, COROSCOPE_NO_WORKER otherwise
 *       32     4  events_version COROSCOPE_EVENTS_VERSION of the producer
 *       36    28  (zero)
 *   cache line 1 (offset 64): head, u64 — producer; release store. Number of
 *                                records published since creation; records
 *                                [tail, head) are readable, record n lives in
 *                                slot n & (capacity - 1).
 *   cache line 2 (offset 128): tail, u64 — consumer, and the producer in
 *                                overwrite mode; compare-and-swap. Number of
 *                                records consumed (or given up) since creation.
 *                                The slots of records below tail may be reused.
 *      136     4  overwrite      1: overwrite mode (flight recorder); any
 *                                process may flip it (relaxed); the producer
 *                                reads it only when the ring is full
 *      144     8  overwritten    records given up in overwrite mode (producer)
 *   cache line 3 (offset 192): drop statistics — producer, relaxed stores;
 *                                informative only (the exact account of every
 *                                loss is the DROP records in the stream):
 *      192     8  dropped        records lost since creation
 *      200     8  drop_pending   lost and not yet reported by a DROP record
 *      208     8  drop_first_ts  ts of the first of those (0: none pending)
 *      216     8  drop_last_ts   ts of the last of those
 *   up to offset 4096: zero.
 *   offset 4096: capacity slots of record_size bytes.
 *   The file is exactly 4096 + capacity * 64 bytes.
 *
 * Protocol
 *   Producer: writes records into slots [head, tail + capacity) and then
 *   publishes them by storing head (release). A consumer reading head with
 *   an acquire load therefore sees complete records only. Publication is
 *   batched: head is stored at most every `batch` records (CS_RING_BATCH by
 *   default), when the ring is found full, and on cs_ring_flush — a producer
 *   that goes idle must flush, or its last records stay invisible.
 *   Consumer: loads tail and head (acquire), copies records [tail, head)
 *   out, then moves tail on with a compare-and-swap (acq_rel), giving the
 *   slots back. 0 <= head - tail <= capacity always; a consumer that sees
 *   otherwise reports CS_RING_ECORRUPT.
 *
 *   Overwrite mode (the flight recorder: no consumer yet, keep the most
 *   recent records). A producer that finds the ring full and `overwrite` set
 *   moves tail on by one chunk (capacity / 8 records) with a compare-and-
 *   swap and then reuses those slots, so the ring always holds the last
 *   7/8..8/8 of its capacity. Handing over to a consumer: someone clears
 *   `overwrite` (the engine does it when an inspector subscribes); the
 *   producer may still complete one chunk step it had decided on. A
 *   consumer's copy is therefore valid only if its compare-and-swap of tail
 *   succeeds: the producer must move tail past a record before it reuses
 *   that record's slot. On failure the consumer drops the copy and reads
 *   again from the new tail. Records given up this way leave a gap: the
 *   consumer then "resynchronises": it keeps STRING and STRING_MORE records
 *   but drops every other record until the producer's next THREAD record.
 *   The telemetry layer makes that point safe: in overwrite mode each
 *   thread starts a new string epoch (forgets what it defined, announces
 *   itself with THREAD) after every chunk it writes, so no record after a
 *   THREAD refers to a string defined before it.
 *
 *   Loss: a record that finds no free slot is dropped and counted (with the
 *   ts of the first and the last one lost). The next time the producer
 *   writes or flushes and a slot is free, it first writes one
 *   COROSCOPE_EV_DROP record (ts = last lost ts, tid/worker of the ring,
 *   a0 count, a1 first lost ts, a2 last lost ts), then goes on. The stream
 *   stays decodable, and the records read plus the DROP counts are exactly
 *   the records written.
 *
 * Threads and ownership
 *   - cs_ring_write, cs_ring_flush: the producer
 *     thread only (one producer per ring, ever at a time).
 *   - cs_ring_read: the consumer only (one consumer per ring at a time; a
 *     consumer that attaches later continues from the shared tail).
 *   - A cs_ring handle is process-local. Its producer fields and consumer
 *     fields sit on separate cache lines, so the owner's handle may also be
 *     used to read from another thread of the same process.
 *   - cs_ring_create/cs_ring_destroy: the owner; cs_ring_attach/
 *     cs_ring_detach: a consumer. Destroying or detaching while another
 *     thread of this process uses the handle is a bug. Other processes keep
 *     their own mapping: the memory lives while any mapping or fd does.
 *
 * A consumer trusts nothing in the file: attach validates the header and
 * the size (and requires the shrink seal, so the file cannot be truncated
 * under the mapping, which would be a SIGBUS), and read checks head against
 * tail and capacity every time it loads it.
 *
 * ring.c depends on libc and coroscope_events.h only, so consumers outside
 * the engine (the tests, the benchmark, the Node addon) compile it as is.
 *
 * Errors: functions returning int return 0 or a positive errno value or one
 * of the CS_RING_E* codes below (cs_ring_strerror names them); cs_ring_read
 * returns a count, or a negated code.
 */
#ifndef CS_RING_H
#define CS_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "../engine/include/coroscope_events.h"

#define CS_RING_MAGIC 0x0100474e49525343ull /* "CSRING\0\1" read as a little-endian u64 */
#define CS_RING_VERSION 2u               /* 2: overwrite mode, tail by CAS */
#define CS_RING_HEADER_SIZE 4096u
#define CS_RING_MIN_CAPACITY 2u
#define CS_RING_MAX_CAPACITY (1u << 24) /* 16 Mi records = 1 GiB of slots */
#define CS_RING_BATCH 32u               /* default publication batch */

/* Error codes (beyond errno's range, distinct from COROSCOPE_ESTACKOVERFLOW). */
enum {
    CS_RING_EMAGIC = 10101,   /* not a coroscope ring: bad magic, or not a regular file */
    CS_RING_EVERSION,         /* a ring layout version this code does not read */
    CS_RING_ERECSIZE,         /* record size is not COROSCOPE_EVENT_SIZE */
    CS_RING_ECAPACITY,        /* capacity not a power of two or out of range */
    CS_RING_ETRUNCATED,       /* the file is smaller than its header says */
    CS_RING_EUNSEALED,        /* the file may shrink under the mapping (no F_SEAL_SHRINK) */
    CS_RING_ECORRUPT,         /* head/tail inconsistent: the producer side is broken */
};

typedef struct cs_ring_header {
    /* cache line 0: fixed at creation */
    uint64_t magic;
    uint32_t version;
    uint32_t record_size;
    uint32_t capacity;
    uint32_t slots_offset;
    uint32_t producer_tid;
    uint32_t worker;
    uint32_t events_version;
    uint8_t zero0[28];
    /* cache line 1 */
    _Alignas(64) _Atomic uint64_t head;
    /* cache line 2 */
    _Alignas(64) _Atomic uint64_t tail;
    _Atomic uint32_t overwrite;
    uint32_t zero2;
    _Atomic uint64_t overwritten;
    /* cache line 3 */
    _Alignas(64) _Atomic uint64_t dropped;
    _Atomic uint64_t drop_pending;
    _Atomic uint64_t drop_first_ts;
    _Atomic uint64_t drop_last_ts;
} cs_ring_header;

_Static_assert(offsetof(cs_ring_header, capacity) == 16, "ring layout");
_Static_assert(offsetof(cs_ring_header, events_version) == 32, "ring layout");
_Static_assert(offsetof(cs_ring_header, head) == 64, "ring layout");
_Static_assert(offsetof(cs_ring_header, tail) == 128, "ring layout");
_Static_assert(offsetof(cs_ring_header, overwrite) == 136, "ring layout");
_Static_assert(offsetof(cs_ring_header, overwritten) == 144, "ring layout");
_Static_assert(offsetof(cs_ring_header, dropped) == 192, "ring layout");
_Static_assert(offsetof(cs_ring_header, drop_last_ts) == 216, "ring layout");
_Static_assert(sizeof(cs_ring_header) <= CS_RING_HEADER_SIZE, "ring layout");

typedef struct cs_ring {
    /* read-only after create/attach */
    cs_ring_header *hdr;
    coroscope_event *slots;
    uint64_t mask;            /* capacity - 1 */
    uint32_t capacity;
    uint32_t batch;           /* publish head at least every `batch` records */
    size_t map_size;
    int fd;                   /* create: owned; attach: the caller's */
    int owner;                /* 1: created here (destroy closes fd) */
    /* producer thread only */
    _Alignas(64) uint64_t p_head;       /* next record to write */
    uint64_t p_published;               /* head as last stored */
    uint64_t p_tail;                    /* tail as last loaded */
    uint64_t p_drop_count;              /* lost, not reported yet */
    uint64_t p_drop_first, p_drop_last;
    /* consumer only */
    _Alignas(64) uint64_t c_tail;       /* next record to read */
    uint64_t c_head;                    /* head as last loaded */
    uint64_t c_given_up;                /* records the producer gave up before we read them */
    uint64_t c_skipped;                 /* records dropped while resynchronising */
    int c_resync;                       /* after a gap: drop records up to the next THREAD */
} cs_ring;

/* Create a ring of `capacity` records (a power of two in [CS_RING_MIN_CAPACITY,
 * CS_RING_MAX_CAPACITY]) for the producer `tid` (0 if not known yet) of
 * worker `worker` (COROSCOPE_NO_WORKER for other threads). The pages are
 * populated now, so the producer never faults them in. On success r->fd is
 * the memfd to hand to a consumer. 0, EINVAL (capacity), or the errno of
 * memfd_create/fchmod/ftruncate/mmap/fcntl. */
int cs_ring_create(cs_ring *r, uint32_t capacity, uint32_t tid, uint32_t worker);

/* Unmap and close the memfd. Consumers elsewhere keep their mapping. */
void cs_ring_destroy(cs_ring *r);

/* Map the ring in fd and validate it. fd stays the caller's (not closed,
 * not dup'ed; it may be closed after attach). 0, CS_RING_EMAGIC,
 * CS_RING_EVERSION, CS_RING_ERECSIZE, CS_RING_ECAPACITY, CS_RING_ETRUNCATED,
 * CS_RING_EUNSEALED, or the errno of fstat/fcntl/mmap (EBADF, ENODEV...). */
int cs_ring_attach(cs_ring *r, int fd);

/* Unmap an attached ring. */
void cs_ring_detach(cs_ring *r);

/* Copy up to max records out, oldest first, and give their slots back.
 * Returns the number copied (0: nothing published), or -CS_RING_ECORRUPT.
 * After records were given up by an overwriting producer, the records up to
 * its next THREAD record are not returned (STRING/STRING_MORE are): see
 * "Overwrite mode" above; r->c_given_up and r->c_skipped count them. */
ssize_t cs_ring_read(cs_ring *r, coroscope_event *out, size_t max);

/* Overwrite mode on or off (any thread, any process mapping the ring). */
static inline void cs_ring_set_overwrite(cs_ring *r, int on)
{
    atomic_store_explicit(&r->hdr->overwrite, on ? 1u : 0u, memory_order_seq_cst);
}

/* Message for a code returned by these functions (errno values included). */
const char *cs_ring_strerror(int err);

/* ---- producer fast path ----------------------------------------------------- */

/* Slow paths (ring.c): the ring looked full, or a loss awaits its report. */
int cs_ring_write_slow(cs_ring *r, const coroscope_event *ev);

/* Publish every record written so far, writing the pending DROP record
 * first if there is room for it. 0 when everything is published, ENOBUFS
 * when a loss is still waiting for a free slot to be reported. */
int cs_ring_flush(cs_ring *r);

/* From another thread of the producer's process, when the producer may be
 * stuck forever (the process is exiting): publish the records it wrote
 * completely but has not published yet. head only ever grows (a CAS, and
 * the producer's own later store is at least as large); a record being
 * written at this moment is not counted yet (p_head moves after it). */
void cs_ring_publish_foreign(cs_ring *r);

static inline void cs_ring_publish(cs_ring *r)
{
    r->p_published = r->p_head;
    atomic_store_explicit(&r->hdr->head, r->p_head, memory_order_release);
}

/* Free slots as the consumer last left them (loads its tail: not for the
 * fast path). The producer only. */
static inline uint64_t cs_ring_room(cs_ring *r)
{
    r->p_tail = atomic_load_explicit(&r->hdr->tail, memory_order_acquire);
    return r->capacity - (r->p_head - r->p_tail);
}

/* Append one record. 0, or ENOBUFS: the ring is full and the record was
 * counted as lost (it will be reported by a DROP record). No system call,
 * no allocation, no lock; the consumer's cache line is read only when the
 * ring looks full. */
static inline int cs_ring_write(cs_ring *r, const coroscope_event *ev)
{
    uint64_t h = r->p_head;
    if (__builtin_expect(h - r->p_tail >= r->capacity || r->p_drop_count != 0, 0))
        return cs_ring_write_slow(r, ev);
    memcpy(&r->slots[h & r->mask], ev, sizeof *ev);
    atomic_signal_fence(memory_order_release); /* the record before p_head counts it (cs_ring_publish_foreign) */
    r->p_head = h + 1;
    if (h + 1 - r->p_published >= r->batch)
        cs_ring_publish(r);
    return 0;
}

#endif
