/*
 * stall.c — blocking calls that escaped the engine (design in stall.h).
 */
#include "stall.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config.h"
#include "procfs.h"
#include "sched.h"
#include "telemetry.h"

#define MAX_SLOTS 1024

typedef struct slot {
    uint64_t n;     /* switch counter of the run being watched */
    uint64_t since; /* when the run began: the worker's CO_RUN stamp, else when the monitor saw it */
    uint64_t seen;  /* the monitor's last round (the run began after the one before `since`) */
    int open;       /* a STALL was emitted and not ended */
    long nr;        /* its system call */
    long fd;        /* its fd (-1: none) */
    uint64_t co;    /* its coroutine */
} slot;

static slot slots[MAX_SLOTS]; /* monitor thread only */

int cs_stall_watching(void)
{
    return atomic_load_explicit(&cs_cfg.stall_ns, memory_order_relaxed) != 0;
}

/* Does system call nr (x86-64) take an fd as its first argument? */
static int first_arg_is_fd(long nr)
{
    switch (nr) {
    case SYS_read:
    case SYS_write:
    case SYS_pread64:
    case SYS_pwrite64:
    case SYS_readv:
    case SYS_writev:
    case SYS_ioctl:
    case SYS_fcntl:
    case SYS_flock:
    case SYS_fsync:
    case SYS_fdatasync:
    case SYS_ftruncate:
    case SYS_getdents64:
    case SYS_sendfile:
    case SYS_connect:
    case SYS_accept:
    case SYS_accept4:
    case SYS_sendto:
    case SYS_recvfrom:
    case SYS_sendmsg:
    case SYS_recvmsg:
    case SYS_epoll_wait:
    case SYS_epoll_pwait:
    case SYS_preadv:
    case SYS_pwritev:
    case SYS_preadv2:
    case SYS_pwritev2:
    case SYS_fallocate:
    case SYS_sync_file_range:
    case SYS_copy_file_range:
    case SYS_splice:
    case SYS_fstat:
    case SYS_lseek:
    case SYS_recvmmsg:
    case SYS_sendmmsg:
    case SYS_syncfs: return 1;
    default: return 0;
    }
}

static void end(slot *s, int idx, uint64_t now)
{
    if (s->open && cs_tel())
        cs_tel_emit(COROSCOPE_EV_STALL_END, s->co, (uint64_t)idx, (uint64_t)s->nr, (uint64_t)(int64_t)s->fd,
                    now - s->since, s->since);
    s->open = 0;
}

void cs_stall_check(int idx, struct cs_worker *w, cs_co *cur, uint64_t sw, uint64_t now)
{
    if (idx < 0 || idx >= MAX_SLOTS) return;
    slot *s = &slots[idx];
    if (sw != s->n) {
        end(s, idx, now);
        s->n = sw;
        /* The worker stamps run_ns just after bumping nswitch: a stamp between our last
         * round and now is this run's start; anything else (not written yet, telemetry
         * off) leaves the moment we saw it, at most one round late. */
        uint64_t t = __atomic_load_n(&w->run_ns, __ATOMIC_RELAXED);
        s->since = t > s->seen && t <= now ? t : now;
    }
    s->seen = now;
    uint64_t limit = atomic_load_explicit(&cs_cfg.stall_ns, memory_order_relaxed);
    if (!cur || !limit || !w->tid) {
        end(s, idx, now);
        return;
    }
    if (now - s->since < limit || !cs_tel()) return;
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)w->tid);
    cs_proc_read(path, buf, sizeof buf, 0);
    /* "NR arg1 .. arg6 sp pc" in a call; "running" or "-1 sp pc" outside one. */
    char *p;
    long nr = strtol(buf, &p, 10);
    if (p == buf || nr < 0) {
        end(s, idx, now);
        return;
    }
    unsigned long long arg0 = strtoull(p, NULL, 16);
    long fd = first_arg_is_fd(nr) && arg0 < (1u << 30) ? (long)arg0 : -1;
    if (s->open && (s->nr != nr || s->fd != fd)) end(s, idx, now);
    if (s->open) return;
    char target[256] = "";
    uint64_t type = 0; /* st_mode >> 12 of the fd: what kind of file (0: unknown) */
    if (fd >= 0) {
        struct stat sb;
        if (!syscall(SYS_fstat, (int)fd, &sb)) /* the program's fd table is ours */
            type = (uint64_t)(sb.st_mode & S_IFMT) >> 12;
        char link[64];
        snprintf(link, sizeof link, "/proc/self/fd/%ld", fd);
        long n = syscall(SYS_readlinkat, AT_FDCWD, link, target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
    }
    s->open = 1;
    s->nr = nr;
    s->fd = fd;
    s->co = cur->id;
    cs_tel_emit(COROSCOPE_EV_STALL, s->co, (uint64_t)idx, (uint64_t)nr | type << 32, (uint64_t)(int64_t)fd,
                cs_tel_string(target), s->since);
}
