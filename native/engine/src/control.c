#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../include/coroscope.h"
#include "config.h"
#include "control_cmd.h"
#include "emit_stack.h"
#include "fdtable.h"
#include "gate.h"
#include "log.h"
#include "preempt.h"
#include "procfs.h"
#include "real.h"
#include "sched.h"
#include "mutex.h"
#include "telemetry.h"
#include "wire/control_path.h"

#define PROTOCOL_VERSION 1

static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static _Atomic int listen_fd = -1;
static _Atomic int inherited_fd = -1; /* the launching inspector's socket, until it goes */
static _Atomic int thread_started;
/* Whole lines to the client: replies (control thread) and ring announcements
 * (any thread creating its ring) must not interleave on one socket. Held
 * across the send(2) of one whole line, and only there (a reply is built
 * before): a sleeping lock (mutex.h), since a send to an inspector that
 * reads slowly blocks; the engine's own, not a pthread mutex, because
 * announcements happen inside the scheduler and inside coroutines, where a
 * hooked pthread_mutex_unlock counts as the coroutine's lock and may run a
 * deferred preemption. */
static cs_mutex out_lock;

static int start_thread(void);


/* ---- replies ---------------------------------------------------------------------------------- */

typedef struct out {
    char buf[8192];
    size_t n;
} out;

static void put(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(o->buf + o->n, sizeof o->buf - o->n, fmt, ap);
    va_end(ap);
    if (k > 0) o->n = o->n + (size_t)k < sizeof o->buf ? o->n + (size_t)k : sizeof o->buf - 1;
}

static void put_json_string(out *o, const char *s)
{
    put(o, "\"");
    for (; *s && o->n < sizeof o->buf - 8; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            put(o, "\\%c", c);
        else if (c < 0x20)
            put(o, "\\u%04x", c);
        else
            put(o, "%c", c);
    }
    put(o, "\"");
}

static void send_all(int fd, const char *b, size_t n)
{
    while (n) {
        ssize_t k = cs_real.send(fd, b, n, MSG_NOSIGNAL);
        if (k <= 0) {
            if (k < 0 && errno == EINTR) continue;
            return;
        }
        b += k;
        n -= (size_t)k;
    }
}

static void reply(int fd, out *o)
{
    put(o, "\n");
    cs_mutex_lock(&out_lock);
    send_all(fd, o->buf, o->n);
    cs_mutex_unlock(&out_lock);
}

static void reply_error(int fd, const char *msg)
{
    out o = {.n = 0};
    put(&o, "{\"ok\":false,\"error\":");
    put_json_string(&o, msg);
    put(&o, "}");
    reply(fd, &o);
}

static void config_json(out *o)
{
    put(o,
        "{\"workers\":%d,\"stack_size\":%zu,\"time_slice_ns\":%llu,\"hooks\":%d,\"preempt\":%d,\"migrate\":%d,"
        "\"preempt_signal\":%d,\"flight_bytes\":%zu,\"trace_policy\":\"%s\"}",
        cs_cfg.workers, cs_cfg.stack_size, (unsigned long long)atomic_load(&cs_cfg.time_slice_ns),
        atomic_load(&cs_cfg.hooks), atomic_load(&cs_cfg.preempt), cs_cfg.migrate, cs_cfg.preempt_signal,
        cs_cfg.flight_bytes, cs_cfg.trace_policy == CS_TRACE_LOSSLESS ? "lossless" : "drop");
}

/* ---- commands --------------------------------------------------------------------------------- */

static void cmd_hello(int fd)
{
    char exe[1024], cmd[2048];
    long n = syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    cs_proc_read("/proc/self/cmdline", cmd, sizeof cmd, 1);
    out o = {.n = 0};
    put(&o, "{\"ok\":true,\"protocol\":%d,\"pid\":%d,\"exe\":", PROTOCOL_VERSION, (int)getpid());
    put_json_string(&o, exe);
    put(&o, ",\"cmdline\":");
    put_json_string(&o, cmd);
    put(&o, ",\"version\":\"%d.%d.%d\",\"paused\":%s,\"config\":", COROSCOPE_VERSION_MAJOR, COROSCOPE_VERSION_MINOR,
        COROSCOPE_VERSION_PATCH, cs_gate_paused() ? "true" : "false");
    config_json(&o);
    put(&o, "}");
    reply(fd, &o);
}

