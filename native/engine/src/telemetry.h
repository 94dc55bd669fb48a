/*
 * telemetry.h — producing events (coroscope_events.h) and recording them.
 *
 * Producer side
 *   Each thread that emits gets its own ring (ring.h) on its first event,
 *   registered in a lock-free list. cs_tel_emit fills one record and writes
 *   it to the calling thread's ring: no lock, no allocation, no system call
 *   after the ring exists. Workers publish in batches and flush when they go
 *   idle; other threads flush every record (they emit rarely).
 *   Strings are interned per thread: a name is defined (STRING records) in
 *   the thread's own stream before the first record that refers to it.
 *
 * Recording (COROSCOPE_TRACE=path)
 *   A recorder thread ("cs-recorder") is the rings' consumer
 *   (wire/consumer.h): it drains every ring, sorts each batch by time and
 *   appends it to the trace file (docs/trace-format.md), writing the partial
 *   chunk after each pass, so a crash of the target loses at most what was
 *   not drained yet. Between passes it sleeps until a ring passes its
 *   watermark (the producer rings the doorbell eventfd) or 10 ms passed.
 *   At exit, emission stops, every ring is published and drained, the
 *   losses nobody reported yet get DROP records, and the index is written.
 *   Nothing is emitted while recording is off: every emission point tests
 *   cs_tel_on (one relaxed load) first.
 *
 * Policies (ring.h "Policy"): lossless (CS_RING_BLOCK: a thread whose ring
 *   is full waits for the consumer, at most CS_RING_BLOCK_NS, then drops and
 *   counts) or drop (never waits; every loss counted in DROP records).
 *   COROSCOPE_TRACE records with COROSCOPE_TRACE_POLICY (default lossless);
 *   an inspector chooses when it subscribes; without a consumer (flight
 *   recorder, unsubscribed) rings drop. The policy is set on every ring and
 *   given to each new one.
 *
 * Flight recorder (COROSCOPE_FLIGHT=size)
 *   Telemetry is on from the start with nobody reading: the rings are in
 *   overwrite mode (ring.h) and keep the most recent events. A subscribing
 *   inspector clears overwrite mode and reads what they hold first. While
 *   armed, each thread starts a new string epoch after every ring chunk it
 *   writes (cs_tel_emit), so a reader can resynchronise after the gap.
 *
 * Threads: cs_tel_emit from any thread except inside signal handlers (the
 * preemption handler emits nothing; its events come from the trampoline).
 * The recorder thread never emits (its own writes are not observed).
 * A thread's ring lives as long as the process (rings of threads that
 * exited are drained and kept: a known cost for programs that start very
 * many short threads while recording).
 */
#ifndef CS_TELEMETRY_H
#define CS_TELEMETRY_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../include/coroscope_events.h"
#include "coroutine.h"

extern _Atomic int cs_tel_on;

static inline int cs_tel(void) { return atomic_load_explicit(&cs_tel_on, memory_order_relaxed); }

/* Constructor, after cs_config_load: take what cs_cfg says about recording
 * (COROSCOPE_TRACE, COROSCOPE_TRACE_POLICY, COROSCOPE_FLIGHT) and listen to
 * run-time configuration changes (config.h: a CONFIG record for each).
 *
 * COROSCOPE_FLIGHT (bytes, 0: off) turns telemetry on with nobody reading:
 * every ring overwrites its oldest records (ring.h), so the rings hold the
 * recent past — about `bytes` in all, split over the workers (each worker
 * ring a power of two of 64-byte records, at least 4096) — until an
 * inspector subscribes and takes them over. Unsubscribing re-arms it.
 * Ignored while COROSCOPE_TRACE records. */
void cs_tel_init(void);

/* An inspector just subscribed (control thread): one CO_INFO per live
 * coroutine, so those created before the stream began have a name and a
 * state. A moment's picture: coroutines run meanwhile. */
void cs_tel_existing_coroutines(void);

/* The calling (engine) thread's ring exists after this, so it can be handed
 * to an inspector before the thread emits much into it. */
void cs_tel_prepare_thread(void);

/* First safe moment after load — just before main (init.c), or the
 * runtime's start if that comes first; never from inside a hooked call: open
 * the trace file and start the recorder. Records emitted before wait in the
 * rings. Idempotent; nothing without COROSCOPE_TRACE. */
void cs_tel_start(void);

void cs_tel_emit(uint16_t kind, uint64_t co, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4);
/* The same, stamped ts (cs_now_ns read by the caller just before; 0: now). */
void cs_tel_emit_at(uint64_t ts, uint16_t kind, uint64_t co, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                    uint64_t a4);

/* Id of text in this thread's stream, defining it first if needed (0 for
 * NULL or empty). */
uint64_t cs_tel_string(const char *text);

/* The schema's ready reason for an engine wake cause. */
static inline uint64_t cs_tel_ready_why(int cause)
{
    switch (cause) {
    case CS_WAKE_TIMER: return COROSCOPE_READY_TIMER;
    case CS_WAKE_FD: return COROSCOPE_READY_FD;
    case CS_WAKE_JOIN: return COROSCOPE_READY_JOINED;
    case CS_WAKE_CLOSED: return COROSCOPE_READY_CLOSED;
    case CS_WAKE_SIGNAL: return COROSCOPE_READY_SIGNAL;
    case CS_WAKE_SPAWN: return COROSCOPE_READY_SPAWNED;
    case CS_WAKE_OFFLOAD: return COROSCOPE_READY_OFFLOAD;
    }
    return 0;
}

/* An inspector subscribed through the control channel: emit (without a
 * trace file) with the policy it chose, or stop (drop mode again; with the
 * flight recorder: go back to overwriting). Refused (EBUSY) while COROSCOPE_TRACE records,
 * because the recorder is then the rings' one consumer. Each subscription
 * starts a new epoch: the first event after it is preceded by CLOCK,
 * PROCESS and CONFIG records, each thread re-announces itself (THREAD) and
 * re-defines the strings it uses, so a second inspector after a first one
 * detached still sees whole metadata. */
int cs_tel_subscribe(int on, int lossless);

/* 1 while the rings' policy is lossless (CS_RING_BLOCK). */
int cs_tel_lossless(void);
/* A subscribed inspector changes its policy. EBUSY while COROSCOPE_TRACE records. */
int cs_tel_set_lossless(int lossless);

/* The eventfd producers ring to wake their consumer (consumer.h), made with
 * the first ring; -1 before. An inspector gets it with the rings. */
int cs_tel_doorbell(void);

/* Called by each thread right after it created its ring, before its first
 * record (NULL: nobody to tell; the control thread then polls cs_tel_rings). */
typedef void (*cs_tel_ring_fn)(int fd, uint32_t tid, uint16_t worker);
void cs_tel_set_ring_announcer(cs_tel_ring_fn fn);

/* Rings that exist: visit each with its memfd, tid and worker, skipping the
 * first `skip` (creation order). Returns how many exist. */
int cs_tel_rings(int skip, void (*visit)(void *ctx, int fd, uint32_t tid, uint16_t worker), void *ctx);

/* Forked child: forget the parent's rings and trace file; no recording. */
void cs_tel_atfork_child(void);

/* The calling engine thread never emits (its system calls are the
 * engine's, not the program's). */
void cs_tel_mute_thread(void);

/* Publish what this thread has written (workers going idle). */
void cs_tel_flush(void);

#endif
