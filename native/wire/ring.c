/*
 * ring.c — creation, attachment, the consumer and the producer's slow paths
 * of the event ring. The layout and the protocol are in ring.h.
 */
#include "ring.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Pages committed at creation: the header and the first slots, so a thread
 * that emits a little never faults; the rest is committed by the producer's
 * first lap (a memfd page costs nothing until it is touched). */
#define POPULATE_BYTES (256u * 1024u)

static int valid_capacity(uint64_t c)
{
    return c >= CS_RING_MIN_CAPACITY && c <= CS_RING_MAX_CAPACITY && (c & (c - 1)) == 0;
}

static void init_handle(cs_ring *r, void *map, size_t size, uint32_t capacity, int fd, int owner)
{
    memset(r, 0, sizeof *r);
    r->hdr = map;
    r->slots = (coroscope_event *)((char *)map + CS_RING_HEADER_SIZE);
    r->capacity = capacity;
    r->mask = capacity - 1;
    r->batch = capacity / 4 < CS_RING_BATCH ? (capacity / 4 ? capacity / 4 : 1) : CS_RING_BATCH;
    r->map_size = size;
    r->fd = fd;
    r->owner = owner;
    r->doorbell = -1;
}

/* The futex a waiting producer sleeps on: the low half of tail
 * (little-endian), shared between processes (no FUTEX_PRIVATE_FLAG). */
static uint32_t *tail_futex(cs_ring *r)
{
    return (uint32_t *)(void *)&r->hdr->tail;
}

