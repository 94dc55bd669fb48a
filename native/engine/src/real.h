/*
 * real.h — the libc functions behind the hooks.
 *
 * Resolved once, in the library constructor, with dlsym(RTLD_NEXT) — never
 * from inside a hook. Libraries initialised before ours (the dynamic linker
 * runs a preloaded library's constructor after those of libraries that do not
 * depend on it) may call a hook before that: until resolution every entry
 * points to a fallback that makes the raw system call, so those early calls
 * are still correct.
 *
 * Engine code never calls a hooked name directly (that would re-enter the
 * hook): it calls cs_real.x or makes the system call itself.
 */
#ifndef CS_REAL_H
#define CS_REAL_H

#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

/* X(return type, name, parameter list) */
#define CS_REAL_FUNCS(X)                                                                              \
    X(unsigned int, sleep, (unsigned int))                                                            \
    X(int, usleep, (useconds_t))                                                                      \
    X(int, nanosleep, (const struct timespec *, struct timespec *))                                   \
    X(int, clock_nanosleep, (clockid_t, int, const struct timespec *, struct timespec *))             \
    X(int, poll, (struct pollfd *, nfds_t, int))                                                      \
    X(int, ppoll, (struct pollfd *, nfds_t, const struct timespec *, const sigset_t *))               \
    X(int, select, (int, fd_set *, fd_set *, fd_set *, struct timeval *))                             \
    X(int, pselect, (int, fd_set *, fd_set *, fd_set *, const struct timespec *, const sigset_t *))   \
    X(int, epoll_wait, (int, struct epoll_event *, int, int))                                         \
    X(int, epoll_pwait, (int, struct epoll_event *, int, int, const sigset_t *))                      \
    X(int, accept, (int, struct sockaddr *, socklen_t *))                                             \
    X(int, accept4, (int, struct sockaddr *, socklen_t *, int))                                       \
    X(int, connect, (int, const struct sockaddr *, socklen_t))                                        \
    X(ssize_t, read, (int, void *, size_t))                                                           \
    X(ssize_t, write, (int, const void *, size_t))                                                    \
    X(ssize_t, readv, (int, const struct iovec *, int))                                               \
    X(ssize_t, writev, (int, const struct iovec *, int))                                              \
    X(ssize_t, recv, (int, void *, size_t, int))                                                      \
    X(ssize_t, recvfrom, (int, void *, size_t, int, struct sockaddr *, socklen_t *))                  \
    X(ssize_t, recvmsg, (int, struct msghdr *, int))                                                  \
    X(ssize_t, send, (int, const void *, size_t, int))                                                \
    X(ssize_t, sendto, (int, const void *, size_t, int, const struct sockaddr *, socklen_t))          \
    X(ssize_t, sendmsg, (int, const struct msghdr *, int))                                            \
    X(ssize_t, __read_chk, (int, void *, size_t, size_t))                                             \
    X(ssize_t, __recv_chk, (int, void *, size_t, size_t, int))                                        \
    X(ssize_t, __recvfrom_chk, (int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *))    \
    X(int, __poll_chk, (struct pollfd *, nfds_t, int, size_t))                                        \
    X(int, __ppoll_chk, (struct pollfd *, nfds_t, const struct timespec *, const sigset_t *, size_t)) \
    X(int, socket, (int, int, int))                                                                   \
    X(int, socketpair, (int, int, int, int *))                                                        \
    X(int, pipe, (int *))                                                                             \
    X(int, pipe2, (int *, int))                                                                       \
    X(int, eventfd, (unsigned int, int))                                                              \
    X(int, close, (int))                                                                              \
    X(int, close_range, (unsigned int, unsigned int, int))                                            \
    X(int, dup, (int))                                                                                \
    X(int, dup2, (int, int))                                                                          \
    X(int, dup3, (int, int, int))                                                                     \
    X(int, fcntl, (int, int, ...))                                                                    \
    X(int, fcntl64, (int, int, ...))                                                                  \
    X(int, ioctl, (int, unsigned long, ...))                                                          \
    X(int, setsockopt, (int, int, int, const void *, socklen_t))                                      \
    X(int, getsockopt, (int, int, int, void *, socklen_t *))                                          \
    X(int, sigaction, (int, const struct sigaction *, struct sigaction *))

/* Hooks added after `signal` (their ids follow it: coroscope_events.h is
 * append-only): DNS (hook_dns.c), regular files (hook_file.c), stdio
 * (hook_stdio.c), waits on children, threads and semaphores (hook_wait.c), pthread mutexes and condition
 * variables (hook_sync.c). Before resolution, the file calls fall back to raw system
 * calls; the DNS and stdio ones, which have none, resolve themselves on
 * first use (dlsym), which is only reached if a library initialised before
 * ours calls them from its constructor. */
