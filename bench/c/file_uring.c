/* A 4 KiB regular-file read from inside coroutines: the engine's offload
 * pool (what hook_file.c does today) against io_uring, on this kernel.
 *
 *   file_uring DIR [OPS]     (builds DIR/file_uring.dat, 64 MiB; one worker)
 *
 * Modes, each with 1 and with 8 coroutines reading at once (OPS reads in
 * all, default 4000; cold modes a quarter of that):
 *   pool   pread() in the coroutine: the engine tries preadv2(RWF_NOWAIT)
 *          and hands a miss to the offload pool (the coroutine parks until a
 *          pool thread has read).
 *   uring  io_uring (liburing), one ring per coroutine with an eventfd
 *          registered: submit IORING_OP_READ, reap at once if it completed
 *          inline (cached page), else read() the eventfd — which parks the
 *          coroutine on the engine's netpoller — then reap.
 *   uring+async  the same with IOSQE_ASYNC: the kernel never tries the read
 *          in the submitting thread, it goes to io_uring's worker threads.
 * "submit" is the time spent in io_uring_submit (the worker thread is busy
 * in the kernel for it: no other coroutine runs meanwhile).
 *   cached: every page in the page cache (the common case);
 *   cold:   the file dropped from the cache first (POSIX_FADV_DONTNEED after
 *          fsync), random pages: every read goes to the device.
 * Prints one line per case: latency per read (mean, p50, p99 in µs), CPU
 * per read (user+system of the whole process over the case: workers, pool
 * threads and io_uring's kernel workers, in µs) and reads/s.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <coroscope.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define FILE_PAGES 16384 /* 64 MiB */
#define PAGE       4096

static int fd;
static int total_ops = 4000;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
           ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
}

typedef struct reader {
    int uring; /* 1 io_uring, 2 io_uring with IOSQE_ASYNC */
    int ops;
    uint64_t submit_ns;
    unsigned seed;
    int cold;
    uint64_t *lat; /* ns per read */
    struct io_uring ring;
    int efd;
} reader;

static long next_page(reader *r)
{
    if (!r->cold) return (long)(rand_r(&r->seed) % 256); /* a hot 1 MiB */
    return (long)(rand_r(&r->seed) % FILE_PAGES);
}

static int uring_read(reader *r, void *buf, off_t off)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
    io_uring_prep_read(sqe, fd, buf, PAGE, (uint64_t)off);
    if (r->uring == 2) sqe->flags |= IOSQE_ASYNC;
    uint64_t t0 = now_ns();
    if (io_uring_submit(&r->ring) != 1) return -1;
    r->submit_ns += now_ns() - t0;
    struct io_uring_cqe *cqe;
    while (io_uring_peek_cqe(&r->ring, &cqe) != 0) {
        uint64_t v;
        if (read(r->efd, &v, sizeof v) < 0 && errno != EAGAIN) /* parks on the netpoller */
            return -1;
    }
    int res = cqe->res;
    io_uring_cqe_seen(&r->ring, cqe);
    return res;
}

