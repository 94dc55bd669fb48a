/*
 * test_preempt — preemption of coroutines that compute too long, and what it
 * must never break.
 *
 * A coroutine that keeps its worker for a whole time slice gets the
 * preemption signal (SIGURG unless COROSCOPE_PREEMPT_SIGNAL) from the monitor
 * thread. At a safe point (user code, no counted lock) it is switched out at
 * its current instruction with every register and the full FP/SIMD state
 * saved; otherwise it yields at the next hook entry or at the release of its
 * last lock. System calls are never broken (no EINTR, no short transfer), and
 * a program's own handler for the signal still gets the signals the program
 * did not send to itself through the engine.
 *
 * The tests watch the engine through its preemption observer
 * (coroscope__set_preempt_observer): SENT by the monitor, DONE when the
 * coroutine was switched out, DEFERRED (with a reason) when the handler found
 * no safe point and the coroutine yielded later.
 */
#define CS_TEST_MAIN
#include "cs_test.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <fenv.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <limits.h>

/* ---- the preemption observer (not in coroscope.h: engine-internal API) ---- */

typedef struct cs_preempt_event {
    int kind, worker;
    uint64_t co_id, ran_ns, latency_ns;
    int reason;
    uintptr_t pc;
    int at_safe_point;
} cs_preempt_event;

void coroscope__set_preempt_observer(void (*fn)(const cs_preempt_event *));

enum { EV_SENT = 1, EV_DONE = 2, EV_DEFERRED = 3 };
enum { WHY_RUNTIME_CODE = 1, WHY_LOCK = 2, WHY_STACK = 3 };

/* Events are counted, and the first LOG_MAX are kept in order of emission
 * (SENT is emitted by the monitor, DONE/DEFERRED by the coroutine: the two
 * threads are not ordered with each other). */
#define LOG_MAX 65536
typedef struct logged_event {
    cs_preempt_event ev;
    uint64_t t; /* now_ns() when the observer saw it */
} logged_event;

static _Atomic long n_sent, n_done, n_done_safe, n_deferred, n_deferred_why[4];
static _Atomic long n_logged;
static logged_event event_log[LOG_MAX];

static void observer(const cs_preempt_event *ev)
{
    switch (ev->kind) {
    case EV_SENT: atomic_fetch_add(&n_sent, 1); break;
    case EV_DONE:
        atomic_fetch_add(&n_done, 1);
        if (ev->at_safe_point) atomic_fetch_add(&n_done_safe, 1);
        break;
    case EV_DEFERRED:
        atomic_fetch_add(&n_deferred, 1);
        if (ev->reason >= 0 && ev->reason < 4) atomic_fetch_add(&n_deferred_why[ev->reason], 1);
        break;
    }
    long i = atomic_fetch_add(&n_logged, 1);
    if (i < LOG_MAX) {
        event_log[i].ev = *ev;
        event_log[i].t = now_ns();
    }
}

static long logged_count(void)
{
    long n = atomic_load(&n_logged);
    return n < LOG_MAX ? n : LOG_MAX;
}

/* DONE events of one coroutine (optionally only those at a safe point). */
static long done_events_of(uint64_t co_id, int safe_only)
{
    long c = 0, n = logged_count();
    for (long i = 0; i < n; i++)
        if (event_log[i].ev.kind == EV_DONE && event_log[i].ev.co_id == co_id &&
            (!safe_only || event_log[i].ev.at_safe_point))
            c++;
    return c;
}

static void print_counts(const char *what)
{
    fprintf(stderr,
            "%s: preemption events: SENT %ld, DONE %ld (%ld at a safe point), DEFERRED %ld (runtime code %ld, lock "
            "%ld, stack %ld)\n",
            what, atomic_load(&n_sent), atomic_load(&n_done), atomic_load(&n_done_safe), atomic_load(&n_deferred),
            atomic_load(&n_deferred_why[WHY_RUNTIME_CODE]), atomic_load(&n_deferred_why[WHY_LOCK]),
            atomic_load(&n_deferred_why[WHY_STACK]));
}

/* ---- helpers ---------------------------------------------------------------- */

/* Turn preemption on/off and set the slice (0: keep it). Any time. */
static void configure_preempt(int on, uint64_t slice_ns)
{
    coroscope_config c;
    REQUIRE(coroscope_config_get(&c) == 0);
    c.preempt = on;
    if (slice_ns) c.time_slice_ns = slice_ns;
    int err = coroscope_configure(&c);
    if (err) {
        cs_test_fail(__FILE__, __LINE__, "configure_preempt(%d, %llu): %s", on, (unsigned long long)slice_ns,
                     cs_errname(err));
        cs_test_abort();
    }
}

static coroscope_co *spawn_or_die(const char *name, coroscope_fn fn, void *arg)
{
    coroscope_co *co;
    int err = coroscope_spawn(&co, name, fn, arg);
    if (err) {
        cs_test_fail(__FILE__, __LINE__, "coroscope_spawn(%s): %s", name, cs_errname(err));
        cs_test_abort();
    }
    return co;
}

static void join_ok(coroscope_co *co)
{
    CHECK_EQ_ERR(coroscope_join(co, NULL), 0);
}

/* Spawn a group from inside one short-lived coroutine, so the new
 * coroutines go to that worker's own spawn queue (stealable by the other
 * workers) and not to the global injection queue that plain-thread spawns
 * use. The scenes below are about preemption; how the scheduler treats the
 * injection queue next to a preempted coroutine has tests of its own at the
 * end of this file. */
typedef struct spawn_req {
    const char *name;
    coroscope_fn fn;
    void *arg;
    coroscope_co *co; /* out */
} spawn_req;

typedef struct spawn_group {
    int n;
    spawn_req *r;
} spawn_group;

static void *spawner(void *arg)
{
    spawn_group *g = arg;
    for (int i = 0; i < g->n; i++) g->r[i].co = spawn_or_die(g->r[i].name, g->r[i].fn, g->r[i].arg);
    return NULL;
}

static void spawn_all(int n, spawn_req *r)
{
    spawn_group g = {n, r};
    run_in_coroutine(spawner, &g);
}

/* Pure computation for about d ns: user code except for the clock reads. */
static uint64_t spin_ns(uint64_t d)
{
    uint64_t end = now_ns() + d;
    volatile uint64_t x = 88172645463325252ull;
    do {
        for (int i = 0; i < 2000; i++) {
            uint64_t v = x;
            v ^= v << 13;
            v ^= v >> 7;
            v ^= v << 17;
            x = v;
        }
    } while (now_ns() < end);
    return x;
}

/* Sleep on a plain thread until an absolute CLOCK_MONOTONIC time, through
 * signal handlers (the main thread may receive the process's signals). */
