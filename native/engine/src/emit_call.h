/*
 * emit_call.h — the records that complete a hooked call's CALL (telemetry.c
 * emits the CALL itself, through the call observer):
 *
 *   CALL_ENTER  a call that parks, when it first parks: emitted by
 *               cs_wait_park (wait.c) before the coroutine's CO_SUSPEND, at
 *               most once per call (co->call_entered, reset at hook entry by
 *               cs_hook_co). a0/a1 as the CALL will have them (hook id | in
 *               coroutine | parked, co->call_fd), a2 the size asked for
 *               (transfers) or the flags (accept4), a3 the timeout: deadline
 *               minus the call's entry (ns, 0: none). A connect in progress
 *               (co->call_addr) is followed by its CALL_ADDR.
 *   CALL_ADDR   right after the record it completes, from the same thread:
 *               connect's peer after its CALL_ENTER and after its CALL
 *               (unless the kernel never read the address: EBADF, EFAULT,
 *               EINVAL); accept/accept4's peer after a successful CALL. Text: "1.2.3.4:80",
 *               "[::1]:80" (IPv6, "%scope" when it has one), "/path" or
 *               "@abstract" (AF_UNIX; NULs in an abstract name shown as '@').
 *               An accepted AF_UNIX peer is usually unnamed: then the path of
 *               the listening socket (getsockname on the new fd).
 *
 * Threads and signals: on the thread making the call (a worker running the
 * coroutine, or a plain thread), never in a signal handler; callers test
 * cs_tel() first, so with telemetry off the only cost is that predicted
 * branch. Every function leaves errno as it found it.
 */
#ifndef CS_EMIT_CALL_H
#define CS_EMIT_CALL_H

#include <stddef.h>
#include <sys/socket.h>

#include "coroutine.h"

/* CALL_ENTER (and connect's CALL_ADDR) for co's call in progress, unless
 * already emitted for this call. deadline: CLOCK_MONOTONIC ns, 0 none. */
void cs_emit_call_enter(cs_co *co, uint64_t deadline);

/* CALL_ADDR of an address the program passed (connect). Nothing for a NULL
 * or unnamed address. */
void cs_emit_sockaddr(const struct sockaddr *sa, socklen_t len);

/* CALL_ADDR with a text that names what the call just recorded was about (a
 * path, a host name). Nothing for NULL or while telemetry is off. */
void cs_emit_call_text(const char *text);

/* CALL_ADDR of an accepted connection fd, read with getpeername (never from
 * the program's buffer, whose capacity the hook cannot know without reading
 * *len before the call, which must stay the kernel's to fault on). */
void cs_emit_accepted(int fd);

/* "1.2.3.4:80", "[::1]:80", "/path", "@abstract" or "family N" into buf;
 * returns the length, 0 for an address with nothing to show. */
size_t cs_format_sockaddr(const struct sockaddr *sa, socklen_t len, char *buf, size_t cap);

#endif
