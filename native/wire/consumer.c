/*
 * consumer.c — see consumer.h. System calls are made raw (syscall(2)): in
 * the engine's recorder thread they are the engine's, not the program's.
 */
#include "consumer.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "reader.h" /* cs_events_sorted */

int cs_consumer_init(cs_consumer *c, size_t cap)
{
    memset(c, 0, sizeof *c);
    c->doorbell = -1;
    c->hold_ns = CS_CONSUMER_HOLD_NS;
    c->quiet_ns = CS_CONSUMER_QUIET_NS;
    c->cap = cap ? cap : 65536;
    c->buf = malloc(c->cap * sizeof *c->buf);
    c->tmp = malloc(c->cap * sizeof *c->tmp);
    if (!c->buf || !c->tmp) {
        cs_consumer_free(c);
        return ENOMEM;
    }
    return 0;
}

void cs_consumer_free(cs_consumer *c)
{
    free(c->rings);
    free(c->taken);
    free(c->front);
    free(c->quiet);
    free(c->waits);
    free(c->run);
    free(c->buf);
    free(c->tmp);
    memset(c, 0, sizeof *c);
    c->doorbell = -1;
}

int cs_consumer_add(cs_consumer *c, cs_ring *r)
{
    if (c->nrings == c->cap_rings) {
        uint32_t cap = c->cap_rings ? c->cap_rings * 2 : 16;
        cs_ring **g = realloc(c->rings, cap * sizeof *g);
        if (!g) return ENOMEM;
        c->rings = g;
        size_t *t = realloc(c->taken, cap * sizeof *t);
        if (!t) return ENOMEM;
        c->taken = t;
        uint64_t *f = realloc(c->front, cap * sizeof *f);
        if (!f) return ENOMEM;
        c->front = f;
        uint64_t *q = realloc(c->quiet, cap * sizeof *q);
        if (!q) return ENOMEM;
        c->quiet = q;
        uint64_t *wt = realloc(c->waits, cap * sizeof *wt);
        if (!wt) return ENOMEM;
        c->waits = wt;
        c->cap_rings = cap;
    }
    c->front[c->nrings] = 0;
    c->quiet[c->nrings] = 0;
    c->waits[c->nrings] = atomic_load_explicit(&r->hdr->waits, memory_order_relaxed);
    c->rings[c->nrings++] = r;
    return 0;
}

