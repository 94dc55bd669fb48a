/*
 * trace_v2.c — the format-2 chunk codec and chunk summaries (trace_v2.h).
 *
 * Body columns (streams), each a byte string, in this order:
 *   KIND   1 byte per record: the kind, or 255 when kind >= 255 (then KINDX)
 *   KINDX  the full kind (u16 LE) of records whose KIND byte is 255
 *   LANE   varint: the record's lane, an index into the summary's lanes
 *          (which carry tid and worker)
 *   TS     varint zigzag(ts - previous record's ts); the first record's
 *          previous ts is the header's first_ts
 *   CO     varint zigzag(co - previous co of the same lane in this chunk, 0 at first)
 *   STR    the 24 text bytes (a2..a4) of STRING / STRING_MORE records, as is
 *   ARG(c, i), c = the kind's class (0: any kind without a class of its own),
 *          i = 0..4: varint code of a[i] under the predictor pred[c][i]
 *          (STRING classes: a0 and a1 only)
 *
 * A predictor gives P (computed from what the decoder has already decoded);
 * the code is zigzag(v - P) (wrapping 64-bit arithmetic: a bijection). For
 * the timestamp-relative predictors (deadlines) the codes of v = 0 and v = P
 * are swapped, so "no deadline" (0) still costs one byte. All predictor state
 * starts afresh in each chunk.
 *
 * Why these columns: values of one kind and one field resemble each other
 * (hooks, fds, small counters; deadlines close to their record's time), so
 * after the transforms most varints are one byte drawn from a few values,
 * which zstd then shrinks further; timestamps, durations and results carry
 * the real information.
 */
#include "trace_v2.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "khash.h"

/* ---- kinds, classes, predictors ------------------------------------------------- */

#define NCLASS        26
#define C_STRING      4
#define C_STRING_MORE 5

/* Classes 1..25: the kinds of events version 1, in ascending kind order.
 * Fixed for format 2.x: a kind added later goes to class 0. */
static const uint16_t class_kind[NCLASS] = {
    0,
    COROSCOPE_EV_PROCESS,
    COROSCOPE_EV_CONFIG,
    COROSCOPE_EV_THREAD,
    COROSCOPE_EV_STRING,
    COROSCOPE_EV_STRING_MORE,
    COROSCOPE_EV_CLOCK,
    COROSCOPE_EV_CO_CREATE,
    COROSCOPE_EV_CO_READY,
    COROSCOPE_EV_CO_RUN,
    COROSCOPE_EV_CO_SUSPEND,
    COROSCOPE_EV_CO_YIELD,
    COROSCOPE_EV_CO_FINISH,
    COROSCOPE_EV_CO_MIGRATE,
    COROSCOPE_EV_CO_INFO,
    COROSCOPE_EV_WAKE,
    COROSCOPE_EV_CALL,
    COROSCOPE_EV_CALL_ENTER,
    COROSCOPE_EV_CALL_ADDR,
    COROSCOPE_EV_PREEMPT_SENT,
    COROSCOPE_EV_PREEMPTED,
    COROSCOPE_EV_PREEMPT_DEFERRED,
    COROSCOPE_EV_WORKER_IDLE,
    COROSCOPE_EV_WORKER_BUSY,
    COROSCOPE_EV_QUEUES,
    COROSCOPE_EV_DROP,
};

/* kind -> class, the inverse of class_kind for kinds below 128. */
static const uint8_t class_of_kind[128] = {
    [COROSCOPE_EV_PROCESS] = 1,       [COROSCOPE_EV_CONFIG] = 2,       [COROSCOPE_EV_THREAD] = 3,
    [COROSCOPE_EV_STRING] = 4,        [COROSCOPE_EV_STRING_MORE] = 5,  [COROSCOPE_EV_CLOCK] = 6,
    [COROSCOPE_EV_CO_CREATE] = 7,     [COROSCOPE_EV_CO_READY] = 8,     [COROSCOPE_EV_CO_RUN] = 9,
    [COROSCOPE_EV_CO_SUSPEND] = 10,   [COROSCOPE_EV_CO_YIELD] = 11,    [COROSCOPE_EV_CO_FINISH] = 12,
    [COROSCOPE_EV_CO_MIGRATE] = 13,   [COROSCOPE_EV_CO_INFO] = 14,     [COROSCOPE_EV_WAKE] = 15,
    [COROSCOPE_EV_CALL] = 16,         [COROSCOPE_EV_CALL_ENTER] = 17,  [COROSCOPE_EV_CALL_ADDR] = 18,
    [COROSCOPE_EV_PREEMPT_SENT] = 19, [COROSCOPE_EV_PREEMPTED] = 20,   [COROSCOPE_EV_PREEMPT_DEFERRED] = 21,
    [COROSCOPE_EV_WORKER_IDLE] = 22,  [COROSCOPE_EV_WORKER_BUSY] = 23, [COROSCOPE_EV_QUEUES] = 24,
    [COROSCOPE_EV_DROP] = 25,
};

static inline unsigned class_of(uint16_t kind)
{
    return kind < 128 ? class_of_kind[kind] : 0;
}

