
#include "real.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

/* ---- fallbacks: raw system calls, used only before cs_real_resolve ------- */

static unsigned int fb_sleep(unsigned int s)
{
    struct timespec ts = {s, 0}, rem = {0, 0};
    if (syscall(SYS_nanosleep, &ts, &rem) < 0) return (unsigned int)rem.tv_sec + (rem.tv_nsec > 0);
    return 0;
}
static int fb_usleep(useconds_t us)
{
    struct timespec ts = {us / 1000000, (long)(us % 1000000) * 1000};
    return (int)syscall(SYS_nanosleep, &ts, NULL);
}
static int fb_nanosleep(const struct timespec *a, struct timespec *b)
{
    return (int)syscall(SYS_nanosleep, a, b);
}
static int fb_clock_nanosleep(clockid_t c, int f, const struct timespec *a, struct timespec *b)
{
    long r = syscall(SYS_clock_nanosleep, c, f, a, b);
    if (r < 0) return errno; /* clock_nanosleep returns the error */
    return 0;
}
static int fb_poll(struct pollfd *p, nfds_t n, int t)
{
    struct timespec ts = {t / 1000, (long)(t % 1000) * 1000000};
    return (int)syscall(SYS_ppoll, p, n, t < 0 ? NULL : &ts, NULL, (size_t)8);
}
static int fb_ppoll(struct pollfd *p, nfds_t n, const struct timespec *t, const sigset_t *m)
{
    return (int)syscall(SYS_ppoll, p, n, t, m, (size_t)8);
}
static int fb_select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
    return (int)syscall(SYS_select, n, r, w, e, tv);
}
static int fb_pselect(int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *t, const sigset_t *m)
{
    struct {
        const sigset_t *ss;
        size_t len;
    } data = {m, 8};
    return (int)syscall(SYS_pselect6, n, r, w, e, t, m ? &data : NULL);
}
static int fb_epoll_wait(int ep, struct epoll_event *ev, int n, int t)
{
    return (int)syscall(SYS_epoll_pwait, ep, ev, n, t, NULL, (size_t)8);
}
static int fb_epoll_pwait(int ep, struct epoll_event *ev, int n, int t, const sigset_t *m)
{
    return (int)syscall(SYS_epoll_pwait, ep, ev, n, t, m, (size_t)8);
}
static int fb_accept(int fd, struct sockaddr *a, socklen_t *l)
{
    return (int)syscall(SYS_accept4, fd, a, l, 0);
}
static int fb_accept4(int fd, struct sockaddr *a, socklen_t *l, int f)
{
    return (int)syscall(SYS_accept4, fd, a, l, f);
}
static int fb_connect(int fd, const struct sockaddr *a, socklen_t l)
{
    return (int)syscall(SYS_connect, fd, a, l);
}
static ssize_t fb_read(int fd, void *b, size_t n)
{
    return syscall(SYS_read, fd, b, n);
}
static ssize_t fb_write(int fd, const void *b, size_t n)
{
    return syscall(SYS_write, fd, b, n);
}
static ssize_t fb_readv(int fd, const struct iovec *v, int n)
{
    return syscall(SYS_readv, fd, v, n);
}
static ssize_t fb_writev(int fd, const struct iovec *v, int n)
{
    return syscall(SYS_writev, fd, v, n);
}
static ssize_t fb_recv(int fd, void *b, size_t n, int f)
{
    return syscall(SYS_recvfrom, fd, b, n, f, NULL, NULL);
}
static ssize_t fb_recvfrom(int fd, void *b, size_t n, int f, struct sockaddr *a, socklen_t *l)
{
    return syscall(SYS_recvfrom, fd, b, n, f, a, l);
}
static ssize_t fb_recvmsg(int fd, struct msghdr *m, int f)
{
    return syscall(SYS_recvmsg, fd, m, f);
}
static ssize_t fb_send(int fd, const void *b, size_t n, int f)
{
    return syscall(SYS_sendto, fd, b, n, f, NULL, 0);
}
static ssize_t fb_sendto(int fd, const void *b, size_t n, int f, const struct sockaddr *a, socklen_t l)
{
    return syscall(SYS_sendto, fd, b, n, f, a, l);
}
static ssize_t fb_sendmsg(int fd, const struct msghdr *m, int f)
{
    return syscall(SYS_sendmsg, fd, m, f);
}
static ssize_t fb___read_chk(int fd, void *b, size_t n, size_t bl)
{
    if (n > bl) cs_fatal("buffer overflow detected in read");
    return syscall(SYS_read, fd, b, n);
}
static ssize_t fb___recv_chk(int fd, void *b, size_t n, size_t bl, int f)
{
    if (n > bl) cs_fatal("buffer overflow detected in recv");
    return syscall(SYS_recvfrom, fd, b, n, f, NULL, NULL);
}
static ssize_t fb___recvfrom_chk(int fd, void *b, size_t n, size_t bl, int f, struct sockaddr *a, socklen_t *l)
{
    if (n > bl) cs_fatal("buffer overflow detected in recvfrom");
    return syscall(SYS_recvfrom, fd, b, n, f, a, l);
}
static int fb___poll_chk(struct pollfd *p, nfds_t n, int t, size_t pl)
{
    if (pl / sizeof(*p) < n) cs_fatal("buffer overflow detected in poll");
    return fb_poll(p, n, t);
}
static int fb___ppoll_chk(struct pollfd *p, nfds_t n, const struct timespec *t, const sigset_t *m, size_t pl)
{
    if (pl / sizeof(*p) < n) cs_fatal("buffer overflow detected in ppoll");
    return fb_ppoll(p, n, t, m);
}
static int fb_socket(int d, int t, int p)
{
    return (int)syscall(SYS_socket, d, t, p);
}
static int fb_socketpair(int d, int t, int p, int *sv)
{
    return (int)syscall(SYS_socketpair, d, t, p, sv);
}
static int fb_pipe(int *p)
{
    return (int)syscall(SYS_pipe2, p, 0);
}
static int fb_pipe2(int *p, int f)
{
    return (int)syscall(SYS_pipe2, p, f);
}
static int fb_eventfd(unsigned int v, int f)
{
    return (int)syscall(SYS_eventfd2, v, f);
}
static int fb_close(int fd)
{
    return (int)syscall(SYS_close, fd);
}
static int fb_close_range(unsigned int a, unsigned int b, int f)
{
    return (int)syscall(SYS_close_range, a, b, f);
}
static int fb_dup(int fd)
{
    return (int)syscall(SYS_dup, fd);
}
static int fb_dup2(int a, int b)
{
    if (a == b) return syscall(SYS_fcntl, a, F_GETFD) < 0 ? -1 : b;
    return (int)syscall(SYS_dup3, a, b, 0);
}
static int fb_dup3(int a, int b, int f)
{
    return (int)syscall(SYS_dup3, a, b, f);
}
static int fb_fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    long arg = va_arg(ap, long);
    va_end(ap);
    return (int)syscall(SYS_fcntl, fd, cmd, arg);
}
#define fb_fcntl64 fb_fcntl
static int fb_ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return (int)syscall(SYS_ioctl, fd, req, arg);
}
static int fb_setsockopt(int fd, int l, int o, const void *v, socklen_t n)
{
    return (int)syscall(SYS_setsockopt, fd, l, o, v, n);
}
static int fb_getsockopt(int fd, int l, int o, void *v, socklen_t *n)
{
    return (int)syscall(SYS_getsockopt, fd, l, o, v, n);
}
/* glibc exports __sigaction, which the engine never hooks. */
extern int __sigaction(int, const struct sigaction *, struct sigaction *);
static int fb_sigaction(int s, const struct sigaction *a, struct sigaction *o)
{
    return __sigaction(s, a, o);
}

