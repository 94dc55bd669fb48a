/* A coroutine forks while the engine records: the child runs coroutines of
 * its own and exits through exit() (atexit handlers run), the parent goes on
 * recording. The parent's trace must stay whole. */
#include <coroscope.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void *child_work(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20; i++) usleep(1000);
    return NULL;
}

static void *forker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20; i++) usleep(1000);
    pid_t p = fork();
    if (p == 0) {
        coroscope_co *c;
        if (coroscope_spawn(&c, "in-child", child_work, NULL) == 0) coroscope_join(c, NULL);
        exit(7);
    }
    int st = 0;
    waitpid(p, &st, 0);
    for (int i = 0; i < 20; i++) usleep(1000);
    return (void *)(long)(WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

int main(void)
{
    coroscope_co *c;
    void *r;
    if (coroscope_spawn(&c, "forker", forker, NULL) || coroscope_join(c, &r)) return 1;
    printf("child exit %ld\n", (long)r);
    return 0;
}
