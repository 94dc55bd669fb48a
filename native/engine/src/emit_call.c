/*
 * emit_call.c — CALL_ENTER and CALL_ADDR (emit_call.h).
 *
 * Invariants: runs on the calling thread with the program's signal mask (no
 * signal state changes), only after the caller saw cs_tel() on; never inside
 * a signal handler. Writes go through the public cs_tel_emit/cs_tel_string
 * only, so each record lands in the calling thread's ring after the record it
 * completes. errno is saved and restored around everything (getpeername,
 * getsockname and a new thread's first ring may touch it).
 */
#include "emit_call.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "hook.h"
#include "telemetry.h"

/* CALL_ENTER a2 for hook: the size asked for (transfers) or the flags
 * (accept4), both in cs_tls.call_arg while the call is in progress; 0 for
 * the waits and sleeps, whose timeout is a3. */
static uint64_t enter_arg(int hook)
{
    switch (hook) {
    case CS_HOOK_read:
    case CS_HOOK_write:
    case CS_HOOK_readv:
    case CS_HOOK_writev:
    case CS_HOOK_recv:
    case CS_HOOK_recvfrom:
    case CS_HOOK_recvmsg:
    case CS_HOOK_send:
    case CS_HOOK_sendto:
    case CS_HOOK_sendmsg:
    case CS_HOOK___read_chk:
    case CS_HOOK___recv_chk:
    case CS_HOOK___recvfrom_chk:
    case CS_HOOK_accept4: return cs_tls.call_arg;
    default: return 0;
    }
}

void cs_emit_call_enter(cs_co *co, uint64_t deadline)
{
    if (co->call_entered || co->cur_hook < 0) return;
    co->call_entered = 1;
    int saved = errno;
    uint64_t t0 = co->call_t0, timeout = 0;
    if (deadline) {
        uint64_t from = t0 ? t0 : cs_now_ns();
        timeout = deadline > from ? deadline - from : 1; /* due already: still a timeout, not "none" */
    }
    if (co->call_fd >= 0) cs_fddesc_touch(co->call_fd, co->cur_hook, 0); /* an fd not described yet: before its wait */
    cs_tel_emit(COROSCOPE_EV_CALL_ENTER, co->id, (uint64_t)(co->cur_hook + 1) | 1u << 16 | 1u << 17,
                (uint64_t)(int64_t)co->call_fd, enter_arg(co->cur_hook), timeout, 0);
    if (co->call_addr) cs_emit_sockaddr(co->call_addr, co->call_addrlen);
    errno = saved;
}

size_t cs_format_sockaddr(const struct sockaddr *sa, socklen_t len, char *buf, size_t cap)
{
    if (!sa || cap < 8 || len < (socklen_t)sizeof(sa_family_t)) return 0;
    buf[0] = '\0';
    switch (sa->sa_family) {
    case AF_INET: {
        if (len < (socklen_t)sizeof(struct sockaddr_in)) return 0;
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        char ip[INET_ADDRSTRLEN];
        if (!inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip)) return 0;
        int n = snprintf(buf, cap, "%s:%u", ip, (unsigned)ntohs(in->sin_port));
        return n > 0 && (size_t)n < cap ? (size_t)n : 0;
    }
    case AF_INET6: {
        if (len < (socklen_t)sizeof(struct sockaddr_in6)) return 0;
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        char ip[INET6_ADDRSTRLEN], scope[16] = "";
        if (!inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip)) return 0;
        if (in6->sin6_scope_id) snprintf(scope, sizeof scope, "%%%u", (unsigned)in6->sin6_scope_id);
        int n = snprintf(buf, cap, "[%s%s]:%u", ip, scope, (unsigned)ntohs(in6->sin6_port));
        return n > 0 && (size_t)n < cap ? (size_t)n : 0;
    }
    case AF_UNIX: {
        const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
        size_t off = offsetof(struct sockaddr_un, sun_path);
        if (len <= off) return 0; /* unnamed */
        size_t plen = (size_t)len - off;
        if (plen > sizeof un->sun_path) plen = sizeof un->sun_path;
        size_t o = 0;
        if (un->sun_path[0] == '\0') {
            /* Abstract: every byte of the given length is the name. */
            if (plen < 2) return 0;
            buf[o++] = '@';
            for (size_t i = 1; i < plen && o + 1 < cap; i++) buf[o++] = un->sun_path[i] ? un->sun_path[i] : '@';
        } else {
            for (size_t i = 0; i < plen && un->sun_path[i] && o + 1 < cap; i++) buf[o++] = un->sun_path[i];
        }
        buf[o] = '\0';
        return o;
    }
    default: {
        int n = snprintf(buf, cap, "family %u", (unsigned)sa->sa_family);
        return n > 0 && (size_t)n < cap ? (size_t)n : 0;
    }
    }
}

static void emit_text(const char *text)
{
    cs_co *co = cs_tls.co;
    uint64_t id = cs_tel_string(text);
    if (id) cs_tel_emit(COROSCOPE_EV_CALL_ADDR, co ? co->id : 0, id, 0, 0, 0, 0);
}

void cs_emit_call_text(const char *text)
{
    if (!text || !cs_tel()) return;
    int saved = errno;
    emit_text(text);
    errno = saved;
}

void cs_emit_sockaddr(const struct sockaddr *sa, socklen_t len)
{
    char text[sizeof(struct sockaddr_un) + 8];
    int saved = errno;
    if (cs_format_sockaddr(sa, len, text, sizeof text)) emit_text(text);
    errno = saved;
}

void cs_emit_accepted(int fd)
{
    struct sockaddr_storage st;
    char text[sizeof(struct sockaddr_un) + 8];
    int saved = errno;
    size_t n = 0;
    socklen_t l = sizeof st;
    if (getpeername(fd, (struct sockaddr *)&st, &l) == 0)
        n = cs_format_sockaddr((struct sockaddr *)&st, l, text, sizeof text);
    if (!n) {
        /* An unnamed AF_UNIX client: show the path it connected to. */
        l = sizeof st;
        if (getsockname(fd, (struct sockaddr *)&st, &l) == 0 && st.ss_family == AF_UNIX)
            n = cs_format_sockaddr((struct sockaddr *)&st, l, text, sizeof text);
    }
    if (n) emit_text(text);
    errno = saved;
}
