/* Coroutines that park and compute in known functions, for the stack tests
 * (stacks.test.mjs): compiled with and without frame pointers.
 *   stack_sites park   — a coroutine parks in read() on a pipe inside
 *                        wait_for_byte(), called by outer_caller();
 *   stack_sites hog [MS] — a coroutine computes in spin_here() for MS ms
 *                        (300; it is preempted there), called by hog_caller();
 *   stack_sites inline — as park, but the read is in inlined_wait(), always
 *                        inlined into inline_caller(). */
#include <coroscope.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int fds[2];
volatile unsigned long sink;

__attribute__((noinline)) int wait_for_byte(int fd)
{
    char c;
    ssize_t n = read(fd, &c, 1); /* PARK_LINE */
    return n == 1 ? c : -1;
}

__attribute__((noinline)) int outer_caller(int fd)
{
    int r = wait_for_byte(fd);
    sink += (unsigned long)r;
    return r;
}

static inline __attribute__((always_inline)) int inlined_wait(int fd)
{
    char c;
    ssize_t n = read(fd, &c, 1); /* INLINE_LINE */
    return n == 1 ? c : -1;
}

__attribute__((noinline)) int inline_caller(int fd)
{
    int r = inlined_wait(fd); /* INLINE_CALL_LINE */
    sink += (unsigned long)r;
    return r;
}

static void *inline_reader(void *arg)
{
    (void)arg;
    inline_caller(fds[0]);
    return NULL;
}

static void *reader(void *arg)
{
    (void)arg;
    outer_caller(fds[0]);
    return NULL;
}

static void *writer(void *arg)
{
    (void)arg;
    usleep(20000);
    if (write(fds[1], "x", 1) != 1) return (void *)1;
    return NULL;
}

static unsigned long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
}

__attribute__((noinline)) void spin_here(unsigned long long ms)
{
    unsigned long long end = now_ms() + ms;
    while (now_ms() < end)
        for (int i = 0; i < 100000; i++) sink += (unsigned long)i * 7; /* HOG_LINE */
}

__attribute__((noinline)) void hog_caller(unsigned long long ms)
{
    spin_here(ms);
    sink++;
}

static unsigned long long hog_ms = 300;

static void *hog(void *arg)
{
    (void)arg;
    hog_caller(hog_ms);
    return NULL;
}

static void *ticker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 30; i++) usleep(10000);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "park";
    coroscope_co *a, *b;
    if (argc > 2) hog_ms = strtoull(argv[2], NULL, 10);
    if (!strcmp(what, "hog")) {
        coroscope_spawn(&a, "hog", hog, NULL);
        coroscope_spawn(&b, "ticker", ticker, NULL);
    } else {
        if (pipe(fds)) return 1;
        coroscope_spawn(&a, "reader", strcmp(what, "inline") ? reader : inline_reader, NULL);
        coroscope_spawn(&b, "writer", writer, NULL);
    }
    coroscope_join(a, NULL);
    coroscope_join(b, NULL);
    puts("done");
    return 0;
}
