/*
 * emit_stack.c — coroutine stacks at parks and preemptions, and the code
 * mappings that symbolise them (design and invariants: emit_stack.h).
 *
 * Invariants: the per-thread state (the interning cache, the sampling
 * counter, the handler's capture buffer) is touched by its own thread only;
 * the handler writes the capture buffer only at a safe point, and the
 * trampoline's yield on the same thread reads it before that thread can
 * take another safe-point preemption. The frame-pointer walk reads only
 * addresses inside the coroutine's stack. The unwinder and the mapping walk
 * run in normal context only. errno is kept by everything here.
 */
#include "emit_stack.h"

#include <dlfcn.h>
#include <elf.h>
#include <execinfo.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "hook.h"
#include "preempt.h"
#include "sched.h"
#include "telemetry.h"

static uintptr_t self_lo, self_hi;          /* this library's text (frames left out) */
static int (*unw_bt)(void **buf, int size); /* the unwinder: libunwind's unw_backtrace, or glibc's backtrace */
static int isolate; /* the unwinder makes system calls (libunwind): hide them from the hooks (unwind()) */
static _Atomic unsigned long long maps_adds; /* dl_iterate_phdr's adds when MAPPINGs were last emitted */

#define CACHE_SLOTS 256
typedef struct stack_tls {
    uint32_t gen; /* telemetry's string generation the cache belongs to */
    uint32_t sample;
    struct {
        uint64_t hash, id;
    } cache[CACHE_SLOTS];
    /* preemption handler -> trampoline yield */
    int sig_n;
    uintptr_t sig_pc[CS_STACK_MAX_DEPTH];
} stack_tls;

static __thread stack_tls tls_st __attribute__((tls_model("initial-exec")));

static int find_self(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    uintptr_t me = (uintptr_t)arg;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (me >= lo && me < hi) {
            self_lo = lo;
            self_hi = hi;
            return 1;
        }
    }
    return 0;
}

void cs_stack_init(void)
{
    if (cs_cfg.stacks == CS_STACKS_OFF) return;
    dl_iterate_phdr(find_self, (void *)(uintptr_t)cs_stack_init);
    if (cs_cfg.stacks == CS_STACKS_AUTO || cs_cfg.stacks == CS_STACKS_UNWIND) {
        void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
        if (h) unw_bt = (int (*)(void **, int))dlsym(h, "unw_backtrace");
        isolate = unw_bt != NULL;
    }
    if (!unw_bt && cs_cfg.stacks != CS_STACKS_FP) {
        void *one;
        backtrace(&one, 1); /* its first call loads libgcc_s: here, not inside a coroutine's hook */
        unw_bt = backtrace;
    }
}

static inline int engine_pc(uintptr_t pc)
{
    return pc >= self_lo && pc < self_hi;
}

/* The rbp chain from fp, bounded by [lo, hi). *rooted: it ended at a saved
 * rbp of 0 (the coroutine's first frame, cs_co_main's). */
static int walk_fp(uintptr_t fp, uintptr_t lo, uintptr_t hi, uintptr_t *out, int max, int *rooted)
{
    int n = 0;
    *rooted = 0;
    while (n < max) {
        if (fp < lo || fp > hi - 16 || (fp & 7)) return n;
        const uintptr_t *f = (const uintptr_t *)fp;
        uintptr_t next = f[0], ret = f[1];
        if (!ret) return n;
        out[n++] = ret;
        if (next == 0) {
            *rooted = 1;
            return n;
        }
        if (next <= fp) return n;
        fp = next;
    }
    *rooted = 1; /* the depth cap, not a broken chain */
    return n;
}

/* Does fn set up a frame pointer: push %rbp, then mov %rsp,%rbp within its
 * first 32 bytes (compilers interleave other instructions with them)? */
static int fp_prologue(const void *fn)
{
    const unsigned char *p = fn;
    if (!p) return 0;
    int pushed = 0;
    for (int i = 0; i < 32; i++) {
        if (p[i] == 0x55)
            pushed = 1;
        else if (pushed && p[i] == 0x48 && p[i + 1] == 0x89 && p[i + 2] == 0xe5)
            return 1;
        else if (p[i] == 0xc3)
            return 0; /* a ret first */
    }
    return 0;
}