static void cmd_set(int fd, const cs_control_cmd *cmd)
{
    if (cmd->setting == CS_SET_DELAY) {
        cs_gate_set_delay(cmd->value);
        out o = {.n = 0};
        put(&o, "{\"ok\":true,\"delay_ns\":%llu}", (unsigned long long)cmd->value);
        reply(fd, &o);
        return;
    }
    coroscope_config c;
    coroscope_config_get(&c);
    if (cmd->setting == CS_SET_SLICE)
        c.time_slice_ns = cmd->value;
    else
        *(cmd->setting == CS_SET_PREEMPT ? &c.preempt : &c.hooks) = (int)cmd->value;
    int err = coroscope_configure(&c);
    if (err) {
        reply_error(fd, strerror(err));
        return;
    }
    out o = {.n = 0};
    put(&o, "{\"ok\":true,\"config\":");
    config_json(&o);
    put(&o, "}");
    reply(fd, &o);
}

/* ---- snapshot --------------------------------------------------------------------------------- */

static const char *const hook_names[] = {
#define HOOK_NAME(ret, name, params) #name,
    CS_REAL_FUNCS(HOOK_NAME)
#undef HOOK_NAME
        "signal",
#define HOOK_NAME(ret, name, params) #name,
    CS_REAL_FUNCS_EXT(HOOK_NAME)
#undef HOOK_NAME
};

typedef struct snap {
    int first;
    int nomem;
    out o;
    char *all; /* the whole reply, built before it is sent */
    size_t n, cap;
} snap;

static void snap_flush(snap *s)
{
    if (s->n + s->o.n > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 65536;
        while (cap < s->n + s->o.n) cap *= 2;
        char *g = realloc(s->all, cap);
        if (!g) {
            s->nomem = 1;
            s->o.n = 0;
            return;
        }
        s->all = g;
        s->cap = cap;
    }
    memcpy(s->all + s->n, s->o.buf, s->o.n);
    s->n += s->o.n;
    s->o.n = 0;
}

static void snap_co(void *ctx, const cs_co *co)
{
    snap *s = ctx;
    static const char *const states[] = {"new", "ready", "running", "suspended", "done"};
    static const char *const whys[] = {"", "call", "join", "sleep"};
    int state = co->state >= 0 && co->state <= CS_CO_DONE ? co->state : 0;
    out *o = &s->o;
    put(o, "%s{\"id\":%llu,\"name\":", s->first ? "" : ",", (unsigned long long)co->id);
    put_json_string(o, co->name);
    put(o, ",\"state\":\"%s\",\"worker\":%d", states[state], co->owner && state != CS_CO_NEW ? co->owner->idx : -1);
    if (state == CS_CO_SUSPENDED) {
        int why = co->wait_why >= 1 && co->wait_why <= 3 ? co->wait_why : 1;
        put(o, ",\"wait\":{\"why\":\"%s\"", whys[why]);
        if (co->cur_hook >= 0 && co->cur_hook < (int)(sizeof hook_names / sizeof hook_names[0])) {
            put(o, ",\"call\":\"%s\"", hook_names[co->cur_hook]);
            if (co->call_pc) /* the program's call site: an inspector turns it into a source line */
                put(o, ",\"pc\":%llu", (unsigned long long)co->call_pc);
        }
        if (why == COROSCOPE_SUSPEND_JOIN)
            put(o, ",\"joining\":%llu", (unsigned long long)co->wait_detail);
        else if (co->wait_fd >= 0)
            put(o, ",\"fd\":%d,\"events\":\"%s\"", co->wait_fd,
                co->wait_events == 3   ? "rw"
                : co->wait_events == 2 ? "w"
                                       : "r");
        if (co->heap_idx >= 0) put(o, ",\"deadline_ns\":%llu", (unsigned long long)co->deadline);
        put(o, "}");
    }
    put(o, ",\"switches\":%llu,\"preemptions\":%llu}", (unsigned long long)co->switches,
        (unsigned long long)co->preempts);
    s->first = 0;
    if (o->n > sizeof o->buf - 1024) snap_flush(s);
}

