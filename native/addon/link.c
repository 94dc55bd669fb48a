/*
 * link.c — see link.h. Everything here runs on the link's own thread
 * (cs_link_run), except the few functions link.h names as thread-safe, which
 * touch only the socket under send_lock, the wake eventfd, the pid and atomics.
 */
#include "link.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wire/consumer.h"
#include "wire/control_path.h"
#include "wire/reader.h"
#include "wire/recv_fds.h"
#include "wire/ring.h"

#define MAX_RINGS        4096
#define LINE_MAX_BYTES   (64u << 20) /* a snapshot of very many coroutines is one long line */
#define CHILD_CONTROL_FD 3
#define PIPE_GRACE_NS    2000000000ull /* after exit, how long to wait for pipes held by grandchildren */

struct cs_link {
    pid_t pid;
    int pidfd;
    int is_child;
    int sock;
    int out_fd, err_fd;
    int wake_fd;
    pthread_mutex_t send_lock;
    _Atomic int stopping;

    cs_ring **rings;      /* attached rings (each malloc'd: the consumer holds pointers to them) */
    uint32_t *ring_owner; /* per ring: 0 the launched (or attached) process, i + 1 followed process i */
    uint32_t nrings;
    cs_consumer cons;  /* drains them (wire/consumer.h); its doorbell is the engine's eventfd */
    cs_fd_lines lines; /* the socket's lines, each with the fd that came with it (wire/recv_fds.h) */

    cs_trace_writer *writer;
    char *record_path;
    cs_reader *strings;
    const char *policy; /* "lossless" or "drop" (static strings) */

    cs_link_string *strs; /* strings of the batch being handed over */
    size_t strs_cap;
    uint32_t period_ms;
    uint64_t last_post_ns;

    char *hello; /* attach: the hello reply, read before the loop; delivered first */

    /* Followed processes (README "Children", engine follow.h): a listening
     * socket whose path the target's environment names (COROSCOPE_INSPECTOR);
     * every forked child and exec'd program below the target connects to it,
     * takes a serial and then speaks like an inherited control socket. */
    int follow_fd;        /* listening socket (-1: not following) */
    char *follow_warning; /* why following could not be set up (delivered first as an error), or NULL */
    char follow_path[108];
    struct link_proc *procs; /* connected (or once connected) followed processes */
    uint32_t nprocs;
    uint32_t next_serial;

    _Atomic uint64_t st_events, st_dropped, st_bytes, st_batches, st_delivered;
    _Atomic int st_rec_err;
    _Atomic uint32_t st_rings;
};

#define MAX_PROCS 1024
#define FOLLOW_QUIET_NS \
    300000000ull               /* after the last process left: how long a program being exec'd may take to connect */
#define RETIRE_NS 500000000ull /* a followed process gone this long: its drained rings are let go */

/* One followed process: its socket (lines with ring fds, like the launched
 * process's) and its doorbell; its rings go to the link's one consumer. */
typedef struct link_proc {
    int sock; /* -1: gone (exited or exec'd) */
    int bell; /* its engine's doorbell eventfd (-1: none yet) */
    int pid;
    uint32_t serial;  /* 0 until its "follow" line */
    uint64_t gone_ns; /* when its socket closed (it exited or exec'd; 0: connected) */
    int retired;      /* every ring of it drained and let go: the slot is free for another */
    cs_fd_lines lines;
} link_proc;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* "what[ subject]: <strerror(code)>" into err; returns code. */
static int fail(char *err, size_t n, int code, const char *what, const char *subject)
{
    if (err && n) snprintf(err, n, "%s%s%s: %s", what, subject ? " " : "", subject ? subject : "", strerror(code));
    return code;
}


static cs_link *link_new(uint32_t batch_events, uint32_t period_ms, const char *record_path, const char *policy,
                         char *err, size_t errn, int *code)
{
    cs_link *l = calloc(1, sizeof *l);
    if (!l) {
        *code = fail(err, errn, ENOMEM, "cannot set up the link", NULL);
        return NULL;
    }
    l->pid = -1;
    l->pidfd = l->sock = l->out_fd = l->err_fd = -1;
    l->follow_fd = -1;
    l->next_serial = 1;
    l->cons.doorbell = -1;
    pthread_mutex_init(&l->send_lock, NULL);
    if (policy && strcmp(policy, "lossless") && strcmp(policy, "drop")) {
        *code = EINVAL;
        snprintf(err, errn, "policy %s: expected lossless or drop", policy);
        cs_link_free(l);
        return NULL;
    }
    l->policy = policy && !strcmp(policy, "lossless") ? "lossless" : "drop";
    l->period_ms = period_ms ? period_ms : 5;
    int nomem = cs_consumer_init(&l->cons, batch_events ? batch_events : 65536);
    l->strs_cap = 4096;
    l->strs = malloc(l->strs_cap * sizeof *l->strs);
    l->rings = calloc(MAX_RINGS, sizeof *l->rings);
    l->ring_owner = calloc(MAX_RINGS, sizeof *l->ring_owner);
    l->strings = cs_reader_new_live();
    if (!nomem) nomem = cs_fd_lines_init(&l->lines, LINE_MAX_BYTES);
    l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (nomem || !l->strs || !l->rings || !l->ring_owner || !l->strings || l->wake_fd < 0) {
        *code = fail(err, errn, ENOMEM, "cannot set up the link", NULL);
        cs_link_free(l);
        return NULL;
    }
    if (record_path && *record_path && !(l->record_path = strdup(record_path))) {
        *code = fail(err, errn, ENOMEM, "cannot set up the link", NULL);
        cs_link_free(l);
        return NULL;
    }
    return l;
}