enum pred {
    P_ZERO = 0, /* P = 0 */
    P_PREV,     /* the previous value of this column in the chunk */
    P_TS,       /* the record's ts, codes of 0 and P swapped */
    P_WHY_TS,   /* as P_TS when a0 is COROSCOPE_READY_TIMER, else P_ZERO */
    P_CO_NEXT,  /* 1 + this column's last value for the same coroutine (a direct-mapped cache) */
    P_TID,      /* the record's tid */
    P_BYTES,    /* STRING text: a2..a4 go to STR as 24 raw bytes */
};

static const uint8_t pred[NCLASS][5] = {
    [0] = {P_ZERO, P_ZERO, P_ZERO, P_ZERO, P_ZERO},    [1] = {P_ZERO, P_PREV, P_PREV, P_ZERO, P_PREV}, /* PROCESS */
    [2] = {P_ZERO, P_ZERO, P_ZERO, P_ZERO, P_ZERO},                                                    /* CONFIG */
    [3] = {P_TID, P_PREV, P_ZERO, P_ZERO, P_ZERO},                                                     /* THREAD */
    [4] = {P_PREV, P_ZERO, P_BYTES, P_BYTES, P_BYTES},                                                 /* STRING */
    [5] = {P_PREV, P_PREV, P_BYTES, P_BYTES, P_BYTES},                                                 /* STRING_MORE */
    [6] = {P_TS, P_PREV, P_ZERO, P_ZERO, P_ZERO},                                                      /* CLOCK */
    [7] = {P_ZERO, P_PREV, P_PREV, P_PREV, P_ZERO},                                                    /* CO_CREATE */
    [8] = {P_ZERO, P_WHY_TS, P_ZERO, P_ZERO, P_ZERO},                                                  /* CO_READY */
    [9] = {P_CO_NEXT, P_ZERO, P_ZERO, P_ZERO, P_ZERO},                                                 /* CO_RUN */
    [10] = {P_ZERO, P_ZERO, P_ZERO, P_ZERO, P_TS},                                                     /* CO_SUSPEND */
    [11] = {P_ZERO, P_ZERO, P_ZERO, P_ZERO, P_ZERO},                                                   /* CO_YIELD */
    [12] = {P_ZERO, P_ZERO, P_ZERO, P_ZERO, P_ZERO},                                                   /* CO_FINISH */
    [13] = {P_ZERO, P_ZERO, P_ZERO, P_ZERO, P_ZERO},                                                   /* CO_MIGRATE */
    [14] = {P_ZERO, P_PREV, P_PREV, P_ZERO, P_ZERO},                                                   /* CO_INFO */
    [15] = {P_ZERO, P_WHY_TS, P_ZERO, P_ZERO, P_ZERO},                                                 /* WAKE */
    [16] = {P_ZERO, P_ZERO, P_ZERO, P_ZERO, P_ZERO},                                                   /* CALL */
    [17] = {P_ZERO, P_ZERO, P_ZERO, P_ZERO, P_ZERO},                                                   /* CALL_ENTER */
    [18] = {P_PREV, P_ZERO, P_ZERO, P_ZERO, P_ZERO},                                                   /* CALL_ADDR */
    [19] = {P_ZERO, P_ZERO, P_ZERO, P_ZERO, P_ZERO}, /* PREEMPT_SENT */
    [20] = {P_PREV, P_ZERO, P_ZERO, P_ZERO, P_ZERO}, /* PREEMPTED */
    [21] = {P_ZERO, P_PREV, P_ZERO, P_ZERO, P_ZERO}, /* PREEMPT_DEFERRED */
    [22] = {P_TS, P_ZERO, P_ZERO, P_ZERO, P_ZERO},   /* WORKER_IDLE */
    [23] = {P_ZERO, P_ZERO, P_ZERO, P_ZERO, P_ZERO}, /* WORKER_BUSY */
    [24] = {P_ZERO, P_ZERO, P_ZERO, P_ZERO, P_ZERO}, /* QUEUES */
    [25] = {P_ZERO, P_TS, P_TS, P_ZERO, P_ZERO},     /* DROP */
};

/* Classes whose five columns are all P_ZERO (the encoder's fast path). */
static const uint8_t all_zero[NCLASS] = {
    [0] = 1, [2] = 1, [11] = 1, [12] = 1, [13] = 1, [16] = 1, [17] = 1, [19] = 1, [23] = 1, [24] = 1,
};

enum { S_KIND, S_KINDX, S_LANE, S_TS, S_CO, S_STR, S_ARG0, NSTREAMS = S_ARG0 + NCLASS * 5 };
#define S_ARG(c, i) (S_ARG0 + (c)*5 + (i))

#define COCACHE 1024
typedef struct {
    uint64_t co, v;
} cocache;
static inline unsigned cocache_slot(uint64_t co)
{
    return (unsigned)((co * 0x9E3779B97F4A7C15ull) >> 54);
}

/* Codec state of one chunk (reset per chunk). */
typedef struct pstate {
    uint64_t prev[NCLASS][5];
    cocache cc[COCACHE];
} pstate;

static inline uint64_t zz(uint64_t d)
{
    return (d << 1) ^ (uint64_t)((int64_t)d >> 63);
}
static inline uint64_t unzz(uint64_t z)
{
    return (z >> 1) ^ (uint64_t) - (int64_t)(z & 1);
}

