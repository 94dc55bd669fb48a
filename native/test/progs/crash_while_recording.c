/* A target that crashes (SIGSEGV) in a coroutine while the engine records:
 * the trace must stay readable up to the last chunk the recorder wrote. */
#include <coroscope.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static void *busy(void *arg)
{
    (void)arg;
    for (int i = 0; i < 200; i++)
        usleep(1000); /* parks: recorded as suspend/wake pairs */
    return NULL;
}

static void *crasher(void *arg)
{
    (void)arg;
    usleep(150000); /* after several drains of the recorder */
    volatile int *p = NULL;
    *p = 42;        /* SIGSEGV outside any stack guard: the default action */
    return NULL;
}

int main(void)
{
    coroscope_co *a, *b;
    if (coroscope_spawn(&a, "busy", busy, NULL) || coroscope_spawn(&b, "crasher", crasher, NULL))
        return 2;
    coroscope_join(a, NULL);
    coroscope_join(b, NULL);
    return 0; /* not reached */
}
