/*
 * telemetry.h — producing events (coroscope_events.h) and recording them.
 *
 * Producer side
 *   Each thread that emits gets its own ring (ring.h) on its first event,
 *   registered in a lock-free list. cs_tel_emit (inline at every emission
 *   point) stores the record straight into the calling thread's next ring
 *   slot and publishes it: no lock, no allocation, no call, no system call
 *   after the ring exists. Workers publish in batches and flush at every
 *   switch and when they go idle; other threads publish every record (they
 *   emit rarely, and an inspector must see a quiet thread's last call).
 *   Whatever the fast path does not handle (a first record, a new epoch, a
 *   full ring, a loss to report, muted and engine threads) goes through
 *   cs_tel_emit_slow. Timestamps and call durations come from cs_now_ns
 *   (clock.h: the CPU's counter as CLOCK_MONOTONIC ns).
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
#include "clock.h"
#include "coroutine.h"
#include "forkguard.h"
#include "fddesc.h"
#include "wire/ring.h"

/* Telemetry on: lives in the fork-guard page (forkguard.h), so a child
 * made without fork handlers finds it off and never writes into the
 * parent's rings. */
#define cs_tel_on (cs_forkguard->tel_on)

static inline int cs_tel(void)
{
    return atomic_load_explicit(&cs_tel_on, memory_order_relaxed);
}

/* A thread that emits: its ring and its identity in the stream. Created by
 * the thread itself on its first record (telemetry.c), never freed; every
 * field but the cache is read and written by the owning thread only (the
 * recorder reads the ring's shared header, and publishes foreign at exit). */
#define CS_TEL_CACHE_SLOTS 256
typedef struct cs_tel_thread {
    cs_ring ring;
    uint32_t tid;
    uint16_t worker;
    uint32_t epoch;      /* subscription this thread last announced itself to */
    uint64_t epoch_end;  /* flight recorder: start a new string epoch once the ring's head reaches this */
    uint32_t string_gen; /* new (process-wide unique) at each new epoch (cs_tel_string_gen) */
    struct cs_tel_thread *next;
    struct {
        uint64_t hash, id;
        char text[32];
    } cache[CS_TEL_CACHE_SLOTS];
} cs_tel_thread;

/* The emit fast path's view of the calling thread: its cs_tel_thread while
 * it may emit without the slow path's checks (it has a ring, it is not
 * muted, it is not an engine thread with a wait budget); NULL otherwise. */
extern __thread cs_tel_thread *cs_tel_fast __attribute__((tls_model("initial-exec")));
extern _Atomic uint32_t cs_tel_epoch; /* bumped by each subscription (new metadata, strings again) */

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

/* Everything the fast path below does not: a thread's first record (its
 * ring, THREAD, metadata), a new epoch, a full ring or a loss to report,
 * muted and engine threads. Leaves errno as it found it. */
void cs_tel_emit_slow(uint64_t ts, uint16_t kind, uint64_t co, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                      uint64_t a4);

/* One record, stamped ts (cs_now_ns read by the caller just before; 0:
 * now), into the calling thread's ring. Inlined at every emission point:
 * while the thread's ring has room and its epoch is current, the record is
 * stored straight into its slot and published (ring.h protocol: plain
 * threads at once, workers every ring batch) — no call, no system call, no
 * errno. The caller has tested cs_tel(). */
static inline __attribute__((always_inline)) void cs_tel_emit_at(uint64_t ts, uint16_t kind, uint64_t co, uint64_t a0,
                                                                 uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4)
{
    cs_tel_thread *t = cs_tel_fast;
    if (__builtin_expect(t != NULL, 1)) {
        cs_ring *r = &t->ring;
        uint64_t h = r->p_head;
        if (__builtin_expect(t->epoch == atomic_load_explicit(&cs_tel_epoch, memory_order_relaxed) &&
                                 h - r->p_tail < r->capacity && r->p_drop_count == 0,
                             1)) {
            coroscope_event *e = &r->slots[h & r->mask];
            e->ts = ts ? ts : cs_now_ns();
            e->kind = kind;
            e->worker = t->worker;
            e->tid = t->tid;
            e->co = co;
            e->a[0] = a0;
            e->a[1] = a1;
            e->a[2] = a2;
            e->a[3] = a3;
            e->a[4] = a4;
            /* as cs_ring_write: ask for a slot's line a few records ahead */
            cs_ring_prefetch_slot(r, h + 8);
            atomic_signal_fence(memory_order_release);
            r->p_head = h + 1;
            if (t->worker == COROSCOPE_NO_WORKER || h + 1 - r->p_published >= r->batch)
                cs_ring_publish(r); /* plain threads emit rarely: publish at once */
            if (__builtin_expect(h + 1 >= t->epoch_end, 0))
                t->epoch = 0; /* flight recorder: a new string epoch after each chunk (cs_tel_emit_slow) */
            return;
        }
    }
    cs_tel_emit_slow(ts, kind, co, a0, a1, a2, a3, a4);
}

