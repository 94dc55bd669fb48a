/*
 * sleep_forever — the demonstration Coroscope starts from.
 *
 * One coroutine sleeps for the longest time there is; another waits until
 * the sleeper has started, prints a line; main joins the printer and returns.
 *   - With the hooks (default) the sleeper parks, the printer runs, and the
 *     program ends at once.
 *   - With COROSCOPE_HOOK=0 COROSCOPE_WORKERS=1 the only worker is stuck in the
 *     real nanosleep, the printer never runs, and the program never ends.
 */
#include <coroscope.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static atomic_int sleeper_started;

static void *sleeper(void *arg)
{
    (void)arg;
    struct timespec forever = {INT64_MAX, 999999999};
    printf("sleeper: going to sleep forever\n");
    fflush(stdout);
    atomic_store(&sleeper_started, 1);
    nanosleep(&forever, NULL);
    printf("sleeper: woke up (should never happen)\n");
    return NULL;
}

static void *printer(void *arg)
{
    (void)arg;
    /* Print while the sleeper sleeps (not before it even started): wait
     * for it in short naps (they park: on one worker the sleeper gets its
     * turn), then give it a millisecond to reach its nanosleep. */
    while (!atomic_load(&sleeper_started)) usleep(200);
    usleep(1000);
    printf("printer: hello while the sleeper sleeps\n");
    fflush(stdout);
    return NULL;
}

int main(void)
{
    coroscope_co *s, *p;
    if (coroscope_spawn(&s, "sleeper", sleeper, NULL) || coroscope_spawn(&p, "printer", printer, NULL)) {
        fprintf(stderr, "sleep_forever: cannot spawn\n");
        return 1;
    }
    coroscope_detach(s);
    coroscope_join(p, NULL);
    printf("main: printer joined, exiting\n");
    return 0;
}