static void sleep_until_ns(uint64_t t)
{
    struct timespec ts = {(time_t)(t / 1000000000ull), (long)(t % 1000000000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static void sleep_ms_plain(long ms)
{
    sleep_until_ns(now_ns() + (uint64_t)ms * MS);
}

/* ---- a pure busy loop --------------------------------------------------------- */

typedef struct busy_scene {
    _Atomic int stop;      /* set by the main thread */
    _Atomic long progress; /* bumped by the other coroutine */
    _Atomic int hog_done;
    long progress_at_hog_start, progress_at_hog_end;
    uint64_t hog_ns;
    uint64_t hog_id;
} busy_scene;

static void *busy_hog(void *arg)
{
    busy_scene *s = arg;
    s->progress_at_hog_start = atomic_load(&s->progress);
    uint64_t t0 = now_ns();
    /* No call at all in here: only the signal can take the worker away. The
     * main thread (a plain thread) ends the loop. */
    for (volatile uint64_t i = 0; !atomic_load_explicit(&s->stop, memory_order_relaxed); i++)
        ;
    s->progress_at_hog_end = atomic_load(&s->progress);
    s->hog_ns = now_ns() - t0;
    atomic_store(&s->hog_done, 1);
    return NULL;
}

static void *progress_maker(void *arg)
{
    busy_scene *s = arg;
    while (!atomic_load(&s->hog_done)) {
        atomic_fetch_add(&s->progress, 1);
        coroscope_yield();
    }
    return NULL;
}

/* The hog and the other coroutine on one worker; the hog spins for ms. */
static void run_busy_scene(busy_scene *s, long ms)
{
    configure_workers(1);
    coroscope__set_preempt_observer(observer);
    spawn_req r[2] = {{"busy_hog", busy_hog, s, NULL}, {"progress_maker", progress_maker, s, NULL}};
    spawn_all(2, r);
    s->hog_id = coroscope_co_id(r[0].co);
    sleep_ms_plain(ms);
    atomic_store(&s->stop, 1);
    join_ok(r[0].co);
    join_ok(r[1].co);
    fprintf(stderr, "busy loop ran %.1f ms; the other coroutine made %ld steps meanwhile\n", s->hog_ns / 1e6,
            s->progress_at_hog_end - s->progress_at_hog_start);
}

TEST(a_pure_busy_loop_is_preempted_and_another_coroutine_on_its_worker_makes_progress_meanwhile)
{
    busy_scene s = {0};
    configure_preempt(1, 10 * MS);
    run_busy_scene(&s, 300);
    print_counts("busy loop, preemption on");
    /* ~300 ms of spinning with a 10 ms slice: ~30 preemptions; demand 5. */
    CHECK_GE_LONG(s.hog_ns, 100 * MS);
    CHECK_GE_LONG(s.progress_at_hog_end - s.progress_at_hog_start, 5);
    CHECK_GE_LONG(done_events_of(s.hog_id, 1), 5);
}

TEST(with_preemption_off_a_pure_busy_loop_keeps_its_worker_until_it_ends)
{
    busy_scene s = {0};
    configure_preempt(0, 10 * MS);
    run_busy_scene(&s, 300);
    print_counts("busy loop, preemption off");
    CHECK_GE_LONG(s.hog_ns, 100 * MS);
    CHECK_EQ_LONG(s.progress_at_hog_end - s.progress_at_hog_start, 0);
    CHECK_EQ_LONG(atomic_load(&n_sent), 0);
    CHECK_EQ_LONG(atomic_load(&n_done), 0);
}

TEST(preemption_switched_on_and_off_at_run_time_takes_effect_for_a_busy_loop_already_running)
{
    /* Off at the start; the main thread switches it on, then off again,
     * while the hog spins. */
    busy_scene s = {0};
    configure_workers(1);
    configure_preempt(0, 10 * MS);
    coroscope__set_preempt_observer(observer);
    spawn_req r[2] = {{"busy_hog", busy_hog, &s, NULL}, {"progress_maker", progress_maker, &s, NULL}};
    spawn_all(2, r);
    sleep_ms_plain(150);
    long off1 = atomic_load(&s.progress);
    long sent_off1 = atomic_load(&n_sent);
    configure_preempt(1, 0);
    sleep_ms_plain(150);
    long on = atomic_load(&s.progress);
    configure_preempt(0, 0);
    sleep_ms_plain(30); /* a signal already on its way may still switch once */
    long off2_start = atomic_load(&s.progress);
    sleep_ms_plain(150);
    long off2_end = atomic_load(&s.progress);
    atomic_store(&s.stop, 1);
    join_ok(r[0].co);
    join_ok(r[1].co);
    print_counts("preemption switched on and off at run time");
    fprintf(stderr, "steps of the other coroutine: %ld while off, %ld while on, %ld while off again\n", off1, on - off1,
            off2_end - off2_start);
    CHECK_EQ_LONG(sent_off1, 0);
    CHECK_LE_LONG(off1, 1);      /* at most the step before the hog started */
    CHECK_GE_LONG(on - off1, 3); /* 150 ms at a 10 ms slice: ~14 */
    CHECK_EQ_LONG(off2_end - off2_start, 0);
}

/* The monitor must tell a computing coroutine from one blocked in the kernel
 * (a call the engine cannot park). A worker thread that is runnable but
 * shares its CPU with other threads gets less CPU time than wall time, yet it
 * is computing: it must still be preempted. Here the whole process is pinned
 * to one CPU, where two plain threads spin next to the worker. */
static _Atomic int burners_stop;

static void *burner(void *arg)
{
    (void)arg;
    volatile uint64_t x = 0;
    while (!atomic_load_explicit(&burners_stop, memory_order_relaxed)) x++;
    return NULL;
}

TEST(a_busy_loop_on_a_worker_that_shares_its_cpu_with_other_threads_is_still_preempted)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &one);
    REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0); /* inherited by every thread created from here */
    busy_scene s = {0};
    pthread_t b[2];
    for (int i = 0; i < 2; i++) REQUIRE(pthread_create(&b[i], NULL, burner, NULL) == 0);
    configure_preempt(1, 10 * MS);
    run_busy_scene(&s, 450); /* ~150 ms of CPU for the hog, 45 slices of wall time */
    atomic_store(&burners_stop, 1);
    for (int i = 0; i < 2; i++) pthread_join(b[i], NULL);
    print_counts("shared CPU");
    CHECK_GE_LONG(s.hog_ns, 100 * MS);
    CHECK_GE_LONG(s.progress_at_hog_end - s.progress_at_hog_start, 5);
}

/* ---- signal storm: transfers, sleeps and hogs at the minimum slice ------------- */

#define STORM_TOTAL    (100ull << 20) /* bytes over all streams */
#define STORM_SOCK     4
#define STORM_PIPE     4
#define STORM_STREAMS  (STORM_SOCK + STORM_PIPE)
#define STORM_HOGS     6
#define STORM_SLEEPERS 4

typedef struct stream {
    int k;
    int is_sock;
    int fd[2]; /* [0] read end, [1] write end */
    uint64_t total;
    uint64_t received;
    long writes, reads, short_reads;
} stream;

static _Atomic long storm_eintr, storm_bad_results, storm_bad_bytes;
static _Atomic int storm_stop;
static _Atomic long storm_sleeps, storm_short_sleeps, storm_hog_rounds;

static inline uint8_t pattern(int k, uint64_t p)
{
    return (uint8_t)(p ^ (p >> 8) ^ (p >> 16) ^ (p >> 24) ^ (uint64_t)(k * 0x5b + 1));
}

static void storm_bad(const char *what, int k, long r, size_t n, int e)
{
    if (r < 0 && e == EINTR) atomic_fetch_add(&storm_eintr, 1);
    if (atomic_fetch_add(&storm_bad_results, 1) < 10)
        cs_test_fail(__FILE__, __LINE__, "stream %d: %s returned %ld (asked %zu) errno %s", k, what, r, n,
                     cs_errname(e));
}

static const size_t write_sizes[] = {1, 3, 100, 512, PIPE_BUF, PIPE_BUF + 1, 6000, 65536, 65537, 200000};
#define WRITE_MAX 200000

static void *storm_writer(void *arg)
{
    stream *s = arg;
    uint8_t *buf = malloc(WRITE_MAX);
    REQUIRE(buf);
    uint64_t pos = 0;
    for (unsigned i = 0; pos < s->total; i++) {
        size_t n = write_sizes[(i + (unsigned)s->k) % (sizeof write_sizes / sizeof write_sizes[0])];
        if (n > s->total - pos) n = (size_t)(s->total - pos);
        for (size_t j = 0; j < n; j++) buf[j] = pattern(s->k, pos + j);
        int how = (int)(i % (s->is_sock ? 3u : 2u));
        ssize_t r;
        const char *what;
        errno = 0;
        if (how == 0) {
            what = "write";
            r = write(s->fd[1], buf, n);
        } else if (how == 1) {
            what = "writev";
            size_t a = n / 3, b = n / 3;
            struct iovec iov[3] = {{buf, a}, {buf + a, b}, {buf + a + b, n - a - b}};
            r = writev(s->fd[1], iov, 3);
        } else {
            what = "send";
            r = send(s->fd[1], buf, n, MSG_NOSIGNAL);
        }
        if (r != (ssize_t)n) { /* blocking writes transfer everything */
            storm_bad(what, s->k, (long)r, n, errno);
            break;
        }
        pos += n;
        s->writes++;
    }
    free(buf);
    CHECK_EQ_LONG(close(s->fd[1]), 0);
    return NULL;
}

