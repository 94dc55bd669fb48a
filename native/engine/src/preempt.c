#include "preempt.h"

#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "config.h"
#include "emit_stack.h"
#include "fdtable.h"
#include "hook.h"
#include "log.h"
#include "ossched.h"
#include "procfs.h"
#include "real.h"
#include "sched.h"
#include "stall.h"
#include "telemetry.h"

int cs_preempt_signo = SIGURG;
_Atomic int cs_monitor_idle;

/* FP/SIMD save area used by the trampoline (read by preempt_x86_64.S). */
__attribute__((visibility("hidden"))) unsigned int cs_fpstate_size = 512;
__attribute__((visibility("hidden"))) unsigned int cs_fpstate_xsave = 0;

extern void cs_preempt_trampoline(void);
void cs_preempt_yield(void);

static _Atomic(cs_preempt_observer_fn) preempt_observer;
static int installed;
static pid_t self_pid;
static pthread_t monitor_thread;

CS_EXPORT void coroscope__set_preempt_observer(cs_preempt_observer_fn fn)
{
    atomic_store(&preempt_observer, fn);
}

static void emit(const cs_preempt_event *ev)
{
    cs_preempt_observer_fn f = atomic_load_explicit(&preempt_observer, memory_order_acquire);
    if (f) f(ev);
    if (cs_tel()) {
        switch (ev->kind) {
        case CS_PREEMPT_SENT:
            cs_tel_emit(COROSCOPE_EV_PREEMPT_SENT, ev->co_id, ev->ran_ns, (uint64_t)ev->worker, 0, 0, 0);
            break;
        case CS_PREEMPT_DONE:
            cs_tel_emit(COROSCOPE_EV_PREEMPTED, ev->co_id, ev->pc, ev->latency_ns, (uint64_t)ev->at_safe_point, 0, 0);
            break;
        case CS_PREEMPT_DEFERRED:
            cs_tel_emit(COROSCOPE_EV_PREEMPT_DEFERRED, ev->co_id, (uint64_t)ev->reason, ev->pc, 0, 0, 0);
            break;
        }
    }
}

static int observed(void)
{
    return atomic_load_explicit(&preempt_observer, memory_order_relaxed) || cs_tel();
}

/* ---- where a switch may happen ------------------------------------------- *
 *
 * A preempting switch runs another coroutine on the same OS thread. Code that
 * keeps per-thread state across instructions (OpenSSL's error queue, errno
 * saved in a local, a library's TLS caches) would see that state changed by
 * the other coroutine. So the handler switches only where the interrupted pc
 * is in code declared preemptible: the program's own executable, plus the
 * shared objects COROSCOPE_PREEMPT_MODULES names ("*": every object except
 * the runtime's). Anywhere else — libc, ld.so, the engine, any other library
 * — it defers; a deferred preemption is served at the next hook entry or last
 * lock release whose call site is itself preemptible (cs_preempt_site_ok),
 * or by the monitor's next signal. Go does the same: it never preempts C.
 *
 * The table is rebuilt by the monitor when objects are loaded (dlpi_adds);
 * old tables are never freed: a handler may be reading one. */

#define MAX_RANGES 128
typedef struct code_ranges {
    int n;
    struct {
        uintptr_t lo, hi;
        int runtime; /* 1: libc/ld.so/engine... (defer), 0: preemptible code */
    } r[MAX_RANGES];
    uintptr_t self_lo, self_hi; /* this library's text: a hook's return address inside it is not a call site */
} code_ranges;

static _Atomic(code_ranges *) ranges;
static unsigned long long ranges_adds = (unsigned long long)-1;

static const char *base_name(const char *path)
{
    const char *base = strrchr(path, '/');
    return base ? base + 1 : path;
}

static int runtime_object(const char *path)
{
    const char *base = base_name(path);
    /* Sanitizer runtimes too: their allocators and interceptors keep
     * per-thread state (caches, the interceptor in progress) like libc. */
    static const char *const names[] = {"libc.so",      "ld-linux",   "ld64.so",      "libstdc++",  "libgcc_s",
                                        "libcoroscope", "linux-vdso", "linux-gate",   "libpthread", "libdl.so",
                                        "librt.so",     "libm.so",    "libclang_rt.", "libasan.",   "libtsan.",
                                        "libubsan.",    "liblsan."};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strncmp(base, names[i], strlen(names[i]))) return 1;
    return 0;
}