/* The trace file, once the pid is known (it goes in the header). */
static int open_record(cs_link *l, char *err, size_t errn)
{
    if (!l->record_path) return 0;
    cs_trace_err te;
    cs_trace_writer_opts wo = {.pid = (uint32_t)l->pid};
    if (cs_trace_writer_create(&l->writer, l->record_path, &wo, &te)) {
        snprintf(err, errn, "cannot record to %s: %s", l->record_path, te.msg);
        return te.sys_errno ? te.sys_errno : EIO;
    }
    return 0;
}

/* ---- launching ------------------------------------------------------------------------------ */

/* The inherited inspector's policy (control.h): the engine reads it at load. */
static const char *const POLICY_ENV[] = {"COROSCOPE_TRACE_POLICY=drop", "COROSCOPE_TRACE_POLICY=lossless"};

static char **child_env(char *const *envp, const char *preload, const char *policy, const char *inspector)
{
    size_t n = 0;
    const char *old_preload = NULL;
    for (; envp && envp[n]; n++)
        if (!strncmp(envp[n], "LD_PRELOAD=", 11)) old_preload = envp[n] + 11;
    char **env = calloc(n + 6, sizeof *env);
    if (!env) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(envp[i], "LD_PRELOAD=", 11) && strncmp(envp[i], "COROSCOPE_CONTROL_FD=", 21) &&
            strncmp(envp[i], "COROSCOPE_TRACE_POLICY=", 23) && strncmp(envp[i], "COROSCOPE_INSPECTOR=", 20) &&
            strncmp(envp[i], "COROSCOPE_FOLLOW=", 17))
            env[k++] = envp[i];
    env[k++] = (char *)POLICY_ENV[!strcmp(policy, "lossless")];
    /* Following (engine follow.h): where children report; or explicitly off. */
    env[k++] = (char *)(inspector ? inspector : "COROSCOPE_FOLLOW=0");
    size_t len = strlen(preload) + (old_preload ? strlen(old_preload) + 1 : 0) + 12;
    char *p = malloc(len);
    char *c = malloc(32);
    if (!p || !c) {
        free(p), free(c), free(env);
        return NULL;
    }
    snprintf(p, len, "LD_PRELOAD=%s%s%s", preload, old_preload && *old_preload ? ":" : "",
             old_preload ? old_preload : "");
    snprintf(c, 32, "COROSCOPE_CONTROL_FD=%d", CHILD_CONTROL_FD);
    env[k++] = p;
    env[k++] = c;
    env[k] = NULL;
    return env;
}

/* The follow socket: <runtime dir>/follow-<our pid>-<n>.sock, mode 0600 in
 * a 0700 directory of ours (the engine's control sockets' directory,
 * control_path.h). */
static int follow_listen(cs_link *l)
{
    static _Atomic unsigned counter;
    char dir[80]; /* room left in sun_path for "/follow-<pid>-<n>.sock" */
    int err = cs_control_dir_make(dir, sizeof dir);
    if (err) return err;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s/follow-%d-%u.sock", dir, (int)getpid(), atomic_fetch_add(&counter, 1));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return errno;
    unlink(a.sun_path);
    mode_t old = umask(077);
    int r = bind(fd, (struct sockaddr *)&a, sizeof a);
    umask(old);
    if (r || listen(fd, 64)) {
        int e = errno;
        close(fd);
        unlink(a.sun_path);
        return e;
    }
    l->follow_fd = fd;
    memcpy(l->follow_path, a.sun_path, sizeof l->follow_path);
    l->procs = calloc(MAX_PROCS, sizeof *l->procs);
    return l->procs ? 0 : ENOMEM;
}