static void wake_producer(cs_ring *r)
{
    syscall(SYS_futex, tail_futex(r), FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

int cs_ring_create(cs_ring *r, uint32_t capacity, uint32_t tid, uint32_t worker)
{
    if (!valid_capacity(capacity)) return EINVAL;
    size_t size = CS_RING_HEADER_SIZE + (size_t)capacity * COROSCOPE_EVENT_SIZE;
    int fd = memfd_create("coroscope-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return errno;
    int err = 0;
    void *map = MAP_FAILED;
    /* memfds are created 0777: make it the owner's only before it holds data. */
    if (fchmod(fd, 0600) || ftruncate(fd, (off_t)size)) {
        err = errno;
        goto fail;
    }
    map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        err = errno;
        goto fail;
    }
    /* Best effort (Linux 5.14+); without it the producer faults these in. */
    madvise(map, size < POPULATE_BYTES ? size : POPULATE_BYTES, MADV_POPULATE_WRITE);
    /* Consumers require the shrink seal: the file can never be cut under a
     * mapping (a SIGBUS in the reader). */
    if (syscall(SYS_fcntl, fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) {
        err = errno;
        goto fail;
    }
    cs_ring_header *h = map; /* the file is zero-filled */
    h->version = CS_RING_VERSION;
    h->record_size = COROSCOPE_EVENT_SIZE;
    h->capacity = capacity;
    h->slots_offset = CS_RING_HEADER_SIZE;
    h->producer_tid = tid;
    h->worker = worker;
    h->events_version = COROSCOPE_EVENTS_VERSION;
    h->watermark = capacity / 4 ? capacity / 4 : 1;
    atomic_store_explicit(&h->block_ns, CS_RING_BLOCK_NS, memory_order_relaxed);
    /* magic last, released: a reader that sees it sees the rest. */
    __atomic_store_n(&h->magic, CS_RING_MAGIC, __ATOMIC_RELEASE);
    init_handle(r, map, size, capacity, fd, 1);
    return 0;
fail:
    if (map != MAP_FAILED) munmap(map, size);
    syscall(SYS_close, fd);
    return err;
}

void cs_ring_destroy(cs_ring *r)
{
    if (r->hdr) munmap(r->hdr, r->map_size);
    if (r->owner && r->fd >= 0) syscall(SYS_close, r->fd);
    memset(r, 0, sizeof *r);
    r->fd = -1;
}

int cs_ring_attach(cs_ring *r, int fd)
{
    struct stat st;
    if (fstat(fd, &st)) return errno;
    if (!S_ISREG(st.st_mode)) return CS_RING_EMAGIC; /* a pipe, a socket, a device: not a ring */
    if (st.st_size < (off_t)CS_RING_HEADER_SIZE) return CS_RING_ETRUNCATED;
    /* Validate a private copy of the header: the producer side cannot change
     * what we checked after we checked it. */
    cs_ring_header h;
    ssize_t n = pread(fd, &h, sizeof h, 0);
    if (n < 0) return errno;
    if ((size_t)n < sizeof h) return CS_RING_ETRUNCATED;
    if (h.magic != CS_RING_MAGIC) return CS_RING_EMAGIC;
    if (h.version != CS_RING_VERSION) return CS_RING_EVERSION;
    if (h.record_size != COROSCOPE_EVENT_SIZE || h.slots_offset != CS_RING_HEADER_SIZE) return CS_RING_ERECSIZE;
    if (!valid_capacity(h.capacity)) return CS_RING_ECAPACITY;
    size_t size = CS_RING_HEADER_SIZE + (size_t)h.capacity * COROSCOPE_EVENT_SIZE;
    if ((uint64_t)st.st_size < size) return CS_RING_ETRUNCATED;
    int seals = (int)syscall(SYS_fcntl, fd, F_GET_SEALS);
    if (seals < 0 || !(seals & F_SEAL_SHRINK)) return CS_RING_EUNSEALED;
    void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) return errno;
    init_handle(r, map, size, h.capacity, fd, 0);
    r->c_tail = atomic_load_explicit(&r->hdr->tail, memory_order_relaxed);
    r->c_head = r->c_tail;
    return 0;
}

void cs_ring_detach(cs_ring *r)
{
    if (r->hdr) munmap(r->hdr, r->map_size);
    memset(r, 0, sizeof *r);
    r->fd = -1;
}

/* Copy records [t, t + n) out of the slots (they may wrap). */
static void copy_out(const cs_ring *r, coroscope_event *out, uint64_t t, size_t n)
{
    size_t i = (size_t)(t & r->mask);
    size_t first = r->capacity - i < n ? r->capacity - i : n;
    memcpy(out, &r->slots[i], first * sizeof *out);
    if (n > first) memcpy(out + first, &r->slots[0], (n - first) * sizeof *out);
}

/* After a gap: drop records up to the producer's next THREAD record, keeping
 * string definitions (ring.h, "Overwrite mode"). Returns how many remain. */
static size_t resync(cs_ring *r, coroscope_event *out, size_t n)
{
    size_t k = 0, i = 0;
    for (; i < n && r->c_resync; i++) {
        uint16_t kind = out[i].kind;
        if (kind == COROSCOPE_EV_THREAD) r->c_resync = 0;
        if (kind == COROSCOPE_EV_THREAD || kind == COROSCOPE_EV_STRING || kind == COROSCOPE_EV_STRING_MORE)
            out[k++] = out[i];
        else
            r->c_skipped++;
    }
    if (k == i) return n;
    memmove(out + k, out + i, (n - i) * sizeof *out);
    return k + (n - i);
}

ssize_t cs_ring_read(cs_ring *r, coroscope_event *out, size_t max)
{
    for (int tries = 0; tries < CS_RING_READ_TRIES; tries++) {
        uint64_t t = atomic_load_explicit(&r->hdr->tail, memory_order_acquire);
        if (t != r->c_tail) { /* an overwriting producer gave records up */
            if (t - r->c_tail <= ((uint64_t)1 << 62)) r->c_given_up += t - r->c_tail;
            r->c_tail = t;
            r->c_resync = 1;
        }
        uint64_t h = r->c_head;
        if (h - t < max || h - t > r->capacity) { /* the last view of head cannot fill `out`: look again */
            h = atomic_load_explicit(&r->hdr->head, memory_order_acquire);
            if (h - t > r->capacity) { /* also catches head < tail */
                /* In overwrite mode the producer moves tail too: between
                 * our load of tail and this load of head it may have
                 * given a chunk up and published into it, so head is more
                 * than a capacity past the tail we hold. The head it
                 * published comes after its move of tail (acquire), so
                 * tail is seen moved now; only a tail that stood still
                 * makes the gap the producer side's corruption. */
                if (atomic_load_explicit(&r->hdr->tail, memory_order_acquire) != t) continue;
                return -CS_RING_ECORRUPT;
            }
            r->c_head = h;
        }
        uint64_t avail = h - t;
        size_t n = avail < max ? (size_t)avail : max;
        if (n == 0) return 0;
        copy_out(r, out, t, n);
        /* Valid only if the producer did not move tail meanwhile (it moves
         * tail past a record before it reuses the record's slot). */
        if (!atomic_compare_exchange_strong_explicit(&r->hdr->tail, &t, t + n, memory_order_acq_rel,
                                                     memory_order_acquire))
            continue;
        r->c_tail = t + n;
        /* A producer waiting for room (CS_RING_BLOCK) sleeps on tail. The
         * CAS above is a full barrier: it pairs with the producer's store
         * of `waiting` before its load of tail (ring_wait). */
        if (__builtin_expect(atomic_load_explicit(&r->hdr->waiting, memory_order_seq_cst) != 0, 0)) wake_producer(r);
        if (r->c_resync) n = resync(r, out, n);
        if (n) return (ssize_t)n;
    }
    return 0; /* lapped at every try: nothing this time (ring.h) */
}

/* ---- producer slow paths ------------------------------------------------------ */

/* Free slots, loading the consumer's tail again (and publishing what we
 * wrote: a consumer cannot make room for records it cannot see). */
static uint64_t room(cs_ring *r)
{
    uint64_t free_ = r->capacity - (r->p_head - r->p_tail);
    if (free_ != 0) return free_;
    if (r->p_published != r->p_head) cs_ring_publish(r);
    r->p_tail = atomic_load_explicit(&r->hdr->tail, memory_order_acquire);
    free_ = r->capacity - (r->p_head - r->p_tail);
    if (free_ == 0 && atomic_load_explicit(&r->hdr->overwrite, memory_order_relaxed)) {
        /* Flight recorder: give the oldest chunk up. acq_rel: the slots are
         * reused only after tail moved past them (ring.h). */
        uint64_t t = r->p_tail, chunk = r->capacity >= 8 ? r->capacity / 8 : 1;
        if (atomic_compare_exchange_strong_explicit(&r->hdr->tail, &t, t + chunk, memory_order_acq_rel,
                                                    memory_order_acquire)) {
            t += chunk;
            atomic_store_explicit(&r->hdr->overwritten,
                                  atomic_load_explicit(&r->hdr->overwritten, memory_order_relaxed) + chunk,
                                  memory_order_relaxed);
        }
        r->p_tail = t; /* on failure: the consumer's newer tail */
        free_ = r->capacity - (r->p_head - r->p_tail);
    }
    return free_;
}

static void put(cs_ring *r, const coroscope_event *ev)
{
    memcpy(&r->slots[r->p_head & r->mask], ev, sizeof *ev);
    r->p_head++;
    if (r->p_head - r->p_published >= r->batch) cs_ring_publish(r);
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Take the consumer's `sleeping` flag and ring its doorbell: when `force`
 * (about to wait for room), or when the watermark is passed. */
static void ring_doorbell(cs_ring *r, int force)
{
    if (!atomic_load_explicit(&r->hdr->sleeping, memory_order_relaxed)) return;
    if (!force) {
        uint64_t t = atomic_load_explicit(&r->hdr->tail, memory_order_relaxed);
        if (r->p_head - t < r->hdr->watermark) return;
    }
    uint32_t one = 1;
    if (!atomic_compare_exchange_strong_explicit(&r->hdr->sleeping, &one, 0, memory_order_acq_rel,
                                                 memory_order_relaxed))
        return; /* another ring's producer woke it, or it woke by itself */
    if (r->doorbell >= 0) {
        uint64_t v = 1;
        syscall(SYS_write, r->doorbell, &v, sizeof v); /* raw: not an observed call; EAGAIN: rung already */
    }
}

void cs_ring_wake_slow(cs_ring *r)
{
    ring_doorbell(r, 0);
}

/* CS_RING_BLOCK, the ring full: wait until the consumer makes room, at most
 * block_ns (ring.h "Policy"). Returns the free slots (0: gave up, or the
 * policy is not CS_RING_BLOCK). */
static uint64_t ring_wait(cs_ring *r)
{
    cs_ring_header *h = r->hdr;
    if (atomic_load_explicit(&h->policy, memory_order_relaxed) != CS_RING_BLOCK ||
        atomic_load_explicit(&h->overwrite, memory_order_relaxed))
        return 0;
    uint64_t t = atomic_load_explicit(&h->tail, memory_order_acquire);
    if (r->p_stalled) {
        if (t == r->p_stall_tail) return 0; /* the consumer has not moved since we gave up: drop */
        r->p_stalled = 0;
    }
    uint64_t start = mono_ns(), now = start, bound = atomic_load_explicit(&h->block_ns, memory_order_relaxed);
    uint64_t free_ = 0;
    atomic_store_explicit(&h->waits, atomic_load_explicit(&h->waits, memory_order_relaxed) + 1, memory_order_relaxed);
    for (;;) {
        atomic_store_explicit(&h->waiting, 1, memory_order_seq_cst);
        t = atomic_load_explicit(&h->tail, memory_order_seq_cst);
        free_ = r->capacity - (r->p_head - t);
        if (free_ || atomic_load_explicit(&h->policy, memory_order_relaxed) != CS_RING_BLOCK ||
            atomic_load_explicit(&h->overwrite, memory_order_relaxed))
            break;
        ring_doorbell(r, 1);
        if (now - start >= bound) {
            r->p_stalled = 1;
            r->p_stall_tail = t;
            atomic_store_explicit(&h->stalls, atomic_load_explicit(&h->stalls, memory_order_relaxed) + 1,
                                  memory_order_relaxed);
            break;
        }
        /* Sleep until the consumer moves tail (it wakes us), in slices of
         * at most 10 ms (a consumer that does not know about `waiting`). */
        uint64_t left = bound - (now - start), slice = left < 10000000ull ? left : 10000000ull;
        struct timespec ts = {(time_t)(slice / 1000000000ull), (long)(slice % 1000000000ull)};
        syscall(SYS_futex, tail_futex(r), FUTEX_WAIT, (uint32_t)t, &ts, NULL, 0);
        now = mono_ns();
    }
    atomic_store_explicit(&h->waiting, 0, memory_order_relaxed);
    atomic_store_explicit(&h->waited_ns,
                          atomic_load_explicit(&h->waited_ns, memory_order_relaxed) + (mono_ns() - start),
                          memory_order_relaxed);
    r->p_tail = t;
    return free_;
}

/* Write the DROP record for the pending loss if a slot is free. The count
 * is taken with an exchange: a consumer that ended the stream may have
 * taken (and reported) it already. */
static int report_drop(cs_ring *r)
{
    if (room(r) == 0 && ring_wait(r) == 0) return ENOBUFS;
    r->p_drop_count = 0;
    uint64_t n = atomic_exchange_explicit(&r->hdr->drop_pending, 0, memory_order_acq_rel);
    if (n == 0) return 0;
    uint64_t last = atomic_load_explicit(&r->hdr->drop_last_ts, memory_order_relaxed);
    coroscope_event d = {
        .ts = last,
        .kind = COROSCOPE_EV_DROP,
        .worker = (uint16_t)r->hdr->worker,
        .tid = r->hdr->producer_tid,
        .a = {n, atomic_load_explicit(&r->hdr->drop_first_ts, memory_order_relaxed), last},
    };
    put(r, &d);
    return 0;
}

static void count_loss(cs_ring *r, uint64_t ts)
{
    r->p_drop_count++;
    if (atomic_fetch_add_explicit(&r->hdr->drop_pending, 1, memory_order_acq_rel) == 0)
        atomic_store_explicit(&r->hdr->drop_first_ts, ts, memory_order_relaxed);
    atomic_store_explicit(&r->hdr->drop_last_ts, ts, memory_order_relaxed);
    atomic_store_explicit(&r->hdr->dropped, atomic_load_explicit(&r->hdr->dropped, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

int cs_ring_write_slow(cs_ring *r, const coroscope_event *ev)
{
    if (r->p_drop_count == 0 || report_drop(r) == 0) {
        if (room(r) != 0 || ring_wait(r) != 0) {
            put(r, ev);
            return 0;
        }
    }
    count_loss(r, ev->ts);
    return ENOBUFS;
}

int cs_ring_flush(cs_ring *r)
{
    int err = 0;
    if (r->p_drop_count != 0) err = report_drop(r);
    if (r->p_published != r->p_head) cs_ring_publish(r);
    return err;
}

void cs_ring_set_policy(cs_ring *r, int policy, uint64_t block_ns)
{
    atomic_store_explicit(&r->hdr->block_ns, block_ns ? block_ns : CS_RING_BLOCK_NS, memory_order_relaxed);
    atomic_store_explicit(&r->hdr->policy, policy == CS_RING_BLOCK ? CS_RING_BLOCK : CS_RING_DROP,
                          memory_order_seq_cst);
    if (atomic_load_explicit(&r->hdr->waiting, memory_order_seq_cst)) wake_producer(r);
}

int cs_ring_arm(cs_ring *r)
{
    atomic_store_explicit(&r->hdr->sleeping, 1, memory_order_seq_cst);
    uint64_t h = atomic_load_explicit(&r->hdr->head, memory_order_seq_cst);
    uint64_t t = atomic_load_explicit(&r->hdr->tail, memory_order_relaxed);
    if (h - t < r->hdr->watermark && !atomic_load_explicit(&r->hdr->waiting, memory_order_relaxed)) return 1;
    atomic_store_explicit(&r->hdr->sleeping, 0, memory_order_relaxed);
    return 0;
}

uint64_t cs_ring_take_pending(cs_ring *r, coroscope_event *d)
{
    uint64_t n = atomic_exchange_explicit(&r->hdr->drop_pending, 0, memory_order_acq_rel);
    if (n == 0) return 0;
    uint64_t last = atomic_load_explicit(&r->hdr->drop_last_ts, memory_order_relaxed);
    memset(d, 0, sizeof *d);
    d->ts = last;
    d->kind = COROSCOPE_EV_DROP;
    d->worker = (uint16_t)r->hdr->worker;
    d->tid = r->hdr->producer_tid;
    d->a[0] = n;
    d->a[1] = atomic_load_explicit(&r->hdr->drop_first_ts, memory_order_relaxed);
    d->a[2] = last;
    return n;
}

const char *cs_ring_strerror(int err)
{
    switch (err) {
    case 0: return "success";
    case CS_RING_EMAGIC: return "not a coroscope event ring (bad magic)";
    case CS_RING_EVERSION: return "unsupported event ring layout version";
    case CS_RING_ERECSIZE: return "event ring record size or slot offset is not the one of coroscope_events.h";
    case CS_RING_ECAPACITY: return "event ring capacity is not a power of two in range";
    case CS_RING_ETRUNCATED: return "event ring file is smaller than its header says";
    case CS_RING_EUNSEALED: return "event ring file is not sealed against shrinking";
    case CS_RING_ECORRUPT: return "event ring head/tail are inconsistent (corrupt producer side)";
    default: return strerror(err);
    }
}

void cs_ring_publish_foreign(cs_ring *r)
{
    uint64_t n = __atomic_load_n(&r->p_head, __ATOMIC_RELAXED);
    uint64_t h = atomic_load_explicit(&r->hdr->head, memory_order_relaxed);
    while (h < n &&
           !atomic_compare_exchange_weak_explicit(&r->hdr->head, &h, n, memory_order_release, memory_order_relaxed))
        ;
}
