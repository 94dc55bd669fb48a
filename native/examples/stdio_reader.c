/*
 * stdio_reader — a coroutine reading with stdio calls the engine does not
 * hook blocks its whole worker, in a read() no hook sees.
 *
 * Coroutine "reader" opens a FIFO with fopen and reads 5 numbers from it
 * with fscanf: glibc's scanf family reads through its internal read, which
 * bypasses the engine's hooks, so when the FIFO is empty the worker thread
 * itself sleeps in read() on the FIFO. A plain thread ("writer") writes one
 * number every 100 ms. Coroutine "ticker" prints every 20 ms with usleep
 * (hooked: it parks) and, sharing the reader's worker, stops while the
 * reader is stuck. The last line: "read=5 sum=15 longest_gap_ms=<n>".
 *
 *   stdio_reader [fifo]   (default: a FIFO made in $TMPDIR or /tmp,
 *                          removed at the end)
 *   COROSCOPE_WORKERS=1 is this example's default.
 */
#include <coroscope.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define COUNT 5

static char path[512];
static atomic_int done;
static int got, sum;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void *writer(void *arg)
{
    (void)arg;
    FILE *f = fopen(path, "w"); /* a plain thread: opening blocks until the reader opens */
    if (!f) {
        perror("fopen fifo for writing");
        exit(1);
    }
    for (int i = 1; i <= COUNT; i++) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        fprintf(f, "%d\n", i);
        fflush(f);
    }
    fclose(f);
    return NULL;
}

static void *reader(void *arg)
{
    (void)arg;
    FILE *f = fopen(path, "r");
    if (!f) {
        perror("fopen fifo for reading");
        exit(1);
    }
    int v;
    while (got < COUNT && fscanf(f, "%d", &v) == 1) {
        got++;
        sum += v;
    }
    fclose(f);
    atomic_store(&done, 1);
    return NULL;
}

static void *ticker(void *arg)
{
    uint64_t *longest = arg, last = now_ms();
    while (!atomic_load(&done)) {
        usleep(20 * 1000);
        uint64_t t = now_ms();
        if (t - last > *longest) *longest = t - last;
        last = t;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    setenv("COROSCOPE_WORKERS", "1", 0); /* read at load: documents the intended setting */
    int made = 0;
    if (argc > 1) {
        snprintf(path, sizeof path, "%s", argv[1]);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/stdio_reader.%d.fifo", tmp && *tmp ? tmp : "/tmp", (int)getpid());
        if (mkfifo(path, 0600)) {
            perror("mkfifo");
            return 1;
        }
        made = 1;
    }
    pthread_t wt;
    pthread_create(&wt, NULL, writer, NULL);
    uint64_t longest = 0;
    coroscope_co *t, *r;
    coroscope_spawn(&t, "ticker", ticker, &longest);
    coroscope_spawn(&r, "reader", reader, NULL);
    coroscope_join(r, NULL);
    coroscope_join(t, NULL);
    pthread_join(wt, NULL);
    if (made) unlink(path);
    printf("read=%d sum=%d longest_gap_ms=%llu\n", got, sum, (unsigned long long)longest);
    return got == COUNT ? 0 : 1;
}