static const size_t read_sizes[] = {1, 64, 4096, 5000, 65536, 131072};
#define READ_MAX 131072

static void *storm_reader(void *arg)
{
    stream *s = arg;
    uint8_t *buf = malloc(READ_MAX);
    REQUIRE(buf);
    uint64_t pos = 0;
    for (unsigned i = 0; pos < s->total; i++) {
        size_t want = read_sizes[(i + (unsigned)s->k) % (sizeof read_sizes / sizeof read_sizes[0])];
        int how = (int)(i % (s->is_sock ? 4u : 2u));
        ssize_t r;
        const char *what;
        errno = 0;
        if (how == 0) {
            what = "read";
            r = read(s->fd[0], buf, want);
        } else if (how == 1) {
            what = "readv";
            struct iovec iov[2] = {{buf, want / 2}, {buf + want / 2, want - want / 2}};
            r = readv(s->fd[0], iov, 2);
        } else if (how == 2) {
            what = "recv";
            r = recv(s->fd[0], buf, want, 0);
        } else {
            what = "recv(MSG_WAITALL)";
            if (want > s->total - pos) want = (size_t)(s->total - pos);
            r = recv(s->fd[0], buf, want, MSG_WAITALL);
            if (r > 0 && (size_t)r != want) { /* waits for all of it: the writer sends everything */
                storm_bad(what, s->k, (long)r, want, 0);
                break;
            }
        }
        if (r <= 0 || (size_t)r > want) { /* no EOF before the end, never an error */
            storm_bad(what, s->k, (long)r, want, errno);
            break;
        }
        if ((size_t)r < want) s->short_reads++; /* a partial read is what the real call gives too */
        for (ssize_t j = 0; j < r; j++) {
            if (buf[j] != pattern(s->k, pos + (uint64_t)j)) {
                if (atomic_fetch_add(&storm_bad_bytes, 1) < 5)
                    cs_test_fail(__FILE__, __LINE__, "stream %d: byte %llu is 0x%02x, expected 0x%02x", s->k,
                                 (unsigned long long)(pos + (uint64_t)j), buf[j], pattern(s->k, pos + (uint64_t)j));
                break;
            }
        }
        pos += (uint64_t)r;
        s->reads++;
    }
    s->received = pos;
    if (pos == s->total) { /* then end of file, once the writer closed */
        errno = 0;
        ssize_t r = read(s->fd[0], buf, 1);
        if (r != 0) storm_bad("read at EOF", s->k, (long)r, 1, errno);
    }
    free(buf);
    CHECK_EQ_LONG(close(s->fd[0]), 0);
    return NULL;
}

/* Hogs: the pure one is preempted at safe points; the libc one mostly has
 * its signal deferred (runtime code) and is caught in user code by a later
 * one; the locking one defers with reason lock and yields at its unlock. */
typedef struct hog {
    int kind;
    pthread_mutex_t m;
    uint64_t rounds;
} hog;

static void *storm_hog(void *arg)
{
    hog *h = arg;
    static char src[1 << 18], dst[1 << 18];
    volatile uint64_t x = 0x9e3779b97f4a7c15ull + (uint64_t)h->kind;
    while (!atomic_load_explicit(&storm_stop, memory_order_relaxed)) {
        if (h->kind == 1) {
            memcpy(dst, src, sizeof dst);
            __asm__ volatile("" : : "r"(dst), "r"(src) : "memory"); /* keep the copy */
        }
        if (h->kind == 2) pthread_mutex_lock(&h->m);
        for (int i = 0; i < 20000; i++) {
            uint64_t v = x;
            v ^= v << 13;
            v ^= v >> 7;
            v ^= v << 17;
            x = v;
        }
        if (h->kind == 2) pthread_mutex_unlock(&h->m);
        h->rounds++;
    }
    atomic_fetch_add(&storm_hog_rounds, (long)h->rounds);
    return (void *)(uintptr_t)x;
}

static void *storm_sleeper(void *arg)
{
    int k = (int)(intptr_t)arg;
    for (unsigned i = 0; !atomic_load(&storm_stop); i++) {
        long ms = 1 + (long)((i + (unsigned)k) % 5);
        uint64_t t0 = now_ns();
        int how = (int)((i + (unsigned)k) % 3);
        long r;
        int e;
        errno = 0;
        if (how == 0) {
            struct timespec ts = {0, ms * MS}, rem = {0, 0};
            r = nanosleep(&ts, &rem);
            e = errno;
        } else if (how == 1) {
            r = usleep((useconds_t)(ms * 1000));
            e = errno;
        } else {
            struct timespec ts = {0, ms * MS};
            e = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL); /* returns the error */
            r = e ? -1 : 0;
        }
        uint64_t el = now_ns() - t0;
        if (r != 0) {
            storm_bad(how == 0 ? "nanosleep" : how == 1 ? "usleep" : "clock_nanosleep", 100 + k, r, (size_t)ms, e);
            break;
        }
        if (el < (uint64_t)ms * MS) {
            if (atomic_fetch_add(&storm_short_sleeps, 1) < 5)
                cs_test_fail(__FILE__, __LINE__, "sleeper %d: a %ld ms sleep returned after %.3f ms", k, ms, el / 1e6);
        }
        atomic_fetch_add(&storm_sleeps, 1);
    }
    return NULL;
}

/* Half of the socket pairs are made inside a coroutine (the engine then
 * makes them non-blocking underneath), half on the main thread. */
static void *make_socketpair(void *arg)
{
    stream *s = arg;
    CHECK_EQ_LONG(socketpair(AF_UNIX, SOCK_STREAM, 0, s->fd), 0);
    return NULL;
}

TEST(under_a_preemption_signal_storm_transfers_and_sleeps_give_exactly_the_results_of_the_real_blocking_calls)
{
    configure_workers(2);
    configure_preempt(1, 100000); /* the minimum slice: 100 us */
    coroscope__set_preempt_observer(observer);
    signal(SIGPIPE, SIG_IGN);
    static stream st[STORM_STREAMS];
    for (int k = 0; k < STORM_STREAMS; k++) {
        st[k].k = k;
        st[k].is_sock = k < STORM_SOCK;
        st[k].total = STORM_TOTAL / STORM_STREAMS;
        if (!st[k].is_sock)
            REQUIRE(pipe(st[k].fd) == 0);
        else if (k % 2)
            run_in_coroutine(make_socketpair, &st[k]);
        else
            REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, st[k].fd) == 0);
    }
    static hog hogs[STORM_HOGS];
    enum { NCO = STORM_HOGS + STORM_SLEEPERS + 2 * STORM_STREAMS };
    spawn_req r[NCO];
    int n = 0;
    for (int i = 0; i < STORM_HOGS; i++) {
        hogs[i].kind = i % 3;
        pthread_mutex_init(&hogs[i].m, NULL);
        r[n++] = (spawn_req){"hog", storm_hog, &hogs[i], NULL};
    }
    for (int i = 0; i < STORM_SLEEPERS; i++) r[n++] = (spawn_req){"sleeper", storm_sleeper, (void *)(intptr_t)i, NULL};
    for (int k = 0; k < STORM_STREAMS; k++) {
        r[n++] = (spawn_req){"writer", storm_writer, &st[k], NULL};
        r[n++] = (spawn_req){"reader", storm_reader, &st[k], NULL};
    }
    uint64_t t0 = now_ns();
    spawn_all(n, r);
    const int io0 = STORM_HOGS + STORM_SLEEPERS;
    for (int i = io0; i < NCO; i++) join_ok(r[i].co);
    uint64_t io_ns = now_ns() - t0;
    atomic_store(&storm_stop, 1);
    for (int i = 0; i < io0; i++) join_ok(r[i].co);

    uint64_t total = 0;
    long reads = 0, writes = 0, shorts = 0;
    for (int k = 0; k < STORM_STREAMS; k++) {
        CHECK_EQ_LONG(st[k].received, st[k].total);
        total += st[k].received;
        reads += st[k].reads;
        writes += st[k].writes;
        shorts += st[k].short_reads;
    }
    fprintf(stderr,
            "storm: %.1f MB in %.2f s over %d streams (%ld writes, %ld reads, %ld partial reads), %ld sleeps, "
            "%ld hog rounds\n",
            total / 1048576.0, io_ns / 1e9, STORM_STREAMS, writes, reads, shorts, atomic_load(&storm_sleeps),
            atomic_load(&storm_hog_rounds));
    print_counts("storm");
    CHECK_EQ_LONG(total, STORM_TOTAL);
    CHECK_EQ_LONG(atomic_load(&storm_eintr), 0);
    CHECK_EQ_LONG(atomic_load(&storm_bad_results), 0);
    CHECK_EQ_LONG(atomic_load(&storm_bad_bytes), 0);
    CHECK_EQ_LONG(atomic_load(&storm_short_sleeps), 0);
    CHECK_GE_LONG(atomic_load(&storm_sleeps), 20);
    CHECK_GE_LONG(atomic_load(&n_sent), 100);
    CHECK_GE_LONG(atomic_load(&n_done), 100);
}

