/* What a call handed to the offload pool costs (native/engine/src/offload.c),
 * next to the same call made inline on a plain thread, and a cached read
 * served with RWF_NOWAIT in a coroutine (hook_file.c).
 *   offload_cost FILE [N]      (one worker; N calls of each, default 20000)
 * Prints "ROW ns_per_call" lines:
 *   pwrite_inline / pwrite_offload       4 KiB pwrite at offset 0 (page cache)
 *   pread_inline / pread_nowait          4 KiB pread of a cached page
 *   gai_inline / gai_offload             getaddrinfo("127.0.0.1", AI_NUMERICHOST)
 */
#define _GNU_SOURCE
#include <coroscope.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int fd, n = 20000;
static char buf[4096];

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double run_pwrite(void)
{
    uint64_t t0 = now_ns();
    for (int i = 0; i < n; i++)
        if (pwrite(fd, buf, sizeof buf, 0) != sizeof buf) exit(3);
    return (double)(now_ns() - t0) / n;
}

static double run_pread(void)
{
    uint64_t t0 = now_ns();
    for (int i = 0; i < n; i++)
        if (pread(fd, buf, sizeof buf, 0) != sizeof buf) exit(3);
    return (double)(now_ns() - t0) / n;
}

static double run_gai(void)
{
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST, .ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
    uint64_t t0 = now_ns();
    for (int i = 0; i < n; i++) {
        if (getaddrinfo("127.0.0.1", NULL, &hints, &res)) exit(3);
        freeaddrinfo(res);
    }
    return (double)(now_ns() - t0) / n;
}

static double results[3];
static void *in_co(void *arg)
{
    (void)arg;
    results[0] = run_pwrite();
    results[1] = run_pread();
    results[2] = run_gai();
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    if (argc > 2) n = atoi(argv[2]);
    fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || pwrite(fd, buf, sizeof buf, 0) != sizeof buf) return 2;
    coroscope_config cfg;
    coroscope_config_get(&cfg);
    cfg.workers = 1;
    coroscope_configure(&cfg);
    printf("pwrite_inline %.0f\n", run_pwrite());
    printf("pread_inline %.0f\n", run_pread());
    printf("gai_inline %.0f\n", run_gai());
    coroscope_co *co;
    if (coroscope_spawn(&co, "bench", in_co, NULL) || coroscope_join(co, NULL)) return 2;
    printf("pwrite_offload %.0f\npread_nowait %.0f\ngai_offload %.0f\n", results[0], results[1], results[2]);
    return 0;
}
