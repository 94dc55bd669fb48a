#include "stack.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "config.h"
#include "coroutine.h"
#include "log.h"
#include "sched.h"
#include "spin.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

/* Stacks per slab: one mmap (and one batched guard install) serves this many. */
#define SLAB_STACKS     256
/* Free stacks kept with their pages committed, beyond the worker caches. */
#define CACHE_COMMITTED 1024
/* Per-worker cache of freed stacks (owner only, no lock). */
#define WORKER_CACHE    64

/* A growable LIFO of stack descriptors. The free stacks' own memory is never
 * written by the pool, so building a slab touches no stack page: the first
 * touch happens on the worker that runs the coroutine. */
typedef struct stack_vec {
    cs_stack *v;
    size_t n, cap;
} stack_vec;

static cs_spin pool_lock;
static stack_vec committed; /* freed, pages possibly resident (hot) */
static stack_vec fresh;     /* never used, or trimmed: no resident pages */
static size_t page_size;
static int guard_mode = -1; /* -1 unknown, 2 batched guard install, 1 guard install, 0 mprotect */
static int self_pidfd = -1;

static __thread struct {
    cs_stack v[WORKER_CACHE];
    int n;
} worker_cache __attribute__((tls_model("initial-exec")));

static int vec_push(stack_vec *s, const cs_stack *st)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        cs_stack *v = realloc(s->v, cap * sizeof *v);
        if (!v) return ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = *st;
    return 0;
}

/* Install the guard page at the base of each of n stacks. */
static int install_guards(char *mem, size_t one, int n)
{
    if (guard_mode == -1 || guard_mode == 2) {
        /* One system call for the whole slab (process_madvise on ourselves,
         * Linux >= 6.13 accepts every advice for the caller's own pid). */
        if (self_pidfd < 0) self_pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
        if (self_pidfd >= 0) {
            struct iovec iov[SLAB_STACKS];
            for (int i = 0; i < n; i++) {
                iov[i].iov_base = mem + (size_t)i * one;
                iov[i].iov_len = page_size;
            }
            long r = syscall(SYS_process_madvise, self_pidfd, iov, (size_t)n, MADV_GUARD_INSTALL, 0u);
            if (r == (long)(page_size * (size_t)n)) {
                guard_mode = 2;
                return 0;
            }
        }
        guard_mode = 1;
    }
    for (int i = 0; i < n; i++) {
        char *base = mem + (size_t)i * one;
        if (guard_mode == 1) {
            if (madvise(base, page_size, MADV_GUARD_INSTALL) == 0) continue;
            guard_mode = 0; /* kernel without guard regions */
        }
        if (mprotect(base, page_size, PROT_NONE)) return errno == ENOMEM ? ENOMEM : EAGAIN;
    }
    return 0;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Commit the top page of every stack of a fresh slab in one system call:
 * every coroutine touches it at once, and a batched populate costs far less
 * than one page fault per coroutine on the workers. */
static void prefault_tops(char *mem, size_t one, int n)
{
    if (guard_mode != 2 || self_pidfd < 0) return;
    struct iovec iov[SLAB_STACKS];
    for (int i = 0; i < n; i++) {
        iov[i].iov_base = mem + (size_t)(i + 1) * one - page_size;
        iov[i].iov_len = page_size;
    }
    syscall(SYS_process_madvise, self_pidfd, iov, (size_t)n, MADV_POPULATE_WRITE, 0u);
}

/* Map and guard a slab without holding the pool lock, then publish it. */
static int new_slab(size_t usable)
{
    size_t one = usable + page_size;
    size_t len = one * SLAB_STACKS;
    char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (mem == MAP_FAILED) return errno == ENOMEM ? ENOMEM : EAGAIN;
    /* Huge pages would commit 2 MiB for a stack that touches 4 KiB. */
    madvise(mem, len, MADV_NOHUGEPAGE);
    int err = install_guards(mem, one, SLAB_STACKS);
    if (!err) prefault_tops(mem, one, SLAB_STACKS);
    if (err) {
        cs_log("cannot install stack guard pages (%s); raise vm.max_map_count or use fewer coroutines",
               err == ENOMEM ? "out of memory mappings" : "mprotect failed");
        munmap(mem, len);
        return err;
    }
    cs_spin_lock(&pool_lock);
    for (int i = SLAB_STACKS - 1; i >= 0 && !err; i--) {
        char *base = mem + (size_t)i * one;
        cs_stack st = {.base = base, .lo = base + page_size, .hi = base + one, .size = usable};
        err = vec_push(&fresh, &st);
    }
    cs_spin_unlock(&pool_lock);
    return err;
}

int cs_stack_alloc(cs_stack *st)
{
    if (cs_tls.w && worker_cache.n) {
        *st = worker_cache.v[--worker_cache.n];
        return 0;
    }
    if (!page_size) page_size = (size_t)sysconf(_SC_PAGESIZE);
    for (;;) {
        cs_spin_lock(&pool_lock);
        stack_vec *from = committed.n ? &committed : fresh.n ? &fresh : NULL;
        if (from) {
            *st = from->v[--from->n];
            cs_spin_unlock(&pool_lock);
            return 0;
        }
        cs_spin_unlock(&pool_lock);
        int err = new_slab(cs_cfg.stack_size);
        if (err) return err;
    }
}

void cs_stack_free(cs_stack *st)
{
    if (cs_tls.w) {
        if (worker_cache.n == WORKER_CACHE) {
            /* Hand half of the cache to the pool in one locked step. */
            cs_spin_lock(&pool_lock);
            for (int i = 0; i < WORKER_CACHE / 2; i++) vec_push(&committed, &worker_cache.v[--worker_cache.n]);
            cs_spin_unlock(&pool_lock);
        }
        worker_cache.v[worker_cache.n++] = *st;
        return;
    }
    cs_spin_lock(&pool_lock);
    vec_push(&committed, st);
    cs_spin_unlock(&pool_lock);
}

void cs_stack_trim(void)
{
    /* Give back the pages of committed stacks beyond the cache limit, a
     * batch at a time, with the lock held only to move descriptors (called
     * by idle workers; the system calls run unlocked). */
    enum { BATCH = 64 };
    if (__atomic_load_n(&committed.n, __ATOMIC_RELAXED) <= CACHE_COMMITTED) return;
    cs_stack batch[BATCH];
    int k = 0;
    cs_spin_lock(&pool_lock);
    while (committed.n > CACHE_COMMITTED && k < BATCH) batch[k++] = committed.v[--committed.n];
    cs_spin_unlock(&pool_lock);
    for (int i = 0; i < k; i++) madvise(batch[i].lo, batch[i].size, MADV_DONTNEED);
    cs_spin_lock(&pool_lock);
    for (int i = 0; i < k; i++) vec_push(&fresh, &batch[i]);
    cs_spin_unlock(&pool_lock);
}

int cs_stack_in_guard(const cs_stack *st, const void *addr)
{
    const char *a = addr;
    return a >= st->base && a < st->lo;
}

void cs_stack_atfork_child(void)
{
    cs_spin_init(&pool_lock);
    if (self_pidfd >= 0) {
        syscall(SYS_close, self_pidfd); /* it names the parent */
        self_pidfd = -1;
    }
}