/* ---- locks ------------------------------------------------------------------------ */

#define WITNESS_MAX      100000
/* How long the locker waits at most for what it needs to see (a bound, not a timing). */
#define LOCK_SCENE_LIMIT (10000 * MS)

typedef struct lock_scene {
    pthread_mutex_t m;
    uint64_t locker_id;
    uint64_t t_locked, t_unlocking, t_unlocked;
    _Atomic int in_lock, locker_done;
    int witness_saw_lock;
    long nstamps;
    uint64_t stamps[WITNESS_MAX];
} lock_scene;

static void *locker(void *arg)
{
    lock_scene *s = arg;
    /* Preempted as usual: spin until the witness has run three times (on a
     * loaded machine the monitor may take longer than a few slices to get
     * the CPU, so the spin is bounded by a generous limit, not by time). */
    uint64_t t = now_ns();
    while ((s->nstamps < 3 || now_ns() - t < 20 * MS) && now_ns() - t < LOCK_SCENE_LIMIT) spin_ns(1 * MS);
    pthread_mutex_lock(&s->m);
    s->t_locked = now_ns();
    atomic_store(&s->in_lock, 1);
    /* Three slices' worth at least, and until a preemption has actually been
     * deferred because of the lock (each signal is). */
    long deferred0 = atomic_load(&n_deferred_why[WHY_LOCK]);
    t = now_ns();
    while ((atomic_load(&n_deferred_why[WHY_LOCK]) == deferred0 || now_ns() - t < 30 * MS) &&
           now_ns() - t < LOCK_SCENE_LIMIT)
        spin_ns(1 * MS);
    atomic_store(&s->in_lock, 0);
    s->t_unlocking = now_ns();
    pthread_mutex_unlock(&s->m); /* the deferred preemption happens in here */
    s->t_unlocked = now_ns();
    spin_ns(10 * MS);
    atomic_store(&s->locker_done, 1);
    return NULL;
}

static void *lock_witness(void *arg)
{
    lock_scene *s = arg;
    while (!atomic_load(&s->locker_done)) {
        if (s->nstamps < WITNESS_MAX) s->stamps[s->nstamps++] = now_ns();
        if (atomic_load(&s->in_lock)) s->witness_saw_lock = 1;
        coroscope_yield();
    }
    return NULL;
}

TEST(a_coroutine_holding_a_pthread_mutex_is_not_preempted_until_it_releases_it_and_then_yields_at_the_unlock)
{
    configure_workers(1);
    configure_preempt(1, 1 * MS);
    coroscope__set_preempt_observer(observer);
    static lock_scene s;
    pthread_mutex_init(&s.m, NULL);
    spawn_req r[2] = {{"locker", locker, &s, NULL}, {"witness", lock_witness, &s, NULL}};
    spawn_all(2, r);
    s.locker_id = coroscope_co_id(r[0].co);
    join_ok(r[0].co);
    join_ok(r[1].co);
    print_counts("mutex");

    CHECK(!s.witness_saw_lock);
    long before = 0, inside = 0, at_unlock = 0;
    for (long i = 0; i < s.nstamps; i++) {
        if (s.stamps[i] < s.t_locked)
            before++;
        else if (s.stamps[i] <= s.t_unlocking)
            inside++;
        else if (s.stamps[i] <= s.t_unlocked)
            at_unlock++;
    }
    fprintf(stderr, "witness ran %ld times before the lock, %ld inside it, %ld during the unlock, %ld in all\n", before,
            inside, at_unlock, s.nstamps);
    CHECK_GE_LONG(before, 3);    /* outside the lock the locker is preempted normally */
    CHECK_EQ_LONG(inside, 0);    /* never while the mutex is held */
    CHECK_GE_LONG(at_unlock, 1); /* the unlock yielded to the witness */

    /* The observer saw the deferral (reason: lock) at the unlock, followed by
     * the DONE of that deferred yield. */
    long n = logged_count(), found = 0;
    for (long i = 0; i < n; i++) {
        const logged_event *e = &event_log[i];
        if (e->ev.kind != EV_DEFERRED || e->ev.co_id != s.locker_id || e->ev.reason != WHY_LOCK) continue;
        if (e->t < s.t_unlocking || e->t > s.t_unlocked) continue;
        found++;
        int next_done = 0;
        for (long j = i + 1; j < n; j++)
            if (event_log[j].ev.co_id == s.locker_id && event_log[j].ev.kind != EV_SENT) {
                next_done = event_log[j].ev.kind == EV_DONE && !event_log[j].ev.at_safe_point;
                break;
            }
        CHECK(next_done);
    }
    CHECK_EQ_LONG(found, 1);
    /* No preemption of the locker was completed while it held the mutex. */
    for (long i = 0; i < n; i++) {
        const logged_event *e = &event_log[i];
        if (e->ev.kind == EV_DONE && e->ev.co_id == s.locker_id && e->t > s.t_locked && e->t < s.t_unlocking)
            cs_test_fail(__FILE__, __LINE__, "the locker was switched out at %.3f ms into its critical section",
                         (e->t - s.t_locked) / 1e6);
    }
}

/* ---- stdio --------------------------------------------------------------------------- */

#define PRINTERS          16
#define LINES_PER_PRINTER 1500

/* Line `seq` of printer `co`, without its newline. Printers with co % 4 == 0
 * write "group" lines in pieces under flockfile, computing in between;
 * printer 1 writes lines longer than a stdio buffer. */
static size_t expected_line(int co, int seq, char *out)
{
    int len = (co * 7 + seq * 13) % 200 + (co == 1 ? 5000 : 0);
    char data[5300];
    for (int j = 0; j < len; j++) data[j] = (char)('a' + (co + seq + j) % 26);
    data[len] = '\0';
    if (co % 4 == 0) {
        int a = len / 3, b = len / 3;
        return (size_t)sprintf(out, "G %02d %06d %.*s|%.*s|%s", co, seq, a, data, b, data + a, data + a + b);
    }
    return (size_t)sprintf(out, "S %02d %06d %s", co, seq, data);
}

