/*
 * ring.c — creation, attachment, the consumer and the producer's slow paths
 * of the event ring. The layout and the protocol are in ring.h.
 */
#include "ring.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

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
}

int cs_ring_create(cs_ring *r, uint32_t capacity, uint32_t tid, uint32_t worker)
{
    if (!valid_capacity(capacity))
        return EINVAL;
    size_t size = CS_RING_HEADER_SIZE + (size_t)capacity * COROSCOPE_EVENT_SIZE;
    int fd = memfd_create("coroscope-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return errno;
    int err = 0;
    void *map = MAP_FAILED;
    /* memfds are created 0777: make it the owner's only before it holds data. */
    if (fchmod(fd, 0600) || ftruncate(fd, (off_t)size)) {
        err = errno;
        goto fail;
    }
    map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (map == MAP_FAILED) {
        err = errno;
        goto fail;
    }
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
    /* magic last, released: a reader that sees it sees the rest. */
    __atomic_store_n(&h->magic, CS_RING_MAGIC, __ATOMIC_RELEASE);
    init_handle(r, map, size, capacity, fd, 1);
    return 0;
fail:
    if (map != MAP_FAILED)
        munmap(map, size);
    syscall(SYS_close, fd);
    return err;
}

void cs_ring_destroy(cs_ring *r)
{
    if (r->hdr)
        munmap(r->hdr, r->map_size);
    if (r->owner && r->fd >= 0)
        syscall(SYS_close, r->fd);
    memset(r, 0, sizeof *r);
    r->fd = -1;
}

int cs_ring_attach(cs_ring *r, int fd)
{
    struct stat st;
    if (fstat(fd, &st))
        return errno;
    if (!S_ISREG(st.st_mode))
        return CS_RING_EMAGIC; /* a pipe, a socket, a device: not a ring */
    if (st.st_size < (off_t)CS_RING_HEADER_SIZE)
        return CS_RING_ETRUNCATED;
    /* Validate a private copy of the header: the producer side cannot change
     * what we checked after we checked it. */
    cs_ring_header h;
    ssize_t n = pread(fd, &h, sizeof h, 0);
    if (n < 0)
        return errno;
    if ((size_t)n < sizeof h)
        return CS_RING_ETRUNCATED;
    if (h.magic != CS_RING_MAGIC)
        return CS_RING_EMAGIC;
    if (h.version != CS_RING_VERSION)
        return CS_RING_EVERSION;
    if (h.record_size != COROSCOPE_EVENT_SIZE || h.slots_offset != CS_RING_HEADER_SIZE)
        return CS_RING_ERECSIZE;
    if (!valid_capacity(h.capacity))
        return CS_RING_ECAPACITY;
    size_t size = CS_RING_HEADER_SIZE + (size_t)h.capacity * COROSCOPE_EVENT_SIZE;
    if ((uint64_t)st.st_size < size)
        return CS_RING_ETRUNCATED;
    int seals = (int)syscall(SYS_fcntl, fd, F_GET_SEALS);
    if (seals < 0 || !(seals & F_SEAL_SHRINK))
        return CS_RING_EUNSEALED;
    void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
        return errno;
    init_handle(r, map, size, h.capacity, fd, 0);
    r->c_tail = atomic_load_explicit(&r->hdr->tail, memory_order_relaxed);
    r->c_head = r->c_tail;
    return 0;
}

void cs_ring_detach(cs_ring *r)
{
    if (r->hdr)
        munmap(r->hdr, r->map_size);
    memset(r, 0, sizeof *r);
    r->fd = -1;
}

/* Copy records [t, t + n) out of the slots (they may wrap). */
static void copy_out(const cs_ring *r, coroscope_event *out, uint64_t t, size_t n)
{
    size_t i = (size_t)(t & r->mask);
    size_t first = r->capacity - i < n ? r->capacity - i : n;
    memcpy(out, &r->slots[i], first * sizeof *out);
    if (n > first)
        memcpy(out + first, &r->slots[0], (n - first) * sizeof *out);
}

/* After a gap: drop records up to the producer's next THREAD record, keeping
 * string definitions (ring.h, "Overwrite mode"). Returns how many remain. */
static size_t resync(cs_ring *r, coroscope_event *out, size_t n)
{
    size_t k = 0, i = 0;
    for (; i < n && r->c_resync; i++) {
        uint16_t kind = out[i].kind;
        if (kind == COROSCOPE_EV_THREAD)
            r->c_resync = 0;
        if (kind == COROSCOPE_EV_THREAD || kind == COROSCOPE_EV_STRING || kind == COROSCOPE_EV_STRING_MORE)
            out[k++] = out[i];
        else
            r->c_skipped++;
    }
    if (k == i)
        return n;
    memmove(out + k, out + i, (n - i) * sizeof *out);
    return k + (n - i);
}

ssize_t cs_ring_read(cs_ring *r, coroscope_event *out, size_t max)
{
    for (;;) {
        uint64_t t = atomic_load_explicit(&r->hdr->tail, memory_order_acquire);
        if (t != r->c_tail) { /* an overwriting producer gave records up */
            if (t - r->c_tail <= ((uint64_t)1 << 62))
                r->c_given_up += t - r->c_tail;
            r->c_tail = t;
            r->c_resync = 1;
        }
        uint64_t h = r->c_head;
        if (h - t < max || h - t > r->capacity) { /* the last view of head cannot fill `out`: look again */
            h = atomic_load_explicit(&r->hdr->head, memory_order_acquire);
            if (h - t > r->capacity) /* also catches head < tail */
                return -CS_RING_ECORRUPT;
            r->c_head = h;
        }
        uint64_t avail = h - t;
        size_t n = avail < max ? (size_t)avail : max;
        if (n == 0)
            return 0;
        copy_out(r, out, t, n);
        /* Valid only if the producer did not move tail meanwhile (it moves
         * tail past a record before it reuses the record's slot). */
        if (!atomic_compare_exchange_strong_explicit(&r->hdr->tail, &t, t + n, memory_order_acq_rel,
                                                     memory_order_acquire))
            continue;
        r->c_tail = t + n;
        if (r->c_resync)
            n = resync(r, out, n);
        if (n)
            return (ssize_t)n;
    }
}

/* ---- producer slow paths ------------------------------------------------------ */

/* Free slots, loading the consumer's tail again (and publishing what we
 * wrote: a consumer cannot make room for records it cannot see). */
static uint64_t room(cs_ring *r)
{
    uint64_t free_ = r->capacity - (r->p_head - r->p_tail);
    if (free_ != 0)
        return free_;
    if (r->p_published != r->p_head)
        cs_ring_publish(r);
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
    if (r->p_head - r->p_published >= r->batch)
        cs_ring_publish(r);
}

/* Write the DROP record for the pending loss if a slot is free. */
static int report_drop(cs_ring *r)
{
    if (room(r) == 0)
        return ENOBUFS;
    coroscope_event d = {
        .ts = r->p_drop_last,
        .kind = COROSCOPE_EV_DROP,
        .worker = (uint16_t)r->hdr->worker,
        .tid = r->hdr->producer_tid,
        .a = {r->p_drop_count, r->p_drop_first, r->p_drop_last},
    };
    put(r, &d);
    r->p_drop_count = 0;
    atomic_store_explicit(&r->hdr->drop_pending, 0, memory_order_relaxed);
    atomic_store_explicit(&r->hdr->drop_first_ts, 0, memory_order_relaxed);
    atomic_store_explicit(&r->hdr->drop_last_ts, 0, memory_order_relaxed);
    return 0;
}

int cs_ring_write_slow(cs_ring *r, const coroscope_event *ev)
{
    if (r->p_drop_count == 0 || report_drop(r) == 0) {
        if (room(r) != 0) {
            put(r, ev);
            return 0;
        }
    }
    if (r->p_drop_count++ == 0) {
        r->p_drop_first = ev->ts;
        atomic_store_explicit(&r->hdr->drop_first_ts, ev->ts, memory_order_relaxed);
    }
    r->p_drop_last = ev->ts;
    atomic_store_explicit(&r->hdr->drop_last_ts, ev->ts, memory_order_relaxed);
    atomic_store_explicit(&r->hdr->drop_pending, r->p_drop_count, memory_order_relaxed);
    atomic_store_explicit(&r->hdr->dropped, atomic_load_explicit(&r->hdr->dropped, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    return ENOBUFS;
}

int cs_ring_flush(cs_ring *r)
{
    int err = 0;
    if (r->p_drop_count != 0)
        err = report_drop(r);
    if (r->p_published != r->p_head)
        cs_ring_publish(r);
    return err;
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
    while (h < n && !atomic_compare_exchange_weak_explicit(&r->hdr->head, &h, n, memory_order_release,
                                                           memory_order_relaxed))
        ;
}
