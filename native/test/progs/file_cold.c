/* Regular-file reads that miss the page cache (hook_file.c): a 4 MiB file
 * is written, synced and dropped from the cache (POSIX_FADV_DONTNEED); a
 * coroutine then reads it back with pread (64 KiB at a time) and with read
 * (the file position), and checks every byte.
 *   file_cold PATH
 * Prints "pread ok BYTES" and "read ok BYTES", or what differed. */
#include <coroscope.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIZE  (4 << 20)
#define CHUNK (64 << 10)

static const char *path;

static unsigned char byte_at(size_t i)
{
    return (unsigned char)((i * 2654435761u) >> 13);
}

static int check(const unsigned char *b, size_t off, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i] != byte_at(off + i)) return -1;
    return 0;
}

static void drop_cache(int fd)
{
    fdatasync(fd);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
}

static void *reader(void *arg)
{
    (void)arg;
    static unsigned char buf[CHUNK];
    int fd = open(path, O_RDONLY);
    if (fd < 0) return (void *)1;
    drop_cache(fd);
    size_t total = 0;
    for (size_t off = 0; off < SIZE; off += CHUNK) {
        ssize_t n = pread(fd, buf, CHUNK, (off_t)off);
        if (n != CHUNK || check(buf, off, CHUNK)) {
            printf("pread differs at %zu (%zd)\n", off, n);
            return (void *)1;
        }
        total += (size_t)n;
    }
    printf("pread ok %zu\n", total);
    drop_cache(fd);
    total = 0;
    ssize_t n;
    while ((n = read(fd, buf, CHUNK)) > 0) {
        if (check(buf, total, (size_t)n)) {
            printf("read differs at %zu\n", total);
            return (void *)1;
        }
        total += (size_t)n;
    }
    printf("read ok %zu\n", total);
    close(fd);
    return total == SIZE ? NULL : (void *)1;
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    path = argv[1];
    setvbuf(stdout, NULL, _IOLBF, 0);
    unsigned char *all = malloc(SIZE);
    for (size_t i = 0; i < SIZE; i++) all[i] = byte_at(i);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, all, SIZE) != SIZE || close(fd)) return 2;
    free(all);
    coroscope_co *co;
    void *r;
    if (coroscope_spawn(&co, "reader", reader, NULL) || coroscope_join(co, &r)) return 2;
    return r != NULL;
}
