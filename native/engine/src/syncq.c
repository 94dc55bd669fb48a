/*
 * syncq.c — the address-keyed wait lists of syncq.h.
 *
 * Invariants
 *   - A node is linked in exactly the bucket of its address while `linked`
 *     is set; both change only under that bucket's lock.
 *   - cs_syncq_nwait equals the number of linked nodes; it is incremented
 *     before the add returns and decremented when a node is unlinked (by a
 *     waker or by its owner).
 *   - Nothing here switches coroutines or makes a system call under a lock.
 */
#include "syncq.h"

#include "spin.h"
#include "wait.h"

#define NBUCKETS   256
#define WAKE_BATCH 16

typedef struct bucket {
    cs_spin lock;
    cs_syncq_node *head, *tail;
    uint64_t seq; /* nodes ever added */
} bucket;

static bucket table[NBUCKETS];
_Atomic long cs_syncq_nwait;

static bucket *bucket_of(const void *addr)
{
    uintptr_t a = (uintptr_t)addr;
    a ^= a >> 17;
    a *= 0x9E3779B97F4A7C15ull;
    return &table[(a >> 32) % NBUCKETS];
}

static void unlink_node(bucket *b, cs_syncq_node *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        b->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        b->tail = n->prev;
    n->linked = 0;
    atomic_fetch_sub_explicit(&cs_syncq_nwait, 1, memory_order_relaxed);
}

void cs_syncq_add(cs_syncq_node *n, const void *addr, cs_co *co, uint64_t token, uint64_t detail)
{
    n->detail = detail;
    bucket *b = bucket_of(addr);
    n->addr = addr;
    n->co = co;
    n->token = token;
    n->next = NULL;
    cs_spin_lock(&b->lock);
    n->seq = ++b->seq;
    n->prev = b->tail;
    if (b->tail)
        b->tail->next = n;
    else
        b->head = n;
    b->tail = n;
    n->linked = 1;
    atomic_fetch_add_explicit(&cs_syncq_nwait, 1, memory_order_seq_cst);
    cs_spin_unlock(&b->lock);
    atomic_thread_fence(memory_order_seq_cst); /* before the waiter's second look */
}

void cs_syncq_remove(cs_syncq_node *n)
{
    bucket *b = bucket_of(n->addr);
    cs_spin_lock(&b->lock);
    if (n->linked) unlink_node(b, n);
    cs_spin_unlock(&b->lock);
}

int cs_syncq_wake(const void *addr, int all)
{
    bucket *b = bucket_of(addr);
    int woken = 0;
    uint64_t upto = 0;
    for (;;) {
        struct {
            cs_co *co;
            uint64_t token, detail;
        } got[WAKE_BATCH];
        int n = 0;
        cs_spin_lock(&b->lock);
        if (!upto) upto = b->seq;
        for (cs_syncq_node *x = b->head, *next; x && n < (all ? WAKE_BATCH : 1); x = next) {
            next = x->next;
            if (x->addr != addr || x->seq > upto) continue;
            got[n].co = x->co;
            got[n].token = x->token;
            got[n].detail = x->detail;
            n++;
            unlink_node(b, x);
        }
        cs_spin_unlock(&b->lock);
        if (!n) return woken;
        for (int i = 0; i < n; i++)
            woken += cs_wake_detail(got[i].co, got[i].token, CS_WAKE_OFFLOAD, got[i].detail) ? 1 : 0;
        if (!all && woken) return woken;
    }
}

void cs_syncq_atfork_child(void)
{
    for (int i = 0; i < NBUCKETS; i++) {
        cs_spin_init(&table[i].lock);
        table[i].head = table[i].tail = NULL;
    }
    atomic_store(&cs_syncq_nwait, 0);
}
