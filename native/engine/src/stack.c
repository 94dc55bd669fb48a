#include "stack.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "spin.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

/* Stacks per slab: one mmap serves this many stacks. */
#define SLAB_STACKS 64
/* Free stacks kept with their pages committed; beyond, pages are released. */
#define CACHE_COMMITTED 1024

typedef struct free_stack {
    struct free_stack *next;   /* stored at the top of the free stack's usable area */
    cs_stack st;
    int committed;             /* pages may still be resident */
} free_stack;

static cs_spin pool_lock;
static free_stack *free_list;
static size_t free_committed;
static size_t page_size;
static int guard_mode = -1;    /* -1 unknown, 1 MADV_GUARD_INSTALL, 0 mprotect */

static int install_guard(char *base)
{
    if (guard_mode != 0) {
        if (madvise(base, page_size, MADV_GUARD_INSTALL) == 0) {
            guard_mode = 1;
            return 0;
        }
        if (guard_mode == 1)
            return errno;
        guard_mode = 0;
    }
    return mprotect(base, page_size, PROT_NONE) == 0 ? 0 : errno;
}

static int new_slab(size_t usable)
{
    size_t one = usable + page_size;
    size_t len = one * SLAB_STACKS;
    char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (mem == MAP_FAILED)
        return errno == ENOMEM ? ENOMEM : EAGAIN;
    /* Huge pages would commit 2 MiB for a stack that touches 4 KiB. */
    madvise(mem, len, MADV_NOHUGEPAGE);
    for (int i = 0; i < SLAB_STACKS; i++) {
        char *base = mem + (size_t)i * one;
        int err = install_guard(base);
        if (err) {
            cs_log("cannot install a stack guard page (%s); raise vm.max_map_count or use fewer coroutines",
                   err == ENOMEM ? "out of memory mappings" : "mprotect failed");
            /* Stacks already guarded stay usable; the rest of the slab is dropped. */
            if (i == 0) {
                munmap(mem, len);
                return ENOMEM;
            }
            munmap(base, len - (size_t)i * one);
            break;
        }
        free_stack *fs = (free_stack *)(base + one - sizeof(free_stack));
        fs->st.base = base;
        fs->st.lo = base + page_size;
        fs->st.hi = base + one;
        fs->st.size = usable;
        fs->committed = 0;
        fs->next = free_list;
        free_list = fs;
    }
    return 0;
}

int cs_stack_alloc(cs_stack *st)
{
    if (!page_size)
        page_size = (size_t)sysconf(_SC_PAGESIZE);
    size_t usable = cs_cfg.stack_size;
    cs_spin_lock(&pool_lock);
    if (!free_list) {
        int err = new_slab(usable);
        if (err) {
            cs_spin_unlock(&pool_lock);
            return err;
        }
    }
    free_stack *fs = free_list;
    free_list = fs->next;
    if (fs->committed)
        free_committed--;
    *st = fs->st;
    cs_spin_unlock(&pool_lock);
    return 0;
}

void cs_stack_free(cs_stack *st)
{
    free_stack *fs = (free_stack *)(st->hi - sizeof(free_stack));
    fs->st = *st;
    fs->committed = 1;
    cs_spin_lock(&pool_lock);
    fs->next = free_list;
    free_list = fs;
    free_committed++;
    cs_spin_unlock(&pool_lock);
}

void cs_stack_trim(void)
{
    /* Release pages of committed stacks beyond the cache limit. Walks the list
     * outside the hot path (called by idle workers). */
    cs_spin_lock(&pool_lock);
    if (free_committed <= CACHE_COMMITTED) {
        cs_spin_unlock(&pool_lock);
        return;
    }
    size_t kept = 0;
    for (free_stack *fs = free_list; fs; fs = fs->next) {
        if (!fs->committed)
            continue;
        if (kept < CACHE_COMMITTED) {
            kept++;
            continue;
        }
        /* Keep the page holding the list node; drop the rest. */
        size_t keep = page_size;
        if (fs->st.size > keep)
            madvise(fs->st.lo, fs->st.size - keep, MADV_DONTNEED);
        fs->committed = 0;
        free_committed--;
    }
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
}
