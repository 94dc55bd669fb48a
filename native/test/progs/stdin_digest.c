/*
 * stdin_digest — reads its stdin (a pipe) to the end with poll + read in
 * small chunks and prints bytes, lines and an FNV-1a hash. Run by
 * preload.test.mjs with and without LD_PRELOAD=libcoroscope.so.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
    char buf[997]; /* odd size: reads end mid-line */
    uint64_t h = 1469598103934665603ull, bytes = 0, lines = 0;
    for (;;) {
        struct pollfd p = {.fd = 0, .events = POLLIN};
        if (poll(&p, 1, 10000) != 1) {
            fprintf(stderr, "poll: %s\n", strerror(errno));
            return 1;
        }
        ssize_t n = read(0, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("read");
            return 1;
        }
        if (n == 0) break;
        for (ssize_t i = 0; i < n; i++) {
            h = (h ^ (unsigned char)buf[i]) * 1099511628211ull;
            lines += buf[i] == '\n';
        }
        bytes += (uint64_t)n;
    }
    printf("bytes %llu lines %llu fnv1a %016llx\n", (unsigned long long)bytes, (unsigned long long)lines,
           (unsigned long long)h);
    fprintf(stderr, "stdin_digest: eof\n");
    return 0;
}