int cs_link_spawn(cs_link **out, const cs_link_spawn_opts *o, char *err, size_t errn)
{
    *out = NULL;
    int code = 0;
    cs_link *l = link_new(o->batch_events, o->period_ms, o->record_path, o->policy, err, errn, &code);
    if (!l) return code;
    int sv[2] = {-1, -1}, po[2] = {-1, -1}, pe[2] = {-1, -1}, child_sock = -1;
    char **env = NULL;
    char inspector_env[160];
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) || pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC)) {
        code = fail(err, errn, errno, "cannot create the target's pipes", NULL);
        goto out;
    }
    /* Above the fds the child gets (0..3), so dup2 never meets itself. */
    child_sock = fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
    if (child_sock < 0) {
        code = fail(err, errn, errno, "cannot prepare the launch", NULL);
        goto out;
    }
    int follow = !o->no_follow;
    if (follow) {
        int fe = follow_listen(l);
        if (fe) { /* the program still runs, alone: said as the link's first problem */
            char m[256];
            snprintf(m, sizeof m, "children are not followed: cannot create the socket they report to (%s)",
                     fe == EPERM ? "the runtime directory is not private to this user" : strerror(fe));
            l->follow_warning = strdup(m);
            follow = 0;
        } else {
            snprintf(inspector_env, sizeof inspector_env, "COROSCOPE_INSPECTOR=%s", l->follow_path);
        }
    }
    if (!(env = child_env(o->envp, o->preload, l->policy, follow ? inspector_env : NULL))) {
        code = fail(err, errn, ENOMEM, "cannot prepare the launch", NULL);
        goto out;
    }
    if (o->stdin_null) posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    posix_spawn_file_actions_adddup2(&fa, child_sock, CHILD_CONTROL_FD);
    posix_spawn_file_actions_addclosefrom_np(&fa, CHILD_CONTROL_FD + 1);
    if (o->cwd && *o->cwd) posix_spawn_file_actions_addchdir_np(&fa, o->cwd);
    /* The inspector (Node) ignores SIGPIPE and may block signals: the target
     * starts with every signal at its default and none blocked. */
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int e = posix_spawn(&pid, o->file, &fa, &at, o->argv, env);
    if (e) {
        code = fail(err, errn, e, "cannot start", o->file);
        goto out;
    }
    l->pid = pid;
    l->is_child = 1;
    l->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    l->sock = sv[0], sv[0] = -1;
    l->out_fd = po[0], po[0] = -1;
    l->err_fd = pe[0], pe[0] = -1;
    if (l->pidfd < 0)
        code = fail(err, errn, errno, "pidfd_open (Linux 5.3 or newer is needed)", NULL);
    else
        code = open_record(l, err, errn);
    if (code) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        l->is_child = 0;
    }
out:
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (env) {
        for (char **p = env; *p; p++)
            if (!strncmp(*p, "LD_PRELOAD=", 11) || !strncmp(*p, "COROSCOPE_CONTROL_FD=", 21)) free(*p);
        free(env);
    }
    int fds[] = {sv[0], sv[1], po[0], po[1], pe[0], pe[1], child_sock};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (fds[i] >= 0) close(fds[i]);
    if (code) {
        cs_link_free(l);
        return code;
    }
    *out = l;
    return 0;
}

/* ---- attaching ------------------------------------------------------------------------------ */

/* The first reply, synchronously: an engine that already has an inspector
 * answers "busy" and closes, which deserves its own words. */
#define HELLO_MAX 65536

static int read_hello(cs_link *l, char *err, size_t errn)
{
    char *line = malloc(HELLO_MAX);
    if (!line) return ENOMEM;
    int rc = 0;
    size_t n = 0;
    for (;;) {
        struct pollfd p = {.fd = l->sock, .events = POLLIN};
        if (poll(&p, 1, 3000) <= 0) {
            snprintf(err, errn, "process %d: the engine did not answer", (int)l->pid);
            rc = ETIMEDOUT;
            goto out;
        }
        char c;
        ssize_t k = recv(l->sock, &c, 1, 0);
        if (k <= 0) {
            snprintf(err, errn, "process %d: the engine closed the connection", (int)l->pid);
            rc = ECONNRESET;
            goto out;
        }
        if (c == '\n') break;
        if (n + 1 < HELLO_MAX) line[n++] = c;
    }
    line[n] = '\0';
    if (strstr(line, "\"ok\":false")) {
        const char *m = strstr(line, "\"error\":\"");
        snprintf(err, errn, "process %d: %.*s", (int)l->pid, m ? (int)strcspn(m + 9, "\"") : 40, m ? m + 9 : line);
        rc = EBUSY;
        goto out;
    }
    l->hello = strdup(line);
    rc = l->hello ? 0 : ENOMEM;
out:
    free(line);
    return rc;
}

int cs_link_attach(cs_link **out, pid_t pid, const char *record_path, uint32_t batch_events, uint32_t period_ms,
                   const char *policy, char *err, size_t errn)
{
    *out = NULL;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (pid <= 0 || (kill(pid, 0) && errno == ESRCH)) {
        snprintf(err, errn, "no process %d", (int)pid);
        return ESRCH;
    }
    if (cs_control_socket_find(pid, a.sun_path, sizeof a.sun_path)) {
        snprintf(err, errn, "process %d runs no Coroscope engine (no control socket %s)", (int)pid, a.sun_path);
        return ENOENT;
    }
    int code = 0;
    cs_link *l = link_new(batch_events, period_ms, record_path, policy, err, errn, &code);
    if (!l) return code;
    l->pid = pid;
    l->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l->sock < 0 || connect(l->sock, (struct sockaddr *)&a, sizeof a)) {
        code = errno;
        if (code == ECONNREFUSED) /* left by an earlier process that had this pid */
            snprintf(err, errn, "process %d runs no Coroscope engine (its control socket %s is stale)", (int)pid,
                     a.sun_path);
        else
            snprintf(err, errn, "cannot connect to %s: %s", a.sun_path, strerror(code));
        cs_link_free(l);
        return code;
    }
    l->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (l->pidfd < 0) {
        code = errno;
        snprintf(err, errn, "process %d: %s", (int)pid, strerror(code));
    } else {
        code = open_record(l, err, errn);
    }
    if (!code) {
        /* An engine that already has an inspector says so and closes, maybe
         * before our hello arrives (EPIPE): its reply is still to be read. */
        cs_link_send(l, "hello");
        code = read_hello(l, err, errn);
        if (!code) {
            char sub[64];
            snprintf(sub, sizeof sub, "subscribe policy=%s", l->policy);
            code = cs_link_send(l, sub);
        }
    }
    if (code) {
        if (!err[0]) snprintf(err, errn, "process %d: %s", (int)pid, strerror(code));
        cs_link_free(l);
        return code;
    }
    *out = l;
    return 0;
}

