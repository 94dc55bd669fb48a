/* A target that crashes (SIGSEGV) in a coroutine while the engine records:
 * the trace must stay readable up to the last chunk the recorder wrote.
 * The crasher waits for what the test looks for to be on disk, not for a
 * fixed time: 60 naps of the busy coroutine done, then the trace file grown
 * twice since (the recorder holds the newest records back a little to order
 * them across threads, so one write may not hold the last naps yet); each
 * wait is bounded, and it crashes anyway after them. */
#include <coroscope.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static atomic_int naps;

static void *busy(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100000; i++) {
        usleep(1000); /* parks: recorded as suspend/wake pairs */
        atomic_fetch_add(&naps, 1);
    }
    return NULL;
}

static off_t trace_size(void)
{
    struct stat st;
    const char *f = getenv("COROSCOPE_TRACE");
    return f && stat(f, &st) == 0 ? st.st_size : 0;
}

static void *crasher(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10000 && atomic_load(&naps) < 60; i++) usleep(1000);
    for (int grown = 0; grown < 2; grown++) {
        off_t s0 = trace_size();
        for (int i = 0; i < 10000 && trace_size() == s0; i++) usleep(1000);
    }
    volatile int *p = NULL;
    *p = 42; /* SIGSEGV outside any stack guard: the default action */
    return NULL;
}

int main(void)
{
    coroscope_co *a, *b;
    if (coroscope_spawn(&a, "busy", busy, NULL) || coroscope_spawn(&b, "crasher", crasher, NULL)) return 2;
    coroscope_join(a, NULL);
    coroscope_join(b, NULL);
    return 0; /* not reached */
}