#define CS_REAL_FUNCS_EXT(X)                                                                                  \
    X(int, getaddrinfo, (const char *, const char *, const struct addrinfo *, struct addrinfo **))            \
    X(int, getnameinfo, (const struct sockaddr *, socklen_t, char *, socklen_t, char *, socklen_t, int))      \
    X(struct hostent *, gethostbyname, (const char *))                                                        \
    X(struct hostent *, gethostbyname2, (const char *, int))                                                  \
    X(int, gethostbyname_r, (const char *, struct hostent *, char *, size_t, struct hostent **, int *))       \
    X(int, gethostbyname2_r, (const char *, int, struct hostent *, char *, size_t, struct hostent **, int *)) \
    X(struct hostent *, gethostbyaddr, (const void *, socklen_t, int))                                        \
    X(int, gethostbyaddr_r,                                                                                   \
      (const void *, socklen_t, int, struct hostent *, char *, size_t, struct hostent **, int *))             \
    X(int, res_query, (const char *, int, int, unsigned char *, int))                                         \
    X(int, res_search, (const char *, int, int, unsigned char *, int))                                        \
    X(int, __res_query, (const char *, int, int, unsigned char *, int))                                       \
    X(int, __res_search, (const char *, int, int, unsigned char *, int))                                      \
    X(int, open, (const char *, int, ...))                                                                    \
    X(int, open64, (const char *, int, ...))                                                                  \
    X(int, openat, (int, const char *, int, ...))                                                             \
    X(int, openat64, (int, const char *, int, ...))                                                           \
    X(ssize_t, pread, (int, void *, size_t, off_t))                                                           \
    X(ssize_t, pread64, (int, void *, size_t, off64_t))                                                       \
    X(ssize_t, preadv, (int, const struct iovec *, int, off_t))                                               \
    X(ssize_t, preadv64, (int, const struct iovec *, int, off64_t))                                           \
    X(ssize_t, pwrite, (int, const void *, size_t, off_t))                                                    \
    X(ssize_t, pwrite64, (int, const void *, size_t, off64_t))                                                \
    X(ssize_t, pwritev, (int, const struct iovec *, int, off_t))                                              \
    X(ssize_t, pwritev64, (int, const struct iovec *, int, off64_t))                                          \
    X(int, fsync, (int))                                                                                      \
    X(int, fdatasync, (int))                                                                                  \
    X(int, stat, (const char *, struct stat *))                                                               \
    X(int, stat64, (const char *, struct stat64 *))                                                           \
    X(int, lstat, (const char *, struct stat *))                                                              \
    X(int, lstat64, (const char *, struct stat64 *))                                                          \
    X(int, fstat, (int, struct stat *))                                                                       \
    X(int, fstat64, (int, struct stat64 *))                                                                   \
    X(int, fstatat, (int, const char *, struct stat *, int))                                                  \
    X(int, fstatat64, (int, const char *, struct stat64 *, int))                                              \
    X(size_t, fread, (void *, size_t, size_t, FILE *))                                                        \
    X(size_t, fwrite, (const void *, size_t, size_t, FILE *))                                                 \
    X(char *, fgets, (char *, int, FILE *))                                                                   \
    X(ssize_t, getline, (char **, size_t *, FILE *))                                                          \
    X(ssize_t, getdelim, (char **, size_t *, int, FILE *))                                                    \
    X(int, fflush, (FILE *))                                                                                  \
    X(int, fgetc, (FILE *))                                                                                   \
    X(int, getc, (FILE *))                                                                                    \
    X(size_t, __fread_chk, (void *, size_t, size_t, size_t, FILE *))                                          \
    X(char *, __fgets_chk, (char *, size_t, int, FILE *))                                                     \
    X(pid_t, waitpid, (pid_t, int *, int))                                                                    \
    X(pid_t, wait4, (pid_t, int *, int, struct rusage *))                                                     \
    X(pid_t, wait, (int *))                                                                                   \
    X(int, waitid, (idtype_t, id_t, siginfo_t *, int))                                                        \
    X(int, pthread_join, (pthread_t, void **))                                                                \
    X(int, sem_wait, (sem_t *))                                                                               \
    X(int, sem_timedwait, (sem_t *, const struct timespec *))                                                 \
    X(int, sem_clockwait, (sem_t *, clockid_t, const struct timespec *))                                      \
    X(int, pthread_mutex_lock, (pthread_mutex_t *))                                                           \
    X(int, pthread_mutex_timedlock, (pthread_mutex_t *, const struct timespec *))                             \
    X(int, pthread_mutex_clocklock, (pthread_mutex_t *, clockid_t, const struct timespec *))                  \
    X(int, pthread_cond_wait, (pthread_cond_t *, pthread_mutex_t *))                                          \
    X(int, pthread_cond_timedwait, (pthread_cond_t *, pthread_mutex_t *, const struct timespec *))            \
    X(int, pthread_cond_clockwait, (pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *)) \
    X(int, pthread_rwlock_rdlock, (pthread_rwlock_t *))                                                       \
    X(int, pthread_rwlock_wrlock, (pthread_rwlock_t *))                                                       \
    X(int, pthread_rwlock_timedrdlock, (pthread_rwlock_t *, const struct timespec *))                         \
    X(int, pthread_rwlock_timedwrlock, (pthread_rwlock_t *, const struct timespec *))                         \
    X(int, pthread_rwlock_clockrdlock, (pthread_rwlock_t *, clockid_t, const struct timespec *))              \
    X(int, pthread_rwlock_clockwrlock, (pthread_rwlock_t *, clockid_t, const struct timespec *))              \
    X(int, pthread_spin_lock, (pthread_spinlock_t *))

#define CS_REAL_FIELD(ret, name, params) ret(*name) params;
typedef struct cs_real_fns {
    CS_REAL_FUNCS(CS_REAL_FIELD)
    CS_REAL_FUNCS_EXT(CS_REAL_FIELD)
} cs_real_fns;
#undef CS_REAL_FIELD

extern cs_real_fns cs_real;

/* Resolve every entry with dlsym(RTLD_NEXT); called once from the constructor. */
void cs_real_resolve(void);

#endif
