#include "procfs.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int cs_proc_hex_field(const char *path, const char *key, unsigned long long *out)
{
    char buf[4096];
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    long n = syscall(SYS_read, fd, buf, sizeof buf - 1);
    syscall(SYS_close, fd);
    if (n <= 0) return -1;
    buf[n] = '\0';
    const char *p = strstr(buf, key);
    if (!p) return -1;
    *out = strtoull(p + strlen(key), NULL, 16);
    return 0;
}

void cs_proc_read(const char *path, char *buf, size_t n, int nul_to_space)
{
    buf[0] = '\0';
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    long k = syscall(SYS_read, fd, buf, n - 1);
    syscall(SYS_close, fd);
    if (k < 0) k = 0;
    buf[k] = '\0';
    if (nul_to_space)
        for (long i = 0; i < k - 1; i++)
            if (!buf[i]) buf[i] = ' ';
}
