/*
 * dump_fd.c — coroscope-dump's lines for what each fd is and who woke whom
 * (FD_DESC, FD_CLOSE, WAKER: docs/events.md "File descriptors"):
 *
 *     fd 7 is TCP 127.0.0.1:41234 -> 127.0.0.1:5432 (created)
 *     fd 7 closed
 *     woken by co#12 writing to the other end (fd 9) 3.200ms earlier; it waited on fd 8
 */
#include "dump_fd.h"

#include <inttypes.h>
#include <stdio.h>

const char *dump_fd_kind(uint64_t kind)
{
    static const char *const names[] = {"unknown",        "TCP",          "UDP",       "Unix stream", "Unix datagram",
                                        "Unix seqpacket", "socket",       "file",      "directory",   "FIFO",
                                        "pipe",           "eventfd",      "timerfd",   "signalfd",    "epoll",
                                        "char device",    "block device", "anon inode"};
    return kind < sizeof names / sizeof names[0] ? names[kind] : "?";
}

void dump_fd_render(const coroscope_event *e, char *out, size_t cap, dump_fd_text text)
{
    const uint64_t *a = e->a;
    char b1[256], b2[256];
    switch (e->kind) {
    case COROSCOPE_EV_FD_DESC: {
        static const char *const origins[] = {"?", "created", "first use", "existing", "connected"};
        uint64_t k = a[1] & 0xff, o = a[1] >> 8 & 0xff;
        size_t n = (size_t)snprintf(out, cap, "fd %" PRId64 " is %s%s", (int64_t)a[0], dump_fd_kind(k),
                                    a[1] & COROSCOPE_FDF_LISTENING ? " listening" : "");
        if (a[2] && n < cap) n += (size_t)snprintf(out + n, cap - n, " %s", text(a[2], b1, sizeof b1));
        if (a[3] && n < cap) n += (size_t)snprintf(out + n, cap - n, " -> %s", text(a[3], b2, sizeof b2));
        if ((a[1] & COROSCOPE_FDF_READ_END) && n < cap) n += (size_t)snprintf(out + n, cap - n, " read end");
        if ((a[1] & COROSCOPE_FDF_WRITE_END) && n < cap) n += (size_t)snprintf(out + n, cap - n, " write end");
        if ((int64_t)a[4] >= 0 && n < cap)
            n += (size_t)snprintf(out + n, cap - n, " other end fd %" PRId64, (int64_t)a[4]);
        if (n < cap) snprintf(out + n, cap - n, " (%s)", o < 5 ? origins[o] : "?");
        break;
    }
    case COROSCOPE_EV_FD_CLOSE: snprintf(out, cap, "fd %" PRId64 " closed", (int64_t)a[0]); break;
    case COROSCOPE_EV_WAKER: {
        const char *how = a[0] == COROSCOPE_WAKER_WROTE  ? "writing to"
                          : a[0] == COROSCOPE_WAKER_READ ? "reading from"
                                                         : "closing";
        char who[48];
        if (a[1])
            snprintf(who, sizeof who, "co#%" PRIu64, a[1]);
        else
            snprintf(who, sizeof who, "a thread");
        double ms = e->ts > a[3] ? (double)(e->ts - a[3]) / 1e6 : 0;
        snprintf(out, cap, "woken by %s %s the other end (fd %" PRId64 ") %.3fms earlier; it waited on fd %" PRId64,
                 who, how, (int64_t)a[2], ms, (int64_t)a[4]);
        break;
    }
    default: snprintf(out, cap, "kind %u", e->kind); break;
    }
}