/* ---- fallbacks of the hooks after `signal` (real.h CS_REAL_FUNCS_EXT) ---- */

static int fb_openv(int dirfd, const char *p, int f, va_list ap)
{
    mode_t m = (f & O_CREAT) || (f & __O_TMPFILE) == __O_TMPFILE ? va_arg(ap, mode_t) : 0;
    return (int)syscall(SYS_openat, dirfd, p, f, m);
}
static int fb_open(const char *p, int f, ...)
{
    va_list ap;
    va_start(ap, f);
    int r = fb_openv(AT_FDCWD, p, f, ap);
    va_end(ap);
    return r;
}
static int fb_openat(int d, const char *p, int f, ...)
{
    va_list ap;
    va_start(ap, f);
    int r = fb_openv(d, p, f, ap);
    va_end(ap);
    return r;
}
#define fb_open64   fb_open
#define fb_openat64 fb_openat
static ssize_t fb_pread(int fd, void *b, size_t n, off_t o)
{
    return syscall(SYS_pread64, fd, b, n, o);
}
static ssize_t fb_pread64(int fd, void *b, size_t n, off64_t o)
{
    return syscall(SYS_pread64, fd, b, n, o);
}
static ssize_t fb_preadv(int fd, const struct iovec *v, int n, off_t o)
{
    return syscall(SYS_preadv, fd, v, n, o, 0);
}
static ssize_t fb_preadv64(int fd, const struct iovec *v, int n, off64_t o)
{
    return syscall(SYS_preadv, fd, v, n, o, 0);
}
static ssize_t fb_pwrite(int fd, const void *b, size_t n, off_t o)
{
    return syscall(SYS_pwrite64, fd, b, n, o);
}
static ssize_t fb_pwrite64(int fd, const void *b, size_t n, off64_t o)
{
    return syscall(SYS_pwrite64, fd, b, n, o);
}
static ssize_t fb_pwritev(int fd, const struct iovec *v, int n, off_t o)
{
    return syscall(SYS_pwritev, fd, v, n, o, 0);
}
static ssize_t fb_pwritev64(int fd, const struct iovec *v, int n, off64_t o)
{
    return syscall(SYS_pwritev, fd, v, n, o, 0);
}
static int fb_fsync(int fd)
{
    return (int)syscall(SYS_fsync, fd);
}
static int fb_fdatasync(int fd)
{
    return (int)syscall(SYS_fdatasync, fd);
}
static int fb_stat(const char *p, struct stat *st)
{
    return (int)syscall(SYS_newfstatat, AT_FDCWD, p, st, 0);
}
static int fb_stat64(const char *p, struct stat64 *st)
{
    return (int)syscall(SYS_newfstatat, AT_FDCWD, p, st, 0);
}
static int fb_lstat(const char *p, struct stat *st)
{
    return (int)syscall(SYS_newfstatat, AT_FDCWD, p, st, AT_SYMLINK_NOFOLLOW);
}
static int fb_lstat64(const char *p, struct stat64 *st)
{
    return (int)syscall(SYS_newfstatat, AT_FDCWD, p, st, AT_SYMLINK_NOFOLLOW);
}
static int fb_fstat(int fd, struct stat *st)
{
    return (int)syscall(SYS_fstat, fd, st);
}
static int fb_fstat64(int fd, struct stat64 *st)
{
    return (int)syscall(SYS_fstat, fd, st);
}
static int fb_fstatat(int d, const char *p, struct stat *st, int f)
{
    return (int)syscall(SYS_newfstatat, d, p, st, f);
}
static int fb_fstatat64(int d, const char *p, struct stat64 *st, int f)
{
    return (int)syscall(SYS_newfstatat, d, p, st, f);
}