/* Leave out the engine's frames at both ends. */
static int trim(uintptr_t *pc, int n)
{
    int a = 0;
    while (a < n && engine_pc(pc[a])) a++;
    while (n > a && engine_pc(pc[n - 1])) n--;
    if (a) memmove(pc, pc + a, (size_t)(n - a) * sizeof *pc);
    return n - a;
}

/* The unwinder from here. libunwind checks memory with write/read on a pipe of
 * its own: while it runs, this thread is no coroutine to the hooks (they pass
 * straight through, touching none of the parked call's state) and emits
 * nothing, and the call-in-progress fields of cs_tls are put back after. */
static int unwind(uintptr_t *raw, int cap)
{
    if (!isolate) return unw_bt((void **)raw, cap);
    cs_tls_t saved = cs_tls;
    cs_tls.co = NULL;
    int was = cs_tel_mute();
    int n = unw_bt((void **)raw, cap);
    cs_tel_mute_restore(was);
    cs_tls = saved;
    return n;
}

__attribute__((noinline)) int cs_stack_capture(cs_co *co, int mode, uintptr_t *out, int max)
{
    uintptr_t raw[CS_STACK_MAX_DEPTH + 16];
    int cap = max + 16 > (int)(sizeof raw / sizeof raw[0]) ? (int)(sizeof raw / sizeof raw[0]) : max + 16;
    int n = 0, how = 1;
    if (mode == CS_STACKS_BACKTRACE) mode = CS_STACKS_UNWIND;
    if (mode != CS_STACKS_UNWIND) {
        int rooted;
        n = walk_fp((uintptr_t)__builtin_frame_address(0), (uintptr_t)co->stack.lo, (uintptr_t)co->stack.hi, raw, cap,
                    &rooted);
        if (mode == CS_STACKS_AUTO && (!rooted || !fp_prologue((const void *)co->fn)) && unw_bt) n = -1;
    }
    if (n < 0 || mode == CS_STACKS_UNWIND) {
        if (unw_bt) {
            n = unwind(raw, cap);
            how = 2;
            if (n < 0) n = 0;
        } else if (n < 0) {
            n = 0;
        }
    }
    n = trim(raw, n);
    if (n > max) n = max;
    memcpy(out, raw, (size_t)n * sizeof *out);
    return how << 16 | n;
}

static uint64_t hash_frames(const uintptr_t *pc, int n)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)n;
    for (int i = 0; i < n; i++) h = (h ^ pc[i]) * 0x100000001b3ull, h ^= h >> 29;
    return h ? h : 1;
}

static int adds_now(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    *(unsigned long long *)arg = info->dlpi_adds;
    return 1;
}

/* The string id of this address tuple in the thread's stream, defining it
 * the first time this thread (in this string epoch) sees it. */
static uint64_t intern(const uintptr_t *pc, int n)
{
    stack_tls *st = &tls_st;
    uint32_t gen = cs_tel_string_gen();
    if (gen != st->gen) {
        memset(st->cache, 0, sizeof st->cache);
        st->gen = gen;
    }
    uint64_t h = hash_frames(pc, n);
    unsigned slot = (unsigned)(h >> 56) & (CACHE_SLOTS - 1);
    if (st->cache[slot].hash == h) return st->cache[slot].id;
    /* A new stack: if objects were loaded since the last MAPPINGs, say so first. */
    unsigned long long adds = 0;
    dl_iterate_phdr(adds_now, &adds);
    if (adds != atomic_load_explicit(&maps_adds, memory_order_relaxed)) cs_stack_emit_mappings();
    char text[CS_STACK_MAX_DEPTH * 17 + 1];
    size_t len = 0;
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < n; i++) {
        char tmp[16];
        int k = 0;
        uintptr_t v = pc[i];
        do tmp[k++] = hex[v & 15], v >>= 4;
        while (v);
        if (i) text[len++] = ' ';
        while (k) text[len++] = tmp[--k];
    }
    text[len] = '\0';
    uint64_t id = cs_tel_string(text);
    if (gen == cs_tel_string_gen()) { /* not if defining it began a new epoch */
        st->cache[slot].hash = h;
        st->cache[slot].id = id;
    }
    return id;
}

static int sampled(void)
{
    int every = cs_cfg.stack_sample;
    if (every <= 1) return 1;
    return ++tls_st.sample % (uint32_t)every == 0;
}

