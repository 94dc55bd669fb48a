/*
 * fdtable.h — what the engine knows about each file descriptor.
 *
 * One cs_fd per fd number, in a two-level table (chunks of 1024 entries
 * allocated on first use, never freed, so a pointer to an entry stays valid
 * for the life of the process). Fds above CS_FD_MAX have no entry: calls on
 * them pass straight through.
 *
 * Fields and who writes them
 *   kind/user_nb/engine_nb/timeouts: probed once per fd lifetime (first use
 *     inside a coroutine) or set by the bookkeeping hooks that create fds and
 *     change flags (socket, pipe, fcntl, ioctl FIONBIO, setsockopt...). Read
 *     without the lock on the hot path (relaxed atomics: a stale value is
 *     safe, see hook_io.c).
 *   registered/gen/waiters/rseq/wseq: under `lock`. `gen` counts fd lifetimes
 *     and travels in epoll's data, so events from a closed fd's registration
 *     are ignored.
 *   dmark/pair/pair_gen/note_*: fddesc.h (relaxed atomics; reset with each
 *     lifetime by cs_fd_created and cs_fd_closing).
 *
 * Engine fds (epoll, eventfds) are "hidden": moved to high numbers and
 * protected from the program's close/close_range/dup2, which see EBADF/EBUSY.
 */
#ifndef CS_FDTABLE_H
#define CS_FDTABLE_H

#include <stdatomic.h>
#include <stdint.h>

#include "coroutine.h"
#include "spin.h"

#define CS_FD_MAX (1 << 20)

enum cs_fd_kind {
    CS_FD_UNKNOWN = 0, /* not probed in this lifetime */
    CS_FD_SOCKET,      /* MSG_DONTWAIT works */
    CS_FD_POLLABLE,    /* pipe, fifo, tty, eventfd, other char dev: poll, then call */
    CS_FD_FILE,        /* regular file, directory, block device: cannot park */
};

enum cs_dir { CS_DIR_READ = 0, CS_DIR_WRITE = 1 };

typedef struct cs_waiter {
    struct cs_waiter *prev, *next;
    cs_co *co;
    uint64_t token;
    int fd;
    int dir;
    int linked;
} cs_waiter;

typedef struct cs_fd {
    cs_spin lock;
    _Atomic uint8_t kind;      /* enum cs_fd_kind */
    _Atomic uint8_t user_nb;   /* O_NONBLOCK as the program believes it is */
    _Atomic uint8_t engine_nb; /* the engine set O_NONBLOCK on the description itself */
    _Atomic uint8_t stream;    /* SOCK_STREAM: blocking sends write everything */
    _Atomic uint8_t nowait[2]; /* pollable fds, per direction: RWF_NOWAIT works (0 unknown, 1 yes, 2 no) */
    _Atomic uint8_t eventfd;   /* an eventfd: writes of more than 1 may wait for room */
    _Atomic uint8_t fifo;      /* a pipe or a named fifo */
    _Atomic int shadow;        /* named fifo: engine's own O_NONBLOCK description of it
                                    (0 none yet, -1 impossible), hidden, closed with fd */
    uint8_t registered;        /* in the netpoller for this lifetime */
    uint8_t unpollable;        /* epoll refused it (EPERM) */
    uint32_t gen;
    _Atomic uint32_t desc;       /* open file description id: dups share it (0 unknown) */
    _Atomic uint32_t seq[2];     /* readiness edges seen, per direction (written under lock) */
    _Atomic int64_t timeo_ns[2]; /* SO_RCVTIMEO / SO_SNDTIMEO, 0 = none */
    cs_waiter *waiters[2];
    /* fddesc.h: the telemetry epoch it was described in << 1 | provisional
     * (0: not in this lifetime);
     * the other end made here (fd + 1, 0: none) and its lifetime; per
     * direction, the latest transfer on the other end that may wake this
     * end's waiters (co id, its ts, its fd, enum coroscope_waker_how). */
    _Atomic uint32_t dmark;
    _Atomic int pair;
    _Atomic uint32_t pair_gen;
    _Atomic uint8_t note_how[2];
    _Atomic int note_fd[2];
    _Atomic uint64_t note_co[2];
    _Atomic uint64_t note_ts[2];
} cs_fd;

/* Entry for fd (allocating its chunk), or NULL if fd < 0 or >= CS_FD_MAX. */
cs_fd *cs_fd_get(int fd);

/* Entry for fd only if its chunk exists already (no allocation). */
cs_fd *cs_fd_peek(int fd);

/* Probe kind/flags/timeouts of fd if not known in this lifetime. */
void cs_fd_probe(int fd, cs_fd *e);

/* A new fd was created by a hook: record what it is. */
void cs_fd_created(int fd, int kind, int user_nb, int engine_nb, int stream);

/* fd is being closed (or replaced by dup2): drop its registration, wake its
 * waiters with CS_WAKE_CLOSED, forget what was known. Call before the real
 * close while fd is still valid. */
void cs_fd_closing(int fd);

/* The program changed O_NONBLOCK through fd (F_SETFL, FIONBIO): the flag
 * lives on the open file description, so every fd known to share it (dups)
 * sees the change. */
void cs_fd_set_user_nb(cs_fd *e, int nb);

/* newfd now refers to oldfd's description (dup family): copy what is known. */
void cs_fd_duplicated(int oldfd, int newfd);

/* Move an engine fd to a high number, mark it hidden; returns the new fd. */
int cs_fd_hide(int fd);
void cs_fd_unhide(int fd);
int cs_fd_is_hidden(int fd);

/* Lowest hidden fd in [lo, hi], or -1. */
int cs_fd_next_hidden(int lo, unsigned hi);

/* A named fifo without RWF_NOWAIT: a second, non-blocking open file
 * description of the same fifo (opened through /proc/self/fd), so attempts
 * never block and the program's description keeps its flags. -1 if none. */
int cs_fd_fifo_shadow(int fd, cs_fd *e);

/* Forget all registrations (forked child: the netpoller is new). */
void cs_fd_atfork_child(void);

#endif
