/*
 * blocking_file — a coroutine stuck in calls the engine cannot park stalls its whole worker.
 *
 * The engine parks a coroutine only in the libc calls it hooks, and only on
 * what can wait in the netpoller (sockets, pipes, timers). Two things it
 * cannot park:
 *   - a raw system call: syscall(SYS_nanosleep, ...) never goes through the
 *     hooked libc wrapper, so the worker thread itself sleeps;
 *   - one large pread() from a regular file: files are always "ready" for
 *     epoll. The engine serves it from the page cache on the worker
 *     (preadv2 with RWF_NOWAIT) and parks the coroutine on the offload pool
 *     only for what must come from the device (hook_file.c); a 32 MiB copy
 *     out of the page cache still takes the worker for milliseconds.
 * Coroutine "reader" does both (a 500 ms raw nanosleep, then one large pread
 * from a regular file); coroutine "ticker" prints "tick N +<ms since start>"
 * every 50 ms with usleep (hooked: it parks). With one worker the ticker
 * shares the reader's worker, so the ticks stop during the raw call: the
 * printed times jump by ~500 ms. The last line gives the longest gap between
 * two ticks: "longest_gap_ms=<n> ...".
 *
 * This is the worker stall the inspector must expose: for the whole gap the
 * worker thread cs-worker-0 is busy in the kernel on behalf of "reader",
 * while "ticker", whose 50 ms are up, cannot run; today the engine itself
 * reports nothing.
 *
 *   blocking_file [file]   (pread reads up to 32 MiB of `file`; default: a
 *                           temporary 32 MiB file, removed at the end)
 *
 *   - COROSCOPE_WORKERS=1 native/build/examples/blocking_file (the default
 *     of this example when COROSCOPE_WORKERS is not set): a gap of ~550 ms
 *     around the raw nanosleep, and one as long as the pread took.
 *   - COROSCOPE_WORKERS=2 (or more): both coroutines are spawned from main
 *     and start on whichever worker picks them up first. When the ticker
 *     starts on another worker, the longest gap stays near 50 ms; more often
 *     they share a worker and the stall is the same as with one worker: a
 *     started coroutine never leaves its worker, not even with
 *     COROSCOPE_MIGRATE=1 (the stuck worker is the one that would have to
 *     hand it over).
 */
#include <coroscope.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define FILE_BYTES (32u << 20)

static uint64_t t_start;
static atomic_int reader_done;
static const char *path;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t since(void)
{
    return now_ms() - t_start;
}

static void say(const char *what)
{
    printf("reader: %s +%llu\n", what, (unsigned long long)since());
    fflush(stdout);
}

static void *reader(void *arg)
{
    (void)arg;
    usleep(200 * 1000); /* parked: the ticker runs meanwhile */

    say("raw syscall(SYS_nanosleep, 500 ms): cannot park, the worker sleeps");
    struct timespec ts = {0, 500 * 1000 * 1000};
    while (syscall(SYS_nanosleep, &ts, &ts) < 0 && errno == EINTR)
        ;
    say("raw nanosleep returned");

    usleep(200 * 1000);

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "blocking_file: open %s: %s\n", path, strerror(errno));
    } else {
        /* Ask the kernel to drop the file from the page cache, so the read
         * has to go to the device where the file system allows it. */
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        char *buf = malloc(FILE_BYTES);
        say("pread() of up to 32 MiB from a regular file: from the page cache on the worker, or parked on the pool");
        uint64_t t0 = now_ms();
        ssize_t n = buf ? pread(fd, buf, FILE_BYTES, 0) : -1;
        uint64_t took = now_ms() - t0;
        if (n < 0)
            fprintf(stderr, "blocking_file: pread %s: %s\n", path, strerror(errno));
        else
            printf("reader: pread returned %zd bytes after %llu ms +%llu\n", n, (unsigned long long)took,
                   (unsigned long long)since());
        fflush(stdout);
        free(buf);
        close(fd);
    }

    usleep(200 * 1000);
    atomic_store(&reader_done, 1);
    return NULL;
}

struct gap {
    uint64_t ms;
    unsigned long from; /* tick number before the gap */
};

static void *ticker(void *arg)
{
    struct gap *longest = arg;
    uint64_t last = 0;
    for (unsigned long n = 1; !atomic_load(&reader_done); n++) {
        usleep(50 * 1000);
        uint64_t t = since();
        printf("tick %lu +%llu\n", n, (unsigned long long)t);
        fflush(stdout);
        if (n > 1 && t - last > longest->ms) {
            longest->ms = t - last;
            longest->from = n - 1;
        }
        last = t;
    }
    return NULL;
}

/* A 32 MiB scratch file next to the other temporary files. */
static char *make_file(void)
{
    const char *dir = getenv("TMPDIR");
    static char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/blocking_file.XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(tmpl);
    if (fd < 0) {
        fprintf(stderr, "blocking_file: mkstemp %s: %s\n", tmpl, strerror(errno));
        exit(1);
    }
    char *chunk = malloc(1 << 20);
    if (!chunk) exit(1);
    memset(chunk, 'x', 1 << 20);
    for (unsigned i = 0; i < FILE_BYTES >> 20; i++) {
        if (write(fd, chunk, 1 << 20) != 1 << 20) {
            fprintf(stderr, "blocking_file: write %s: %s\n", tmpl, strerror(errno));
            unlink(tmpl);
            exit(1);
        }
    }
    fsync(fd);
    free(chunk);
    close(fd);
    return tmpl;
}

int main(int argc, char **argv)
{
    char *tmp = NULL;
    if (argc > 2) {
        fprintf(stderr, "usage: blocking_file [file]\n");
        return 2;
    }
    path = argc == 2 ? argv[1] : (tmp = make_file());

    /* One worker unless COROSCOPE_WORKERS says otherwise: the stall shows. */
    coroscope_config cfg;
    coroscope_config_get(&cfg);
    const char *w = getenv("COROSCOPE_WORKERS");
    if (!w || !*w) {
        cfg.workers = 1;
        coroscope_configure(&cfg);
    }
    printf("workers=%d\n", cfg.workers);

    static struct gap longest;
    coroscope_co *r, *t;
    t_start = now_ms();
    if (coroscope_spawn(&r, "reader", reader, NULL) || coroscope_spawn(&t, "ticker", ticker, &longest)) {
        fprintf(stderr, "blocking_file: cannot spawn\n");
        return 1;
    }
    coroscope_join(r, NULL);
    coroscope_join(t, NULL);
    if (tmp) unlink(tmp);
    printf("longest_gap_ms=%llu (after tick %lu; the ticker sleeps 50 ms, so anything much longer is a "
           "stalled worker)\n",
           (unsigned long long)longest.ms, longest.from);
    return 0;
}