static void emit(cs_co *co, int why, const uintptr_t *pc, int n, int how)
{
    if (n <= 0) return;
    uint64_t id = intern(pc, n);
    cs_tel_emit(COROSCOPE_EV_CO_STACK, co->id, id, (uint64_t)why, (uint64_t)n, (uint64_t)how, 0);
}

void cs_stack_emit_park(cs_co *co)
{
    if (cs_cfg.stacks == CS_STACKS_OFF || !sampled()) return;
    int saved = errno;
    uintptr_t pc[CS_STACK_MAX_DEPTH];
    int r = cs_stack_capture(co, cs_cfg.stacks, pc, cs_cfg.stack_depth);
    emit(co, COROSCOPE_STACK_PARK, pc, r & 0xffff, r >> 16);
    errno = saved;
}

void cs_stack_on_signal(cs_co *co, uintptr_t pc, uintptr_t rbp)
{
    stack_tls *st = &tls_st;
    st->sig_n = 0;
    if (cs_cfg.stacks == CS_STACKS_OFF || !cs_tel()) return;
    int max = cs_cfg.stack_depth;
    st->sig_pc[0] = pc;
    int n = 1;
    if (cs_cfg.stacks == CS_STACKS_FP || fp_prologue((const void *)co->fn)) {
        int rooted;
        n += walk_fp(rbp, (uintptr_t)co->stack.lo, (uintptr_t)co->stack.hi, st->sig_pc + 1, max - 1, &rooted);
        while (n > 1 && engine_pc(st->sig_pc[n - 1])) n--;
    }
    st->sig_n = n;
}

void cs_stack_emit_preempt(cs_co *co, int deferred)
{
    stack_tls *st = &tls_st;
    if (cs_cfg.stacks == CS_STACKS_OFF) return;
    int saved = errno;
    if (!deferred) {
        int n = st->sig_n;
        st->sig_n = 0;
        if (n > 0 && sampled()) emit(co, COROSCOPE_STACK_PREEMPT, st->sig_pc, n, 1);
    } else if (sampled()) {
        uintptr_t pc[CS_STACK_MAX_DEPTH];
        int r = cs_stack_capture(co, cs_cfg.stacks, pc, cs_cfg.stack_depth);
        emit(co, COROSCOPE_STACK_PREEMPT_DEFERRED, pc, r & 0xffff, r >> 16);
    }
    errno = saved;
}

/* ---- on demand ------------------------------------------------------------ */

_Static_assert(sizeof(((cs_worker *)0)->stack_pc) / sizeof(uintptr_t) == CS_STACK_MAX_DEPTH, "one capture");

int cs_stack_on_request(cs_worker *w, cs_co *co, uintptr_t pc, uintptr_t rbp)
{
    uint64_t want = atomic_load_explicit(&w->stack_want, memory_order_acquire);
    if (!want) return 0;
    int n = -1;
    if (co && co->id == want) {
        w->stack_pc[0] = pc;
        n = 1;
        if (cs_cfg.stacks == CS_STACKS_FP || fp_prologue((const void *)co->fn) || engine_pc(pc)) {
            int rooted;
            n += walk_fp(rbp, (uintptr_t)co->stack.lo, (uintptr_t)co->stack.hi, w->stack_pc + 1, CS_STACK_MAX_DEPTH - 1,
                         &rooted);
        }
        n = trim(w->stack_pc, n);
    }
    w->stack_n = n;
    atomic_store_explicit(&w->stack_want, 0, memory_order_release);
    return 1;
}

typedef struct find_ctx {
    uint64_t id;
    const char *state;
} find_ctx;

static void find_state(void *arg, const cs_co *co)
{
    find_ctx *f = arg;
    if (co->id != f->id) return;
    f->state = co->state == CS_CO_SUSPENDED ? "suspended" : co->state == CS_CO_RUNNING ? "running" : "ready";
}