pid_t cs_link_pid(const cs_link *l)
{
    return l->pid;
}

/* ---- commands (any thread) ----------------------------------------------------------------- */

int cs_link_send(cs_link *l, const char *cmd)
{
    if (strchr(cmd, '\n')) return EINVAL;
    size_t n = strlen(cmd);
    char *b = malloc(n + 1);
    if (!b) return ENOMEM;
    memcpy(b, cmd, n);
    b[n] = '\n';
    int rc = 0;
    pthread_mutex_lock(&l->send_lock);
    for (size_t off = 0; off < n + 1;) {
        ssize_t k = l->sock >= 0 ? send(l->sock, b + off, n + 1 - off, MSG_NOSIGNAL) : -1;
        if (k < 0) {
            if (errno == EINTR) continue;
            rc = l->sock >= 0 ? errno : ENOTCONN;
            break;
        }
        off += (size_t)k;
    }
    pthread_mutex_unlock(&l->send_lock);
    free(b);
    return rc;
}

void cs_link_stop(cs_link *l)
{
    atomic_store(&l->stopping, 1);
    uint64_t one = 1;
    if (write(l->wake_fd, &one, sizeof one) < 0) {
        /* the counter is already nonzero: the loop wakes anyway */
    }
}

int cs_link_kill(cs_link *l, int sig)
{
    if (!l->is_child || l->pidfd < 0) return EPERM;
    return syscall(SYS_pidfd_send_signal, l->pidfd, sig, NULL, 0) ? errno : 0;
}

void cs_link_stats_get(cs_link *l, cs_link_stats *o)
{
    o->events = atomic_load(&l->st_events);
    o->dropped = atomic_load(&l->st_dropped);
    o->delivered = atomic_load(&l->st_delivered);
    o->bytes_recorded = atomic_load(&l->st_bytes);
    o->batches = atomic_load(&l->st_batches);
    o->rings = atomic_load(&l->st_rings);
    o->recording_error = atomic_load(&l->st_rec_err);
}

/* ---- the reader loop -------------------------------------------------------------------------- */

static void record(cs_link *l, const cs_link_sink *s, const coroscope_event *ev, size_t n)
{
    if (!l->writer || atomic_load(&l->st_rec_err)) return;
    if (!cs_trace_writer_append(l->writer, ev, n) && !cs_trace_writer_flush(l->writer)) {
        atomic_store(&l->st_bytes, cs_trace_writer_bytes(l->writer)); /* what the file holds (compressed) */
        return;
    }
    const cs_trace_err *te = cs_trace_writer_status(l->writer);
    atomic_store(&l->st_rec_err, te->sys_errno ? te->sys_errno : EIO);
    char msg[512];
    snprintf(msg, sizeof msg, "recording to %s stopped: %s (what was recorded before is kept)", l->record_path,
             te->msg);
    s->error(s->ctx, msg);
}

/* Adds string id (resolved from the strings seen so far) to the list handed
 * over with the next batch (l->strs, grown as needed); an unknown id, or no
 * memory to grow, adds nothing. */
static void list_string(cs_link *l, size_t *ns, uint64_t id)
{
    size_t len;
    const char *text = cs_reader_string(l->strings, id, &len, NULL);
    if (!text) return;
    if (*ns == l->strs_cap) {
        cs_link_string *g = realloc(l->strs, l->strs_cap * 2 * sizeof *g);
        if (!g) return;
        l->strs = g, l->strs_cap *= 2;
    }
    l->strs[(*ns)++] = (cs_link_string){id, text, len};
}

static int is_process_record(unsigned kind)
{
    return kind == COROSCOPE_EV_PROCESS || kind == COROSCOPE_EV_THREAD || kind == COROSCOPE_EV_LINEAGE ||
           kind == COROSCOPE_EV_PROCESS_EXIT || kind == COROSCOPE_EV_SPAWN;
}

/* cs_link_sink process_only: the process records of a batch (few: one per
 * process and thread, exit or program started) with the strings they name
 * (PROCESS a1 a2, THREAD a1, SPAWN a2 a4), resolved from every string seen
 * so far. The batch is the caller's scratch: the records are moved to its
 * front. */
static void deliver_processes(cs_link *l, const cs_link_sink *s, coroscope_event *ev, size_t n)
{
    cs_reader_ingest(l->strings, ev, n);
    size_t k = 0, ns = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_process_record(ev[i].kind)) continue;
        coroscope_event e = ev[i];
        ev[k++] = e;
        uint64_t ids[2] = {0, 0};
        if (e.kind == COROSCOPE_EV_PROCESS)
            ids[0] = e.a[1], ids[1] = e.a[2];
        else if (e.kind == COROSCOPE_EV_THREAD)
            ids[0] = e.a[1];
        else if (e.kind == COROSCOPE_EV_SPAWN)
            ids[0] = e.a[2], ids[1] = e.a[4];
        for (int j = 0; j < 2; j++)
            if (ids[j]) list_string(l, &ns, ids[j]);
    }
    if (k) s->events(s->ctx, ev, k, l->strs, ns);
}