void cs_consumer_remove(cs_consumer *c, cs_ring *r)
{
    for (uint32_t i = 0; i < c->nrings; i++)
        if (c->rings[i] == r) {
            memmove(&c->rings[i], &c->rings[i + 1], (c->nrings - i - 1) * sizeof *c->rings);
            memmove(&c->taken[i], &c->taken[i + 1], (c->nrings - i - 1) * sizeof *c->taken);
            memmove(&c->front[i], &c->front[i + 1], (c->nrings - i - 1) * sizeof *c->front);
            memmove(&c->quiet[i], &c->quiet[i + 1], (c->nrings - i - 1) * sizeof *c->quiet);
            memmove(&c->waits[i], &c->waits[i + 1], (c->nrings - i - 1) * sizeof *c->waits);
            c->nrings--;
            return;
        }
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The low watermark (consumer.h "Order"): no ring will give a record older
 * than this, unless it is late. */
static uint64_t watermark(const cs_consumer *c)
{
    if (c->nrings == 0) return UINT64_MAX; /* what is held came from rings gone since */
    uint64_t now = mono_ns(), floor = now > c->hold_ns ? now - c->hold_ns : 0, w = UINT64_MAX;
    for (uint32_t i = 0; i < c->nrings; i++) {
        uint64_t f = c->front[i] > floor ? c->front[i] : floor;
        if (c->quiet[i] > c->quiet_ns && c->quiet[i] - c->quiet_ns > f)
            f = c->quiet[i] - c->quiet_ns; /* quiet, and publishes each record at once */
        if (f < w) w = f;
    }
    return w;
}

/* Hand over the first k held records (0 < k <= n, in time order); the rest
 * stays held, in order. */
static void hand_over_first(cs_consumer *c, const cs_consumer_sink *s, size_t k)
{
    coroscope_event *h = c->buf + c->off;
    for (size_t i = 0; i < k && h[i].ts < c->out_ts; i++)
        c->late++; /* sorted: only a prefix can be older than what went out */
    if (h[k - 1].ts > c->out_ts) c->out_ts = h[k - 1].ts;
    s->batch(s->ctx, h, k);
    c->n -= k;
    c->off = c->n ? c->off + k : 0;
    c->sorted = c->n;
}

/* Is heap entry a (a run index) before b: the smaller next ts, the earlier
 * run on ties (stable). */
static inline int run_before(const coroscope_event *src, const size_t *pos, size_t a, size_t b)
{
    uint64_t x = src[pos[a]].ts, y = src[pos[b]].ts;
    return x < y || (x == y && a < b);
}

/* src[0 .. n) in time order: src itself when it is one ascending run, else
 * dst (the runs merged with a heap: every record is copied once, whatever
 * the number of runs). Stable. */
static coroscope_event *order(cs_consumer *c, coroscope_event *src, size_t n, coroscope_event *dst)
{
    size_t runs = 0;
    for (size_t i = 0; i < n;) {
        if (3 * (runs + 2) > c->run_cap) {
            size_t cap = c->run_cap ? c->run_cap * 2 : 192;
            size_t *g = realloc(c->run, cap * sizeof *g);
            if (!g) return cs_events_sorted(src, n, dst); /* no memory for the heap: the pairwise sort */
            c->run = g;
            c->run_cap = cap;
        }
        c->run[runs++] = i++;
        while (i < n && src[i - 1].ts <= src[i].ts) i++;
    }
    if (runs <= 1) return src;
    /* run[0 .. runs]: starts, then n; pos: each run's next record; heap of run indices */
    size_t *start = c->run, *pos = start + runs + 1, *heap = pos + runs, hs = runs, k = 0;
    start[runs] = n;
    for (size_t r = 0; r < runs; r++) pos[r] = start[r];
    for (size_t r = 0; r < runs; r++) heap[r] = r; /* run starts ascend: already a heap on ties... */
    for (size_t i = hs / 2; i-- > 0;) {            /* ...not on ts: heapify */
        size_t j = i;
        for (;;) {
            size_t l = 2 * j + 1, m = j;
            if (l < hs && run_before(src, pos, heap[l], heap[m])) m = l;
            if (l + 1 < hs && run_before(src, pos, heap[l + 1], heap[m])) m = l + 1;
            if (m == j) break;
            size_t t = heap[j];
            heap[j] = heap[m];
            heap[m] = t;
            j = m;
        }
    }
    while (hs > 1) {
        size_t r = heap[0];
        dst[k++] = src[pos[r]++];
        if (pos[r] == start[r + 1]) heap[0] = heap[--hs];
        size_t j = 0;
        for (;;) {
            size_t l = 2 * j + 1, m = j;
            if (l < hs && run_before(src, pos, heap[l], heap[m])) m = l;
            if (l + 1 < hs && run_before(src, pos, heap[l + 1], heap[m])) m = l + 1;
            if (m == j) break;
            size_t t = heap[j];
            heap[j] = heap[m];
            heap[m] = t;
            j = m;
        }
    }
    size_t r = heap[0];
    memcpy(dst + k, src + pos[r], (start[r + 1] - pos[r]) * sizeof *src);
    return dst;
}

/* Put what is held in time order (what was read since the last hand-over
 * follows what that one left, already in order). The merged copy lands in
 * the scratch buffer, which becomes the buffer: no copy back. */
static void sort_held(cs_consumer *c)
{
    if (c->sorted != c->n) {
        coroscope_event *p = order(c, c->buf + c->off, c->n, c->tmp);
        if (p != c->buf + c->off) { /* in tmp */
            c->tmp = c->buf;
            c->buf = p;
            c->off = 0;
        }
    }
    c->sorted = c->n;
}

/* Hand over the records at or below the watermark; `full`: the buffer must
 * make room, so at least its older half goes. */
static void release(cs_consumer *c, const cs_consumer_sink *s, int full)
{
    if (!c->n) return;
    sort_held(c);
    uint64_t w = watermark(c);
    size_t lo = 0, hi = c->n; /* the first record above w: binary search */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->buf[c->off + mid].ts <= w)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (full && lo < c->n / 2 + 1) lo = c->n / 2 + 1 < c->n ? c->n / 2 + 1 : c->n;
    if (lo) hand_over_first(c, s, lo);
}

void cs_consumer_flush(cs_consumer *c, const cs_consumer_sink *s)
{
    release(c, s, 0);
}

void cs_consumer_finish(cs_consumer *c, const cs_consumer_sink *s)
{
    if (!c->n) return;
    sort_held(c);
    hand_over_first(c, s, c->n);
}

/* Room for at least one more record at the end of what is held. */
static void make_room(cs_consumer *c, const cs_consumer_sink *s)
{
    if (c->off + c->n < c->cap) return;
    if (c->n == c->cap) release(c, s, 1);
    if (c->off + c->n == c->cap) {
        memmove(c->buf, c->buf + c->off, c->n * sizeof *c->buf);
        c->off = 0;
    }
}

/* Read up to `want` records of ring r into the batch. Returns the count,
 * or -1 if the ring is corrupt (cs_ring_read: -CS_RING_ECORRUPT). */
