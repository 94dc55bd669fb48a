/*
 * consumer.h — the one consumer of event rings (ring.h): drain every ring,
 * order each batch by time, hand it over; sleep until a ring passes its
 * watermark; account for losses nobody reported when the stream ends.
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
 *   rings in rounds, each ring giving at most a fair share of a batch per
 *   round (cap / rings), so a batch holds the oldest records of every ring
 *   rather than a backlog of one; and at most one ring's capacity per ring
 *   per call (a producer faster than us cannot keep the caller from its
 *   other work). Each time the batch is full it is sorted by time (stable
 *   natural merge: a few ascending runs) and handed to sink->batch. Batches
 *   are ordered inside, not with each other (a record published late can
 *   be older than the previous batch's last). Records stay in a ring's own
 *   order; STRING records come before the records that use them in every
 *   batch or an earlier one.
 *
 *   Sleeping (the doorbell): cs_consumer_arm sets each ring's `sleeping`
 *   flag and says whether sleeping is right (no ring at its watermark, no
 *   producer waiting for room); the caller then waits on the doorbell
 *   eventfd (and whatever else it waits for) with a timeout, and calls
 *   cs_consumer_disarm when it wakes. cs_consumer_wait does the three for a
 *   caller with nothing else to wait for. The producers ring the eventfd
 *   (ring.h "Waking the consumer"); the timeout bounds how long records
 *   below the watermark wait.
 *
 *   The end of the stream: cs_consumer_end_losses appends, for every ring,
 *   a DROP record for the loss its producer counted but could not report
 *   (ring.h "Loss"), so that the records handed over plus the DROP counts
 *   are exactly what the producers made. Call it after the last drain, when
 *   the producers are gone or their later records no longer matter.
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

typedef struct cs_consumer {
    cs_ring **rings;
    size_t *taken;                /* per ring, during a drain: records taken so far */
    uint32_t nrings, cap_rings;
    coroscope_event *buf, *tmp;   /* the batch and the sort's scratch, cap records each */
    size_t n, cap;
    int doorbell;                 /* eventfd the producers ring (-1: none; waits are timeouts) */
    uint64_t records;             /* records read */
    uint64_t lost;                /* DROP counts seen or added (a0 sum) */
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
 * capacity, handing over each full batch. Returns the records read (0:
 * every ring was empty).
 * What is left in the batch waits for the next full batch or
 * cs_consumer_flush. */
size_t cs_consumer_drain(cs_consumer *c, const cs_consumer_sink *s);

/* Hand over what the batch holds now (sorted), if anything. */
void cs_consumer_flush(cs_consumer *c, const cs_consumer_sink *s);

/* About to sleep: 1 if right (every ring armed), 0 if a ring has work
 * (nothing is armed then). */
int cs_consumer_arm(cs_consumer *c);
/* Awake: disarm every ring and reset the doorbell's counter. */
void cs_consumer_disarm(cs_consumer *c);
/* Arm, sleep on the doorbell up to timeout_ns, disarm. Returns 1 when a
 * producer rang, 0 otherwise (timeout, or a ring had work at once). */
int cs_consumer_wait(cs_consumer *c, uint64_t timeout_ns);

/* The stream ends: a DROP record for each ring's unreported loss, added to
 * the batch (flush afterwards). Returns the records so accounted for. */
uint64_t cs_consumer_end_losses(cs_consumer *c, const cs_consumer_sink *s);

#endif