static inline __attribute__((always_inline)) void cs_tel_emit(uint16_t kind, uint64_t co, uint64_t a0, uint64_t a1,
                                                              uint64_t a2, uint64_t a3, uint64_t a4)
{
    cs_tel_emit_at(0, kind, co, a0, a1, a2, a3, a4);
}

/* The CALL record of one observed call (hook.h), after its fd's FD_DESC
 * when the fd was not described yet: a0 hook id | flags (bit 16
 * in a coroutine, 17 parked, 18 blocked), a1 fd, a2 result, a3 errno |
 * argument summary (saturated at 32 bits) << 32, a4 duration; stamped at
 * the call's end when the hook read it (end_ns, else now). */
static inline __attribute__((always_inline)) void cs_tel_call(uint64_t end_ns, int hook, int fd, int in_co, int parked,
                                                              int blocked, long ret, int err, uint64_t arg,
                                                              uint64_t dur_ns)
{
    cs_co *co = cs_tls.co;
    if (fd >= 0) cs_fddesc_touch(fd, hook, end_ns); /* its FD_DESC first, once per lifetime (fddesc.h) */
    uint64_t flags = (uint64_t)(in_co ? 1u << 16 : 0) | (parked ? 1u << 17 : 0) | (blocked ? 1u << 18 : 0);
    cs_tel_emit_at(end_ns, COROSCOPE_EV_CALL, co ? co->id : 0, (uint64_t)(hook + 1) | flags, (uint64_t)(int64_t)fd,
                   (uint64_t)ret, (uint64_t)(uint32_t)err | (arg > 0xffffffffu ? 0xffffffffull : arg) << 32, dur_ns);
}

/* Id of text in this thread's stream, defining it first if needed (0 for
 * NULL or empty). */
uint64_t cs_tel_string(const char *text);

/* This thread's string generation: it changes whenever the thread forgets
 * the strings it defined (a new epoch), so a cache of string ids kept
 * elsewhere (emit_stack.c) knows to start afresh. Settles the epoch first. */
uint32_t cs_tel_string_gen(void);

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

/* String ids from here on are base + 1, base + 2, ... (a followed
 * process's id space, follow.h). Before any other thread emits. */
void cs_tel_set_id_base(uint64_t base);

/* Forked child: forget the parent's rings and trace file; no recording. */
void cs_tel_atfork_child(void);

/* The calling engine thread never emits (its system calls are the
 * engine's, not the program's). */
void cs_tel_mute_thread(void);

/* Mute the calling thread for a moment (the engine calls code whose system
 * calls are its own: the stack unwinder), or let a muted engine thread emit
 * for a moment (the control thread's on-demand stack); each returns what to
 * pass to cs_tel_mute_restore, which puts back the state found. */
int cs_tel_mute(void);
int cs_tel_speak(void);
void cs_tel_mute_restore(int was);

/* Publish what this thread has written (workers going idle, switches).
 * Inline while nothing but the head store is due; a pending loss report
 * (or a thread without the fast path) goes through cs_tel_flush_slow. */
void cs_tel_flush_slow(void);
static inline __attribute__((always_inline)) void cs_tel_flush(void)
{
    cs_tel_thread *t = cs_tel_fast;
    if (__builtin_expect(t != NULL && t->ring.p_drop_count == 0, 1)) {
        if (t->ring.p_published != t->ring.p_head) cs_ring_publish(&t->ring);
        return;
    }
    cs_tel_flush_slow();
}

#endif