static void *reader_main(void *arg)
{
    reader *r = arg;
    char *buf = aligned_alloc(PAGE, PAGE);
    for (int i = 0; i < r->ops; i++) {
        off_t off = (off_t)next_page(r) * PAGE;
        uint64_t t0 = now_ns();
        long got = r->uring ? uring_read(r, buf, off) : (long)pread(fd, buf, PAGE, off);
        r->lat[i] = now_ns() - t0;
        if (got != PAGE) {
            fprintf(stderr, "read: %ld (%s)\n", got, strerror(got < 0 ? (int)-got : 0));
            exit(3);
        }
    }
    free(buf);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void drop_cache(void)
{
    fsync(fd);
    if (posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0) fprintf(stderr, "posix_fadvise failed\n");
}

static void warm_cache(void)
{
    char *buf = malloc(1 << 20);
    for (off_t o = 0; o < (off_t)FILE_PAGES * PAGE; o += 1 << 20)
        if (pread(fd, buf, 1 << 20, o) != 1 << 20) exit(3);
    free(buf);
}

typedef struct scene {
    int uring, cold, nco;
    reader *rs;
} scene;

static void *scene_main(void *arg)
{
    scene *s = arg;
    coroscope_co *cos[64];
    for (int i = 0; i < s->nco; i++)
        if (coroscope_spawn(&cos[i], "reader", reader_main, &s->rs[i])) exit(3);
    for (int i = 0; i < s->nco; i++) coroscope_join(cos[i], NULL);
    return NULL;
}

static void run_case(int uring, int cold, int nco)
{
    int ops = cold ? total_ops / 4 : total_ops;
    scene s = {uring, cold, nco, calloc((size_t)nco, sizeof(reader))};
    uint64_t *lat = malloc(sizeof(uint64_t) * (size_t)ops);
    for (int i = 0; i < nco; i++) {
        reader *r = &s.rs[i];
        r->uring = uring;
        r->cold = cold;
        r->ops = ops / nco;
        r->seed = 1234u + (unsigned)i;
        r->lat = lat + (size_t)i * (size_t)(ops / nco);
        if (uring) {
            int e = io_uring_queue_init(8, &r->ring, 0);
            if (e < 0) {
                fprintf(stderr, "io_uring_queue_init: %s\n", strerror(-e));
                exit(4);
            }
            r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
            if (r->efd < 0 || io_uring_register_eventfd(&r->ring, r->efd) < 0) exit(4);
        }
    }
    if (cold)
        drop_cache();
    else
        warm_cache();
    uint64_t c0 = cpu_ns(), t0 = now_ns();
    coroscope_co *co;
    if (coroscope_spawn(&co, "scene", scene_main, &s) || coroscope_join(co, NULL)) exit(3);
    uint64_t wall = now_ns() - t0, cpu = cpu_ns() - c0;
    int n = (ops / nco) * nco;
    qsort(lat, (size_t)n, sizeof *lat, cmp_u64);
    double sum = 0, submit = 0;
    for (int i = 0; i < n; i++) sum += (double)lat[i];
    for (int i = 0; i < nco; i++) submit += (double)s.rs[i].submit_ns;
    printf("%-11s %-6s co=%d  mean %7.1f  p50 %7.1f  p99 %7.1f us  submit %5.1f us  cpu/read %5.1f us  %7.0f reads/s\n",
           uring == 2 ? "uring+async"
           : uring    ? "uring"
                      : "pool",
           cold ? "cold" : "cached", nco, sum / n / 1e3, (double)lat[n / 2] / 1e3,
           (double)lat[(size_t)n * 99 / 100] / 1e3, submit / n / 1e3, (double)cpu / n / 1e3, n / ((double)wall / 1e9));
    fflush(stdout);
    for (int i = 0; i < nco; i++)
        if (uring) {
            io_uring_queue_exit(&s.rs[i].ring);
            close(s.rs[i].efd);
        }
    free(lat);
    free(s.rs);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: file_uring DIR [OPS]\n");
        return 2;
    }
    if (argc > 2) total_ops = atoi(argv[2]);
    char path[4096];
    snprintf(path, sizeof path, "%s/file_uring.dat", argv[1]);
    fd = open(path, O_RDWR | O_CREAT, 0600);
    if (fd < 0) return 2;
    struct stat st;
    if (fstat(fd, &st) || st.st_size < (off_t)FILE_PAGES * PAGE) {
        char *buf = malloc(1 << 20);
        for (int i = 0; i < (1 << 20); i++) buf[i] = (char)(i * 7);
        for (off_t o = 0; o < (off_t)FILE_PAGES * PAGE; o += 1 << 20)
            if (pwrite(fd, buf, 1 << 20, o) != 1 << 20) return 2;
        free(buf);
    }
    coroscope_config cfg;
    coroscope_config_get(&cfg);
    cfg.workers = 1;
    coroscope_configure(&cfg);
    int ncos[] = {1, 8};
    for (int c = 0; c < 2; c++)
        for (int k = 0; k < 2; k++)
            for (int u = 0; u < 3; u++) run_case(u, c, ncos[k]);
    close(fd);
    unlink(path);
    return 0;
}