/* Is the shared object at path named by COROSCOPE_PREEMPT_MODULES (a comma
 * list of file name prefixes, or "*")? */
static int declared_preemptible(const char *path)
{
    const char *list = cs_cfg.preempt_modules;
    if (!list || !*list) return 0;
    if (!strcmp(list, "*")) return !runtime_object(path);
    const char *base = base_name(path);
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n > 0 && !strncmp(base, p, n)) return 1;
        p += n + (comma != NULL);
    }
    return 0;
}

typedef struct collect_ctx {
    code_ranges *cr;
    int first;
} collect_ctx;

static int collect(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    collect_ctx *cx = arg;
    code_ranges *cr = cx->cr;
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    int is_exe = cx->first && !*name; /* the first object, nameless: the program */
    cx->first = 0;
    int runtime = runtime_object(name);
    int self = !strncmp(base_name(name), "libcoroscope", 12);
    int preemptible = is_exe || (*name && declared_preemptible(name));
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (self) {
            cr->self_lo = lo;
            cr->self_hi = hi;
        }
        if ((!preemptible && !runtime) || cr->n >= MAX_RANGES) continue;
        cr->r[cr->n].lo = lo;
        cr->r[cr->n].hi = hi;
        cr->r[cr->n].runtime = !preemptible;
        cr->n++;
    }
    return 0;
}

static int count_adds(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    *(unsigned long long *)arg = info->dlpi_adds;
    return 1;
}

/* Monitor thread (and start): rebuild the table when objects were loaded. */
static void refresh_ranges(void)
{
    unsigned long long adds = 0;
    dl_iterate_phdr(count_adds, &adds);
    if (adds == ranges_adds) return;
    code_ranges *cr = calloc(1, sizeof *cr);
    if (!cr) return;
    collect_ctx cx = {cr, 1};
    dl_iterate_phdr(collect, &cx);
    atomic_store_explicit(&ranges, cr, memory_order_release);
    ranges_adds = adds;
}

/* CS_DEFER_NONE if pc is preemptible code, else why not: the runtime
 * (libc, loader, engine) or any other code (libraries, JIT, unknown). */
static int code_at(const code_ranges *cr, uintptr_t pc)
{
    if (!cr) return CS_DEFER_RUNTIME_CODE;
    for (int i = 0; i < cr->n; i++)
        if (pc >= cr->r[i].lo && pc < cr->r[i].hi) return cr->r[i].runtime ? CS_DEFER_RUNTIME_CODE : CS_DEFER_NONE;
    return CS_DEFER_LIBRARY_CODE;
}

int cs_preempt_site_ok(const void *ret_addr, const void *call_pc)
{
    code_ranges *cr = atomic_load_explicit(&ranges, memory_order_acquire);
    if (!cr) return 0;
    uintptr_t site = (uintptr_t)ret_addr;
    if (site >= cr->self_lo && site < cr->self_hi) /* a hook's slow path: its program call site */
        site = (uintptr_t)call_pc;
    return code_at(cr, site) == CS_DEFER_NONE;
}

/* ---- the signal handler ---------------------------------------------------- */

/* Room the trampoline needs below the interrupted rsp: red zone, rip slot,
 * 16 registers, alignment, the xsave area and cs_preempt_yield's frames. */
#define TRAMPOLINE_ROOM (136 + 16 * 8 + 64 + 4096 + 2048)

