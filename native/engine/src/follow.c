/*
 * follow.c — see follow.h: joining the inspector of a followed session,
 * and the environment that keeps the engine in programs started below.
 *
 * Invariants:
 *   - saved[] holds, from the constructor on, the COROSCOPE_* entries this
 *     process loaded with (COROSCOPE_CONTROL_FD excepted: it names an fd of
 *     the launched process only) and the path of this library; it is written
 *     by the constructor alone and only read afterwards (also from a vfork
 *     child, which shares it).
 *   - serial is written by the constructor or the fork child's handler
 *     before any other engine thread of the process exists.
 *   - Nothing here allocates after the constructor: cs_follow_env runs in
 *     exec hooks, possibly in a vfork child.
 */
#include "follow.h"

#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "../include/coroscope_events.h"
#include "config.h"
#include "control.h"
#include "hook.h"
#include "log.h"
#include "real.h"
#include "sched.h"
#include "telemetry.h"

#define MAX_SAVED       48
#define JOIN_TIMEOUT_MS 5000

static char *saved[MAX_SAVED]; /* "COROSCOPE_X=v" entries to re-arm */
static size_t nsaved;
static char lib_path[4096]; /* this library, for LD_PRELOAD */
static char inspector[108]; /* COROSCOPE_INSPECTOR ("": none) */
static int following;       /* an inspector socket and following on */
static uint32_t serial;
static int how = COROSCOPE_SPAWN_LAUNCHED;
static int parent_pid;         /* the parent when the process joined (0: ask getppid) */
static _Atomic int exited_pid; /* the process that left its PROCESS_EXIT (a vfork child shares this) */

int cs_follow_on(void)
{
    return following;
}
uint32_t cs_follow_serial(void)
{
    return serial;
}
int cs_follow_how(void)
{
    return how;
}
int cs_follow_ppid(void)
{
    return parent_pid ? parent_pid : (int)getppid();
}

static const char *env_get(char **envp, const char *name)
{
    size_t n = strlen(name);
    for (char **e = envp; e && *e; e++)
        if (!strncmp(*e, name, n) && (*e)[n] == '=') return *e + n + 1;
    return NULL;
}

/* One line from fd, at most n-1 bytes, within the deadline. 0, -1 (no
 * line in time, or an error) or -2 (the peer closed). */
static int read_line(int fd, char *buf, size_t n, int timeout_ms)
{
    size_t k = 0;
    while (k + 1 < n) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = cs_real.poll(&p, 1, timeout_ms);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        ssize_t m = cs_real.recv(fd, buf + k, 1, 0);
        if (m < 0 && errno == EINTR) continue;
        if (m <= 0) return m == 0 ? -2 : -1;
        if (buf[k] == '\n') {
            buf[k] = '\0';
            return 0;
        }
        k++;
    }
    return -1;
}

/* Connect to the inspector and take a serial; the socket then serves as
 * an inherited control socket. 0 or an errno value. */
static int join(int how_joined)
{
    int fd = cs_real.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path, inspector, sizeof a.sun_path - 1);
    int err = 0;
    if (syscall(SYS_connect, fd, (struct sockaddr *)&a, sizeof a)) {
        err = errno;
        goto fail;
    }
    struct ucred cr;
    socklen_t len = sizeof cr;
    if (cs_real.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) || cr.uid != getuid()) {
        err = EPERM;
        goto fail;
    }
    char line[160];
    int ppid = (int)getppid();
    int n = snprintf(line, sizeof line, "follow pid=%d ppid=%d how=%s\n", (int)getpid(), ppid,
                     how_joined == COROSCOPE_SPAWN_FORK ? "fork" : "exec");
    if (cs_real.send(fd, line, (size_t)n, MSG_NOSIGNAL) != n) {
        err = errno ? errno : EIO;
        goto fail;
    }
    int rl = read_line(fd, line, sizeof line, JOIN_TIMEOUT_MS);
    if (rl) {
        err = rl == -2 ? ECONNRESET : ETIMEDOUT;
        goto fail;
    }
    const char *refused = strstr(line, "\"error\":\"");
    if (refused) {
        cs_log("process %d is not traced: the inspector refused it: %.*s", (int)getpid(),
               (int)strcspn(refused + 9, "\""), refused + 9);
        err = EAGAIN; /* said */
        goto fail;
    }
    const char *s = strstr(line, "\"serial\":");
    unsigned long v = s ? strtoul(s + 9, NULL, 10) : 0;
    if (!strstr(line, "\"ok\":true") || v == 0 || v >= (1ul << 20)) {
        err = EPROTO;
        goto fail;
    }
    serial = (uint32_t)v;
    how = how_joined;
    parent_pid = ppid;
    uint64_t base = (uint64_t)serial << 32;
    /* Disjoint ids (follow.h): coroutines from here on, strings. */
    atomic_store(&cs_rt.next_id, base + 1);
    cs_tel_set_id_base(base);
    err = cs_control_adopt(fd);
    if (err) goto fail;
    return 0;
fail:
    syscall(SYS_close, fd);
    return err;
}

static void save(const char *entry)
{
    if (nsaved == MAX_SAVED) return;
    char *c = strdup(entry);
    if (c) saved[nsaved++] = c;
}

/* Failures not worth a line: the session ended (its socket is gone or
 * nobody listens: a program that outlives it runs on untraced, like any
 * program started after `strace -f` detached), or the inspector's refusal
 * was already said by join (EAGAIN). */
static int quiet_failure(int err)
{
    return err == ENOENT || err == ECONNREFUSED || err == EAGAIN;
}