typedef struct batch_ctx {
    cs_link *l;
    const cs_link_sink *s;
} batch_ctx;

/* A batch from the consumer (sorted): record it whole, resolve strings,
 * hand the events without the STRING records over. */
static void on_batch(void *ctx, coroscope_event *ev, size_t n)
{
    cs_link *l = ((batch_ctx *)ctx)->l;
    const cs_link_sink *s = ((batch_ctx *)ctx)->s;
    l->last_post_ns = now_ns();
    record(l, s, ev, n);
    if (!s->events || s->process_only) { /* nobody wants (all) the events: count them, as below */
        uint64_t dropped = 0, strings = 0;
        for (size_t i = 0; i < n; i++) {
            if (ev[i].kind == COROSCOPE_EV_STRING || ev[i].kind == COROSCOPE_EV_STRING_MORE)
                strings++;
            else if (ev[i].kind == COROSCOPE_EV_DROP)
                dropped += ev[i].a[0];
        }
        atomic_fetch_add(&l->st_dropped, dropped);
        atomic_fetch_add(&l->st_delivered, n - strings);
        atomic_fetch_add(&l->st_batches, 1);
        if (s->events) deliver_processes(l, s, ev, n);
        return;
    }
    cs_reader_ingest(l->strings, ev, n);
    /* Strings defined or completed in this batch (ids are few; dedupe by a
     * short scan of what is already listed). */
    size_t ns = 0, k = 0;
    uint64_t dropped = 0;
    for (size_t i = 0; i < n; i++) {
        const coroscope_event *e = &ev[i];
        if (e->kind == COROSCOPE_EV_STRING || e->kind == COROSCOPE_EV_STRING_MORE) {
            int seen = 0;
            for (size_t j = ns; j-- > 0 && j + 64 > ns;)
                if (l->strs[j].id == e->a[0]) {
                    seen = 1;
                    break;
                }
            if (!seen) list_string(l, &ns, e->a[0]);
            continue;
        }
        if (e->kind == COROSCOPE_EV_DROP) dropped += e->a[0];
        if (k != i) ev[k] = *e;
        k++;
    }
    atomic_fetch_add(&l->st_dropped, dropped);
    atomic_fetch_add(&l->st_delivered, k);
    atomic_fetch_add(&l->st_batches, 1);
    s->events(s->ctx, ev, k, l->strs, ns);
}

static void on_corrupt(void *ctx, cs_ring *r, int code)
{
    cs_link *l = ((batch_ctx *)ctx)->l;
    const cs_link_sink *s = ((batch_ctx *)ctx)->s;
    char msg[160];
    snprintf(msg, sizeof msg, "an event ring (tid %u) is corrupt (%s): no longer read", r->hdr->producer_tid,
             cs_ring_strerror(code));
    s->error(s->ctx, msg);
    for (uint32_t i = 0; i < l->nrings; i++)
        if (l->rings[i] == r) {
            l->ring_owner[i] = l->ring_owner[l->nrings - 1];
            l->rings[i] = l->rings[--l->nrings];
            break;
        }
    cs_ring_detach(r);
    free(r);
    atomic_store(&l->st_rings, l->nrings);
}

/* Read every ring (one pass, wire/consumer.h); full batches are handed over. */
static void drain(cs_link *l, const cs_link_sink *s)
{
    batch_ctx bc = {l, s};
    cs_consumer_sink cs = {.ctx = &bc, .batch = on_batch, .corrupt = on_corrupt};
    cs_consumer_drain(&l->cons, &cs);
    atomic_store(&l->st_events, l->cons.records);
}

/* Hand over what the consumer holds: the records its low watermark lets go
 * (in time order across rings), or, `all`, everything (the end). */
static void post(cs_link *l, const cs_link_sink *s, int all)
{
    batch_ctx bc = {l, s};
    cs_consumer_sink cs = {.ctx = &bc, .batch = on_batch, .corrupt = on_corrupt};
    l->last_post_ns = now_ns();
    if (all)
        cs_consumer_finish(&l->cons, &cs);
    else
        cs_consumer_flush(&l->cons, &cs);
}

/* Attach the ring in fd (the link keeps the mapping, not fd). */
static void add_ring(cs_link *l, const cs_link_sink *s, int fd, uint32_t owner)
{
    cs_ring *r = l->nrings < MAX_RINGS ? calloc(1, sizeof *r) : NULL;
    if (!r) {
        s->error(s->ctx, "too many event rings: a thread's events are not read");
        return;
    }
    int e = cs_ring_attach(r, fd);
    if (!e && cs_consumer_add(&l->cons, r)) e = ENOMEM;
    if (e) {
        if (r->hdr) cs_ring_detach(r);
        free(r);
        char msg[160];
        snprintf(msg, sizeof msg, "an event ring could not be read: %s", cs_ring_strerror(e));
        s->error(s->ctx, msg);
        return;
    }
    r->fd = -1;
    l->ring_owner[l->nrings] = owner;
    l->rings[l->nrings] = r;
    atomic_store(&l->st_rings, ++l->nrings);
}

