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
 *   producer never allocates and makes no system call on its normal path
 *   (room in the ring). What it does when the ring is full is the ring's
 *   policy (below): drop the new record and count it, or wait for room,
 *   bounded. Unread records are never overwritten — except in overwrite
 *   mode (the flight recorder, below), where the producer itself gives the
 *   oldest records up.
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
 *       36     4  publish_each   1: the producer publishes every record right
 *                                after stamping it (cs_ring_set_publish_each,
 *                                before the ring is handed out); 0: in batches
 *                                (or not said: producers older than this field)
 *       40    24  (zero)
 *   cache line 1 (offset 64): head, u64 — producer; release store. Number of
 *                                records published since creation; records
 *                                [tail, head) are readable, record n lives in
 *                                slot n & (capacity - 1).
 *   cache line 2 (offset 128): tail, u64 — consumer, and the producer in
 *                                overwrite mode; compare-and-swap. Number of
 *                                records consumed (or given up) since creation.
 *                                The slots of records below tail may be reused.
 *                                Its low 32 bits are the futex a waiting
 *                                producer sleeps on (shared, not private).
 *      136     4  overwrite      1: overwrite mode (flight recorder); any
 *                                process may flip it (relaxed); the producer
 *                                reads it only when the ring is full
 *      140     4  waiting        1: the producer waits for room (it sets and
 *                                clears it); a consumer that moved tail and
 *                                sees it wakes the futex on tail
 *      144     8  overwritten    records given up in overwrite mode (producer)
 *   cache line 3 (offset 192): loss — producer, and a final consumer:
 *      192     8  dropped        records lost since creation (statistics)
 *      200     8  drop_pending   lost and not yet reported by a DROP record:
 *                                the producer adds 1 per loss (fetch_add);
 *                                whoever reports them takes the count with
 *                                an exchange to 0 (see "Loss")
 *      208     8  drop_first_ts  ts of the first of those (0: none pending)
 *      216     8  drop_last_ts   ts of the last of those
 *   cache line 4 (offset 256): policy and wake-up:
 *      256     4  policy         CS_RING_DROP or CS_RING_BLOCK (any process
 *                                may set it; the producer reads it only when
 *                                the ring is full)
 *      260     4  sleeping       1: the consumer sleeps (or is about to) and
 *                                wants its doorbell rung at the watermark
 *      264     4  watermark      records: ring the doorbell when this many
 *                                are unread (capacity / 4 at creation)
 *      268     4  (zero)
 *      272     8  block_ns       CS_RING_BLOCK: how long a producer waits for
 *                                room before it gives up (then drops)
 *      280     8  waits          times the producer waited for room
 *      288     8  waited_ns      total time it waited
 *      296     8  stalls         times it gave up waiting (consumer stalled)
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
 *   otherwise reports CS_RING_ECORRUPT — once it has checked that tail did
 *   not move meanwhile: in overwrite mode the producer may give a chunk up
 *   and publish into it between the consumer's load of tail and its load of
 *   head (head then looks more than a capacity ahead); the consumer then
 *   reads again from the new tail.
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
 *   Policy: what a producer does with a record that finds the ring full.
 *   CS_RING_DROP (the default): drop it and count it (below); the producer
 *   is never slowed. CS_RING_BLOCK (lossless): wait for the consumer to
 *   make room — rings the consumer's doorbell, then sleeps on the futex on
 *   tail, which the consumer wakes after it moved tail — for at most
 *   block_ns (LTTng's blocking channels, with a timeout). A producer that
 *   waited that long in vain counts the record as lost, as in drop mode,
 *   and does not wait again until the consumer moved tail (it is alive
 *   again): a dead or stuck consumer costs the producer block_ns once, not
 *   once per record. Setting the policy wakes a waiting producer, which
 *   looks again (cs_ring_set_policy). Overwrite mode wins over both.
 *
 *   Waking the consumer (the doorbell): a consumer that has nothing much to
 *   read sets `sleeping` in each of its rings (cs_ring_arm), then sleeps on
 *   an eventfd (its doorbell) with a timeout. A producer looks at
 *   `sleeping` each time it publishes (one load of a line nobody writes
 *   meanwhile); when it is set and at least `watermark` records are
 *   unread, or the producer is about to wait for room, it takes the flag
 *   (compare-and-swap 1 -> 0) and writes 1 to the eventfd it was given
 *   (cs_ring_set_doorbell; -1: none) — one system call per consumer sleep,
 *   not per record. The consumer clears the flags when it wakes
 *   (cs_ring_disarm). The producer's load is not ordered after its head
 *   store: the consumer may, rarely, sleep through one crossing, until the
 *   producer's next publication or the consumer's timeout.
 *
 *   Loss: a record that finds no free slot (drop mode, or a wait that gave
 *   up) is dropped and counted in drop_pending (with the ts of the first
 *   and the last one lost). The next time the producer writes or flushes
 *   and a slot is free, it takes drop_pending (exchange with 0) and writes
 *   one COROSCOPE_EV_DROP record (ts = last lost ts, tid/worker of the
 *   ring, a0 count, a1 first lost ts, a2 last lost ts), then goes on. A
 *   consumer that ends the stream while a loss is still pending (the
 *   producer exited, or never found room again) takes the count the same
 *   way and reports it in a DROP record of its own (cs_ring_take_pending),
 *   so each loss is reported exactly once. The stream stays decodable, and
 *   the records read plus the DROP counts are exactly the records written.
 *
 * Threads and ownership
 *   - cs_ring_write, cs_ring_flush, cs_ring_set_doorbell: the producer
 *     thread only (one producer per ring, ever at a time).
 *   - cs_ring_read, cs_ring_arm, cs_ring_disarm, cs_ring_take_pending: the
 *     consumer only (one consumer per ring at a time; a consumer that
 *     attaches later continues from the shared tail).
 *   - cs_ring_set_policy, cs_ring_set_overwrite: any thread, any process.
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

#define CS_RING_MAGIC        0x0100474e49525343ull /* "CSRING\0\1" read as a little-endian u64 */
#define CS_RING_VERSION      3u                    /* 2: overwrite mode, tail by CAS; 3: policy, doorbell */
#define CS_RING_HEADER_SIZE  4096u
#define CS_RING_MIN_CAPACITY 2u
#define CS_RING_MAX_CAPACITY (1u << 24)    /* 16 Mi records = 1 GiB of slots */
#define CS_RING_BATCH        32u           /* default publication batch */
#define CS_RING_BLOCK_NS     1000000000ull /* default bound of a lossless producer's wait: 1 s */

/* What a producer does when the ring is full (ring.h "Policy"). */
enum { CS_RING_DROP = 0, CS_RING_BLOCK = 1 };

/* Error codes (beyond errno's range, distinct from COROSCOPE_ESTACKOVERFLOW). */
enum {
    CS_RING_EMAGIC = 10101, /* not a coroscope ring: bad magic, or not a regular file */
    CS_RING_EVERSION,       /* a ring layout version this code does not read */
    CS_RING_ERECSIZE,       /* record size is not COROSCOPE_EVENT_SIZE */
    CS_RING_ECAPACITY,      /* capacity not a power of two or out of range */
    CS_RING_ETRUNCATED,     /* the file is smaller than its header says */
    CS_RING_EUNSEALED,      /* the file may shrink under the mapping (no F_SEAL_SHRINK) */
    CS_RING_ECORRUPT,       /* head/tail inconsistent: the producer side is broken */
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
    uint32_t publish_each;
    uint8_t zero0[24];
    /* cache line 1 */
    _Alignas(64) _Atomic uint64_t head;
    /* cache line 2 */
    _Alignas(64) _Atomic uint64_t tail;
    _Atomic uint32_t overwrite;
    _Atomic uint32_t waiting;
    _Atomic uint64_t overwritten;
    /* cache line 3 */
    _Alignas(64) _Atomic uint64_t dropped;
    _Atomic uint64_t drop_pending;
    _Atomic uint64_t drop_first_ts;
    _Atomic uint64_t drop_last_ts;
    /* cache line 4 */
    _Alignas(64) _Atomic uint32_t policy;
    _Atomic uint32_t sleeping;
    uint32_t watermark;
    uint32_t zero4;
    _Atomic uint64_t block_ns;
    _Atomic uint64_t waits;
    _Atomic uint64_t waited_ns;
    _Atomic uint64_t stalls;
} cs_ring_header;

_Static_assert(offsetof(cs_ring_header, capacity) == 16, "ring layout");
_Static_assert(offsetof(cs_ring_header, events_version) == 32, "ring layout");
_Static_assert(offsetof(cs_ring_header, publish_each) == 36, "ring layout");
_Static_assert(offsetof(cs_ring_header, head) == 64, "ring layout");
_Static_assert(offsetof(cs_ring_header, tail) == 128, "ring layout");
_Static_assert(offsetof(cs_ring_header, overwrite) == 136, "ring layout");
_Static_assert(offsetof(cs_ring_header, overwritten) == 144, "ring layout");
_Static_assert(offsetof(cs_ring_header, dropped) == 192, "ring layout");
_Static_assert(offsetof(cs_ring_header, waiting) == 140, "ring layout");
_Static_assert(offsetof(cs_ring_header, drop_last_ts) == 216, "ring layout");
_Static_assert(offsetof(cs_ring_header, policy) == 256, "ring layout");
_Static_assert(offsetof(cs_ring_header, block_ns) == 272, "ring layout");
_Static_assert(offsetof(cs_ring_header, stalls) == 296, "ring layout");
_Static_assert(sizeof(cs_ring_header) <= CS_RING_HEADER_SIZE, "ring layout");

typedef struct cs_ring {
    /* read-only after create/attach */
    cs_ring_header *hdr;
    coroscope_event *slots;
    uint64_t mask; /* capacity - 1 */
    uint32_t capacity;
    uint32_t batch; /* publish head at least every `batch` records */
    size_t map_size;
    int fd;    /* create: owned; attach: the caller's */
    int owner; /* 1: created here (destroy closes fd) */
    /* producer thread only */
    _Alignas(64) uint64_t p_head; /* next record to write */
    uint64_t p_published;         /* head as last stored */
    uint64_t p_tail;              /* tail as last loaded */
    uint64_t p_drop_count;        /* lost since the last report (nonzero: take the slow path) */
    uint64_t p_stall_tail;        /* tail when a wait last gave up */
    int p_stalled;                /* 1: gave up waiting; no wait until tail moves */
    int doorbell;                 /* eventfd of the consumer's doorbell, -1: none */
    /* consumer only */
    _Alignas(64) uint64_t c_tail; /* next record to read */
    uint64_t c_head;              /* head as last loaded */
    uint64_t c_given_up;          /* records the producer gave up before we read them */
    uint64_t c_skipped;           /* records dropped while resynchronising */
    int c_resync;                 /* after a gap: drop records up to the next THREAD */
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
 * "Overwrite mode" above; r->c_given_up and r->c_skipped count them.
 * Never spins without bound: a reader that loses CS_RING_READ_TRIES races
 * in a row against an overwriting producer (it lapped the reader during
 * each copy) returns 0 and is called again later; what the producer gave up
 * meanwhile is counted in c_given_up as usual. */
#define CS_RING_READ_TRIES 1024
ssize_t cs_ring_read(cs_ring *r, coroscope_event *out, size_t max);

/* The owner, after create and before the ring is handed to a consumer: say
 * that the producer publishes every record right after stamping it (sets
 * publish_each and a batch of 1). A consumer that then finds the ring empty
 * at time T knows its next record is stamped about T or later, so a quiet
 * ring of this kind does not hold the other rings' records back (consumer.h,
 * "Order"). */
static inline void cs_ring_set_publish_each(cs_ring *r)
{
    r->hdr->publish_each = 1;
    r->batch = 1;
}

/* Overwrite mode on or off (any thread, any process mapping the ring). */
static inline void cs_ring_set_overwrite(cs_ring *r, int on)
{
    atomic_store_explicit(&r->hdr->overwrite, on ? 1u : 0u, memory_order_seq_cst);
}

/* The policy for a full ring (CS_RING_DROP or CS_RING_BLOCK, waiting at
 * most block_ns; 0: CS_RING_BLOCK_NS). Any thread, any process; a producer
 * waiting at this moment is woken and looks again. */
void cs_ring_set_policy(cs_ring *r, int policy, uint64_t block_ns);

/* The producer's doorbell: the eventfd it writes to wake a sleeping
 * consumer (-1: none; the consumer then relies on its timeout). The
 * producer thread, or its owner before the producer starts. */
static inline void cs_ring_set_doorbell(cs_ring *r, int fd)
{
    r->doorbell = fd;
}

/* Consumer about to sleep: asks the producer to ring the doorbell at the
 * watermark. Returns 1 if the consumer may sleep, 0 if the ring already
 * holds `watermark` unread records (then it is left disarmed). */
int cs_ring_arm(cs_ring *r);

/* Consumer awake again: the producer need not ring. */
static inline void cs_ring_disarm(cs_ring *r)
{
    if (atomic_load_explicit(&r->hdr->sleeping, memory_order_relaxed))
        atomic_store_explicit(&r->hdr->sleeping, 0, memory_order_relaxed);
}

/* Consumer ending the stream (after its last read): take the loss the
 * producer counted but has not reported yet (ring.h "Loss"). 0 if none;
 * else the count, and *d is the DROP record that reports it. */
uint64_t cs_ring_take_pending(cs_ring *r, coroscope_event *d);

/* Message for a code returned by these functions (errno values included). */
const char *cs_ring_strerror(int err);

/* ---- producer fast path ----------------------------------------------------- */

/* Slow paths (ring.c): the ring looked full, or a loss awaits its report;
 * the consumer sleeps. */
int cs_ring_write_slow(cs_ring *r, const coroscope_event *ev);
void cs_ring_wake_slow(cs_ring *r);

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

/* Ask for slot n's cache line for writing. The consumer (another core) read
 * it last: a plain prefetch (prefetcht0, what __builtin_prefetch(p, 1)
 * becomes without -mprfchw) fetches it shared, and the store then still
 * waits for the other core to drop its copy; PREFETCHW takes it exclusive.
 * Every x86-64 CPU since Broadwell and every AMD one has it (CPUID
 * 3DNowPrefetch); older ones execute the encoding as a NOP. */
static inline __attribute__((always_inline)) void cs_ring_prefetch_slot(cs_ring *r, uint64_t n)
{
#if defined(__x86_64__)
    __asm__ volatile("prefetchw %0" : : "m"(*(const char *)&r->slots[n & r->mask]));
#else
    __builtin_prefetch(&r->slots[n & r->mask], 1, 3);
#endif
}

static inline void cs_ring_publish(cs_ring *r)
{
    r->p_published = r->p_head;
    atomic_store_explicit(&r->hdr->head, r->p_head, memory_order_release);
    if (__builtin_expect(atomic_load_explicit(&r->hdr->sleeping, memory_order_relaxed) != 0, 0))
        cs_ring_wake_slow(r); /* the consumer sleeps: ring if past the watermark */
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
 * no allocation, no lock while there is room; the consumer's cache line is
 * read only when the ring looks full. A full ring in CS_RING_BLOCK waits
 * here (ring.h "Policy"). */
static inline int cs_ring_write(cs_ring *r, const coroscope_event *ev)
{
    uint64_t h = r->p_head;
    if (__builtin_expect(h - r->p_tail >= r->capacity || r->p_drop_count != 0, 0)) return cs_ring_write_slow(r, ev);
    memcpy(&r->slots[h & r->mask], ev, sizeof *ev);
    /* The slot a few records on was last touched by the consumer (another
     * core): ask for its line now, so the write there does not wait. */
    cs_ring_prefetch_slot(r, h + 8);
    atomic_signal_fence(memory_order_release); /* the record before p_head counts it (cs_ring_publish_foreign) */
    r->p_head = h + 1;
    if (h + 1 - r->p_published >= r->batch) cs_ring_publish(r);
    return 0;
}

#endif
