/*
 * ossched.c — the OS's share (design and invariants in ossched.h).
 */
#include "ossched.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "telemetry.h"

#define RING_PAGES 8 /* 32 KiB: ~1300 switches between two drains */

__thread cs_ossched *cs_ossched_self __attribute__((tls_model("initial-exec")));
__thread int cs_ossched_never __attribute__((tls_model("initial-exec"))) = 1;

static _Atomic int refused_logged;
_Atomic int cs_ossched_warm;
static int warm_fd = -1; /* the warm-up event: the monitor's (and the engine start's, before it runs) */
static __thread int cs_ossched_worker;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* The child of a fork has one thread and none of the parent's perf events:
 * the mapping it inherited is the parent's ring (MAP_SHARED), not its own. */
static void forget_in_child(void)
{
    cs_ossched_self = NULL;
    cs_ossched_never = 1;
    /* The parent's warm-up event was on the parent's monitor; the child's starts afresh. */
    if (warm_fd >= 0) syscall(SYS_close, warm_fd);
    warm_fd = -1;
    atomic_store(&cs_ossched_warm, 0);
}
static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, forget_in_child);
}

void cs_ossched_thread_init(int worker)
{
    if (!cs_cfg.ossched) return;
    pthread_once(&atfork_once, register_atfork);
    cs_ossched_never = 0;
    cs_ossched_worker = worker;
}

static void switch_attr(struct perf_event_attr *a);

void cs_ossched_monitor_round(void)
{
    static int refused;
    if (!cs_cfg.ossched || refused) return;
    pthread_once(&atfork_once, register_atfork);
    int want = cs_tel();
    if (want && warm_fd < 0) {
        struct perf_event_attr a;
        switch_attr(&a);
        a.watermark = 0; /* never mapped: no ring, the event only holds the kernel's hooks on */
        warm_fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
        if (warm_fd < 0) {
            refused = 1; /* the workers' own opens will say why, once */
            atomic_store(&cs_ossched_warm, 1);
            return;
        }
        atomic_store(&cs_ossched_warm, 1);
    } else if (!want && warm_fd >= 0) {
        atomic_store(&cs_ossched_warm, 0);
        syscall(SYS_close, warm_fd);
        warm_fd = -1;
    }
}

static void switch_attr(struct perf_event_attr *a)
{
    memset(a, 0, sizeof *a);
    a->size = sizeof *a;
    a->type = PERF_TYPE_SOFTWARE;
    a->config = PERF_COUNT_SW_DUMMY;
    a->sample_period = 1;
    a->sample_type = PERF_SAMPLE_TIME;
    a->sample_id_all = 1;
    a->context_switch = 1;
    a->use_clockid = 1;
    a->clockid = CLOCK_MONOTONIC;
    a->exclude_kernel = 1; /* the switch records are not samples: paranoid 2 needs this */
    a->exclude_hv = 1;
    a->watermark = 1;
    a->wakeup_watermark = 1u << 30; /* nobody polls: never wake */
}

/* Open the calling worker's ring; on failure never try again on this thread. */
static void open_ring(void)
{
    struct perf_event_attr a;
    switch_attr(&a);
    int fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (!atomic_exchange(&refused_logged, 1))
            cs_log("the kernel refused perf_event_open for a worker (%s): the OS's share (OFFCPU) is not "
                   "tracked; COROSCOPE_OSSCHED=0 silences this",
                   strerror(e));
        cs_ossched_never = 1;
        return;
    }
    long page = sysconf(_SC_PAGESIZE);
    size_t len = (size_t)page * (1 + RING_PAGES);
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    syscall(SYS_close, fd); /* the mapping keeps the event: no fd the program could close */
    if (m == MAP_FAILED) {
        if (!atomic_exchange(&refused_logged, 1))
            cs_log("cannot map a perf ring for a worker: the OS's share (OFFCPU) is not tracked");
        cs_ossched_never = 1;
        return;
    }
    cs_ossched *o = calloc(1, sizeof *o);
    if (!o) {
        munmap(m, len);
        cs_ossched_never = 1;
        return;
    }
    o->map = m;
    o->map_len = len;
    struct perf_event_mmap_page *pg = m;
    o->head = (const volatile uint64_t *)&pg->data_head;
    o->tail = (volatile uint64_t *)&pg->data_tail;
    o->data = (unsigned char *)m + page;
    o->size = (uint64_t)page * RING_PAGES;
    o->worker = cs_ossched_worker;
    o->read = __atomic_load_n(&pg->data_head, __ATOMIC_ACQUIRE);
    *o->tail = o->read;
    cs_ossched_self = o;
}

/* Copy n bytes at ring offset off (wrapping). */
static void ring_copy(const cs_ossched *o, uint64_t off, void *dst, size_t n)
{
    uint64_t at = off & (o->size - 1);
    size_t first = n < o->size - at ? n : (size_t)(o->size - at);
    memcpy(dst, o->data + at, first);
    if (first < n) memcpy((unsigned char *)dst + first, o->data, n - first);
}

static void report(cs_co *co, uint64_t from, uint64_t to, int preempt)
{
    if (to <= from || to - from < CS_OSSCHED_MIN_NS) return;
    if (!co && !preempt) return; /* the worker's own sleep while idle */
    if (cs_tel()) cs_tel_emit(COROSCOPE_EV_OFFCPU, co ? co->id : 0, from, to - from, (uint64_t)preempt, 0, 0);
}

void cs_ossched_drain_slow(cs_co *co)
{
    cs_ossched *o = cs_ossched_self;
    uint64_t head = __atomic_load_n(o->head, __ATOMIC_ACQUIRE);
    uint64_t pos = o->read;
    if (head - pos > o->size) /* cannot happen (the kernel respects our tail): resynchronise */
        pos = head;
    while (head - pos >= sizeof(struct perf_event_header)) {
        struct perf_event_header h;
        ring_copy(o, pos, &h, sizeof h);
        if (h.size < sizeof h || h.size > head - pos) break;
        if (h.type == PERF_RECORD_SWITCH && h.size >= sizeof h + 8) {
            uint64_t t;
            ring_copy(o, pos + h.size - 8, &t, 8); /* sample_id: the time, last */
            if (h.misc & PERF_RECORD_MISC_SWITCH_OUT) {
                o->out_ts = t;
                o->out_preempt = (h.misc & PERF_RECORD_MISC_SWITCH_OUT_PREEMPT) != 0;
            } else if (o->out_ts) {
                report(co, o->out_ts, t, o->out_preempt);
                o->out_ts = 0;
            }
        } else if (h.type == PERF_RECORD_LOST) {
            o->out_ts = 0; /* an interval lost its start or end: do not guess */
            if (h.size >= sizeof h + 16) {
                uint64_t lost;
                ring_copy(o, pos + sizeof h + 8, &lost, 8);
                o->lost += lost;
            }
        }
        pos += h.size;
    }
    o->read = pos;
    __atomic_store_n(o->tail, pos, __ATOMIC_RELEASE);
}

void cs_ossched_toggle(void)
{
    cs_ossched *o = cs_ossched_self;
    if (!o) {
        open_ring();
        return;
    }
    /* Nobody records: no event would be emitted, and the open perf event costs every context
     * switch of this thread (and, through the scheduler's perf hooks, a little of everyone's). */
    cs_ossched_self = NULL;
    munmap(o->map, o->map_len);
    free(o);
}