/* Predicted value and whether 0 and P swap codes. */
static inline uint64_t predict(pstate *s, unsigned p, unsigned c, unsigned i, const coroscope_event *ev, int *swap)
{
    *swap = 0;
    switch (p) {
    case P_PREV: return s->prev[c][i];
    case P_TS: *swap = 1; return ev->ts;
    case P_WHY_TS:
        if (ev->a[0] != COROSCOPE_READY_TIMER) return 0;
        *swap = 1;
        return ev->ts;
    case P_CO_NEXT: {
        cocache *e = &s->cc[cocache_slot(ev->co)];
        return e->co == ev->co ? e->v + 1 : 0;
    }
    case P_TID: return ev->tid;
    default: return 0;
    }
}

static inline void learn(pstate *s, unsigned p, unsigned c, unsigned i, const coroscope_event *ev, uint64_t v)
{
    if (p == P_PREV)
        s->prev[c][i] = v;
    else if (p == P_CO_NEXT)
        s->cc[cocache_slot(ev->co)] = (cocache){ev->co, v};
}

static inline uint64_t encode_value(uint64_t v, uint64_t P, int swap)
{
    if (swap && P) {
        if (v == 0) return 0;
        if (v == P) return zz(0 - P);
    }
    return zz(v - P);
}

static inline uint64_t decode_value(uint64_t code, uint64_t P, int swap)
{
    if (swap && P) {
        if (code == 0) return 0;
        if (code == zz(0 - P)) return P;
    }
    return P + unzz(code);
}

/* ---- varints ------------------------------------------------------------------------ */

static inline uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* A stream being read: [p, end). */
typedef struct rstream {
    const uint8_t *p, *end;
} rstream;

/* 0 on success; -1 on a bad or cut varint (more than 10 bytes, or bits
 * beyond 64). */
static inline int get_varint(rstream *s, uint64_t *out)
{
    const uint8_t *p = s->p;
    if (p < s->end && *p < 0x80) {
        *out = *p;
        s->p = p + 1;
        return 0;
    }
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (p == s->end) return -1;
        uint8_t b = *p++;
        if (shift == 63 && b > 1) return -1;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            s->p = p;
            return 0;
        }
    }
    return -1;
}

/* ---- lane tracker and summaries ------------------------------------------------------ */

/* State of one lane (tid, worker) across chunks. */
typedef struct lane {
    uint64_t key;     /* tid << 16 | worker */
    uint64_t running; /* coroutine running now (0: none) */
    uint64_t last_ts;
    uint32_t gen; /* chunk in which `idx` is valid */
    uint32_t idx; /* index among this chunk's lanes */
    uint8_t seen, idle;
} lane;

/* A lane of the chunk being summarised. */
typedef struct clane {
    uint32_t lane; /* index into lanes */
    uint32_t nrecords;
    uint64_t first_ts, last_ts, busy, co_start;
    uint32_t state;
    uint32_t counts[NCLASS]; /* class 0 is not counted here (others) */
} clane;

struct cs_lane_tracker {
    lane *lanes; /* dense, stable indexes */
    uint32_t nlanes, lanes_cap;
    uint32_t *tab;   /* open addressing, keyed hash: lane index + 1, 0 empty */
    uint32_t tabcap; /* power of 2 */
    uint32_t gen;
    clane *cl; /* this chunk's lanes */
    uint32_t ncl, cl_cap;
    uint64_t *others; /* (clane << 16 | kind) of records of class 0, to sort */
    uint32_t nothers, others_cap;
    uint8_t *out; /* the stored summary */
    size_t out_cap;
    uint32_t last_key_lane; /* a cache of the last lookup */
    uint64_t last_key;
    int have_last;
};

cs_lane_tracker *cs_lane_tracker_new(void)
{
    return calloc(1, sizeof(cs_lane_tracker));
}

void cs_lane_tracker_free(cs_lane_tracker *t)
{
    if (!t) return;
    free(t->lanes);
    free(t->tab);
    free(t->cl);
    free(t->others);
    free(t->out);
    free(t);
}

static int grow(void **p, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap) return 0;
    uint32_t n = *cap ? *cap : 16;
    while (n < need) n *= 2;
    void *q = realloc(*p, (size_t)n * elem);
    if (!q) return ENOMEM;
    *p = q;
    *cap = n;
    return 0;
}

