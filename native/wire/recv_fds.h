/*
 * recv_fds.h — messages from a Unix stream socket with the file descriptors
 * passed along with them (SCM_RIGHTS): how an inspector receives the
 * engine's event rings (control channel, native/engine/src/control.c).
 * Used by coroscope-dump (live.c) and the Node addon (addon/link.c).
 *
 * cs_recv_fds is one recvmsg. cs_fd_lines splits what arrives into lines
 * and gives each line the fd that came with it.
 *
 * Which line an fd belongs to. The engine sends each announcement line with
 * its fd in one sendmsg ("line\n" + SCM_RIGHTS). On a stream socket Linux
 * returns an fd with the bytes of the message that carried it, and a read
 * ends with that message (it may glue earlier fd-less messages before it,
 * never later ones; a short buffer cuts the message, and the fd comes with
 * its first part). So an fd belongs to the line that holds the last byte
 * read with it. cs_fd_lines tags each fd with that line's number and hands
 * it to that line only; an fd whose line does not want it (junk before an
 * announcement, a line that is not one, a second fd) is closed at that
 * line's end. A peer that sends junk therefore costs one line, never the
 * pairing of every later line with its fd (a queue of fds would hand each
 * later announcement the fd of the one before).
 *
 * Threads: a cs_fd_lines is used by one thread at a time.
 */
#ifndef CS_RECV_FDS_H
#define CS_RECV_FDS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CS_RECV_FDS_MAX 64 /* fds taken from one message; more are closed */

/* recvmsg(sock, flags | MSG_CMSG_CLOEXEC) into buf (cap bytes). The fds that
 * came with the bytes go to fds[0 .. *nfds) (close-on-exec; the caller owns
 * them), at most `max` (<= CS_RECV_FDS_MAX): any beyond are closed. Returns
 * the byte count (0: the peer closed), or -1 with errno (EAGAIN, EINTR...). */
ssize_t cs_recv_fds(int sock, void *buf, size_t cap, int flags, int *fds, int max, int *nfds);

/* The sending side: one sendmsg(sock, MSG_NOSIGNAL) of buf with fd attached
 * (SCM_RIGHTS; fd < 0: none), as the engine sends an announcement line
 * (engine/src/control.c, which makes the call through its own libc table).
 * Returns what sendmsg returns. */
ssize_t cs_send_fd(int sock, const void *buf, size_t n, int fd);

/* A line as it arrives: `line` is NUL-terminated, without its newline; NULL
 * when the line was longer than the splitter's limit (it was dropped). `fd`
 * is the fd that came with the line (-1: none). Return 1 to keep fd (the
 * callee owns it then), 0 to have it closed. */
typedef int (*cs_fd_line_fn)(void *ctx, const char *line, int fd);

typedef struct cs_fd_lines {
    char *line;              /* the line being read */
    size_t n, cap, max;      /* its length, buffer size, longest line kept */
    int overlong;            /* 1: the line being read passed max (dropped) */
    uint64_t seq;            /* lines completed so far */
    int fd[CS_RECV_FDS_MAX]; /* fds received for the line being read */
    int nfd;
    uint64_t fd_seq; /* the line they belong to */
} cs_fd_lines;

/* A splitter keeping lines up to max bytes (buffer grows from 4 KiB). 0 or ENOMEM. */
int cs_fd_lines_init(cs_fd_lines *b, size_t max);
/* Frees the buffer and closes the fds not handed to a line. */
void cs_fd_lines_free(cs_fd_lines *b);

/* One cs_recv_fds(sock, flags), then on_line for each line it completed.
 * Returns as cs_recv_fds: bytes read, 0 when the peer closed, -1 (errno). */
ssize_t cs_fd_lines_read(cs_fd_lines *b, int sock, int flags, cs_fd_line_fn on_line, void *ctx);

/* The same for bytes and fds read otherwise (fds are the splitter's now). */
void cs_fd_lines_feed(cs_fd_lines *b, const char *buf, size_t k, const int *fds, int nfds, cs_fd_line_fn on_line,
                      void *ctx);

#endif