static void *printer(void *arg)
{
    int co = (int)(intptr_t)arg;
    char line[5400];
    for (int seq = 0; seq < LINES_PER_PRINTER; seq++) {
        size_t n = expected_line(co, seq, line);
        if (co % 4 == 0) {
            /* the same text, printed in five pieces with computation between */
            char *p1 = strchr(line + 12, '|'), *p2 = strchr(p1 + 1, '|');
            flockfile(stdout);
            printf("%.*s", (int)(p1 - line), line);
            spin_ns(150000);
            fputc('|', stdout);
            fwrite(p1 + 1, 1, (size_t)(p2 - p1 - 1), stdout);
            spin_ns(150000);
            putc_unlocked('|', stdout);
            spin_ns(150000);
            printf("%s\n", p2 + 1);
            funlockfile(stdout);
        } else {
            printf("%.*s\n", (int)n, line);
        }
        spin_ns(20000 + (uint64_t)(seq % 7) * 20000);
    }
    return NULL;
}

TEST(coroutines_printing_to_a_shared_file_while_preempted_at_the_minimum_slice_never_interleave_their_lines)
{
    configure_workers(2);
    configure_preempt(1, 100000);
    coroscope__set_preempt_observer(observer);
    FILE *tmp = tmpfile();
    REQUIRE(tmp);
    fflush(stdout);
    int saved = dup(1);
    REQUIRE(saved >= 0);
    REQUIRE(dup2(fileno(tmp), 1) == 1);
    spawn_req r[PRINTERS];
    for (int i = 0; i < PRINTERS; i++) r[i] = (spawn_req){"printer", printer, (void *)(intptr_t)i, NULL};
    spawn_all(PRINTERS, r);
    for (int i = 0; i < PRINTERS; i++) join_ok(r[i].co);
    fflush(stdout);
    REQUIRE(dup2(saved, 1) == 1);
    close(saved);
    print_counts("printf");

    /* Read it all back and check every line against what its printer wrote. */
    REQUIRE(fseek(tmp, 0, SEEK_END) == 0);
    long size = ftell(tmp);
    REQUIRE(size > 0);
    char *all = malloc((size_t)size + 1);
    REQUIRE(all);
    rewind(tmp);
    REQUIRE(fread(all, 1, (size_t)size, tmp) == (size_t)size);
    all[size] = '\0';
    fclose(tmp);
    int next_seq[PRINTERS] = {0};
    long lines = 0, bad = 0;
    char want[5400];
    for (char *p = all; *p;) {
        char *nl = strchr(p, '\n');
        if (!nl) {
            cs_test_fail(__FILE__, __LINE__, "output ends in a partial line: %.80s", p);
            bad++;
            break;
        }
        *nl = '\0';
        char kind;
        int co, seq;
        int ok = sscanf(p, "%c %d %d", &kind, &co, &seq) == 3 && co >= 0 && co < PRINTERS && seq == next_seq[co];
        if (ok) {
            expected_line(co, seq, want);
            ok = !strcmp(p, want);
        }
        if (!ok) {
            if (bad++ < 5)
                cs_test_fail(__FILE__, __LINE__, "line %ld is corrupted or out of order: %.120s", lines + 1, p);
        } else {
            next_seq[co]++;
        }
        lines++;
        p = nl + 1;
    }
    free(all);
    for (int i = 0; i < PRINTERS; i++) CHECK_EQ_LONG(next_seq[i], LINES_PER_PRINTER);
    fprintf(stderr, "printf: %ld lines, %ld bad\n", lines, bad);
    CHECK_EQ_LONG(bad, 0);
    CHECK_EQ_LONG(lines, PRINTERS * LINES_PER_PRINTER);
    CHECK_GE_LONG(atomic_load(&n_done), 50);
    /* the flockfile sections compute for 450 us: their signals were deferred */
    CHECK_GE_LONG(atomic_load(&n_deferred_why[WHY_LOCK]), 1);
}

/* ---- floating point and SIMD state ------------------------------------------------------ */

enum fp_kind { FP_HARMONIC, FP_HARMONIC_X87, FP_LOGISTIC, FP_LOGISTIC_AVX2, FP_LOGISTIC_AVX512, FP_KINDS };

typedef struct fp_job {
    int kind;
    int round; /* set in the coroutine (set_rounding: x87 and SSE) */
    long n;
    unsigned char out[24 * 64]; /* raw result bytes */
    size_t out_len;
    int round_after; /* get_rounding() at the end */
    uint64_t co_id;
} fp_job;

/* fesetround/fegetround without libm (the tests link only the engine): the
 * FE_* values are the x87 control word's rounding bits; MXCSR has the same
 * bits 3 places higher. Both units are set, and read back separately. */
static void set_rounding(int mode)
{
    unsigned short cw;
    unsigned int mx;
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    cw = (unsigned short)((cw & ~0xc00) | (unsigned)mode);
    __asm__ volatile("fldcw %0" : : "m"(cw));
    __asm__ volatile("stmxcsr %0" : "=m"(mx));
    mx = (mx & ~0x6000u) | ((unsigned)mode << 3);
    __asm__ volatile("ldmxcsr %0" : : "m"(mx));
}

/* The rounding mode, or -1 when the x87 unit and SSE disagree. */
static int get_rounding(void)
{
    unsigned short cw;
    unsigned int mx;
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    __asm__ volatile("stmxcsr %0" : "=m"(mx));
    int x87 = cw & 0xc00, sse = (int)((mx >> 3) & 0xc00);
    return x87 == sse ? x87 : -1;
}

static double harmonic(long n)
{
    double s = 0;
    for (long i = 1; i <= n; i++) s += 1.0 / (double)i;
    return s;
}

static long double harmonic_x87(long n)
{
    long double s = 0;
    for (long i = 1; i <= n; i++) s += 1.0L / (long double)i;
    return s;
}

static void logistic_scalar(long n, double out[8])
{
    double x[8];
    for (int k = 0; k < 8; k++) x[k] = 0.1 + 0.1 * k;
    for (long i = 0; i < n; i++)
        for (int k = 0; k < 8; k++) x[k] = 3.99 * x[k] * (1.0 - x[k]);
    memcpy(out, x, sizeof x);
}

typedef double v4d __attribute__((vector_size(32)));
typedef double v8d __attribute__((vector_size(64)));

/* 12 chaotic vectors live in ymm registers across the whole loop: a lost
 * upper half or a clobbered register changes every later value. */
__attribute__((target("avx2"), noinline)) static void logistic_avx2(long n, double *out)
{
    v4d x[12];
    for (int k = 0; k < 12; k++)
        for (int l = 0; l < 4; l++) x[k][l] = 0.05 + 0.9 * (k * 4 + l) / 48.0;
    const v4d r = {3.99, 3.991, 3.992, 3.993}, one = {1, 1, 1, 1};
    for (long i = 0; i < n; i++) {
        x[0] = r * x[0] * (one - x[0]);
        x[1] = r * x[1] * (one - x[1]);
        x[2] = r * x[2] * (one - x[2]);
        x[3] = r * x[3] * (one - x[3]);
        x[4] = r * x[4] * (one - x[4]);
        x[5] = r * x[5] * (one - x[5]);
        x[6] = r * x[6] * (one - x[6]);
        x[7] = r * x[7] * (one - x[7]);
        x[8] = r * x[8] * (one - x[8]);
        x[9] = r * x[9] * (one - x[9]);
        x[10] = r * x[10] * (one - x[10]);
        x[11] = r * x[11] * (one - x[11]);
    }
    memcpy(out, x, sizeof x);
}

/* 24 zmm vectors, each its own variable so they live in registers: more than
 * 16, so zmm16..31 carry live state across every preemption too. */
/* (clang-format 14 does not lay this list out the same way twice.) */
// clang-format off
#define X24(M) \
    M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) \
    M(12) M(13) M(14) M(15) M(16) M(17) M(18) M(19) M(20) M(21) M(22) M(23)
