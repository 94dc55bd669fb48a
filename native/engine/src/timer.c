#include "timer.h"

#include <errno.h>
#include <stdlib.h>

#include "wait.h"

static void heap_set(cs_worker *w, int i, cs_co *co)
{
    w->heap[i] = co;
    co->heap_idx = i;
}

static void sift_up(cs_worker *w, int i)
{
    cs_co *co = w->heap[i];
    while (i > 0) {
        int p = (i - 1) / 2;
        if (w->heap[p]->deadline <= co->deadline) break;
        heap_set(w, i, w->heap[p]);
        i = p;
    }
    heap_set(w, i, co);
}

static void sift_down(cs_worker *w, int i)
{
    cs_co *co = w->heap[i];
    int n = w->heap_n;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && w->heap[c + 1]->deadline < w->heap[c]->deadline) c++;
        if (co->deadline <= w->heap[c]->deadline) break;
        heap_set(w, i, w->heap[c]);
        i = c;
    }
    heap_set(w, i, co);
}

int cs_timer_add(cs_worker *w, cs_co *co)
{
    if (w->heap_n == w->heap_cap) {
        int cap = w->heap_cap ? w->heap_cap * 2 : 256;
        cs_co **h = realloc(w->heap, (size_t)cap * sizeof *h);
        if (!h) return ENOMEM;
        w->heap = h;
        w->heap_cap = cap;
    }
    w->heap[w->heap_n] = co;
    co->heap_idx = w->heap_n++;
    sift_up(w, co->heap_idx);
    return 0;
}

void cs_timer_del(cs_worker *w, cs_co *co)
{
    int i = co->heap_idx;
    if (i < 0) return;
    co->heap_idx = -1;
    cs_co *last = w->heap[--w->heap_n];
    if (i == w->heap_n) return;
    heap_set(w, i, last);
    if (i > 0 && w->heap[(i - 1) / 2]->deadline > last->deadline)
        sift_up(w, i);
    else
        sift_down(w, i);
}

uint64_t cs_timer_next(const cs_worker *w)
{
    return w->heap_n ? w->heap[0]->deadline : UINT64_MAX;
}

int cs_timer_run(cs_worker *w, uint64_t now)
{
    int fired = 0;
    while (w->heap_n && w->heap[0]->deadline <= now) {
        cs_co *co = w->heap[0];
        cs_timer_del(w, co);
        cs_wake(co, co->timer_token, CS_WAKE_TIMER);
        fired++;
    }
    return fired;
}