int cs_stack_on_demand(uint64_t co_id, uintptr_t *out, int max, const char **state)
{
    find_ctx f = {co_id, "unknown"};
    cs_co_visit(find_state, &f);
    *state = f.state;
    if (strcmp(f.state, "running") || atomic_load(&cs_rt.started) != 2) return -1;
    cs_worker *w = NULL;
    for (int i = 0; i < cs_rt.nworkers && !w; i++) {
        cs_co *cur = __atomic_load_n(&cs_rt.workers[i].cur, __ATOMIC_ACQUIRE);
        if (cur && cur->id == co_id) w = &cs_rt.workers[i];
    }
    if (!w) return -1; /* it switched out meanwhile */
    uint64_t none = 0;
    if (!atomic_compare_exchange_strong(&w->stack_want, &none, co_id)) return -2;
    syscall(SYS_tgkill, getpid(), w->tid, cs_preempt_signo);
    for (int k = 0; k < 1000 && atomic_load_explicit(&w->stack_want, memory_order_acquire); k++) {
        struct timespec ts = {0, 100000};
        syscall(SYS_nanosleep, &ts, NULL);
    }
    uint64_t mine = co_id;
    if (atomic_compare_exchange_strong(&w->stack_want, &mine, 0)) return -2; /* never answered: withdrawn */
    int n = w->stack_n;
    if (n < 0) {
        *state = "not running";
        return -1;
    }
    if (n > max) n = max;
    memcpy(out, w->stack_pc, (size_t)n * sizeof *out);
    if (n > 0 && cs_tel() && cs_cfg.stacks != CS_STACKS_OFF) {
        int was = cs_tel_speak(); /* the control thread is muted but for what it says on purpose */
        uint64_t id = intern(out, n);
        cs_tel_emit(COROSCOPE_EV_CO_STACK, co_id, id, COROSCOPE_STACK_ON_DEMAND, (uint64_t)n, 1, 0);
        cs_tel_mute_restore(was);
    }
    return n;
}

/* ---- mappings ------------------------------------------------------------ */

/* The GNU build id of an object, from its PT_NOTE segments in memory, as
 * lowercase hex into buf (cap ≥ 2 * 64 + 1); "" if none. */
static void build_id(const struct dl_phdr_info *info, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE) continue;
        const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
            const unsigned char *name = p + sizeof *nh, *desc = name + ((nh->n_namesz + 3) & ~3u);
            const unsigned char *next = desc + ((nh->n_descsz + 3) & ~3u);
            if (next > end) break;
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && !memcmp(name, "GNU", 4) && nh->n_descsz <= 64 &&
                nh->n_descsz * 2 + 1 <= cap) {
                static const char hex[] = "0123456789abcdef";
                for (unsigned k = 0; k < nh->n_descsz; k++) {
                    buf[2 * k] = hex[desc[k] >> 4];
                    buf[2 * k + 1] = hex[desc[k] & 15];
                }
                buf[2 * nh->n_descsz] = '\0';
                return;
            }
            p = next;
        }
    }
}

static int emit_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    int *first = arg;
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    char exe[1024];
    if (*first) {
        atomic_store_explicit(&maps_adds, info->dlpi_adds, memory_order_relaxed);
        if (!*name) { /* the program itself */
            long n = syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", exe, sizeof exe - 1);
            exe[n > 0 ? n : 0] = '\0';
            name = exe;
        }
    }
    *first = 0;
    if (!*name) return 0;
    char bid[129];
    build_id(info, bid, sizeof bid);
    uint64_t path = 0, id = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        if (!path) {
            path = cs_tel_string(name);
            id = cs_tel_string(bid);
        }
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        cs_tel_emit(COROSCOPE_EV_MAPPING, 0, lo, lo + ph->p_memsz, info->dlpi_addr, path, id);
    }
    return 0;
}

void cs_stack_emit_mappings(void)
{
    if (cs_cfg.stacks == CS_STACKS_OFF) return;
    int saved = errno, first = 1;
    dl_iterate_phdr(emit_object, &first);
    errno = saved;
}

/* The benchmark's view of one capture on the calling coroutine (mode as
 * COROSCOPE_STACKS, 0 the configured one); returns the frames found. */
CS_EXPORT int coroscope__stack_capture(int mode, uintptr_t *out, int max)
{
    cs_co *co = cs_tls.co;
    if (!co) return -1;
    if (max > CS_STACK_MAX_DEPTH) max = CS_STACK_MAX_DEPTH;
    return cs_stack_capture(co, mode ? mode : cs_cfg.stacks, out, max) & 0xffff;
}