// clang-format on
__attribute__((target("avx512f"), noinline)) static void logistic_avx512(long n, double *out)
{
    const v8d r = {3.99, 3.991, 3.992, 3.993, 3.994, 3.995, 3.996, 3.997}, one = {1, 1, 1, 1, 1, 1, 1, 1};
    const v8d lane = {0, 1, 2, 3, 4, 5, 6, 7};
#define DECL(k) v8d x##k = 0.05 + 0.9 * ((k)*8 + lane) / 192.0;
    X24(DECL)
#undef DECL
    for (long i = 0; i < n; i++) {
#define STEP(k) x##k = r * x##k * (one - x##k);
        X24(STEP)
#undef STEP
    }
#define STORE(k) memcpy(out + (k)*8, &x##k, sizeof x##k);
    X24(STORE)
#undef STORE
}

static void *fp_body(void *arg)
{
    fp_job *j = arg;
    if (j->round != FE_TONEAREST) set_rounding(j->round);
    switch (j->kind) {
    case FP_HARMONIC: {
        double r = harmonic(j->n);
        memcpy(j->out, &r, sizeof r);
        j->out_len = sizeof r;
        break;
    }
    case FP_HARMONIC_X87: {
        long double r = harmonic_x87(j->n);
        memcpy(j->out, &r, 10); /* the 80 significant bits */
        j->out_len = 10;
        break;
    }
    case FP_LOGISTIC:
        logistic_scalar(j->n, (double *)j->out);
        j->out_len = 8 * sizeof(double);
        break;
    case FP_LOGISTIC_AVX2:
        logistic_avx2(j->n, (double *)j->out);
        j->out_len = 48 * sizeof(double);
        break;
    case FP_LOGISTIC_AVX512:
        logistic_avx512(j->n, (double *)j->out);
        j->out_len = 24 * 8 * sizeof(double);
        break;
    }
    j->round_after = get_rounding();
    return NULL;
}

TEST(floating_point_modes_and_simd_registers_survive_hundreds_of_preemptions_bit_for_bit)
{
    configure_workers(1);
    coroscope__set_preempt_observer(observer);
    int have_avx2 = __builtin_cpu_supports("avx2"), have_avx512 = __builtin_cpu_supports("avx512f");
    /* kind, rounding mode, size: each about 50-150 ms alone */
    fp_job proto[] = {
        {FP_HARMONIC, FE_UPWARD, 30000000, {0}, 0, 0, 0},
        {FP_HARMONIC, FE_DOWNWARD, 30000000, {0}, 0, 0, 0},
        {FP_HARMONIC, FE_TONEAREST, 30000000, {0}, 0, 0, 0},
        {FP_HARMONIC_X87, FE_TOWARDZERO, 20000000, {0}, 0, 0, 0},
        {FP_HARMONIC_X87, FE_UPWARD, 20000000, {0}, 0, 0, 0},
        {FP_LOGISTIC, FE_DOWNWARD, 5000000, {0}, 0, 0, 0},
        {FP_LOGISTIC_AVX2, FE_TONEAREST, 5000000, {0}, 0, 0, 0},
        {FP_LOGISTIC_AVX2, FE_UPWARD, 5000000, {0}, 0, 0, 0},
        {FP_LOGISTIC_AVX512, FE_TONEAREST, 8000000, {0}, 0, 0, 0},
        {FP_LOGISTIC_AVX512, FE_DOWNWARD, 8000000, {0}, 0, 0, 0},
    };
    enum { NJOBS = sizeof proto / sizeof proto[0] };
    static fp_job ref[NJOBS], live[NJOBS];
    int skip[NJOBS] = {0};
    for (int i = 0; i < NJOBS; i++) {
        skip[i] =
            (proto[i].kind == FP_LOGISTIC_AVX2 && !have_avx2) || (proto[i].kind == FP_LOGISTIC_AVX512 && !have_avx512);
        ref[i] = live[i] = proto[i];
    }
    if (!have_avx2 || !have_avx512)
        fprintf(stderr, "note: this CPU lacks %s: those jobs are skipped\n", !have_avx2 ? "AVX2" : "AVX-512F");

    /* Reference: each job alone, preemption off. */
    configure_preempt(0, 100000);
    uint64_t t0 = now_ns();
    for (int i = 0; i < NJOBS; i++)
        if (!skip[i]) run_in_coroutine(fp_body, &ref[i]);
    fprintf(stderr, "reference run: %.0f ms\n", (now_ns() - t0) / 1e6);
    CHECK_EQ_LONG(atomic_load(&n_done), 0);

    /* The same jobs all at once on one worker, preempted every 100 us. */
    configure_preempt(1, 100000);
    spawn_req r[NJOBS];
    int idx[NJOBS], n = 0;
    for (int i = 0; i < NJOBS; i++)
        if (!skip[i]) {
            idx[n] = i;
            r[n++] = (spawn_req){"fp", fp_body, &live[i], NULL};
        }
    t0 = now_ns();
    spawn_all(n, r);
    for (int k = 0; k < n; k++) live[idx[k]].co_id = coroscope_co_id(r[k].co);
    for (int k = 0; k < n; k++) join_ok(r[k].co);
    fprintf(stderr, "preempted run: %.0f ms\n", (now_ns() - t0) / 1e6);
    print_counts("fp");

    for (int i = 0; i < NJOBS; i++) {
        if (skip[i]) continue;
        long preempts = done_events_of(live[i].co_id, 0);
        fprintf(stderr, "job %d (kind %d, rounding %d): preempted %ld times\n", i, live[i].kind, live[i].round,
                preempts);
        CHECK_GE_LONG(preempts, 5); /* each job's registers crossed several switches */
        CHECK_EQ_LONG(live[i].out_len, ref[i].out_len);
        if (memcmp(live[i].out, ref[i].out, ref[i].out_len))
            cs_test_fail(__FILE__, __LINE__, "job %d (kind %d, rounding %d): the preempted result differs", i,
                         live[i].kind, live[i].round);
        CHECK_EQ_LONG(live[i].round_after, live[i].round); /* its own mode, untouched by the others */
        CHECK_EQ_LONG(ref[i].round_after, ref[i].round);
    }
    CHECK_GE_LONG(atomic_load(&n_done), 200);
    /* The rounding modes really mattered (otherwise the test proves little). */
    double up, down, near;
    memcpy(&up, ref[0].out, sizeof up);
    memcpy(&down, ref[1].out, sizeof down);
    memcpy(&near, ref[2].out, sizeof near);
    CHECK(up > near && near > down);
    CHECK(harmonic(30000000) == near); /* the main thread's mode never changed */
    CHECK_EQ_LONG(get_rounding(), FE_TONEAREST);
}

/* ---- the program's own SIGURG handler -------------------------------------------------------- */

static _Atomic int urg_calls, urg_from_user, urg_from_tkill;
static _Atomic int hog_stop;

static void on_sigurg(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (sig != SIGURG) return;
    atomic_fetch_add(&urg_calls, 1);
    if (si->si_code == SI_USER && si->si_pid == getpid()) atomic_fetch_add(&urg_from_user, 1);
    if (si->si_code == SI_TKILL) atomic_fetch_add(&urg_from_tkill, 1);
}

static void *stoppable_hog(void *arg)
{
    (void)arg;
    volatile uint64_t x = 1;
    while (!atomic_load_explicit(&hog_stop, memory_order_relaxed))
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    return NULL;
}

static void install_sigurg_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigurg;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR1);
    REQUIRE(sigaction(SIGURG, &sa, NULL) == 0);
}

static void check_sigurg_handler_is_reported(void)
{
    struct sigaction old;
    memset(&old, 0, sizeof old);
    CHECK_EQ_LONG(sigaction(SIGURG, NULL, &old), 0);
    CHECK(old.sa_sigaction == on_sigurg);
    CHECK(old.sa_flags & SA_SIGINFO);
    CHECK(old.sa_flags & SA_RESTART);
    CHECK(sigismember(&old.sa_mask, SIGUSR1));
}

