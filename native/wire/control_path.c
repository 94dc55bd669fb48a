/* control_path.c — the control socket's location (control_path.h).
 * cs_control_dir_make makes its calls as raw system calls: it runs inside
 * the engine, whose hooks would otherwise record them as the program's. */
#include "control_path.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int cs_control_dir(int i, char *out, size_t n)
{
    int w;
    if (i == 0) {
        const char *x = getenv("XDG_RUNTIME_DIR");
        if (!x || x[0] != '/') return ENOENT;
        w = snprintf(out, n, "%s/coroscope", x);
    } else if (i == 1) {
        w = snprintf(out, n, "/tmp/coroscope-%u", (unsigned)getuid());
    } else {
        return ENOENT;
    }
    return w < 0 || (size_t)w >= n ? ENAMETOOLONG : 0;
}

int cs_control_dir_make(char *out, size_t n)
{
    int err = ENOENT;
    for (int i = 0; i < CS_CONTROL_DIRS; i++) {
        err = cs_control_dir(i, out, n);
        if (err) continue; /* no such candidate here, or too long for the caller */
        if (syscall(SYS_mkdirat, AT_FDCWD, out, 0700) == 0 || errno == EEXIST) break;
        err = errno; /* unusable (XDG_RUNTIME_DIR missing?): the next candidate */
    }
    if (err) return err;
    struct stat st;
    if (syscall(SYS_newfstatat, AT_FDCWD, out, &st, AT_SYMLINK_NOFOLLOW)) return errno;
    if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077)) return EPERM;
    return 0;
}

int cs_control_socket_in(const char *dir, pid_t pid, char *out, size_t n)
{
    int w = snprintf(out, n, "%s/%d.sock", dir, (int)pid);
    return w < 0 || (size_t)w >= n ? ENAMETOOLONG : 0;
}

int cs_control_socket_find(pid_t pid, char *out, size_t n)
{
    int err = ENOENT;
    char dir[4096];
    for (int i = 0; i < CS_CONTROL_DIRS; i++) {
        if (cs_control_dir(i, dir, sizeof dir)) continue;
        err = cs_control_socket_in(dir, pid, out, n);
        if (err) continue;
        if (access(out, F_OK) == 0) return 0;
        err = errno;
    }
    return err;
}