/* No system call behind these: resolve the next definition on first use. */
static void *lazy(const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);
    if (!p) cs_fatal("%s: no definition after libcoroscope", name);
    return p;
}
#define FB_LAZY(ret, name, params, args)                 \
    static ret fb_##name params                          \
    {                                                    \
        ret(*real_) params = (ret(*) params)lazy(#name); \
        cs_real.name = real_;                            \
        return real_ args;                               \
    }
FB_LAZY(int, getaddrinfo, (const char *n, const char *s, const struct addrinfo *h, struct addrinfo **r), (n, s, h, r))
FB_LAZY(int, getnameinfo, (const struct sockaddr *a, socklen_t l, char *h, socklen_t hl, char *s, socklen_t sl, int f),
        (a, l, h, hl, s, sl, f))
FB_LAZY(struct hostent *, gethostbyname, (const char *n), (n))
FB_LAZY(struct hostent *, gethostbyname2, (const char *n, int af), (n, af))
FB_LAZY(int, gethostbyname_r, (const char *n, struct hostent *he, char *b, size_t bl, struct hostent **r, int *e),
        (n, he, b, bl, r, e))
FB_LAZY(int, gethostbyname2_r,
        (const char *n, int af, struct hostent *he, char *b, size_t bl, struct hostent **r, int *e),
        (n, af, he, b, bl, r, e))
FB_LAZY(struct hostent *, gethostbyaddr, (const void *a, socklen_t l, int t), (a, l, t))
FB_LAZY(int, gethostbyaddr_r,
        (const void *a, socklen_t l, int t, struct hostent *he, char *b, size_t bl, struct hostent **r, int *e),
        (a, l, t, he, b, bl, r, e))
FB_LAZY(int, res_query, (const char *d, int c, int t, unsigned char *a, int l), (d, c, t, a, l))
FB_LAZY(int, res_search, (const char *d, int c, int t, unsigned char *a, int l), (d, c, t, a, l))
FB_LAZY(int, __res_query, (const char *d, int c, int t, unsigned char *a, int l), (d, c, t, a, l))
FB_LAZY(int, __res_search, (const char *d, int c, int t, unsigned char *a, int l), (d, c, t, a, l))
FB_LAZY(size_t, fread, (void *b, size_t s, size_t n, FILE *f), (b, s, n, f))
FB_LAZY(size_t, fwrite, (const void *b, size_t s, size_t n, FILE *f), (b, s, n, f))
FB_LAZY(char *, fgets, (char *b, int n, FILE *f), (b, n, f))
FB_LAZY(ssize_t, getline, (char **l, size_t *n, FILE *f), (l, n, f))
FB_LAZY(ssize_t, getdelim, (char **l, size_t *n, int d, FILE *f), (l, n, d, f))
FB_LAZY(int, fflush, (FILE * f), (f))
FB_LAZY(int, fgetc, (FILE * f), (f))
FB_LAZY(int, getc, (FILE * f), (f))
FB_LAZY(size_t, __fread_chk, (void *b, size_t bl, size_t s, size_t n, FILE *f), (b, bl, s, n, f))
FB_LAZY(char *, __fgets_chk, (char *b, size_t bl, int n, FILE *f), (b, bl, n, f))
FB_LAZY(pid_t, waitpid, (pid_t p, int *s, int o), (p, s, o))
FB_LAZY(pid_t, wait4, (pid_t p, int *s, int o, struct rusage *r), (p, s, o, r))
FB_LAZY(pid_t, wait, (int *s), (s))
FB_LAZY(int, waitid, (idtype_t t, id_t i, siginfo_t *s, int o), (t, i, s, o))
FB_LAZY(int, pthread_join, (pthread_t t, void **r), (t, r))
FB_LAZY(int, sem_wait, (sem_t * s), (s))
FB_LAZY(int, sem_timedwait, (sem_t * s, const struct timespec *t), (s, t))
FB_LAZY(int, sem_clockwait, (sem_t * s, clockid_t c, const struct timespec *t), (s, c, t))
FB_LAZY(int, pthread_mutex_lock, (pthread_mutex_t * m), (m))
FB_LAZY(int, pthread_mutex_timedlock, (pthread_mutex_t * m, const struct timespec *t), (m, t))
FB_LAZY(int, pthread_mutex_clocklock, (pthread_mutex_t * m, clockid_t c, const struct timespec *t), (m, c, t))
FB_LAZY(int, pthread_cond_wait, (pthread_cond_t * c, pthread_mutex_t *m), (c, m))
FB_LAZY(int, pthread_cond_timedwait, (pthread_cond_t * c, pthread_mutex_t *m, const struct timespec *t), (c, m, t))
FB_LAZY(int, pthread_cond_clockwait, (pthread_cond_t * c, pthread_mutex_t *m, clockid_t k, const struct timespec *t),
        (c, m, k, t))
FB_LAZY(int, pthread_rwlock_rdlock, (pthread_rwlock_t * l), (l))
FB_LAZY(int, pthread_rwlock_wrlock, (pthread_rwlock_t * l), (l))
FB_LAZY(int, pthread_rwlock_timedrdlock, (pthread_rwlock_t * l, const struct timespec *t), (l, t))
FB_LAZY(int, pthread_rwlock_timedwrlock, (pthread_rwlock_t * l, const struct timespec *t), (l, t))
FB_LAZY(int, pthread_rwlock_clockrdlock, (pthread_rwlock_t * l, clockid_t c, const struct timespec *t), (l, c, t))
FB_LAZY(int, pthread_rwlock_clockwrlock, (pthread_rwlock_t * l, clockid_t c, const struct timespec *t), (l, c, t))
FB_LAZY(int, pthread_spin_lock, (pthread_spinlock_t * l), (l))
#undef FB_LAZY

#define CS_REAL_INIT(ret, name, params) .name = fb_##name,
cs_real_fns cs_real = {CS_REAL_FUNCS(CS_REAL_INIT) CS_REAL_FUNCS_EXT(CS_REAL_INIT)};
#undef CS_REAL_INIT

void cs_real_resolve(void)
{
#define CS_REAL_RESOLVE(ret, name, params)      \
    do {                                        \
        void *p = dlsym(RTLD_NEXT, #name);      \
        if (p) cs_real.name = (ret(*) params)p; \
    } while (0);
    CS_REAL_FUNCS(CS_REAL_RESOLVE)
    CS_REAL_FUNCS_EXT(CS_REAL_RESOLVE)
#undef CS_REAL_RESOLVE
}
