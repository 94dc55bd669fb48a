/* What a path call (open, stat) costs on a plain thread against the ways
 * hook_file.c can make it inside a coroutine, to choose between running it
 * inline, offloading it always, and probing the kernel's lookup cache.
 *
 *   file_meta DIR [N]      (N calls of each, default 20000; one worker)
 *
 * Rows (ns per call, paths in DIR, dentries cached):
 *   stat_plain          stat() on a plain thread (the real call)
 *   open_close_plain    open(O_RDONLY) + close() on a plain thread
 *   probe_plain         openat2(O_PATH, RESOLVE_CACHED) + fstat + close: the
 *                       cache probe a hooked stat makes, on a plain thread
 *   openat2_cached      openat2(O_RDONLY, RESOLVE_CACHED) + close, plain
 *   stat_co             stat() in a coroutine (hooked)
 *   open_close_co       open() + close() in a coroutine (hooked)
 *   pwrite_offload_co   a 4 KiB pwrite in a coroutine: always offloaded,
 *                       the price of one trip through the pool
 *   stat_miss_co        stat() in a coroutine of a path not in the dentry
 *                       cache (a fresh name each time: a negative lookup
 *                       the probe cannot serve, offloaded)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <coroscope.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int n = 20000;
static char path[4096], dir[4096];
static int wfd;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#define TIMED(body)                   \
    ({                                \
        uint64_t t0_ = now_ns();      \
        for (int i = 0; i < n; i++) { \
            body;                     \
        }                             \
        (double)(now_ns() - t0_) / n; \
    })

static double do_stat(void)
{
    struct stat st;
    return TIMED(if (stat(path, &st)) exit(3));
}

static double do_open_close(void)
{
    return TIMED(int f = open(path, O_RDONLY); if (f < 0) exit(3); close(f));
}

static double do_probe(void)
{
    struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_CACHED};
    struct stat st;
    return TIMED(int f = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how); if (f < 0) exit(4); fstat(f, &st);
                 close(f));
}

static double do_openat2(void)
{
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_CACHED};
    return TIMED(int f = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how); if (f < 0) exit(4); close(f));
}

static double do_pwrite(void)
{
    static char buf[4096];
    return TIMED(if (pwrite(wfd, buf, sizeof buf, 0) != sizeof buf) exit(3));
}

static double do_stat_miss(void)
{
    struct stat st;
    char p[4200];
    int m = n / 10; /* slower: fewer */
    uint64_t t0 = now_ns();
    for (int i = 0; i < m; i++) {
        snprintf(p, sizeof p, "%s/missing-%d-%d", dir, (int)getpid(), i);
        if (stat(p, &st) == 0) exit(3);
    }
    return (double)(now_ns() - t0) / m;
}

static double co_rows[4];
static void *in_co(void *arg)
{
    (void)arg;
    co_rows[0] = do_stat();
    co_rows[1] = do_open_close();
    co_rows[2] = do_pwrite();
    co_rows[3] = do_stat_miss();
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    if (argc > 2) n = atoi(argv[2]);
    snprintf(dir, sizeof dir, "%s", argv[1]);
    snprintf(path, sizeof path, "%s/file_meta.dat", dir);
    wfd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (wfd < 0) return 2;
    coroscope_config cfg;
    coroscope_config_get(&cfg);
    cfg.workers = 1;
    coroscope_configure(&cfg);
    printf("stat_plain %.0f\n", do_stat());
    printf("open_close_plain %.0f\n", do_open_close());
    printf("probe_plain %.0f\n", do_probe());
    printf("openat2_cached %.0f\n", do_openat2());
    coroscope_co *co;
    if (coroscope_spawn(&co, "bench", in_co, NULL) || coroscope_join(co, NULL)) return 2;
    printf("stat_co %.0f\nopen_close_co %.0f\npwrite_offload_co %.0f\nstat_miss_co %.0f\n", co_rows[0], co_rows[1],
           co_rows[2], co_rows[3]);
    close(wfd);
    unlink(path);
    return 0;
}
