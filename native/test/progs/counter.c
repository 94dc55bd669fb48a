/* One coroutine that prints an increasing counter, one line per turn on the
 * scheduler (it yields after each line): a step of the paused scheduler is
 * exactly one more line. */
#include <coroscope.h>
#include <stdio.h>

static void *count(void *arg)
{
    (void)arg;
    for (unsigned long i = 0;; i++) {
        printf("%lu\n", i);
        fflush(stdout);
        coroscope_yield();
    }
    return NULL;
}

int main(void)
{
    coroscope_config c;
    coroscope_config_get(&c);
    c.workers = 1;
    coroscope_configure(&c);
    coroscope_co *co;
    if (coroscope_spawn(&co, "counter", count, NULL)) return 1;
    return coroscope_join(co, NULL);
}