/* Every live coroutine with its state and what it waits for, and each
 * worker's running coroutine. Run queues, timers and fd waiters follow from
 * the coroutines (ready with a worker, a deadline, an fd). Exact while
 * paused; otherwise a moment's picture. */
static void cmd_snapshot(int fd)
{
    snap s = {.first = 1, .o = {.n = 0}};
    put(&s.o, "{\"ok\":true,\"paused\":%s,\"time_ns\":%llu,\"workers\":[", cs_gate_paused() ? "true" : "false",
        (unsigned long long)cs_now_ns());
    /* Workers exist once the runtime has started (before: none to list). */
    int nworkers = atomic_load_explicit(&cs_rt.started, memory_order_acquire) == 2 ? cs_rt.nworkers : 0;
    for (int i = 0; i < nworkers; i++) {
        cs_worker *w = &cs_rt.workers[i];
        cs_co *cur = __atomic_load_n(&w->cur, __ATOMIC_RELAXED);
        put(&s.o, "%s{\"idx\":%d,\"tid\":%d,\"running\":", i ? "," : "", i, (int)w->tid);
        if (cur)
            put(&s.o, "%llu", (unsigned long long)cur->id);
        else
            put(&s.o, "null");
        put(&s.o, ",\"sleeping\":%s}", atomic_load(&w->sleeping) ? "true" : "false");
    }
    put(&s.o, "],\"coroutines\":[");
    cs_co_visit(snap_co, &s);
    put(&s.o, "]}\n");
    snap_flush(&s);
    if (s.nomem) {
        free(s.all);
        reply_error(fd, "snapshot: out of memory");
        return;
    }
    cs_mutex_lock(&out_lock);
    send_all(fd, s.all, s.n);
    cs_mutex_unlock(&out_lock);
    free(s.all);
}

/* ---- event rings for a subscribed inspector -------------------------------------------------- */

static int subscribed; /* control thread only */
static int rings_sent;
static int bell_sent;           /* the doorbell went to the control thread's client */
static int inherited_bell_sent; /* ... to the inherited inspector (under out_lock) */

/* One line carrying one fd (SCM_RIGHTS), under out_lock. */
static void send_fd_line_locked(int fd, const char *line, size_t n, int pass)
{
    struct iovec iov = {(void *)line, n};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &pass, sizeof(int));
    while (cs_real.sendmsg(fd, &m, MSG_NOSIGNAL) < 0 && errno == EINTR)
        ;
}

/* {"event":"doorbell"} carrying the eventfd the rings' producers ring when
 * they pass their watermark (wire/consumer.h): the inspector sleeps on it.
 * Sent once per client, before its first ring. */
static void send_bell_locked(int fd, int *sent)
{
    int bell = cs_tel_doorbell();
    if (*sent || bell < 0) return;
    static const char line[] = "{\"event\":\"doorbell\"}\n";
    send_fd_line_locked(fd, line, sizeof line - 1, bell);
    *sent = 1;
}

/* One line {"event":"ring",...} carrying the ring's memfd (SCM_RIGHTS),
 * after the doorbell if the client has not had it yet. Under out_lock. */
static void send_ring_locked(int fd, int ring_fd, uint32_t tid, uint16_t worker, int *bell)
{
    char line[128];
    int n = snprintf(line, sizeof line, "{\"event\":\"ring\",\"tid\":%u,\"worker\":%d}\n", tid,
                     worker == COROSCOPE_NO_WORKER ? -1 : (int)worker);
    send_bell_locked(fd, bell);
    send_fd_line_locked(fd, line, (size_t)n, ring_fd);
}

static void send_ring(void *ctx, int ring_fd, uint32_t tid, uint16_t worker)
{
    cs_mutex_lock(&out_lock);
    send_ring_locked(*(int *)ctx, ring_fd, tid, worker, &bell_sent);
    cs_mutex_unlock(&out_lock);
}