/* A hog keeps the monitor sending; the main thread sends SIGURG to the
 * process 5 times, 20 ms apart, then waits until the hogs were preempted
 * again and 20 times in all. */
static void sigurg_scene(int install_before_start)
{
    configure_workers(1);
    configure_preempt(1, 1 * MS);
    coroscope__set_preempt_observer(observer);
    if (install_before_start) install_sigurg_handler();
    spawn_req r[2] = {{"hog", stoppable_hog, NULL, NULL}, {"hog2", stoppable_hog, NULL, NULL}};
    spawn_all(2, r);
    coroscope_co *h = r[0].co, *p = r[1].co;
    if (!install_before_start) {
        sleep_ms_plain(20);
        install_sigurg_handler();
    }
    check_sigurg_handler_is_reported();
    sleep_ms_plain(30);
    long done_before = atomic_load(&n_done);
    uint64_t t = now_ns();
    for (int i = 0; i < 5; i++) {
        CHECK_EQ_LONG(kill(getpid(), SIGURG), 0);
        t += 20 * MS;
        sleep_until_ns(t);
    }
    /* Preemption goes on after the program's signals: wait for it rather
     * than for a time (a loaded machine gives the worker few slices; the
     * deadline only ends a broken run). */
    uint64_t deadline = now_ns() + 10000 * MS;
    do sleep_ms_plain(50);
    while ((atomic_load(&n_done) - done_before <= 0 || atomic_load(&n_done) < 20) && now_ns() < deadline);
    long done_during = atomic_load(&n_done) - done_before;
    atomic_store(&hog_stop, 1);
    join_ok(h);
    join_ok(p);
    print_counts("SIGURG");
    fprintf(stderr, "program handler: %d calls (%d SI_USER from this process, %d SI_TKILL)\n", atomic_load(&urg_calls),
            atomic_load(&urg_from_user), atomic_load(&urg_from_tkill));
    CHECK_EQ_LONG(atomic_load(&urg_calls), 5);
    CHECK_EQ_LONG(atomic_load(&urg_from_user), 5);
    CHECK_EQ_LONG(atomic_load(&urg_from_tkill), 0); /* never one of the monitor's */
    CHECK_GT_LONG(done_during, 0);
    CHECK_GE_LONG(atomic_load(&n_done), 20);
    check_sigurg_handler_is_reported();
}

TEST(a_sigurg_handler_installed_before_the_runtime_starts_gets_every_sigurg_the_process_receives_and_preemption_goes_on)
{
    sigurg_scene(1);
}

TEST(a_sigurg_handler_installed_while_coroutines_run_gets_every_sigurg_the_process_receives_and_preemption_goes_on)
{
    sigurg_scene(0);
}

/* ---- another preemption signal ---------------------------------------------------------------- */

struct kernel_sigaction {
    void *handler;
    unsigned long flags;
    void *restorer;
    uint64_t mask;
};

static void *kernel_handler(int sig)
{
    struct kernel_sigaction k;
    memset(&k, 0, sizeof k);
    REQUIRE(syscall(SYS_rt_sigaction, sig, NULL, &k, sizeof k.mask) == 0);
    return k.handler;
}

