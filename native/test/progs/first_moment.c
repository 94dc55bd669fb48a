/*
 * first_moment — what a program sees of the engine at the top of main, and
 * a configuration change made through the C API.
 *
 * 1. Before any hooked call, it counts its own threads with raw system
 *    calls only (openat/getdents64 on /proc/self/task): "threads N".
 * 2. It writes "before" (a hooked write(2)).
 * 3. It sets a 5 ms time slice with coroscope_configure.
 * 4. It writes "done".
 */
#define _GNU_SOURCE
#include <coroscope.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
    int d = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char buf[8192];
    long n;
    int threads = 0;
    while (d >= 0 && (n = syscall(SYS_getdents64, d, buf, sizeof buf)) > 0)
        for (long off = 0; off < n;) {
            struct dirent64 *e = (struct dirent64 *)(buf + off);
            off += e->d_reclen;
            if (e->d_name[0] != '.') threads++;
        }
    if (d >= 0) syscall(SYS_close, d);
    char line[32];
    int k = snprintf(line, sizeof line, "threads %d\n", threads);
    syscall(SYS_write, 1, line, (size_t)k);
    if (write(1, "before\n", 7) != 7) return 1;
    coroscope_config c;
    coroscope_config_get(&c);
    c.time_slice_ns = 5000000;
    if (coroscope_configure(&c)) return 1;
    if (write(1, "done\n", 5) != 5) return 1;
    return 0;
}