/* Ring announcer of the inherited inspector: runs on the thread that just
 * created its ring, before that thread's first record. */
static void announce_ring(int ring_fd, uint32_t tid, uint16_t worker)
{
    cs_mutex_lock(&out_lock); /* the fd is looked at under the lock: the control thread closes it after taking it */
    int fd = atomic_load(&inherited_fd);
    if (fd >= 0) send_ring_locked(fd, ring_fd, tid, worker, &inherited_bell_sent);
    cs_mutex_unlock(&out_lock);
}

void cs_control_program_started(void)
{
    /* The inherited inspector's control thread starts just before main
     * (libc is up, no call of the program in progress) or with the runtime
     * (cs_control_start). */
    if (atomic_load(&inherited_fd) >= 0 && !atomic_load_explicit(&thread_started, memory_order_relaxed)) start_thread();
}

static void send_new_rings(int fd)
{
    if (subscribed && fd != atomic_load(&inherited_fd)) /* the inherited one hears from each thread */
        rings_sent = cs_tel_rings(rings_sent, send_ring, &fd);
}

static void unsubscribe(void)
{
    cs_tel_set_ring_announcer(NULL);
    if (subscribed) cs_tel_subscribe(0, 0);
    subscribed = 0;
}

/* One command line (parsed by control_cmd.c); returns 0 to keep the
 * client, -1 to close it. */
static int command(int fd, char *line)
{
    cs_control_cmd cmd;
    if (cs_control_parse(line, strlen(line), &cmd)) {
        reply_error(fd, cmd.error);
        return 0;
    }
    out o = {.n = 0};
    switch (cmd.verb) {
    case CS_CMD_HELLO: cmd_hello(fd); break;
    case CS_CMD_PAUSE:
        cs_gate_pause(1);
        put(&o, "{\"ok\":true,\"paused\":true}");
        reply(fd, &o);
        break;
    case CS_CMD_RESUME:
        cs_gate_pause(0);
        put(&o, "{\"ok\":true,\"paused\":false}");
        reply(fd, &o);
        break;
    case CS_CMD_STEP:
        if (cs_gate_step(cmd.steps)) {
            reply_error(fd, "not paused: pause first");
            return 0;
        }
        put(&o, "{\"ok\":true,\"steps\":%ld}", cmd.steps);
        reply(fd, &o);
        break;
    case CS_CMD_SET: cmd_set(fd, &cmd); break;
    case CS_CMD_SNAPSHOT: cmd_snapshot(fd); break;
    case CS_CMD_STACK: {
        uintptr_t pc[CS_STACK_MAX_DEPTH];
        const char *state = "unknown";
        int n = cs_stack_on_demand(cmd.co, pc, CS_STACK_MAX_DEPTH, &state);
        if (n == -2) {
            reply_error(fd, "stack: the worker did not answer within 100 ms");
            return 0;
        }
        put(&o, "{\"ok\":true,\"co\":%llu,\"state\":\"%s\",\"frames\":[", (unsigned long long)cmd.co,
            n >= 0 ? "running" : state);
        for (int i = 0; i < n; i++) put(&o, "%s\"0x%llx\"", i ? "," : "", (unsigned long long)pc[i]);
        put(&o, "]}");
        reply(fd, &o);
        break;
    }
    case CS_CMD_SUBSCRIBE: {
        int lossless = cmd.policy == 1;
        int err = subscribed ? (cmd.policy >= 0 ? cs_tel_set_lossless(lossless) : 0) : cs_tel_subscribe(1, lossless);
        if (err) {
            reply_error(fd, "the event rings are being recorded to the COROSCOPE_TRACE file");
            return 0;
        }
        if (!subscribed) {
            rings_sent = 0;
            bell_sent = 0;
        }
        subscribed = 1;
        put(&o, "{\"ok\":true,\"subscribed\":true,\"policy\":\"%s\"}", cs_tel_lossless() ? "lossless" : "drop");
        reply(fd, &o);
        /* One {"event":"ring"} line with its fd per ring, now and later; this
         * thread's own ring among them before it describes every coroutine
         * (CO_INFO), so the inspector drains it meanwhile. */
        cs_tel_prepare_thread();
        send_new_rings(fd);
        cs_tel_existing_coroutines();
        break;
    }
    case CS_CMD_UNSUBSCRIBE:
        unsubscribe();
        put(&o, "{\"ok\":true,\"subscribed\":false}");
        reply(fd, &o);
        break;
    case CS_CMD_DETACH:
        unsubscribe();
        cs_gate_set_delay(0);
        cs_gate_pause(0);
        put(&o, "{\"ok\":true}");
        reply(fd, &o);
        return -1;
    }
    return 0;
}

