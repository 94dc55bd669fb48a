/*
 * hook_read.c — row 3: cost of a libc call passing through Coroscope's hook
 * on a plain thread (not in a coroutine).
 *
 * Built twice from this one source: once without the library (read() is
 * glibc's) and once linked with -lcoroscope (read() is the hook, which sees
 * it is not in a coroutine and calls glibc's read). The loop is
 * read(fd, buf, 0) on /dev/zero: a real, cheap, deterministic system call
 * (a zero-length read returns 0 at once). The runner subtracts the two
 * ns-per-call figures to get the hook's overhead.
 *
 * Output (stdout, one line of JSON):
 *   {"ns_per_call":[...per round...],"calls_per_round":N,"read_from":"<object defining read>"}
 *
 * usage: hook_read [calls_per_round] [rounds]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    if (n < 1 || rounds < 1) {
        fprintf(stderr, "usage: hook_read [calls_per_round>0] [rounds>0]\n");
        return 2;
    }
    int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        perror("hook_read: open /dev/zero");
        return 1;
    }
    char buf[1];
    /* Which object provides the read() this program calls. */
    Dl_info info = {0};
    void *sym = dlsym(RTLD_DEFAULT, "read");
    const char *from = sym && dladdr(sym, &info) && info.dli_fname ? info.dli_fname : "?";

    for (long i = 0; i < n / 10 + 1; i++) /* warm-up */
        if (read(fd, buf, 0) != 0) return 1;
    printf("{\"calls_per_round\":%ld,\"read_from\":\"%s\",\"ns_per_call\":[", n, from);
    for (int r = 0; r < rounds; r++) {
        uint64_t t0 = now_ns();
        for (long i = 0; i < n; i++)
            if (__builtin_expect(read(fd, buf, 0) != 0, 0)) {
                perror("hook_read: read");
                return 1;
            }
        uint64_t t1 = now_ns();
        printf("%s%.4f", r ? "," : "", (double)(t1 - t0) / (double)n);
    }
    printf("]}\n");
    return 0;
}