static ssize_t take(cs_consumer *c, const cs_consumer_sink *s, uint32_t ri, size_t want)
{
    cs_ring *r = c->rings[ri];
    int each = r->hdr->publish_each == 1;
    size_t got = 0;
    while (got < want) {
        make_room(c, s);
        size_t end = c->off + c->n, room = c->cap - end < want - got ? c->cap - end : want - got;
        uint64_t t = each ? mono_ns() : 0; /* before the read: nothing later is stamped much before it */
        ssize_t k = cs_ring_read(r, c->buf + end, room);
        if (k < 0) return -1;
        if (each) { /* quiet: empty, and no wait for room began since the last read (a record
                     * stamped before a wait is published after it) */
            uint64_t w = atomic_load_explicit(&r->hdr->waits, memory_order_relaxed);
            int calm = w == c->waits[ri] && !atomic_load_explicit(&r->hdr->waiting, memory_order_relaxed);
            c->waits[ri] = w;
            c->quiet[ri] = k == 0 && calm ? t : 0;
        }
        if (k == 0) break;
        for (ssize_t j = 0; j < k; j++) {
            const coroscope_event *e = &c->buf[end + (size_t)j];
            if (e->kind == COROSCOPE_EV_DROP) c->lost += e->a[0];
            if (e->ts > c->front[ri]) c->front[ri] = e->ts;
        }
        c->n += (size_t)k;
        got += (size_t)k;
    }
    return (ssize_t)got;
}

#define CORRUPT SIZE_MAX

size_t cs_consumer_drain(cs_consumer *c, const cs_consumer_sink *s)
{
    /* Rounds: each ring gives at most a fair share of a batch per round,
     * so a batch holds the oldest records of every ring (a thread that
     * created a coroutine is not a batch behind the worker that runs it),
     * and at most its capacity per call. */
    size_t total = 0, share = c->cap / (c->nrings ? c->nrings : 1);
    if (share < 256) share = 256;
    int corrupt = 0;
    for (uint32_t i = 0; i < c->nrings; i++) c->taken[i] = 0;
    for (;;) {
        size_t round = 0;
        for (uint32_t i = 0; i < c->nrings; i++) {
            if (c->taken[i] == CORRUPT || c->taken[i] >= c->rings[i]->capacity) continue;
            size_t left = c->rings[i]->capacity - c->taken[i];
            ssize_t got = take(c, s, i, left < share ? left : share);
            if (got < 0) {
                c->taken[i] = CORRUPT; /* it leaves below, not while we iterate */
                corrupt = 1;
                continue;
            }
            c->taken[i] += (size_t)got;
            round += (size_t)got;
        }
        total += round;
        if (round == 0) break;
    }
    for (uint32_t i = 0; corrupt && i < c->nrings; i++)
        if (c->taken[i] == CORRUPT) {
            cs_ring *r = c->rings[i];
            cs_consumer_remove(c, r);
            i--;
            if (s->corrupt) s->corrupt(s->ctx, r, CS_RING_ECORRUPT);
        }
    c->records += total;
    return total;
}

int cs_consumer_arm(cs_consumer *c)
{
    for (uint32_t i = 0; i < c->nrings; i++)
        if (!cs_ring_arm(c->rings[i])) {
            for (uint32_t j = 0; j < i; j++) cs_ring_disarm(c->rings[j]);
            return 0;
        }
    return 1;
}

void cs_consumer_disarm(cs_consumer *c)
{
    for (uint32_t i = 0; i < c->nrings; i++) cs_ring_disarm(c->rings[i]);
    if (c->doorbell >= 0) {
        uint64_t v;
        while (syscall(SYS_read, c->doorbell, &v, sizeof v) < 0 && errno == EINTR)
            ;
    }
}

int cs_consumer_wait(cs_consumer *c, uint64_t timeout_ns)
{
    if (!cs_consumer_arm(c)) return 0;
    struct pollfd p = {.fd = c->doorbell, .events = POLLIN};
    struct timespec ts = {(time_t)(timeout_ns / 1000000000u), (long)(timeout_ns % 1000000000u)};
    long r = syscall(SYS_ppoll, &p, c->doorbell >= 0 ? 1 : 0, &ts, NULL, (size_t)8);
    cs_consumer_disarm(c);
    return r > 0;
}

uint64_t cs_consumer_end_losses(cs_consumer *c, const cs_consumer_sink *s)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < c->nrings; i++) {
        coroscope_event d;
        uint64_t n = cs_ring_take_pending(c->rings[i], &d);
        if (!n) continue;
        make_room(c, s);
        c->buf[c->off + c->n++] = d;
        c->lost += n;
        total += n;
    }
    return total;
}
