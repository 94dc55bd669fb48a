/* A coroutine waits for a child that sleeps 150 ms (waitpid), a thread that
 * sleeps 150 ms (pthread_join) and a semaphore a thread posts after 150 ms
 * (sem_wait); each call must park. Prints "ok" when all three returned as
 * expected. */
#include <coroscope.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static sem_t sem;

static void nap(void)
{
    struct timespec ts = {0, 150 * 1000000L};
    nanosleep(&ts, NULL);
}

static void *sleeper(void *arg)
{
    nap();
    return arg;
}

static void *poster(void *arg)
{
    (void)arg;
    nap();
    sem_post(&sem);
    return NULL;
}

static void *waits(void *arg)
{
    (void)arg;
    pid_t p = fork();
    if (p == 0) {
        nap();
        _exit(3);
    }
    int st = 0;
    if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 3) return (void *)1;
    pthread_t t;
    void *r = NULL;
    if (pthread_create(&t, NULL, sleeper, (void *)7) || pthread_join(t, &r) || r != (void *)7) return (void *)1;
    if (pthread_create(&t, NULL, poster, NULL) || sem_wait(&sem) || pthread_join(t, NULL)) return (void *)1;
    return NULL;
}

int main(void)
{
    sem_init(&sem, 0, 0);
    coroscope_co *co;
    void *r = (void *)1;
    if (coroscope_spawn(&co, "waiter", waits, NULL) != 0 || coroscope_join(co, &r) != 0 || r) return 1;
    puts("ok");
    return 0;
}