/* ---- the control thread ----------------------------------------------------------------------- */

static int peer_is_us(int fd)
{
    struct ucred cr;
    socklen_t len = sizeof cr;
    return cs_real.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 && cr.uid == getuid();
}

static void serve(int c)
{
    char buf[4096];
    size_t n = 0;
    struct pollfd p[2] = {{.fd = c, .events = POLLIN}, {.fd = -1, .events = POLLIN}};
    for (;;) {
        p[1].fd = atomic_load(&listen_fd);    /* may appear later (inherited client first) */
        struct timespec tick = {0, 20000000}; /* subscribed: look for new rings every 20 ms */
        long pr = syscall(SYS_ppoll, p, 2, subscribed ? &tick : NULL, NULL, (size_t)8);
        if (pr < 0 && errno != EINTR) break;
        send_new_rings(c);
        if (pr <= 0) continue;
        if (p[1].fd >= 0 && (p[1].revents & POLLIN)) { /* one client at a time */
            int other = cs_real.accept4(p[1].fd, NULL, NULL, SOCK_CLOEXEC);
            if (other >= 0) {
                if (peer_is_us(other)) reply_error(other, "busy: another inspector is attached");
                syscall(SYS_close, other);
            }
        }
        if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t k = cs_real.recv(c, buf + n, sizeof buf - 1 - n, 0);
        if (k <= 0) break; /* the inspector went away */
        n += (size_t)k;
        /* Lines are found by length, not as C strings: a NUL byte inside a
         * line must not hide the newline after it (the stream would lose
         * its framing). Such a line is refused as a whole. */
        char *line = buf, *nl;
        while ((nl = memchr(line, '\n', n - (size_t)(line - buf)))) {
            size_t len = (size_t)(nl - line);
            *nl = '\0';
            if (len && line[len - 1] == '\r') line[--len] = '\0';
            if (memchr(line, '\0', len))
                reply_error(c, "a NUL byte in the command line: line ignored");
            else if (len && command(c, line) < 0)
                return;
            line = nl + 1;
        }
        n -= (size_t)(line - buf);
        memmove(buf, line, n);
        if (n == sizeof buf - 1) {
            reply_error(c, "command line too long");
            break;
        }
    }
}

/* The client left: whatever happened to it, the target runs on. */
static void client_gone(int c)
{
    unsubscribe();
    syscall(SYS_close, c);
    cs_fd_unhide(c);
    if (cs_gate_delay()) /* no slow motion without anyone watching */
        cs_gate_set_delay(0);
    if (cs_gate_paused()) cs_gate_pause(0);
}

static void *control_main(void *arg)
{
    (void)arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    pthread_setname_np(pthread_self(), "cs-control");
    cs_tel_mute_thread();
    int inh = atomic_load(&inherited_fd);
    if (inh >= 0) {
        subscribed = 1;
        serve(inh);
        cs_mutex_lock(&out_lock); /* no announcement in flight on a closing fd */
        atomic_store(&inherited_fd, -1);
        cs_mutex_unlock(&out_lock);
        client_gone(inh);
    }
    for (;;) {
        int lfd = atomic_load(&listen_fd);
        if (lfd < 0) { /* the runtime has not started the socket yet */
            struct timespec ts = {0, 50000000};
            syscall(SYS_nanosleep, &ts, NULL);
            continue;
        }
        int c = cs_real.accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            break;
        }
        if (peer_is_us(c)) serve(c);
        client_gone(c);
    }
    return NULL;
}

