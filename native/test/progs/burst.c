/*
 * burst — a known number of events, for the recording tests and the
 * recording measurements (issue 12).
 *
 *     burst COROUTINES YIELDS WRITES [wait]
 *
 * With "wait", it first starts the runtime (one coroutine that returns at
 * once: the control socket exists from then on), prints "ready" and
 * reads a line from stdin before it begins (an inspector attaches then).
 * COROUTINES coroutines each call coroscope_yield() YIELDS times (each
 * yield is one CO_YIELD record), while one plain thread (no coroutine)
 * makes WRITES write(2) calls of one byte to /dev/null (each one CALL
 * record of that thread; before them it makes only a few records — THREAD,
 * strings, the open — and none after). Both run at once; main joins everything and
 * prints one line of JSON:
 *   {"yields":N,"writes":W,"writer_tid":T,"elapsed_ns":E}
 * (elapsed: from before the first spawn to after the last join).
 */
#define _GNU_SOURCE
#include <coroscope.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long yields_each, writes;
static int writer_tid;

static unsigned long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static void *nothing(void *arg)
{
    return arg;
}

static void *yielder(void *arg)
{
    (void)arg;
    for (long i = 0; i < yields_each; i++) coroscope_yield();
    return NULL;
}

static void *writer(void *arg)
{
    (void)arg;
    writer_tid = (int)syscall(SYS_gettid);
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        perror("open /dev/null");
        exit(1);
    }
    char c = 'x';
    for (long i = 0; i < writes; i++)
        if (write(fd, &c, 1) != 1) {
            perror("write");
            exit(1);
        }
    return NULL; /* fd left open: this thread's last event is its last write */
}

int main(int argc, char **argv)
{
    if (argc != 4 && !(argc == 5 && !strcmp(argv[4], "wait"))) {
        fprintf(stderr, "usage: burst COROUTINES YIELDS WRITES [wait]\n");
        return 2;
    }
    if (argc == 5) {
        coroscope_co *c;
        char line[64];
        if (coroscope_spawn(&c, "nothing", nothing, NULL) || coroscope_join(c, NULL)) return 1;
        printf("ready\n");
        fflush(stdout);
        if (!fgets(line, sizeof line, stdin)) return 1;
    }
    int ncos = atoi(argv[1]);
    yields_each = atol(argv[2]);
    writes = atol(argv[3]);
    if (ncos < 0 || ncos > 10000 || yields_each < 0 || writes < 0) {
        fprintf(stderr, "burst: bad arguments\n");
        return 2;
    }
    coroscope_co **cos = calloc((size_t)ncos + 1, sizeof *cos);
    unsigned long long t0 = now_ns();
    pthread_t w;
    if (writes && pthread_create(&w, NULL, writer, NULL)) {
        fprintf(stderr, "burst: pthread_create failed\n");
        return 1;
    }
    for (int i = 0; i < ncos; i++)
        if (coroscope_spawn(&cos[i], "yielder", yielder, NULL)) {
            fprintf(stderr, "burst: spawn failed\n");
            return 1;
        }
    for (int i = 0; i < ncos; i++) coroscope_join(cos[i], NULL);
    if (writes) pthread_join(w, NULL);
    unsigned long long t1 = now_ns();
    printf("{\"yields\":%ld,\"writes\":%ld,\"writer_tid\":%d,\"elapsed_ns\":%llu}\n", (long)ncos * yields_each, writes,
           writer_tid, t1 - t0);
    fflush(stdout); /* now, not at exit: a test reads it while the recorder is held back */
    free(cos);
    return 0;
}