/* A line from the engine with the fd that came with it (-1: none; see
 * wire/recv_fds.h for which line an fd belongs to). Returns 1 if fd is
 * kept (the doorbell); a ring's fd is closed once mapped. */
static int on_line(void *ctx, const char *line, int fd)
{
    cs_link *l = ((batch_ctx *)ctx)->l;
    const cs_link_sink *s = ((batch_ctx *)ctx)->s;
    if (!line) {
        s->error(s->ctx, "a control reply is too long; dropped");
        return 0;
    }
    if (!strncmp(line, "{\"event\":\"ring\"", 15)) {
        if (fd >= 0) add_ring(l, s, fd, 0);
        return 0;
    }
    if (!strncmp(line, "{\"event\":\"doorbell\"", 19)) {
        if (fd < 0) return 0;
        if (l->cons.doorbell >= 0) close(l->cons.doorbell);
        l->cons.doorbell = fd;
        return 1;
    }
    if (!line[0] || !strncmp(line, "{\"event\":", 9))
        return 0; /* an announcement this link does not know: not a reply */
    s->line(s->ctx, line);
    return 0;
}

static void close_fd(int *fd);

/* ---- followed processes ----------------------------------------------------------------------- */

typedef struct proc_ctx {
    cs_link *l;
    const cs_link_sink *s;
    link_proc *p;
} proc_ctx;

/* A line from a followed process: first its "follow pid=P ppid=Q how=H"
 * (answered with its serial, engine follow.h), then ring announcements like
 * the launched process's. It is sent no commands, so nothing else is a reply. */
static int on_proc_line(void *ctx, const char *line, int fd)
{
    proc_ctx *c = ctx;
    link_proc *p = c->p;
    if (!line) return 0;
    if (!strncmp(line, "follow ", 7) && !p->serial) {
        const char *q = strstr(line, " pid=");
        p->pid = q ? atoi(q + 5) : 0;
        p->serial = c->l->next_serial++;
        char reply[64];
        int n = snprintf(reply, sizeof reply, "{\"ok\":true,\"serial\":%u}\n", p->serial);
        if (send(p->sock, reply, (size_t)n, MSG_NOSIGNAL) != n) close_fd(&p->sock);
        return 0;
    }
    if (!p->serial) return 0; /* nothing before it joined */
    if (!strncmp(line, "{\"event\":\"ring\"", 15)) {
        if (fd >= 0) add_ring(c->l, c->s, fd, (uint32_t)(p - c->l->procs) + 1);
        return 0;
    }
    if (!strncmp(line, "{\"event\":\"doorbell\"", 19) && fd >= 0) {
        if (p->bell >= 0) close(p->bell);
        p->bell = fd;
        return 1;
    }
    return 0;
}

static void accept_procs(cs_link *l, const cs_link_sink *s)
{
    for (;;) {
        int c = accept4(l->follow_fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) return;
        struct ucred cr;
        socklen_t len = sizeof cr;
        uint32_t slot = 0;
        while (slot < l->nprocs && !l->procs[slot].retired)
            slot++; /* a slot let go by a process long gone, else a new one */
        if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &len) || cr.uid != getuid() || slot == MAX_PROCS) {
            if (slot == MAX_PROCS) {
                static const char no[] = "{\"ok\":false,\"error\":\"too many followed processes at once\"}\n";
                s->error(s->ctx, "too many followed processes at once: a child is not traced");
                if (send(c, no, sizeof no - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
                    /* it learns from the closed socket instead */
                }
            }
            close(c);
            continue;
        }
        link_proc *p = &l->procs[slot];
        memset(p, 0, sizeof *p);
        p->bell = -1;
        if (cs_fd_lines_init(&p->lines, 1 << 20)) {
            p->retired = slot < l->nprocs;
            close(c);
            continue;
        }
        p->sock = c;
        if (slot == l->nprocs) l->nprocs++;
    }
}

/* Followed processes gone for RETIRE_NS (exited or exec'd: nothing writes
 * their rings any more) give their rings back once they are drained: a
 * DROP record for a loss their producer never reported (consumer.h "The
 * end of the stream"), then the mapping goes. So a session of thousands of
 * short processes (a build, a shell loop) holds the rings of the live ones
 * only. The process's slot is then free for another. */
static void retire_gone(cs_link *l, const cs_link_sink *s)
{
    uint64_t now = now_ns();
    for (uint32_t i = 0; i < l->nprocs; i++) {
        link_proc *p = &l->procs[i];
        if (p->retired || p->sock >= 0 || !p->gone_ns || now - p->gone_ns < RETIRE_NS) continue;
        int left = 0;
        for (uint32_t k = 0; k < l->nrings;) {
            cs_ring *r = l->rings[k];
            if (l->ring_owner[k] != i + 1) {
                k++;
                continue;
            }
            if (atomic_load_explicit(&r->hdr->head, memory_order_acquire) != r->c_tail) {
                left = 1; /* not drained yet: the next pass */
                k++;
                continue;
            }
            coroscope_event d;
            if (cs_ring_take_pending(r, &d)) {
                batch_ctx bc = {l, s};
                on_batch(&bc, &d, 1);
            }
            cs_consumer_remove(&l->cons, r);
            cs_ring_detach(r);
            free(r);
            l->ring_owner[k] = l->ring_owner[l->nrings - 1];
            l->rings[k] = l->rings[--l->nrings];
        }
        atomic_store(&l->st_rings, l->nrings);
        if (!left) {
            cs_fd_lines_free(&p->lines);
            p->retired = 1;
        }
    }
}

