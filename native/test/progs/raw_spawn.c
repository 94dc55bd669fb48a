/*
 * raw_spawn — starts a program without the libc calls the engine hooks,
 * the way Go's runtime or hand-written vfork code does, for the follow
 * tests (follow.test.mjs):
 *   raw_spawn exec PROG        execve(2) made with syscall(): the process
 *                              becomes PROG
 *   raw_spawn clone PROG       clone(2) made with syscall() as a fork (no
 *                              fork handlers run in the child), the child
 *                              execve(2)s PROG by syscall(); the parent
 *                              waits and prints "child <pid> status <code>"
 *   raw_spawn vfork PROG       vfork(), then execve(2) by syscall()
 *   raw_spawn _Fork PROG       glibc's _Fork (no fork handlers), then
 *                              execve(2) by syscall()
 *   raw_spawn clone-stay       the parent runs a coroutine "raw-parent-co"
 *                              (its runtime is up), then clone(2) by
 *                              syscall(); the child does not exec: it runs
 *                              a coroutine "raw-child-co" (10 ms sleep) and
 *                              exits 5
 * PROG gets the caller's environment (environ) and no arguments.
 */
#include <coroscope.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static _Noreturn void raw_exec(const char *prog)
{
    char *argv[] = {(char *)prog, NULL};
    syscall(SYS_execve, prog, argv, environ);
    _exit(127);
}

static void *nap(void *arg)
{
    usleep((useconds_t)(long)arg * 1000);
    return NULL;
}

static void run(const char *name, long ms)
{
    coroscope_co *co;
    if (coroscope_spawn(&co, name, nap, (void *)ms) || coroscope_join(co, NULL)) _exit(92);
}

static int parent_waits(pid_t pid)
{
    if (pid < 0) return 91;
    int st = 0;
    if (waitpid(pid, &st, 0) != pid) return 93;
    printf("child %d status %d\n", (int)pid, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    const char *mode = argv[1], *prog = argc > 2 ? argv[2] : "/bin/true";
    fflush(stdout);
    if (!strcmp(mode, "exec")) raw_exec(prog);
    pid_t pid;
    if (!strcmp(mode, "clone") || !strcmp(mode, "clone-stay")) {
        if (!strcmp(mode, "clone-stay")) run("raw-parent-co", 10);
        pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
        if (pid == 0 && !strcmp(mode, "clone")) raw_exec(prog);
        if (pid == 0) {
            run("raw-child-co", 10);
            exit(5);
        }
    } else if (!strcmp(mode, "vfork")) {
        pid = vfork();
        if (pid == 0) raw_exec(prog);
    } else if (!strcmp(mode, "_Fork")) {
        pid = _Fork(); /* glibc >= 2.34 */
        if (pid == 0) raw_exec(prog);
    } else {
        return 2;
    }
    return parent_waits(pid);
}
