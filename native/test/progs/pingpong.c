/*
 * pingpong — the coroutine workload of issue 12, for recording
 * measurements: N coroutines, each 30 rounds of { yield; every 4th round
 * usleep(50 us); one byte through its own socketpair and back }.
 *
 *     pingpong N
 *
 * At most 1000 coroutines live at once (each holds a socketpair): main
 * spawns them in waves and joins each wave. Prints one line of JSON:
 *   {"coroutines":N,"elapsed_ns":E}
 */
#define _GNU_SOURCE
#include <coroscope.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 30
#define WAVE   1000

static unsigned long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static void *player(void *arg)
{
    (void)arg;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
        perror("socketpair");
        exit(1);
    }
    char c = 'p';
    for (int i = 0; i < ROUNDS; i++) {
        coroscope_yield();
        if (i % 4 == 0) usleep(50);
        if (write(sv[0], &c, 1) != 1 || read(sv[1], &c, 1) != 1) {
            perror("ping-pong");
            exit(1);
        }
    }
    close(sv[0]);
    close(sv[1]);
    return NULL;
}

int main(int argc, char **argv)
{
    long n = argc == 2 ? atol(argv[1]) : 0;
    if (n < 1) {
        fprintf(stderr, "usage: pingpong N\n");
        return 2;
    }
    coroscope_co **cos = calloc(WAVE, sizeof *cos);
    unsigned long long t0 = now_ns();
    for (long done = 0; done < n;) {
        long k = n - done < WAVE ? n - done : WAVE;
        for (long i = 0; i < k; i++)
            if (coroscope_spawn(&cos[i], "player", player, NULL)) {
                fprintf(stderr, "pingpong: spawn failed\n");
                return 1;
            }
        for (long i = 0; i < k; i++) coroscope_join(cos[i], NULL);
        done += k;
    }
    printf("{\"coroutines\":%ld,\"elapsed_ns\":%llu}\n", n, now_ns() - t0);
    free(cos);
    return 0;
}
