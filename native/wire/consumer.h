/*
 * consumer.h — the one consumer of event rings (ring.h): drain every ring,
 * hand the records over in time order across rings (a low watermark); sleep
 * until a ring passes its watermark; account for losses nobody reported when
 * the stream ends.
 *
 * Used by the engine's recorder (telemetry.c: batches go to the trace
 * writer), by the Node addon (link.c: to the trace file and to JS) and by
 * the live dump (reader/live.c: to the terminal). It knows rings and
 * records only: what a batch becomes is the caller's (cs_consumer_sink).
 *
 * Design
 *   A consumer holds pointers to rings it does not own (the engine's own
 *   handles, or handles the caller attached), a batch buffer of `cap`
 *   records and a scratch buffer for the sort. cs_consumer_drain reads the
 *   rings in rounds, each ring giving at most a fair share of the buffer
 *   per round (cap / rings), so the buffer holds the oldest records of every
 *   ring rather than a backlog of one; and at most one ring's capacity per
 *   ring per call (a producer faster than us cannot keep the caller from its
 *   other work).
 *
 *   Order across rings and batches (the low watermark, as perf's ordered
 *   events and LTTng's live reader do it). Each ring's records come in time
 *   order (one producer, one clock), but the rings are read one after the
 *   other, and a producer publishes in batches: a worker's CO_MIGRATE can be
 *   read before the CO_CREATE that another thread wrote earlier and has not
 *   published yet. So what is read is held in the buffer and sorted by time
 *   (stable natural merge: a few ascending runs); only the records at or
 *   below the low watermark W are handed over, in time order:
 *       W = min over rings of max(front(ring), now - hold_ns)
 *   where front(ring) is the largest ts read from that ring so far (its
 *   later records are not older). A ring that says nothing holds the others
 *   back at most hold_ns (latency bound; CS_CONSUMER_HOLD_NS by default):
 *   its producer may be idle, or gone. A ring whose producer publishes each
 *   record as it stamps it (ring.h publish_each: the engine's threads other
 *   than workers) and that was found empty at time T holds nothing older
 *   than T - quiet_ns (CS_CONSUMER_QUIET_NS: slack for a producer
 *   interrupted between its stamp and its publication); its front is taken
 *   as at least that — unless its producer waited for room (lossless)
 *   since the ring's previous read: a record stamped before such a wait is
 *   published after it. Without it, an idle main thread would hold every
 *   worker's records back hold_ns, and the consumer would sort them again at
 *   every pass. With one ring, or when every ring moved on, nothing waits. Memory is bounded by the buffer: when it is
 *   full of records above W, the older half is handed over anyway.
 *   Consequence: the records handed over are in time order across batches,
 *   except records that arrive older than what was already handed over (a
 *   producer that published more than hold_ns late, a forced release, a
 *   ring whose clock went back, a loss reported at the end); those are
 *   handed over at the next hand-over, counted in `late`. Records of one
 *   ring with equal ts stay in ring order; STRING records come before the
 *   records that use them in every batch or an earlier one.
 *
 *   Sleeping (the doorbell): cs_consumer_arm sets each ring's `sleeping`
 *   flag and says whether sleeping is right (no ring at its watermark, no
 *   producer waiting for room); the caller then waits on the doorbell
 *   eventfd (and whatever else it waits for) with a timeout, and calls
 *   cs_consumer_disarm when it wakes. cs_consumer_wait does the three for a
 *   caller with nothing else to wait for. The producers ring the eventfd
 *   (ring.h "Waking the consumer"); the timeout bounds how long records
 *   below a ring's watermark wait. A caller that sleeps while records are
 *   held calls cs_consumer_flush when it wakes, so they go out once the low
 *   watermark passes them (after hold_ns at the latest): its timeout should
 *   not be much longer than hold_ns.
 *
 *   The end of the stream: cs_consumer_end_losses appends, for every ring,
 *   a DROP record for the loss its producer counted but could not report
 *   (ring.h "Loss"), so that the records handed over plus the DROP counts
 *   are exactly what the producers made. Call it after the last drain, when
 *   the producers are gone or their later records no longer matter; then
 *   cs_consumer_finish hands over everything still held.
 *
 * Threads: a consumer is used by one thread at a time (its rings' one
 * consumer, ring.h). Counters are plain fields of that thread.
 *
 * Errors: init returns 0 or ENOMEM; a ring that turns out corrupt is
 * reported to sink->corrupt and left out from then on.
 */
