/* N coroutines (argv[1]) that each sleep S seconds (argv[2]); prints
 * "spawned" once they all exist. More coroutines than an 8 MiB ring has
 * records: describing them all to an inspector takes a drained ring. */
#include <coroscope.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static unsigned seconds;

static void *nap(void *arg)
{
    (void)arg;
    sleep(seconds);
    return NULL;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    seconds = argc > 2 ? (unsigned)atoi(argv[2]) : 5;
    coroscope_co **c = calloc((size_t)n, sizeof *c);
    if (!c) return 1;
    for (int i = 0; i < n; i++)
        if (coroscope_spawn(&c[i], "napper", nap, NULL)) return 1;
    printf("spawned\n");
    fflush(stdout);
    for (int i = 0; i < n; i++) coroscope_join(c[i], NULL);
    return 0;
}