void cs_follow_load(char **envp)
{
    const char *ins = env_get(envp, "COROSCOPE_INSPECTOR");
    int on = 1;
    const char *f = env_get(envp, "COROSCOPE_FOLLOW");
    if (f && (!strcmp(f, "0") || !strcmp(f, "off") || !strcmp(f, "no") || !strcmp(f, "false"))) on = 0;
    if (!ins || !*ins || !on || !cs_cfg.inherit) return;
    if (ins[0] != '/' || strlen(ins) >= sizeof inspector) {
        cs_log("COROSCOPE_INSPECTOR=%s is not a socket path; children are not followed", ins);
        return;
    }
    memcpy(inspector, ins, strlen(ins) + 1);
    Dl_info di;
    if (!dladdr((void *)cs_follow_load, &di) || !di.dli_fname || di.dli_fname[0] != '/' ||
        strlen(di.dli_fname) >= sizeof lib_path) {
        cs_log("cannot tell where libcoroscope.so is; children are not followed");
        return;
    }
    memcpy(lib_path, di.dli_fname, strlen(di.dli_fname) + 1);
    for (char **e = envp; e && *e; e++)
        if (!strncmp(*e, "COROSCOPE_", 10) && strncmp(*e, "COROSCOPE_CONTROL_FD=", 21) &&
            strncmp(*e, "COROSCOPE_TRACE=", 16))
            save(*e);
    following = 1;
    if (cs_cfg.control_fd >= 0) return; /* the launched process: its inspector came with it */
    int err = join(COROSCOPE_SPAWN_EXEC);
    if (err && !quiet_failure(err))
        cs_log("process %d is not traced: the inspector at %s did not take it (%s)", (int)getpid(), inspector,
               strerror(err));
}

void cs_follow_atfork_child(void)
{
    if (!following) return;
    serial = 0;
    int err = join(COROSCOPE_SPAWN_FORK);
    if (err) {
        if (!quiet_failure(err))
            cs_log("forked child %d is not traced: the inspector at %s did not take it (%s)", (int)getpid(), inspector,
                   strerror(err));
        return;
    }
    /* A coroutine that forked goes on in the child, under an id of the
     * child's space (its parent-space id stays the parent's). */
    if (cs_tls.co) cs_tls.co->id = atomic_fetch_add(&cs_rt.next_id, 1);
    cs_control_program_started(); /* its control thread serves the new socket */
    cs_tel_prepare_thread();      /* says who it is (PROCESS, LINEAGE) now, not at its first event */
}

void cs_follow_main(void)
{
    /* The first safe moment of a process that joined at load: its
     * metadata goes out now, so a program that emits nothing for a long
     * time (or is detached first) is still known to the inspector. The
     * launched process (serial 0) is known to it already and keeps its
     * first records for its first event. */
    if (following && serial) cs_tel_prepare_thread();
}

size_t cs_follow_env_extra(void)
{
    return following ? nsaved + 1 : 0;
}

static int has_lib(const char *list)
{
    /* LD_PRELOAD: names separated by spaces or colons */
    const char *base = strrchr(lib_path, '/');
    base = base ? base + 1 : lib_path;
    size_t bl = strlen(base);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ':') p++;
        const char *tok = p;
        while (*p && *p != ' ' && *p != ':') p++;
        const char *tb = tok;
        for (const char *q = tok; q < p; q++)
            if (*q == '/') tb = q + 1;
        if ((size_t)(p - tb) == bl && !strncmp(tb, base, bl)) return 1;
    }
    return 0;
}

char *const *cs_follow_env(char *const *envp, char **out, size_t cap, char *buf, size_t bufn)
{
    if (!following) return envp;
    size_t n = 0;
    const char *preload = NULL;
    for (; envp && envp[n]; n++)
        if (!strncmp(envp[n], "LD_PRELOAD=", 11)) preload = envp[n] + 11;
    int need_preload = !preload || !has_lib(preload);
    size_t missing = 0;
    for (size_t i = 0; i < nsaved; i++) {
        size_t klen = (size_t)(strchr(saved[i], '=') - saved[i]) + 1;
        int found = 0;
        for (size_t j = 0; j < n && !found; j++) found = !strncmp(envp[j], saved[i], klen);
        missing += !found;
    }
    if (!need_preload && !missing) return envp;
    if (n + missing + 2 > cap) return NULL;
    size_t k = 0, used = 0;
    for (size_t j = 0; j < n; j++) {
        if (need_preload && !strncmp(envp[j], "LD_PRELOAD=", 11)) continue; /* rebuilt below, with this library first */
        out[k++] = envp[j];
    }
    for (size_t i = 0; i < nsaved; i++) {
        size_t klen = (size_t)(strchr(saved[i], '=') - saved[i]) + 1;
        int found = 0;
        for (size_t j = 0; j < n && !found; j++) found = !strncmp(envp[j], saved[i], klen);
        if (!found) out[k++] = saved[i];
    }
    if (need_preload) {
        int w =
            snprintf(buf, bufn, "LD_PRELOAD=%s%s%s", lib_path, preload && *preload ? ":" : "", preload ? preload : "");
        if (w < 0 || (size_t)w >= bufn) return NULL;
        out[k++] = buf;
        used = (size_t)w + 1;
    }
    (void)used;
    out[k] = NULL;
    return out;
}

void cs_follow_exit(int code)
{
    int me = (int)getpid();
    if (!cs_tel() || atomic_exchange(&exited_pid, me) == me) return;
    cs_tel_emit(COROSCOPE_EV_PROCESS_EXIT, 0, (uint64_t)getpid(), (uint64_t)(int64_t)code, serial, 0, 0);
    cs_tel_flush();
}