static void on_preempt_signal(int sig, siginfo_t *si, void *ucv)
{
    int saved_errno = errno;
    cs_worker *w = cs_tls.w;
    ucontext_t *ucx = ucv;
    /* An inspector's `stack CO` (emit_stack.h) comes as this signal too, from this process. */
    int asked = w && si->si_code == SI_TKILL && si->si_pid == self_pid &&
                cs_stack_on_request(w, cs_tls.co, (uintptr_t)ucx->uc_mcontext.gregs[REG_RIP],
                                    (uintptr_t)ucx->uc_mcontext.gregs[REG_RBP]);
    /* Ours: sent by tgkill from this process while the monitor had one in
     * flight. A kill() by the program (SI_USER) or the kernel is theirs. */
    if (!w || si->si_code != SI_TKILL || si->si_pid != self_pid ||
        !atomic_exchange_explicit(&w->preempt_sent, 0, memory_order_acq_rel)) {
        if (!asked) cs_signal_deliver_user(sig, si, ucv); /* not from the monitor */
        errno = saved_errno;
        return;
    }
    cs_co *co = cs_tls.co;
    if (!co || !atomic_load_explicit(&cs_cfg.preempt, memory_order_relaxed)) {
        errno = saved_errno;
        return;
    }
    ucontext_t *uc = ucv;
    uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
    int why = CS_DEFER_NONE;
    if (co->locks > 0)
        why = CS_DEFER_LOCK;
    else if ((why = code_at(atomic_load_explicit(&ranges, memory_order_acquire), pc)) == CS_DEFER_NONE &&
             (sp > (uintptr_t)co->stack.hi || sp < (uintptr_t)co->stack.lo + TRAMPOLINE_ROOM))
        why = CS_DEFER_STACK;
    if (why != CS_DEFER_NONE) {
        co->preempt_pending = 1;
        co->defer_reason = why;
        co->defer_pc = pc;
        w->deferred_reason = why; /* the monitor does not resend while a lock is held */
        errno = saved_errno;
        return;
    }
    co->preempt_pc = pc;
    cs_stack_on_signal(co, pc, (uintptr_t)uc->uc_mcontext.gregs[REG_RBP]); /* async-signal-safe (emit_stack.h) */
    *(uintptr_t *)(sp - 136) = pc;
    uc->uc_mcontext.gregs[REG_RSP] = (greg_t)(sp - 136);
    uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)cs_preempt_trampoline;
    errno = saved_errno;
}

/* Runs on the coroutine's stack, in normal (not signal) context. */
void cs_preempt_yield(void)
{
    cs_co *co = cs_tls.co;
    cs_worker *w = co->owner;
    co->preempts++;
    co->preempt_pending = 0; /* an earlier deferred mark is served by this switch too */
    co->yield_preempted = 1;
    if (observed()) {
        cs_preempt_event ev = {.kind = CS_PREEMPT_DONE,
                               .worker = w->idx,
                               .co_id = co->id,
                               .latency_ns = cs_now_ns() - w->preempt_sent_ns,
                               .pc = co->preempt_pc,
                               .at_safe_point = 1};
        emit(&ev);
        if (cs_tel()) cs_stack_emit_preempt(co, 0);
    }
    cs_sched_yield(co);
}

void cs_preempt_deferred_yield(cs_co *co)
{
    co->preempt_pending = 0;
    co->yield_preempted = 1;
    cs_worker *w = co->owner;
    co->preempts++;
    if (observed()) {
        cs_preempt_event d = {.kind = CS_PREEMPT_DEFERRED,
                              .worker = w->idx,
                              .co_id = co->id,
                              .reason = co->defer_reason,
                              .pc = co->defer_pc};
        emit(&d);
        cs_preempt_event ev = {.kind = CS_PREEMPT_DONE,
                               .worker = w->idx,
                               .co_id = co->id,
                               .latency_ns = cs_now_ns() - w->preempt_sent_ns,
                               .pc = co->defer_pc,
                               .at_safe_point = 0};
        emit(&ev);
        if (cs_tel()) cs_stack_emit_preempt(co, 1);
    }
    cs_sched_yield(co);
}

/* ---- the monitor ------------------------------------------------------------ */

typedef struct sample {
    uint64_t last_n; /* worker's switch counter at the last change */
    uint64_t since;  /* when we saw it change (monotonic ns) */
    int stat_fd;     /* /proc/self/task/<tid>/stat of the worker, kept open */
    int blocked;     /* the worker thread blocks the signal */
    uint64_t checked_blocked;
    uint64_t retry_at;    /* after a deferral: no new signal before this */
    int reported_blocked; /* the 'blocks the signal' message was logged */
} sample;

static int thread_blocks_signal(pid_t tid, int sig)
{
    char path[64];
    unsigned long long mask;
    snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)tid);
    if (cs_proc_hex_field(path, "SigBlk:", &mask)) return 0;
    return (mask >> (sig - 1)) & 1;
}

/* Is the worker thread blocked in a system call right now (state S or D in
 * /proc/self/task/<tid>/stat)? Read only when a slice has expired. */