#ifndef CS_CONSUMER_H
#define CS_CONSUMER_H

#include <stddef.h>
#include <stdint.h>

#include "ring.h"

/* What becomes of the records. Its callbacks run inside cs_consumer_drain
 * (and flush, end_losses) and must not add or remove rings. */
typedef struct cs_consumer_sink {
    void *ctx;
    /* A batch, sorted by ts. The records may be modified in place; they are
     * the consumer's again when this returns. */
    void (*batch)(void *ctx, coroscope_event *ev, size_t n);
    /* Optional: ring r is corrupt (code: a CS_RING_E* value); it is left
     * out of the consumer after this returns (the caller may detach it). */
    void (*corrupt)(void *ctx, cs_ring *r, int code);
} cs_consumer_sink;

#define CS_CONSUMER_HOLD_NS  50000000ull /* default hold_ns: 50 ms */
#define CS_CONSUMER_QUIET_NS 2000000ull  /* default quiet_ns: 2 ms */

typedef struct cs_consumer {
    cs_ring **rings;
    size_t *taken;   /* per ring, during a drain: records taken so far */
    uint64_t *front; /* per ring: the largest ts read from it (0: none yet) */
    uint64_t *quiet; /* per ring: publish_each and empty at this time when last read (0: no) */
    uint64_t *waits; /* per ring: its producer's `waits` count when last read */
    uint32_t nrings, cap_rings;
    coroscope_event *buf, *tmp; /* the records held and the sort's scratch (they swap), cap each */
    size_t off, n, cap;         /* held: buf[off .. off + n) */
    size_t sorted;              /* buf[off .. off + sorted) is in time order (what a hand-over left) */
    size_t *run, run_cap;       /* the sort's scratch: run starts */
    uint64_t hold_ns;           /* longest a silent ring holds the others back (init: CS_CONSUMER_HOLD_NS) */
    uint64_t quiet_ns;          /* slack for a quiet publish_each ring (init: CS_CONSUMER_QUIET_NS) */
    uint64_t out_ts;            /* the largest ts handed over so far */
    uint64_t late;              /* records handed over older than an earlier hand-over's (see Design) */
    int doorbell;               /* eventfd the producers ring (-1: none; waits are timeouts) */
    uint64_t records;           /* records read */
    uint64_t lost;              /* DROP counts seen or added (a0 sum) */
} cs_consumer;

/* A consumer with batches of `cap` records (0: 65536). 0 or ENOMEM. */
int cs_consumer_init(cs_consumer *c, size_t cap);
void cs_consumer_free(cs_consumer *c);

/* Read ring r from now on (not owned: the caller keeps it alive and
 * mapped while the consumer holds it). 0 or ENOMEM. */
int cs_consumer_add(cs_consumer *c, cs_ring *r);

/* Stop reading ring r (no-op if it is not held). */
void cs_consumer_remove(cs_consumer *c, cs_ring *r);

/* Read the rings (in rounds of fair shares) until each is empty or gave one
 * capacity; each time the buffer is full, hand over what the watermark
 * allows (the older half at least). Returns the records read (0: every ring
 * was empty). What is held waits for cs_consumer_flush or _finish. */
size_t cs_consumer_drain(cs_consumer *c, const cs_consumer_sink *s);

/* Hand over the records held at or below the low watermark (in time order),
 * if any. Call it after each drain and after each sleep. */
void cs_consumer_flush(cs_consumer *c, const cs_consumer_sink *s);

/* The stream ends (or the caller stops reading): hand over everything held,
 * in time order. */
void cs_consumer_finish(cs_consumer *c, const cs_consumer_sink *s);

/* About to sleep: 1 if right (every ring armed), 0 if a ring has work
 * (nothing is armed then). */
int cs_consumer_arm(cs_consumer *c);
/* Awake: disarm every ring and reset the doorbell's counter. */
void cs_consumer_disarm(cs_consumer *c);
/* Arm, sleep on the doorbell up to timeout_ns, disarm. Returns 1 when a
 * producer rang, 0 otherwise (timeout, or a ring had work at once). */
int cs_consumer_wait(cs_consumer *c, uint64_t timeout_ns);

/* The stream ends: a DROP record for each ring's unreported loss, added to
 * what is held (cs_consumer_finish afterwards). Returns the records so
 * accounted for. */
uint64_t cs_consumer_end_losses(cs_consumer *c, const cs_consumer_sink *s);

#endif
