/*
 * write1m.c — the recording rows (bench/rec_rows.mjs): a plain program
 * making `n` write(2) calls of 1 byte to /dev/null from its main thread (no
 * coroutines; not linked with the engine). bench/rec_rows.mjs runs it as is,
 * with libcoroscope.so preloaded (recorded or not), under `coroscope record`
 * and under `strace -f -o /dev/null`.
 *
 * With the engine preloaded, every write is one hooked call on a plain
 * thread: exactly one CALL event (hook `write`) each, plus one CALL (hook
 * `open`, with its path) for the open of /dev/null (open is hooked since
 * the file hooks), and nothing else but the process's and the thread's
 * metadata (CLOCK, PROCESS, CONFIG, THREAD, strings). The program does not
 * close the fd (close is hooked: it would be one more CALL), and writes its
 * result line with the raw system call (not hooked, not an event).
 *
 * Output (stdout, one line of JSON):
 *   {"writes":N,"opens":1,"failed":F,"elapsed_ns":E}
 *   writes: calls made; opens: open calls made; failed: writes that did not return 1;
 *   elapsed_ns: main's entry to the last write returning.
 *
 * usage: write1m [n (1000000)]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
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
    uint64_t t0 = now_ns();
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    if (n < 1) {
        fprintf(stderr, "usage: write1m [n >= 1]\n");
        return 2;
    }
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        perror("/dev/null");
        return 1;
    }
    long failed = 0;
    char b = 'x';
    for (long i = 0; i < n; i++)
        if (write(fd, &b, 1) != 1) failed++;
    uint64_t t1 = now_ns();
    char line[128];
    int k = snprintf(line, sizeof line, "{\"writes\":%ld,\"opens\":1,\"failed\":%ld,\"elapsed_ns\":%llu}\n", n, failed,
                     (unsigned long long)(t1 - t0));
    if (syscall(SYS_write, 1, line, (size_t)k) != k) return 1;
    return failed ? 1 : 0;
}