static int start_thread(void)
{
    int zero = 0;
    if (!atomic_compare_exchange_strong(&thread_started, &zero, 1)) return 0;
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    int err = pthread_create(&t, &at, control_main, NULL);
    pthread_attr_destroy(&at);
    if (err) atomic_store(&thread_started, 0);
    return err;
}

static void remove_socket(void)
{
    if (sock_path[0]) unlink(sock_path);
}

/* The per-user directory (control_path.h), refused unless ours and closed. */
static int runtime_dir(char *dir, size_t n)
{
    int err = cs_control_dir_make(dir, n);
    if (err == EPERM) {
        struct stat st = {0};
        lstat(dir, &st);
        cs_log("%s is not a private directory of this user (mode %o, uid %u): no control socket", dir,
               (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
    }
    return err;
}

int cs_control_start(void)
{
    char dir[sizeof sock_path - 16];
    int err = runtime_dir(dir, sizeof dir);
    if (err) return err;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    err = cs_control_socket_in(dir, getpid(), a.sun_path, sizeof a.sun_path);
    if (err) return err;
    int fd = cs_real.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno;
    unlink(a.sun_path); /* a stale socket of a dead process with our pid */
    mode_t old = umask(077);
    int r = bind(fd, (struct sockaddr *)&a, sizeof a);
    umask(old);
    if (r || chmod(a.sun_path, 0600) || listen(fd, 8)) {
        err = errno;
        syscall(SYS_close, fd);
        return err;
    }
    memcpy(sock_path, a.sun_path, sizeof sock_path);
    atomic_store(&listen_fd, cs_fd_hide(fd));
    atexit(remove_socket);
    return start_thread();
}

void cs_control_inherit(int fd, char **envp)
{
    /* Out of the environment first: whatever happens, children must not
     * take an unrelated fd of theirs for an inspector. */
    static const char key[] = "COROSCOPE_CONTROL_FD=";
    for (char **e = envp; e && *e; e++) {
        if (strncmp(*e, key, sizeof key - 1)) continue;
        char **d = e;
        do d[0] = d[1];
        while (*d++);
        e--;
    }
    struct stat st;
    struct ucred cr;
    socklen_t len = sizeof cr;
    if (cs_real.fstat(fd, &st) || !S_ISSOCK(st.st_mode) ||
        syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) || cr.uid != getuid()) {
        cs_log("COROSCOPE_CONTROL_FD=%d is not an inspector socket of this user; no inspector", fd);
        return;
    }
    int err = cs_control_adopt(fd);
    if (err == EBUSY) cs_log("COROSCOPE_TRACE records: the inspector socket is not used");
    /* Only with an inspector that launched us (it can step and resume, and
     * its going away resumes): a program started by hand never waits, nor
     * does a followed child. */
    if (!err && cs_cfg.start_paused) cs_gate_start_paused();
}

int cs_control_adopt(int fd)
{
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    if (cs_tel_subscribe(1, cs_cfg.trace_policy == CS_TRACE_LOSSLESS)) return EBUSY;
    atomic_store(&inherited_fd, cs_fd_hide(fd));
    cs_tel_set_ring_announcer(announce_ring);
    return 0;
}

void cs_control_atfork_child(void)
{
    /* The parent's socket is the parent's: a forked child has no control
     * channel of its own yet. */
    int lfd = atomic_exchange(&listen_fd, -1);
    if (lfd >= 0) {
        syscall(SYS_close, lfd);
        cs_fd_unhide(lfd);
    }
    int ifd = atomic_exchange(&inherited_fd, -1);
    if (ifd >= 0) { /* the inspector is the parent's */
        syscall(SYS_close, ifd);
        cs_fd_unhide(ifd);
    }
    atomic_store(&thread_started, 0);
    cs_tel_set_ring_announcer(NULL);
    cs_mutex_init(&out_lock);
    sock_path[0] = '\0';
    cs_gate_atfork_child();
}
