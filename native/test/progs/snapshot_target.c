/* Coroutines in known states for the snapshot test: a sleeper parked in
 * nanosleep with a deadline, a reader parked on a pipe, a joiner parked in
 * join, and a worker kept busy by a yielding counter. Prints READY when all
 * are in place. */
#include <coroscope.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int pipefd[2];
static coroscope_co *sleeper;

static void *sleep_long(void *arg)
{
    (void)arg;
    struct timespec ts = {3600, 0};
    nanosleep(&ts, NULL);
    return NULL;
}

static void *read_pipe(void *arg)
{
    (void)arg;
    char c;
    return (void *)(long)read(pipefd[0], &c, 1);
}

static void *join_sleeper(void *arg)
{
    (void)arg;
    coroscope_join(sleeper, NULL);
    return NULL;
}

static void *spin(void *arg)
{
    (void)arg;
    for (;;) coroscope_yield();
    return NULL;
}

int main(void)
{
    coroscope_config c;
    coroscope_config_get(&c);
    c.workers = 1;
    coroscope_configure(&c);
    if (pipe(pipefd)) return 1;
    coroscope_co *r, *j, *s;
    coroscope_spawn(&sleeper, "sleeper", sleep_long, NULL);
    coroscope_spawn(&r, "reader", read_pipe, NULL);
    coroscope_spawn(&j, "joiner", join_sleeper, NULL);
    coroscope_spawn(&s, "spinner", spin, NULL);
    usleep(100000);
    printf("READY fd=%d\n", pipefd[0]);
    fflush(stdout);
    coroscope_join(s, NULL);
    return 0;
}
