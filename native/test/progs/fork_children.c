/*
 * fork_children — a parent and a forked child, each running coroutines,
 * for the follow tests (follow.test.mjs).
 *   fork_children [child_exit]
 * The parent runs coroutine "parent-co" (sleeps 20 ms), forks; the child
 * runs coroutines "child-co-1" and "child-co-2" (each sleeps 30 ms) and
 * exits with child_exit (default 7); the parent waits for it, prints
 * "child <pid> status <code>" and returns 3.
 */
#include <coroscope.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void *nap(void *arg)
{
    usleep((useconds_t)(long)arg * 1000);
    return NULL;
}

static void run(const char *name, long ms)
{
    coroscope_co *co;
    if (coroscope_spawn(&co, name, nap, (void *)ms) || coroscope_join(co, NULL)) exit(90);
}

int main(int argc, char **argv)
{
    int code = argc > 1 ? atoi(argv[1]) : 7;
    run("parent-co", 20);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return 91;
    if (pid == 0) {
        coroscope_co *a, *b;
        if (coroscope_spawn(&a, "child-co-1", nap, (void *)30L) || coroscope_spawn(&b, "child-co-2", nap, (void *)30L))
            _exit(92);
        coroscope_join(a, NULL);
        coroscope_join(b, NULL);
        exit(code);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) != pid) return 93;
    printf("child %d status %d\n", (int)pid, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return 3;
}