/* Index of the lane of key, created if new; UINT32_MAX without memory. */
static uint32_t lane_find(cs_lane_tracker *t, uint64_t key)
{
    if (t->have_last && t->last_key == key) return t->last_key_lane;
    if ((t->nlanes + 1) * 2 > t->tabcap) {
        uint32_t ncap = t->tabcap ? t->tabcap * 2 : 64;
        uint32_t *nt = calloc(ncap, sizeof *nt);
        if (!nt) return UINT32_MAX;
        for (uint32_t i = 0; i < t->nlanes; i++) {
            uint32_t s = (uint32_t)cs_khash64(t->lanes[i].key) & (ncap - 1);
            while (nt[s]) s = (s + 1) & (ncap - 1);
            nt[s] = i + 1;
        }
        free(t->tab);
        t->tab = nt;
        t->tabcap = ncap;
    }
    uint32_t s = (uint32_t)cs_khash64(key) & (t->tabcap - 1);
    while (t->tab[s]) {
        if (t->lanes[t->tab[s] - 1].key == key) goto found;
        s = (s + 1) & (t->tabcap - 1);
    }
    if (grow((void **)&t->lanes, &t->lanes_cap, t->nlanes + 1, sizeof(lane))) return UINT32_MAX;
    t->lanes[t->nlanes] = (lane){.key = key, .gen = 0};
    t->tab[s] = ++t->nlanes;
found:
    t->have_last = 1;
    t->last_key = key;
    t->last_key_lane = t->tab[s] - 1;
    return t->last_key_lane;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int cs_lane_tracker_summarize(cs_lane_tracker *t, const coroscope_event *ev, uint32_t n, uint32_t *lane_of,
                              const void **out, size_t *out_len)
{
    if (++t->gen == 0) { /* wrapped: forget every chunk index */
        for (uint32_t i = 0; i < t->nlanes; i++) t->lanes[i].gen = 0;
        t->gen = 1;
    }
    t->ncl = 0;
    t->nothers = 0;
    for (uint32_t i = 0; i < n; i++) {
        const coroscope_event *e = &ev[i];
        uint32_t li = lane_find(t, (uint64_t)e->tid << 16 | e->worker);
        if (li == UINT32_MAX) return ENOMEM;
        lane *L = &t->lanes[li];
        if (L->gen != t->gen) {
            if (grow((void **)&t->cl, &t->cl_cap, t->ncl + 1, sizeof(clane))) return ENOMEM;
            L->gen = t->gen;
            L->idx = t->ncl++;
            clane *c = &t->cl[L->idx];
            memset(c, 0, sizeof *c);
            c->lane = li;
            c->first_ts = c->last_ts = e->ts;
            c->co_start = L->running;
            c->state = L->idle ? CS_LANE_IDLE_AT_START : 0;
        }
        clane *c = &t->cl[L->idx];
        if (lane_of) lane_of[i] = L->idx;
        c->nrecords++;
        if (e->ts < c->first_ts) c->first_ts = e->ts;
        if (e->ts > c->last_ts) c->last_ts = e->ts;
        unsigned cls = class_of(e->kind);
        if (cls)
            c->counts[cls]++;
        else {
            if (grow((void **)&t->others, &t->others_cap, t->nothers + 1, sizeof(uint64_t))) return ENOMEM;
            t->others[t->nothers++] = (uint64_t)L->idx << 16 | e->kind;
        }
        if (L->seen && L->running && e->ts > L->last_ts) c->busy += e->ts - L->last_ts;
        switch (e->kind) {
        case COROSCOPE_EV_CO_RUN:
            L->running = e->co;
            L->idle = 0;
            break;
        case COROSCOPE_EV_CO_YIELD:
        case COROSCOPE_EV_CO_SUSPEND:
        case COROSCOPE_EV_CO_FINISH: L->running = 0; break;
        case COROSCOPE_EV_WORKER_IDLE:
            L->idle = 1;
            L->running = 0;
            break;
        case COROSCOPE_EV_WORKER_BUSY: L->idle = 0; break;
        default: break;
        }
        if (!L->seen || e->ts > L->last_ts) L->last_ts = e->ts;
        L->seen = 1;
    }
    if (t->nothers) qsort(t->others, t->nothers, sizeof *t->others, cmp_u64);
    /* Stored form: head, then each lane and its kind counts (ascending kind). */
    size_t need = sizeof(cs_v2_summary_head) + (size_t)t->ncl * sizeof(cs_lane_summary_disk) +
                  ((size_t)t->ncl * (NCLASS - 1) + t->nothers) * sizeof(cs_kind_count);
    if (need > t->out_cap) {
        uint8_t *o = realloc(t->out, need);
        if (!o) return ENOMEM;
        t->out = o;
        t->out_cap = need;
    }
    uint8_t *p = t->out;
    cs_v2_summary_head h = {.nlanes = t->ncl};
    memcpy(p, &h, sizeof h);
    p += sizeof h;
    uint32_t oi = 0;
    for (uint32_t k = 0; k < t->ncl; k++) {
        clane *c = &t->cl[k];
        lane *L = &t->lanes[c->lane];
        uint8_t *lp = p;
        p += sizeof(cs_lane_summary_disk);
        uint16_t nk = 0;
        /* merge the class counters (ascending kind) with this lane's others (sorted) */
        unsigned cls = 1;
        for (;;) {
            int have_o = oi < t->nothers && (t->others[oi] >> 16) == k;
            while (cls < NCLASS && !c->counts[cls]) cls++;
            int have_c = cls < NCLASS;
            if (!have_o && !have_c) break;
            cs_kind_count kc;
            if (have_c && (!have_o || class_kind[cls] < (uint16_t)t->others[oi])) {
                kc = (cs_kind_count){.kind = class_kind[cls], .count = c->counts[cls]};
                cls++;
            } else {
                uint16_t kind = (uint16_t)t->others[oi];
                uint32_t cnt = 0;
                while (oi < t->nothers && t->others[oi] == ((uint64_t)k << 16 | kind)) oi++, cnt++;
                kc = (cs_kind_count){.kind = kind, .count = cnt};
            }
            memcpy(p, &kc, sizeof kc);
            p += sizeof kc;
            nk++;
        }
        cs_lane_summary_disk d = {.tid = (uint32_t)(L->key >> 16),
                                  .worker = (uint16_t)L->key,
                                  .nkinds = nk,
                                  .nrecords = c->nrecords,
                                  .state = c->state | (L->idle ? CS_LANE_IDLE_AT_END : 0),
                                  .first_ts = c->first_ts,
                                  .last_ts = c->last_ts,
                                  .busy_ns = c->busy,
                                  .co_start = c->co_start,
                                  .co_end = L->running};
        memcpy(lp, &d, sizeof d);
    }
    *out = t->out;
    *out_len = (size_t)(p - t->out);
    return 0;
}

int cs_v2_summary_parse(const void *buf, size_t len, uint32_t nrecords, cs_lane_summary **scratch,
                        uint32_t *scratch_cap, uint32_t *nlanes_out, char *why, size_t whylen)
{
    const uint8_t *p = buf, *end = p + len;
    cs_v2_summary_head h;
    if (len < sizeof h) {
        snprintf(why, whylen, "summary of %zu bytes", len);
        return -1;
    }
    memcpy(&h, p, sizeof h);
    p += sizeof h;
    if (h.nlanes == 0 || h.nlanes > nrecords || h.reserved) {
        snprintf(why, whylen, "summary with %u lanes for %u records", h.nlanes, nrecords);
        return -1;
    }
    if (grow((void **)scratch, scratch_cap, h.nlanes, sizeof(cs_lane_summary))) {
        snprintf(why, whylen, "out of memory for %u lanes", h.nlanes);
        return -1;
    }
    uint64_t total = 0;
    for (uint32_t i = 0; i < h.nlanes; i++) {
        cs_lane_summary *l = &(*scratch)[i];
        if ((size_t)(end - p) < sizeof l->d) {
            snprintf(why, whylen, "summary cut in lane %u", i);
            return -1;
        }
        memcpy(&l->d, p, sizeof l->d);
        p += sizeof l->d;
        if (l->d.nrecords == 0 || l->d.nkinds == 0 || l->d.nkinds > l->d.nrecords || l->d.first_ts > l->d.last_ts ||
            (l->d.state & ~3u)) {
            snprintf(why, whylen, "impossible summary of lane %u", i);
            return -1;
        }
        if ((size_t)(end - p) < (size_t)l->d.nkinds * sizeof(cs_kind_count)) {
            snprintf(why, whylen, "summary cut in the kinds of lane %u", i);
            return -1;
        }
        l->kinds = (const cs_kind_count *)p; /* 4-byte aligned: 8 + 56 k + 8 j */
        uint64_t sum = 0;
        for (uint32_t k = 0; k < l->d.nkinds; k++) {
            cs_kind_count kc;
            memcpy(&kc, p + (size_t)k * sizeof kc, sizeof kc);
            if (kc.count == 0 || kc.reserved || (k && kc.kind <= l->kinds[k - 1].kind)) {
                snprintf(why, whylen, "impossible kind counts in lane %u", i);
                return -1;
            }
            sum += kc.count;
        }
        if (sum != l->d.nrecords) {
            snprintf(why, whylen, "kind counts of lane %u add up to %llu, not %u", i, (unsigned long long)sum,
                     l->d.nrecords);
            return -1;
        }
        p += (size_t)l->d.nkinds * sizeof(cs_kind_count);
        total += l->d.nrecords;
    }
    if (p != end || total != nrecords) {
        snprintf(why, whylen, "summary lanes hold %llu records in %zu bytes, the chunk %u in %zu",
                 (unsigned long long)total, (size_t)(p - (const uint8_t *)buf), nrecords, len);
        return -1;
    }
    *nlanes_out = h.nlanes;
    return 0;
}

/* ---- encoder ------------------------------------------------------------------------- */

struct cs_v2_encoder {
    int level;
    ZSTD_CCtx *zc;
    cs_lane_tracker *lanes;
    uint32_t *lane_of; /* per record */
    uint64_t *lane_co; /* previous co per chunk lane */
    uint32_t lane_co_cap;
    uint8_t *arena; /* the streams, then the raw body */
    size_t arena_cap;
    uint8_t *out; /* header + summary + compressed body */
    size_t out_cap;
    pstate ps;
};

int cs_v2_encoder_new(cs_v2_encoder **out, int level)
{
    cs_v2_encoder *e = calloc(1, sizeof *e);
    if (!e) return ENOMEM;
    for (unsigned c = 0; c < NCLASS; c++) { /* all_zero must say what pred says */
        unsigned z = 1;
        for (unsigned i = 0; i < 5; i++) z &= pred[c][i] == P_ZERO;
        if (z != all_zero[c]) abort();
    }
    e->level = level ? level : CS_V2_DEFAULT_LEVEL;
    e->zc = ZSTD_createCCtx();
    e->lanes = cs_lane_tracker_new();
    e->lane_of = malloc(CS_CHUNK_MAX_RECORDS * sizeof *e->lane_of);
    if (!e->zc || !e->lanes || !e->lane_of) {
        cs_v2_encoder_free(e);
        return ENOMEM;
    }
    *out = e;
    return 0;
}

void cs_v2_encoder_free(cs_v2_encoder *e)
{
    if (!e) return;
    ZSTD_freeCCtx(e->zc);
    cs_lane_tracker_free(e->lanes);
    free(e->lane_of);
    free(e->lane_co);
    free(e->arena);
    free(e->out);
    free(e);
}

static int ensure(uint8_t **p, size_t *cap, size_t need)
{
    if (need <= *cap) return 0;
    uint8_t *q = realloc(*p, need);
    if (!q) return ENOMEM;
    *p = q;
    *cap = need;
    return 0;
}

int cs_v2_encode_chunk(cs_v2_encoder *e, const coroscope_event *ev, uint32_t n, const void **out, size_t *len,
                       char *why, size_t whylen)
{
    if (n == 0 || n > CS_CHUNK_MAX_RECORDS) {
        snprintf(why, whylen, "a chunk holds 1..%u records, not %u", CS_CHUNK_MAX_RECORDS, n);
        return EINVAL;
    }
    const void *sum;
    size_t sum_len;
    if (cs_lane_tracker_summarize(e->lanes, ev, n, e->lane_of, &sum, &sum_len)) {
        snprintf(why, whylen, "out of memory");
        return ENOMEM;
    }
    uint32_t nl = e->lanes->ncl;
    if (grow((void **)&e->lane_co, &e->lane_co_cap, nl, sizeof *e->lane_co)) {
        snprintf(why, whylen, "out of memory");
        return ENOMEM;
    }
    memset(e->lane_co, 0, (size_t)nl * sizeof *e->lane_co);

    /* Stream capacities from the records' classes: the widest encodings. */
    uint32_t per_class[NCLASS] = {0};
    uint64_t first_ts = ev[0].ts, last_ts = ev[0].ts;
    uint16_t flags = 0;
    for (uint32_t i = 0; i < n; i++) {
        per_class[class_of(ev[i].kind)]++;
        if (ev[i].ts < first_ts) first_ts = ev[i].ts;
        if (ev[i].ts > last_ts) last_ts = ev[i].ts;
    }
    if (per_class[C_STRING] || per_class[C_STRING_MORE]) flags |= CS_CHUNK_HAS_STRINGS;
    size_t cap[NSTREAMS] = {0};
    cap[S_KIND] = n;
    cap[S_KINDX] = 2u * per_class[0];
    cap[S_LANE] = 5u * (size_t)n;
    cap[S_TS] = cap[S_CO] = 10u * (size_t)n;
    cap[S_STR] = 24u * ((size_t)per_class[C_STRING] + per_class[C_STRING_MORE]);
    for (unsigned c = 0; c < NCLASS; c++)
        for (unsigned i = 0; i < 5; i++) cap[S_ARG(c, i)] = pred[c][i] == P_BYTES ? 0 : 10u * (size_t)per_class[c];
    size_t total = 0, start[NSTREAMS];
    for (unsigned s = 0; s < NSTREAMS; s++) {
        start[s] = total;
        total += cap[s];
    }
    /* arena: streams [0, total), then the raw body (directory + streams) */
    size_t raw_cap = (size_t)NSTREAMS * 5 + total;
    if (ensure(&e->arena, &e->arena_cap, total + raw_cap)) {
        snprintf(why, whylen, "out of memory");
        return ENOMEM;
    }
    uint8_t *w[NSTREAMS];
    for (unsigned s = 0; s < NSTREAMS; s++) w[s] = e->arena + start[s];

    memset(&e->ps, 0, sizeof e->ps);
    pstate *ps = &e->ps;
    uint64_t prev_ts = first_ts;
    for (uint32_t r = 0; r < n; r++) {
        const coroscope_event *x = &ev[r];
        unsigned c = class_of(x->kind);
        if (x->kind < 255) {
            *w[S_KIND]++ = (uint8_t)x->kind;
        } else {
            *w[S_KIND]++ = 255;
            memcpy(w[S_KINDX], &x->kind, 2);
            w[S_KINDX] += 2;
        }
        uint32_t li = e->lane_of[r];
        w[S_LANE] = put_varint(w[S_LANE], li);
        w[S_TS] = put_varint(w[S_TS], zz(x->ts - prev_ts));
        prev_ts = x->ts;
        w[S_CO] = put_varint(w[S_CO], zz(x->co - e->lane_co[li]));
        e->lane_co[li] = x->co;
        uint8_t **wa = &w[S_ARG(c, 0)];
        if (__builtin_expect(all_zero[c], 1)) {
            /* every column predicted 0 (CALL, CALL_ENTER, CO_YIELD...): the
             * same codes as below, without the per-column dispatch */
            wa[0] = put_varint(wa[0], zz(x->a[0]));
            wa[1] = put_varint(wa[1], zz(x->a[1]));
            wa[2] = put_varint(wa[2], zz(x->a[2]));
            wa[3] = put_varint(wa[3], zz(x->a[3]));
            wa[4] = put_varint(wa[4], zz(x->a[4]));
            continue;
        }
        for (unsigned i = 0; i < 5; i++) {
            unsigned p = pred[c][i];
            if (p == P_ZERO) {
                wa[i] = put_varint(wa[i], zz(x->a[i]));
                continue;
            }
            if (p == P_BYTES) {
                memcpy(w[S_STR], &x->a[2], 24);
                w[S_STR] += 24;
                break;
            }
            int swap;
            uint64_t P = predict(ps, p, c, i, x, &swap);
            wa[i] = put_varint(wa[i], encode_value(x->a[i], P, swap));
            learn(ps, p, c, i, x, x->a[i]);
        }
    }
    /* raw body = directory + streams */
    uint8_t *raw = e->arena + total, *q = raw;
    for (unsigned s = 0; s < NSTREAMS; s++) q = put_varint(q, (uint64_t)(w[s] - (e->arena + start[s])));
    for (unsigned s = 0; s < NSTREAMS; s++) {
        size_t l = (size_t)(w[s] - (e->arena + start[s]));
        memcpy(q, e->arena + start[s], l);
        q += l;
    }
    size_t raw_size = (size_t)(q - raw);
    size_t bound = ZSTD_compressBound(raw_size);
    if (ensure(&e->out, &e->out_cap, sizeof(cs_v2_chunk_header) + sum_len + bound)) {
        snprintf(why, whylen, "out of memory");
        return ENOMEM;
    }
    uint8_t *body = e->out + sizeof(cs_v2_chunk_header) + sum_len;
    size_t body_size = ZSTD_compressCCtx(e->zc, body, bound, raw, raw_size, e->level);
    if (ZSTD_isError(body_size)) {
        snprintf(why, whylen, "zstd: %s", ZSTD_getErrorName(body_size));
        return EIO;
    }
    memcpy(e->out + sizeof(cs_v2_chunk_header), sum, sum_len);
    cs_v2_chunk_header h = {.magic = CS_V2_CHUNK_MAGIC,
                            .nrecords = n,
                            .first_ts = first_ts,
                            .last_ts = last_ts,
                            .summary_size = (uint32_t)sum_len,
                            .body_size = (uint32_t)body_size,
                            .raw_size = (uint32_t)raw_size,
                            .flags = flags,
                            .codec = CS_V2_CODEC_ZSTD};
    h.summary_crc = cs_crc32(0, sum, sum_len);
    h.body_crc = cs_crc32(0, body, body_size);
    h.header_crc = cs_crc32(0, &h, 52);
    memcpy(e->out, &h, sizeof h);
    *out = e->out;
    *len = sizeof h + sum_len + body_size;
    return 0;
}

/* ---- decoder ------------------------------------------------------------------------- */

int cs_v2_check_header(const cs_v2_chunk_header *h, char *why, size_t whylen)
{
    const char *bad = NULL;
    if (h->magic != CS_V2_CHUNK_MAGIC)
        bad = "bad magic";
    else if (cs_crc32(0, h, 52) != h->header_crc)
        bad = "header CRC mismatch";
    else if (h->nrecords == 0 || h->nrecords > CS_CHUNK_MAX_RECORDS)
        bad = "impossible record count";
    else if (h->first_ts > h->last_ts)
        bad = "first ts after last ts";
    else if (h->codec != CS_V2_CODEC_ZSTD)
        bad = "unknown codec";
    else if (h->raw_size > CS_V2_RAW_MAX(h->nrecords))
        bad = "decompressed size beyond its bound";
    else if (h->summary_size > CS_V2_SUMMARY_MAX(h->nrecords))
        bad = "summary size beyond its bound";
    else if (h->body_size == 0 || h->body_size > ZSTD_compressBound(h->raw_size))
        bad = "impossible body size";
    else if ((h->flags & ~CS_CHUNK_HAS_STRINGS) || h->reserved)
        bad = "unknown flags";
    if (!bad) return 0;
    snprintf(why, whylen, "%s", bad);
    return -1;
}

struct cs_v2_decoder {
    ZSTD_DCtx *zd;
    uint8_t *raw;
    size_t raw_cap;
    uint64_t *lane_co;
    uint32_t *lane_n;
    uint32_t lane_cap;
    pstate ps;
};

int cs_v2_decoder_new(cs_v2_decoder **out)
{
    cs_v2_decoder *d = calloc(1, sizeof *d);
    if (!d || !(d->zd = ZSTD_createDCtx())) {
        free(d);
        return ENOMEM;
    }
    *out = d;
    return 0;
}

void cs_v2_decoder_free(cs_v2_decoder *d)
{
    if (!d) return;
    ZSTD_freeDCtx(d->zd);
    free(d->raw);
    free(d->lane_co);
    free(d->lane_n);
    free(d);
}

#define CORRUPT(...)                        \
    do {                                    \
        snprintf(why, whylen, __VA_ARGS__); \
        return -1;                          \
    } while (0)

int cs_v2_decode_body(cs_v2_decoder *d, const cs_v2_chunk_header *h, const cs_lane_summary *lanes, uint32_t nlanes,
                      const void *body, coroscope_event *out, char *why, size_t whylen)
{
    unsigned long long fcs = ZSTD_getFrameContentSize(body, h->body_size);
    if (fcs == ZSTD_CONTENTSIZE_ERROR || fcs == ZSTD_CONTENTSIZE_UNKNOWN || fcs != h->raw_size)
        CORRUPT("the compressed body does not declare %u bytes", h->raw_size);
    if (ZSTD_findFrameCompressedSize(body, h->body_size) != h->body_size)
        CORRUPT("the compressed body is not one frame of %u bytes", h->body_size);
    if (ensure(&d->raw, &d->raw_cap, h->raw_size ? h->raw_size : 1)) return ENOMEM;
    size_t got = ZSTD_decompressDCtx(d->zd, d->raw, h->raw_size, body, h->body_size);
    if (ZSTD_isError(got) || got != h->raw_size)
        CORRUPT("decompression failed (%s)", ZSTD_isError(got) ? ZSTD_getErrorName(got) : "short");
    if (nlanes > d->lane_cap) {
        uint64_t *lc = realloc(d->lane_co, (size_t)nlanes * sizeof *lc);
        if (lc) d->lane_co = lc;
        uint32_t *ln = realloc(d->lane_n, (size_t)nlanes * sizeof *ln);
        if (ln) d->lane_n = ln;
        if (!lc || !ln) return ENOMEM;
        d->lane_cap = nlanes;
    }
    memset(d->lane_co, 0, (size_t)nlanes * sizeof *d->lane_co);
    memset(d->lane_n, 0, (size_t)nlanes * sizeof *d->lane_n);
    /* directory */
    rstream dir = {d->raw, d->raw + h->raw_size};
    rstream st[NSTREAMS];
    uint64_t len[NSTREAMS], sum = 0;
    for (unsigned s = 0; s < NSTREAMS; s++) {
        if (get_varint(&dir, &len[s]) || len[s] > h->raw_size) CORRUPT("bad stream directory");
        sum += len[s];
    }
    if (sum != (uint64_t)(dir.end - dir.p))
        CORRUPT("streams of %llu bytes in a body of %llu", (unsigned long long)sum,
                (unsigned long long)(dir.end - dir.p));
    const uint8_t *p = dir.p;
    for (unsigned s = 0; s < NSTREAMS; s++) {
        st[s] = (rstream){p, p + len[s]};
        p += len[s];
    }
    memset(&d->ps, 0, sizeof d->ps);
    pstate *ps = &d->ps;
    uint64_t prev_ts = h->first_ts, min_ts = UINT64_MAX, max_ts = 0;
    for (uint32_t r = 0; r < h->nrecords; r++) {
        coroscope_event *x = &out[r];
        uint64_t v;
        if (st[S_KIND].p == st[S_KIND].end) CORRUPT("kind column ends at record %u", r);
        uint16_t kind = *st[S_KIND].p++;
        if (kind == 255) {
            if (st[S_KINDX].end - st[S_KINDX].p < 2) CORRUPT("kind column ends at record %u", r);
            memcpy(&kind, st[S_KINDX].p, 2);
            st[S_KINDX].p += 2;
            if (kind < 255) CORRUPT("kind %u escaped at record %u", kind, r);
        }
        x->kind = kind;
        unsigned c = class_of(kind);
        if (get_varint(&st[S_LANE], &v) || v >= nlanes) CORRUPT("bad lane at record %u", r);
        uint32_t li = (uint32_t)v;
        x->tid = lanes[li].d.tid;
        x->worker = lanes[li].d.worker;
        d->lane_n[li]++;
        if (get_varint(&st[S_TS], &v)) CORRUPT("bad timestamp at record %u", r);
        x->ts = prev_ts + unzz(v);
        prev_ts = x->ts;
        if (x->ts < min_ts) min_ts = x->ts;
        if (x->ts > max_ts) max_ts = x->ts;
        if (get_varint(&st[S_CO], &v)) CORRUPT("bad coroutine at record %u", r);
        x->co = d->lane_co[li] + unzz(v);
        d->lane_co[li] = x->co;
        for (unsigned i = 0; i < 5; i++) {
            unsigned pr = pred[c][i];
            if (pr == P_BYTES) {
                if (st[S_STR].end - st[S_STR].p < 24) CORRUPT("string column ends at record %u", r);
                memcpy(&x->a[2], st[S_STR].p, 24);
                st[S_STR].p += 24;
                break;
            }
            if (get_varint(&st[S_ARG(c, i)], &v)) CORRUPT("bad argument %u of kind %u at record %u", i, kind, r);
            int swap;
            uint64_t P = predict(ps, pr, c, i, x, &swap);
            x->a[i] = decode_value(v, P, swap);
            learn(ps, pr, c, i, x, x->a[i]);
        }
    }
    for (unsigned s = 0; s < NSTREAMS; s++)
        if (st[s].p != st[s].end) CORRUPT("%zu bytes left in column %u", (size_t)(st[s].end - st[s].p), s);
    if (min_ts != h->first_ts || max_ts != h->last_ts) CORRUPT("records span other times than the header says");
    for (uint32_t l = 0; l < nlanes; l++)
        if (d->lane_n[l] != lanes[l].d.nrecords)
            CORRUPT("lane %u has %u records, its summary says %u", l, d->lane_n[l], lanes[l].d.nrecords);
    return 0;
}
