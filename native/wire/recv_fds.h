/*
 * recv_fds.h — one message from a Unix stream socket with the file
 * descriptors passed along with it (SCM_RIGHTS): how an inspector receives
 * the engine's event rings (control channel, native/engine/src/control.c).
 * Used by coroscope-dump (live.c) and the Node addon (addon/link.c).
 */
#ifndef CS_RECV_FDS_H
#define CS_RECV_FDS_H

#include <stddef.h>
#include <sys/types.h>

#define CS_RECV_FDS_MAX 64 /* fds taken from one message; more are closed */

/* recvmsg(sock, flags | MSG_CMSG_CLOEXEC) into buf (cap bytes). The fds that
 * came with the bytes go to fds[0 .. *nfds) (close-on-exec; the caller owns
 * them), at most `max` (<= CS_RECV_FDS_MAX): any beyond are closed. Returns
 * the byte count (0: the peer closed), or -1 with errno (EAGAIN, EINTR...). */
ssize_t cs_recv_fds(int sock, void *buf, size_t cap, int flags, int *fds, int max, int *nfds);

#endif