static int thread_sleeps_in_kernel(sample *st, cs_worker *w)
{
    char buf[256];
    for (int attempt = 0; attempt < 2; attempt++) {
        if (st->stat_fd <= 0) {
            char path[64];
            snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)w->tid);
            int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
            if (fd < 0) return 0;
            st->stat_fd = cs_fd_hide(fd);
        }
        long n = syscall(SYS_pread64, st->stat_fd, buf, sizeof buf - 1, 0);
        if (n > 0) {
            buf[n] = '\0';
            const char *p = strrchr(buf, ')'); /* the name may contain spaces */
            return p && p[1] == ' ' && (p[2] == 'S' || p[2] == 'D');
        }
        st->stat_fd = 0; /* closed under us (close_range by the program?): reopen */
    }
    return 0;
}

static void sleep_until(uint64_t deadline)
{
    struct timespec ts = cs_ns_ts(deadline);
    syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

static void *monitor_main(void *arg)
{
    (void)arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL); /* the monitor's own mask: it runs no coroutine */
    pthread_setname_np(pthread_self(), "cs-monitor");
    int n = cs_rt.nworkers;
    sample *st = calloc((size_t)n, sizeof *st);
    if (!st) {
        cs_log("no memory for the preemption monitor; preemption is off");
        return NULL;
    }
    int idle_rounds = 0;
    uint64_t last_refresh = 0;
    for (;;) {
        uint64_t now = cs_now_ns();
        uint64_t slice = atomic_load_explicit(&cs_cfg.time_slice_ns, memory_order_relaxed);
        int on = atomic_load_explicit(&cs_cfg.preempt, memory_order_relaxed);
        int stalls = cs_stall_watching(); /* escaped blocking calls (stall.h): watched with preemption off too */
        /* Sampling period: fine (slice/8, at most 1 ms) while some coroutine
         * has run a quarter of a slice, so a hog is caught within ~1 ms of
         * its slice; coarse (slice/4) while every worker keeps switching, so
         * a busy but well-behaved process pays a few hundred wakeups/s. */
        uint64_t fine = slice / 8, coarse = slice / 4;
        if (fine < 50000) fine = 50000;
        if (fine > 1000000) fine = 1000000;
        if (coarse < fine) coarse = fine;
        if (coarse > 5000000) coarse = 5000000;
        int long_run = 0;
        if (now - last_refresh > 100000000ull) {
            refresh_ranges();
            last_refresh = now;
        }
        cs_ossched_monitor_round(); /* the warm-up event, off the workers (ossched.h) */
        int busy = 0;
        for (int i = 0; i < n; i++) {
            cs_worker *w = &cs_rt.workers[i];
            cs_co *cur = __atomic_load_n(&w->cur, __ATOMIC_RELAXED);
            uint64_t sw = __atomic_load_n(&w->nswitch, __ATOMIC_RELAXED);
            if (sw != st[i].last_n) {
                st[i].last_n = sw;
                st[i].since = now;
                w->deferred_reason = CS_DEFER_NONE;
                busy = 1;
            }
            if (stalls) cs_stall_check(i, w, cur, sw, now);
            if (!cur) continue;
            busy = 1;
            uint64_t ran = now - st[i].since;
            if (ran >= slice / 4) long_run = 1;
            if (!on || ran < slice || !w->tid) continue;
            /* A worker asleep in the kernel (a call the engine cannot park)
             * is not computing: a signal would only risk an EINTR in a call
             * that does not restart (sem_wait, raw syscalls). Look again one
             * slice later. A worker that is runnable but waits for a CPU
             * is computing, and is preempted. */
            if (thread_sleeps_in_kernel(&st[i], w)) {
                st[i].since = now;
                continue;
            }
            if (atomic_load_explicit(&w->preempt_sent, memory_order_acquire)) {
                /* Unanswered for long: is the signal blocked on that thread? */
                if (now - w->preempt_sent_ns > 50000000ull && now - st[i].checked_blocked > 1000000000ull) {
                    st[i].checked_blocked = now;
                    int b = thread_blocks_signal(w->tid, cs_preempt_signo);
                    /* Said once, and only when two checks 100 ms apart
                     * agree: a worker caught inside our own handler (the
                     * signal is blocked there) on a starved CPU is not it. */
                    if (b && st[i].blocked && !st[i].reported_blocked) {
                        st[i].reported_blocked = 1;
                        cs_log("worker %d blocks %s (the program masked it on that thread): its coroutines "
                               "cannot be preempted while it does",
                               i, strsignal(cs_preempt_signo));
                    }
                    if (b && !st[i].blocked) /* confirm 100 ms later, not a second later */
                        st[i].checked_blocked = now - 900000000ull;
                    st[i].blocked = b;
                    if (!b) /* lost or merged: allow a new one */
                        atomic_store(&w->preempt_sent, 0);
                }
                continue;
            }
            if (st[i].blocked && now - st[i].checked_blocked < 1000000000ull) continue;
            /* Deferred: a held lock yields at its release, no need to ask
             * again; elsewhere (libc, stack) ask again one slice later. */
            int deferred = w->deferred_reason;
            if (deferred == CS_DEFER_LOCK) continue;
            if (deferred != CS_DEFER_NONE) {
                /* Not preemptible where it was: try again 1/8 slice later
                 * (a coroutine mostly in libraries is caught in its own code). */
                w->deferred_reason = CS_DEFER_NONE;
                st[i].retry_at = now + fine;
                continue;
            }
            if (now < st[i].retry_at) continue;
            w->preempt_sent_ns = now;
            atomic_store_explicit(&w->preempt_sent, 1, memory_order_release);
            syscall(SYS_tgkill, self_pid, w->tid, cs_preempt_signo);
            if (observed()) {
                cs_preempt_event ev = {.kind = CS_PREEMPT_SENT, .worker = i, .co_id = cur->id, .ran_ns = ran};
                emit(&ev);
            }
        }
        if (busy && (on || stalls)) {
            idle_rounds = 0;
            sleep_until(now + (long_run ? fine : coarse));
            continue;
        }
        if (!on && !stalls) {
            /* Preemption off: nothing to watch. Sleep on the switch itself
             * (coroscope_configure wakes us when it is turned on); the 1 s
             * bound also catches a change made without the API. */
            struct timespec ts = {1, 0};
            syscall(SYS_futex, &cs_cfg.preempt, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
            idle_rounds = 0;
            continue;
        }
        if (++idle_rounds < 4) {
            sleep_until(now + coarse * 2);
            continue;
        }
        /* Nothing runs: sleep until a worker switches a coroutine in
         * (cs_preempt_note_busy). */
        atomic_store(&cs_monitor_idle, 1);
        struct timespec ts = {1, 0};
        syscall(SYS_futex, &cs_monitor_idle, FUTEX_WAIT_PRIVATE, 1, &ts, NULL, 0);
        atomic_store(&cs_monitor_idle, 0);
        idle_rounds = 0;
    }
    return NULL;
}

void cs_preempt_switched_on(void)
{
    syscall(SYS_futex, &cs_cfg.preempt, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void cs_preempt_note_busy(void)
{
    if (atomic_exchange(&cs_monitor_idle, 0))
        syscall(SYS_futex, &cs_monitor_idle, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void cs_preempt_thread_init(void)
{
    /* Touch every TLS word the handler reads, before any signal can come. */
    __atomic_store_n(&cs_tls.co, cs_tls.co, __ATOMIC_RELAXED);
}

static void detect_fpstate(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) /* OSXSAVE */
        return;
    if (!__get_cpuid_count(0xd, 0, &a, &b, &c, &d) || b < 576) return;
    cs_fpstate_size = (b + 63) & ~63u;
    cs_fpstate_xsave = 1;
}

static int start_monitor(void)
{
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&a, 128 * 1024);
    int err = pthread_create(&monitor_thread, &a, monitor_main, NULL);
    pthread_attr_destroy(&a);
    return err;
}

int cs_preempt_start(void)
{
    cs_preempt_signo = cs_cfg.preempt_signal;
    self_pid = getpid();
    detect_fpstate();
    refresh_ranges();
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_preempt_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (cs_real.sigaction(cs_preempt_signo, &sa, &old)) return errno;
    installed = 1;
    if (cs_signal_adopt(cs_preempt_signo, &old))
        cs_log("the program has its own %s handler: Coroscope keeps it, preemption signals are told apart and "
               "chained (set COROSCOPE_PREEMPT_SIGNAL to use another signal)",
               strsignal(cs_preempt_signo));
    return start_monitor();
}

int cs_preempt_owns(int sig)
{
    return installed && sig == cs_preempt_signo;
}

void cs_preempt_atfork_child(void)
{
    self_pid = getpid();
    atomic_store(&cs_monitor_idle, 0);
    if (installed && start_monitor()) cs_log("forked child: cannot restart the preemption monitor");
}