static void read_proc(cs_link *l, const cs_link_sink *s, link_proc *p)
{
    proc_ctx c = {l, s, p};
    ssize_t k = cs_fd_lines_read(&p->lines, p->sock, MSG_DONTWAIT, on_proc_line, &c);
    if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
        close_fd(&p->sock); /* it exited or exec'd: its rings stay with the consumer until drained */
        close_fd(&p->bell);
        p->gone_ns = now_ns();
    }
}

static uint32_t live_procs(const cs_link *l)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < l->nprocs; i++) n += l->procs[i].sock >= 0;
    return n;
}

/* Socket readable: lines and the fds that come with them. Returns 0 at the
 * end (peer closed). */
static int read_socket(cs_link *l, const cs_link_sink *s)
{
    batch_ctx bc = {l, s};
    ssize_t k = cs_fd_lines_read(&l->lines, l->sock, MSG_DONTWAIT, on_line, &bc);
    if (k < 0) return errno == EAGAIN || errno == EINTR ? 1 : 0;
    return k != 0;
}

static int read_pipe(int fd, int stream, const cs_link_sink *s)
{
    char buf[65536];
    ssize_t k = read(fd, buf, sizeof buf);
    if (k < 0) return errno == EAGAIN || errno == EINTR ? 1 : 0;
    if (k == 0) return 0;
    s->output(s->ctx, stream, buf, (size_t)k);
    return 1;
}

static void close_fd(int *fd)
{
    if (*fd >= 0) close(*fd);
    *fd = -1;
}

/* The target is gone: losses its threads had not reported yet (a producer
 * writes its DROP record only when it next finds room) are in each ring's
 * header; account for them with DROP records of our own (consumer.h), so
 * the stream's events plus its drops are exactly what was produced. */
static void report_pending_drops(cs_link *l, const cs_link_sink *s)
{
    batch_ctx bc = {l, s};
    cs_consumer_sink cs = {.ctx = &bc, .batch = on_batch, .corrupt = on_corrupt};
    cs_consumer_end_losses(&l->cons, &cs);
}

/* The launched process's end as its launcher saw it (waitid), after every
 * record of the session: a PROCESS_EXIT with source LAUNCHER
 * (docs/events.md), the only word on a target killed by a signal, which
 * never reaches exit. */
static void say_launched_end(cs_link *l, const cs_link_sink *s, int code, int sig)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    coroscope_event e = {
        .ts = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec,
        .kind = COROSCOPE_EV_PROCESS_EXIT,
        .worker = COROSCOPE_NO_WORKER,
        .tid = (uint32_t)l->pid,
        .a = {(uint64_t)l->pid, (uint64_t)(int64_t)(sig > 0 ? 0 : code), COROSCOPE_SERIAL_UNKNOWN,
              (uint64_t)(sig > 0 ? sig : 0), COROSCOPE_EXIT_LAUNCHER},
    };
    batch_ctx bc = {l, s};
    on_batch(&bc, &e, 1);
}

