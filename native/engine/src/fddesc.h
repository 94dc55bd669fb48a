/*
 * fddesc.h — what each fd is (FD_DESC, FD_CLOSE) and who made a parked
 * coroutine's fd ready (WAKER): coroscope_events.h, docs/events.md "File
 * descriptors".
 *
 * Descriptions
 *   An fd is described once per (fd lifetime, telemetry epoch): kind, local
 *   end, peer, and the other end when this process made both (pipe,
 *   socketpair). Read from the fd itself with raw system calls (fstat,
 *   getsockopt SO_DOMAIN/SO_TYPE/SO_ACCEPTCONN, getsockname, getpeername,
 *   readlink of /proc/self/fd/N), never per read or write:
 *     - at the hooks that make fds (socketpair, accept, pipe, eventfd, open*,
 *       dup*): cs_fddesc_made / _accepted / cs_fdpeer_pair (from what the
 *       hook knows, with as few system calls as it allows) or cs_fddesc_new,
 *       before the creating call's CALL (open*: after its CALL_ADDR); not
 *       socket(), whose fd has no address yet: its first hooked call
 *       (connect, accept, a transfer) describes it;
 *     - again after connect (the peer is known now; origin CONNECTED);
 *     - at the first hooked call on an fd not described in this lifetime and
 *       epoch (inherited fds, fds made by calls the engine does not hook:
 *       timerfd_create, signalfd, epoll_create): cs_fddesc_touch, from the
 *       CALL emission (telemetry.h), before the CALL record;
 *     - for every open fd when an inspector subscribes (cs_fddesc_existing,
 *       control thread), so coroutines parked at that moment are explained.
 *   cs_fd.dmark holds epoch << 1 | provisional for the epoch the fd was
 *   described in (0: not in this lifetime); provisional: a stream socket
 *   neither listening nor connected yet (socket() before bind/listen, which
 *   are not hooked), which its next hooked call describes again, so an
 *   accept shows its socket listening. cs_fd_created and cs_fd_closing reset
 *   it. A race between two
 *   threads describing the same fd at once at worst emits it twice.
 *   FD_CLOSE is emitted by cs_fd_closing (every close path the engine sees)
 *   for an fd described in this epoch, so a reused number never shows a
 *   stale description.
 *
 * Waker attribution (pipes and socketpairs made here)
 *   cs_fd.pair is the other end (fd + 1, 0: none) and pair_gen its lifetime.
 *   A coroutine about to read or write one end notes itself on the other
 *   end's entry (cs_fdpeer_note, before its attempt, so the note is visible
 *   before any readiness the call causes): a write is noted for the other
 *   end's readers, a read (room made) for its writers, a close for both.
 *   When the netpoller wakes a waiter of that end and direction, it emits a
 *   WAKER record right after the WAKE (cs_fdpeer_emit) with the latest note.
 *   Notes are relaxed atomics, several fields not updated together: two
 *   coroutines writing the same end at the same instant may leave a mixed
 *   note (a diagnostic, never used for scheduling).
 *
 * COROSCOPE_FDDESC=0 (cs_cfg.fddesc) turns descriptions and notes off
 * (pairs are still recorded: they cost nothing per call).
 *
 * Threads: any thread making or using fds; the netpoller's caller for
 * cs_fdpeer_emit; the control thread for cs_fddesc_existing. Never in a
 * signal handler. errno is preserved by every function.
 */
#ifndef CS_FDDESC_H
#define CS_FDDESC_H

#include <stdint.h>
#include <sys/socket.h>

struct cs_fd;

/* Describe fd now (telemetry on): origin is enum coroscope_fd_origin, other
 * the other end's fd (-1: none), peer_sa/peer_len the address connect was
 * given (used when getpeername cannot say yet: a connect in progress). */
void cs_fddesc_new(int fd, int origin, int other, const struct sockaddr *peer_sa, socklen_t peer_len);

/* A hook made fd and knows what it is: kind (enum coroscope_fd_kind |
 * COROSCOPE_FDF_* flags: eventfd) needs no system call; COROSCOPE_FD_UNKNOWN
 * with the path an open* was given: one fstat says file, directory, FIFO or
 * device, and an absolute path is used as given (else the kernel's). */
void cs_fddesc_made(int fd, uint32_t kind, const char *path);

/* A stream socket (stream: SOCK_STREAM, else the kind stays SOCKET) got its
 * peer: accept made it (origin CREATED) or connect connected it (CONNECTED;
 * peer_sa: the address connect was given, for a connect in progress):
 * getsockname and getpeername only. */
void cs_fddesc_socket(int fd, int stream, int origin, const struct sockaddr *peer_sa, socklen_t peer_len);

/* First use of fd by a hooked call (hook: its engine id) whose record will
 * be stamped ts (0: now): describe it, stamped ts too so that it sorts before
 * that record and never between a CALL and its CALL_ADDR, unless already done
 * in this lifetime and epoch. Cheap when done. */
void cs_fddesc_touch(int fd, int hook, uint64_t ts);

/* fd is being closed (cs_fd_closing, lock of e held): FD_CLOSE if it was
 * described in this epoch; the other end's waiters learn who closed it. */
void cs_fddesc_closing(int fd, struct cs_fd *e);

/* Every open fd of the process, described (an inspector subscribed). */
void cs_fddesc_existing(void);

/* Both ends of a pipe or socketpair were made here: pair them (after
 * cs_fd_created of both) and describe both as the hook says they are (no
 * system call). */
void cs_fdpeer_pair(int a, int b, uint32_t kind_a, uint32_t kind_b);

/* The running coroutine is about to transfer on fd (dir: CS_DIR_READ or
 * CS_DIR_WRITE): note it on the other end, if fd has one. */
void cs_fdpeer_note_slow(struct cs_fd *e, int fd, int dir);
static inline void cs_fdpeer_note(struct cs_fd *e, int fd, int dir, int paired)
{
    if (__builtin_expect(paired != 0, 0)) cs_fdpeer_note_slow(e, fd, dir);
}

/* The netpoller woke co_id waiting on fd (entry e, direction dir): WAKER
 * after its WAKE when a note explains it. */
void cs_fdpeer_emit(struct cs_fd *e, int dir, uint64_t co_id, int fd);

#endif
