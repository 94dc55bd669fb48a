#include "telemetry.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "wire/consumer.h"
#include "wire/reader.h"
#include "wire/ring.h"
#include "../include/coroscope.h"
#include "config.h"
#include "emit_stack.h"
#include "emit_symbol.h"
#include "fdtable.h"
#include "follow.h"
#include "hook.h"
#include "log.h"
#include "procfs.h"
#include "sched.h"

/* Ring sizes. A ring only has to hold what its thread emits while the
 * consumer is not reading: the consumer wakes when a ring is a quarter full
 * (the watermark), so the other three quarters absorb its wake-up and drain
 * latency — a few ms on a busy machine, more when the consumer shares a core
 * with the program. A memfd page is committed only when the producer first
 * touches it (ring.c populates the first 64 KiB), so a large ring costs a
 * thread that emits little nothing but address space.
 *   workers: 8 MiB, 131072 records: a worker emits up to ~40 M events/s
 *     (a yield loop), so 3/4 of it is ~2.5 ms at that rate, ~25 ms at 4 M/s;
 *   other threads: 4 MiB, 65536 records: a plain thread making system calls
 *     emits at most a few M/s (one CALL per call, ~100 ns each plus the call
 *     itself), so 3/4 of it is ~10 ms or more. The control thread (a burst
 *     of CO_INFO for every coroutine) gets a worker's size. */
#define RING_WORKER 131072
#define RING_THREAD 65536
/* The recorder's batch: 16384 records (1 MiB, and as much for the sort's
 * scratch) stay in a core's L2 while they are sorted and encoded; 65536
 * did not, and cost the recorder ~10 % more per event. */
#define DRAIN_BATCH 16384
#define RECORDER_IDLE_NS \
    10000000 /* the recorder sleeps at most this long: records below the watermark wait no longer */
#define CACHE_SLOTS CS_TEL_CACHE_SLOTS


typedef cs_tel_thread tel_thread;

static char trace_path[4096];
static _Atomic(tel_thread *) threads;
static _Atomic uint64_t next_string_id = 1;
static _Atomic int started;
static _Atomic int stopping;
static pthread_t recorder;
static cs_trace_writer *writer;
static __thread tel_thread *tl __attribute__((tls_model("initial-exec")));
static __thread int tl_mute __attribute__((tls_model("initial-exec")));
static __thread int tl_engine __attribute__((tls_model("initial-exec"))); /* an engine thread (control) */
__thread cs_tel_thread *cs_tel_fast __attribute__((tls_model("initial-exec")));

/* cs_tel_fast follows tl, tl_mute and tl_engine: call after changing any. */
static void fast_sync(void)
{
    cs_tel_fast = tl_mute || tl_engine ? NULL : tl;
}
_Atomic uint32_t cs_tel_epoch = 1;   /* bumped by each subscription */
static _Atomic uint32_t string_gens; /* the last string generation given to a thread (cs_tel_string_gen) */
static _Atomic int need_metadata;    /* the next emitter writes CLOCK/PROCESS/CONFIG first */
static _Atomic(cs_tel_ring_fn) ring_announcer;
static size_t flight_bytes;       /* COROSCOPE_FLIGHT: 0, or the bytes the rings keep in all */
static _Atomic int flight_armed;  /* rings overwrite (nobody subscribed) */
static _Atomic int policy;        /* CS_RING_DROP or CS_RING_BLOCK: every ring's policy (ring.h) */
static _Atomic int doorbell = -1; /* eventfd the producers ring to wake the consumer (hidden fd) */


static void config_changed(void);