TEST(with_coroscope_preempt_signal_sigusr2_preemption_works_through_sigusr2_and_leaves_sigurg_alone)
{
    const char *sig = getenv("COROSCOPE_PREEMPT_SIGNAL");
    if (!getenv("CS_TEST_PREEMPT_REEXEC")) {
        /* The variable is read when the library loads: run this test again
         * in a fresh image with it set. */
        setenv("COROSCOPE_PREEMPT_SIGNAL", "SIGUSR2", 1);
        setenv("CS_TEST_PREEMPT_REEXEC", "1", 1);
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        REQUIRE(n > 0);
        self[n] = '\0';
        fflush(NULL);
        char *argv[] = {self, (char *)cs_test_current, NULL};
        execv(self, argv);
        cs_test_fail(__FILE__, __LINE__, "execv(%s): %s", self, cs_errname(errno));
        return;
    }
    REQUIRE(sig && !strcmp(sig, "SIGUSR2"));
    busy_scene s = {0};
    configure_preempt(1, 5 * MS);
    run_busy_scene(&s, 300);
    print_counts("SIGUSR2");
    CHECK_GE_LONG(s.progress_at_hog_end - s.progress_at_hog_start, 5);
    CHECK_GE_LONG(done_events_of(s.hog_id, 1), 5);
    /* The kernel action of SIGUSR2 is the engine's handler, SIGURG's is untouched. */
    void *h = kernel_handler(SIGUSR2);
    Dl_info info;
    CHECK(h != (void *)SIG_DFL && h != (void *)SIG_IGN);
    CHECK(dladdr(h, &info) && info.dli_fname && strstr(info.dli_fname, "libcoroscope"));
    CHECK(kernel_handler(SIGURG) == (void *)SIG_DFL);
    /* The program still sees its own (default) action for SIGUSR2. */
    struct sigaction old;
    memset(&old, 0, sizeof old);
    CHECK_EQ_LONG(sigaction(SIGUSR2, NULL, &old), 0);
    CHECK(!(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL);
}

/* ---- the scheduler next to a preempted coroutine ----------------------------------------------- */

/* A coroutine spawned from a plain thread goes to the global injection
 * queue. When a busy loop holds the only worker, each preemption is one
 * scheduling decision, so the newcomer must not wait for dozens of them. */

static _Atomic int flag_hog_running, flag_hog_stop, flag_hog_finished;
static _Atomic uint64_t newcomer_started_at;
static _Atomic int newcomer_finished;

static void *flagged_hog(void *arg)
{
    (void)arg;
    atomic_store(&flag_hog_running, 1);
    volatile uint64_t x = 1;
    while (!atomic_load_explicit(&flag_hog_stop, memory_order_relaxed))
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    atomic_store(&flag_hog_finished, 1);
    return NULL;
}

static void *newcomer(void *arg)
{
    uint64_t busy = (uint64_t)(uintptr_t)arg;
    atomic_store(&newcomer_started_at, now_ns());
    if (busy) /* pure computation, preempted like the hog */
        spin_ns(busy);
    atomic_store(&newcomer_finished, 1);
    return NULL;
}

/* Wait on a plain thread until *flag is set; 0 if the deadline passed. */
static int wait_flag(_Atomic int *flag, long ms)
{
    uint64_t end = now_ns() + (uint64_t)ms * MS;
    while (!atomic_load(flag)) {
        if (now_ns() > end) return 0;
        sleep_ms_plain(1);
    }
    return 1;
}

TEST(a_coroutine_spawned_from_a_plain_thread_while_a_busy_loop_holds_the_only_worker_starts_within_a_few_slices)
{
    configure_workers(1);
    configure_preempt(1, 2 * MS);
    coroscope__set_preempt_observer(observer);
    coroscope_co *h = spawn_or_die("hog", flagged_hog, NULL);
    REQUIRE(wait_flag(&flag_hog_running, 2000));
    sleep_ms_plain(20);
    uint64_t t0 = now_ns();
    coroscope_co *n = spawn_or_die("newcomer", newcomer, NULL);
    int started = wait_flag(&newcomer_finished, 3000);
    uint64_t latency = atomic_load(&newcomer_started_at) - t0;
    atomic_store(&flag_hog_stop, 1);
    print_counts("newcomer");
    REQUIRE(started);
    fprintf(stderr, "the newcomer started %.1f ms after its spawn (slice 2 ms)\n", latency / 1e6);
    /* Without preemption it never starts (the hog runs until told to stop);
     * a fair scheduler needs 1-2 slices. The bound leaves room for a loaded
     * 2-core CI machine (27 ms seen there); the bench measures latency. */
    CHECK_LE_LONG(latency, 250 * MS);
    REQUIRE(wait_flag(&flag_hog_finished, 3000));
    join_ok(h);
    join_ok(n);
}

TEST(a_preempted_coroutine_is_never_lost_when_the_scheduler_takes_a_newcomer_from_the_injection_queue)
{
    /* The hog is preempted every slice; the newcomer arrives through the
     * injection queue and computes for 30 ms, so it is preempted too. Both
     * must finish. */
    configure_workers(1);
    configure_preempt(1, 1 * MS);
    coroscope__set_preempt_observer(observer);
    coroscope_co *h = spawn_or_die("hog", flagged_hog, NULL);
    REQUIRE(wait_flag(&flag_hog_running, 2000));
    sleep_ms_plain(10);
    coroscope_co *n = spawn_or_die("newcomer", newcomer, (void *)(uintptr_t)(30 * MS));
    int newcomer_done = wait_flag(&newcomer_finished, 3000);
    atomic_store(&flag_hog_stop, 1);
    int hog_done = wait_flag(&flag_hog_finished, 3000);
    print_counts("lost coroutine");
    if (!newcomer_done || !hog_done) {
        cs_test_fail(__FILE__, __LINE__,
                     "%s never finished: a coroutine switched out by preemption was not scheduled again",
                     !hog_done ? "the preempted hog" : "the newcomer");
        cs_test_abort(); /* it cannot be joined */
    }
    join_ok(h);
    join_ok(n);
}

/* A signal the handler had to defer marks the coroutine; a later signal may
 * still catch it at a safe point. After that preemption the mark is stale:
 * the next hook entry must not yield again (and report a DEFERRED) when no
 * signal was sent since the coroutine was switched back in. */

static _Atomic uint64_t watched_co;
static _Atomic int watched_last; /* kind * 2 + at_safe_point of its last DONE/DEFERRED */
static _Atomic long witness_runs;
static _Atomic int stale_done;

static void watching_observer(const cs_preempt_event *ev)
{
    observer(ev);
    if (ev->kind != EV_SENT && ev->co_id == atomic_load(&watched_co))
        atomic_store(&watched_last, ev->kind * 2 + (ev->kind == EV_DONE && ev->at_safe_point));
}

typedef struct stale_result {
    long probes, stale;
} stale_result;

static void *libc_and_user_hog(void *arg)
{
    stale_result *res = arg;
    static char src[4 << 20], dst[4 << 20];
    int fd = open("/dev/null", O_RDONLY);
    REQUIRE(fd >= 0);
    long seen = atomic_load(&witness_runs);
    /* 400 ms, and on until 10 probes (a loaded machine gives this worker
     * few slices; the 10 s bound only ends a broken run) */
    uint64_t start = now_ns(), end = start + 400 * MS, deadline = start + 10000 * MS;
    volatile uint64_t x = 7;
    while ((now_ns() < end || res->probes < 10) && now_ns() < deadline) {
        memcpy(dst, src, sizeof dst);                           /* libc: signals landing here are deferred */
        __asm__ volatile("" : : "r"(dst), "r"(src) : "memory"); /* keep the copy */
        for (int i = 0; i < 20000; i++)                         /* user code: signals landing here preempt */
            x = x * 6364136223846793005ull + 1;
        long w = atomic_load(&witness_runs);
        if (w == seen) continue;
        seen = w;
        /* Just switched back in. If that was a preemption at a safe point,
         * no signal can have been sent since (a whole slice must pass). */
        if (atomic_load(&watched_last) != EV_DONE * 2 + 1) continue;
        long d0 = atomic_load(&n_deferred);
        char c;
        CHECK_EQ_LONG(read(fd, &c, 0), 0); /* a hook entry */
        res->probes++;
        if (atomic_load(&n_deferred) != d0) res->stale++;
    }
    close(fd);
    atomic_store(&stale_done, 1);
    return NULL;
}

static void *counting_witness(void *arg)
{
    (void)arg;
    while (!atomic_load(&stale_done)) {
        atomic_fetch_add(&witness_runs, 1);
        coroscope_yield();
    }
    return NULL;
}

TEST(a_preemption_taken_at_a_safe_point_leaves_no_deferred_preemption_behind_for_the_next_hook)
{
    configure_workers(1);
    configure_preempt(1, 1 * MS);
    coroscope__set_preempt_observer(watching_observer);
    stale_result res = {0, 0};
    spawn_req r[2] = {{"hog", libc_and_user_hog, &res, NULL}, {"witness", counting_witness, NULL, NULL}};
    /* the hog's id must be known before it runs: spawn it from a coroutine
     * and publish the id from there */
    spawn_all(2, r);
    atomic_store(&watched_co, coroscope_co_id(r[0].co));
    join_ok(r[0].co);
    join_ok(r[1].co);
    print_counts("stale mark");
    fprintf(stderr, "%ld hook entries right after a safe-point preemption, %ld of them yielded again\n", res.probes,
            res.stale);
    CHECK_GE_LONG(atomic_load(&n_deferred_why[WHY_RUNTIME_CODE]) + res.probes, 1);
    CHECK_GE_LONG(res.probes, 10);
    CHECK_EQ_LONG(res.stale, 0);
}

/* ---- a worker thread that blocks the preemption signal ------------------------------------- */

static _Atomic int blocker_stop, blocker_running;

/* Spins with SIGURG blocked until the test says stop (10 s at most), so the
 * test looks while it surely still holds its worker, however late it ran. */
static void *signal_blocking_hog(void *arg)
{
    (void)arg;
    sigset_t urg;
    sigemptyset(&urg);
    sigaddset(&urg, SIGURG);
    pthread_sigmask(SIG_BLOCK, &urg, NULL); /* the program masks it on this worker thread */
    atomic_store(&blocker_running, 1);
    volatile uint64_t x = 1;
    uint64_t end = now_ns() + 10000 * MS;
    while (!atomic_load(&blocker_stop) && now_ns() < end) x = x * 6364136223846793005ull + 1;
    pthread_sigmask(SIG_UNBLOCK, &urg, NULL);
    return NULL;
}

static void *count_steps(void *arg)
{
    atomic_fetch_add((_Atomic long *)arg, 1);
    return NULL;
}

TEST(a_worker_that_blocks_the_preemption_signal_is_not_preempted_and_the_engine_says_so_once)
{
    configure_workers(1);
    coroscope__set_preempt_observer(observer);
    configure_preempt(1, 10 * MS);
    /* Capture stderr: the engine reports the blocked signal there. */
    char path[] = "/tmp/cs-test-stderr-XXXXXX";
    int tmp = mkstemp(path);
    REQUIRE(tmp >= 0);
    unlink(path);
    int saved_stderr = dup(2);
    dup2(tmp, 2);

    coroscope_co *hog, *other;
    _Atomic long steps = 0;
    REQUIRE(coroscope_spawn(&hog, "masking-hog", signal_blocking_hog, NULL) == 0);
    while (!atomic_load(&blocker_running)) usleep(1000);
    REQUIRE(coroscope_spawn(&other, "other", count_steps, (void *)&steps) == 0);
    long during = -1;
    usleep(300000);               /* 30 time slices: a worker that took the signal would have switched */
    during = atomic_load(&steps); /* the hog still holds the only worker, signal masked */
    atomic_store(&blocker_stop, 1);
    coroscope_join(hog, NULL);
    coroscope_join(other, NULL);

    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    char buf[8192] = {0};
    CHECK(pread(tmp, buf, sizeof buf - 1, 0) > 0);
    close(tmp);

    CHECK_EQ_LONG(during, 0);              /* not preempted while the signal was blocked */
    CHECK_EQ_LONG(atomic_load(&steps), 1); /* and everything ran once it was unblocked */
    const char *msg = "blocks Urgent I/O condition";
    const char *first = strstr(buf, msg);
    if (!first)
        cs_test_fail(__FILE__, __LINE__, "no report on stderr; stderr was: %s", buf);
    else
        CHECK(strstr(first + 1, msg) == NULL); /* reported once */
}