void cs_link_run(cs_link *l, const cs_link_sink *s)
{
    int exited = 0, code = -1, sig = -1;
    uint64_t exit_at = 0;
    l->last_post_ns = now_ns();
    if (l->hello) {
        s->line(s->ctx, l->hello);
        free(l->hello);
        l->hello = NULL;
    }
    if (l->follow_warning) {
        s->error(s->ctx, l->follow_warning);
        free(l->follow_warning);
        l->follow_warning = NULL;
    }
    int busy = 0;
    uint64_t quiet_at = 0;
    struct pollfd *p = calloc(7 + 2 * (size_t)MAX_PROCS, sizeof *p);
    if (!p) {
        s->error(s->ctx, "out of memory");
        return;
    }
    while (!atomic_load(&l->stopping)) {
        /* Sleep until something happens — the socket, the pipes, the
         * target's end, a stop, a ring past its watermark (the engine's
         * doorbell) — or a period passed (the longest batch delay). Not at
         * all while a ring is at its watermark or a producer waits for room
         * (cs_consumer_arm says so); not on the doorbell while the sink is
         * busy (nothing would be drained). */
        int armed = !busy && cs_consumer_arm(&l->cons);
        struct pollfd base[7] = {
            {.fd = l->sock, .events = POLLIN},      {.fd = l->out_fd, .events = POLLIN},
            {.fd = l->err_fd, .events = POLLIN},    {.fd = exited ? -1 : l->pidfd, .events = POLLIN},
            {.fd = l->wake_fd, .events = POLLIN},   {.fd = armed ? l->cons.doorbell : -1, .events = POLLIN},
            {.fd = l->follow_fd, .events = POLLIN},
        };
        memcpy(p, base, sizeof base);
        uint32_t np = l->nprocs;
        for (uint32_t i = 0; i < np; i++) {
            p[7 + 2 * i] = (struct pollfd){.fd = l->procs[i].sock, .events = POLLIN};
            p[8 + 2 * i] = (struct pollfd){.fd = armed ? l->procs[i].bell : -1, .events = POLLIN};
        }
        int r = poll(p, 7 + 2 * np, busy || armed ? (int)l->period_ms : 0);
        if (armed) cs_consumer_disarm(&l->cons);
        if (r < 0 && errno != EINTR) break;
        if (p[0].revents && !read_socket(l, s)) close_fd(&l->sock);
        if (p[1].revents && !read_pipe(l->out_fd, 1, s)) close_fd(&l->out_fd);
        if (p[2].revents && !read_pipe(l->err_fd, 2, s)) close_fd(&l->err_fd);
        for (uint32_t i = 0; i < np; i++) {
            link_proc *pr = &l->procs[i];
            if (p[8 + 2 * i].revents && pr->bell >= 0) {
                uint64_t v;
                if (read(pr->bell, &v, sizeof v) < 0) {
                    /* EAGAIN: another wake took it */
                }
            }
            if (p[7 + 2 * i].revents && pr->sock >= 0) read_proc(l, s, pr);
        }
        if (p[6].revents) accept_procs(l, s);
        if (p[3].revents) {
            exited = 1;
            exit_at = now_ns();
            if (l->is_child) {
                siginfo_t si = {0};
                if (waitid(P_PID, (id_t)l->pid, &si, WEXITED) == 0) {
                    if (si.si_code == CLD_EXITED)
                        code = si.si_status;
                    else
                        sig = si.si_status;
                }
            }
        }
        busy = s->busy(s->ctx) != 0;
        if (!busy) {
            drain(l, s);
            retire_gone(l, s);
        }
        if (l->cons.n && now_ns() - l->last_post_ns >= (uint64_t)l->period_ms * 1000000ull) post(l, s, 0);
        /* Done when the target is gone and its socket (which brings the last
         * ring fds) is closed and its pipes drained (or held too long by
         * processes it left behind). */
        if (exited && l->sock < 0 && ((l->out_fd < 0 && l->err_fd < 0) || now_ns() - exit_at > PIPE_GRACE_NS) &&
            !live_procs(l)) {
            /* Following: every process is gone; one being exec'd right now
             * connects within FOLLOW_QUIET_NS (like strace -f, the session
             * lasts as long as any followed process). */
            if (l->follow_fd < 0) break;
            if (!quiet_at)
                quiet_at = now_ns();
            else if (now_ns() - quiet_at > FOLLOW_QUIET_NS)
                break;
        } else {
            quiet_at = 0;
        }
        if (exited && now_ns() - exit_at > PIPE_GRACE_NS && l->sock >= 0) /* someone else holds it */
            close_fd(&l->sock);
    }
    free(p);
    /* The last records: a target that exited writes no more, so read until
     * its rings are empty; a live one (stopped link) gets one more pass. */
    if (exited) {
        size_t before;
        do {
            before = l->cons.records;
            drain(l, s);
        } while (l->cons.records != before);
        report_pending_drops(l, s);
    } else {
        drain(l, s);
    }
    post(l, s, 1);
    if (exited && l->is_child && (code >= 0 || sig > 0)) say_launched_end(l, s, code, sig);
    if (l->writer) {
        cs_trace_err te;
        if (cs_trace_writer_close(l->writer, &te) && !atomic_load(&l->st_rec_err)) {
            char msg[512];
            snprintf(msg, sizeof msg, "closing the recording %s: %s", l->record_path, te.msg);
            s->error(s->ctx, msg);
        }
        l->writer = NULL;
    }
    if (exited) s->exit(s->ctx, code, sig);
}

void cs_link_free(cs_link *l)
{
    if (!l) return;
    if (l->writer) cs_trace_writer_abandon(l->writer);
    for (uint32_t i = 0; l->rings && i < l->nrings; i++) {
        cs_ring_detach(l->rings[i]);
        free(l->rings[i]);
    }
    if (l->cons.doorbell >= 0) close(l->cons.doorbell);
    cs_consumer_free(&l->cons);
    for (uint32_t i = 0; l->procs && i < l->nprocs; i++) {
        close_fd(&l->procs[i].sock);
        close_fd(&l->procs[i].bell);
        if (!l->procs[i].retired) cs_fd_lines_free(&l->procs[i].lines);
    }
    free(l->procs);
    free(l->follow_warning);
    if (l->follow_fd >= 0) {
        close_fd(&l->follow_fd);
        unlink(l->follow_path);
    }
    if (l->lines.line) cs_fd_lines_free(&l->lines);
    if (l->is_child && l->pidfd >= 0) {
        /* Not reaped by the loop (stopped early): reap when it ends, without
         * blocking here: the child keeps running, detached from us. */
        siginfo_t si;
        waitid(P_PID, (id_t)l->pid, &si, WEXITED | WNOHANG);
    }
    close_fd(&l->pidfd);
    close_fd(&l->sock);
    close_fd(&l->out_fd);
    close_fd(&l->err_fd);
    close_fd(&l->wake_fd);
    if (l->strings) cs_reader_close(l->strings);
    free(l->rings);
    free(l->ring_owner);
    free(l->strs);
    free(l->hello);
    free(l->record_path);
    pthread_mutex_destroy(&l->send_lock);
    free(l);
}