void cs_tel_init(void)
{
    cs_config_listen(config_changed);
    if (cs_cfg.trace_path[0]) {
        memcpy(trace_path, cs_cfg.trace_path, sizeof trace_path);
        atomic_store(&policy, cs_cfg.trace_policy == CS_TRACE_LOSSLESS ? CS_RING_BLOCK : CS_RING_DROP);
        atomic_store(&need_metadata, 1); /* the first record of the process comes after CLOCK/PROCESS/CONFIG */
        atomic_store(&cs_observer, cs_tel_call_observer);
        atomic_store(&cs_tel_on, 1);
        return; /* COROSCOPE_TRACE records everything: no flight recorder */
    }
    if (cs_cfg.flight_bytes) {
        flight_bytes = cs_cfg.flight_bytes;
        atomic_store(&flight_armed, 1);
        atomic_store(&need_metadata, 1);
        atomic_store(&cs_observer, cs_tel_call_observer);
        atomic_store(&cs_tel_on, 1);
    }
}

/* The doorbell (consumer.h), made with the first ring. */
static int tel_doorbell(void)
{
    int fd = atomic_load(&doorbell);
    if (fd >= 0) return fd;
    int nfd = (int)syscall(SYS_eventfd2, 0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (nfd < 0) return -1;
    nfd = cs_fd_hide(nfd);
    int none = -1;
    if (!atomic_compare_exchange_strong(&doorbell, &none, nfd)) { /* another thread made one first */
        cs_fd_unhide(nfd);
        syscall(SYS_close, nfd);
        return none;
    }
    return nfd;
}

int cs_tel_doorbell(void)
{
    return atomic_load(&doorbell);
}

/* Records per worker ring: 8 MiB, or the worker's share of the flight
 * recorder's size (a power of two, at most CS_RING_MAX_CAPACITY). */
static uint32_t worker_capacity(void)
{
    if (!flight_bytes) return RING_WORKER;
    uint64_t want = flight_bytes / COROSCOPE_EVENT_SIZE / (uint64_t)(cs_cfg.workers > 0 ? cs_cfg.workers : 1);
    uint32_t c = RING_THREAD;
    while (c < CS_RING_MAX_CAPACITY && (uint64_t)c * 2 <= want) c *= 2;
    return c;
}

static void flight_epoch_mark(tel_thread *t)
{
    uint64_t chunk = t->ring.capacity / 8;
    t->epoch_end = atomic_load_explicit(&flight_armed, memory_order_relaxed) ? t->ring.p_head + chunk : UINT64_MAX;
}

static tel_thread *thread_new(void)
{
    tel_thread *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->tid = (uint32_t)syscall(SYS_gettid);
    t->worker = cs_tls.w ? (uint16_t)cs_tls.w->idx : COROSCOPE_NO_WORKER;
    /* Engine threads that emit (the control thread: CONFIG, CO_INFO for
     * every coroutine at once) get an 8 MiB ring, like a worker's. */
    uint32_t capacity = t->worker != COROSCOPE_NO_WORKER ? worker_capacity() : tl_engine ? RING_WORKER : RING_THREAD;
    if (cs_ring_create(&t->ring, capacity, t->tid, t->worker)) {
        free(t);
        return NULL;
    }
    if (t->worker == COROSCOPE_NO_WORKER)
        cs_ring_set_publish_each(&t->ring); /* cs_tel_emit publishes each record of a plain thread at once */
    if (atomic_load(&flight_armed)) cs_ring_set_overwrite(&t->ring, 1);
    int p = atomic_load(&policy);
    cs_ring_set_policy(&t->ring, p, 0);
    cs_ring_set_doorbell(&t->ring, tel_doorbell());
    t->epoch_end = UINT64_MAX;
    cs_tel_ring_fn announce = atomic_load(&ring_announcer);
    if (announce) announce(t->ring.fd, t->tid, t->worker);
    t->epoch = 0; /* announces itself (THREAD) with its first record */
    tel_thread *h = atomic_load(&threads);
    do t->next = h;
    while (!atomic_compare_exchange_weak(&threads, &h, t));
    if (atomic_load(&policy) != p) /* changed while we were not in the list yet */
        cs_ring_set_policy(&t->ring, atomic_load(&policy), 0);
    tl = t;
    fast_sync();
    return t;
}

static void emit_metadata(void);
static void publish_all_at_exit(void);

/* First record of this thread in the current subscription: forget the
 * strings defined for an earlier one, say who we are, and (first thread
 * only) what process this is. */
static void new_epoch(tel_thread *t, uint32_t e)
{
    t->epoch = e;
    t->string_gen = atomic_fetch_add(&string_gens, 1) + 1; /* unique: a forked child's too */
    flight_epoch_mark(t);
    for (int i = 0; i < CACHE_SLOTS; i++) t->cache[i].hash = 0, t->cache[i].text[0] = '\0';
    int one = 1;
    if (atomic_load_explicit(&need_metadata, memory_order_relaxed) &&
        atomic_compare_exchange_strong(&need_metadata, &one, 0)) {
        static _Atomic int registered; /* here, not at subscribe: that may be the constructor, before libc's init */
        if (!atomic_exchange(&registered, 1)) atexit(publish_all_at_exit);
        emit_metadata();
    }
    char name[17] = {0};
    prctl(PR_GET_NAME, name, 0, 0, 0);
    cs_tel_emit(COROSCOPE_EV_THREAD, 0, t->tid, cs_tel_string(name), t->worker, (uint64_t)getpid(), cs_follow_serial());
}

static inline tel_thread *self(void)
{
    tel_thread *t = tl;
    if (!t && !(t = thread_new())) return NULL;
    uint32_t e = atomic_load_explicit(&cs_tel_epoch, memory_order_relaxed);
    if (__builtin_expect(t->epoch != e, 0)) new_epoch(t, e);
    return t;
}

static __thread uint64_t tl_wait_budget_ns; /* engine thread: how long put may still wait for room */

static void put(tel_thread *t, const coroscope_event *ev)
{
    /* An engine thread emitting a burst (CO_INFO for every coroutine) may wait
     * for the inspector to drain, within its budget; program threads never wait. */
    while (tl_wait_budget_ns && cs_ring_room(&t->ring) == 0) {
        struct timespec ms = {0, 1000000};
        syscall(SYS_nanosleep, &ms, NULL); /* raw: not an observed call */
        tl_wait_budget_ns = tl_wait_budget_ns > 1000000 ? tl_wait_budget_ns - 1000000 : 0;
    }
    cs_ring_write(&t->ring, ev);
    if (t->worker == COROSCOPE_NO_WORKER) cs_ring_flush(&t->ring); /* plain threads emit rarely: publish at once */
}

void cs_tel_emit_slow(uint64_t ts, uint16_t kind, uint64_t co, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                      uint64_t a4)
{
    if (tl_mute) return;
    int saved = errno; /* a first ring, a doorbell or a wait for room make system calls */
    /* A given ts (taken before this call) is used unless this record opens a
     * new epoch: its THREAD/STRING records are stamped now, and a record
     * must not sort before them. */
    tel_thread *t = tl;
    if (ts && (!t || t->epoch != atomic_load_explicit(&cs_tel_epoch, memory_order_relaxed))) ts = 0;
    if ((t = self())) {
        coroscope_event ev = {.ts = ts ? ts : cs_now_ns(),
                              .kind = kind,
                              .worker = t->worker,
                              .tid = t->tid,
                              .co = co,
                              .a = {a0, a1, a2, a3, a4}};
        put(t, &ev);
        /* Flight recorder: after each chunk, the next record (and the strings
         * it uses) starts a new epoch, so a consumer can resynchronise at its
         * THREAD record after the ring overwrote older ones (ring.h). Here,
         * between two whole records, never between a string and the record
         * using it. */
        if (__builtin_expect(t->ring.p_head >= t->epoch_end, 0)) t->epoch = 0;
    }
    errno = saved;
}

uint64_t cs_tel_string(const char *s)
{
    if (!s || !*s || tl_mute) return 0;
    tel_thread *t = self();
    if (!t) return 0;
    size_t len = strlen(s);
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    int slot = (int)(h % CACHE_SLOTS);
    if (len < sizeof t->cache[0].text && t->cache[slot].hash == h && !strcmp(t->cache[slot].text, s))
        return t->cache[slot].id;
    uint64_t id = atomic_fetch_add(&next_string_id, 1);
    coroscope_event ev = {.ts = cs_now_ns(), .kind = COROSCOPE_EV_STRING, .worker = t->worker, .tid = t->tid};
    for (size_t off = 0; off == 0 || off < len; off += 24) {
        ev.kind = off == 0 ? COROSCOPE_EV_STRING : COROSCOPE_EV_STRING_MORE;
        ev.a[0] = id;
        ev.a[1] = off == 0 ? len : off;
        memset(&ev.a[2], 0, 24);
        memcpy(&ev.a[2], s + off, len - off < 24 ? len - off : 24);
        put(t, &ev);
    }
    if (len < sizeof t->cache[0].text) {
        t->cache[slot].hash = h;
        t->cache[slot].id = id;
        memcpy(t->cache[slot].text, s, len + 1);
    }
    return id;
}

uint32_t cs_tel_string_gen(void)
{
    tel_thread *t = tl_mute ? NULL : self();
    return t ? t->string_gen : 0;
}

void cs_tel_set_id_base(uint64_t base)
{
    atomic_store(&next_string_id, base + 1);
}

int cs_tel_mute(void)
{
    int was = tl_mute;
    tl_mute = 1;
    fast_sync();
    return was;
}

int cs_tel_speak(void)
{
    int was = tl_mute;
    tl_mute = 0;
    fast_sync();
    return was;
}

void cs_tel_mute_restore(int was)
{
    tl_mute = was;
    fast_sync();
}

void cs_tel_mute_thread(void)
{
    tl_mute = tl_engine = 1;
    fast_sync();
}

void cs_tel_atfork_child(void)
{
    /* The rings are shared memory with the parent, whose threads still
     * produce into them, and the trace file is the parent's: the child
     * starts with neither and does not record to a file. */
    tl = NULL;
    fast_sync();
    atomic_store(&threads, NULL);
    trace_path[0] = '\0';
    atomic_store(&started, 0);
    atomic_store(&policy, CS_RING_DROP);
    int bell = atomic_exchange(&doorbell, -1); /* the parent's consumer listens to it */
    if (bell >= 0) {
        syscall(SYS_close, bell);
        cs_fd_unhide(bell);
    }
    atomic_store(&cs_tel_on, 0);
    if (atomic_load(&cs_observer) == cs_tel_call_observer) atomic_store(&cs_observer, NULL);
    /* Nobody is subscribed to the child: its flight recorder (if configured)
     * records its own recent past, in rings of its own. */
    if (flight_bytes) {
        atomic_store(&flight_armed, 1);
        atomic_store(&need_metadata, 1);
        atomic_fetch_add(&cs_tel_epoch, 1);
        atomic_store(&cs_observer, cs_tel_call_observer);
        atomic_store(&cs_tel_on, 1);
    }
}

void cs_tel_set_ring_announcer(cs_tel_ring_fn fn)
{
    atomic_store(&ring_announcer, fn);
}

/* At exit, for a subscribed inspector: workers that were switched away from
 * mid-batch never publish again; publish what they completed. */
static void publish_all_at_exit(void)
{
    if (!cs_tel() || trace_path[0]) return;
    for (tel_thread *t = atomic_load(&threads); t; t = t->next) cs_ring_publish_foreign(&t->ring);
}

/* Overwrite mode of every ring (the flight recorder armed or handed over). */
static void set_overwrite(int on)
{
    atomic_store(&flight_armed, on);
    for (tel_thread *t = atomic_load(&threads); t; t = t->next) cs_ring_set_overwrite(&t->ring, on);
}

/* The policy of every ring (a producer waiting for room looks again). */
static void set_policy(int p)
{
    atomic_store(&policy, p);
    for (tel_thread *t = atomic_load(&threads); t; t = t->next) cs_ring_set_policy(&t->ring, p, 0);
}

int cs_tel_subscribe(int on, int lossless)
{
    if (trace_path[0]) return EBUSY;
    if (on) {
        set_policy(lossless ? CS_RING_BLOCK : CS_RING_DROP);
        if (flight_bytes) set_overwrite(0); /* hand the rings, with what they kept, to the inspector */
        atomic_store(&need_metadata, 1);
        atomic_fetch_add(&cs_tel_epoch, 1);
        atomic_store(&cs_observer, cs_tel_call_observer);
    } else {
        set_policy(CS_RING_DROP); /* nobody reads any more: never wait for a consumer */
        if (flight_bytes) {
            set_overwrite(1); /* keep recording the recent past for the next inspector */
            atomic_fetch_add(&cs_tel_epoch, 1);
            return 0;
        }
        if (atomic_load(&cs_observer) == cs_tel_call_observer) atomic_store(&cs_observer, NULL);
    }
    atomic_store(&cs_tel_on, on);
    return 0;
}

int cs_tel_lossless(void)
{
    return atomic_load(&policy) == CS_RING_BLOCK;
}

int cs_tel_set_lossless(int lossless)
{
    if (trace_path[0]) return EBUSY;
    set_policy(lossless ? CS_RING_BLOCK : CS_RING_DROP);
    return 0;
}


static void emit_config(void);

static void co_info(void *ctx, const cs_co *co)
{
    (void)ctx;
    int state = co->state, why = 0, hook = 0;
    int64_t fd = -1;
    uint64_t worker = co->owner && state != CS_CO_NEW ? (uint64_t)co->owner->idx : COROSCOPE_NO_WORKER;
    uint64_t s = state == CS_CO_NEW ? 0 : state == CS_CO_READY ? 1 : state == CS_CO_RUNNING ? 2 : 3;
    if (state == CS_CO_SUSPENDED) {
        why = co->wait_why ? co->wait_why : COROSCOPE_SUSPEND_CALL;
        hook = co->cur_hook >= 0 ? co->cur_hook + 1 : 0;
        fd = co->wait_fd;
    }
    char name[CS_CO_NAME_MAX + 1];
    memcpy(name, co->name, CS_CO_NAME_MAX); /* another thread may rename or recycle it meanwhile */
    name[CS_CO_NAME_MAX] = '\0';
    cs_tel_emit(COROSCOPE_EV_CO_INFO, co->id, 0, cs_tel_string(name),
                co->fn ? cs_emit_entry_symbol((const void *)co->fn) : 0,
                s | (uint64_t)why << 8 | (uint64_t)(hook & 0xffff) << 16 | worker << 32, (uint64_t)fd);
}

void cs_tel_prepare_thread(void)
{
    if (!cs_tel()) return;
    int mute = tl_mute;
    tl_mute = 0;
    fast_sync();
    self();
    tl_mute = mute;
    fast_sync();
}

void cs_tel_existing_coroutines(void)
{
    if (!cs_tel()) return;
    int mute = tl_mute;
    tl_mute = 0;
    fast_sync();
    tl_wait_budget_ns = 2000000000ull; /* then drop (counted, reported) rather than stall the control channel */
    cs_co_visit(co_info, NULL);
    cs_fddesc_existing(); /* what their fds are (fddesc.h) */
    tl_wait_budget_ns = 0;
    cs_tel_flush(); /* a loss, if any, reported now */
    tl_mute = mute;
    fast_sync();
}

/* The run-time configuration changed (config.h listener; coroscope_configure,
 * also for the control channel's `set`): a CONFIG record with the new values,
 * now, from the changing thread — muted or not (the control thread is). */
static void config_changed(void)
{
    /* From the (muted) control thread: this one record is the program's
     * business, so it is emitted now, whether or not a worker is busy. */
    if (!cs_tel()) return;
    int mute = tl_mute;
    tl_mute = 0;
    fast_sync();
    emit_config();
    tl_mute = mute;
    fast_sync();
}

int cs_tel_rings(int skip, void (*visit)(void *ctx, int fd, uint32_t tid, uint16_t worker), void *ctx)
{
    /* The list is pushed at its head: count, then visit oldest first. */
    int n = 0;
    for (tel_thread *t = atomic_load(&threads); t; t = t->next) n++;
    for (int i = skip; i < n; i++) {
        tel_thread *t = atomic_load(&threads);
        for (int k = n - 1; k > i; k--) t = t->next;
        visit(ctx, t->ring.fd, t->tid, t->worker);
    }
    return n;
}

void cs_tel_flush_slow(void)
{
    if (tl) cs_ring_flush(&tl->ring);
}

/* ---- hooked calls ------------------------------------------------------------------------------- */

/* The observer telemetry installs (hook.h): hooks that see it installed
 * emit the CALL inline (cs_tel_call) instead of calling it; this is the
 * same, for a caller that only has a cs_call. */
void cs_tel_call_observer(const cs_call *c)
{
    if (!cs_tel()) return;
    cs_tel_call(c->end_ns, c->hook, c->fd, c->in_co, c->parked, c->blocked, c->ret, c->err, c->arg, c->dur_ns);
}

/* ---- the recorder -------------------------------------------------------------------------------- */

/* One consumer (wire/consumer.h) over every thread's ring: the recorder
 * thread uses it while it runs, then at_exit (after joining it) for the last
 * drain. Rings join it as their threads appear (the list is pushed at its
 * head: the new ones are those before the head it saw last). */
static cs_consumer rec;
static tel_thread *rec_seen;

static void rec_batch(void *ctx, coroscope_event *ev, size_t n)
{
    (void)ctx;
    cs_trace_writer_append(writer, ev, n);
}

static const cs_consumer_sink rec_sink = {.batch = rec_batch};

static void rec_add_new_rings(void)
{
    tel_thread *head = atomic_load(&threads);
    for (tel_thread *t = head; t && t != rec_seen; t = t->next)
        cs_consumer_add(&rec, &t->ring); /* ENOMEM: that ring is not recorded, and its thread waits at most block_ns */
    rec_seen = head;
}

/* One pass over every ring; what was read goes to the file in time order
 * (what is above the consumer's low watermark waits for a later pass, at
 * most its hold_ns, or for at_exit). A STRING record is stamped before the record that uses it and
 * drained in the same batch or an earlier one; readers take a chunk's
 * strings before its records, so the order inside a batch does not matter
 * for them. The partial chunk is written each time: a crash of the target
 * loses at most what was not drained yet. */
static size_t rec_pass(void)
{
    rec_add_new_rings();
    size_t n = cs_consumer_drain(&rec, &rec_sink);
    cs_consumer_flush(&rec, &rec_sink);
    cs_trace_writer_flush(writer);
    return n;
}

static void *recorder_main(void *arg)
{
    (void)arg;
    tl_mute = 1;
    fast_sync();
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    pthread_setname_np(pthread_self(), "cs-recorder");
    /* Drain, then sleep until a ring passes its watermark (a producer rings
     * the doorbell) or RECORDER_IDLE_NS passed; never while a ring is at
     * its watermark or a producer waits for room (cs_consumer_arm). */
    while (!atomic_load(&stopping)) {
        rec_pass();
        cs_consumer_wait(&rec, RECORDER_IDLE_NS);
    }
    return NULL;
}

/* The recording ends (exit): nothing more is emitted; every thread's ring is
 * published (a worker switched away mid-batch never publishes again) and
 * drained; each loss a thread counted but could not report yet gets its DROP
 * record; then the index. So the file's records plus its DROP counts are
 * every event the program made while recording. */
static void at_exit(void)
{
    if (!atomic_load(&started) || atomic_exchange(&stopping, 1)) return;
    atomic_store(&cs_tel_on, 0);
    int bell = atomic_load(&doorbell);
    if (bell >= 0) {
        uint64_t one = 1;
        syscall(SYS_write, bell, &one, sizeof one); /* wake the recorder now, not at its timeout */
    }
    cs_real.pthread_join(recorder, NULL); /* never the hook: exit() may run in a coroutine */
    tl_mute = 1;
    fast_sync();
    for (tel_thread *t = atomic_load(&threads); t; t = t->next) cs_ring_publish_foreign(&t->ring);
    while (rec_pass())
        ;
    cs_consumer_end_losses(&rec, &rec_sink);
    cs_consumer_finish(&rec, &rec_sink);
    cs_trace_err err;
    if (cs_trace_writer_close(writer, &err)) cs_log("trace %s: %s", trace_path, err.msg);
}

/* CLOCK, PROCESS and CONFIG: what a reader needs before anything else. */
static void emit_metadata(void)
{
    char exe[1024] = {0}, cmd[1024] = {0};
    long n = syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", exe, sizeof exe - 1);
    if (n < 0) exe[0] = '\0';
    cs_proc_read("/proc/self/cmdline", cmd, sizeof cmd, 1);
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    uint64_t version =
        ((uint64_t)COROSCOPE_VERSION_MAJOR << 32) | (COROSCOPE_VERSION_MINOR << 16) | COROSCOPE_VERSION_PATCH;
    cs_tel_emit(COROSCOPE_EV_CLOCK, 0, cs_now_ns(), cs_ts_ns(&rt), 0, 0, 0);
    cs_tel_emit(COROSCOPE_EV_PROCESS, 0, (uint64_t)getpid(), cs_tel_string(exe), cs_tel_string(cmd), version,
                cs_ts_ns(&rt));
    if (cs_follow_on()) /* one of the processes of a followed session (follow.h) */
        cs_tel_emit(COROSCOPE_EV_LINEAGE, 0, (uint64_t)getpid(), (uint64_t)cs_follow_ppid(), (uint64_t)cs_follow_how(),
                    cs_follow_serial(), 0);
    emit_config();
    cs_stack_emit_mappings(); /* so stacks symbolise offline (emit_stack.h) */
}

static void emit_config(void)
{
    cs_tel_emit(COROSCOPE_EV_CONFIG, 0, (uint64_t)cs_cfg.workers, cs_cfg.stack_size, atomic_load(&cs_cfg.time_slice_ns),
                (uint64_t)(atomic_load(&cs_cfg.hooks) | atomic_load(&cs_cfg.preempt) << 1 | cs_cfg.migrate << 2 |
                           cs_tel_lossless() << 3),
                (uint64_t)cs_cfg.preempt_signal);
}

void cs_tel_start(void)
{
    int zero = 0;
    if (!trace_path[0] || !atomic_compare_exchange_strong(&started, &zero, 1)) return;
    int saved = errno;
    int fd = (int)syscall(SYS_openat, AT_FDCWD, trace_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) /* private even when it overwrites an existing file (trace_writer.c does the same) */
        syscall(SYS_fchmod, fd, 0600);
    cs_trace_err err;
    int nomem = cs_consumer_init(&rec, DRAIN_BATCH);
    rec.doorbell = tel_doorbell();
    int mute = tl_mute;
    tl_mute = 1; /* the writer's own write(2) of the header is not the program's */
    fast_sync();
    int werr = fd < 0 || nomem || cs_trace_writer_open_fd(&writer, fd, NULL, &err);
    tl_mute = mute;
    fast_sync();
    if (werr) {
        cs_log("cannot record to COROSCOPE_TRACE=%s: %s", trace_path,
               fd < 0  ? strerror(errno)
               : nomem ? "out of memory"
                       : err.msg);
        atomic_store(&cs_tel_on, 0);
        errno = saved;
        return;
    }
    if (pthread_create(&recorder, NULL, recorder_main, NULL)) {
        cs_log("cannot start the recorder thread; not recording");
        atomic_store(&cs_tel_on, 0);
        errno = saved;
        return;
    }
    atexit(at_exit);
    errno = saved;
}
