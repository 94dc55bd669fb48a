/*
 * sig_children — children that end by a signal, for the follow tests
 * (follow.test.mjs):
 *   sig_children            forks two children, each runs a coroutine
 *                           "victim" (5 ms sleep) and then dies: one by
 *                           SIGSEGV (a write through a null pointer), one
 *                           by SIGKILL (raise); the parent reaps them with
 *                           waitpid, prints "child <pid> signal <n>" for
 *                           each and returns 0
 *   sig_children segv       runs "victim", then the write through a null
 *                           pointer in this process
 * No core files: RLIMIT_CORE is 0.
 */
#include <coroscope.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static void *nap(void *arg)
{
    usleep(5000);
    return arg;
}

static void victim(void)
{
    coroscope_co *co;
    if (coroscope_spawn(&co, "victim", nap, NULL) || coroscope_join(co, NULL)) _exit(92);
}

static _Noreturn void segv(void)
{
    victim();
    *(volatile int *)0 = 1;
    _exit(93); /* not reached */
}

int main(int argc, char **argv)
{
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    if (argc > 1 && !strcmp(argv[1], "segv")) segv();
    fflush(stdout);
    pid_t a = fork();
    if (a == 0) segv();
    pid_t b = fork();
    if (b == 0) {
        victim();
        raise(SIGKILL);
        _exit(94);
    }
    for (int i = 0; i < 2; i++) {
        int st = 0;
        pid_t p = waitpid(i ? b : a, &st, 0);
        printf("child %d signal %d\n", (int)p, WIFSIGNALED(st) ? WTERMSIG(st) : -1);
    }
    return 0;
}
