/*
 * threads — an ordinary multi-threaded program (no Coroscope API), run by
 * preload.test.mjs with and without LD_PRELOAD=libcoroscope.so: its output
 * must be the same.
 *
 * Four producer threads sleep (nanosleep, usleep, clock_nanosleep), then send
 * numbered records through one pipe; a consumer thread polls and reads them;
 * a mutex/condvar pair counts finished producers. Everything printed is
 * deterministic. Exits with status 3 so the exit status is compared too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PRODUCERS 4
#define RECORDS   500

typedef struct rec {
    int producer, seq;
} rec;

static int fds[2];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int finished;

static void *producer(void *arg)
{
    int id = (int)(long)arg;
    struct timespec ts = {0, 5000000};
    switch (id % 3) {
    case 0: nanosleep(&ts, NULL); break;
    case 1: usleep(5000); break;
    default: clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL); break;
    }
    for (int i = 0; i < RECORDS; i++) {
        rec r = {id, i};
        if (write(fds[1], &r, sizeof r) != (ssize_t)sizeof r) { /* atomic: < PIPE_BUF */
            perror("write");
            exit(1);
        }
    }
    pthread_mutex_lock(&lock);
    finished++;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    return NULL;
}

static long sums[PRODUCERS];
static int next_seq[PRODUCERS], out_of_order;

static void *consumer(void *arg)
{
    (void)arg;
    long got = 0;
    while (got < (long)PRODUCERS * RECORDS) {
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        int n = poll(&p, 1, 5000);
        if (n != 1) {
            fprintf(stderr, "poll returned %d (%s)\n", n, strerror(errno));
            exit(1);
        }
        rec r;
        ssize_t k = read(fds[0], &r, sizeof r);
        if (k != (ssize_t)sizeof r) {
            fprintf(stderr, "short read %zd\n", k);
            exit(1);
        }
        if (r.seq != next_seq[r.producer]++) out_of_order++;
        sums[r.producer] += r.seq;
        got++;
    }
    return NULL;
}

int main(void)
{
    if (pipe(fds)) {
        perror("pipe");
        return 1;
    }
    pthread_t c, p[PRODUCERS];
    pthread_create(&c, NULL, consumer, NULL);
    for (long i = 0; i < PRODUCERS; i++) pthread_create(&p[i], NULL, producer, (void *)i);
    pthread_mutex_lock(&lock);
    while (finished < PRODUCERS) pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < PRODUCERS; i++) pthread_join(p[i], NULL);
    pthread_join(c, NULL);
    for (int i = 0; i < PRODUCERS; i++) printf("producer %d: %d records, sum %ld\n", i, next_seq[i], sums[i]);
    printf("out of order: %d\n", out_of_order);
    fprintf(stderr, "threads: done\n");
    return 3;
}
