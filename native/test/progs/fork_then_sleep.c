/* A coroutine forks; the child keeps a coroutine that sleeps 1 ms at a time
 * until killed, the parent waits for it. Both are engine processes: each
 * must be listed and attachable on its own. Prints "child PID" once the
 * child's coroutine runs. */
#include <coroscope.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static void *napper(void *arg)
{
    (void)arg;
    printf("child %d\n", (int)getpid());
    fflush(stdout);
    for (;;) usleep(1000);
    return NULL;
}

static void *forker(void *arg)
{
    (void)arg;
    usleep(1000);
    pid_t p = fork();
    if (p == 0) {
        coroscope_co *c;
        if (coroscope_spawn(&c, "napper", napper, NULL) == 0) coroscope_join(c, NULL);
        _exit(1);
    }
    int st = 0;
    waitpid(p, &st, 0);
    return NULL;
}

int main(void)
{
    coroscope_co *c;
    if (coroscope_spawn(&c, "forker", forker, NULL) || coroscope_join(c, NULL)) return 1;
    return 0;
}
